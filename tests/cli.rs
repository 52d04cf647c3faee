//! The command line, run as a user runs it: exit codes, messages, JSON, and
//! a short fuzz campaign that resumes.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

fn wasmsieve(args: &[&str]) -> Output {
    Command::new(EXE)
        .args(args)
        .output()
        .expect("run wasmsieve")
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
    assert_eq!(
        s["executions"]["wasmtime"].as_u64(),
        Some(generated),
        "{s:#}"
    );
    assert_eq!(
        s["executions"]["wamr-classic"].as_u64(),
        Some(generated),
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
        s2["executions"]["wasmtime"].as_u64().unwrap() > generated,
        "{s2:#}"
    );
    assert!(s2["previous_seconds"].as_f64().unwrap() > 0.0, "{s2:#}");
    let _ = std::fs::remove_dir_all(out);
}
