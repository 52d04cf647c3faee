//! Every row of policy/wamr.toml, judged through `Policy::judge`, plus the tier
//! rule (P8), feature detection, and table checks in `Policy::parse`.

use std::collections::BTreeSet;
use wasmsieve::exec::Provenance;
use wasmsieve::judge::policy::{Observation, Policy, DEFAULT_POLICY};
use wasmsieve::wasm::features;

use Provenance::*;

struct Row {
    provenance: Provenance,
    symptom: &'static str,
    rule: &'static str,
    bucket: &'static str,
    kind: &'static str,
    clauses: &'static [&'static str],
}

const fn row(
    provenance: Provenance,
    symptom: &'static str,
    rule: &'static str,
    bucket: &'static str,
    kind: &'static str,
    clauses: &'static [&'static str],
) -> Row {
    Row {
        provenance,
        symptom,
        rule,
        bucket,
        kind,
        clauses,
    }
}

/// Observation → expected verdict, row by row of the shipped table.
const ROWS: &[Row] = &[
    // guest-loop: any provenance, before every provenance-specific row.
    row(
        Wasm,
        "guest-loop",
        "guest-loop",
        "not-an-issue",
        "hang",
        &["P10"],
    ),
    row(
        AotEmitted,
        "guest-loop",
        "guest-loop",
        "not-an-issue",
        "hang",
        &["P10"],
    ),
    row(
        AotManipulated,
        "guest-loop",
        "guest-loop",
        "not-an-issue",
        "hang",
        &["P10"],
    ),
    row(
        Misuse,
        "guest-loop",
        "guest-loop",
        "not-an-issue",
        "hang",
        &["P10"],
    ),
    // misuse: any symptom, kind from the symptom.
    row(
        Misuse,
        "crash",
        "misuse",
        "not-an-issue",
        "crash",
        &["P1", "P6"],
    ),
    row(
        Misuse,
        "sandbox-escape",
        "misuse",
        "not-an-issue",
        "sandbox-escape",
        &["P1", "P6"],
    ),
    row(
        Misuse,
        "wrong-result",
        "misuse",
        "not-an-issue",
        "wrong-result",
        &["P1", "P6"],
    ),
    row(
        Misuse,
        "hang",
        "misuse",
        "not-an-issue",
        "hang",
        &["P1", "P6"],
    ),
    row(
        Misuse,
        "reference-suspect",
        "misuse",
        "not-an-issue",
        "wrong-result",
        &["P1", "P6"],
    ),
    // reference-suspect: any provenance (but misuse, which comes first).
    row(
        Wasm,
        "reference-suspect",
        "reference-suspect",
        "needs-review",
        "wrong-result",
        &["P7"],
    ),
    row(
        AotEmitted,
        "reference-suspect",
        "reference-suspect",
        "needs-review",
        "wrong-result",
        &["P7"],
    ),
    row(
        AotUnknown,
        "reference-suspect",
        "reference-suspect",
        "needs-review",
        "wrong-result",
        &["P7"],
    ),
    // .wasm
    row(
        Wasm,
        "crash",
        "wasm-crash",
        "security",
        "crash",
        &["P2", "P11"],
    ),
    row(
        Wasm,
        "hang",
        "wasm-hang",
        "security",
        "hang",
        &["P2", "P9", "P10"],
    ),
    row(
        Wasm,
        "sandbox-escape",
        "wasm-sandbox",
        "security",
        "sandbox-escape",
        &["P3", "P11"],
    ),
    row(
        Wasm,
        "wasi-escape",
        "wasm-wasi-escape",
        "security",
        "sandbox-escape",
        &["P3", "P11"],
    ),
    // A wrong errno is a wrong result whichever mode's WASI layer gave it.
    row(
        Wasm,
        "wasi-errno",
        "wasi-errno",
        "bug",
        "wrong-result",
        &["P7"],
    ),
    row(
        AotEmitted,
        "wasi-errno",
        "wasi-errno",
        "bug",
        "wrong-result",
        &["P7"],
    ),
    row(
        AotEmitted,
        "wasi-escape",
        "aot-emitted-wasi-escape",
        "security",
        "sandbox-escape",
        &["P5", "P3", "P11"],
    ),
    row(
        Wasm,
        "wrong-result",
        "wasm-wrong-result",
        "bug",
        "wrong-result",
        &["P7"],
    ),
    row(
        Wasm,
        "validation",
        "wasm-validation",
        "bug",
        "validation",
        &["P2", "P7"],
    ),
    row(
        Wasm,
        "unrecoverable",
        "wasm-unrecoverable",
        "security",
        "crash",
        &["P9", "P11"],
    ),
    row(
        Misuse,
        "unrecoverable",
        "misuse",
        "not-an-issue",
        "crash",
        &["P1", "P6"],
    ),
    row(
        AotManipulated,
        "unrecoverable",
        "aot-manipulated",
        "bug",
        "crash",
        &["P4"],
    ),
    // toolchain-emitted AoT
    row(
        AotEmitted,
        "unrecoverable",
        "aot-emitted-unrecoverable",
        "security",
        "crash",
        &["P5", "P9"],
    ),
    row(
        AotEmitted,
        "crash",
        "aot-emitted-crash",
        "security",
        "crash",
        &["P5"],
    ),
    row(
        AotEmitted,
        "hang",
        "aot-emitted-hang",
        "security",
        "hang",
        &["P5", "P9"],
    ),
    row(
        AotEmitted,
        "sandbox-escape",
        "aot-emitted-sandbox",
        "security",
        "sandbox-escape",
        &["P5", "P3"],
    ),
    row(
        AotEmitted,
        "wrong-result",
        "aot-emitted-miscompile",
        "bug",
        "miscompile",
        &["P5", "P7"],
    ),
    row(
        AotEmitted,
        "validation",
        "aot-emitted-validation",
        "bug",
        "validation",
        &["P2", "P7"],
    ),
    // the AoT compiler itself
    row(
        AotCompiler,
        "crash",
        "aot-compiler",
        "needs-review",
        "crash",
        &["P2", "P5"],
    ),
    row(
        AotCompiler,
        "hang",
        "aot-compiler",
        "needs-review",
        "hang",
        &["P2", "P5"],
    ),
    row(
        AotCompiler,
        "validation",
        // The toolchain rejecting a valid module is a validation bug, like the
        // interpreters' identical rejection (its front end is WAMR's loader).
        "aot-compiler-validation",
        "bug",
        "validation",
        &["P2", "P7"],
    ),
    row(
        AotCompiler,
        "wrong-result",
        "aot-compiler",
        "needs-review",
        "wrong-result",
        &["P2", "P5"],
    ),
    // trusted AoT: P4
    row(
        AotManipulated,
        "crash",
        "aot-manipulated",
        "bug",
        "crash",
        &["P4"],
    ),
    row(
        AotManipulated,
        "sandbox-escape",
        "aot-manipulated",
        "bug",
        "sandbox-escape",
        &["P4"],
    ),
    row(
        AotManipulated,
        "hang",
        "aot-manipulated",
        "bug",
        "hang",
        &["P4"],
    ),
    row(
        AotManipulated,
        "reference-suspect",
        "reference-suspect",
        "needs-review",
        "wrong-result",
        &["P7"],
    ),
    row(
        AotUnknown,
        "crash",
        "aot-unknown",
        "bug",
        "crash",
        &["P4", "P5"],
    ),
    row(
        AotUnknown,
        "sandbox-escape",
        "aot-unknown",
        "bug",
        "sandbox-escape",
        &["P4", "P5"],
    ),
    row(
        AotUnknown,
        "wrong-result",
        "aot-unknown",
        "bug",
        "wrong-result",
        &["P4", "P5"],
    ),
    // nothing else matches
    row(
        Wasm,
        "something-new",
        "unmatched",
        "needs-review",
        "wrong-result",
        &[],
    ),
    row(
        AotEmitted,
        "something-new",
        "unmatched",
        "needs-review",
        "wrong-result",
        &[],
    ),
];

fn obs(provenance: Provenance, symptom: &str, features: &[&str]) -> Observation<'static> {
    Observation {
        provenance,
        symptom: Box::leak(symptom.to_string().into_boxed_str()),
        features: features.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn every_row_judges_as_documented() {
    let policy = Policy::builtin();
    let mut failures = vec![];
    for r in ROWS {
        let v = policy.judge(&obs(r.provenance, r.symptom, &[]));
        let got = (
            v.rule.as_str(),
            v.bucket.as_str(),
            v.kind.as_str(),
            v.clauses.clone(),
        );
        let want = (
            r.rule,
            r.bucket,
            r.kind,
            r.clauses.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        if got != want {
            failures.push(format!(
                "{:?}/{}: got {got:?}, want {want:?}",
                r.provenance, r.symptom
            ));
        }
        // Every cited clause is defined, and the reason is the row's.
        for c in &v.clauses {
            assert!(policy.clauses.contains_key(c), "{c} undefined");
        }
        let rule = policy
            .rules
            .iter()
            .find(|x| x.id == v.rule)
            .expect("verdict names a row");
        assert_eq!(v.reason, rule.reason);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_row_of_the_table_is_exercised() {
    let policy = Policy::builtin();
    let table: BTreeSet<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
    let tested: BTreeSet<&str> = ROWS.iter().map(|r| r.rule).collect();
    let untested: Vec<_> = table.difference(&tested).collect();
    let unknown: Vec<_> = tested.difference(&table).collect();
    assert!(
        untested.is_empty(),
        "policy rows without a test: {untested:?}"
    );
    assert!(
        unknown.is_empty(),
        "tests for rows the table lacks: {unknown:?}"
    );
    // Row ids are unique (a duplicate would shadow its twin silently).
    assert_eq!(table.len(), policy.rules.len());
}

#[test]
fn p8_tier_b_feature_downgrades_security_to_bug() {
    let policy = Policy::builtin();
    let v = policy.judge(&obs(Wasm, "crash", &["tail-call"]));
    assert_eq!(v.bucket.as_str(), "bug");
    assert_eq!(v.kind, "crash");
    assert_eq!(v.clauses, vec!["P2", "P11", "P8"]);
    assert!(v.reason.contains("tail-call (tier B)"), "{}", v.reason);
    assert_eq!(v.rule, "wasm-crash");

    // Below tier B is named as tier C.
    let v = policy.judge(&obs(AotEmitted, "sandbox-escape", &["gc", "simd"]));
    assert_eq!(v.bucket.as_str(), "bug");
    assert!(v.clauses.contains(&"P8".to_string()));
    assert!(v.reason.contains("gc (tier C)"), "{}", v.reason);
    assert!(
        !v.reason.contains("simd"),
        "a tier-A feature is not blamed: {}",
        v.reason
    );

    // Unrecoverable state is security only in tier A as well.
    let v = policy.judge(&obs(Wasm, "unrecoverable", &["tail-call"]));
    assert_eq!(
        (v.bucket.as_str(), v.clauses.clone()),
        ("bug", vec!["P9".to_string(), "P11".into(), "P8".into()])
    );

    // A non-tier-A engine mode counts like a feature.
    let v = policy.judge(&obs(Wasm, "hang", &["llvm-jit"]));
    assert_eq!(
        (v.bucket.as_str(), v.clauses.last().map(|s| s.as_str())),
        ("bug", Some("P8"))
    );
}

#[test]
fn p8_leaves_tier_a_and_non_security_rows_alone() {
    let policy = Policy::builtin();
    // Tier-A features: still security, no P8.
    let v = policy.judge(&obs(
        Wasm,
        "sandbox-escape",
        &["simd", "bulk-memory", "classic-interpreter"],
    ));
    assert_eq!(v.bucket.as_str(), "security");
    assert_eq!(v.clauses, vec!["P3", "P11"]);
    // Rows without tier_a_only are not touched.
    let v = policy.judge(&obs(Wasm, "wrong-result", &["tail-call"]));
    assert_eq!(
        (v.bucket.as_str(), v.clauses.clone()),
        ("bug", vec!["P7".to_string()])
    );
    let v = policy.judge(&obs(Wasm, "guest-loop", &["gc"]));
    assert_eq!(
        (v.bucket.as_str(), v.clauses.clone()),
        ("not-an-issue", vec!["P10".to_string()])
    );
    assert_eq!(policy.tier("tail-call"), 'B');
    assert_eq!(policy.tier("aot"), 'A');
    assert_eq!(policy.tier("exceptions"), 'C');
}

#[test]
fn needed_features_detects_tail_calls_only_when_used() {
    let policy = Policy::builtin();
    let tail = wat::parse_str(
        r#"(module
             (func $f (param i32) (result i32) local.get 0)
             (func (export "g") (result i32) i32.const 1 return_call $f))"#,
    )
    .unwrap();
    assert_eq!(
        features::needed_features(&tail, &policy.tiers.tier_a),
        vec!["tail-call"]
    );

    let mvp = wat::parse_str(
        r#"(module (memory 1) (table 1 funcref) (global (mut i32) (i32.const 0))
             (func (export "f") (param i32) (result i32)
               local.get 0 i32.load local.get 0 i32.add))"#,
    )
    .unwrap();
    assert_eq!(
        features::needed_features(&mvp, &policy.tiers.tier_a),
        Vec::<String>::new()
    );

    // Tier-A proposals (bulk memory, multi-value) need nothing outside tier A.
    let tier_a = wat::parse_str(
        r#"(module (memory 1)
             (func (export "f") (result i32 i32)
               i32.const 0 i32.const 0 i32.const 8 memory.fill i32.const 1 i32.const 2))"#,
    )
    .unwrap();
    assert_eq!(
        features::needed_features(&tier_a, &policy.tiers.tier_a),
        Vec::<String>::new()
    );

    // Without a tier list, the used proposal shows up.
    assert!(features::needed_features(&tier_a, &[]).contains(&"bulk-memory".to_string()));
    // An invalid module needs nothing.
    assert!(features::needed_features(b"\0asm\x01\0\0\0\x01", &policy.tiers.tier_a).is_empty());
}

#[test]
fn policy_with_unknown_clause_is_rejected() {
    let bad = DEFAULT_POLICY.replacen(r#"clauses = ["P10"]"#, r#"clauses = ["P10", "P99"]"#, 1);
    assert_ne!(bad, DEFAULT_POLICY, "the edit applied");
    let err = Policy::parse(&bad)
        .expect_err("unknown clause must be rejected")
        .to_string();
    assert!(err.contains("P99"), "{err}");
    assert!(err.contains("guest-loop"), "names the row: {err}");

    let bad_bucket =
        DEFAULT_POLICY.replacen(r#"bucket = "not-an-issue""#, r#"bucket = "urgent""#, 1);
    assert!(Policy::parse(&bad_bucket).is_err());

    assert!(Policy::parse(DEFAULT_POLICY).is_ok());
}

#[test]
fn table_without_a_matching_row_falls_back_to_review() {
    let minimal = r#"
version = 1
[clauses]
P7 = "wrong values"
P8 = "tiers"
[tiers]
tier_a = []
tier_b = []
[[rule]]
id = "only"
provenance = "wasm"
symptom = "wrong-result"
bucket = "bug"
clauses = ["P7"]
reason = "r"
"#;
    let p = Policy::parse(minimal).unwrap();
    assert_eq!(p.judge(&obs(Wasm, "wrong-result", &[])).rule, "only");
    let v = p.judge(&obs(AotEmitted, "crash", &[]));
    assert_eq!(
        (v.bucket.as_str(), v.kind.as_str(), v.rule.as_str()),
        ("needs-review", "crash", "none")
    );
    assert!(v.clauses.is_empty());
    // A table without P8 cannot be loaded.
    assert!(Policy::parse(&minimal.replace("P8 = \"tiers\"\n", "")).is_err());
}
