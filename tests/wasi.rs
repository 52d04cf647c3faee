//! WASI programs end to end: the capability oracle with the faulty engine's
//! WASI faults (real escapes out of a real sandbox), WAMR's WASI holding the
//! line on the same programs, a crash WAMR's WASI really has, and campaigns.

mod common;
use common::*;
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::oracle::Symptom;
use wasmsieve::judge::policy::Policy;
use wasmsieve::pipeline::{subjects, CaseReport, Differ};

fn differ(engines: &[&str]) -> Differ {
    worker_exe();
    let names: Vec<String> = engines.iter().map(|s| s.to_string()).collect();
    let subjects = subjects(&names, true, &WorkerLimits::default()).unwrap();
    Differ::new(subjects, Policy::builtin()).unwrap()
}

fn run(d: &mut Differ, wat: &str) -> CaseReport {
    let wasm = wat::parse_str(wat).unwrap();
    let plan = CallPlan {
        calls: wasmsieve::generate::plan::Exports::read(&wasm)
            .unwrap()
            .funcs
            .iter()
            .map(|f| wasmsieve::generate::plan::PlannedCall {
                export: f.name.clone(),
                args: vec![],
            })
            .collect(),
        memories: vec!["memory".into()],
        ..Default::default()
    };
    d.run(&wasm, &plan)
}

fn describe(r: &CaseReport) -> String {
    let mut s = String::new();
    for (e, c) in &r.comparisons {
        s += &format!("{}: {:?} {:?}\n  {:?}\n", e.engine, e.end, e.wasi, c);
        for call in &e.calls {
            s += &format!("  {} -> {:?}\n", call.export, call.result);
        }
    }
    for f in &r.findings {
        s += &format!(
            "finding {} / {} ({}): {}\n",
            f.verdict.bucket, f.verdict.kind, f.signature, f.divergence.detail
        );
    }
    s
}

/// A program that opens `PATH` under the preopen (fd 3) with read rights,
/// reads what it opened into memory (`READ`: 1 or 0), or unlinks it.
fn program(marker: &str, path: &str, read: bool, unlink: bool) -> String {
    let mut funcs = format!(
        r#"(func (export "c0.path_open") (result i32)
             (call $open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const {len}) (i32.const 0)
                         (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 3072)))"#,
        len = path.len()
    );
    if read {
        funcs += r#"(func (export "c1.fd_read") (result i32)
             (call $read (i32.load (i32.const 3072)) (i32.const 2048) (i32.const 1) (i32.const 3080)))"#;
    }
    if unlink {
        funcs += &format!(
            r#"(func (export "c2.path_unlink_file") (result i32)
                 (call $unlink (i32.const 3) (i32.const 0) (i32.const {})))"#,
            path.len()
        );
    }
    format!(
        r#"(module
          (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "{path}")
          (data (i32.const 1024) "{marker}")
          (data (i32.const 2048) "\00\10\00\00\80\00\00\00")
          {funcs})"#
    )
}

fn single_escape(r: &CaseReport, how: &str) {
    assert_eq!(r.findings.len(), 1, "{}", describe(r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::WasiEscape, "{}", describe(r));
    assert_eq!(f.verdict.bucket.to_string(), "security");
    assert_eq!(f.verdict.kind, "sandbox-escape");
    assert_eq!(f.verdict.clauses, ["P3", "P11"]);
    assert!(
        f.divergence
            .rule
            .as_deref()
            .is_some_and(|r| r.starts_with(how)),
        "{:?}",
        f.divergence.rule
    );
}

#[test]
fn following_dotdot_out_of_the_root_is_a_read_escape() {
    let mut d = differ(&["faulty"]);
    for path in [
        "../outside/canary.txt",
        "up",
        "abs",
        "sub/../../outside/canary.txt",
    ] {
        let r = run(&mut d, &program("wsv_fault_wasi_dotdot", path, true, false));
        single_escape(&r, "read: fd_read");
        // The same program on a WASI that resolves paths right: nothing.
        let r = run(&mut d, &program("no fault", path, true, false));
        assert!(r.findings.is_empty(), "{path}: {}", describe(&r));
        // It did run: the open was refused.
        assert!(
            r.comparisons[0].0.calls[0].result
                != wasmsieve::exec::CallResult::Returned(vec![wasmsieve::wasm::Val::I32(0)])
        );
    }
}

#[test]
fn unlinking_outside_the_root_is_a_write_escape() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        &program(
            "wsv_fault_wasi_unlink",
            "../outside/canary.txt",
            false,
            true,
        ),
    );
    single_escape(&r, "write: path_unlink_file");
    let r = run(
        &mut d,
        &program("no fault", "../outside/canary.txt", false, true),
    );
    assert!(r.findings.is_empty(), "{}", describe(&r));
    // Unlinking inside the root is the guest's right.
    let r = run(
        &mut d,
        &program("wsv_fault_wasi_unlink", "a.txt", false, true),
    );
    assert!(r.findings.is_empty(), "{}", describe(&r));
}

#[test]
fn a_host_file_kept_open_outside_the_root_is_an_fd_escape() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        &program("wsv_fault_wasi_leak", "../outside/canary.txt", false, false),
    );
    single_escape(&r, "fd: path_open");
    let f = &r.findings[0];
    assert!(
        f.divergence.detail.contains("outside/canary.txt"),
        "{}",
        f.divergence.detail
    );
    // Kept open inside the root: not an escape.
    let r = run(
        &mut d,
        &program("wsv_fault_wasi_leak", "a.txt", false, false),
    );
    assert!(r.findings.is_empty(), "{}", describe(&r));
}

/// A false alarm met in the first WASI campaigns: WAMR's `fd_readdir` on a
/// non-directory fd reads through an uninitialized `DIR *` and copied bytes
/// of its own process into the guest, among them the canaries the harness
/// had handed that process in plain text; it was filed as a read outside the
/// capability. The canaries now travel masked: a runtime that leaks what it
/// holds of its sandbox is no capability escape.
#[test]
fn a_runtime_leaking_its_own_memory_is_not_a_read_escape() {
    let mut d = differ(&["faulty"]);
    let r = run(
        &mut d,
        &program("wsv_fault_wasi_selfleak", "a.txt", true, false),
    );
    assert!(r.findings.is_empty(), "{}", describe(&r));
    // The leak did happen: the buffer holds the sandbox's description.
    assert_eq!(
        r.comparisons[0].0.calls[1].result,
        wasmsieve::exec::CallResult::Returned(vec![wasmsieve::wasm::Val::I32(0)])
    );
}

/// WAMR's WASI holds the line on every escape the faulty engine makes: the
/// same programs are no finding in any mode (and reads inside the root work).
#[test]
fn wamr_refuses_the_escapes() {
    let modes = [
        "wamr-classic",
        "wamr-fast",
        "wamr-aot",
        "wamr-classic-hw",
        "wamr-aot-hw",
    ];
    let mut d = differ(&modes);
    for path in [
        "../outside/canary.txt",
        "up",
        "abs",
        "/etc/passwd",
        "sub/../../outside/canary.txt",
    ] {
        for (read, unlink) in [(true, false), (false, true)] {
            let r = run(&mut d, &program("no fault", path, read, unlink));
            assert!(r.findings.is_empty(), "{path}: {}", describe(&r));
            assert_eq!(
                r.comparisons.len(),
                modes.len(),
                "every mode ran it: {}",
                describe(&r)
            );
        }
    }
    let r = run(&mut d, &program("no fault", "a.txt", true, false));
    assert!(r.findings.is_empty(), "{}", describe(&r));
    for (exec, _) in &r.comparisons {
        let read = &exec.calls[1].result;
        assert_eq!(
            read,
            &wasmsieve::exec::CallResult::Returned(vec![wasmsieve::wasm::Val::I32(0)]),
            "{}",
            exec.engine
        );
    }
}

/// A module without WASI imports runs as it did without WASI: the same
/// observation with and without a sandbox, in every mode.
#[test]
fn modules_without_wasi_are_unchanged() {
    worker_exe();
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "f") (param i32) (result i32)
               (i32.store (i32.const 8) (local.get 0)) (i32.add (local.get 0) (i32.const 1))))"#,
    )
    .unwrap();
    for mode in [
        "wamr-classic",
        "wamr-fast",
        "wamr-aot",
        "wamr-fast-hw",
        "wamr-aot-hw",
    ] {
        let mut w = wasmsieve::isolate::Worker::new(mode, WorkerLimits::default());
        let mut plan = CallPlan::fixed(&wasm, 2).unwrap();
        let without = wasmsieve::exec::Executor::run(&mut w, &wasm, &plan);
        let sandbox = wasmsieve::exec::wasi::Sandbox::create().unwrap();
        plan.wasi = Some(sandbox.setup.clone());
        let mut with = wasmsieve::exec::Executor::run(&mut w, &wasm, &plan);
        assert!(
            with.wasi.take().is_some_and(|w| w.fds_outside.is_empty()),
            "{mode}"
        );
        assert_eq!(without, with, "{mode}");
        assert!(sandbox.changed_outside().is_empty());
    }
}

/// Found by the first `--generator wasi` campaign: `fd_renumber(3, 3)`
/// detaches the fd, then reads the object it just cleared
/// (`wasmtime_ssp_fd_renumber` in WAMR's sandboxed-system-primitives has no
/// check for `from == to`): a .wasm crashes the runtime (P2).
#[test]
fn wamr_crashes_renumbering_an_fd_onto_itself() {
    let mut d = differ(&["wamr-classic", "wamr-aot"]);
    let r = run(
        &mut d,
        r#"(module
          (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "c0.fd_renumber") (result i32) (call $renumber (i32.const 3) (i32.const 3))))"#,
    );
    assert_eq!(r.findings.len(), 2, "{}", describe(&r));
    for f in &r.findings {
        assert_eq!(f.divergence.symptom, Symptom::Crash);
        assert_eq!(f.verdict.bucket.to_string(), "security", "{}", describe(&r));
        assert_eq!(f.confirmed, Some(true));
        // One cause in WAMR's WASI layer, whichever mode ran it.
        assert_eq!(f.signature, "wamr|Dies|in: fd_renumber");
        let frames = match &f.executions[1].end {
            wasmsieve::exec::End::Crashed(rec) => rec.frames.join(" "),
            other => panic!("{other:?}"),
        };
        assert!(frames.contains("wasi_fd_renumber"), "{frames}");
    }
}

/// `--generator wasi` runs WASI programs only, counts them per engine, and
/// files nothing on a WASI that keeps to its capability.
#[test]
fn a_wasi_campaign_counts_its_cases_per_engine() {
    let out = temp_dir("wasi-campaign");
    let status = campaign(
        &[
            "--generator",
            "wasi",
            "--engine",
            "faulty",
            "--iterations",
            "40",
            "--jobs",
            "1",
        ],
        &out,
    );
    assert_eq!(status.code(), Some(0));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["wasi_cases_by_engine"]["faulty"], 40, "{summary:#}");
    assert_eq!(
        summary["unique"].as_array().unwrap().len(),
        0,
        "{summary:#}"
    );
    // A campaign without a WASI runtime cannot run WASI programs (the
    // command line has none to give: wasmi is the screen, not a runtime
    // under test; the library is asked directly).
    let mut cfg =
        wasmsieve::campaign::CampaignConfig::new(vec!["wasmi".into()], out.join("no-wasi"));
    cfg.generator = wasmsieve::campaign::Generator::Wasi;
    cfg.iterations = Some(1);
    let err = wasmsieve::campaign::run(&cfg).err().expect("refused");
    assert!(
        format!("{err:#}").contains("needs a runtime under test with WASI"),
        "{err:#}"
    );
    let _ = std::fs::remove_dir_all(out);
}

/// The differential half: a WASI layer that answers another errno than
/// wasmtime-wasi where WASI fixes the answer files a bug (P7), keyed by the
/// call and both errnos; the right answer files nothing.
#[test]
fn a_wrong_errno_is_a_bug() {
    let program = |marker: &str| {
        format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 1024) "{marker}")
              (func (export "c0.fd_close") (result i32) (call $close (i32.const 99))))"#
        )
    };
    let mut d = differ(&["faulty"]);
    let r = run(&mut d, &program("wsv_fault_wasi_errno"));
    assert_eq!(r.findings.len(), 1, "{}", describe(&r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::WasiErrno, "{}", describe(&r));
    assert_eq!(
        (
            f.verdict.bucket.to_string().as_str(),
            f.verdict.kind.as_str()
        ),
        ("bug", "wrong-result")
    );
    assert_eq!(f.verdict.clauses, ["P7"]);
    assert_eq!(
        f.divergence.rule.as_deref(),
        Some("errno: fd_close: badf vs success")
    );
    // The reference ran it, in its own sandbox.
    assert_eq!(r.reference.calls.len(), 1, "{}", describe(&r));
    let r = run(&mut d, &program("no fault"));
    assert!(r.findings.is_empty(), "{}", describe(&r));
}

/// Differences `policy/wasi-differences.toml` states as implementation-defined,
/// met with stock WAMR: none is a finding.
#[test]
fn implementation_defined_differences_are_not_findings() {
    let mut d = differ(&["wamr-classic"]);
    for (call, params, body) in [
        // The process CPU-time clock: WAMR has it, wasmtime-wasi not.
        (
            "clock_time_get",
            "i32 i64 i32",
            "(i32.const 2) (i64.const 0) (i32.const 3072)",
        ),
        // WAMR refuses a link target it cannot place inside a preopen.
        (
            "path_symlink",
            "i32 i32 i32 i32 i32",
            "(i32.const 0) (i32.const 1) (i32.const 3) (i32.const 16) (i32.const 11)",
        ),
        // Stdio: a stream in wasmtime-wasi, /dev/null in WAMR.
        ("fd_tell", "i32 i32", "(i32.const 1) (i32.const 3072)"),
        // Both refuse a path out of the root, each with its own errno.
        (
            "path_unlink_file",
            "i32 i32 i32",
            "(i32.const 3) (i32.const 32) (i32.const 21)",
        ),
    ] {
        let r = run(
            &mut d,
            &format!(
                r#"(module
                  (import "wasi_snapshot_preview1" "{call}" (func $f (param {params}) (result i32)))
                  (memory (export "memory") 1)
                  (data (i32.const 0) ".")
                  (data (i32.const 16) "sub/new.txt")
                  (data (i32.const 32) "../outside/canary.txt")
                  (func (export "c0.{call}") (result i32) (call $f {body})))"#
            ),
        );
        assert!(r.findings.is_empty(), "{call}: {}", describe(&r));
        // Both sides ran the call, and answered differently.
        let (reference, wamr) = (&r.reference.calls, &r.comparisons[0].0.calls);
        assert_eq!((reference.len(), wamr.len()), (1, 1), "{}", describe(&r));
        assert_ne!(
            reference[0].result,
            wamr[0].result,
            "{call}: {}",
            describe(&r)
        );
    }
}

/// Found by the differential half on stock WAMR: WASI paths are UTF-8
/// strings, and wasmtime-wasi refuses others (EILSEQ); WAMR creates a host
/// directory named by the raw bytes. One cause for every path call.
#[test]
fn wamr_accepts_paths_that_are_not_utf8() {
    let mut d = differ(&["wamr-classic"]);
    let r = run(
        &mut d,
        r#"(module
          (import "wasi_snapshot_preview1" "path_create_directory"
            (func $f (param i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "\ff\fe")
          (func (export "c0.path_create_directory") (result i32)
            (call $f (i32.const 3) (i32.const 0) (i32.const 2))))"#,
    );
    assert_eq!(r.findings.len(), 1, "fixed in this WAMR? {}", describe(&r));
    let f = &r.findings[0];
    assert_eq!(f.divergence.symptom, Symptom::WasiErrno);
    assert_eq!(f.verdict.bucket.to_string(), "bug");
    assert_eq!(
        f.signature,
        "wamr|WasiErrno|errno: a path that is not UTF-8: ilseq vs success"
    );
}
