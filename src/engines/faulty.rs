//! A deliberately faulty engine for testing the harness itself.
//!
//! It runs modules in a real engine (wasmtime) and misbehaves when the module
//! carries a marker: an export whose name starts with `wsv_fault_`. Each fault
//! imitates one class of runtime bug, so tests prove that every oracle check
//! and every policy row really fires, through the same trait as real engines.
//! The process-level faults (segfault, spin, runaway allocation) are real: run
//! them only inside an isolation worker.

use super::wasmtime::Wasmtime;
use crate::exec::{Engine, Instance, MemorySnapshot, Trap};
use crate::wasm::Val;

// The markers, as export names of the called function (or anywhere in the
// module for `wsv_fault_reject`):
//   wsv_fault_value      first result wrong: an i32 off by one, an externref
//                        of another identity, a reference's null-ness flipped
//   wsv_fault_no_trap    swallow a trap and return nothing
//   wsv_fault_trap_kind  report every trap as `unreachable`
//   wsv_fault_memory     memory snapshot altered after the call
//   wsv_fault_global     globals altered after the call
//   wsv_fault_reject     rejects the module at load
//   wsv_fault_host       host functions return a wrong value (anywhere in the
//                        module: an i32 result off by one)
//   wsv_fault_segv       dies of SIGSEGV in the call
//   wsv_fault_abort      aborts in the call
//   wsv_fault_spin       never returns from the call
//   wsv_fault_slow       takes 1.5 s, then behaves (slow, not hung)
//   wsv_fault_oom        allocates without bound in the call
//   wsv_fault_wedge      traps, and the engine refuses every module after it
//   wsv_fault_taint      behaves, but leaves the process tainted (as a heap
//                        overflow that corrupts without crashing would)
//   wsv_fault_tainted    dies of SIGSEGV in a tainted process, else behaves
// Loader faults (anywhere in the module, which may be malformed):
//   wsv_fault_lenient_type   accepts a module whose only fault is a type
//                            index past the type section (a missing check)
//   wsv_fault_lenient_local  accepts an out-of-range local index, then reads
//                            past the locals when called: dies of SIGSEGV
//   wsv_fault_loader_crash   dies of SIGSEGV loading any invalid module
// WASI faults: see `faulty_wasi.rs` (wsv_fault_wasi_dotdot, _unlink, _leak).

/// Set by `wsv_fault_wedge`: the engine is left unusable (P9).
static WEDGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Set by `wsv_fault_taint`: a later `wsv_fault_tainted` crashes.
static TAINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// wasmtime with deliberate faults on marker exports: proves every oracle
/// check and policy row fires, through the same trait as real engines.
pub struct Faulty {
    inner: Wasmtime,
    /// The same with a host that gets i32 results wrong (`wsv_fault_host`).
    skewed: Wasmtime,
    /// The module loaded last carries `wsv_fault_host`.
    skew: bool,
    reject: bool,
    /// Its WASI (shared with both wasmtimes), with the faults of the module
    /// loaded last.
    wasi: std::sync::Arc<std::sync::Mutex<super::faulty_wasi::MiniWasi>>,
    /// The module loaded last was invalid and a loader fault let it through:
    /// whether running it reads past its locals.
    accepted_invalid: Option<bool>,
}

impl Faulty {
    pub fn new() -> anyhow::Result<Self> {
        let wasi = std::sync::Arc::new(std::sync::Mutex::new(
            super::faulty_wasi::MiniWasi::default(),
        ));
        Ok(Faulty {
            inner: Wasmtime::with_wasi(crate::wasm::host::call, wasi.clone())?,
            skewed: Wasmtime::with_wasi(skewed_host, wasi.clone())?,
            wasi,
            skew: false,
            reject: false,
            accepted_invalid: None,
        })
    }

    fn wasmtime(&mut self) -> &mut Wasmtime {
        if self.skew {
            &mut self.skewed
        } else {
            &mut self.inner
        }
    }
}

fn skewed_host(func: usize, args: &[Val]) -> Vec<Val> {
    let mut results = crate::wasm::host::call(func, args);
    if let Some(Val::I32(x)) = results.first_mut() {
        *x = x.wrapping_add(1);
    }
    results
}

pub(super) fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

impl Engine for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }

    fn load(&mut self, wasm: &[u8]) -> Result<(), String> {
        if WEDGED.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("faulty: wedged by an earlier module".into());
        }
        self.reject = contains(wasm, "wsv_fault_reject");
        if self.reject {
            return Err("faulty: rejected on marker".into());
        }
        self.skew = contains(wasm, "wsv_fault_host");
        self.wasi.lock().unwrap_or_else(|e| e.into_inner()).faults =
            super::faulty_wasi::Faults::of(wasm);
        self.accepted_invalid = None;
        let loaded = self.wasmtime().load(wasm);
        if loaded.is_ok() {
            return loaded;
        }
        let features = crate::wasm::features::FeatureSet::GENERATED.wasmparser();
        let error = wasmparser::Validator::new_with_features(features)
            .validate_all(wasm)
            .err()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        if contains(wasm, "wsv_fault_loader_crash") {
            // SAFETY: raise has no memory-safety preconditions; the SIGSEGV is this
            // test engine's deliberate crash.
            unsafe { libc::raise(libc::SIGSEGV) };
        }
        if contains(wasm, "wsv_fault_lenient_type") && error.contains("type index out of bounds") {
            self.accepted_invalid = Some(false);
            return Ok(());
        }
        if contains(wasm, "wsv_fault_lenient_local") && error.starts_with("unknown local") {
            self.accepted_invalid = Some(true);
            return Ok(());
        }
        loaded
    }

    fn set_wasi(&mut self, setup: Option<&crate::generate::wasi::WasiSetup>) {
        use super::wasmtime::WasiHost;
        self.wasi
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_sandbox(setup);
    }

    fn instantiate(&mut self) -> Result<Box<dyn Instance + '_>, (Trap, String)> {
        if let Some(reads_past_locals) = self.accepted_invalid {
            return Ok(Box::new(AcceptedInvalid { reads_past_locals }));
        }
        let inner = self.wasmtime().instantiate()?;
        Ok(Box::new(FaultyInstance {
            inner,
            last: String::new(),
        }))
    }
}

/// An instance of an invalid module a loader fault accepted.
struct AcceptedInvalid {
    reads_past_locals: bool,
}

impl Instance for AcceptedInvalid {
    fn call(&mut self, _: &str, _: &[Val]) -> Result<Vec<Val>, (Trap, String)> {
        if self.reads_past_locals {
            // SAFETY: raise has no memory-safety preconditions; the SIGSEGV is this
            // test engine's deliberate crash.
            unsafe { libc::raise(libc::SIGSEGV) };
        }
        Err((Trap::Unreachable, "faulty: an invalid module ran".into()))
    }

    fn global(&mut self, _: &str) -> Option<Val> {
        None
    }

    fn memory(&mut self, _: &str) -> Option<MemorySnapshot> {
        None
    }
}

struct FaultyInstance<'a> {
    inner: Box<dyn Instance + 'a>,
    /// The export called last: state faults apply after it.
    last: String,
}

impl Instance for FaultyInstance<'_> {
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, (Trap, String)> {
        self.last = export.to_string();
        match export {
            // SAFETY: raise has no memory-safety preconditions; the SIGSEGV is this
            // test engine's deliberate crash.
            "wsv_fault_segv" => unsafe {
                libc::raise(libc::SIGSEGV);
            },
            "wsv_fault_abort" => std::process::abort(),
            "wsv_fault_taint" => TAINTED.store(true, std::sync::atomic::Ordering::Relaxed),
            // SAFETY: raise has no memory-safety preconditions; the SIGSEGV is this
            // test engine's deliberate crash.
            "wsv_fault_tainted" if TAINTED.load(std::sync::atomic::Ordering::Relaxed) => unsafe {
                libc::raise(libc::SIGSEGV);
            },
            "wsv_fault_spin" => loop {
                std::hint::spin_loop();
            },
            "wsv_fault_slow" => std::thread::sleep(std::time::Duration::from_millis(1500)),
            "wsv_fault_wedge" => {
                WEDGED.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err((Trap::Unreachable, "faulty: wedged".into()));
            }
            "wsv_fault_oom" => {
                // Reserve without touching every page: the memory limit counts
                // what is reserved, so this fails at once even on a busy machine.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut chunk = Vec::with_capacity(64 << 20);
                    chunk.push(1u8);
                    hoard.push(std::hint::black_box(chunk));
                }
            }
            _ => {}
        }
        let result = self.inner.call(export, args);
        match (export, result) {
            ("wsv_fault_value", Ok(mut vals)) => {
                match vals.first_mut() {
                    Some(Val::I32(x)) => *x = x.wrapping_add(1),
                    Some(Val::ExternRef(r)) => *r = Some(r.map_or(0, |id| id + 1)),
                    Some(Val::FuncRef { non_null }) => *non_null = !*non_null,
                    _ => {}
                }
                Ok(vals)
            }
            ("wsv_fault_no_trap", Err(_)) => Ok(vec![]),
            ("wsv_fault_trap_kind", Err((_, m))) => {
                Err((Trap::Unreachable, format!("faulty: {m}")))
            }
            (_, r) => r,
        }
    }

    fn global(&mut self, name: &str) -> Option<Val> {
        let v = self.inner.global(name)?;
        Some(match (self.last.as_str(), v) {
            ("wsv_fault_global", Val::I32(x)) => Val::I32(x ^ 0x40),
            ("wsv_fault_global", Val::I64(x)) => Val::I64(x ^ 0x40),
            _ => v,
        })
    }

    fn memory(&mut self, name: &str) -> Option<MemorySnapshot> {
        let mut m = self.inner.memory(name)?;
        if self.last == "wsv_fault_memory" {
            m.hash = format!("{}-altered", m.hash);
        }
        Some(m)
    }
}
