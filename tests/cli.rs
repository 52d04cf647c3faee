//! The command line, run as a user runs it: exit codes, messages, JSON, and
//! a short fuzz campaign that resumes.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

const AGREEING: &str = r#"(module
  (memory (export "mem") 1)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load))"#;

#[test]
fn run_agreeing_wat_exits_0() {
    let d = temp_dir("agree");
    let f = write(&d, "ok.wat", AGREEING.as_bytes());
    let o = wasmsieve(&["run", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("all engines agree"), "{}", show(&o));
    // Every built WAMR mode ran.
    assert!(out.contains("wamr-classic:"), "{}", show(&o));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn run_garbage_exits_2_not_a_module() {
    let d = temp_dir("garbage");
    let f = write(
        &d,
        "garbage.wasm",
        &[0xde, 0xad, 0xbe, 0xef, 0xff, 0x00, 0x80],
    );
    let o = wasmsieve(&["run", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not a Wasm module"),
        "{}",
        show(&o)
    );

    let f = write(
        &d,
        "text.wat",
        b"(module (func $f (result i32) i32.const)))",
    );
    let o = wasmsieve(&["run", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not a Wasm module"),
        "{}",
        show(&o)
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn run_missing_file_exits_2() {
    let missing = std::env::temp_dir().join("wasmsieve-cli-definitely-missing.wasm");
    let o = wasmsieve(&["run", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot read") && err.contains("definitely-missing"),
        "{}",
        show(&o)
    );
}

#[test]
fn unknown_engine_exits_2_naming_known_engines() {
    let d = temp_dir("engine");
    let f = write(&d, "ok.wat", AGREEING.as_bytes());
    let o = wasmsieve(&["run", "--engine", "nope", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nope"), "{}", show(&o));
    for known in [
        "wamr-classic",
        "wamr-fast",
        "wamr-aot",
        "wasmtime",
        "wasmi",
        "faulty",
    ] {
        assert!(err.contains(known), "does not name {known}: {}", show(&o));
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn run_faulty_value_exits_1_with_json_finding() {
    let d = temp_dir("faulty");
    let f = write(
        &d,
        "fault.wat",
        br#"(module (func (export "wsv_fault_value") (result i32) i32.const 41))"#,
    );
    let o = wasmsieve(&["run", "--engine", "faulty", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("verdict: bug"),
        "{}",
        show(&o)
    );

    let o = wasmsieve(&["run", "--engine", "faulty", "--json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
    assert_eq!(v["findings"][0]["verdict"]["bucket"], "bug", "{v:#}");
    assert_eq!(
        v["findings"][0]["verdict"]["clauses"],
        serde_json::json!(["P7"]),
        "{v:#}"
    );
    assert_eq!(v["findings"][0]["engine"], "faulty");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["outcomes"][0]["engine"], "wasmtime");
    let _ = std::fs::remove_dir_all(d);
}

fn summary(out: &Path) -> serde_json::Value {
    let bytes = std::fs::read(out.join("summary.json")).expect("summary.json written");
    serde_json::from_slice(&bytes).expect("summary.json parses")
}

#[test]
fn fuzz_writes_summary_and_resumes() {
    let out = temp_dir("fuzz");
    let args = [
        "fuzz",
        "--iterations",
        "30",
        "--jobs",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "1",
        "--engine",
        "wamr-classic",
    ];
    let o = wasmsieve(&args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let s = summary(&out);
    assert_eq!(s["iterations"], 30, "{s:#}");
    let generated = s["modules_generated"].as_u64().unwrap();
    assert!(generated > 0, "{s:#}");
    assert_eq!(
        generated + s["generation_failures"].as_u64().unwrap(),
        30,
        "{s:#}"
    );
    // The screen runs every case it can; the reference the others, and where
    // a runtime disagreed, and on the sampled share.
    let unscreened = s["reference_unscreened"].as_u64().unwrap();
    assert_eq!(
        s["executions"]["wasmi"].as_u64().unwrap_or(0) + unscreened,
        generated,
        "{s:#}"
    );
    let referenced = s["reference_on_disagreement"].as_u64().unwrap()
        + s["reference_sampled"].as_u64().unwrap()
        + unscreened;
    assert_eq!(
        s["executions"]["wasmtime"].as_u64().unwrap_or(0),
        referenced,
        "{s:#}"
    );
    assert!(referenced < generated, "{s:#}");
    // Every module ran in the runtime, but those needing a feature it lacks
    // (seeds from corpus/seeds may use SIMD).
    assert_eq!(
        s["executions"]["wamr-classic"].as_u64().unwrap()
            + s["skipped_by_engine"]["wamr-classic"].as_u64().unwrap_or(0),
        generated,
        "{s:#}"
    );
    assert_eq!(s["engines"], serde_json::json!(["wamr-classic"]));
    assert_eq!(s["seed"], 1);
    if !s["unique"].as_array().unwrap().is_empty() {
        eprintln!("note: the campaign found {}", s["unique"]);
    }

    // Same folder, same engines and seed: the campaign continues.
    let o = wasmsieve(&args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let s2 = summary(&out);
    assert_eq!(s2["iterations"], 60, "{s2:#}");
    assert!(
        s2["modules_generated"].as_u64().unwrap() > generated,
        "{s2:#}"
    );
    assert!(
        s2["executions"]["wasmi"].as_u64().unwrap() > generated,
        "{s2:#}"
    );
    assert!(s2["previous_seconds"].as_f64().unwrap() > 0.0, "{s2:#}");
    let _ = std::fs::remove_dir_all(out);
}

/// The WAMR modes built, the engine registry and `wasmsieve engines` agree.
#[test]
fn modes_built_registry_and_engines_command_agree() {
    use wasmsieve::engines::{self, wamr};
    let o = wasmsieve(&["engines"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let listed: std::collections::BTreeMap<String, bool> = out
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            (name, w.next() == Some("built"))
        })
        .collect();
    // Every registered engine is listed, with its real build state.
    for e in engines::all() {
        assert_eq!(
            listed.get(e.name),
            Some(&engines::is_built(e.name)),
            "{}",
            e.name
        );
    }
    assert_eq!(listed.len(), engines::all().count());
    // Every mode built into the binary is a registered engine, listed as
    // built, with its build flags shown.
    for mode in wamr::Mode::built() {
        assert_eq!(listed.get(mode.engine_name()), Some(&true), "{mode:?}");
        assert!(
            out.contains(&format!("{}: ", mode.engine_name())),
            "{mode:?}: {out}"
        );
    }
    let built: Vec<&str> = wamr::Mode::built()
        .into_iter()
        .map(|m| m.engine_name())
        .collect();
    assert_eq!(engines::runtimes_built(), built);
    // And every WAMR engine of the registry maps onto a mode.
    for e in &wamr::ENGINES {
        assert!(wamr::EngineSpec::find(e.name).is_some(), "{}", e.name);
    }
    // The features each mode states are the ones its build flags turn on.
    for mode in wamr::Mode::built() {
        let e = engines::info(mode.engine_name()).unwrap();
        let flags = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{}: ", mode.engine_name())))
            .unwrap();
        let names = e.features.optional_names();
        for (feature, flag) in wamr::FEATURE_FLAGS {
            // SIMD: the interpreter's, or the AoT compiler's (WSV_AOT_SIMD).
            let on = flags
                .split_whitespace()
                .any(|f| f == format!("{flag}=1") || (feature == "simd" && f == "WSV_AOT_SIMD=1"));
            assert_eq!(
                names.contains(&feature),
                on,
                "{}: {feature} vs {flags}",
                e.name
            );
        }
        assert!(out.contains(&format!("features: base, {}", names.join(", "))));
    }
}

#[test]
fn run_reads_standard_input_and_runs_a_repeated_engine_once() {
    use std::io::Write;
    let mut child = Command::new(EXE)
        .args([
            "run", "-", "--engine", "faulty", "--engine", "faulty", "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(AGREEING.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let faulty = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains("\"faulty\""))
        .count();
    assert_eq!(faulty, 1, "{v}");
}

/// `run` and `triage` follow one exit-status rule: a not-an-issue verdict (a
/// guest loop) is no finding for either.
#[test]
fn run_and_triage_agree_on_a_not_an_issue_verdict() {
    let d = temp_dir("loop");
    let f = write(
        &d,
        "loop.wat",
        br#"(module (func (export "forever") (loop br 0)))"#,
    );
    let run = wasmsieve(&["run", f.to_str().unwrap(), "--engine", "wamr-classic"]);
    let triage = wasmsieve(&["triage", f.to_str().unwrap(), "--engine", "wamr-classic"]);
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("not-an-issue"),
        "{}",
        show(&run)
    );
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert_eq!(triage.status.code(), Some(0), "{}", show(&triage));
}

#[test]
fn too_many_jobs_are_capped_with_a_word() {
    let out = temp_dir("jobs").join("out");
    let o = wasmsieve(&[
        "fuzz",
        "--engine",
        "faulty",
        "--iterations",
        "1",
        "--jobs",
        "1000",
        "--shrink-time",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--jobs 1000 on"),
        "{}",
        show(&o)
    );
}

/// `coverage` needs WAMR built with gcc --coverage: anywhere else it says how.
#[test]
fn coverage_without_a_coverage_build_names_the_script() {
    // In a WASMSIEVE_COVERAGE=1 build the command works instead.
    if !present(
        !wasmsieve::engines::wamr::coverage::built(),
        "a build without --coverage",
    ) {
        return;
    }
    for args in [&["coverage"][..], &["coverage", "--reset"]] {
        let o = wasmsieve(args);
        assert_eq!(o.status.code(), Some(2), "{}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("scripts/coverage.sh"),
            "{}",
            show(&o)
        );
    }
}

/// A file over the input limit is refused before it is read whole, and
/// binary data is never parsed as text, so no error echoes it back (a
/// 200 MB file of zeros once put 209 MB on stderr).
#[test]
fn huge_and_binary_inputs_are_refused_without_being_echoed() {
    let d = temp_dir("inputs");
    let big = d.join("zeros.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(wasmsieve::wasm::MAX_INPUT_BYTES + 1)
        .unwrap();
    let zeros = d.join("zeros-small.bin");
    std::fs::write(&zeros, [0u8; 100_000]).unwrap();
    let long_line = d.join("long.wat");
    std::fs::write(&long_line, format!("(module {})", "x".repeat(100_000))).unwrap();
    for (file, says) in [
        (&big, "is over 64 MiB"),
        (&zeros, "not WAT text"),
        (&long_line, "not valid WAT"),
    ] {
        for cmd in ["run", "triage"] {
            let o = wasmsieve(&[cmd, file.to_str().unwrap()]);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{cmd} {}: {}",
                file.display(),
                show(&o)
            );
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(says), "{cmd} {}: {err}", file.display());
            assert!(
                o.stderr.len() + o.stdout.len() < 4000,
                "{cmd} {}: {} bytes of output",
                file.display(),
                o.stderr.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn empty_input_json_errors_and_the_reference_as_subject_are_said_plainly() {
    let dir = temp_dir("small-cli");
    let empty = dir.join("empty.wasm");
    std::fs::write(&empty, b"").unwrap();
    // An empty file is empty, not a WAT error.
    let o = wasmsieve(&["run", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is empty") && !err.contains("WAT"), "{err}");
    // --json answers in JSON on bad input too.
    let o = wasmsieve(&["run", empty.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["exit"], 2);
    assert!(v["error"].as_str().unwrap().contains("is empty"), "{v}");
    // The reference and the screen are not runtimes under test.
    for judge in ["wasmtime", "wasmi"] {
        let o = wasmsieve(&["run", "corpus/seeds/numeric.wat", "--engine", judge]);
        assert_eq!(o.status.code(), Some(2), "{}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("judges the runtimes under test"),
            "{}",
            show(&o)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
