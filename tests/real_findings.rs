//! The harness against real WAMR 2.4.3 bugs it found: the oracle must flag the
//! right mode, and only it, with the verdict the policy gives. (With a
//! WAMR_ROOT that fixes a bug, the first assertion of its test says so.)

mod common;
use common::*;
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::oracle::Symptom;
use wasmsieve::judge::policy::Policy;
use wasmsieve::judge::Finding;
use wasmsieve::pipeline::{subjects, Differ};

/// Runs a reproducer from `corpus/findings/` against `engines` (in workers).
fn findings_of(file: &str, engines: &[&str]) -> Vec<Finding> {
    worker_exe();
    let path = format!("{}/corpus/findings/{file}", env!("CARGO_MANIFEST_DIR"));
    let wasm = wasmsieve::wasm::read_module(std::path::Path::new(&path)).unwrap();
    let names: Vec<String> = engines.iter().map(|s| s.to_string()).collect();
    let subjects = subjects(&names, true, &WorkerLimits::default()).unwrap();
    let mut differ = Differ::new(subjects, Policy::builtin()).unwrap();
    differ
        .run(&wasm, &CallPlan::fixed(&wasm, 1).unwrap())
        .findings
}

fn details(findings: &[Finding]) -> Vec<(&String, &String)> {
    findings
        .iter()
        .map(|f| (&f.engine, &f.divergence.detail))
        .collect()
}

#[test]
fn fast_interpreter_wrong_value_after_br_is_flagged() {
    let findings = findings_of(
        "fast-interp-wrong-i64-after-br.wasm",
        &["wamr-fast", "wamr-classic", "wamr-aot"],
    );
    assert_eq!(
        findings.len(),
        1,
        "expected only the fast interpreter's wrong value (fixed in this WAMR?): {:#?}",
        details(&findings)
    );
    let f = &findings[0];
    assert_eq!(f.engine, "wamr-fast");
    assert_eq!(f.divergence.symptom, Symptom::WrongValue);
    assert_eq!(
        (f.verdict.bucket.as_str(), f.verdict.kind.as_str()),
        ("bug", "wrong-result")
    );
    assert_eq!(f.verdict.clauses, vec!["P7".to_string()]);
    assert!(
        f.divergence.detail.contains("i64:1") && f.divergence.detail.contains("i64:0"),
        "{}",
        f.divergence.detail
    );
}

#[test]
fn dead_out_of_bounds_load_under_hardware_bounds_is_a_missing_trap_not_an_escape() {
    let findings = findings_of(
        "aot-hw-dead-load-no-trap.wat",
        &["wamr-aot-hw", "wamr-aot", "wamr-classic-hw"],
    );
    // Only the AoT code compiled without software checks loses the trap.
    assert_eq!(findings.len(), 1, "{:#?}", details(&findings));
    let f = &findings[0];
    assert_eq!(f.engine, "wamr-aot-hw");
    // No memory was touched (the guard is intact): a miscompile, not a breach.
    assert_eq!(f.divergence.symptom, Symptom::TrapMismatch);
    assert_eq!(
        (f.verdict.bucket.as_str(), f.verdict.kind.as_str()),
        ("bug", "miscompile")
    );
    assert_eq!(f.verdict.clauses, vec!["P5".to_string(), "P7".to_string()]);
}
