//! Campaigns: generate, execute, judge, record, in a loop, in parallel; with a
//! summary on disk that machines read.

pub mod bench;
pub mod differ;
pub mod summary;

use crate::engines::{self, Engine};
use crate::generate::{self, GenConfig};
use crate::isolate::{Worker, WorkerLimits};
use crate::policy::Policy;
use crate::report::FindingStore;
use differ::{Differ, Subject};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
pub use summary::Summary;

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
    /// Bytes of fuzz input per module.
    pub input_len: usize,
    pub policy: Policy,
    /// Print a progress line this often.
    pub progress_every: Duration,
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
            input_len: 8192,
            policy: Policy::builtin(),
            progress_every: Duration::from_secs(10),
        }
    }
}

/// Builds the runtimes under test, in workers or in process.
pub fn subjects(names: &[String], isolate: bool, limits: &WorkerLimits) -> anyhow::Result<Vec<Subject>> {
    names
        .iter()
        .map(|n| {
            let info = engines::info(n).ok_or_else(|| anyhow::anyhow!("unknown engine `{n}`"))?;
            let engine: Box<dyn Engine> = if isolate || !info.in_process_ok {
                // Fail now, with a clear message, if this build lacks the engine.
                if info.in_process_ok && !engines::runtimes_built().contains(&info.name) && info.name.starts_with("wamr") {
                    anyhow::bail!("engine `{n}` is not built into this binary (see `wasmsieve engines`)");
                }
                Box::new(Worker::new(n, limits.clone()))
            } else {
                engines::create(n)?
            };
            Ok(Subject { engine, info })
        })
        .collect()
}

/// Runs a campaign to its limit; returns the summary (also on disk).
pub fn run(cfg: &CampaignConfig) -> anyhow::Result<Summary> {
    anyhow::ensure!(cfg.time.is_some() || cfg.iterations.is_some(), "give --time or --iterations");
    std::fs::create_dir_all(cfg.out.join("inflight"))?;
    let store = FindingStore::new(&cfg.out);
    let state = Mutex::new(Summary::resume_or_new(&cfg.out, &cfg.engines, cfg.seed));
    let next = AtomicU64::new(state.lock().unwrap().iterations);
    let start_iterations = next.load(Ordering::Relaxed);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let deadline = cfg.time.map(|t| started + t);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.jobs.max(1)).build()?;
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(vec![]);
    let finished = AtomicBool::new(false);
    std::thread::scope(|ts| {
        // Progress on its own thread, so every pool thread fuzzes.
        ts.spawn(|| {
            let mut last = Instant::now();
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if last.elapsed() >= cfg.progress_every {
                    last = Instant::now();
                    let st = state.lock().unwrap();
                    eprintln!("{}", st.progress_line(started.elapsed(), cfg.time));
                    let _ = st.write(&cfg.out);
                }
            }
        });
        pool.scope(|s| {
            for job in 0..cfg.jobs.max(1) {
                let (state, next, stop, store, errors) = (&state, &next, &stop, &store, &errors);
                s.spawn(move |_| {
                    if let Err(e) = job_loop(cfg, job, state, next, stop, store, deadline, start_iterations, started) {
                        errors.lock().unwrap().push(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                });
            }
        });
        finished.store(true, Ordering::Relaxed);
    });
    if let Some(e) = errors.into_inner().unwrap().into_iter().next() {
        return Err(e);
    }
    let mut st = state.into_inner().unwrap();
    st.finish(started.elapsed());
    st.write(&cfg.out)?;
    Ok(st)
}

#[allow(clippy::too_many_arguments)]
fn job_loop(
    cfg: &CampaignConfig,
    job: usize,
    state: &Mutex<Summary>,
    next: &AtomicU64,
    stop: &AtomicBool,
    store: &FindingStore,
    deadline: Option<Instant>,
    start_iterations: u64,
    started: Instant,
) -> anyhow::Result<()> {
    let subjects = subjects(&cfg.engines, cfg.isolate, &WorkerLimits::default())?;
    let mut differ = Differ::new(subjects, cfg.policy.clone())?;
    let inflight = cfg.out.join("inflight").join(format!("job-{job}.wasm"));
    loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        let iteration = next.fetch_add(1, Ordering::Relaxed);
        if cfg.iterations.is_some_and(|n| iteration >= start_iterations + n) {
            return Ok(());
        }
        let data = generate::seed_bytes(cfg.seed ^ iteration.wrapping_mul(0x2545_F491_4F6C_DD1D), cfg.input_len);
        let Ok(case) = generate::generate(&data, &cfg.gen) else {
            let mut st = state.lock().unwrap();
            st.generation_failures += 1;
            st.iterations += 1;
            continue;
        };
        // On disk before any runtime sees it: a crash that takes the harness
        // down still leaves the input behind.
        std::fs::write(&inflight, &case.wasm)?;
        let report = differ.run(&case.wasm, &case.plan);
        let mut st = state.lock().unwrap();
        st.record_case(&report);
        for mut f in report.findings {
            f.seed = Some(cfg.seed);
            f.iteration = Some(iteration);
            if st.record_finding(&f, started.elapsed().as_secs_f64()) {
                let artifacts: Vec<(String, Vec<u8>)> =
                    f.executions.iter().flat_map(|e| e.artifacts.clone()).collect();
                store.write(&f, &case.wasm, &artifacts)?;
                eprintln!("finding: {} {} {} ({}) -> {}", f.verdict.bucket, f.verdict.kind, f.engine, f.divergence.detail.chars().take(160).collect::<String>(), store.dir_of(&f).display());
            }
        }
    }
}
