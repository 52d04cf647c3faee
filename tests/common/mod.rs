//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Once;

pub const EXE: &str = env!("CARGO_BIN_EXE_wasmsieve");

/// Points the isolation layer at the real binary: in a test, `current_exe` is
/// the test harness, which cannot serve as a worker.
///
/// RUST_BACKTRACE=1 is set for workers on purpose: it is common in developers'
/// shells and CI, and changes how a worker dies of a failed allocation.
pub fn worker_exe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("WASMSIEVE_WORKER_EXE", EXE);
        std::env::set_var("RUST_BACKTRACE", "1");
    });
}

/// A fresh, empty folder under the system's temp dir, unique per call.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "wasmsieve-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether an optional piece a test needs is here. Where it is not, the
/// test says it is skipped; under CI (`CI` or `WASMSIEVE_REQUIRE_ALL` set,
/// as `.ci/run` does) a missing piece fails the test instead, so a skip
/// never passes for a test that ran.
pub fn present(here: bool, what: &str) -> bool {
    if here {
        return true;
    }
    let strict =
        std::env::var_os("CI").is_some() || std::env::var_os("WASMSIEVE_REQUIRE_ALL").is_some();
    assert!(!strict, "missing: {what} (CI needs every piece)");
    eprintln!("skipped: {what} is missing");
    false
}

/// A module from `../shared/repro/` (modules from campaigns on stock WAMR,
/// handed to the project beside the repository); `None`, with a note, where
/// that folder is absent (e.g. on a user's machine; a failure under CI).
pub fn shared_repro(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/repro")
        .join(name);
    present(p.exists(), &p.display().to_string()).then_some(p)
}

/// A JSON file the harness wrote, parsed.
pub fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Runs the wasmsieve binary with `args`.
pub fn wasmsieve(args: &[&str]) -> Output {
    Command::new(EXE)
        .args(args)
        // Reports check only the trees a test names (the default release
        // trees: tests/stock_check.rs).
        .env("WASMSIEVE_WAMR_TREES", "")
        .output()
        .expect("run wasmsieve")
}

/// A command's outcome, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a campaign (`wasmsieve fuzz ARGS --out OUT`) to its end; its status.
pub fn campaign(args: &[&str], out: &std::path::Path) -> std::process::ExitStatus {
    Command::new(EXE)
        .arg("fuzz")
        .args(args)
        .arg("--out")
        .arg(out)
        .status()
        .expect("run wasmsieve fuzz")
}

/// WAMR's loader (with extended const, as wasmsieve builds it) reads a NULL
/// init expression in `destroy_const_expr_stack` when a global's constant
/// expression fails after two constants: the bug the `wamr_load` target finds.
/// Here it sits behind valid sections and before sections the loader never
/// reaches, as a fuzzed input would.
pub fn loader_crash_module() -> Vec<u8> {
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    // type section: (func (param i32 i64) (result f64)), (func)
    m.extend([
        0x01, 0x0a, 0x02, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7c, 0x60, 0x00, 0x00,
    ]);
    // memory section: one memory of 1..2 pages
    m.extend([0x05, 0x04, 0x01, 0x01, 0x01, 0x02]);
    // global section: two valid globals, then `i32.const 0 i32.const 0 <0x00>`
    m.extend([0x06, 0x13, 0x03]);
    m.extend([0x7f, 0x00, 0x41, 0x2a, 0x0b]);
    m.extend([0x7e, 0x01, 0x42, 0x07, 0x0b]);
    m.extend([0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x00, 0x0b]);
    // a custom section the loader never gets to
    let payload: Vec<u8> = std::iter::once(4u8)
        .chain(*b"junk")
        .chain((0..60).map(|i| i as u8))
        .collect();
    m.push(0x00);
    m.push(payload.len() as u8);
    m.extend(payload);
    m
}
