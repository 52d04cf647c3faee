//! `wasmsieve bench`: executions per second per engine on a fixed set of
//! generated modules, in process and through isolation workers, and the whole
//! differential pipeline. Figures, not assertions.

use crate::engines;
use crate::exec::{execute, Engine};
use crate::generate::{self, GenConfig, TestCase};
use crate::isolate::{Worker, WorkerLimits};
use std::time::Instant;

fn cases(n: u64) -> Vec<TestCase> {
    let cfg = GenConfig::default();
    (0..n)
        .filter_map(|i| generate::generate(&generate::seed_bytes(0xBE7C_0000 + i, 8192), &cfg).ok())
        .collect()
}

fn time_engine(e: &mut dyn Engine, cases: &[TestCase]) -> f64 {
    let t = Instant::now();
    for c in cases {
        execute(e, &c.wasm, &c.plan);
    }
    cases.len() as f64 / t.elapsed().as_secs_f64()
}

pub fn run(subjects: &[String], n: u64) -> anyhow::Result<()> {
    let cases = cases(n);
    let calls: usize = cases.iter().map(|c| c.plan.calls.len()).sum();
    println!(
        "bench: {} modules ({} calls) from fixed seeds",
        cases.len(),
        calls
    );
    println!("{:<28} {:>12}", "engine", "modules/s");
    for name in ["wasmtime", "wasmi"] {
        let mut e = engines::create(name)?;
        println!("{:<28} {:>12.1}", name, time_engine(e.as_mut(), &cases));
    }
    for name in subjects {
        if engines::info(name).is_some_and(|i| i.in_process_ok) {
            let mut e = engines::create(name)?;
            println!(
                "{:<28} {:>12.1}",
                format!("{name} (in process)"),
                time_engine(e.as_mut(), &cases)
            );
        }
        let mut w = Worker::new(name, WorkerLimits::default());
        println!(
            "{:<28} {:>12.1}",
            format!("{name} (worker)"),
            time_engine(&mut w, &cases)
        );
    }
    let subj = crate::pipeline::subjects(subjects, true, &WorkerLimits::default())?;
    let mut differ = crate::pipeline::Differ::new(subj, crate::judge::policy::Policy::builtin())?;
    let t = Instant::now();
    let mut findings = 0;
    for c in &cases {
        findings += differ.run(&c.wasm, &c.plan).findings.len();
    }
    println!(
        "{:<28} {:>12.1}   ({} findings)",
        format!("differential ({})", subjects.join("+")),
        cases.len() as f64 / t.elapsed().as_secs_f64(),
        findings
    );
    Ok(())
}
