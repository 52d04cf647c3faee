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
use wasmsieve::store::summary::UniqueFinding;
use wasmsieve::store::Summary;

/// A reproducer from `corpus/findings/`.
fn module(file: &str) -> Vec<u8> {
    let path = format!("{}/corpus/findings/{file}", env!("CARGO_MANIFEST_DIR"));
    wasmsieve::wasm::read_module(std::path::Path::new(&path)).unwrap()
}

/// Runs a reproducer from `corpus/findings/` against `engines` (in workers).
fn findings_of(file: &str, engines: &[&str]) -> Vec<Finding> {
    findings_in(&module(file), engines)
}

fn findings_in(wasm: &[u8], engines: &[&str]) -> Vec<Finding> {
    worker_exe();
    let names: Vec<String> = engines.iter().map(|s| s.to_string()).collect();
    let subjects = subjects(&names, true, &WorkerLimits::default()).unwrap();
    let mut differ = Differ::new(subjects, Policy::builtin()).unwrap();
    differ
        .run(wasm, &CallPlan::fixed(wasm, 1).unwrap())
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
    // ... and it is WAMR issue #2773, counted as known.
    assert_eq!(f.known.as_ref().map(|k| k.id.as_str()), Some("wamr-2773"));
    assert!(
        f.signature
            .contains("MissedTrap|MemoryOutOfBounds@I64Load16U"),
        "{}",
        f.signature
    );
}

/// The same deleted load as the only way out of a loop: the runtime hangs
/// where the reference trapped. That is the known issue too, keyed by the
/// trap it missed, not filed as a new security hang.
#[test]
fn dead_out_of_bounds_load_in_a_loop_is_the_known_issue_as_a_hang() {
    let findings = findings_of(
        "aot-hw-dead-load-loop-hangs.wat",
        &["wamr-aot-hw", "wamr-aot"],
    );
    assert_eq!(findings.len(), 1, "{:#?}", details(&findings));
    let f = &findings[0];
    assert_eq!(f.engine, "wamr-aot-hw");
    assert_eq!(f.divergence.symptom, Symptom::Hang);
    assert_eq!(f.known.as_ref().map(|k| k.id.as_str()), Some("wamr-2773"));
    assert_eq!(f.signature, "wamr-aot-hw|Hang");
    assert!(!f.counts(), "a known issue fails no run");
}

#[test]
fn aot_runs_on_after_out_of_bounds_table_fill() {
    let findings = findings_of(
        "aot-table-fill-oob-runs-on.wat",
        &["wamr-aot", "wamr-aot-hw", "wamr-classic", "wamr-fast"],
    );
    // Only AoT without hardware bounds checks runs past the trap.
    assert!(!findings.is_empty(), "fixed in this WAMR?");
    assert!(
        findings.iter().all(|f| f.engine == "wamr-aot"),
        "{:#?}",
        details(&findings)
    );
    let f = &findings[0];
    // The first call: the reference traps at table.fill, AoT at the
    // `unreachable` after it. The signature names the missed trap's site.
    assert_eq!(f.divergence.symptom, Symptom::WrongTrapKind);
    assert_eq!(f.divergence.reference_site.as_deref(), Some("TableFill"));
    assert!(
        f.signature
            .ends_with("MissedTrap|TableOutOfBounds@TableFill"),
        "{}",
        f.signature
    );
    assert_eq!(
        (f.verdict.bucket.as_str(), f.verdict.kind.as_str()),
        ("bug", "miscompile")
    );
    assert!(f.known.is_none());
}

#[test]
fn campaign_module_with_table_trap_is_the_same_root_cause() {
    // The module a campaign found (838 WAT lines): its divergence must carry
    // the same signature as the hand-reduced one above.
    let Some(path) = shared_repro("aot-unreachable-vs-table-oob.wasm") else {
        return;
    };
    worker_exe();
    let wasm = std::fs::read(path).unwrap();
    let subjects = subjects(&["wamr-aot".to_string()], true, &WorkerLimits::default()).unwrap();
    let mut differ = Differ::new(subjects, Policy::builtin()).unwrap();
    let findings = differ
        .run(&wasm, &CallPlan::fixed(&wasm, 3).unwrap())
        .findings;
    assert_eq!(findings.len(), 1, "{:#?}", details(&findings));
    assert!(
        findings[0]
            .signature
            .ends_with("MissedTrap|TableOutOfBounds@TableFill"),
        "{}",
        findings[0].signature
    );
}

/// Files `findings` as a campaign does; returns the summary.
fn filed(findings: &[Finding]) -> Summary {
    let mut s = Summary::new(&[], 0);
    for (i, f) in findings.iter().enumerate() {
        s.record_finding(f, i as f64);
    }
    s
}

/// (engine, context, hits) of every mode and context a root cause was seen in.
fn seen(u: &UniqueFinding) -> Vec<(&str, &str, u64)> {
    u.seen
        .iter()
        .map(|s| (s.engine.as_str(), s.context.as_str(), s.hits))
        .collect()
}

#[test]
fn one_interpreter_bug_under_both_bounds_checks_is_one_finding() {
    let findings = findings_of(
        "fast-interp-wrong-i64-after-br.wasm",
        &["wamr-fast", "wamr-fast-hw"],
    );
    assert_eq!(findings.len(), 2, "{:#?}", details(&findings));
    // The same interpreter code with either bounds check: one root cause.
    assert_eq!(findings[0].signature, findings[1].signature);
    assert_eq!(findings[0].signature, "wamr-fast|WrongValue");
    // A crash too: the same site under either bounds check.
    let crashes = findings_of(
        "interp-return-call-to-import-crash.wat",
        &["wamr-classic", "wamr-classic-hw"],
    );
    assert_eq!(crashes.len(), 2, "{:#?}", details(&crashes));
    let s = filed(&crashes);
    assert_eq!(s.unique.len(), 1, "{:#?}", s.unique);
    assert_eq!(
        seen(&s.unique[0]),
        [("wamr-classic", "call", 1), ("wamr-classic-hw", "call", 1)]
    );
}

/// The `return_call`-to-import crash reached from a start function (while
/// instantiating) and from an exported call: one site, one finding, both
/// contexts listed.
#[test]
fn one_crash_from_a_start_function_and_from_an_export_is_one_finding() {
    let start = wat::parse_str(
        r#"(module
             (import "host" "nop" (func $h))
             (func $s return_call $h)
             (start $s))"#,
    )
    .unwrap();
    let mut findings = findings_of("interp-return-call-to-import-crash.wat", &["wamr-fast"]);
    findings.extend(findings_in(&start, &["wamr-fast"]));
    assert_eq!(findings.len(), 2, "{:#?}", details(&findings));
    assert_eq!(
        (findings[0].context(), findings[1].context()),
        ("call", "instantiation")
    );
    assert_eq!(findings[0].signature, findings[1].signature);
    let s = filed(&findings);
    assert_eq!(s.unique.len(), 1, "{:#?}", s.unique);
    assert_eq!(
        seen(&s.unique[0]),
        [("wamr-fast", "call", 1), ("wamr-fast", "instantiation", 1)]
    );
}

/// Two crash sites in one mode (the interpreter's `return_call` and the
/// loader's const-expression cleanup) stay two findings.
#[test]
fn two_crash_sites_in_one_mode_are_two_findings() {
    let mut findings = findings_of("interp-return-call-to-import-crash.wat", &["wamr-classic"]);
    findings.extend(findings_in(&loader_crash_module(), &["wamr-classic"]));
    assert_eq!(findings.len(), 2, "{:#?}", details(&findings));
    assert!(findings
        .iter()
        .all(|f| f.divergence.symptom == Symptom::Crash));
    assert_ne!(findings[0].signature, findings[1].signature);
    assert!(
        findings[1].signature.contains("destroy_const_expr_stack"),
        "{}",
        findings[1].signature
    );
    assert_eq!(filed(&findings).unique.len(), 2);
}

#[test]
fn interpreters_crash_on_return_call_to_an_import() {
    let findings = findings_of(
        "interp-return-call-to-import-crash.wat",
        &["wamr-classic", "wamr-fast", "wamr-aot"],
    );
    assert!(!findings.is_empty(), "fixed in this WAMR?");
    // The interpreters die; AoT returns the host's answer.
    let engines: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.engine.as_str()).collect();
    assert_eq!(
        engines,
        ["wamr-classic", "wamr-fast"].into_iter().collect(),
        "{:#?}",
        details(&findings)
    );
    for f in &findings {
        // Tail calls are tier B (P8): a crash there is a bug, not security.
        assert_eq!(
            (f.verdict.bucket.as_str(), f.verdict.kind.as_str()),
            ("bug", "crash"),
            "{}",
            f.signature
        );
        assert!(
            f.signature.contains("wasm_interp_call_func_bytecode"),
            "{}",
            f.signature
        );
    }
}

/// WAMR's export-global API misreads AoT instances of modules that import a
/// global; the harness's shim reads them itself, so every mode observes the
/// re-exported import and the own global alike (CallPlan::fixed observes both).
#[test]
fn aot_exported_globals_of_a_module_importing_one_are_read_right() {
    let file = "aot-export-global-api-ignores-imports.wat";
    let path = format!("{}/corpus/findings/{file}", env!("CARGO_MANIFEST_DIR"));
    let wasm = wasmsieve::wasm::read_module(std::path::Path::new(&path)).unwrap();
    let plan = CallPlan::fixed(&wasm, 1).unwrap();
    assert_eq!(plan.globals, ["inf", "own"]);
    let findings = findings_of(file, &wasmsieve::engines::runtimes_built());
    assert!(findings.is_empty(), "{:#?}", details(&findings));
}

#[test]
fn aot_memory64_grow_by_a_wide_delta_fails_but_grows() {
    let findings = findings_of(
        "aot-memory64-grow-wide-delta.wat",
        &["wamr-classic", "wamr-aot"],
    );
    assert_eq!(
        findings.len(),
        1,
        "fixed in this WAMR? {:#?}",
        details(&findings)
    );
    let f = &findings[0];
    assert_eq!(f.engine, "wamr-aot");
    assert_eq!(
        f.divergence.symptom,
        Symptom::WrongValue,
        "{}",
        f.divergence.detail
    );
    assert_eq!(
        (f.verdict.bucket.as_str(), f.verdict.kind.as_str()),
        ("bug", "miscompile")
    );
    assert!(
        f.divergence.detail.contains("i64:-1, i64:1"),
        "{}",
        f.divergence.detail
    );
}

/// wamrc's options for call-stack `features` (bits of `CALL_STACK_FEATURES`).
fn call_stack_options(features: Option<u8>) -> String {
    use wasmsieve::engines::wamr::AotOptions;
    AotOptions {
        call_stack: features,
        ..AotOptions::default()
    }
    .wamrc_args()
}

/// Runs `wasm` in `engine` pinned to these compile options (as triage and
/// shrink run a finding's module).
fn findings_pinned(wasm: &[u8], engine: &str, options: &str) -> Vec<Finding> {
    worker_exe();
    let subjects = subjects(&[engine.to_string()], true, &WorkerLimits::default()).unwrap();
    let mut differ = Differ::new(subjects, Policy::builtin()).unwrap();
    let mut plan = CallPlan::fixed(wasm, 1).unwrap();
    plan.compile_options
        .insert(engine.to_string(), options.to_string());
    let findings = differ.run(wasm, &plan).findings;
    for f in &findings {
        let run = f.executions.iter().find(|e| e.engine == engine).unwrap();
        assert_eq!(
            run.compile_options.as_deref(),
            Some(options),
            "the pinned options are used and recorded"
        );
    }
    findings
}

/// Compiles a kept module in wamr-aot with call-stack `features`: the one
/// finding, a crash of the compiler (needs-review by the policy); without
/// frames the module compiles and agrees.
fn aot_compiler_crash(file: &str, features: u8) -> Finding {
    let wasm = module(file);
    let with = call_stack_options(Some(features));
    let mut findings = findings_pinned(&wasm, "wamr-aot", &with);
    assert_eq!(
        findings.len(),
        1,
        "fixed in this WAMR? {:#?}",
        details(&findings)
    );
    let f = findings.remove(0);
    assert_eq!(f.divergence.symptom, Symptom::Crash);
    assert_eq!(
        (f.verdict.bucket.as_str(), f.verdict.rule.as_str()),
        ("needs-review", "aot-compiler")
    );
    assert!(findings_pinned(&wasm, "wamr-aot", &call_stack_options(None)).is_empty());
    f
}

/// WAMR's AoT compiler crashes compiling a trap with tiny call-stack frames
/// and the bounds-checks, ip and trap-ip features (the bits of
/// `CALL_STACK_FEATURES`); the campaign's path files the crash.
#[test]
fn aot_compiler_crashes_on_a_trap_with_tiny_frames_and_trap_ip() {
    let f = aot_compiler_crash("aot-compiler-tiny-frames-trap-ip.wat", 0b01011);
    assert!(
        f.signature.contains("aot_emit_exception"),
        "{}",
        f.signature
    );
}

/// WAMR's AoT compiler overflows a heap buffer (the frame of
/// `init_comp_frame`) compiling a multi-value call before a `return_call`
/// with frames that keep values (wamrc's default features, all bits): the
/// corrupted heap aborts the compile, confirmed in a fresh worker.
#[test]
fn aot_compiler_overflows_its_frame_on_a_call_before_return_call() {
    let f = aot_compiler_crash("aot-compiler-frames-return-call-overflow.wat", 0b11111);
    assert_eq!(f.confirmed, Some(true), "{}", f.signature);
}
