//! Campaign outputs end to end: the manipulated-AoT bucket (P4) with its three
//! files, SARIF, the HTML report, and the exit status CI jobs rely on.

mod common;
use common::*;
use std::process::Command;

#[test]
fn aot_mutate_files_bug_findings_with_all_three_files() {
    let out = temp_dir("aot-mutate");
    let sarif = out.join("findings.sarif");
    let status = Command::new(EXE)
        .args([
            "fuzz",
            "--aot-mutate",
            "--iterations",
            "12",
            "--jobs",
            "1",
            "--shrink-time",
            "0",
            "--seed",
            "3",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--sarif")
        .arg(&sarif)
        .status()
        .unwrap();
    // Manipulated .aot findings are bugs: the default --fail-on security stays green.
    assert_eq!(status.code(), Some(0));
    let summary = json(&out.join("summary.json"));
    let mutants = summary["aot_mutants"].as_u64().unwrap();
    let rejected = summary["aot_mutants_rejected"].as_u64().unwrap();
    let crashed = summary["aot_mutants_crashed"].as_u64().unwrap();
    // Each emitted .aot gets 8 mutants (an iteration whose fuzz input made no module has none).
    assert!(
        mutants > 0 && mutants.is_multiple_of(8) && mutants <= 12 * 8,
        "mutants per emitted .aot: {summary}"
    );
    assert!(rejected + crashed <= mutants);
    assert!(
        crashed > 0,
        "mutated .aot files do crash WAMR's trusting loader: {summary}"
    );

    let mut manipulated = 0;
    for entry in std::fs::read_dir(out.join("findings/bug")).expect("bug findings") {
        let dir = entry.unwrap().path();
        let f = json(&dir.join("finding.json"));
        if f["provenance"] == "aot-manipulated" {
            manipulated += 1;
            for file in ["input.wasm", "emitted.aot", "mutated.aot"] {
                assert!(dir.join(file).is_file(), "{} lacks {file}", dir.display());
            }
            assert!(f["verdict"]["clauses"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "P4"));
            assert_eq!(f["verdict"]["rule"], "aot-manipulated");
            assert_ne!(
                std::fs::read(dir.join("emitted.aot")).unwrap(),
                std::fs::read(dir.join("mutated.aot")).unwrap()
            );
        }
    }
    assert!(manipulated > 0);
    // Never security, whatever the mutant did.
    if let Ok(rd) = std::fs::read_dir(out.join("findings/security")) {
        for e in rd {
            let f = json(&e.unwrap().path().join("finding.json"));
            assert_ne!(
                f["provenance"], "aot-manipulated",
                "P4: manipulated .aot is never security"
            );
        }
    }

    let log = json(&sarif);
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), summary["unique"].as_array().unwrap().len());
    assert!(results
        .iter()
        .any(|r| r["level"] == "warning" && r["ruleId"] == "aot-manipulated"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Unique findings over time"));
    // Where the time went, per stage, in the summary and the report.
    let stages = summary["time_by_stage"].as_object().unwrap();
    for stage in [
        "generation",
        "screen (wasmi)",
        "wamr-aot",
        "judging",
        "recording",
    ] {
        assert!(stages[stage].as_f64().unwrap() > 0.0, "{stage}: {stages:?}");
    }
    assert!(html.contains("Where the time goes") && html.contains("screen (wasmi)"));
}

#[test]
fn fail_on_decides_the_exit_status() {
    // A seed the faulty engine answers wrongly: a bug at once, every run (the
    // manipulated-AoT campaign this test used before crashed only on some
    // runs: whether a mutated .aot faults depends on the memory layout).
    let seeds = temp_dir("fail-on-seeds");
    std::fs::write(
        seeds.join("value.wat"),
        r#"(module (func (export "wsv_fault_value") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#,
    )
    .unwrap();
    let out = temp_dir("fail-on");
    let fuzz = |iterations: &str, fail_on: &str| {
        Command::new(EXE)
            .args([
                "fuzz",
                "--engine",
                "faulty",
                "--jobs",
                "1",
                "--shrink-time",
                "0",
            ])
            .args([
                "--mutate-percent",
                "100",
                "--iterations",
                iterations,
                "--fail-on",
                fail_on,
            ])
            .arg("--corpus")
            .arg(&seeds)
            .arg("--out")
            .arg(&out)
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(fuzz("20", "bug"), Some(1));
    // Resumed with nothing new: nothing fails.
    assert_eq!(fuzz("0", "bug"), Some(0));
    let s = json(&out.join("summary.json"));
    assert!(
        s["unique"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["bucket"] == "bug"),
        "{s:#}"
    );
    // Security only: the bug does not fail a fresh campaign.
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(fuzz("20", "security"), Some(0));
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn campaign_outlives_crashing_hanging_and_allocating_workers() {
    // Seeds that make the faulty engine segfault, spin and allocate without
    // bound; the campaign mutates them (markers survive most mutations).
    let seeds = temp_dir("fault-seeds");
    for marker in ["wsv_fault_segv", "wsv_fault_spin", "wsv_fault_oom"] {
        std::fs::write(
            seeds.join(format!("{marker}.wat")),
            format!(r#"(module (func (export "{marker}") (result i32) i32.const 1) (func (export "ok") (result i32) i32.const 2))"#),
        )
        .unwrap();
    }
    let out = temp_dir("fault-campaign");
    let started = std::time::Instant::now();
    let status = Command::new(EXE)
        .args([
            "fuzz",
            "--engine",
            "faulty",
            "--mutate-percent",
            "100",
            "--time",
            "20",
            "--jobs",
            "1",
        ])
        .args(["--shrink-time", "0", "--corpus"])
        .arg(&seeds)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    // New security findings: the default --fail-on security fails the job...
    assert_eq!(status.code(), Some(1));
    // ...after running to its time limit, whatever the workers did.
    assert!(started.elapsed() >= std::time::Duration::from_secs(20));
    let summary = json(&out.join("summary.json"));
    assert!(
        summary["modules_generated"].as_u64().unwrap() > 3,
        "{summary}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(out.join("findings/security")).expect("security findings") {
        let dir = entry.unwrap().path();
        assert!(dir.join("input.wasm").is_file());
        let f = json(&dir.join("finding.json"));
        assert_eq!(f["confirmed"], true, "{}", dir.display());
        let end = &f["executions"][1]["end"];
        if let Some(c) = end.get("Crashed") {
            let what = if c["signal_name"] == "SIGSEGV" {
                assert!(
                    c["frames"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|fr| fr.as_str().unwrap().contains("FaultyInstance")),
                    "{c}"
                );
                "segv"
            } else {
                assert!(
                    c["sanitizer"]
                        .as_str()
                        .unwrap_or("")
                        .contains("out of memory"),
                    "{c}"
                );
                "oom"
            };
            seen.insert(what);
        } else {
            assert!(end.get("Hung").is_some(), "{end}");
            seen.insert("hang");
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec!["hang", "oom", "segv"]
    );
}

/// The sweep runs as a campaign of fixed size: every case once, then done.
#[test]
fn sweep_runs_each_case_once() {
    let out = temp_dir("sweep");
    let status = Command::new(EXE)
        .args([
            "fuzz",
            "--generator",
            "sweep",
            "--engine",
            "wamr-fast",
            "--iterations",
            "80",
            "--jobs",
            "2",
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["iterations"], 80, "{summary:#}");
    assert_eq!(summary["modules_generated"], 80, "{summary:#}");
    assert_eq!(summary["modules_mutated"], 0, "{summary:#}");
    assert_eq!(summary["modules_invalid"], 0, "{summary:#}");
    assert_eq!(summary["executions"]["wamr-fast"], 80, "{summary:#}");
    eprintln!("sweep findings: {}", summary["unique"]);
    let _ = std::fs::remove_dir_all(out);
}

/// Generated modules are valid, import only what the host defines, and their
/// plans call reference-typed exports too (wasm-smith's compact import
/// section, on by default, once made most of them invalid).
#[test]
fn generated_modules_are_valid_and_import_only_the_host() {
    use wasmsieve::generate::{generate, seed_bytes, GenConfig};
    use wasmsieve::wasm::{host, Val};
    let cfg = GenConfig::default();
    let (mut modules, mut importing, mut ref_calls) = (0, 0, 0);
    // Imports by kind: function, memory, shared memory, table, global.
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for seed in 0..300 {
        let Ok(case) = generate(&seed_bytes(seed, 8192), &cfg) else {
            continue;
        };
        modules += 1;
        wasmparser::Validator::new_with_features(GenConfig::wasm_features())
            .validate_all(&case.wasm)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(host::undefined_imports(&case.wasm), 0, "seed {seed}");
        let exports = wasmsieve::generate::plan::Exports::read(&case.wasm).unwrap();
        importing += usize::from(exports.has_imports);
        for i in host::imports(&case.wasm) {
            let kind = match i.definition {
                Some(host::Definition::Func(_)) => "func",
                Some(host::Definition::Memory(m)) if m.shared => "shared memory",
                Some(host::Definition::Memory(_)) => "memory",
                Some(host::Definition::Table(_)) => "table",
                Some(host::Definition::ConstF64(_)) => "global",
                None => unreachable!("checked above"),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        ref_calls += case
            .plan
            .calls
            .iter()
            .filter(|c| {
                c.args
                    .iter()
                    .any(|a| matches!(a, Val::FuncRef { .. } | Val::ExternRef(_)))
            })
            .count();
    }
    assert!(modules > 250, "{modules}");
    // Swarm: about half the modules import, the rest import nothing.
    assert!(
        importing > modules / 4 && importing < modules * 3 / 4,
        "{importing} of {modules} import"
    );
    // Every kind of definition the host has is imported by some module.
    for kind in ["func", "memory", "shared memory", "table", "global"] {
        assert!(kinds.get(kind).is_some_and(|n| *n > 3), "{kind}: {kinds:?}");
    }
    assert!(ref_calls > 0);
}

#[test]
fn the_in_flight_file_holds_exactly_the_last_case() {
    // Rewritten in place case after case, modules of every size: a longer
    // module before must leave no tail behind (the file would not validate).
    let out = temp_dir("inflight");
    let o = wasmsieve(&[
        "fuzz",
        "--engine",
        "wamr-classic",
        "--iterations",
        "40",
        "--jobs",
        "1",
        "--shrink-time",
        "0",
        "--seed",
        "11",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.code().is_some(), "{}", show(&o));
    let wasm = std::fs::read(out.join("inflight/job-0.wasm")).expect("in-flight file");
    assert!(wasm.len() > 8, "{} bytes", wasm.len());
    let features = wasmsieve::wasm::features::FeatureSet::GENERATED.wasmparser();
    wasmparser::Validator::new_with_features(features)
        .validate_all(&wasm)
        .expect("the in-flight file is one whole module");
}

#[test]
fn a_campaign_process_that_dies_is_a_harness_fault_and_the_campaign_goes_on() {
    // The failpoint aborts the campaign process at iteration 30, as a stack
    // overflow in code the campaign runs in process would.
    let out = temp_dir("harness-fault");
    let o = Command::new(EXE)
        .args([
            "fuzz",
            "--engine",
            "wamr-classic",
            "--iterations",
            "80",
            "--jobs",
            "1",
            "--shrink-time",
            "0",
            "--seed",
            "11",
            "--fail-on",
            "never",
            "--out",
            out.to_str().unwrap(),
        ])
        .env(wasmsieve::campaign::supervise::FAILPOINT, "30")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr.matches("the campaign process died").count(),
        1,
        "the case it died on is skipped when resumed: {stderr}"
    );
    let fault = out.join("harness-faults/0000");
    let killer = std::fs::read(fault.join("job-0.wasm")).expect("the case in flight is kept");
    assert!(wasmparser::Validator::new_with_features(
        wasmsieve::wasm::features::FeatureSet::GENERATED.wasmparser()
    )
    .validate_all(&killer)
    .is_ok());
    assert!(std::fs::read_to_string(fault.join("fault.txt"))
        .unwrap()
        .contains("SIGABRT"));
    // The campaign ran to its own end: every iteration, one fault counted,
    // and nothing filed for it.
    let s = json(&out.join("summary.json"));
    assert_eq!(s["iterations"], 80, "{s:#}");
    assert_eq!(s["harness_faults"], 1, "{s:#}");
    for u in s["unique"].as_array().unwrap() {
        let input =
            std::fs::read(out.join(u["path"].as_str().unwrap()).join("input.wasm")).unwrap();
        assert_ne!(input, killer, "a harness fault is never a WAMR finding");
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_module_nested_a_hundred_thousand_deep_is_no_harness_fault() {
    // Everything the campaign process does to a module (parsing, mutating,
    // the in-process screen, shrinking and printing min.wat) recurses on
    // nesting: its threads' stacks hold the deepest module the size limits
    // let through.
    let seeds = temp_dir("deep-seeds");
    let n = 100_000;
    std::fs::write(
        seeds.join("deep.wat"),
        format!(
            r#"(module (func (export "f") (result i32) {}{} i32.const 1))"#,
            "(block ".repeat(n),
            ")".repeat(n)
        ),
    )
    .unwrap();
    let out = temp_dir("deep");
    let o = Command::new(EXE)
        .args(["fuzz", "--engine", "wamr-classic", "--engine", "wamr-aot"])
        .args([
            "--mutate-percent",
            "100",
            "--iterations",
            "6",
            "--jobs",
            "2",
        ])
        .args(["--shrink-time", "3", "--fail-on", "never", "--corpus"])
        .arg(&seeds)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let s = json(&out.join("summary.json"));
    assert_eq!(s["harness_faults"], 0, "{}", show(&o));
    assert_eq!(s["iterations"], 6);
    let _ = std::fs::remove_dir_all(out);
}
