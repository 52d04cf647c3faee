//! The harness against a real WAMR 2.4.3 bug it found: the oracle must flag
//! the fast interpreter, and only it, with the verdict the policy gives.
//! (With a WAMR_ROOT that fixes the bug, the first assertion says so.)

mod common;
use common::*;
use wasmsieve::campaign::{differ::Differ, subjects};
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::oracle::Symptom;
use wasmsieve::policy::Policy;

#[test]
fn fast_interpreter_wrong_value_after_br_is_flagged() {
    worker_exe();
    let wasm = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/findings/fast-interp-wrong-i64-after-br.wasm"
    ))
    .unwrap();
    let names: Vec<String> = ["wamr-fast", "wamr-classic", "wamr-aot"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut differ = Differ::new(
        subjects(&names, true, &WorkerLimits::default()).unwrap(),
        Policy::builtin(),
    )
    .unwrap();
    let report = differ.run(&wasm, &CallPlan::fixed(&wasm, 1).unwrap());
    assert_eq!(
        findings.len(),
        1,
        "expected exactly the fast interpreter's wrong value (fixed in this WAMR?): {:#?}",
        report
            .findings
            .iter()
            .map(|f| (&f.engine, &f.divergence.detail))
            .collect::<Vec<_>>()
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
    worker_exe();
    let wasm = wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/findings/aot-hw-dead-load-no-trap.wat"
    ))
    .unwrap();
    let names: Vec<String> = ["wamr-aot-hw", "wamr-aot", "wamr-classic-hw"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut differ = Differ::new(
        subjects(&names, true, &WorkerLimits::default()).unwrap(),
        Policy::builtin(),
    )
    .unwrap();
    let report = differ.run(&wasm, &CallPlan::fixed(&wasm, 1).unwrap());
    // Only the AoT code compiled without software checks loses the trap.
    assert_eq!(
        findings.len(),
        1,
        "{:#?}",
        report
            .findings
            .iter()
            .map(|f| &f.divergence.detail)
            .collect::<Vec<_>>()
    );
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
