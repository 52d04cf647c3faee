//! The command line: parse, call the library, print. Exit codes: 0 nothing
//! found, 1 a finding, 2 bad input or usage.

use wasmsieve::campaign::{self, CampaignConfig};
use wasmsieve::engines;
use wasmsieve::pipeline::{self, Differ};

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use wasmsieve::exec::{self, CallResult, Execution};
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::oracle::Comparison;
use wasmsieve::judge::{Bucket, Policy};
use wasmsieve::wasm::read_module;

#[derive(Parser)]
#[command(
    name = "wasmsieve",
    version,
    about = "Differential fuzzing of WAMR against wasmtime, judged by WAMR's security policy"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Which new findings fail a campaign (for CI jobs).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Security,
    Bug,
    Any,
    Never,
}

impl FailOn {
    fn covers(self, bucket: Bucket) -> bool {
        match self {
            FailOn::Security => bucket == Bucket::Security,
            FailOn::Bug => matches!(bucket, Bucket::Security | Bucket::Bug),
            FailOn::Any => bucket.is_finding(),
            FailOn::Never => false,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one module (.wasm or .wat) in every selected engine and judge it.
    Run(RunArgs),
    /// Fuzz: generate modules until the limit, write findings and summary.json.
    Fuzz(FuzzArgs),
    /// List engines, the WAMR sources and the build flags of each mode.
    Engines,
    /// Line coverage of WAMR per source file, over every mode, from the counters the
    /// campaigns of a coverage build wrote (scripts/coverage.sh builds one and runs it).
    Coverage(CoverageArgs),
    /// Throughput on a fixed seed: engines alone, then campaigns per mode (compared
    /// modules/s per core, old path, isolation cost, time per stage) and the default campaign.
    Bench(BenchArgs),
    /// Shrink a finding: smallest module and call plan with the same bucket, kind and signature
    /// (writes min.wasm, min.wat, shrink.json into the finding folder).
    Shrink(ShrinkArgs),
    /// Draft for maintainers from a finding folder: report.md (bug, needs-review) or a private
    /// advisory.md (security), plus a running_config.json regression entry.
    Report(ReportArgs),
    /// Verdict per file for inputs from anywhere: .wasm, .wat, .aot, libFuzzer artifacts.
    /// Exit 0 no finding, 1 a finding, 2 unreadable or non-Wasm input.
    Triage(TriageArgs),
    /// (internal) Run one .aot in this process for `triage`.
    /// Write seed corpora for the cargo-fuzz targets (corpus/<target>/).
    #[command(hide = true)]
    MakeFuzzCorpus(MakeFuzzCorpusArgs),
    /// (internal) Serve one engine to the harness over stdin/stdout.
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The module: .wasm, .wat, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Runtime under test (repeat for several); default: every WAMR mode built.
    #[arg(long = "engine")]
    engines: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    judging: Judging,
}

#[derive(clap::Args)]
struct FuzzArgs {
    /// Runtime under test (repeat for several); default: every WAMR mode built.
    #[arg(long = "engine")]
    engines: Vec<String>,
    /// Stop after this many seconds (default 60 when no --iterations).
    #[arg(long)]
    time: Option<u64>,
    /// Stop after this many modules.
    #[arg(long)]
    iterations: Option<u64>,
    /// Seed of the module generator: the same seed, engines and limits give the same
    /// test cases.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Campaign folder; running again on the same folder resumes.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Parallel jobs (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Seed modules to mutate (.wasm/.wat); default: corpus/seeds when present.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Share of test cases mutated from the corpus (percent).
    #[arg(long, default_value_t = 30)]
    mutate_percent: u64,
    /// Also write the unique findings as SARIF 2.1.0.
    #[arg(long)]
    sarif: Option<PathBuf>,
    /// After the campaign, check each new security or bug finding with the stock tools of
    /// this WAMR tree (a folder or .tar.gz snapshot, e.g. the last release): those that do
    /// not reproduce there are new since it. Written to OUT/since.json.
    #[arg(long, value_name = "TREE")]
    since_tree: Option<PathBuf>,
    /// Manipulated-AoT mode: also load and run mutants of every emitted .aot
    /// (bug bucket, P4). Implies --engine wamr-aot when no engine is given.
    #[arg(long)]
    aot_mutate: bool,
    /// Mutants per emitted .aot in --aot-mutate mode.
    #[arg(long, default_value_t = 8)]
    aot_mutants: u64,
    /// Seconds to shrink each new unique finding as it is found (0: off).
    #[arg(long, default_value_t = 20)]
    shrink_time: u64,
    /// Where test cases come from: wasm-smith (and mutations), the sweep (every
    /// instruction against edge operands and boundary addresses; runs once through),
    /// wasm-smith shaped like WAMR's own fuzzer seeds (the coverage baseline), or
    /// malformed modules only (named edits of wasm-smith modules, for the loaders), or
    /// WASI programs only (the capability oracle: sandbox escapes through files).
    #[arg(long, value_enum, default_value = "smith")]
    generator: wasmsieve::campaign::Generator,
    /// Percent of fresh `smith` cases that are malformed modules (named edits, for
    /// the loaders).
    #[arg(long, default_value_t = wasmsieve::campaign::DEFAULT_MALFORMED_PERCENT)]
    malformed_percent: u64,
    /// Percent of fresh `smith` cases that are WASI programs (each runtime with WASI
    /// runs them in a sandbox of its own; the capability oracle judges).
    #[arg(long, default_value_t = wasmsieve::campaign::DEFAULT_WASI_PERCENT)]
    wasi_percent: u64,
    /// Percent of the first iterations that run the sweep's cases (every instruction
    /// on its edge operands and boundary addresses, each once), until all ran.
    #[arg(long, default_value_t = wasmsieve::campaign::DEFAULT_SWEEP_PERCENT)]
    sweep_percent: u64,
    /// Percent of the cases on which every runtime agreed with the screen (wasmi)
    /// that the reference (wasmtime) checks all the same (100: every case).
    #[arg(long, default_value_t = wasmsieve::campaign::DEFAULT_REFERENCE_SHARE * 100.0)]
    reference_share: f64,
    /// Exit 1 when this run finds a new unique finding in these buckets.
    #[arg(long, value_enum, default_value = "security")]
    fail_on: FailOn,
    #[command(flatten)]
    judging: Judging,
}

#[derive(clap::Args)]
struct CoverageArgs {
    /// Delete the counters instead (before a campaign).
    #[arg(long)]
    reset: bool,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Modules of the engines-alone table.
    #[arg(long, default_value_t = 200)]
    modules: u64,
    /// Seconds of each campaign measured.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Modes measured one by one (default: wamr-classic, wamr-fast, wamr-aot).
    #[arg(long = "engine")]
    engines: Vec<String>,
}

#[derive(clap::Args)]
struct ShrinkArgs {
    /// A finding folder (`DIR/findings/<bucket>/<id>`).
    dir: PathBuf,
    /// Time budget in seconds.
    #[arg(long, default_value_t = 60)]
    time: u64,
    /// wasm-shrink attempts without progress before it stops.
    #[arg(long, default_value_t = 1000)]
    attempts: u32,
    /// wasm-shrink RNG seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    judging: Judging,
}

#[derive(clap::Args)]
struct ReportArgs {
    dir: PathBuf,
    /// Write the draft here instead of into the finding folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not run the reproducer with stock iwasm/wamrc (built once, cached).
    #[arg(long)]
    no_check: bool,
    /// WAMR tree to check with, repeatable: a folder or a .tar.gz snapshot; the first one's
    /// check is the report's, each one's is a row of "Affected versions". A full checkout
    /// gives stock iwasm and wamrc; a tree with only core/ gets wasmsieve's drivers. Default:
    /// the tree the engines were built from, then $WASMSIEVE_WAMR_TREES (`:`-separated) or
    /// the WAMR snapshots in ../shared/wamr beside this repository, where present.
    #[arg(long = "wamr-root", value_name = "DIR")]
    wamr_roots: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct TriageArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long = "engine")]
    engines: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Source .wasm of the .aot files given (provenance aot-emitted when recompiling it reproduces).
    #[arg(long)]
    source: Option<PathBuf>,
    /// File findings into OUT/findings/<bucket>/<id>/ like a campaign.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Treat files that are not modules as libFuzzer artifacts whatever their names.
    #[arg(long)]
    libfuzzer: bool,
    #[command(flatten)]
    judging: Judging,
}

#[derive(clap::Args)]
struct MakeFuzzCorpusArgs {
    #[arg(long, default_value = "corpus")]
    out: PathBuf,
    /// Hand-written seed modules (.wat/.wasm) for the loader target.
    #[arg(long, default_value = "corpus/seeds")]
    seeds: PathBuf,
}

#[derive(clap::Args)]
struct WorkerArgs {
    #[arg(long)]
    engine: String,
}

/// How runtimes are run and judged: flags every judging command shares.
#[derive(clap::Args)]
struct Judging {
    /// Run the runtimes in this process instead of isolation workers (faster; a crash ends
    /// the command).
    #[arg(long)]
    in_process: bool,
    /// Policy table to judge by (default: the shipped policy/wamr.toml).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Known upstream issues, counted instead of filed (default: the shipped
    /// policy/known-issues.toml).
    #[arg(long, value_name = "FILE")]
    known: Option<PathBuf>,
}

fn long_version() -> String {
    let mut s = format!("{}\n", env!("CARGO_PKG_VERSION"));
    s.push_str(&engines::describe_wamr());
    s
}

pub fn main() -> i32 {
    use clap::{CommandFactory, FromArgMatches};
    let command = Cli::command().long_version(Box::leak(long_version().into_boxed_str()) as &str);
    let cli = match command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli.cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wasmsieve: error: {e:#}");
            2
        }
    }
}

fn default_engines(mut given: Vec<String>) -> anyhow::Result<Vec<String>> {
    // A repeated --engine would run that engine twice.
    let mut seen = std::collections::HashSet::new();
    given.retain(|e| seen.insert(e.clone()));
    let names = if given.is_empty() {
        engines::runtimes_built()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        given
    };
    for n in &names {
        if engines::info(n).is_none() {
            let known = engines::names();
            anyhow::bail!("unknown engine `{n}`; known engines: {}", known.join(", "));
        }
        // The reference and the screen judge the runtimes; they are not one.
        anyhow::ensure!(
            !matches!(n.as_str(), "wasmtime" | "wasmi"),
            "`{n}` judges the runtimes under test (wasmtime is the reference, wasmi the \
             screen): give a runtime under test, one of {}",
            engines::runtimes_built().join(", ")
        );
    }
    anyhow::ensure!(
        !names.is_empty(),
        "no runtime under test was built (see `wasmsieve engines`)"
    );
    Ok(names)
}

fn load_policy(p: Option<PathBuf>, known: Option<PathBuf>) -> anyhow::Result<Policy> {
    let mut policy = match p {
        Some(p) => Policy::load(&p)?,
        None => Policy::builtin(),
    };
    if let Some(k) = known {
        policy.known = wasmsieve::judge::KnownIssues::load(&k)?;
    }
    Ok(policy)
}

fn dispatch(cmd: Cmd) -> anyhow::Result<i32> {
    match cmd {
        Cmd::Worker(args) => worker(args),
        Cmd::MakeFuzzCorpus(args) => make_fuzz_corpus(args),
        Cmd::Coverage(args) => coverage(args),
        Cmd::Engines => engines(),
        Cmd::Run(args) => run_module(args),
        Cmd::Fuzz(args) => fuzz(args),
        Cmd::Shrink(args) => shrink(args),
        Cmd::Report(args) => report(args),
        Cmd::Triage(args) => triage(args),
        Cmd::Bench(args) => bench(args),
    }
}

fn worker(args: WorkerArgs) -> anyhow::Result<i32> {
    let WorkerArgs { engine } = args;
    wasmsieve::isolate::serve(|| engines::create(&engine))?;
    Ok(0)
}

fn make_fuzz_corpus(args: MakeFuzzCorpusArgs) -> anyhow::Result<i32> {
    wasmsieve::campaign::libfuzzer::write_seed_corpora(&args.out, &args.seeds)?;
    println!("seed corpora written under {}", args.out.display());
    Ok(0)
}

fn coverage(args: CoverageArgs) -> anyhow::Result<i32> {
    let CoverageArgs { reset } = args;
    use engines::wamr::coverage;
    if !coverage::built() {
        eprintln!(
            "wasmsieve: this binary's WAMR does not count lines: run scripts/coverage.sh \
             [SECONDS] [GENERATOR] (or build with WASMSIEVE_COVERAGE=1 cargo build --release)"
        );
        return Ok(2);
    }
    if reset {
        println!("removed {} counter files (.gcda)", coverage::reset()?);
    } else {
        print!("{}", coverage::render(&coverage::collect()?.table()));
    }
    Ok(0)
}

fn engines() -> anyhow::Result<i32> {
    for e in engines::all() {
        let built = engines::is_built(e.name);
        let extra = e.features.optional_names();
        println!(
            "{:<14} {:<10} {} (features: base{}{}{})",
            e.name,
            if built { "built" } else { "not built" },
            e.about,
            if extra.is_empty() { "" } else { ", " },
            extra.join(", "),
            if e.wasi {
                "; WASI preview 1, a sandbox per run"
            } else {
                ""
            }
        );
    }
    println!();
    print!("{}", engines::describe_wamr());
    Ok(0)
}

fn run_module(args: RunArgs) -> anyhow::Result<i32> {
    let RunArgs {
        file,
        engines: names,
        json,
        judging: Judging {
            in_process,
            policy,
            known,
        },
    } = args;
    let inputs = read_module(&file)
        .and_then(|wasm| Ok((wasm, default_engines(names)?, load_policy(policy, known)?)));
    let (wasm, names, policy) = match inputs {
        Ok(i) => i,
        // --json answers in JSON whatever happens.
        Err(e) if json => {
            let v = serde_json::json!({ "file": file, "exit": 2, "error": format!("{e:#}") });
            println!("{}", serde_json::to_string_pretty(&v)?);
            eprintln!("wasmsieve: error: {e:#}");
            return Ok(2);
        }
        Err(e) => return Err(e),
    };
    let plan = CallPlan::fixed(&wasm, 3).unwrap_or_default();
    let subjects = pipeline::subjects(&names, !in_process, &WorkerLimits::default())?;
    let mut differ = Differ::new(subjects, policy)?;
    let report = differ.run(&wasm, &plan);
    if json {
        let mut outcomes = vec![report.reference.clone()];
        outcomes.extend(report.comparisons.iter().map(|c| c.0.clone()));
        let v = serde_json::json!({
            "file": file,
            "outcomes": outcomes,
            "findings": report.findings,
            "finding": report.findings.first(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_execution(&report.reference);
        for (exec, cmp) in &report.comparisons {
            print_execution(exec);
            if let Comparison::Poisoned(why) = cmp {
                println!("  (not compared past this point: {why})");
            }
        }
        if report.findings.is_empty() {
            let poisoned = report
                .comparisons
                .iter()
                .any(|(_, c)| matches!(c, Comparison::Poisoned(_)));
            println!(
                "verdict: {}",
                if poisoned {
                    "no finding (some runs were not comparable, see above)"
                } else {
                    "all engines agree"
                }
            );
        }
        for f in &report.findings {
            println!(
                "verdict: {} / {} in {} [{}] {}: {}",
                f.verdict.bucket,
                f.verdict.kind,
                f.engine,
                f.verdict.clauses.join(", "),
                f.verdict.reason,
                f.divergence.detail
            );
            if let Some(k) = &f.known {
                println!("  known issue {} ({}): {}", k.id, k.link, k.title);
            }
        }
    }
    // Not-an-issue verdicts and known issues do not count (one rule,
    // `Finding::counts`, for every command).
    Ok(if report.findings.iter().any(|f| f.counts()) {
        1
    } else {
        0
    })
}

/// The campaign `fuzz` asks for, every flag checked.
impl TryFrom<FuzzArgs> for CampaignConfig {
    type Error = anyhow::Error;

    fn try_from(args: FuzzArgs) -> anyhow::Result<CampaignConfig> {
        let FuzzArgs {
            engines: names,
            time,
            iterations,
            seed,
            out,
            jobs,
            judging:
                Judging {
                    in_process,
                    policy,
                    known,
                },
            corpus,
            mutate_percent,
            aot_mutate,
            aot_mutants,
            shrink_time,
            generator,
            malformed_percent,
            wasi_percent,
            sweep_percent,
            reference_share,
            ..
        } = args;
        let names = if aot_mutate && names.is_empty() {
            vec![engines::wamr::AOT_ENGINE.to_string()]
        } else {
            names
        };
        anyhow::ensure!(
            !aot_mutate || names.iter().any(|n| n == engines::wamr::AOT_ENGINE),
            "--aot-mutate needs --engine wamr-aot (it mutates the .aot files that engine emits)"
        );
        let names = default_engines(names)?;
        let mut cfg = CampaignConfig::new(names, out);
        cfg.time = time.map(Duration::from_secs);
        cfg.iterations = iterations;
        cfg.generator = generator;
        if cfg.time.is_none()
            && cfg.iterations.is_none()
            && generator != wasmsieve::campaign::Generator::Sweep
        {
            cfg.time = Some(Duration::from_secs(60));
        }
        cfg.seed = seed;
        cfg.jobs = jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        anyhow::ensure!(cfg.jobs > 0, "--jobs must be at least 1");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cfg.jobs > 4 * cores {
            eprintln!(
                "wasmsieve: --jobs {} on {cores} core(s) only adds contention (each job runs a worker per engine); using {}",
                cfg.jobs,
                4 * cores
            );
            cfg.jobs = 4 * cores;
        }
        anyhow::ensure!(
            mutate_percent <= 100,
            "--mutate-percent is a percentage (0..=100)"
        );
        cfg.isolate = !in_process;
        cfg.policy = load_policy(policy, known)?;
        cfg.mutate_percent = mutate_percent;
        anyhow::ensure!(
            malformed_percent <= 100,
            "--malformed-percent is a percentage (0..=100)"
        );
        cfg.malformed_percent = malformed_percent;
        anyhow::ensure!(
            wasi_percent <= 100,
            "--wasi-percent is a percentage (0..=100)"
        );
        cfg.wasi_percent = wasi_percent;
        anyhow::ensure!(
            sweep_percent <= 100,
            "--sweep-percent is a percentage (0..=100)"
        );
        cfg.sweep_percent = sweep_percent;
        cfg.aot_mutants = if aot_mutate { aot_mutants } else { 0 };
        cfg.shrink_budget = Duration::from_secs(shrink_time);
        anyhow::ensure!(
            (0.0..=100.0).contains(&reference_share),
            "--reference-share is a percentage (0..=100)"
        );
        cfg.reference_share = reference_share / 100.0;
        cfg.seeds = match corpus {
            Some(c) if !c.is_dir() => anyhow::bail!("--corpus {}: not a folder", c.display()),
            Some(c) => Some(c),
            None => Some(PathBuf::from("corpus/seeds")).filter(|p| p.is_dir()),
        };
        Ok(cfg)
    }
}

fn fuzz(args: FuzzArgs) -> anyhow::Result<i32> {
    let (sarif, since_tree, fail_on) = (args.sarif.clone(), args.since_tree.clone(), args.fail_on);
    let cfg = CampaignConfig::try_from(args)?;
    // The supervised child runs the campaign; the supervisor (this
    // process, first) said the rest and does it after.
    if campaign::supervise::is_child() {
        let outcome = campaign::run(&cfg)?;
        std::process::exit(if outcome.interrupted {
            campaign::EXIT_INTERRUPTED
        } else {
            0
        });
    }
    eprintln!(
        "wasmsieve: fuzzing {} (screened by wasmi, judged against wasmtime), {} job(s), seed {}, output in {}",
        cfg.engines.join(", "),
        cfg.jobs,
        cfg.seed,
        cfg.out.display()
    );
    // Output paths fail now, not after the whole --time.
    if let Some(path) = &sarif {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("--sarif {}: cannot write there: {e}", path.display()))?;
    }
    // The tree is read now, not after the whole --time.
    let since = since_tree
        .map(|t| wasmsieve::wamr_tools::stock::Tree::from_path(&t))
        .transpose()?;
    let outcome = campaign::supervise::supervise(&cfg)?;
    if let Some(tree) = &since {
        since_release(&cfg.out, &outcome.new_findings, tree)?;
    }
    let s = &outcome.summary;
    let html = cfg.out.join("report.html");
    wasmsieve::report::plot::write_html(s, &html)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", html.display()))?;
    if let Some(path) = sarif {
        let log = wasmsieve::report::sarif::sarif(s, &cfg.policy);
        std::fs::write(&path, serde_json::to_string_pretty(&log)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if outcome.interrupted {
        eprintln!("wasmsieve: interrupted; everything found so far is written");
    }
    println!(
        "{}",
        s.progress_line(
            Duration::from_secs_f64(s.elapsed_seconds - s.previous_seconds),
            None
        )
    );
    println!("summary: {}", cfg.out.join("summary.json").display());
    println!("report:  {}", cfg.out.join("report.html").display());
    let failing: Vec<String> = outcome
        .new_unique
        .iter()
        .filter(|(b, _)| fail_on.covers(**b))
        .map(|(b, n)| format!("{n} {b}"))
        .collect();
    if !failing.is_empty() {
        eprintln!("wasmsieve: new unique findings: {}", failing.join(", "));
        Ok(1)
    } else if outcome.interrupted {
        Ok(campaign::EXIT_INTERRUPTED)
    } else {
        Ok(0)
    }
}

fn shrink(args: ShrinkArgs) -> anyhow::Result<i32> {
    let ShrinkArgs {
        dir,
        time,
        attempts,
        seed,
        judging: Judging {
            in_process,
            policy,
            known,
        },
    } = args;
    let mut cfg = wasmsieve::shrink::ShrinkConfig::new(Duration::from_secs(time));
    cfg.attempts = attempts;
    cfg.seed = seed;
    cfg.isolate = !in_process;
    cfg.policy = load_policy(policy, known)?;
    let out = wasmsieve::shrink::shrink_finding_with(&dir, &cfg)?;
    println!("{}", out.line());
    println!("min.wasm: {}", out.min_wasm.display());
    if let Some(w) = &out.min_wat {
        println!("min.wat: {}", w.display());
    }
    Ok(0)
}

fn report(args: ReportArgs) -> anyhow::Result<i32> {
    let ReportArgs {
        dir,
        out,
        no_check,
        wamr_roots,
    } = args;
    use wasmsieve::wamr_tools::stock::Tree;
    let trees: Vec<Tree> = match (no_check, wamr_roots.is_empty()) {
        (true, _) => vec![],
        (false, false) => wamr_roots
            .iter()
            .map(|r| Tree::from_path(r))
            .collect::<anyhow::Result<_>>()?,
        // Snapshots that cannot be read are said and left out.
        (false, true) => std::iter::once(Tree::built_from())
            .chain(Tree::release_trees().into_iter().filter_map(|t| {
                t.map_err(|e| eprintln!("wasmsieve: not checked against a WAMR snapshot: {e:#}"))
                    .ok()
            }))
            .collect(),
    };
    let w = wasmsieve::report::draft::write_report(&dir, out.as_deref(), &trees)?;
    println!("{}", w.path.display());
    println!("{}", w.running_config.display());
    match &w.check {
        Some(Ok(c)) => println!(
            "check: {} ({})",
            match c.reproduces {
                Some(true) => "reproduces outside the harness",
                Some(false) => "does not reproduce outside the harness",
                None => "cannot tell",
            },
            c.why
        ),
        Some(Err(e)) => eprintln!("wasmsieve: could not check with stock tools: {e}"),
        None => {}
    }
    if w.versions.len() > 1 {
        for v in &w.versions {
            println!("version: {}: {}", v.tree, v.answer());
        }
    }
    Ok(0)
}

fn triage(args: TriageArgs) -> anyhow::Result<i32> {
    let TriageArgs {
        files,
        engines: names,
        json,
        source,
        out,
        libfuzzer,
        judging: Judging {
            in_process,
            policy,
            known,
        },
    } = args;
    let cfg = wasmsieve::triage::TriageConfig {
        engines: default_engines(names)?,
        isolate: !in_process,
        policy: load_policy(policy, known)?,
        source,
        out,
        libfuzzer,
    };
    let verdicts = wasmsieve::triage::triage(&files, &cfg)?;
    let code = wasmsieve::triage::exit_code(&verdicts);
    if json {
        let v = serde_json::json!({ "exit": code, "files": verdicts });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for v in &verdicts {
            for l in v.lines() {
                if v.error.is_some() {
                    eprintln!("wasmsieve: {l}");
                } else {
                    println!("{l}");
                }
            }
        }
    }
    Ok(code)
}

fn bench(args: BenchArgs) -> anyhow::Result<i32> {
    let BenchArgs {
        modules,
        seconds,
        engines: names,
    } = args;
    let modes = match names.is_empty() {
        true => engines::wamr::BENCH_MODES
            .iter()
            .filter(|n| engines::is_built(n))
            .map(|n| n.to_string())
            .collect(),
        false => names,
    };
    let cfg = wasmsieve::campaign::bench::BenchConfig {
        modes: default_engines(modes)?,
        default_engines: default_engines(vec![])?,
        seconds,
        modules,
    };
    wasmsieve::campaign::bench::run(&cfg)?;
    Ok(0)
}

fn print_execution(e: &Execution) {
    println!("{}:", e.engine);
    match &e.load {
        Some(Err(m)) => println!("  load: rejected: {m}"),
        None => println!("  load: not reached"),
        _ => {}
    }
    if let Some(CallResult::Trapped { message, .. }) = &e.instantiate {
        println!("  instantiate: trap: {message}");
    }
    for c in &e.calls {
        let args: Vec<String> = c.args.iter().map(|a| a.to_string()).collect();
        let res = match &c.result {
            CallResult::Returned(v) => {
                format!("{:?}", v.iter().map(|x| x.to_string()).collect::<Vec<_>>())
            }
            CallResult::Trapped { trap, message } => format!("trap {trap:?} ({message})"),
        };
        println!("  {}({}) -> {res}", c.export, args.join(", "));
    }
    if let exec::End::Crashed(r) = &e.end {
        println!("  CRASHED: {}", r.summary());
    }
    if let exec::End::Hung { deadline_ms, .. } = &e.end {
        println!("  HUNG: no answer within {deadline_ms} ms");
    }
}

/// Checks a campaign's new security and bug findings with the stock tools
/// of `tree` (`fuzz --since-tree`): prints and writes `OUT/since.json`,
/// under the supervisor's lock of the folder.
fn since_release(
    out: &std::path::Path,
    found: &[wasmsieve::store::summary::UniqueFinding],
    tree: &wasmsieve::wamr_tools::stock::Tree,
) -> anyhow::Result<()> {
    use wasmsieve::judge::Bucket;
    use wasmsieve::wamr_tools::stock::Tree;
    let mut rows = vec![];
    let mut new = 0;
    for u in found
        .iter()
        .filter(|u| matches!(u.bucket, Bucket::Security | Bucket::Bug))
    {
        let dir = out.join(&u.path);
        // The tree the campaign ran too: only what reproduces with its stock
        // tools and not with the release's is new since then.
        let trees = [Tree::built_from(), tree.clone()];
        let (now, then) = match wasmsieve::report::draft::check_versions(&dir, &trees) {
            Ok(v) if v.len() == 2 => (v[0].clone(), v[1].clone()),
            Ok(_) => continue, // not a WAMR finding
            Err(e) => {
                eprintln!(
                    "wasmsieve: {}: not checked against {}: {e:#}",
                    u.path,
                    tree.describe()
                );
                continue;
            }
        };
        let verdict = match (now.reproduces, then.reproduces) {
            (Some(true), Some(false)) => {
                new += 1;
                "new since then (reproduces with the campaign's tree, not with that one)"
            }
            (_, Some(true)) => "reproduces there too",
            (Some(true), None) => "cannot tell there",
            _ => {
                "cannot tell (its stock check does not reproduce it on the campaign's tree either)"
            }
        };
        println!("since {}: {}: {verdict}", tree.describe(), u.path);
        rows.push(serde_json::json!({
            "finding": u.path, "bucket": u.bucket, "new": verdict.starts_with("new"),
            "checked": [now, then],
        }));
    }
    println!(
        "since {}: {new} of {} new security/bug finding(s) are new since then",
        tree.describe(),
        rows.len()
    );
    wasmsieve::store::put(
        &out.join("since.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    Ok(())
}
