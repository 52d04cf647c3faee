//! Every comparison outcome of the oracle, end to end through `Differ`, with the
//! deliberately faulty engine (`faulty`, always in an isolation worker) as the
//! runtime under test: each test checks the finding's symptom and the policy's
//! bucket, kind and clauses.

mod common;
use common::*;
use std::time::{Duration, Instant};
use wasmsieve::exec::{CallRecord, CallResult, End, Execution, Trap};
use wasmsieve::generate::plan::{CallPlan, PlannedCall};
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::oracle::{self, Comparison, Symptom};
use wasmsieve::judge::policy::Policy;
use wasmsieve::judge::Finding;
use wasmsieve::pipeline::subjects;
use wasmsieve::pipeline::{CaseReport, Differ, Subject};
use wasmsieve::store::Filed;
use wasmsieve::wasm::Val;

/// The faulty engine in this process instead of a worker: only for markers that
/// misbehave in values (never the process-level ones). It checks the oracle and
/// policy paths independently of the isolation layer.
fn differ_in_process() -> Differ {
    let subject = Subject {
        engine: Box::new(wasmsieve::engines::create("faulty").expect("faulty")),
        info: wasmsieve::engines::info("faulty").expect("faulty info"),
    };
    Differ::new(vec![subject], Policy::builtin()).expect("differ")
}

fn differ_with(names: &[&str], limits: WorkerLimits) -> Differ {
    worker_exe();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let subjects = subjects(&names, true, &limits).expect("subjects");
    Differ::new(subjects, Policy::builtin()).expect("differ")
}

fn differ(names: &[&str]) -> Differ {
    differ_with(names, WorkerLimits::default())
}

fn run(d: &mut Differ, wat: &str) -> CaseReport {
    let wasm = wat::parse_str(wat).expect("test WAT parses");
    let plan = CallPlan::fixed(&wasm, 1).expect("plan");
    assert!(
        !plan.calls.is_empty() || wat.contains("wsv_fault_reject"),
        "plan calls nothing"
    );
    d.run(&wasm, &plan)
}

fn describe(r: &CaseReport) -> String {
    let mut s = String::new();
    for (exec, cmp) in &r.comparisons {
        s.push_str(&format!(
            "{}: {:?}\n  end={:?}\n  calls={:?}\n",
            exec.engine, cmp, exec.end, exec.calls
        ));
    }
    for f in &r.findings {
        s.push_str(&format!(
            "finding {} {:?}: {} / {} {:?} ({})\n",
            f.engine,
            f.divergence.symptom,
            f.verdict.bucket,
            f.verdict.kind,
            f.verdict.clauses,
            f.divergence.detail
        ));
    }
    s
}

fn single(r: &CaseReport) -> &Finding {
    assert_eq!(
        r.findings.len(),
        1,
        "expected exactly one finding:\n{}",
        describe(r)
    );
    &r.findings[0]
}

fn assert_verdict(f: &Finding, symptom: Symptom, bucket: &str, kind: &str, clauses: &[&str]) {
    let ctx = format!(
        "{:?} / {:?}: {}",
        f.divergence.symptom, f.verdict, f.divergence.detail
    );
    assert_eq!(f.divergence.symptom, symptom, "{ctx}");
    assert_eq!(f.verdict.bucket.as_str(), bucket, "{ctx}");
    assert_eq!(f.verdict.kind, kind, "{ctx}");
    assert_eq!(f.verdict.clauses, clauses, "{ctx}");
    assert_eq!(f.engine, "faulty", "{ctx}");
}

/// A module every engine runs the same: values, memory, a mutable global.
const CORRECT: &str = r#"
(module
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 7))
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "store") (param i32)
    i32.const 16 local.get 0 i32.store
    global.get $g i32.const 1 i32.add global.set $g)
  (func (export "fdiv") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.div)
  (func (export "wide") (result i64) i64.const 0x1_0000_0001))
"#;

/// Correct traps: out-of-bounds load, division by zero, null table slot.
const CORRECT_TRAPS: &str = r#"
(module
  (memory 1)
  (table 2 funcref)
  (type $t (func (result i32)))
  (func (export "oob") (result i32) i32.const 70000 i32.load)
  (func (export "div") (result i32) i32.const 1 i32.const 0 i32.div_s)
  (func (export "null") (result i32) i32.const 1 call_indirect (type $t))
  (func (export "ok") (result i32) i32.const 3))
"#;

// ---------------------------------------------------------------- agree

#[test]
fn agree_correct_module_faulty() {
    let mut d = differ(&["faulty"]);
    let r = run(&mut d, CORRECT);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert_eq!(r.comparisons.len(), 1);
    assert_eq!(r.comparisons[0].1, Comparison::Agree, "{}", describe(&r));
    // The subject really ran the plan (not an empty agreement).
    assert_eq!(r.comparisons[0].0.calls.len(), 4, "{}", describe(&r));
    assert_eq!(
        r.reference.calls[3].result,
        CallResult::Returned(vec![Val::I64(0x1_0000_0001)])
    );
}

/// The faulty engine is wasmtime without markers, so it must trap exactly like
/// the reference. In a worker it does not (see the report: the worker's crash
/// handler replaces wasmtime's trap handler).
#[test]
fn agree_correct_traps_faulty_in_process() {
    let mut d = differ_in_process();
    let r = run(&mut d, CORRECT_TRAPS);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert_eq!(r.comparisons[0].1, Comparison::Agree, "{}", describe(&r));
    assert_eq!(r.comparisons[0].0.calls.len(), 4);
}

#[test]
fn agree_correct_traps_faulty_worker() {
    let mut d = differ(&["faulty"]);
    let r = run(&mut d, CORRECT_TRAPS);
    assert!(
        r.findings.is_empty(),
        "a trapping module without markers must agree:\n{}",
        describe(&r)
    );
    assert_eq!(r.comparisons[0].1, Comparison::Agree, "{}", describe(&r));
}

#[test]
fn agree_correct_module_wamr_modes() {
    let mut d = differ(&["wamr-classic", "wamr-fast", "wamr-aot"]);
    for wat in [CORRECT, CORRECT_TRAPS] {
        let r = run(&mut d, wat);
        assert!(r.findings.is_empty(), "{}", describe(&r));
        assert_eq!(r.comparisons.len(), 3);
        for (exec, cmp) in &r.comparisons {
            assert_eq!(*cmp, Comparison::Agree, "{}: {}", exec.engine, describe(&r));
            assert_eq!(exec.calls.len(), r.reference.calls.len(), "{}", exec.engine);
            assert_eq!(exec.end, End::Completed);
        }
    }
}

// ---------------------------------------------------------------- value differs

#[test]
fn value_differs_is_bug_p7() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_value") (result i32) i32.const 41))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::WrongValue, "bug", "wrong-result", &["P7"]);
    assert_eq!(f.verdict.rule, "wasm-wrong-result");
    assert_eq!(f.divergence.call_index, Some(0));
    assert_eq!(f.divergence.export.as_deref(), Some("wsv_fault_value"));
    // The second opinion agreed with the reference, so it is not a suspect.
    assert!(
        !f.divergence.detail.contains("reference suspect"),
        "{}",
        f.divergence.detail
    );
    assert_eq!(f.executions.len(), 3, "reference, subject, second opinion");
    assert_eq!(
        f.executions[1].calls[0].result,
        CallResult::Returned(vec![Val::I32(42)])
    );
}

// ---------------------------------------------------------------- references

/// Reference-typed exports: externrefs through parameters, results, a table
/// and a global; funcref parameters, results and globals (null and not);
/// many parameters.
const REFS: &str = r#"
(module
  (table $t 2 externref)
  (global $gx (export "gx") (mut externref) (ref.null extern))
  (global (export "gf") funcref (ref.func $f))
  (global (export "gn") funcref (ref.null func))
  (func $f (result i32) i32.const 7)
  (elem declare func $f)
  (func (export "id") (param externref) (result externref) local.get 0)
  (func (export "second") (param externref externref i32) (result externref i32)
    local.get 1 local.get 2)
  (func (export "isnull") (param externref) (result i32) local.get 0 ref.is_null)
  (func (export "fr") (result funcref) ref.func $f)
  (func (export "nullfr") (result funcref) ref.null func)
  (func (export "fnull") (param funcref) (result i32) local.get 0 ref.is_null)
  (func (export "keep") (param externref)
    i32.const 0 local.get 0 table.set $t local.get 0 global.set $gx)
  (func (export "kept") (result externref) i32.const 0 table.get $t)
  (func (export "many")
    (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 externref)
    (result i64)
    local.get 1 local.get 5 i64.add local.get 17 i64.add))
"#;

/// The module's fixed plan (zeros and nulls, then drawn arguments), then
/// calls with the host's identities where the draw may not have put them.
fn refs_plan(wasm: &[u8]) -> CallPlan {
    let mut plan = CallPlan::fixed(wasm, 2).unwrap();
    let call = |export: &str, args: Vec<Val>| PlannedCall {
        export: export.into(),
        args,
    };
    plan.calls.extend([
        call("id", vec![Val::ExternRef(Some(2))]),
        call(
            "second",
            vec![
                Val::ExternRef(Some(0)),
                Val::ExternRef(Some(3)),
                Val::I32(5),
            ],
        ),
        call("isnull", vec![Val::ExternRef(Some(1))]),
        call("keep", vec![Val::ExternRef(Some(3))]),
        call("kept", vec![]),
    ]);
    plan
}

#[test]
fn references_agree_in_every_mode() {
    let wasm = wat::parse_str(REFS).unwrap();
    let plan = refs_plan(&wasm);
    // Every export is called, reference-typed and many-parameter ones too.
    for export in [
        "id", "second", "isnull", "fr", "nullfr", "fnull", "keep", "kept", "many",
    ] {
        assert!(plan.calls.iter().any(|c| c.export == export), "{export}");
    }
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.extend(["wamr-aot-opts", "faulty"]);
    let mut d = differ(&names);
    let r = d.run(&wasm, &plan);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert_eq!(r.comparisons.len(), names.len());
    for (exec, cmp) in &r.comparisons {
        assert_eq!(*cmp, Comparison::Agree, "{}: {}", exec.engine, describe(&r));
        assert_eq!(exec.calls.len(), plan.calls.len(), "{}", exec.engine);
    }
    let result = |export: &str, args: &[Val]| {
        let mut c = r.reference.calls.iter();
        let c = c.rfind(|c| c.export == export && c.args == args);
        c.map(|c| c.result.clone()).expect(export)
    };
    let returned = |v: Vec<Val>| CallResult::Returned(v);
    let host = |id| Val::ExternRef(Some(id));
    assert_eq!(result("id", &[host(2)]), returned(vec![host(2)]));
    assert_eq!(
        result("second", &[host(0), host(3), Val::I32(5)]),
        returned(vec![host(3), Val::I32(5)])
    );
    assert_eq!(result("isnull", &[host(1)]), returned(vec![Val::I32(0)]));
    assert_eq!(result("kept", &[]), returned(vec![host(3)]));
    let globals = &r.reference.calls.last().unwrap().globals;
    let global = |name: &str| globals.iter().find(|g| g.0 == name).and_then(|g| g.1);
    assert_eq!(global("gx"), Some(host(3)));
    assert_eq!(global("gf"), Some(Val::FuncRef { non_null: true }));
    assert_eq!(global("gn"), Some(Val::FuncRef { non_null: false }));
    assert_eq!(
        result("fr", &[]),
        returned(vec![Val::FuncRef { non_null: true }])
    );
    assert_eq!(
        result("nullfr", &[]),
        returned(vec![Val::FuncRef { non_null: false }])
    );
}

/// A reference result the runtime gets wrong is found: another externref
/// identity, or null where the reference returns a value and back.
#[test]
fn wrong_reference_result_is_bug_p7() {
    let mut d = differ(&["faulty"]);
    let cases = [
        (
            "(param externref) (result externref) local.get 0",
            vec![Val::ExternRef(Some(1))],
            Val::ExternRef(Some(2)),
        ),
        (
            "(param externref) (result externref) local.get 0",
            vec![Val::ExternRef(None)],
            Val::ExternRef(Some(0)),
        ),
        (
            "(result funcref) ref.null func",
            vec![],
            Val::FuncRef { non_null: true },
        ),
        (
            "(result funcref) ref.func $f",
            vec![],
            Val::FuncRef { non_null: false },
        ),
    ];
    for (body, args, wrong) in cases {
        let wat = format!(
            r#"(module (func $f) (elem declare func $f)
                 (func (export "wsv_fault_value") {body}))"#
        );
        let wasm = wat::parse_str(&wat).unwrap();
        let plan = CallPlan {
            calls: vec![PlannedCall {
                export: "wsv_fault_value".into(),
                args,
            }],
            ..CallPlan::default()
        };
        let r = d.run(&wasm, &plan);
        let f = single(&r);
        assert_verdict(f, Symptom::WrongValue, "bug", "wrong-result", &["P7"]);
        assert_eq!(
            f.executions[1].calls[0].result,
            CallResult::Returned(vec![wrong]),
            "{body}"
        );
    }
}

// ---------------------------------------------------------------- host imports

/// Every host function (`wasm::host`) imported, called from Wasm code and
/// exported again (called from outside too).
const HOST: &str = r#"
(module
  (import "host" "i32" (func $h32 (param i32) (result i32)))
  (import "host" "i64" (func $h64 (param i64 i64) (result i64)))
  (import "host" "f64" (func $hf (param f64) (result f64)))
  (import "host" "nop" (func $nop))
  (export "h32" (func $h32))
  (func (export "twice") (param i32) (result i32) local.get 0 call $h32 call $h32)
  (func (export "mix") (param i64 i64) (result i64) call $nop local.get 0 local.get 1 call $h64)
  (func (export "half") (param f64) (result f64) local.get 0 call $hf))
"#;

#[test]
fn host_imports_agree_in_every_mode() {
    let wasm = wat::parse_str(HOST).unwrap();
    let mut plan = CallPlan::fixed(&wasm, 3).unwrap();
    plan.calls.push(PlannedCall {
        export: "half".into(),
        args: vec![Val::F64(f64::NAN.to_bits())],
    });
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.extend(["wamr-aot-opts", "faulty"]);
    let mut d = differ(&names);
    let r = d.run(&wasm, &plan);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    for (exec, cmp) in &r.comparisons {
        assert_eq!(*cmp, Comparison::Agree, "{}: {}", exec.engine, describe(&r));
        assert_eq!(exec.calls.len(), plan.calls.len(), "{}", exec.engine);
    }
    // x*2+1 twice; (a*31)^b; x/2+1 with a canonical NaN.
    let results: Vec<&CallResult> = r.reference.calls.iter().map(|c| &c.result).collect();
    assert_eq!(*results[0], CallResult::Returned(vec![Val::I32(1)]));
    assert_eq!(*results[1], CallResult::Returned(vec![Val::I32(3)]));
    assert_eq!(*results[2], CallResult::Returned(vec![Val::I64(0)]));
    assert_eq!(
        *results[3],
        CallResult::Returned(vec![Val::F64(1f64.to_bits())])
    );
    assert_eq!(
        r.reference.calls.last().unwrap().result,
        CallResult::Returned(vec![Val::F64(f64::NAN.to_bits())])
    );
}

/// Memories and tables imported from `env` (made fresh, of the declared
/// type, as WAMR's built-in `env` does) and libc-builtin's f64 globals:
/// used from Wasm code, exported again, grown to their maximum and past it.
const HOST_STATE: &str = r#"
(module
  (import "global" "NaN" (global $nan f64))
  (import "global" "Infinity" (global $inf f64))
  (import "env" "memory" (memory $m 1 2))
  (import "env" "table" (table $t 1 8 funcref))
  (export "memory" (memory $m))
  (export "inf" (global $inf))
  (func $f (result i32) i32.const 7)
  (elem declare func $f)
  (func (export "consts") (result f64 f64) global.get $nan global.get $inf)
  (func (export "store") (param i32 i64) local.get 0 local.get 1 i64.store)
  (func (export "load_end") (result i64) i32.const 131064 i64.load)
  (func (export "grow") (result i32 i32 i32)
    i32.const 1 memory.grow i32.const 1 memory.grow memory.size)
  (func (export "table") (result i32 i32 i32)
    ref.func $f i32.const 7 table.grow $t
    ref.null func i32.const 1 table.grow $t
    table.size $t)
  (func (export "call") (result i32) i32.const 1 call_indirect $t (result i32)))
"#;

#[test]
fn host_memories_tables_and_globals_agree_in_every_mode() {
    let wasm = wat::parse_str(HOST_STATE).unwrap();
    use wasmsieve::wasm::host;
    assert_eq!(host::undefined_imports(&wasm), 0);
    assert!(
        !host::imports_functions(&wasm),
        "stock iwasm defines all of these"
    );
    let call = |export: &str, args: Vec<Val>| PlannedCall {
        export: export.into(),
        args,
    };
    let plan = CallPlan {
        calls: vec![
            call("consts", vec![]),
            // Past the end of the one page the import declares: a trap.
            call("load_end", vec![]),
            call("store", vec![Val::I32(65528), Val::I64(-2)]),
            call("grow", vec![]),
            call("store", vec![Val::I32(131064), Val::I64(0x1234)]),
            call("load_end", vec![]),
            call("table", vec![]),
            call("call", vec![]),
        ],
        memories: vec!["memory".into()],
        globals: vec!["inf".into()],
        ..CallPlan::default()
    };
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.extend(["wamr-aot-opts", "faulty"]);
    let mut d = differ(&names);
    let r = d.run(&wasm, &plan);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    for (exec, cmp) in &r.comparisons {
        assert_eq!(*cmp, Comparison::Agree, "{}: {}", exec.engine, describe(&r));
        assert_eq!(exec.calls.len(), plan.calls.len(), "{}", exec.engine);
    }
    let results: Vec<&CallResult> = r.reference.calls.iter().map(|c| &c.result).collect();
    let nan = f64::from_bits(0x7FF8_0000_0000_0000);
    assert_eq!(
        *results[0],
        CallResult::Returned(vec![
            Val::F64(nan.to_bits()),
            Val::F64(f64::INFINITY.to_bits())
        ])
    );
    assert!(matches!(
        results[1],
        CallResult::Trapped {
            trap: Trap::MemoryOutOfBounds,
            ..
        }
    ));
    // Grown to its maximum of 2 pages, not past it.
    assert_eq!(
        *results[3],
        CallResult::Returned(vec![Val::I32(1), Val::I32(-1), Val::I32(2)])
    );
    assert_eq!(*results[5], CallResult::Returned(vec![Val::I64(0x1234)]));
    // 1 + 7 elements reach the maximum of 8: the next grow fails.
    assert_eq!(
        *results[6],
        CallResult::Returned(vec![Val::I32(1), Val::I32(-1), Val::I32(8)])
    );
    assert_eq!(*results[7], CallResult::Returned(vec![Val::I32(7)]));

    // A wrong imported memory after a call is found.
    let faulty = HOST_STATE.replace("\"store\"", "\"wsv_fault_memory\"");
    let wasm = wat::parse_str(&faulty).unwrap();
    let mut plan = plan.clone();
    for c in &mut plan.calls {
        if c.export == "store" {
            c.export = "wsv_fault_memory".into();
        }
    }
    let mut d = differ(&["faulty"]);
    let r = d.run(&wasm, &plan);
    let f = single(&r);
    assert_verdict(f, Symptom::MemoryMismatch, "bug", "wrong-result", &["P7"]);
}

/// A shared memory imported from `env` (as wasi-threads modules do), with
/// atomics: compared in the modes built with threads, skipped in the others.
#[test]
fn host_shared_memory_agrees_where_threads_are_built() {
    let wasm = wat::parse_str(
        r#"(module
          (import "env" "memory_shared" (memory $m 1 2 shared))
          (export "memory" (memory $m))
          (func (export "add") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.atomic.rmw.add)
          (func (export "notify") (param i32) (result i32)
            local.get 0 i32.const 1 memory.atomic.notify)
          (func (export "grow") (result i32 i32)
            i32.const 1 memory.grow i32.const 1 memory.grow))"#,
    )
    .unwrap();
    let plan = CallPlan::fixed(&wasm, 3).unwrap();
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.push("faulty");
    let mut d = differ(&names);
    let r = d.run(&wasm, &plan);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    let compared: Vec<&str> = r
        .comparisons
        .iter()
        .map(|(exec, cmp)| {
            assert_eq!(*cmp, Comparison::Agree, "{}: {}", exec.engine, describe(&r));
            exec.engine.as_str()
        })
        .collect();
    assert!(
        compared.iter().any(|e| e.starts_with("wamr-")),
        "{compared:?}"
    );
    for name in wasmsieve::engines::runtimes_built() {
        let threads = wasmsieve::engines::info(name).unwrap().features.threads;
        assert_eq!(compared.contains(&name), threads, "{name}");
    }
}

/// Non-null funcref arguments: the module's own exported functions, named
/// by export in every engine (WAMR takes the function index). Stored in a
/// table and called through it, tested for null, handed back: every mode
/// agrees with the reference, which computes what the function says.
#[test]
fn exported_functions_pass_as_funcref_arguments_in_every_mode() {
    let wasm = wat::parse_str(
        r#"(module
          (type $t (func (result i32)))
          (table 2 funcref)
          (func (export "a") (result i32) i32.const 11)
          (func (export "b") (result i32) i32.const 22)
          (func (export "via") (param funcref) (result i32)
            i32.const 1 local.get 0 table.set
            i32.const 1 call_indirect (type $t))
          (func (export "is_null") (param funcref) (result i32) local.get 0 ref.is_null)
          (func (export "echo") (param funcref) (result funcref) local.get 0))"#,
    )
    .unwrap();
    let call = |export: &str, arg: Val| PlannedCall {
        export: export.into(),
        args: vec![arg],
    };
    let plan = CallPlan {
        calls: vec![
            call("via", Val::FuncExport(0)),
            call("via", Val::FuncExport(1)),
            call("via", Val::FuncExport(2)),
            call("is_null", Val::FuncExport(3)),
            call("is_null", Val::FuncRef { non_null: false }),
            call("echo", Val::FuncExport(4)),
        ],
        ..CallPlan::default()
    };
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.push("faulty");
    let mut d = differ(&names);
    let r = d.run(&wasm, &plan);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    let results: Vec<CallResult> = r.reference.calls.iter().map(|c| c.result.clone()).collect();
    let ok = |v: Val| CallResult::Returned(vec![v]);
    assert_eq!(results[0], ok(Val::I32(11)));
    assert_eq!(results[1], ok(Val::I32(22)));
    assert!(
        matches!(
            &results[2],
            CallResult::Trapped {
                trap: Trap::IndirectCallTypeMismatch,
                ..
            }
        ),
        "{results:?}"
    );
    assert_eq!(
        results[3..],
        [
            ok(Val::I32(0)),
            ok(Val::I32(1)),
            ok(Val::FuncRef { non_null: true })
        ]
    );
    for (exec, cmp) in &r.comparisons {
        assert_eq!(*cmp, Comparison::Agree, "{}: {}", exec.engine, describe(&r));
    }
    assert_eq!(r.comparisons.len(), names.len(), "{}", describe(&r));
}

/// A crash that only happens in a process an earlier module corrupted
/// (faulty's taint) is not repeated by the fresh worker that confirms it:
/// filed unconfirmed, keyed by engine and signal rather than by the
/// victim's frames, so two such victims are one finding.
#[test]
fn crashes_a_fresh_worker_does_not_repeat_are_one_unconfirmed_finding() {
    let mut d = differ(&["faulty"]);
    let taint = r#"(module (func (export "wsv_fault_taint")))"#;
    let victims = [
        r#"(module (func (export "wsv_fault_tainted")))"#,
        r#"(module (func (export "wsv_fault_tainted") (param i32) (result i32) local.get 0))"#,
    ];
    let mut ids = vec![];
    for victim in victims {
        assert!(run(&mut d, taint).findings.is_empty());
        let r = run(&mut d, victim);
        let f = single(&r);
        assert_eq!(
            f.divergence.symptom,
            Symptom::Crash,
            "{}",
            f.divergence.detail
        );
        assert_eq!(f.confirmed, Some(false));
        assert_eq!(f.signature, "faulty|Crash|unconfirmed|SIGSEGV");
        // A victim: for review, not a security report.
        assert_eq!(f.verdict.bucket.as_str(), "needs-review");
        ids.push(f.id.clone());
    }
    assert_eq!(ids[0], ids[1]);
    // In a clean process the same module behaves.
    assert!(run(&mut differ(&["faulty"]), victims[0])
        .findings
        .is_empty());
}

/// The probes' bounded atomic waits (timeout 0 or 1000 ns) agree in every
/// threads mode: "not-equal" (1), "timed-out" (2), and the traps for an
/// unaligned or out-of-bounds address; on an unshared memory every engine
/// traps. Each call returns at once, so no mode is judged to hang.
#[test]
fn bounded_atomic_waits_agree_where_threads_are_built() {
    let module = |mem: &str| {
        wat::parse_str(format!(
            r#"(module
              (memory $m {mem})
              (func (export "w32") (param i32 i32) (result i32)
                local.get 0 local.get 1 i64.const 0 memory.atomic.wait32)
              (func (export "w64") (param i32 i64) (result i32)
                local.get 0 local.get 1 i64.const 1000 memory.atomic.wait64)
              (func (export "set") (param i32 i32) local.get 0 local.get 1 i32.atomic.store))"#
        ))
        .unwrap()
    };
    let call = |export: &str, args: Vec<Val>| PlannedCall {
        export: export.into(),
        args,
    };
    let calls = vec![
        call("w32", vec![Val::I32(0), Val::I32(0)]),
        call("w32", vec![Val::I32(0), Val::I32(5)]),
        call("set", vec![Val::I32(8), Val::I32(5)]),
        call("w32", vec![Val::I32(8), Val::I32(5)]),
        call("w64", vec![Val::I32(65528), Val::I64(0)]),
        call("w64", vec![Val::I32(65528), Val::I64(-1)]),
        call("w32", vec![Val::I32(2), Val::I32(0)]),
        call("w32", vec![Val::I32(65536), Val::I32(0)]),
        call("w64", vec![Val::I32(65532), Val::I64(0)]),
    ];
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.push("faulty");
    let mut d = differ(&names);
    for (mem, results) in [("1 1 shared", true), ("1 1", false)] {
        let wasm = module(mem);
        let plan = CallPlan {
            calls: calls.clone(),
            ..CallPlan::default()
        };
        let started = Instant::now();
        let r = d.run(&wasm, &plan);
        assert!(started.elapsed() < Duration::from_secs(20), "{mem}: waited");
        assert!(r.findings.is_empty(), "{mem}: {}", describe(&r));
        let reference = &r.reference;
        let returned = |i: usize| matches!(&reference.calls[i].result, CallResult::Returned(v) if !v.is_empty());
        assert_eq!(returned(0), results, "{mem}: {:?}", reference.calls);
        if results {
            let values: Vec<_> = [0, 1, 3, 4, 5]
                .iter()
                .map(|i| reference.calls[*i].result.clone())
                .collect();
            let want = [2, 1, 2, 2, 1].map(|v| CallResult::Returned(vec![Val::I32(v)]));
            assert_eq!(values, want, "{mem}");
        }
        let compared: Vec<&str> = r
            .comparisons
            .iter()
            .map(|(e, _)| e.engine.as_str())
            .collect();
        for name in wasmsieve::engines::runtimes_built() {
            let threads = wasmsieve::engines::info(name).unwrap().features.threads;
            assert_eq!(compared.contains(&name), threads, "{mem}: {name}");
        }
    }
}

/// The host defines exactly its table (names and types), and computes what
/// it says: wrapping, canonical NaN.
#[test]
fn host_defines_exactly_its_table() {
    use wasmsieve::wasm::host;
    let all = wat::parse_str(host::imports_wat(
        &wasmsieve::wasm::features::FeatureSet::GENERATED,
    ))
    .unwrap();
    assert_eq!(host::undefined_imports(&all), 0);
    let others = wat::parse_str(
        r#"(module (import "host" "i32" (func (param i64) (result i32)))
                   (import "host" "g" (global i32))
                   (import "global" "NaN" (global (mut f64)))
                   (import "host" "memory" (memory 1))
                   (import "env" "nop" (func)))"#,
    )
    .unwrap();
    assert_eq!(host::undefined_imports(&others), 5);
    assert_eq!(host::call(0, &[Val::I32(i32::MAX)]), vec![Val::I32(-1)]);
    let nan = host::call(2, &[Val::F64(0x7ff0_0000_0000_0001)]);
    assert_eq!(nan, vec![Val::F64(f64::NAN.to_bits())]);
}

/// A host function that returns a wrong value in the runtime is found.
#[test]
fn wrong_host_result_is_bug_p7() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        r#"(module (import "host" "i32" (func $h (param i32) (result i32)))
             (func (export "wsv_fault_host") (param i32) (result i32) local.get 0 call $h))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::WrongValue, "bug", "wrong-result", &["P7"]);
    assert_eq!(
        f.executions[1].calls[0].result,
        CallResult::Returned(vec![Val::I32(2)])
    );
}

// ---------------------------------------------------------------- trap in one engine only

#[test]
fn missing_div_trap_is_bug_trap_mismatch_in_process() {
    missing_div_trap_is_bug_trap_mismatch(differ_in_process());
}

/// Fails while the worker's crash handler replaces wasmtime's trap handler.
#[test]
fn missing_div_trap_is_bug_trap_mismatch_in_worker() {
    missing_div_trap_is_bug_trap_mismatch(differ(&["faulty"]));
}

fn missing_div_trap_is_bug_trap_mismatch(mut d: Differ) {
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_no_trap") (result i32) i32.const 1 i32.const 0 i32.div_s))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::TrapMismatch, "bug", "wrong-result", &["P7"]);
    assert_eq!(
        f.divergence.reference_trap,
        Some(Trap::IntegerDivisionByZero)
    );
    assert_eq!(f.divergence.subject_trap, None);
}

#[test]
fn missing_oob_load_trap_is_sandbox_escape_in_process() {
    missing_oob_load_trap_is_sandbox_escape(differ_in_process());
}

/// Fails while the worker's crash handler replaces wasmtime's trap handler.
#[test]
fn missing_oob_load_trap_is_sandbox_escape_in_worker() {
    missing_oob_load_trap_is_sandbox_escape(differ(&["faulty"]));
}

fn missing_oob_load_trap_is_sandbox_escape(mut d: Differ) {
    let r = run(
        &mut d,
        r#"(module (memory 1) (func (export "wsv_fault_no_trap") (result i32) i32.const 65535 i32.load))"#,
    );
    let f = single(&r);
    assert_verdict(
        f,
        Symptom::SandboxEscape,
        "security",
        "sandbox-escape",
        &["P3", "P11"],
    );
    assert!(f.verdict.clauses.contains(&"P3".to_string()));
    assert_eq!(f.divergence.reference_trap, Some(Trap::MemoryOutOfBounds));
}

#[test]
fn missing_call_indirect_trap_is_sandbox_escape_in_process() {
    missing_call_indirect_trap_is_sandbox_escape(differ_in_process());
}

/// Fails while the worker's crash handler replaces wasmtime's trap handler.
#[test]
fn missing_call_indirect_trap_is_sandbox_escape_in_worker() {
    missing_call_indirect_trap_is_sandbox_escape(differ(&["faulty"]));
}

fn missing_call_indirect_trap_is_sandbox_escape(mut d: Differ) {
    let null_slot = r#"(module (table 2 funcref) (type $t (func (result i32)))
        (func (export "wsv_fault_no_trap") (result i32) i32.const 1 call_indirect (type $t)))"#;
    let out_of_table = r#"(module (table 2 funcref) (type $t (func (result i32)))
        (func $f (result i32) i32.const 9) (elem (i32.const 0) $f)
        (func (export "wsv_fault_no_trap") (result i32) i32.const 5 call_indirect (type $t)))"#;
    for (wat, trap) in [
        (null_slot, Trap::IndirectCallToNull),
        (out_of_table, Trap::TableOutOfBounds),
    ] {
        let r = run(&mut d, wat);
        let f = single(&r);
        assert_verdict(
            f,
            Symptom::SandboxEscape,
            "security",
            "sandbox-escape",
            &["P3", "P11"],
        );
        assert_eq!(f.divergence.reference_trap, Some(trap));
    }
}

// ---------------------------------------------------------------- different trap kinds

#[test]
fn different_trap_kind_is_bug_in_process() {
    different_trap_kind_is_bug(differ_in_process());
}

/// Fails while the worker's crash handler replaces wasmtime's trap handler.
#[test]
fn different_trap_kind_is_bug_in_worker() {
    different_trap_kind_is_bug(differ(&["faulty"]));
}

fn different_trap_kind_is_bug(mut d: Differ) {
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_trap_kind") (result i32) i32.const 1 i32.const 0 i32.div_u))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::WrongTrapKind, "bug", "wrong-result", &["P7"]);
    assert_eq!(
        f.divergence.reference_trap,
        Some(Trap::IntegerDivisionByZero)
    );
    assert_eq!(f.divergence.subject_trap, Some(Trap::Unreachable));
}

// ---------------------------------------------------------------- state differs

#[test]
fn memory_differs_is_bug() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        r#"(module (memory (export "mem") 1)
             (func (export "wsv_fault_memory") i32.const 8 i32.const 99 i32.store))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::MemoryMismatch, "bug", "wrong-result", &["P7"]);
    assert!(
        f.divergence.detail.contains("altered"),
        "{}",
        f.divergence.detail
    );
}

#[test]
fn global_differs_is_bug() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        r#"(module (global (export "counter") (mut i32) (i32.const 1))
             (func (export "wsv_fault_global") i32.const 5 global.set 0))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::GlobalMismatch, "bug", "wrong-result", &["P7"]);
    assert!(
        f.divergence.detail.contains("counter"),
        "{}",
        f.divergence.detail
    );
    assert_eq!(
        f.executions[0].calls[0].globals,
        vec![("counter".to_string(), Some(Val::I32(5)))]
    );
    assert_eq!(
        f.executions[1].calls[0].globals,
        vec![("counter".to_string(), Some(Val::I32(5 ^ 0x40)))]
    );
}

// ---------------------------------------------------------------- validation differs

#[test]
fn rejecting_a_valid_module_is_validation_bug() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_reject") (result i32) i32.const 0))"#,
    );
    let f = single(&r);
    assert_verdict(
        f,
        Symptom::ValidationMismatch,
        "bug",
        "validation",
        &["P2", "P7"],
    );
    assert_eq!(f.divergence.call_index, None);
    assert!(
        matches!(f.executions[1].load, Some(Err(_))),
        "{:?}",
        f.executions[1].load
    );
}

// ---------------------------------------------------------------- crash, hang, runaway allocation

fn crash_signal(f: &Finding) -> Option<i32> {
    match &f.executions[1].end {
        End::Crashed(rec) => rec.signal,
        other => panic!("subject execution should end Crashed, ended {other:?}"),
    }
}

#[test]
fn segv_is_security_crash_and_differ_recovers() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_segv") (result i32) i32.const 1))"#,
    );
    let f = single(&r);
    assert_verdict(f, Symptom::Crash, "security", "crash", &["P2", "P11"]);
    assert_eq!(f.confirmed, Some(true));
    assert_eq!(crash_signal(f), Some(libc::SIGSEGV));
    assert_eq!(
        f.divergence.call_index,
        Some(0),
        "it crashed in the first (only) call"
    );
    assert!(f.signature.contains("SIGSEGV"), "{}", f.signature);

    // The dead worker is replaced: the next module is judged normally.
    let r = run(&mut d, CORRECT);
    assert!(r.findings.is_empty(), "after a crash: {}", describe(&r));
    assert_eq!(r.comparisons[0].1, Comparison::Agree);
    assert_eq!(r.comparisons[0].0.calls.len(), 4);
}

#[test]
fn abort_is_security_crash_sigabrt() {
    let mut d = differ(&["faulty"]);
    let r = run(&mut d, r#"(module (func (export "wsv_fault_abort")))"#);
    let f = single(&r);
    assert_verdict(f, Symptom::Crash, "security", "crash", &["P2", "P11"]);
    assert_eq!(f.confirmed, Some(true));
    assert_eq!(crash_signal(f), Some(libc::SIGABRT));

    let r = run(
        &mut d,
        r#"(module (func (export "fine") (result i32) i32.const 2))"#,
    );
    assert!(r.findings.is_empty(), "after an abort: {}", describe(&r));
}

#[test]
fn spin_is_security_hang() {
    let mut d = differ(&["faulty"]);
    d.deadline_floor = Duration::from_millis(500);
    let t = Instant::now();
    let r = run(&mut d, r#"(module (func (export "wsv_fault_spin")))"#);
    let f = single(&r);
    assert_verdict(f, Symptom::Hang, "security", "hang", &["P2", "P9", "P10"]);
    assert_eq!(f.confirmed, Some(true));
    assert!(
        matches!(f.executions[1].end, End::Hung { call_index: 0, .. }),
        "{:?}",
        f.executions[1].end
    );
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "hang detection took {:?}",
        t.elapsed()
    );

    let r = run(&mut d, CORRECT);
    assert!(r.findings.is_empty(), "after a hang: {}", describe(&r));
}

/// Campaigns re-run a crash or hang only until its signature reproduced once,
/// in any of their jobs; later hits are filed unconfirmed under it. Elsewhere
/// every one is re-run.
#[test]
fn campaigns_recheck_a_signature_once() {
    let hang = r#"(module (func (export "wsv_fault_spin")))"#;
    let crash = r#"(module (func (export "wsv_fault_segv")))"#;
    for recheck_once in [true, false] {
        let shared: wasmsieve::pipeline::Reproduced = Default::default();
        // Two differs, as two jobs of one campaign.
        let mut jobs = [differ(&["faulty"]), differ(&["faulty"])];
        for d in &mut jobs {
            d.deadline_floor = Duration::from_millis(300);
            d.hang_recheck = Duration::from_millis(600);
            d.reproduced = recheck_once.then(|| shared.clone());
        }
        for wat in [hang, crash] {
            let first = single(&run(&mut jobs[0], wat)).clone();
            let again = single(&run(&mut jobs[1], wat)).clone();
            assert_eq!(first.confirmed, Some(true), "{wat}");
            assert_eq!(again.signature, first.signature);
            assert_eq!(
                again.confirmed,
                if recheck_once { None } else { Some(true) },
                "recheck_once {recheck_once}: {wat}"
            );
        }
    }
}

#[test]
fn runaway_allocation_is_security_crash() {
    let limits = WorkerLimits {
        memory_bytes: 512 << 20,
        ..WorkerLimits::default()
    };
    let mut d = differ_with(&["faulty"], limits);
    d.deadline_floor = Duration::from_secs(5);
    let r = run(&mut d, r#"(module (func (export "wsv_fault_oom")))"#);
    let f = single(&r);
    assert_eq!(
        f.verdict.bucket.as_str(),
        "security",
        "{:?} {}",
        f.verdict,
        f.divergence.detail
    );
    assert_eq!(
        f.divergence.symptom,
        Symptom::Crash,
        "{}",
        f.divergence.detail
    );
    assert_eq!(f.verdict.kind, "crash");
    // Rust's allocation-failure path aborts.
    assert_eq!(
        crash_signal(f),
        Some(libc::SIGABRT),
        "{}",
        f.divergence.detail
    );
}

// ---------------------------------------------------------------- guest loop

/// The reference stops on fuel (100M units, a fraction of a second), WAMR has no
/// fuel and is killed at the hang deadline (50× the reference's time), so this
/// test takes that deadline: some seconds.
#[test]
fn guest_loop_in_wamr_is_not_an_issue() {
    let mut d = differ(&["wamr-classic"]);
    d.deadline_floor = Duration::from_millis(500);
    let r = run(&mut d, r#"(module (func (export "forever") (loop br 0)))"#);
    assert!(
        matches!(
            &r.reference.calls[0].result,
            CallResult::Trapped {
                trap: Trap::OutOfFuel,
                ..
            }
        ),
        "{:?}",
        r.reference.calls
    );
    assert_eq!(r.findings.len(), 1, "{}", describe(&r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::GuestLoop);
    assert_eq!(f.verdict.bucket.as_str(), "not-an-issue");
    assert_eq!(f.verdict.kind, "hang");
    assert_eq!(f.verdict.clauses, vec!["P10"]);
    assert_eq!(f.engine, "wamr-classic");
    assert!(
        matches!(f.executions[1].end, End::Hung { .. }),
        "{:?}",
        f.executions[1].end
    );
}

// ---------------------------------------------------------------- oracle by hand

fn exec_returning(engine: &str, result: CallResult) -> Execution {
    exec_of(engine, vec![result], End::Completed)
}

fn exec_of(engine: &str, results: Vec<CallResult>, end: End) -> Execution {
    Execution {
        engine: engine.into(),
        load: Some(Ok(())),
        instantiate: Some(CallResult::Returned(vec![])),
        calls: results
            .into_iter()
            .map(|result| CallRecord {
                export: "f".into(),
                args: vec![],
                result,
                globals: vec![],
                memories: vec![],
                trap_site: None,
            })
            .collect(),
        end,
        ..Default::default()
    }
}

/// A runtime under test that completed `calls`, then hung on the next one.
fn hung_after(calls: Vec<CallResult>) -> Execution {
    let call_index = calls.len();
    exec_of(
        "wamr-fast",
        calls,
        End::Hung {
            deadline_ms: 300,
            call_index,
        },
    )
}

#[test]
fn nan_payloads_are_not_flagged() {
    let cases = [
        (Val::F32(0x7fc0_0000), Val::F32(0x7fc0_0001)),
        (Val::F32(0x7fc0_0000), Val::F32(0xffc0_0000)),
        (Val::F32(0x7fa0_0000), Val::F32(0x7fc0_0000)),
        (
            Val::F64(0x7ff8_0000_0000_0000),
            Val::F64(0x7ff8_0000_0000_0001),
        ),
        (
            Val::F64(0x7ff8_0000_0000_0000),
            Val::F64(0xfff4_0000_0000_0000),
        ),
    ];
    for (a, b) in cases {
        let r = exec_returning("wasmtime", CallResult::Returned(vec![Val::I32(1), a]));
        let s = exec_returning("wamr-classic", CallResult::Returned(vec![Val::I32(1), b]));
        assert_eq!(oracle::compare(&r, &s), Comparison::Agree, "{a:?} vs {b:?}");
    }
    // Not blind to floats: a NaN against a number, or -0 against +0, is a divergence.
    for (a, b) in [
        (Val::F32(0x7fc0_0000), Val::F32(0x3f80_0000)),
        (Val::F64(0), Val::F64(1 << 63)),
    ] {
        let r = exec_returning("wasmtime", CallResult::Returned(vec![a]));
        let s = exec_returning("wamr-classic", CallResult::Returned(vec![b]));
        match oracle::compare(&r, &s) {
            Comparison::Diverge(d) => assert_eq!(d.symptom, Symptom::WrongValue),
            other => panic!("{a:?} vs {b:?}: {other:?}"),
        }
    }
}

#[test]
fn stack_overflow_on_one_side_poisons() {
    let overflow = CallResult::Trapped {
        trap: Trap::StackOverflow,
        message: "call stack exhausted".into(),
    };
    let returned = CallResult::Returned(vec![Val::I32(3)]);
    let r = exec_returning("wasmtime", overflow.clone());
    let s = exec_returning("wamr-classic", returned.clone());
    assert!(
        matches!(oracle::compare(&r, &s), Comparison::Poisoned(_)),
        "{:?}",
        oracle::compare(&r, &s)
    );
    assert!(
        matches!(oracle::compare(&s, &r), Comparison::Poisoned(_)),
        "{:?}",
        oracle::compare(&s, &r)
    );
    // Both overflowing is agreement; a real trap on one side is still a finding.
    assert_eq!(
        oracle::compare(&r, &exec_returning("x", overflow)),
        Comparison::Agree
    );
    let oob = CallResult::Trapped {
        trap: Trap::MemoryOutOfBounds,
        message: "oob".into(),
    };
    match oracle::compare(&exec_returning("wasmtime", oob), &s) {
        Comparison::Diverge(d) => assert_eq!(d.symptom, Symptom::SandboxEscape),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- poisoning and hangs

fn trapped(trap: Trap) -> CallResult {
    CallResult::Trapped {
        trap,
        message: String::new(),
    }
}

/// The reference overflows its stack on call 0 where the runtime traps
/// `unreachable`; the module's state (its termination counter included) differs
/// from then on, so the runtime's hang on call 2 is not compared.
#[test]
fn reference_stack_overflow_poisons_a_later_hang() {
    let r = exec_of(
        "wasmtime",
        vec![
            trapped(Trap::StackOverflow),
            CallResult::Returned(vec![Val::I32(1)]),
            trapped(Trap::IntegerOverflow),
        ],
        End::Completed,
    );
    let s = hung_after(vec![
        trapped(Trap::Unreachable),
        CallResult::Returned(vec![Val::I32(1)]),
    ]);
    match oracle::compare(&r, &s) {
        Comparison::Poisoned(why) => assert!(why.contains("StackOverflow"), "{why}"),
        other => panic!("a hang after a poisoned step was judged: {other:?}"),
    }
    // The same hang after calls that agree is a hang.
    let r2 = exec_of(
        "wasmtime",
        vec![
            CallResult::Returned(vec![Val::I32(1)]),
            trapped(Trap::IntegerOverflow),
        ],
        End::Completed,
    );
    let s2 = hung_after(vec![CallResult::Returned(vec![Val::I32(1)])]);
    match oracle::compare(&r2, &s2) {
        Comparison::Diverge(d) => assert_eq!(d.symptom, Symptom::Hang),
        other => panic!("{other:?}"),
    }
}

/// A hang is judged only when every earlier call agreed: an earlier wrong value
/// is the finding, not the hang that follows from it.
#[test]
fn hang_after_an_earlier_divergence_is_that_divergence() {
    let r = exec_of(
        "wasmtime",
        vec![
            CallResult::Returned(vec![Val::I32(1)]),
            CallResult::Returned(vec![]),
        ],
        End::Completed,
    );
    let s = hung_after(vec![CallResult::Returned(vec![Val::I32(2)])]);
    match oracle::compare(&r, &s) {
        Comparison::Diverge(d) => {
            assert_eq!(d.symptom, Symptom::WrongValue);
            assert_eq!(d.call_index, Some(0));
        }
        other => panic!("{other:?}"),
    }
}

/// The shared reproducer of the false security hang: no security finding in
/// any mode (it was `security / hang` in all six).
#[test]
fn false_hang_after_stack_overflow_files_no_security_finding() {
    let Some(path) = shared_repro("false-security-hang-after-stack-overflow.wasm") else {
        return;
    };
    let wasm = std::fs::read(path).unwrap();
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.push("wamr-aot-opts");
    let mut d = differ(&names);
    let r = d.run(&wasm, &CallPlan::fixed(&wasm, 3).unwrap());
    assert!(
        r.findings
            .iter()
            .all(|f| f.verdict.bucket.as_str() != "security"),
        "{}",
        describe(&r)
    );
}

/// A call that takes longer than the (short) first deadline but finishes
/// within the long re-check is slow, not hung: no finding.
#[test]
fn slow_call_that_finishes_on_recheck_is_no_hang() {
    let mut d = differ(&["faulty"]);
    d.deadline_floor = Duration::from_millis(300);
    let r = run(&mut d, r#"(module (func (export "wsv_fault_slow")))"#);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert!(
        matches!(r.comparisons[0].1, Comparison::Agree),
        "{}",
        describe(&r)
    );
}

/// Modules with imports the host does not define (another module, a global,
/// a host function of another type): the reference cannot instantiate them
/// while WAMR instantiates with the imports unresolved. Not comparable, never
/// a finding from the mismatch itself, in any mode.
#[test]
fn module_with_undefined_imports_is_not_comparable() {
    let mut names: Vec<&str> = wasmsieve::engines::runtimes_built();
    names.push("faulty");
    let mut d = differ(&names);
    for wat in [
        r#"(module
            (import "env" "f" (func $f (result i32)))
            (import "env" "m" (memory 1))
            (func (export "g") (result i32) (call $f)))"#,
        r#"(module
            (import "host" "g" (global $g i32))
            (func (export "g") (result i32) global.get $g))"#,
        r#"(module
            (import "host" "i32" (func $f (param i64) (result i32)))
            (func (export "g") (result i32) i64.const 1 call $f))"#,
    ] {
        let wasm = wat::parse_str(wat).unwrap();
        let plan = CallPlan::fixed(&wasm, 1).unwrap_or_default();
        let r = d.run(&wasm, &plan);
        assert!(r.findings.is_empty(), "{}", describe(&r));
        for (exec, cmp) in &r.comparisons {
            match cmp {
                Comparison::Poisoned(why) => {
                    assert!(why.contains("import"), "{}: {why}", exec.engine)
                }
                other => panic!("{}: {other:?}", exec.engine),
            }
        }
    }
}

/// Two aftermaths of one cause (the runtime swallows a divide trap and
/// returns; or reports it as another trap) give one root-cause signature,
/// named by the reference's trap and the instruction that should have raised it.
#[test]
fn aftermaths_of_one_missed_trap_share_a_signature() {
    let mut d = differ_in_process();
    let swallowed = run(
        &mut d,
        r#"(module (func (export "wsv_fault_no_trap") (result i32) i32.const 1 i32.const 0 i32.div_u))"#,
    );
    let other_trap = run(
        &mut d,
        r#"(module (func (export "wsv_fault_trap_kind") (result i32) i32.const 1 i32.const 0 i32.div_u))"#,
    );
    let (a, b) = (single(&swallowed), single(&other_trap));
    assert_eq!(a.divergence.symptom, Symptom::TrapMismatch);
    assert_eq!(b.divergence.symptom, Symptom::WrongTrapKind);
    assert_eq!(a.signature, b.signature);
    assert_eq!(
        a.signature,
        "faulty|MissedTrap|IntegerDivisionByZero@I32DivU"
    );
    assert_eq!(a.id, b.id);
}

/// A finding that matches a known-issues row names it; one that does not, not.
#[test]
fn known_issue_rows_match_by_engine_trap_and_site() {
    let text = r#"
version = 1
[[issue]]
id = "faulty-div"
link = "https://example.org/1"
title = "faulty swallows divide traps"
note = "test row"
[issue.match]
engines = ["faul*"]
symptoms = ["trap-mismatch"]
reference_trap = "IntegerDivisionByZero"
instructions = ["I32Div"]
"#;
    let mut d = differ_in_process();
    d.policy.known = wasmsieve::judge::KnownIssues::parse(text).unwrap();
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_no_trap") (result i32) i32.const 1 i32.const 0 i32.div_u))"#,
    );
    assert_eq!(
        single(&r).known.as_ref().map(|k| k.id.as_str()),
        Some("faulty-div")
    );
    // Another instruction at the trap site: not this issue.
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_fault_no_trap") (result i64) i64.const 1 i64.const 0 i64.rem_u))"#,
    );
    assert!(single(&r).known.is_none());
}

/// The screen (wasmi) judges agreeing cases alone; a runtime that disagrees
/// with it brings in the reference (wasmtime), whose run the finding is judged
/// against, with wasmi's kept as the second opinion. With no sampled share,
/// an agreeing case never runs the reference.
#[test]
fn screen_alone_on_agreement_reference_on_disagreement() {
    use wasmsieve::pipeline::Referenced;
    let mut d = differ_in_process();
    d.reference_share = 0.0;
    let agree = run(
        &mut d,
        r#"(module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))"#,
    );
    assert_eq!(agree.referenced, None, "{}", describe(&agree));
    assert_eq!(agree.reference.engine, "wasmi");
    assert!(agree.findings.is_empty(), "{}", describe(&agree));
    assert!(agree.times.contains_key("screen (wasmi)"));
    assert!(!agree.times.contains_key("reference (wasmtime)"));

    let wrong = run(
        &mut d,
        r#"(module (func (export "wsv_fault_value") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"#,
    );
    assert_eq!(
        wrong.referenced,
        Some(Referenced::Disagreement),
        "{}",
        describe(&wrong)
    );
    assert_eq!(wrong.reference.engine, "wasmtime");
    let f = wrong
        .findings
        .first()
        .unwrap_or_else(|| panic!("{}", describe(&wrong)));
    let engines: Vec<&str> = f.executions.iter().map(|e| e.engine.as_str()).collect();
    assert_eq!(engines, ["wasmtime", "faulty", "wasmi"], "{f:?}");
    assert_eq!(
        f.divergence.symptom,
        Symptom::WrongValue,
        "{}",
        describe(&wrong)
    );

    // Every case in the share: the reference runs on agreement too.
    d.reference_share = 1.0;
    let sampled = run(
        &mut d,
        r#"(module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))"#,
    );
    assert_eq!(
        sampled.referenced,
        Some(Referenced::Sampled),
        "{}",
        describe(&sampled)
    );
    assert_eq!(sampled.reference.engine, "wasmtime");
    assert!(sampled.findings.is_empty(), "{}", describe(&sampled));
}

const SIMD_LANE: &str = r#"(module (func (export "wsv_fault_value") (result i32)
    (i32x4.extract_lane 2 (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i32x4 10 20 30 40)))))"#;
const MEMORY64: &str = r#"(module (memory (export "m") i64 1 1)
    (func (export "wsv_fault_memory") (param i64) (i64.store offset=8 (local.get 0) (i64.const 42))))"#;
const ATOMIC: &str = r#"(module (memory (export "m") 1 1 shared)
    (func (export "wsv_fault_value") (result i32)
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))
      (i32.atomic.load (i32.const 0))))"#;

/// Each optional feature is compared: a deliberately wrong SIMD lane, memory64
/// store and atomic result of the faulty engine are found, judged against
/// wasmtime. Threads modules skip the screen (wasmi has no threads).
#[test]
fn simd_memory64_and_atomics_are_compared() {
    use wasmsieve::pipeline::Referenced;
    let mut d = differ_in_process();
    d.reference_share = 0.0;
    for (wat, feature, referenced) in [
        (SIMD_LANE, "simd", Referenced::Disagreement),
        (MEMORY64, "memory64", Referenced::Disagreement),
        (ATOMIC, "threads", Referenced::Unscreened),
    ] {
        let r = run(&mut d, wat);
        assert_eq!(r.features.optional_names(), [feature], "{}", describe(&r));
        assert_eq!(
            r.referenced,
            Some(referenced),
            "{feature}: {}",
            describe(&r)
        );
        assert!(r.skipped.is_empty());
        let f = r
            .findings
            .first()
            .unwrap_or_else(|| panic!("{feature}: {}", describe(&r)));
        assert_eq!(f.executions[0].engine, "wasmtime", "{feature}");
    }
}

/// Real WAMR: each feature is run in the modes built with it (and agrees on a
/// correct module), and a mode built without it is not given the module.
#[test]
fn features_go_to_the_modes_built_with_them() {
    use wasmsieve::engines::wamr;
    let correct_simd = SIMD_LANE.replace("wsv_fault_value", "lane");
    let correct_m64 = MEMORY64.replace("wsv_fault_memory", "store");
    let correct_atomic = ATOMIC.replace("wsv_fault_value", "add");
    let mut names = vec![];
    for m in wamr::Mode::built() {
        names.push(m.engine_name().to_string());
    }
    let mut d = differ(&names.iter().map(String::as_str).collect::<Vec<_>>());
    for (wat, feature) in [
        (&correct_simd, "simd"),
        (&correct_m64, "memory64"),
        (&correct_atomic, "threads"),
    ] {
        let r = run(&mut d, wat);
        assert!(r.findings.is_empty(), "{feature}: {}", describe(&r));
        for name in &names {
            let supports = wasmsieve::engines::info(name)
                .unwrap()
                .features
                .optional_names()
                .contains(&feature);
            let ran = r
                .comparisons
                .iter()
                .any(|(e, c)| &e.engine == name && *c == Comparison::Agree);
            assert_eq!(ran, supports, "{feature} in {name}: {}", describe(&r));
            assert_eq!(
                r.skipped.iter().any(|s| s == name),
                !supports,
                "{feature} in {name}"
            );
        }
    }
}

/// A false security alarm met while adding SIMD: the AoT build ran SIMD C code
/// with the plain invokeNative, and every trap in a function returning a
/// float crashed the runtime. A trap there is a trap.
#[test]
fn aot_trap_in_a_float_function_is_a_trap() {
    let mut d = differ(&[wasmsieve::engines::wamr::AOT_ENGINE]);
    let r = run(
        &mut d,
        r#"(module (func (export "f") (result f64) unreachable) (func (export "g") (param f32) (result f32) unreachable))"#,
    );
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert!(
        matches!(r.comparisons[0].1, Comparison::Agree),
        "{}",
        describe(&r)
    );
}

/// False bugs met while adding threads: both engines trap on an unaligned
/// atomic access, in their own words; and an access both out of bounds and
/// misaligned may raise either trap (wasmtime#3144). Agreement both times.
#[test]
fn unaligned_atomics_trap_alike() {
    let names: Vec<String> = wasmsieve::engines::wamr::Mode::built()
        .iter()
        .map(|m| m.engine_name().to_string())
        .collect();
    let mut d = differ(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let r = run(
        &mut d,
        r#"(module (memory 1 1 shared)
             (func (export "f") (param i32) (result i32) (i32.atomic.load (i32.add (local.get 0) (i32.const 2))))
             (func (export "g") (result i32) (i32.atomic.load (i32.const 65535))))"#,
    );
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert!(
        matches!(
            &r.reference.calls[0].result,
            CallResult::Trapped {
                trap: Trap::UnalignedAtomic,
                ..
            }
        ),
        "{}",
        describe(&r)
    );
}

/// One cause met first in a module that needs a tier-B feature (a bug by P8)
/// and then in a tier-A module goes up to security, with the tier-A module
/// kept as its reproducer; a later, less severe hit is only counted.
#[test]
fn a_later_hit_in_a_more_severe_bucket_promotes_the_finding() {
    let mut d = differ(&["faulty"]);
    let tier_b = run(
        &mut d,
        r#"(module (func $g) (func (export "wsv_fault_segv") return_call $g))"#,
    );
    let tier_a = run(&mut d, r#"(module (func (export "wsv_fault_segv")))"#);
    let (b, a) = (single(&tier_b), single(&tier_a));
    assert_eq!(b.signature, a.signature);
    assert_eq!(b.verdict.bucket.as_str(), "bug", "{:?}", b.verdict);
    assert_eq!(a.verdict.bucket.as_str(), "security", "{:?}", a.verdict);
    let mut s = wasmsieve::store::Summary::new(&["faulty".to_string()], 0);
    assert_eq!(s.record_finding(b, 1.0), Filed::Folder);
    assert_eq!(
        s.record_finding(a, 2.0),
        Filed::Folder,
        "the security hit is kept whole"
    );
    assert_eq!(
        s.record_finding(b, 3.0),
        Filed::Counted,
        "a less severe hit is only counted"
    );
    assert_eq!(s.unique.len(), 1);
    let u = &s.unique[0];
    assert_eq!((u.bucket.as_str(), u.hits), ("security", 3));
    assert_eq!(u.path, format!("findings/security/{}", a.id));
    assert_eq!(u.seen.len(), 1, "one mode, one context: {:?}", u.seen);
    assert_eq!(u.seen[0].hits, 3);
}

/// The fast interpreter's SIMD (SIMDe 0.8.2 under WAMR's own code) on edge
/// operands, each result stored to memory (compared after every call): signed
/// zeros and NaN in min/max and rounding, saturating narrows and conversions,
/// INT_MIN lanes, out-of-range shuffle indices, and loads at the end of
/// memory. Debian's SIMDe 0.7.4 gets `f32x4.min(-0, +0)` wrong: this module
/// tells a build with it apart.
#[test]
fn fast_interpreter_simd_agrees_on_edge_operands() {
    use wasmsieve::engines::wamr;
    let names: Vec<&str> = wamr::Mode::built()
        .iter()
        .map(|m| m.engine_name())
        .filter(|n| n.starts_with("wamr-fast"))
        .collect();
    let simd = |n: &&str| {
        wasmsieve::engines::info(n)
            .unwrap()
            .features
            .optional_names()
            .contains(&"simd")
    };
    if !present(
        !names.is_empty() && names.iter().all(simd),
        "the fast interpreter's SIMD (SIMDe 0.8.2: scripts/setup.sh)",
    ) {
        return;
    }
    let ops = [
        "(f32x4.min (v128.const f32x4 -0 0 nan 1) (v128.const f32x4 0 -0 1 nan))",
        "(f32x4.max (v128.const f32x4 -0 0 -inf inf) (v128.const f32x4 0 -0 nan -inf))",
        "(f64x2.min (v128.const f64x2 -0 nan) (v128.const f64x2 0 1))",
        "(f32x4.pmin (v128.const f32x4 -0 0 nan 1) (v128.const f32x4 0 -0 1 nan))",
        "(f32x4.nearest (v128.const f32x4 -0.5 0.5 2.5 -2.5))",
        "(f64x2.trunc (v128.const f64x2 -0.7 nan))",
        "(i32x4.trunc_sat_f32x4_s (v128.const f32x4 nan 3e10 -3e10 -0.9))",
        "(i32x4.trunc_sat_f64x2_u_zero (v128.const f64x2 -1 5e9))",
        "(i8x16.narrow_i16x8_s (v128.const i16x8 -32768 32767 128 -129 0 1 -1 255) (v128.const i16x8 0 0 0 0 0 0 0 0))",
        "(i16x8.q15mulr_sat_s (v128.const i16x8 -32768 -32768 32767 1 0 0 0 0) (v128.const i16x8 -32768 32767 32767 1 0 0 0 0))",
        "(i64x2.abs (v128.const i64x2 -9223372036854775808 -1))",
        "(i8x16.swizzle (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15) (v128.const i8x16 15 16 255 128 0 1 2 3 4 5 6 7 8 9 10 11))",
        "(i8x16.shuffle 31 0 16 15 1 2 3 4 5 6 7 8 9 10 11 12 (v128.const i64x2 1 2) (v128.const i64x2 3 4))",
        "(i32x4.dot_i16x8_s (v128.const i16x8 -32768 -32768 1 2 3 4 5 6) (v128.const i16x8 -32768 -32768 7 8 9 10 11 12))",
        "(i8x16.popcnt (v128.const i64x2 -1 0x0102040810204080))",
        "(i32x4.shl (v128.const i32x4 1 2 3 4) (i32.const 33))",
        "(i64x2.shr_s (v128.const i64x2 -9223372036854775808 1) (i32.const 127))",
        "(f32x4.demote_f64x2_zero (v128.const f64x2 1e300 -1e-300))",
        "(f64x2.convert_low_i32x4_u (v128.const i32x4 -1 -2147483648 0 0))",
    ];
    let mut wat = String::from("(module (memory (export \"m\") 1 1)\n");
    for (i, op) in ops.iter().enumerate() {
        wat.push_str(&format!(
            "  (func (export \"op{i}\") (v128.store (i32.const {}) {op}))\n",
            16 * i
        ));
    }
    // At the end of memory: the last whole vector, then one byte past it.
    wat.push_str(
        r#"  (func (export "load_end") (param i32) (v128.store (i32.const 1024) (v128.load (local.get 0))))
  (func (export "load64_zero_end") (param i32) (v128.store (i32.const 1040) (v128.load64_zero offset=65528 (local.get 0))))
  (func (export "lane_store_end") (param i32) (v128.store32_lane offset=65532 3 (local.get 0) (v128.const i32x4 1 2 3 4))))"#,
    );
    let wasm = wat::parse_str(&wat).expect("test WAT parses");
    let mut plan = wasmsieve::generate::plan::CallPlan::fixed(&wasm, 1).expect("plan");
    // Exactly at the end, then one byte further.
    let at = |c: &wasmsieve::generate::plan::PlannedCall| match c.export.as_str() {
        "load_end" => Some(65536 - 16),
        e if e.ends_with("_end") => Some(0),
        _ => None,
    };
    let mut beyond = vec![];
    for c in &mut plan.calls {
        if let Some(a) = at(c) {
            c.args = vec![wasmsieve::wasm::Val::I32(a)];
            let mut past = c.clone();
            past.args = vec![wasmsieve::wasm::Val::I32(a + 1)];
            beyond.push(past);
        }
    }
    plan.calls.extend(beyond);
    let mut d = differ(&names);
    let r = d.run(&wasm, &plan);
    assert!(r.findings.is_empty(), "{}", describe(&r));
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    for name in &names {
        assert!(
            r.comparisons
                .iter()
                .any(|(e, c)| &e.engine == name && *c == Comparison::Agree),
            "{name}: {}",
            describe(&r)
        );
    }
    // The loads one byte further trapped, in the reference too.
    let traps = r
        .reference
        .calls
        .iter()
        .filter(|c| matches!(c.result, CallResult::Trapped { .. }))
        .count();
    assert_eq!(traps, 3, "{}", describe(&r));
}
