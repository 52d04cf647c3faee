//! Campaigns: generate, execute, judge, record, in a loop, in parallel; with a
//! summary on disk that machines read and a corpus that grows.

pub mod bench;
pub mod corpus;
pub mod libfuzzer;
pub mod supervise;

use crate::engines;
use crate::generate::{self, plan::CallPlan, GenConfig, TestCase};
use crate::isolate::{Worker, WorkerLimits};
use crate::judge::{Bucket, Policy};
use crate::pipeline::{add_time, subjects, Differ, Subject};
use crate::store::{Filed, FindingStore, OutLock, Summary, Written};
use crate::wasm::features::FeatureSet;
use corpus::Corpus;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Campaign knobs (the CLI's `fuzz` flags).
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    /// Runtimes under test, by engine name.
    pub engines: Vec<String>,
    pub time: Option<Duration>,
    pub iterations: Option<u64>,
    pub seed: u64,
    pub out: PathBuf,
    pub jobs: usize,
    /// Run runtimes under test in worker processes (the default).
    pub isolate: bool,
    pub gen: GenConfig,
    pub policy: Policy,
    /// Print a progress line this often.
    pub progress_every: Duration,
    /// Seed modules for mutation (e.g. the shipped `corpus/seeds`).
    pub seeds: Option<PathBuf>,
    /// Share of test cases mutated from the corpus, in percent.
    pub mutate_percent: u64,
    /// Manipulated-AoT mode: mutants of each emitted .aot to load and run
    /// (0: off). Needs `wamr-aot` among the engines.
    pub aot_mutants: u64,
    /// Time to shrink each new unique finding (zero: never). Shrinking runs
    /// in its own low-priority lane beside the jobs.
    pub shrink_budget: Duration,
    /// Where test cases come from.
    pub generator: Generator,
    /// Share of fresh test cases (the `smith` generator) that are malformed
    /// modules ([`generate::malformed`]), in percent.
    pub malformed_percent: u64,
    /// Share of fresh test cases that are WASI programs ([`generate::wasi`]),
    /// in percent; none when no runtime under test has WASI.
    pub wasi_percent: u64,
    /// Share of iterations that run the sweep's cases ([`generate::sweep`]),
    /// in percent, from the first iteration on until each ran once (100:
    /// `--generator sweep`; 0: none).
    pub sweep_percent: u64,
    /// Share of cases on which every runtime agreed with the screen (wasmi)
    /// that the reference (wasmtime) checks all the same, 0 to 1 (1: the
    /// reference runs on every case).
    pub reference_share: f64,
}

impl CampaignConfig {
    pub fn new(engines: Vec<String>, out: PathBuf) -> CampaignConfig {
        CampaignConfig {
            engines,
            time: None,
            iterations: None,
            seed: 0,
            out,
            jobs: 1,
            isolate: true,
            gen: GenConfig::default(),
            policy: Policy::builtin(),
            progress_every: Duration::from_secs(10),
            seeds: None,
            mutate_percent: 30,
            aot_mutants: 0,
            shrink_budget: Duration::from_secs(20),
            reference_share: DEFAULT_REFERENCE_SHARE,
            generator: Generator::Smith,
            malformed_percent: DEFAULT_MALFORMED_PERCENT,
            wasi_percent: DEFAULT_WASI_PERCENT,
            sweep_percent: DEFAULT_SWEEP_PERCENT,
        }
    }
}

/// Where a campaign's test cases come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Generator {
    /// wasm-smith modules (and wasm-mutate mutations of the corpus).
    Smith,
    /// Every instruction against its edge operands and boundary addresses,
    /// once each ([`generate::sweep`]): a campaign of fixed size.
    Sweep,
    /// wasm-smith modules shaped like WAMR's own fuzzer seeds
    /// ([`GenConfig::wamr_seeds`]), freshly generated only (no corpus, no
    /// mutation): the baseline coverage is measured against.
    WamrSeeds,
    /// Malformed modules only: wasm-smith modules with one or two named
    /// edits each ([`generate::malformed`]), aimed at the loaders.
    Malformed,
    /// WASI programs only ([`generate::wasi`]), judged by the capability
    /// oracle.
    Wasi,
}

/// WASI programs in a default campaign: each runs once per runtime in a
/// sandbox of its own, with no reference.
pub const DEFAULT_WASI_PERCENT: u64 = 1;

/// The hang deadline of a sweep case (see `job_loop`); a hang is confirmed
/// on the long re-check as any other.
const SWEEP_DEADLINE: Duration = Duration::from_millis(250);

/// The sweep's share of a default campaign's first iterations: every case
/// once, one iteration in four, so the 406 cases of the default modes are done
/// within the first minute or two at two jobs, and a bug an edge operand or
/// boundary address shows is found then, whatever the random modules reach.
pub const DEFAULT_SWEEP_PERCENT: u64 = 25;

/// Malformed cases in a default campaign: the loaders' error paths get a
/// steady share; most such cases cost a rejection in each engine.
pub const DEFAULT_MALFORMED_PERCENT: u64 = 10;

/// Agreeing cases the reference checks: enough that a mistake WAMR and the
/// screen share shows within minutes, cheap enough not to matter.
pub const DEFAULT_REFERENCE_SHARE: f64 = 0.05;

/// Stack of the jobs and the shrink lane: they parse, print, shrink and
/// compile (the screen, the reference) generated modules in this process,
/// whose depth a 2 MiB thread stack does not bound (a shrink once overflowed
/// one and took the campaign down). Reserved, not touched, until used.
const LANE_STACK: usize = 256 << 20;

/// Nice value of the shrink lane (and the workers it starts): a new finding's
/// shrink takes about a quarter of one core from the jobs, not a whole one.
const SHRINK_NICE: libc::c_int = 5;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Exit status of an interrupted run (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

extern "C" fn on_interrupt(_: libc::c_int) {
    // A second Ctrl-C exits at once: everything found is on disk already
    // (folders are written before the summary lists them).
    if INTERRUPTED.swap(true, Ordering::Relaxed) {
        // SAFETY: _exit is async-signal-safe and has no memory-safety preconditions.
        unsafe { libc::_exit(EXIT_INTERRUPTED) };
    }
}

/// Ctrl-C and SIGTERM end the campaign cleanly: the loops finish the module
/// at hand (a running shrink is cancelled), and everything is written before
/// exit.
fn catch_interrupts() {
    // SAFETY: on_interrupt is an extern "C" fn(c_int) as signal() expects; it only
    // touches an atomic and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
}

/// What one campaign run ended with.
pub struct Outcome {
    pub summary: Summary,
    /// Unique findings first seen in this run, per bucket.
    pub new_unique: std::collections::BTreeMap<Bucket, u64>,
    /// Those findings.
    pub new_findings: Vec<crate::store::summary::UniqueFinding>,
    pub interrupted: bool,
    /// The output folder's lock, still held: what the caller writes there
    /// after the campaign (HTML, SARIF, `since.json`) is written under it.
    pub lock: Option<OutLock>,
}

/// Shared state of the jobs.
struct Shared<'a> {
    cfg: &'a CampaignConfig,
    state: Mutex<Summary>,
    corpus: Mutex<Corpus>,
    next: AtomicU64,
    start_iterations: u64,
    stop: AtomicBool,
    store: FindingStore,
    started: Instant,
    deadline: Option<Instant>,
    /// The sweep's cases, when the campaign runs them (`sweep_percent`).
    sweep: Option<Vec<TestCase>>,
    /// The first iteration not to run.
    stop_at: Option<u64>,
    /// Cases an earlier run of this campaign died on (their hashes).
    fault_cases: std::collections::HashSet<u64>,
    /// The test hook's iteration ([`supervise::FAILPOINT`]).
    abort_at: Option<u64>,
    /// Signatures a re-run confirmed, for every job: each is confirmed once.
    reproduced: crate::pipeline::Reproduced,
}

impl Shared<'_> {
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || INTERRUPTED.load(Ordering::Relaxed)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Runs a campaign to its limit; returns the summary (also on disk).
pub fn run(cfg: &CampaignConfig) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        cfg.time.is_some() || cfg.iterations.is_some() || cfg.generator == Generator::Sweep,
        "give --time or --iterations"
    );
    // A supervised child runs under its supervisor's lock.
    let lock = if supervise::is_child() {
        None
    } else {
        Some(OutLock::acquire(&cfg.out)?)
    };
    // Generate only what the runtimes under test can run between them.
    let mut cfg = cfg.clone();
    match cfg.generator {
        Generator::WamrSeeds => {
            cfg.sweep_percent = 0;
            cfg.gen = GenConfig::wamr_seeds();
            cfg.mutate_percent = 0;
            cfg.seeds = None;
            cfg.malformed_percent = 0;
            cfg.wasi_percent = 0;
        }
        Generator::Malformed => {
            cfg.sweep_percent = 0;
            cfg.mutate_percent = 0;
            cfg.seeds = None;
            cfg.malformed_percent = 100;
            cfg.wasi_percent = 0;
        }
        Generator::Wasi => {
            cfg.sweep_percent = 0;
            cfg.mutate_percent = 0;
            cfg.seeds = None;
            cfg.malformed_percent = 0;
            cfg.wasi_percent = 100;
        }
        Generator::Sweep => cfg.sweep_percent = 100,
        Generator::Smith => {}
    }
    let wasi_engines = cfg
        .engines
        .iter()
        .any(|n| engines::info(n).is_some_and(|i| i.wasi));
    anyhow::ensure!(
        wasi_engines || cfg.generator != Generator::Wasi,
        "--generator wasi needs a runtime under test with WASI (see `wasmsieve engines`)"
    );
    if !wasi_engines {
        cfg.wasi_percent = 0;
    }
    cfg.gen.features = FeatureSet::union(
        cfg.engines
            .iter()
            .filter_map(|n| engines::info(n).map(|i| &i.features)),
    );
    let sweep = (cfg.sweep_percent > 0).then(|| generate::sweep::cases(&cfg.gen.features));
    if let Some(cases) = sweep.as_ref().filter(|_| cfg.generator == Generator::Sweep) {
        // A fixed set, each case once: no mutation, no seeds.
        let n = cases.len() as u64;
        cfg.iterations = Some(cfg.iterations.map_or(n, |i| i.min(n)));
        cfg.mutate_percent = 0;
        cfg.seeds = None;
    }
    let cfg = &cfg;
    std::fs::create_dir_all(cfg.out.join("inflight"))
        .map_err(|e| anyhow::anyhow!("cannot create output folder {}: {e}", cfg.out.display()))?;
    // Fail before the first module if an engine is missing.
    drop(subjects(
        &cfg.engines,
        cfg.isolate,
        &WorkerLimits::default(),
    )?);
    catch_interrupts();
    let mut summary = Summary::resume_or_new(&cfg.out, &cfg.engines, cfg.seed)?;
    let store = FindingStore::new(&cfg.out);
    for damaged in summary.drop_damaged(&store) {
        eprintln!("wasmsieve: {damaged}");
    }
    let indexed = summary.reconcile(&store);
    if indexed > 0 {
        eprintln!(
            "wasmsieve: {indexed} finding folder(s) on disk were not in summary.json; indexed again"
        );
    }
    summary.harness_faults =
        std::fs::read_dir(cfg.out.join(supervise::FAULTS)).map_or(0, |d| d.count() as u64);
    let unique_before = summary.unique.len();
    let start_iterations = summary.iterations;
    // A run the supervisor resumed after a harness fault keeps the first
    // run's end and last iteration.
    let (inherited_deadline, inherited_stop) = supervise::inherited_limits();
    let deadline = match inherited_deadline {
        Some(end) => Some(
            Instant::now()
                + end
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default(),
        ),
        None => cfg.time.map(|t| Instant::now() + t),
    };
    let stop_at = inherited_stop.or(cfg.iterations.map(|n| start_iterations + n));
    if start_iterations > 0 {
        eprintln!(
            "wasmsieve: resuming at iteration {start_iterations} ({} unique findings so far)",
            unique_before
        );
    }
    let shared = Shared {
        cfg,
        state: Mutex::new(summary),
        corpus: Mutex::new(Corpus::open(&cfg.out, cfg.seeds.as_deref())?),
        next: AtomicU64::new(start_iterations),
        start_iterations,
        stop: AtomicBool::new(false),
        store,
        started: Instant::now(),
        deadline,
        sweep,
        stop_at,
        fault_cases: supervise::fault_cases(&cfg.out),
        abort_at: supervise::abort_at(),
        reproduced: Default::default(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .stack_size(LANE_STACK)
        .build()?;
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(vec![]);
    let finished = AtomicBool::new(false);
    let (to_shrink, shrink_queue) = std::sync::mpsc::channel::<PathBuf>();
    std::thread::scope(|ts| {
        // Progress on its own thread, so every pool thread fuzzes.
        ts.spawn(|| progress(&shared, &finished));
        std::thread::Builder::new()
            .name("shrink lane".into())
            .stack_size(LANE_STACK)
            .spawn_scoped(ts, || shrink_lane(&shared, shrink_queue))
            .expect("a thread for the shrink lane");
        // Stop the progress thread however the jobs end (a panic included).
        struct Finish<'a>(&'a AtomicBool);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _finish = Finish(&finished);
        pool.scope(|s| {
            for job in 0..cfg.jobs.max(1) {
                let (shared, errors) = (&shared, &errors);
                let to_shrink = to_shrink.clone();
                s.spawn(move |_| {
                    if let Err(e) = job_loop(shared, job, to_shrink) {
                        errors.lock().unwrap().push(e);
                        shared.stop.store(true, Ordering::Relaxed);
                    }
                });
            }
        });
        // The lane drains what is queued, then ends.
        drop(to_shrink);
    });
    // The summary is written however the jobs ended, then the first error.
    let mut st = shared.state.into_inner().unwrap();
    let run_time = shared.started.elapsed();
    st.corpus_size = shared.corpus.lock().unwrap().len() as u64;
    st.tick(run_time);
    let written = st.checkpoint(&cfg.out, run_time);
    if let Some(e) = errors.into_inner().unwrap().into_iter().next() {
        return Err(e);
    }
    written?;
    let mut new_unique = std::collections::BTreeMap::new();
    for u in &st.unique[unique_before..] {
        *new_unique.entry(u.bucket).or_default() += 1;
    }
    let new_findings = st.unique[unique_before..].to_vec();
    Ok(Outcome {
        summary: st,
        new_unique,
        new_findings,
        interrupted: INTERRUPTED.load(Ordering::Relaxed),
        lock,
    })
}

/// How often the summary is written besides after every new finding: a
/// killed campaign loses at most this much of its counters and time.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Live progress: a bar on a terminal, plain lines in logs, a timeline sample
/// at each tick; the summary is checkpointed every [`CHECKPOINT_EVERY`].
fn progress(shared: &Shared, finished: &AtomicBool) {
    let cfg = shared.cfg;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = match cfg.time {
            Some(t) => indicatif::ProgressBar::new(t.as_secs()),
            None => indicatif::ProgressBar::new(cfg.iterations.unwrap_or(0)),
        };
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
            )
            .expect("template parses")
            .progress_chars("=> "),
        );
        b
    });
    let mut last = Instant::now();
    let mut saved = Instant::now();
    while !finished.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let elapsed = shared.started.elapsed();
        if let Some(b) = &bar {
            let st = shared.state.lock().unwrap();
            b.set_position(match cfg.time {
                Some(_) => elapsed.as_secs(),
                None => st.iterations - shared.start_iterations,
            });
            b.set_message(st.progress_line(elapsed, cfg.time));
        }
        if last.elapsed() >= cfg.progress_every {
            last = Instant::now();
            let mut st = shared.state.lock().unwrap();
            st.corpus_size = shared.corpus.lock().unwrap().len() as u64;
            st.tick(elapsed);
            if bar.is_none() {
                eprintln!("{}", st.progress_line(elapsed, cfg.time));
            }
        }
        if saved.elapsed() >= CHECKPOINT_EVERY {
            saved = Instant::now();
            let mut st = shared.state.lock().unwrap();
            if let Err(e) = st.checkpoint(&cfg.out, elapsed) {
                eprintln!("wasmsieve: {e:#}");
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// The next test case: one of the sweep's, a corpus entry (a seed, or a
/// mutation), or a fresh module (`Origin` tells which).
fn next_case(shared: &Shared, data: &[u8], iteration: u64) -> Option<(TestCase, Origin)> {
    let cfg = shared.cfg;
    if let Some(cases) = &shared.sweep {
        // After the seeds (run first, as they are), every `every`-th
        // iteration takes the next case, in order: a resumed campaign goes on
        // where it was.
        let every = 100 / cfg.sweep_percent.clamp(1, 100);
        let seeds = shared.corpus.lock().unwrap().seeds() as u64;
        let k = iteration.checked_sub(seeds);
        if let Some(k) = k.filter(|k| (k + 1).is_multiple_of(every)) {
            if let Some(c) = cases.get((k / every) as usize) {
                return Some((c.clone(), Origin::Sweep));
            }
        }
        if cfg.generator == Generator::Sweep {
            return None;
        }
    }
    let roll = u64::from_le_bytes(data[..8].try_into().expect("input has 8 bytes"));
    let seed = shared
        .corpus
        .lock()
        .unwrap()
        .seed(iteration)
        .map(<[u8]>::to_vec);
    if let Some(wasm) = seed {
        let mut u = arbitrary::Unstructured::new(&data[8..]);
        if let Ok(plan) = CallPlan::build(&wasm, &mut u, cfg.gen.calls_per_export) {
            return Some((TestCase::new(wasm, plan), Origin::Corpus));
        }
    }
    if roll % 100 < cfg.mutate_percent {
        let parent = shared
            .corpus
            .lock()
            .unwrap()
            .pick(roll / 100)
            .map(<[u8]>::to_vec);
        if let Some(wasm) = parent.and_then(|p| generate::mutate::mutate(&p, iteration ^ cfg.seed))
        {
            let mut u = arbitrary::Unstructured::new(&data[8..]);
            if let Ok(plan) = CallPlan::build(&wasm, &mut u, cfg.gen.calls_per_export) {
                return Some((TestCase::new(wasm, plan), Origin::Corpus));
            }
        }
    }
    // Third and fourth draws of the same roll: independent of the two above.
    let case = if (roll >> 48) % 100 < cfg.wasi_percent {
        generate::generate_wasi(&data[8..])
    } else if (roll >> 40) % 100 < cfg.malformed_percent {
        generate::generate_malformed(&data[8..], &cfg.gen)
    } else {
        generate::generate(&data[8..], &cfg.gen)
    };
    case.ok().map(|c| (c, Origin::Fresh))
}

/// Where a test case came from (counted in the summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Freshly generated.
    Fresh,
    /// A corpus entry: a seed as it is, or a mutation.
    Corpus,
    /// One of the sweep's cases.
    Sweep,
}

fn job_loop(
    shared: &Shared,
    job: usize,
    to_shrink: std::sync::mpsc::Sender<PathBuf>,
) -> anyhow::Result<()> {
    let cfg = shared.cfg;
    let subjects = subjects(&cfg.engines, cfg.isolate, &WorkerLimits::default())?;
    let mut differ = Differ::new(subjects, cfg.policy.clone())?;
    differ.reference_share = cfg.reference_share;
    differ.reproduced = Some(shared.reproduced.clone());
    // `--time` holds: nothing is re-run to confirm after the deadline.
    differ.confirm_until = shared.deadline;
    // Manipulated .aot files run in a worker of their own, judged under P4.
    let mut mutant_differ = if cfg.aot_mutants > 0 {
        let worker = Box::new(Worker::new(
            engines::wamr::AOT_ENGINE,
            WorkerLimits::default(),
        ));
        let mut d = Differ::new(
            vec![Subject {
                engine: worker,
                info: &engines::wamr::AOT_MANIPULATED,
            }],
            cfg.policy.clone(),
        )?;
        d.confirm_until = shared.deadline;
        Some(d)
    } else {
        None
    };
    // Rewritten in place per case: creating (truncating) the file each time
    // cost about 150 µs, a few percent of a case.
    let inflight = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(cfg.out.join("inflight").join(format!("job-{job}.wasm")))?;
    loop {
        if shared.should_stop() {
            return Ok(());
        }
        let iteration = shared.next.fetch_add(1, Ordering::Relaxed);
        if shared.stop_at.is_some_and(|n| iteration >= n) {
            return Ok(());
        }
        let t = Instant::now();
        let data = generate::seed_bytes(
            cfg.seed ^ iteration.wrapping_mul(0x2545_F491_4F6C_DD1D),
            cfg.gen.input_len,
        );
        let next = next_case(shared, &data, iteration);
        let generation = t.elapsed();
        let Some((case, origin)) = next else {
            let mut st = shared.state.lock().unwrap();
            add_time(&mut st.time_by_stage, "generation", generation);
            st.generation_failures += 1;
            st.iterations += 1;
            continue;
        };
        if shared.fault_cases.contains(&crate::wasm::fnv64(&case.wasm)) {
            shared.state.lock().unwrap().iterations += 1;
            continue;
        }
        let t = Instant::now();
        // On disk before any runtime sees it: a crash that takes the harness
        // down still leaves the input behind.
        {
            use std::os::unix::fs::FileExt;
            inflight.write_all_at(&case.wasm, 0)?;
            inflight.set_len(case.wasm.len() as u64)?;
        }
        if shared.abort_at == Some(iteration) {
            std::process::abort();
        }
        let mut recording = t.elapsed();
        // A sweep case is straight-line code, a few calls of one instruction
        // each: a short deadline tells a hang (the lock an out-of-bounds
        // atomic leaves held under hardware bounds hangs dozens of them)
        // without waiting the general floor out each time.
        let floor = differ.deadline_floor;
        if origin == Origin::Sweep {
            differ.deadline_floor = SWEEP_DEADLINE;
        }
        let report = differ.run(&case.wasm, &case.plan);
        differ.deadline_floor = floor;
        let t = Instant::now();
        // Malformed modules are not mutated further (wasm-mutate needs valid
        // ones), and WASI programs have no reference outcome to keep.
        if case.malformed.is_none() && !report.wasi {
            shared
                .corpus
                .lock()
                .unwrap()
                .observe(&case.wasm, &report.reference);
        }
        let mut st = shared.state.lock().unwrap();
        st.record_case(&report);
        if let Some(m) = &case.malformed {
            st.record_malformed(m, &report);
        }
        match origin {
            Origin::Fresh => st.modules_fresh += 1,
            Origin::Corpus => st.modules_mutated += 1,
            Origin::Sweep => st.modules_sweep += 1,
        }
        let emitted = report
            .comparisons
            .iter()
            .flat_map(|(e, _)| e.artifacts.iter())
            .find(|(name, _)| name == "input.aot")
            .map(|(_, aot)| aot.clone());
        for mut f in report.findings {
            f.mutation = case.malformed.as_ref().map(|m| m.name());
            if let Some(dir) = record(shared, &mut st, f, iteration, &case.wasm, vec![])? {
                // The lane outlives every job: a send cannot fail.
                let _ = to_shrink.send(dir);
            }
        }
        recording += t.elapsed();
        add_time(&mut st.time_by_stage, "generation", generation);
        add_time(&mut st.time_by_stage, "recording", recording);
        drop(st);
        if let (Some(md), Some(aot)) = (mutant_differ.as_mut(), emitted) {
            run_aot_mutants(shared, md, &case, &aot, iteration)?;
        }
    }
}

/// The shrink lane: shrinks new unique findings one at a time, each within
/// the budget, at a lower priority than the jobs (its workers inherit it),
/// so findings arriving do not stall the campaign. It never runs past the
/// campaign's end; Ctrl-C cancels it. A failure to shrink is reported and
/// never loses the finding (it is on disk already).
fn shrink_lane(shared: &Shared, queue: std::sync::mpsc::Receiver<PathBuf>) {
    // SAFETY: setpriority on our own thread id has no memory-safety preconditions.
    unsafe {
        libc::setpriority(
            libc::PRIO_PROCESS,
            libc::gettid() as libc::id_t,
            SHRINK_NICE,
        );
    }
    let mut skipped = vec![];
    let mut pending: Vec<PathBuf> = vec![];
    loop {
        pending.extend(queue.try_iter());
        if pending.is_empty() {
            match queue.recv() {
                Ok(dir) => pending.push(dir),
                Err(_) => break,
            }
            continue;
        }
        // Security findings first, then bugs, each in the order found: what
        // a campaign cut short leaves unshrunk is the least urgent.
        let next = (0..pending.len())
            .min_by_key(|&i| shrink_rank(&pending[i]))
            .unwrap_or(0);
        let dir = pending.remove(next);
        // A promoted finding is shrunk where it went.
        if shared.cfg.shrink_budget.is_zero() || dir.join(crate::store::PROMOTED).exists() {
            continue;
        }
        let left = shared.deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        if INTERRUPTED.load(Ordering::Relaxed) || left.is_zero() {
            skipped.push(dir);
            continue;
        }
        let t = Instant::now();
        let mut cfg = crate::shrink::ShrinkConfig::new(shared.cfg.shrink_budget.min(left));
        cfg.policy = shared.cfg.policy.clone();
        cfg.cancel = Some(&INTERRUPTED);
        cfg.stop_at = shared.deadline;
        // Named while it runs: a harness fault records what was being shrunk.
        let marker = shared.cfg.out.join("inflight").join("shrinking.txt");
        let _ = std::fs::write(&marker, format!("{}\n", dir.display()));
        match crate::shrink::shrink_finding_with(&dir, &cfg) {
            Ok(outcome) => eprintln!("shrink: {}", outcome.line()),
            Err(e) => eprintln!("shrink: {}: {e:#}", dir.display()),
        }
        let _ = std::fs::write(&marker, "");
        add_time(
            &mut shared.state.lock().unwrap().time_by_stage,
            "shrinking",
            t.elapsed(),
        );
    }
    if !skipped.is_empty() {
        let dirs: Vec<String> = skipped
            .iter()
            .map(|d| format!("  {}\n", d.display()))
            .collect();
        eprint!(
            "shrink: {} new finding(s) not shrunk before the campaign ended: \
             run `wasmsieve shrink DIR` on each of\n{}",
            skipped.len(),
            dirs.concat()
        );
    }
}

/// The shrink lane's order: security, bug, the rest (a finding folder is
/// `findings/<bucket>/<id>`).
fn shrink_rank(dir: &std::path::Path) -> u8 {
    let bucket = dir
        .parent()
        .and_then(|b| b.file_name())
        .and_then(|b| b.to_str());
    match bucket {
        Some("security") => 0,
        Some("bug") => 1,
        _ => 2,
    }
}

/// Counts a finding and, when its signature is new, writes it (input first).
fn record(
    shared: &Shared,
    st: &mut Summary,
    mut f: crate::judge::Finding,
    iteration: u64,
    wasm: &[u8],
    extra: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<Option<PathBuf>> {
    f.seed = Some(shared.cfg.seed);
    f.iteration = Some(iteration);
    if let Some(known) = f.known.clone() {
        // Counted and linked, never filed or shrunk again; the first input is
        // kept so the match can be checked.
        if st.record_known(&f, &known, shared.started.elapsed().as_secs_f64()) {
            shared.store.write_known_example(&known.id, wasm)?;
            eprintln!("known issue: {} ({}) in {}", known.id, known.link, f.engine);
        }
        return Ok(None);
    }
    // Where the same cause was filed before (a promotion files it again).
    let filed_before = st
        .unique
        .iter()
        .find(|u| u.signature == f.signature)
        .map(|u| u.path.clone());
    let filed = st.record_finding(&f, shared.started.elapsed().as_secs_f64());
    if let Filed::Beside(rel) = &filed {
        shared.store.write_beside(rel, wasm)?;
        st.checkpoint(&shared.cfg.out, shared.started.elapsed())?;
        eprintln!(
            "seen again: {} in {} ({}) -> {rel}",
            f.verdict.kind,
            f.engine,
            f.context()
        );
    }
    if filed == Filed::Folder {
        let mut artifacts: Vec<(String, Vec<u8>)> = f
            .executions
            .iter()
            .flat_map(|e| e.artifacts.clone())
            .collect();
        artifacts.extend(extra);
        let written = shared.store.write(&f, wasm, &artifacts)?;
        if let Written::Repaired(dir, aside) = &written {
            eprintln!(
                "wasmsieve: {} had no readable finding.json; its contents were moved to {} and the folder written anew",
                dir.display(),
                aside.display()
            );
        }
        let dir = written.dir().to_path_buf();
        if let Some(old) = filed_before {
            shared.store.note_promotion(&old, &dir)?;
        }
        // Listed in the summary only once its folder is complete on disk.
        st.checkpoint(&shared.cfg.out, shared.started.elapsed())?;
        eprintln!(
            "finding: {} / {} in {}: {} -> {}",
            f.verdict.bucket,
            f.verdict.kind,
            f.engine,
            f.divergence.detail.chars().take(160).collect::<String>(),
            dir.display()
        );
        // Runs that stop in a guest loop of their own are not worth a shrink.
        if f.verdict.bucket.is_finding() {
            return Ok(Some(dir));
        }
    }
    Ok(None)
}

/// The manipulated-AoT bucket: mutants of the emitted .aot, loaded and run in
/// an isolated AoT runtime. Crashes, hangs and unrecoverable states are filed
/// (P4: bug); wrong results of changed code are expected and only counted.
fn run_aot_mutants(
    shared: &Shared,
    differ: &mut Differ,
    case: &TestCase,
    aot: &[u8],
    iteration: u64,
) -> anyhow::Result<()> {
    use crate::judge::oracle::Symptom;
    for k in 0..shared.cfg.aot_mutants {
        let mutant = generate::aot_mutate::mutate(
            aot,
            shared.cfg.seed ^ iteration.wrapping_mul(31).wrapping_add(k),
        );
        let report = differ.run_with(&case.wasm, &mutant, &case.plan);
        let mut st = shared.state.lock().unwrap();
        st.aot_mutants += 1;
        let exec = &report.comparisons[0].0;
        if matches!(exec.load, Some(Err(_))) {
            st.aot_mutants_rejected += 1;
        }
        for f in report.findings {
            match f.divergence.symptom {
                Symptom::Crash => st.aot_mutants_crashed += 1,
                Symptom::Hang => st.aot_mutants_hung += 1,
                Symptom::Unrecoverable => {}
                _ => continue,
            }
            let extra = vec![
                ("emitted.aot".to_string(), aot.to_vec()),
                ("mutated.aot".to_string(), mutant.clone()),
            ];
            // Manipulated .aot findings are not shrunk: the .wasm is not their input.
            record(shared, &mut st, f, iteration, &case.wasm, extra)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shrink_lane_takes_security_findings_first() {
        let mut queued: Vec<PathBuf> = [
            "needs-review/a",
            "bug/b",
            "security/c",
            "bug/d",
            "security/e",
        ]
        .iter()
        .map(|p| std::path::Path::new("out/findings").join(p))
        .collect();
        queued.sort_by_key(|d| shrink_rank(d));
        let order: Vec<String> = queued
            .iter()
            .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(order, ["c", "e", "b", "d", "a"]);
    }
}
