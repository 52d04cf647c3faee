//! Isolation and WAMR's hardware-bounds-checked builds, end to end through
//! `Differ` and real worker processes: out-of-bounds accesses in `-hw` engines
//! are traps that agree with wasmtime (WAMR's own signal handler handles the
//! guard-region fault), genuine faults still reach the worker's crash handler
//! (with the fault region), a worker killed from outside becomes a crash
//! finding and the next module runs, and (ASan builds) a sanitizer report
//! becomes a crash finding with its summary and frames.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};
use wasmsieve::engines;
use wasmsieve::exec::CrashRecord;
use wasmsieve::exec::End;
use wasmsieve::generate::plan::CallPlan;
use wasmsieve::isolate::WorkerLimits;
use wasmsieve::judge::oracle::{Comparison, Symptom};
use wasmsieve::judge::policy::Policy;
use wasmsieve::pipeline::subjects;
use wasmsieve::pipeline::{CaseReport, Differ};

/// Tests that find their worker among this process's children, or send it
/// signals, run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn setup() {
    common::worker_exe();
    // Enables the worker's crash-path self-tests (inert without their markers).
    std::env::set_var("WASMSIEVE_WORKER_SELFTEST", "1");
}

fn differ(names: &[&str]) -> Differ {
    setup();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    Differ::new(
        subjects(&names, true, &WorkerLimits::default()).expect("subjects"),
        Policy::builtin(),
    )
    .expect("differ")
}

fn run(d: &mut Differ, wat: &str) -> CaseReport {
    let wasm = wat::parse_str(wat).expect("test WAT parses");
    let plan = CallPlan::fixed(&wasm, 1).expect("plan");
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
            "finding {} {:?}: {}\n",
            f.engine, f.divergence.symptom, f.divergence.detail
        ));
    }
    s
}

fn assert_agree(r: &CaseReport) {
    assert!(r.findings.is_empty(), "{}", describe(r));
    for (exec, cmp) in &r.comparisons {
        assert_eq!(*cmp, Comparison::Agree, "{}:\n{}", exec.engine, describe(r));
        assert_eq!(exec.end, End::Completed, "{}", describe(r));
    }
}

fn crash_of<'a>(r: &'a CaseReport, engine: &str) -> &'a CrashRecord {
    let exec = r
        .comparisons
        .iter()
        .map(|(e, _)| e)
        .find(|e| e.engine == engine)
        .unwrap_or_else(|| panic!("no execution of {engine}:\n{}", describe(r)));
    match &exec.end {
        End::Crashed(rec) => rec,
        other => panic!("{engine} did not crash ({other:?}):\n{}", describe(r)),
    }
}

fn hw_engines() -> Vec<&'static str> {
    ["wamr-classic-hw", "wamr-fast-hw", "wamr-aot-hw"]
        .into_iter()
        .filter(|e| engines::is_built(e))
        .collect()
}

const OOB: &str = r#"(module (memory (export "mem") 1)
    (func (export "at") (param i32) (result i32) local.get 0 i32.load)
    (func (export "at_far") (param i32) (result i32) local.get 0 i64.load offset=4294967295 i32.wrap_i64)
    (func (export "store_at") (param i32) local.get 0 i32.const 7 i32.store8 offset=65535)
    (func (export "oob_end") (result i32) i32.const 65534 i32.load)
    (func (export "oob_guard") (result i32) i32.const 1048576 i32.load)
    (func (export "oob_top") (result i32) i32.const -1 i32.load offset=4294967295)
    (func (export "oob_store") (i32.store (i32.const 65536) (i32.const 1)))
    (func (export "fill_oob") (memory.fill (i32.const 65000) (i32.const 1) (i32.const 1000)))
    (func (export "copy_oob") (memory.copy (i32.const 65000) (i32.const 0) (i32.const 1000)))
    (func (export "in_bounds") (result i32) (i32.store (i32.const 65532) (i32.const 9)) (i32.load (i32.const 65532))))"#;

#[test]
fn hw_out_of_bounds_is_a_trap_agreeing_with_wasmtime() {
    let hw = hw_engines();
    assert!(
        hw.contains(&"wamr-classic-hw") && hw.contains(&"wamr-fast-hw"),
        "hw modes built: {hw:?}"
    );
    for info in hw.iter().map(|e| engines::info(e).unwrap()) {
        assert!(
            !info.in_process_ok,
            "{} installs signal handlers: workers only",
            info.name
        );
    }
    let mut d = differ(&hw);
    let r = run(&mut d, OOB);
    assert_agree(&r);
    // The out-of-bounds calls really trapped (not just agreed on nothing).
    for (exec, _) in &r.comparisons {
        let traps = exec
            .calls
            .iter()
            .filter(|c| {
                matches!(
                    &c.result,
                    wasmsieve::exec::CallResult::Trapped {
                        trap: wasmsieve::exec::Trap::MemoryOutOfBounds,
                        ..
                    }
                )
            })
            .count();
        assert!(
            traps >= 6,
            "{}: {traps} out-of-bounds traps\n{}",
            exec.engine,
            describe(&r)
        );
    }
    // AoT with hardware bounds checks: the options kept are those the
    // module's bytes draw (no software checks for about half of them; then
    // the guard region did the trapping).
    if let Some((exec, _)) = r
        .comparisons
        .iter()
        .find(|(e, _)| e.engine == "wamr-aot-hw")
    {
        let wasm = wat::parse_str(OOB).unwrap();
        let drawn = wasmsieve::engines::wamr::AotOptions::for_module(
            wasmsieve::engines::wamr::Mode::AotHw,
            &wasm,
        );
        assert_eq!(
            exec.compile_options,
            Some(drawn.wamrc_args()),
            "aot options kept"
        );
    }
    // The same workers go on with the next module.
    let r = run(
        &mut d,
        r#"(module (memory 1) (func (export "f") (result i32) (i32.load (i32.const 8))))"#,
    );
    assert_agree(&r);
}

#[test]
fn hw_correct_module_agrees() {
    let wat = r#"(module (memory (export "mem") 1 4)
        (global $g (export "g") (mut i64) (i64.const 5))
        (func $fib (param i32) (result i32)
            (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
                (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
        (func (export "fib") (result i32) (call $fib (i32.const 15)))
        (func (export "grow") (result i32) (memory.grow (i32.const 1)))
        (func (export "past_old_end") (result i32)
            (i32.store (i32.const 70000) (i32.const 42)) (i32.load (i32.const 70000)))
        (func (export "size") (result i32) memory.size)
        (func (export "bump") (global.set $g (i64.mul (global.get $g) (i64.const 3))))
        (func (export "fill") (memory.fill (i32.const 100) (i32.const 0xab) (i32.const 5000)))
        (func (export "sum") (result i64) (local $i i32) (local $s i64)
            (loop $l (local.set $s (i64.add (local.get $s) (i64.load8_u (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 6000))))
            (local.get $s)))"#;
    let mut d = differ(&hw_engines());
    let r = run(&mut d, wat);
    assert_agree(&r);
    // The grown memory is reachable and the snapshots match the reference.
    for (exec, _) in &r.comparisons {
        assert!(
            exec.calls.iter().any(|c| c.export == "past_old_end"),
            "{}",
            describe(&r)
        );
    }
}

/// A process's parent, from /proc ("pid (comm) state ppid ...": comm may
/// hold spaces, so split after the last ')').
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Processes serving `engine` for this test process: its workers and the
/// engine processes they forked (which run the cases).
fn worker_pids(engine: &str) -> Vec<i32> {
    let mut parents = vec![std::process::id() as i32];
    let mut pids = vec![];
    let mut procs = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Some(ppid) = parent_of(pid) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if args.iter().any(|a| *a == b"worker") && args.contains(&engine.as_bytes()) {
            procs.push((pid, ppid));
        }
    }
    // Workers first, then their children.
    for _ in 0..2 {
        let next: Vec<i32> = procs
            .iter()
            .filter(|(pid, ppid)| parents.contains(ppid) && !pids.contains(pid))
            .map(|(pid, _)| *pid)
            .collect();
        pids.extend(&next);
        parents = next;
    }
    pids
}

/// CPU time (ticks) a process has used: it grows while a call spins.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|r| r.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state ppid ... utime (12th) stime (13th).
    f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[test]
fn worker_killed_mid_call_is_a_crash_and_the_next_module_runs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    setup();
    // Whatever happens, no spinning worker outlives the test.
    struct KillSpinners;
    impl Drop for KillSpinners {
        fn drop(&mut self) {
            for pid in worker_pids("faulty") {
                // SAFETY: kill(2) on a worker pid of ours has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    let _cleanup = KillSpinners;
    let spin = r#"(module (func (export "wsv_fault_spin") (result i32) i32.const 1))"#;
    let good = r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
    let runner = std::thread::spawn(move || {
        let mut d = differ(&["faulty"]);
        // Long enough to kill the worker from outside mid-call.
        d.deadline_floor = Duration::from_secs(20);
        let killed = run(&mut d, spin);
        // The confirmation rerun spins too: let it hang quickly.
        let next = run(&mut d, good);
        (killed, next)
    });
    // Wait for a worker that is spinning (its CPU time grows), then SIGKILL it.
    let start = Instant::now();
    let victim = loop {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no spinning faulty worker appeared"
        );
        let pids = worker_pids("faulty");
        let before: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect();
        std::thread::sleep(Duration::from_millis(300));
        if let Some((&pid, _)) = pids
            .iter()
            .zip(before)
            .find(|(p, b)| cpu_ticks(**p) > b + 5)
        {
            break pid;
        }
    };
    // SAFETY: kill(2) on a worker pid of ours has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(victim, libc::SIGKILL) }, 0);
    // The confirmation rerun spins in a fresh worker: kill that one too, so
    // the test does not wait for the 20 s deadline (it stays unconfirmed).
    let start = Instant::now();
    while !runner.is_finished() && start.elapsed() < Duration::from_secs(15) {
        for pid in worker_pids("faulty") {
            if pid != victim && cpu_ticks(pid) > 10 {
                // SAFETY: kill(2) on a worker pid of ours has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (killed, next) = runner.join().expect("runner");
    let f = killed
        .findings
        .iter()
        .find(|f| f.divergence.symptom == Symptom::Crash)
        .unwrap_or_else(|| panic!("no crash finding:\n{}", describe(&killed)));
    let rec = crash_of(&killed, "faulty");
    assert_eq!(rec.signal, Some(libc::SIGKILL), "{rec:?}");
    assert_eq!(rec.signal_name.as_deref(), Some("SIGKILL"));
    assert!(
        f.divergence.detail.contains("SIGKILL"),
        "{}",
        f.divergence.detail
    );
    assert_agree(&next);
}

#[test]
fn wild_read_in_a_worker_is_a_crash_in_the_null_page() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wat = r#"(module (memory 1) (func (export "wsv_selftest_wild_read")))"#;
    for engine in ["wamr-classic", "wamr-classic-hw", "wamr-fast-hw"] {
        let mut d = differ(&[engine]);
        let r = run(&mut d, wat);
        let rec = crash_of(&r, engine);
        assert_eq!(rec.signal, Some(libc::SIGSEGV), "{engine}: {rec:?}");
        assert_eq!(
            rec.fault_address.as_deref(),
            Some("0x18"),
            "{engine}: {rec:?}"
        );
        assert_eq!(
            rec.fault_region.as_deref(),
            Some("null-page"),
            "{engine}: {rec:?}"
        );
        // Our handler reported it (WAMR's, in the -hw engines, handed it on).
        assert!(!rec.frames.is_empty(), "{engine}: no frames: {rec:?}");
        assert!(
            rec.frames.iter().any(|f| f.contains("self_test_call")),
            "{engine}: {:?}",
            rec.frames
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.divergence.symptom == Symptom::Crash),
            "{}",
            describe(&r)
        );
    }
}

#[test]
fn fault_in_the_guard_region_outside_wasm_reaches_our_handler() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wat = r#"(module (memory 1) (func (export "wsv_selftest_guard_read")))"#;
    for engine in ["wamr-classic-hw", "wamr-fast-hw"] {
        let mut d = differ(&[engine]);
        let r = run(&mut d, wat);
        let rec = crash_of(&r, engine);
        assert_eq!(rec.signal, Some(libc::SIGSEGV), "{engine}: {rec:?}");
        assert_eq!(
            rec.fault_region.as_deref(),
            Some("guard-region"),
            "{engine}: {rec:?}"
        );
        assert!(
            rec.frames.iter().any(|f| f.contains("self_test_call")),
            "{engine}: {:?}",
            rec.frames
        );
    }
}

#[test]
fn faulty_segv_is_a_sent_signal_without_address() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // faulty's wsv_fault_segv is raise(SIGSEGV): a sent signal, whose si_addr
    // is the sender's pid/uid, not an address. Neither is recorded.
    let mut d = differ(&["faulty"]);
    let r = run(&mut d, r#"(module (func (export "wsv_fault_segv")))"#);
    let rec = crash_of(&r, "faulty");
    assert_eq!(rec.signal, Some(libc::SIGSEGV), "{rec:?}");
    assert_eq!(rec.fault_address, None, "{rec:?}");
    assert_eq!(rec.fault_region, None, "{rec:?}");
}

#[test]
#[ignore = "needs WAMR built with ASan: WASMSIEVE_SANITIZE=address cargo test --release -- --ignored"]
fn sanitizer_report_is_a_crash_finding_with_summary_and_frames() {
    let built_with_asan = engines::wamr::WAMR_ASAN;
    assert!(
        built_with_asan,
        "this binary was built without ASan (WASMSIEVE_SANITIZE=address cargo build --release)"
    );
    let mut d = differ(&["wamr-classic"]);
    let r = run(
        &mut d,
        r#"(module (func (export "wsv_selftest_heap_overflow")))"#,
    );
    let rec = crash_of(&r, "wamr-classic");
    let summary = rec
        .sanitizer
        .as_deref()
        .unwrap_or_else(|| panic!("no sanitizer summary: {rec:?}"));
    assert!(
        summary.contains("AddressSanitizer: heap-buffer-overflow"),
        "{summary}"
    );
    assert!(!rec.frames.is_empty(), "{rec:?}");
    assert!(
        rec.frames.iter().any(|f| f.contains("self_test")),
        "{:?}",
        rec.frames
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.divergence.symptom == Symptom::Crash)
        .expect("crash finding");
    assert!(
        f.divergence.detail.contains("heap-buffer-overflow"),
        "{}",
        f.divergence.detail
    );
}

#[test]
fn a_worker_outlives_the_crashes_of_its_engine_processes_each_with_its_own_report() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    setup();
    let engine = "wamr-classic";
    let mut w = wasmsieve::isolate::Worker::new(engine, WorkerLimits::default());
    let case = |wat: &str| {
        let wasm = wat::parse_str(wat).expect("test WAT parses");
        let plan = CallPlan::fixed(&wasm, 1).expect("plan");
        (wasm, plan)
    };
    let (good, good_plan) = case(
        r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#,
    );
    let (wild, wild_plan) = case(r#"(module (memory 1) (func (export "wsv_selftest_wild_read")))"#);
    use wasmsieve::exec::Executor;
    assert_eq!(w.run(&good, &good_plan).end, End::Completed);
    // The workers themselves: children of this process.
    let workers = |pids: Vec<i32>| -> Vec<i32> {
        let me = std::process::id() as i32;
        pids.into_iter()
            .filter(|p| parent_of(*p) == Some(me))
            .collect()
    };
    let before = workers(worker_pids(engine));
    assert_eq!(before.len(), 1, "{before:?}");
    for _ in 0..2 {
        let exec = w.run(&wild, &wild_plan);
        let End::Crashed(rec) = &exec.end else {
            panic!("no crash: {:?}", exec.end);
        };
        assert_eq!(rec.signal, Some(libc::SIGSEGV), "{rec:?}");
        assert_eq!(rec.fault_region.as_deref(), Some("null-page"), "{rec:?}");
        assert!(
            rec.frames.iter().any(|f| f.contains("self_test_call")),
            "{rec:?}"
        );
        // Its own report only: not the one before it.
        assert_eq!(
            rec.stderr_tail.matches("wsv-crash ").count(),
            1,
            "{}",
            rec.stderr_tail
        );
        assert_eq!(w.run(&good, &good_plan).end, End::Completed);
    }
    // No new worker was started: the same one forked new engine processes.
    assert_eq!(workers(worker_pids(engine)), before);
}
