//! `wasmsieve bench`: figures, not assertions. On a fixed seed, it prints
//! each engine's speed alone, then what a campaign achieves: compared modules
//! per second per core for each mode (and on the old path, with the reference
//! on every case), the cost of isolation, the default campaign with one and
//! two jobs, and where a test case's time goes.

use super::{CampaignConfig, Outcome};
use crate::engines;
use crate::exec::{End, Executor};
use crate::generate::{self, GenConfig, TestCase};
use crate::isolate::{Worker, WorkerLimits};
use std::time::{Duration, Instant};

/// What to measure.
pub struct BenchConfig {
    /// Modes measured one by one.
    pub modes: Vec<String>,
    /// The default campaign's engines (every mode built).
    pub default_engines: Vec<String>,
    /// Length of each campaign measured.
    pub seconds: u64,
    /// Modules of the engines-alone table.
    pub modules: u64,
}

const SEED: u64 = 0xBE7C;

fn cases(n: u64) -> Vec<TestCase> {
    let cfg = GenConfig::default();
    (0..n)
        .filter_map(|i| generate::generate(&generate::seed_bytes(SEED + i, 8192), &cfg).ok())
        .collect()
}

fn rate(e: &mut dyn Executor, cases: &[&TestCase]) -> f64 {
    let t = Instant::now();
    for c in cases {
        e.run(&c.wasm, &c.plan);
    }
    cases.len() as f64 / t.elapsed().as_secs_f64()
}

/// The cases a worker runs to the end: only those are safe in process (a
/// WAMR crash there would take the bench down with it).
fn completed<'a>(w: &mut dyn Executor, cases: &'a [TestCase]) -> Vec<&'a TestCase> {
    cases
        .iter()
        .filter(|c| w.run(&c.wasm, &c.plan).end == End::Completed)
        .collect()
}

/// One measured campaign: compared modules per second, all cases per
/// second (malformed ones included), and the summary.
struct Measured {
    per_second: f64,
    cases_per_second: f64,
    outcome: Outcome,
}

/// A campaign on a fixed seed, isolated, one job and shrinking on unless
/// `tweak` says otherwise.
fn campaign(
    engines: &[String],
    seconds: u64,
    tweak: impl FnOnce(&mut CampaignConfig),
) -> anyhow::Result<Measured> {
    let out = std::env::temp_dir().join(format!(
        "wasmsieve-bench-{}-{}",
        std::process::id(),
        engines.join("+")
    ));
    let _ = std::fs::remove_dir_all(&out);
    let mut cfg = CampaignConfig::new(engines.to_vec(), out.clone());
    cfg.time = Some(Duration::from_secs(seconds));
    cfg.seed = SEED;
    cfg.progress_every = Duration::from_secs(3600);
    tweak(&mut cfg);
    let outcome = super::run(&cfg);
    let _ = std::fs::remove_dir_all(&out);
    let outcome = outcome?;
    let s = &outcome.summary;
    let elapsed = s.elapsed_seconds.max(1e-9);
    Ok(Measured {
        per_second: s.modules_compared as f64 / elapsed,
        cases_per_second: s.modules_generated as f64 / elapsed,
        outcome,
    })
}

/// Shares of the jobs' time per stage, largest first.
fn breakdown(m: &Measured) -> String {
    let stages = &m.outcome.summary.time_by_stage;
    let total: f64 = stages.values().sum::<f64>().max(1e-9);
    let mut v: Vec<_> = stages.iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(a.1));
    v.iter()
        .map(|(k, s)| format!("{k} {:.0}%", **s / total * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(cfg: &BenchConfig) -> anyhow::Result<()> {
    let cases = cases(cfg.modules);
    let calls: usize = cases.iter().map(|c| c.plan.calls.len()).sum();
    println!(
        "bench: engines alone on {} modules ({calls} calls) from seed {SEED:#x}",
        cases.len()
    );
    println!("{:<32} {:>10}", "engine", "modules/s");
    let all: Vec<&TestCase> = cases.iter().collect();
    for name in ["wasmtime", "wasmi"] {
        let mut e = engines::create(name)?;
        println!("{:<32} {:>10.1}", name, rate(&mut e, &all));
    }
    for name in &cfg.modes {
        let mut w = Worker::new(name, WorkerLimits::default());
        let r = rate(&mut w, &all);
        println!("{:<32} {:>10.1}", format!("{name} (worker)"), r);
        if engines::info(name).is_some_and(|i| i.in_process_ok) {
            let safe = completed(&mut w, &cases);
            let worker = rate(&mut w, &safe);
            let mut e = engines::create(name)?;
            let local = rate(&mut e, &safe);
            println!(
                "{:<32} {:>10.1}   (the {} of {} modules a worker finishes: worker {:.1}, isolation {:+.0}%)",
                format!("{name} (in process)"),
                local,
                safe.len(),
                cases.len(),
                worker,
                (local / worker.max(1e-9) - 1.0) * 100.0
            );
        }
    }

    println!(
        "\ncampaigns of {} s each, seed {SEED:#x}, shrinking on; compared modules/s per core (one job)",
        cfg.seconds
    );
    // No campaign in process: generated modules reach WAMR crashes, which
    // would end the bench; the isolation cost is measured above instead.
    println!(
        "{:<16} {:>10} {:>14} {:>18}  time per stage",
        "mode", "compared/s", "shrinking off", "old path (ref=all)"
    );
    for name in &cfg.modes {
        // One job, isolated; the reference share and shrinking vary.
        let one_mode = |share, shrink: bool| {
            campaign(std::slice::from_ref(name), cfg.seconds, |c| {
                c.reference_share = share;
                if !shrink {
                    c.shrink_budget = Duration::ZERO;
                }
            })
        };
        let m = one_mode(super::DEFAULT_REFERENCE_SHARE, true)?;
        // A new finding's shrink fills a short window: the same campaign
        // without shrinking shows the steady rate.
        let unshrunk = one_mode(super::DEFAULT_REFERENCE_SHARE, false)?;
        let old = one_mode(1.0, true)?;
        let s = &m.outcome.summary;
        println!(
            "{:<16} {:>10.1} {:>14.1} {:>18.1}  {}",
            name,
            m.per_second,
            unshrunk.per_second,
            old.per_second,
            breakdown(&m)
        );
        println!(
            "{:<16} reference ran on {} disagreeing and {} sampled of {} cases",
            "", s.reference_on_disagreement, s.reference_sampled, s.modules_generated
        );
    }

    let all = &cfg.default_engines;
    println!("\ndefault campaign ({}), shrinking on", all.join(", "));
    let jobs = |n, malformed_percent| {
        campaign(all, cfg.seconds, |c| {
            c.jobs = n;
            c.malformed_percent = malformed_percent;
        })
    };
    let malformed = super::DEFAULT_MALFORMED_PERCENT;
    let (one, two) = (jobs(1, malformed)?, jobs(2, malformed)?);
    for (jobs, m) in [(1, &one), (2, &two)] {
        println!(
            "  {jobs} job(s): {:>8.1} compared modules/s   {}",
            m.per_second,
            breakdown(m)
        );
    }
    println!(
        "  2 jobs / 1 job: {:.2}x",
        two.per_second / one.per_second.max(1e-9)
    );
    // The valid modules' rate without the malformed share, and the loaders'
    // own rate (malformed cases only: most are rejected, so cases/s).
    let valid_only = jobs(2, 0)?;
    println!(
        "  2 jobs, no malformed cases: {:.1} compared modules/s (with {malformed} %: {:+.0}%)",
        valid_only.per_second,
        (two.per_second / valid_only.per_second.max(1e-9) - 1.0) * 100.0
    );
    let loaders = jobs(2, 100)?;
    println!(
        "  2 jobs, malformed cases only: {:.1} cases/s",
        loaders.cases_per_second
    );
    Ok(())
}
