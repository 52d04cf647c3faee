//! Malformed modules end to end: the named mutations of `generate::malformed`
//! through the pipeline, with the deliberately faulty engine's loader faults
//! (in an isolation worker) as the runtime under test, and through a campaign.

mod common;
use arbitrary::Unstructured;
use common::*;
use wasmsieve::generate::malformed;
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::oracle::Symptom;
use wasmsieve::judge::policy::Policy;
use wasmsieve::pipeline::{subjects, CaseReport, Differ};

fn differ(engine: &str) -> Differ {
    worker_exe();
    let subjects = subjects(&[engine.to_string()], true, &WorkerLimits::default()).unwrap();
    Differ::new(subjects, Policy::builtin()).unwrap()
}

/// The module after one named mutation, with the valid module's plan.
fn mutant(wat: &str, mutation: &str) -> (Vec<u8>, CallPlan) {
    let wasm = wat::parse_str(wat).unwrap();
    let plan = CallPlan::fixed(&wasm, 1).unwrap();
    let mut u = Unstructured::new(&[0u8; 32]);
    let out = malformed::apply(mutation, &wasm, &mut u)
        .unwrap_or_else(|| panic!("{mutation} has no place in {wat}"));
    (out, plan)
}

fn describe(r: &CaseReport) -> String {
    let mut s = String::new();
    for (exec, cmp) in &r.comparisons {
        s += &format!(
            "{}: load {:?} end {:?}: {cmp:?}\n",
            exec.engine, exec.load, exec.end
        );
    }
    for f in &r.findings {
        s += &format!(
            "finding {} / {} ({}): {}\n",
            f.verdict.bucket, f.verdict.kind, f.signature, f.divergence.detail
        );
    }
    s
}

const INDIRECT: &str = r#"(module
  (type $t (func (result i32)))
  (table 1 funcref)
  (func $k (result i32) i32.const 7)
  (elem (i32.const 0) $k)
  (func (export "MARK") (result i32) (call_indirect (type $t) (i32.const 0))))"#;

#[test]
fn accepting_a_type_index_past_the_types_is_a_validation_bug_keyed_by_the_rule() {
    let mut d = differ("faulty");
    let (wasm, plan) = mutant(
        &INDIRECT.replace("MARK", "wsv_fault_lenient_type"),
        "type-index-past-end",
    );
    let r = d.run(&wasm, &plan);
    assert_eq!(r.findings.len(), 1, "{}", describe(&r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::ValidationMismatch);
    assert_eq!(
        (
            f.verdict.bucket.to_string().as_str(),
            f.verdict.kind.as_str()
        ),
        ("bug", "validation")
    );
    let rule = f.divergence.rule.clone().unwrap();
    assert!(
        rule.starts_with("accepts: ") && rule.contains("type"),
        "{rule}"
    );
    assert!(
        !rule.chars().any(|c| c.is_ascii_digit()),
        "numbers are blanked: {rule}"
    );

    // Another module breaking the same rule elsewhere is the same loader gap.
    let other = r#"(module
      (type (func (param i64)))
      (type $t (func (result i32)))
      (table 3 funcref)
      (memory 1)
      (func (export "wsv_fault_lenient_type") (result i32)
        (i32.add (i32.const 1) (call_indirect (type $t) (i32.const 2)))))"#;
    let (wasm2, plan2) = mutant(other, "type-index-past-end");
    let r2 = d.run(&wasm2, &plan2);
    assert_eq!(r2.findings.len(), 1, "{}", describe(&r2));
    assert_eq!(r2.findings[0].signature, f.signature);
}

#[test]
fn accepting_a_local_past_the_end_and_reading_it_is_security() {
    let mut d = differ("faulty");
    let (wasm, plan) = mutant(
        r#"(module (func (export "wsv_fault_lenient_local") (param i32) (result i32)
             (i32.add (local.get 0) (i32.const 1))))"#,
        "local-index-past-end",
    );
    let r = d.run(&wasm, &plan);
    assert_eq!(r.findings.len(), 1, "{}", describe(&r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::Crash, "{}", describe(&r));
    assert_eq!(f.verdict.bucket.to_string(), "security");
    assert!(
        f.verdict.clauses.iter().any(|c| c == "P2"),
        "{:?}",
        f.verdict.clauses
    );
    assert_eq!(f.confirmed, Some(true));
}

#[test]
fn a_loader_crash_on_a_section_size_one_too_large_is_security() {
    let mut d = differ("faulty");
    let (wasm, plan) = mutant(
        r#"(module (func (export "wsv_fault_loader_crash") (result i32) i32.const 1))"#,
        "section-size-long",
    );
    let r = d.run(&wasm, &plan);
    assert_eq!(r.findings.len(), 1, "{}", describe(&r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::Crash);
    assert_eq!(f.verdict.bucket.to_string(), "security");
    assert_eq!(f.verdict.kind, "crash");
    // Nothing ran: the crash was in the load step.
    assert!(f.executions[1].load.is_none(), "{:?}", f.executions[1].load);
}

/// A loader that rejects what the reference rejects is never a finding,
/// whichever mutation made the module, and a module a mutation left valid
/// runs as any valid module.
#[test]
fn correct_rejections_are_never_findings() {
    let mut d = differ("faulty");
    let base = r#"(module
      (import "host" "f" (func $imp (param i32) (result i32)))
      (type $t (func (param i32) (result i32)))
      (memory 1 2)
      (table $tab 2 10 funcref)
      (data (i32.const 0) "abc")
      (global $g (mut i32) (i32.const 7))
      (elem (i32.const 0) $f)
      (func (export "g") (result i32) (global.get $g))
      (func $f (export "f") (type $t)
        (elem.drop 0)
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))
        (call $imp
          (i32.add
            (table.size $tab)
            (i32.add
              (memory.size)
              (i32.load
                (block (result i32)
                  (br_if 0 (local.get 0) (local.get 0))
                  global.set $g
                  (call_indirect (type $t) (i32.const 0) (i32.const 0)))))))))"#;
    let mut tried = 0;
    for m in malformed::MUTATIONS {
        let wasm = wat::parse_str(base).unwrap();
        let plan = CallPlan::fixed(&wasm, 1).unwrap();
        let mut u = Unstructured::new(&[3u8; 32]);
        let Some(out) = malformed::apply(m.name, &wasm, &mut u) else {
            continue;
        };
        tried += 1;
        let r = d.run(&out, &plan);
        assert!(r.findings.is_empty(), "{}: {}", m.name, describe(&r));
    }
    assert!(tried >= 40, "only {tried} mutations had a place");
}

/// `--generator malformed` runs malformed cases only, counts them per
/// mutation in `summary.json`, and files nothing on a correct loader.
#[test]
fn a_malformed_campaign_counts_its_cases_per_mutation() {
    let out = temp_dir("malformed");
    let args = [
        "--generator",
        "malformed",
        "--engine",
        "faulty",
        "--iterations",
        "150",
        "--jobs",
        "1",
        "--seed",
        "3",
    ];
    let status = campaign(&args, &out);
    assert_eq!(status.code(), Some(0));
    let summary = json(&out.join("summary.json"));
    let by_mutation = summary["malformed"].as_object().expect("malformed counts");
    let cases: u64 = by_mutation
        .values()
        .map(|m| m["cases"].as_u64().unwrap())
        .sum();
    let invalid: u64 = by_mutation
        .values()
        .map(|m| m["invalid"].as_u64().unwrap())
        .sum();
    let generated = summary["modules_generated"].as_u64().unwrap();
    // Two edits count under both mutations.
    assert!(cases >= generated && generated > 100, "{summary:#}");
    assert!(
        invalid * 10 >= cases * 8,
        "most mutants are invalid: {summary:#}"
    );
    assert!(
        by_mutation.len() >= 20,
        "{} mutations seen",
        by_mutation.len()
    );
    for (name, m) in by_mutation {
        assert!(malformed::mutation(name).is_some(), "{name}");
        assert_eq!(
            m["family"].as_str(),
            malformed::mutation(name).map(|x| x.family.name())
        );
    }
    assert_eq!(
        summary["unique"].as_array().unwrap().len(),
        0,
        "{summary:#}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Malformed cases per mutation"));
    let _ = std::fs::remove_dir_all(out);
}

/// A false security finding met in the first malformed campaign on stock
/// WAMR: WAMR reads an element segment's flags 8 as 0 (`wasm_loader.c`
/// masks the flags to three bits) and so accepts the module; the crash that
/// follows is its known `return_call`-to-import crash, a tail-call (tier B)
/// bug. Because the module is invalid, its features were once read as none
/// (tier A), and the crash was filed as security.
#[test]
fn an_invalid_module_is_judged_by_the_features_it_uses() {
    let (wasm, plan) = mutant(
        r#"(module
          (import "host" "nop" (func $nop))
          (table 1 funcref)
          (elem (i32.const 0) func)
          (func (export "f") (return_call $nop)))"#,
        "elem-bad-flags",
    );
    for engine in ["wamr-classic", "wamr-fast"] {
        let mut d = differ(engine);
        let r = d.run(&wasm, &plan);
        assert!(
            r.findings
                .iter()
                .any(|f| f.divergence.symptom == Symptom::Crash),
            "the accepted module crashes {engine}: {}",
            describe(&r)
        );
        for f in &r.findings {
            assert_ne!(f.verdict.bucket.to_string(), "security", "{}", describe(&r));
            if f.divergence.symptom == Symptom::Crash {
                assert_eq!(f.features_outside_tier_a, ["tail-call"], "{}", describe(&r));
            }
        }
    }
}
