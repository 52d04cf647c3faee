//! WAMR (wasm-micro-runtime), the runtime under test, in several modes.
//!
//! `build.rs` compiles WAMR once per mode and links each build behind the C
//! shim in `csrc/wsv_shim.{h,c}`; each build exports only its API table
//! (`wsv_api_<mode>`), so all modes live in one process. One [`Wamr`] type
//! drives any mode; the mode only picks the table (and, for AoT, compiles
//! wasm to `.aot` before loading).
//!
//! The `classic`, `fast` and `aot` builds have hardware bounds checks off (no
//! signal handlers, no guard pages), so they share a process with wasmtime;
//! their AoT code is therefore always compiled with software bounds checks
//! (the shim refuses anything else). The `-hw` builds (`classic-hw`,
//! `fast-hw`, `aot-hw`) are WAMR's x86-64 default: hardware bounds checks, an
//! 8 GiB guard reservation per linear memory and WAMR's own SIGSEGV/SIGBUS
//! handlers; they run in worker processes only, and `aot-hw` compiles without
//! software bounds checks by default (the supported combination there). After
//! every call a `-hw` instance checks that its guard region is still
//! inaccessible (see [`crate::exec::guard`]).

use crate::exec::{Engine, Instance, MemorySnapshot, Trap};
use crate::wasm::Val;
use std::ffi::{c_char, c_void, CString};

// WAMR_ROOT, WAMR_VERSION, WAMR_MODES, WAMR_ASAN, WAMR_TREE, WAMR_BUILD_TREE,
// WAMR_COVERAGE_DIRS, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/wamr_info.rs"));

mod aot;
pub mod coverage;
mod ffi;
mod modes;
pub(crate) mod toolchain;
pub(crate) mod tree;

/// Default WAMR operand/frame stack size per instance (bytes).
pub const DEFAULT_STACK_SIZE: u32 = 2 * 1024 * 1024;

/// Stack sizes a module may be run with: the default half the time, else
/// smaller ones down to a quarter of iwasm's default, where WAMR's
/// stack-overflow checks fire early (an overflow is implementation-defined
/// and poisons the comparison; a crash or a wrong value is not).
const STACK_SIZES: [u32; 8] = [
    DEFAULT_STACK_SIZE,
    DEFAULT_STACK_SIZE,
    DEFAULT_STACK_SIZE,
    DEFAULT_STACK_SIZE,
    1024 * 1024,
    256 * 1024,
    64 * 1024,
    16 * 1024,
];

/// The stack size WAMR runs `wasm` with: drawn from its bytes, so a finding
/// reproduces with the same size (reports pass it to iwasm).
pub fn stack_size_for(wasm: &[u8]) -> u32 {
    STACK_SIZES[(fnv64(wasm) >> 24) as usize % STACK_SIZES.len()]
}

// ---- modes ----

use crate::wasm::fnv64;
pub use aot::{compile_aot, compile_aot_in, compile_default, AotOptions, CALL_STACK_FEATURES};
use ffi::{
    api, cstr, err_string, init, shim_bits, val_from, WsvApi, ERR_LEN, KIND_NONE, MAX_RESULTS,
};
pub use modes::{EngineSpec, Kind, Mode, ModeSpec, FEATURE_FLAGS};

use crate::engines::EngineInfo;
use crate::exec::Provenance as P;
use crate::exec::TOOLCHAIN_ERROR;
use crate::wasm::features::FeatureSet;

/// WAMR functions that only carry a call into Wasm code (the embedding API,
/// native-call trampolines, the hardware-bounds wrapper, the start function's
/// and the instantiation's path): a crash is the same root cause whether a
/// start function or an exported call reached it.
const CALL_GLUE: &[&str] = &[
    // invoke_native, and the AoT quick-call thunks (invoke_IiI_v, ...).
    "invoke_",
    "wasm_runtime_call_wasm",
    "wasm_runtime_invoke_native",
    "call_wasm_with_hw_bound_check",
    "aot_call_function",
    "wasm_call_function",
    "shim_call",
    "wasm_interp_call_wasm",
    "execute_post_instantiate_functions",
    "wasm_runtime_instantiate",
    "shim_instantiate",
    "wsv_",
];

/// What a mode runs: tail calls and shared memory with atomics everywhere,
/// memory64 where the mode table says; SIMD in AoT, and in the fast
/// interpreter where the build had SIMDe 0.8.2 (build.rs `simde_dir`).
const fn features(mode: &ModeSpec) -> FeatureSet {
    FeatureSet {
        tail_call: true,
        threads: true,
        memory64: mode.memory64,
        simd: match mode.kind {
            Kind::Classic => false,
            Kind::Fast => cfg!(wsv_fast_simd),
            Kind::Aot => true,
        },
        ..FeatureSet::BASE
    }
}

/// The code that runs a module: an interpreter runs the same code under
/// either bounds check; AoT code compiled without software bounds checks
/// (`aot-hw`) is code of its own.
const fn code(mode: &ModeSpec) -> &'static str {
    match (mode.kind, mode.hw_bounds) {
        (Kind::Classic, _) => "wamr-classic",
        (Kind::Fast, _) => "wamr-fast",
        (Kind::Aot, false) => "wamr-aot",
        (Kind::Aot, true) => "wamr-aot-hw",
    }
}

const fn engine_info(e: &EngineSpec) -> EngineInfo {
    let mode = e.mode.spec();
    let aot = matches!(mode.kind, Kind::Aot);
    EngineInfo {
        name: e.name,
        provenance: if aot { P::AotEmitted } else { P::Wasm },
        mode_feature: Some(match mode.kind {
            Kind::Classic => "classic-interpreter",
            Kind::Fast => "fast-interpreter",
            Kind::Aot => "aot",
        }),
        // Hardware bounds checks install WAMR's own signal handlers.
        in_process_ok: !mode.hw_bounds,
        hardware_bounds: mode.hw_bounds,
        code: code(mode),
        runtime: "wamr",
        crash_glue: CALL_GLUE,
        features: features(mode),
        wasi: true,
        about: e.about,
    }
}

/// WAMR's runtimes under test, one per row of the engine table.
pub static ENGINES: [EngineInfo; modes::ENGINE_SPECS.len()] = {
    let mut out = [const { engine_info(&modes::ENGINE_SPECS[0]) }; modes::ENGINE_SPECS.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = engine_info(&modes::ENGINE_SPECS[i]);
        i += 1;
    }
    out
};

/// WAMR's AoT runtime given an .aot whose bytes were changed after emission:
/// trusted input by policy (P4), so whatever it does is a bug.
pub static AOT_MANIPULATED: EngineInfo = EngineInfo {
    name: "wamr-aot",
    provenance: P::AotManipulated,
    mode_feature: Some("aot"),
    in_process_ok: false,
    hardware_bounds: false,
    code: "wamr-aot-manipulated",
    runtime: "wamr",
    crash_glue: CALL_GLUE,
    features: features(Mode::Aot.spec()),
    wasi: false,
    about: "WAMR AoT runtime loading manipulated .aot files",
};

/// The engine that loads `.aot` files as they are (manipulated ones, ones
/// given to triage) besides compiling `.wasm` itself.
pub const AOT_ENGINE: &str = "wamr-aot";

/// One mode per kind of WAMR code (classic, fast, AoT), as `wasmsieve bench`
/// measures them by default.
pub const BENCH_MODES: &[&str] = &["wamr-classic", "wamr-fast", AOT_ENGINE];

/// Whether a WAMR engine is built into this binary; `None` for other names.
pub fn is_built(name: &str) -> Option<bool> {
    EngineSpec::find(name).map(|e| e.mode.is_built())
}

/// Creates a WAMR engine by name; `None` when the name is not WAMR's.
pub fn create(name: &str) -> Option<anyhow::Result<Box<dyn Engine>>> {
    let spec = EngineSpec::find(name)?;
    let made = if spec.draws_levels {
        Wamr::aot_drawing_options()
    } else {
        Wamr::new(spec.mode)
    };
    Some(
        made.map(|w| Box::new(w) as Box<dyn Engine>)
            .map_err(anyhow::Error::msg),
    )
}

/// Whether `options` are AoT compiler options the WAMR engine `name` can
/// be pinned to; `None` for names that are not a WAMR AoT engine's.
pub fn check_compile_options(name: &str, options: &str) -> Option<Result<(), String>> {
    let mode = EngineSpec::find(name)
        .map(|e| e.mode)
        .filter(|m| m.is_aot())?;
    Some(AotOptions::parse(mode, options).map(drop))
}

/// Engine names of the modes built into this binary ("wamr-classic", ...).
pub fn available() -> Vec<&'static str> {
    Mode::built().into_iter().map(Mode::engine_name).collect()
}

/// What the binary runs: ("wamr-root", path), ("wamr-version", x.y.z),
/// ("wamr-asan", bool), then one ("wamr-<mode>", "<version> <cmake flags>")
/// per built mode.
pub fn build_info() -> Vec<(String, String)> {
    let mut v = vec![
        ("wamr-root".to_string(), WAMR_ROOT.to_string()),
        ("wamr-version".to_string(), WAMR_VERSION.to_string()),
        ("wamr-tree".to_string(), WAMR_TREE.to_string()),
        ("wamr-asan".to_string(), WAMR_ASAN.to_string()),
    ];
    for m in Mode::ALL {
        match api(m) {
            Some(a) => v.push((
                m.engine_name().to_string(),
                format!("{} {}", cstr(a.version), cstr(a.flags)),
            )),
            None => v.push((m.engine_name().to_string(), "not built".to_string())),
        }
    }
    v
}

// ---- traps ----

/// Maps a WAMR exception string (with or without the "Exception: " prefix)
/// onto the shared trap vocabulary. The strings are WAMR's `exception_msgs[]`
/// (core/iwasm/common/wasm_runtime_common.c) and the interpreters' literals.
pub fn trap_from_message(msg: &str) -> Trap {
    // Calls give "Exception: <msg>"; instantiation prefixes it with
    // "WASM module instantiate failed: " (start function, segment traps).
    let m = msg.trim();
    // ("AOT module instantiate failed: " in the AoT runtime).
    let m = m
        .split_once("module instantiate failed: ")
        .map_or(m, |(_, t)| t);
    let m = m.rsplit_once("Exception: ").map_or(m, |(_, t)| t).trim();
    match m {
        "unreachable" => Trap::Unreachable,
        "out of bounds memory access" => Trap::MemoryOutOfBounds,
        "unaligned atomic" => Trap::UnalignedAtomic,
        "expected shared memory" => Trap::WaitOnUnsharedMemory,
        "integer divide by zero" => Trap::IntegerDivisionByZero,
        "integer overflow" => Trap::IntegerOverflow,
        "invalid conversion to integer" => Trap::BadConversionToInteger,
        "indirect call type mismatch" => Trap::IndirectCallTypeMismatch,
        // call_indirect through a null slot.
        "uninitialized element" => Trap::IndirectCallToNull,
        // WAMR raises "undefined element" when the call_indirect index is
        // >= the table size (the spec suite's wording for that case), i.e.
        // a table bounds trap (wasmtime: TableOutOfBounds).
        "undefined element" | "out of bounds table access" => Trap::TableOutOfBounds,
        "wasm operand stack overflow"
        | "native stack overflow"
        | "wasm auxiliary stack overflow" => Trap::StackOverflow,
        "allocate memory failed" | "out of memory" => Trap::ResourceLimit,
        "instruction limit exceeded" => Trap::OutOfFuel,
        _ if m.starts_with("null ") => Trap::NullReference,
        _ if m.starts_with("failed to grow") || m.starts_with("allocate memory failed") => {
            Trap::ResourceLimit
        }
        _ => Trap::Other(m.to_string()),
    }
}

// ---- engine ----

/// One WAMR mode as a wasmsieve engine.
pub struct Wamr {
    mode: Mode,
    api: &'static WsvApi,
    /// The shim's module handle (null when nothing is loaded).
    module: *mut c_void,
    /// `.aot` bytes of the module loaded last (AoT mode).
    aot: Option<Vec<u8>>,
    aot_options: AotOptions,
    /// Draw the compiler options per module (engine `wamr-aot-opts`).
    draw_options: bool,
    /// Options every module is compiled with instead (a finding's).
    pinned: Option<AotOptions>,
    stack_size: u32,
    /// The last few compilations, newest last: the recoverability probe
    /// after every trapping module, crash re-runs and shrink candidates load
    /// the same bytes again, and an LLVM compile dwarfs everything else.
    compiled: Vec<(u64, AotOptions, Vec<u8>)>,
    /// Exported functions of the module loaded last (none for a raw .aot):
    /// a funcref argument is its function's index in WAMR's embedding.
    func_exports: Vec<(String, u32)>,
    /// The WASI sandbox of the next instance, and whether the module loaded
    /// last imports WASI (it is never instantiated without a sandbox: WAMR
    /// would hand it this process's own stdio, a worker's wire).
    wasi: Option<crate::generate::wasi::WasiSetup>,
    imports_wasi: bool,
    /// The instance's stdin, stdout and stderr: /dev/null (WAMR routes
    /// stdout writes through its printf hook, quiet here).
    stdio: Option<std::fs::File>,
}

/// How many compilations an AoT engine keeps.
const COMPILED_KEEP: usize = 4;

/// The cache key of a module's bytes.
fn bytes_key(wasm: &[u8]) -> u64 {
    fnv64(wasm)
}

// WAMR modules are not tied to the thread that loaded them; the exec env's
// native stack boundary is refreshed on every call.
// SAFETY: assumes (as above) WAMR lets a module handle move between threads; Wamr
// is !Sync (raw pointers), so one thread uses it at a time.
unsafe impl Send for Wamr {}

impl Wamr {
    /// An engine for `mode`; `Err` when the mode was not built in or the
    /// runtime does not initialize.
    pub fn new(mode: Mode) -> Result<Self, String> {
        let api = init(mode)?;
        let aot_options = AotOptions::for_mode(mode);
        Ok(Wamr {
            mode,
            api,
            module: std::ptr::null_mut(),
            aot: None,
            aot_options,
            draw_options: false,
            pinned: None,
            stack_size: DEFAULT_STACK_SIZE,
            compiled: vec![],
            func_exports: vec![],
            wasi: None,
            imports_wasi: false,
            stdio: None,
        })
    }

    /// AoT mode whose compiler options are drawn per module (supported sets
    /// only: software bounds checks always on, see [`AotOptions`]).
    pub fn aot_drawing_options() -> Result<Self, String> {
        let mut w = Wamr::new(Mode::Aot)?;
        w.draw_options = true;
        Ok(w)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn aot_options(&self) -> AotOptions {
        self.aot_options
    }

    /// The options `wasm` is compiled with: the pinned ones, else the mode's
    /// choice for these bytes.
    fn options_for(&self, wasm: &[u8]) -> AotOptions {
        match (self.pinned, self.draw_options) {
            (Some(pinned), _) => pinned,
            (None, true) => AotOptions::drawn_from(wasm),
            (None, false) => AotOptions::for_module(self.mode, wasm),
        }
    }

    fn unload(&mut self) {
        if !self.module.is_null() {
            // SAFETY: a module from this api's load; no instance borrows it
            // (instances borrow `self`).
            unsafe { (self.api.unload)(self.module) };
            self.module = std::ptr::null_mut();
        }
    }

    /// Loads bytes as they are: wasm for the interpreters, `.aot` for AoT.
    fn load_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.unload();
        let len = u32::try_from(bytes.len()).map_err(|_| "module too large".to_string())?;
        let mut err = [0 as c_char; ERR_LEN];
        // SAFETY: the shim copies the buffer.
        let m = unsafe { (self.api.load)(bytes.as_ptr(), len, err.as_mut_ptr(), ERR_LEN as u32) };
        if m.is_null() {
            return Err(err_string(&err));
        }
        self.module = m;
        Ok(())
    }

    /// Loads raw `.aot` bytes (AoT mode only), e.g. a manipulated compiler
    /// output; kept as the `input.aot` artifact.
    pub fn load_aot(&mut self, aot: &[u8]) -> Result<(), String> {
        if !self.mode.is_aot() {
            return Err(format!(
                "{} does not load .aot files",
                self.mode.engine_name()
            ));
        }
        self.aot = Some(aot.to_vec());
        self.load_raw(aot)
    }
}

impl Wamr {
    /// Gives the loaded module its WASI sandbox (the preopened root, stdio
    /// on /dev/null) before it is instantiated.
    fn give_wasi(&mut self) -> Result<(), (Trap, String)> {
        let refuse = |why: String| Err((Trap::Unlinkable, why));
        let Some(setup) = &self.wasi else {
            return refuse("a WASI module runs only with a sandbox (not comparable)".into());
        };
        let stdio = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            Ok(f) => self.stdio.insert(f),
            Err(e) => return refuse(format!("cannot open /dev/null: {e}")),
        };
        let cstr =
            |s: &str| std::ffi::CString::new(s).map_err(|e| (Trap::Unlinkable, e.to_string()));
        let root = cstr(&setup.root.to_string_lossy())?;
        let guest = cstr(crate::generate::wasi::PREOPEN)?;
        use std::os::fd::AsRawFd;
        // SAFETY: a live module; the shim copies the strings; the fd stays
        // open in `self.stdio` until the next instance's.
        let status = unsafe {
            (self.api.set_wasi)(
                self.module,
                root.as_ptr(),
                guest.as_ptr(),
                stdio.as_raw_fd(),
            )
        };
        match status {
            0 => Ok(()),
            _ => refuse(format!("{} has no WASI", self.mode.engine_name())),
        }
    }
}

impl Drop for Wamr {
    fn drop(&mut self) {
        self.unload();
    }
}

impl Engine for Wamr {
    fn name(&self) -> &str {
        self.mode.engine_name()
    }

    fn load(&mut self, wasm: &[u8]) -> Result<(), String> {
        self.aot = None;
        self.stack_size = stack_size_for(wasm);
        self.func_exports = crate::wasm::func_exports(wasm);
        self.imports_wasi = crate::generate::wasi::imports_wasi(wasm);
        if !self.mode.is_aot() {
            return self.load_raw(wasm);
        }
        // Already an .aot (e.g. manipulated after emission): load it as is;
        // the campaign, not the engine, knows its provenance.
        if wasm.starts_with(b"\0aot") {
            return self.load_aot(wasm);
        }
        self.unload();
        self.aot_options = self.options_for(wasm);
        let key = bytes_key(wasm);
        let opts = self.aot_options;
        let aot = match self
            .compiled
            .iter()
            .position(|(k, o, _)| *k == key && *o == opts)
        {
            Some(i) => {
                let hit = self.compiled.remove(i);
                let aot = hit.2.clone();
                self.compiled.push(hit);
                aot
            }
            None => {
                let aot = compile_aot_in(self.mode, wasm, &opts)
                    .map_err(|e| format!("{TOOLCHAIN_ERROR}wamrc: {e}"))?;
                if self.compiled.len() == COMPILED_KEEP {
                    self.compiled.remove(0);
                }
                self.compiled.push((key, opts, aot.clone()));
                aot
            }
        };
        self.load_aot(&aot)
    }

    fn instantiate(&mut self) -> Result<Box<dyn Instance + '_>, (Trap, String)> {
        if self.module.is_null() {
            return Err((
                Trap::Other("no module loaded".into()),
                "no module loaded".into(),
            ));
        }
        if self.imports_wasi {
            self.give_wasi()?;
        }
        let mut err = [0 as c_char; ERR_LEN];
        // SAFETY: module is live; heap size 0 (no app heap).
        let inst = unsafe {
            (self.api.instantiate)(
                self.module,
                self.stack_size,
                0,
                err.as_mut_ptr(),
                ERR_LEN as u32,
            )
        };
        if inst.is_null() {
            let msg = err_string(&err);
            return Err((trap_from_message(&msg), msg));
        }
        let instance = WamrInstance {
            api: self.api,
            inst,
            func_exports: &self.func_exports,
        };
        instance.publish_region();
        Ok(Box::new(instance))
    }

    fn set_wasi(&mut self, setup: Option<&crate::generate::wasi::WasiSetup>) {
        self.wasi = setup.cloned();
        if setup.is_none() {
            self.stdio = None;
        }
    }

    fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        self.aot
            .iter()
            .map(|a| ("input.aot".to_string(), a.clone()))
            .collect()
    }

    fn compile_options(&self, wasm: &[u8]) -> Option<String> {
        (self.mode.is_aot() && !wasm.starts_with(b"\0aot"))
            .then(|| self.options_for(wasm).wamrc_args())
    }

    fn pin_compile_options(&mut self, options: Option<&str>) -> Result<(), String> {
        self.pinned = options
            .map(|o| AotOptions::parse(self.mode, o))
            .transpose()?;
        Ok(())
    }
}

/// An instance; borrows its engine so the module outlives it.
pub struct WamrInstance<'a> {
    api: &'static WsvApi,
    inst: *mut c_void,
    func_exports: &'a [(String, u32)],
}

impl Drop for WamrInstance<'_> {
    fn drop(&mut self) {
        crate::exec::guard::forget();
        // SAFETY: created by this api's instantiate, dropped once.
        unsafe { (self.api.deinstantiate)(self.inst) };
    }
}

impl WamrInstance<'_> {
    /// The default memory's range: (base, accessible length, reserved length).
    fn memory_range(&self) -> Option<(u64, u64, u64)> {
        let (mut base, mut size, mut reserved) = (0u64, 0u64, 0u64);
        // SAFETY: a live instance; out-params are valid.
        let rc =
            unsafe { (self.api.memory_region)(self.inst, &mut base, &mut size, &mut reserved) };
        (rc == 0).then_some((base, size, reserved))
    }

    /// Tells the worker's crash handler where this instance's memory is (its
    /// fault-region classification), after instantiation and every call
    /// (memory.grow moves the end, and without guard regions the base too).
    fn publish_region(&self) {
        match self.memory_range() {
            Some((base, size, reserved)) => crate::exec::guard::publish(base, size, reserved),
            None => crate::exec::guard::publish_none(),
        }
    }

    /// With hardware bounds checks: the guard region after the accessible
    /// memory must still be inaccessible; anything else is reported as a
    /// sandbox escape and the process dies (in a worker: a crash finding).
    fn check_guard(&self) {
        if self.api.hw_bound_check == 0 {
            return;
        }
        if let Some((base, size, reserved)) = self.memory_range() {
            if let Err(breach) = crate::exec::guard::guard_intact(base, size, reserved) {
                crate::exec::guard::report_breach(&breach);
            }
        }
    }
}

impl Instance for WamrInstance<'_> {
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, (Trap, String)> {
        let name = CString::new(export).map_err(|_| {
            (
                Trap::Other("export name contains NUL".into()),
                "export name contains NUL".into(),
            )
        })?;
        let bits = args
            .iter()
            .map(|a| match *a {
                Val::FuncExport(_) => {
                    crate::exec::func_export(self.func_exports, *a).map(|f| u64::from(f.1))
                }
                _ => shim_bits(*a),
            })
            .collect::<Result<Vec<u64>, _>>()?;
        let mut results = [0u64; MAX_RESULTS];
        let mut kinds = [KIND_NONE; MAX_RESULTS];
        let mut err = [0 as c_char; ERR_LEN];
        // SAFETY: all buffers are valid for the lengths given.
        let rc = unsafe {
            (self.api.call)(
                self.inst,
                name.as_ptr(),
                bits.as_ptr(),
                bits.len() as u32,
                results.as_mut_ptr(),
                MAX_RESULTS as u32,
                kinds.as_mut_ptr(),
                err.as_mut_ptr(),
                ERR_LEN as u32,
            )
        };
        self.publish_region();
        self.check_guard();
        match rc {
            0 => Ok(kinds
                .iter()
                .zip(results)
                .map_while(|(&k, b)| val_from(k, b))
                .collect()),
            1 => {
                let msg = err_string(&err);
                Err((trap_from_message(&msg), msg))
            }
            _ => {
                let msg = format!("wamr shim refused call to {export:?}: {}", err_string(&err));
                Err((Trap::Other(msg.clone()), msg))
            }
        }
    }

    fn global(&mut self, name: &str) -> Option<Val> {
        let name = CString::new(name).ok()?;
        let (mut kind, mut bits) = (0u8, 0u64);
        // SAFETY: out-params are valid.
        let rc = unsafe { (self.api.global)(self.inst, name.as_ptr(), &mut kind, &mut bits) };
        if rc != 0 {
            return None;
        }
        val_from(kind, bits)
    }

    fn memory(&mut self, name: &str) -> Option<MemorySnapshot> {
        let cname = CString::new(name).ok()?;
        let mut len = 0u64;
        // SAFETY: the memory stays valid while the instance lives and no wasm runs.
        let base = unsafe { (self.api.memory)(self.inst, cname.as_ptr(), &mut len) };
        if base.is_null() {
            return None;
        }
        // SAFETY: the shim returned `len` bytes at `base` (a dummy when 0); `&mut self` keeps wasm
        // from running while the slice is read (assumes no other thread runs this instance).
        let bytes = unsafe { std::slice::from_raw_parts(base, len as usize) };
        Some(MemorySnapshot::of(name, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::aot::{ALL_CALL_STACK_FEATURES, CALL_STACK_BOUNDS_CHECKS};
    use super::*;

    #[test]
    fn aot_modes_draw_supported_options_per_module() {
        let modules: Vec<Vec<u8>> = (0u32..200).map(|i| i.to_le_bytes().to_vec()).collect();
        for mode in [Mode::Aot, Mode::AotHw] {
            let opts: Vec<AotOptions> = modules
                .iter()
                .map(|m| AotOptions::for_module(mode, m))
                .collect();
            let defaults = opts
                .iter()
                .filter(|o| **o == AotOptions::for_mode(mode))
                .count();
            // About half keep the defaults; the rest reach every level.
            assert!(
                (60..=140).contains(&defaults),
                "{mode:?}: {defaults} of 200"
            );
            for level in 0..4 {
                assert!(
                    opts.iter().any(|o| o.opt_level == level),
                    "{mode:?} O{level}"
                );
                assert!(
                    opts.iter().any(|o| o.size_level == level),
                    "{mode:?} s{level}"
                );
            }
            // Software bounds checks can only be dropped where hardware checks them.
            let unchecked = opts.iter().any(|o| o.bounds_checks == 0);
            assert_eq!(unchecked, mode == Mode::AotHw, "{mode:?}");
            assert!(opts.iter().all(|o| o.bounds_checks <= 1));
            // Stack frames only where the runtime has their side: wamrc's
            // default features and subsets of them.
            let frames: Vec<u8> = opts.iter().filter_map(|o| o.call_stack).collect();
            assert_eq!(frames.is_empty(), mode == Mode::AotHw, "{mode:?}");
            if mode == Mode::Aot {
                assert!(frames.contains(&ALL_CALL_STACK_FEATURES), "{frames:?}");
                assert!(frames.iter().any(|f| *f != ALL_CALL_STACK_FEATURES));
                // Never unchecked frames (a false heap corruption, met in a campaign).
                assert!(frames.iter().all(|f| f & CALL_STACK_BOUNDS_CHECKS != 0));
            }
            // The same bytes, the same options: findings reproduce.
            assert_eq!(opts[7], AotOptions::for_module(mode, &modules[7]));
        }
    }

    /// A finding's options, written as wamrc's arguments, read back the same
    /// for every set a mode draws; sets a build cannot run are refused.
    #[test]
    fn recorded_options_read_back_and_unsupported_ones_are_refused() {
        for mode in [Mode::Aot, Mode::AotHw] {
            for i in 0u32..300 {
                let o = AotOptions::for_module(mode, &i.to_le_bytes());
                assert_eq!(AotOptions::parse(mode, &o.wamrc_args()), Ok(o), "{mode:?}");
            }
        }
        let refused = [
            (Mode::Aot, "--bounds-checks=0 --opt-level=3", "hardware"),
            (
                Mode::AotHw,
                "--bounds-checks=0 --enable-dump-call-stack",
                "call-stack",
            ),
            (Mode::Aot, "--bounds-checks=1 --opt-level=4", "0..=3"),
            (Mode::Aot, "--bounds-checks=1 --size-level=x", "0..=3"),
            (
                Mode::Aot,
                "--bounds-checks=1 --enable-simd",
                "--enable-segue",
            ),
            (
                Mode::Aot,
                "--bounds-checks=1 --call-stack-features=ip",
                "bounds-checks",
            ),
            (
                Mode::Aot,
                "--bounds-checks=1 --call-stack-features=bounds-checks,pc",
                "unknown",
            ),
        ];
        for (mode, args, says) in refused {
            let e = AotOptions::parse(mode, args).unwrap_err();
            assert!(e.contains(says), "{args}: {e}");
        }
        assert!(
            check_compile_options("wamr-aot-opts", "--bounds-checks=1 --opt-level=0")
                .unwrap()
                .is_ok()
        );
        assert!(check_compile_options("wamr-fast", "--bounds-checks=1").is_none());
        let interp = crate::engines::check_compile_options("wamr-fast", "--bounds-checks=1");
        assert!(interp.unwrap_err().contains("nothing ahead of time"));
        assert!(check_compile_options("wasmtime", "").is_none());
    }

    /// Code with stack frames (wamrc's default features, and subsets that
    /// make wamrc choose tiny frames) returns and traps as code without;
    /// each trap makes the runtime build and dump its call stack. The build
    /// without the runtime's side refuses such code.
    #[test]
    #[cfg(not(wsv_no_aot))]
    fn call_stack_frames_run_and_trap_like_plain_code() {
        let wasm = wat::parse_str(
            r#"(module
              (memory 1)
              (func $f (param i32 i64) (result i64)
                (local f64)
                local.get 0
                i32.eqz
                if (result i64)
                  local.get 1
                else
                  local.get 0 i32.const 1 i32.sub
                  local.get 1 local.get 0 i64.extend_i32_u i64.add
                  call $f
                end)
              (func (export "sum") (param i32) (result i64)
                local.get 0 i64.const 0 call $f)
              (func (export "trap") (param i32) (result i32)
                block block block
                  local.get 0 br_table 0 1 2
                end i32.const 65536 i32.load return
                end unreachable
                end i32.const 7))"#,
        )
        .unwrap();
        let plain = AotOptions::default();
        for call_stack in [
            None,
            Some(ALL_CALL_STACK_FEATURES),
            Some(0b00001),
            Some(0b10001),
            Some(0b01011),
        ] {
            let opts = AotOptions {
                call_stack,
                ..plain
            };
            let aot = compile_aot(&wasm, &opts).unwrap_or_else(|e| panic!("{call_stack:?}: {e}"));
            let mut e = Wamr::new(Mode::Aot).unwrap();
            e.load_aot(&aot).unwrap();
            let mut i = e.instantiate().map_err(|e| e.1).unwrap();
            let sum = i.call("sum", &[Val::I32(100)]);
            assert_eq!(sum, Ok(vec![Val::I64(5050)]), "{call_stack:?}");
            let traps: Vec<_> = (0..3)
                .map(|k| i.call("trap", &[Val::I32(k)]).map_err(|t| t.0))
                .collect();
            let want = [
                Err(Trap::MemoryOutOfBounds),
                Err(Trap::Unreachable),
                Ok(vec![Val::I32(7)]),
            ];
            assert_eq!(traps, want, "{call_stack:?}");
        }
        if Mode::AotHw.is_built() {
            let opts = AotOptions {
                bounds_checks: 0,
                call_stack: Some(ALL_CALL_STACK_FEATURES),
                ..plain
            };
            let err = compile_aot_in(Mode::AotHw, &wasm, &opts).unwrap_err();
            assert!(err.contains("WAMR_BUILD_DUMP_CALL_STACK"), "{err}");
        }
        let unchecked = AotOptions {
            call_stack: Some(ALL_CALL_STACK_FEATURES & !CALL_STACK_BOUNDS_CHECKS),
            ..plain
        };
        let err = compile_aot(&wasm, &unchecked).unwrap_err();
        assert!(err.contains("bounds-checks"), "{err}");
    }

    #[test]
    fn stack_sizes_are_drawn_per_module_and_stay_put() {
        let sizes: std::collections::BTreeSet<u32> = (0u32..200)
            .map(|i| stack_size_for(&i.to_le_bytes()))
            .collect();
        assert!(
            sizes.contains(&DEFAULT_STACK_SIZE) && sizes.contains(&(16 * 1024)),
            "{sizes:?}"
        );
        assert_eq!(sizes.len(), 5, "{sizes:?}");
        // The same bytes, the same size: findings reproduce.
        assert_eq!(stack_size_for(b"\0asm"), stack_size_for(b"\0asm"));
    }

    const ADD: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add))"#;
    const DIV: &str = r#"(module (func (export "div") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.div_s))"#;
    const OOB: &str = r#"(module (memory (export "mem") 1)
        (global (export "g") (mut i64) (i64.const -5))
        (func (export "load") (param i32) (result i32) local.get 0 i32.load)
        (func (export "none")))"#;

    /// The software-checked modes: the `-hw` ones install signal handlers and
    /// run on their own thread in worker processes (tests/isolation.rs).
    fn engines() -> Vec<Wamr> {
        let modes = Mode::built();
        assert!(modes.contains(&Mode::Classic) && modes.contains(&Mode::Fast));
        assert!(modes.contains(&Mode::ClassicHw) && modes.contains(&Mode::FastHw));
        modes
            .into_iter()
            .filter(|m| !m.hw_bound_check())
            .map(|m| Wamr::new(m).unwrap())
            .collect()
    }

    #[test]
    fn mode_names() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_name(m.engine_name()), Some(m));
            assert_eq!(Mode::from_name(m.name()), Some(m));
            assert!(
                crate::engines::info(m.engine_name()).is_some(),
                "{m:?} registered"
            );
            assert_eq!(m.hw_bound_check(), m.name().ends_with("-hw"));
        }
        for m in Mode::built() {
            assert_eq!(
                api(m).unwrap().hw_bound_check != 0,
                m.hw_bound_check(),
                "{m:?}"
            );
        }
    }

    #[test]
    fn add() {
        for mut e in engines() {
            e.load(&wat::parse_str(ADD).unwrap()).unwrap();
            let mut i = e.instantiate().map_err(|e| e.1).unwrap();
            assert_eq!(
                i.call("add", &[Val::I32(2), Val::I32(40)]).unwrap(),
                vec![Val::I32(42)]
            );
            assert_eq!(
                i.call("add", &[Val::I32(-1), Val::I32(i32::MIN)]).unwrap(),
                vec![Val::I32(i32::MAX)]
            );
            assert!(i.call("nope", &[]).is_err());
            assert!(i.call("add", &[Val::I32(1)]).is_err());
            drop(i);
            if e.mode() == Mode::Aot {
                let arts = e.artifacts();
                let aot = arts
                    .iter()
                    .find(|a| a.0 == "input.aot")
                    .expect("the emitted .aot is kept");
                assert!(aot.1.starts_with(b"\0aot"));
                let wasm = wat::parse_str(ADD).unwrap();
                let opts = e
                    .compile_options(&wasm)
                    .expect("the compiler options are told");
                assert!(opts.contains("--bounds-checks=1"), "{opts}");
            }
        }
    }

    #[test]
    fn div_by_zero() {
        for mut e in engines() {
            e.load(&wat::parse_str(DIV).unwrap()).unwrap();
            let name = e.name().to_string();
            let mut i = e.instantiate().map_err(|e| e.1).unwrap();
            let (trap, msg) = i.call("div", &[Val::I32(1), Val::I32(0)]).unwrap_err();
            assert_eq!(trap, Trap::IntegerDivisionByZero, "{name}: {msg}");
            let (trap, _) = i
                .call("div", &[Val::I32(i32::MIN), Val::I32(-1)])
                .unwrap_err();
            assert_eq!(trap, Trap::IntegerOverflow);
            // The instance stays usable after a trap.
            assert_eq!(
                i.call("div", &[Val::I32(7), Val::I32(2)]).unwrap(),
                vec![Val::I32(3)]
            );
        }
    }

    #[test]
    fn out_of_bounds_load() {
        for mut e in engines() {
            e.load(&wat::parse_str(OOB).unwrap()).unwrap();
            let name = e.name().to_string();
            let mut i = e.instantiate().map_err(|e| e.1).unwrap();
            assert_eq!(i.call("load", &[Val::I32(0)]).unwrap(), vec![Val::I32(0)]);
            for addr in [65533, 65536, -1] {
                let (trap, msg) = i.call("load", &[Val::I32(addr)]).unwrap_err();
                assert_eq!(trap, Trap::MemoryOutOfBounds, "{name} @{addr}: {msg}");
            }
            assert_eq!(i.call("none", &[]).unwrap(), vec![]);
            assert_eq!(i.global("g"), Some(Val::I64(-5)));
            assert_eq!(i.global("nope"), None);
            let m = i.memory("mem").unwrap();
            assert_eq!(m.len, 65536);
            assert_eq!(m, MemorySnapshot::of("mem", &vec![0u8; 65536]));
        }
    }

    #[test]
    fn stack_overflow_and_indirect_calls() {
        // On a thread of its own with a main-thread-sized stack: on a 2 MiB
        // test thread, after another test ran AoT code in this process, AoT
        // recursion ran off the stack unchecked (seen on one machine only;
        // workers run calls on an 8 MiB stack).
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(stack_overflow_and_indirect_calls_on_this_thread)
            .unwrap()
            .join()
            .unwrap();
    }

    fn stack_overflow_and_indirect_calls_on_this_thread() {
        let wat = r#"(module
            (type $t (func (result i32)))
            (table 3 funcref)
            (elem (i32.const 0) $one $rec)
            (func $one (result i32) i32.const 1)
            (func $rec (export "rec") (param i32) (result i32)
                local.get 0 i32.const 1 i32.add call $rec i32.const 1 i32.add)
            (func (export "ci") (param i32) (result i32) local.get 0 call_indirect (type $t)))"#;
        for mut e in engines() {
            e.load(&wat::parse_str(wat).unwrap()).unwrap();
            let name = e.name().to_string();
            let mut i = e.instantiate().map_err(|e| e.1).unwrap();
            let (trap, msg) = i.call("rec", &[Val::I32(0)]).unwrap_err();
            assert_eq!(trap, Trap::StackOverflow, "{name}: {msg}");
            assert_eq!(i.call("ci", &[Val::I32(0)]).unwrap(), vec![Val::I32(1)]);
            let (trap, msg) = i.call("ci", &[Val::I32(1)]).unwrap_err();
            assert_eq!(trap, Trap::IndirectCallTypeMismatch, "{name}: {msg}");
            let (trap, msg) = i.call("ci", &[Val::I32(2)]).unwrap_err();
            assert_eq!(trap, Trap::IndirectCallToNull, "{name}: {msg}");
            let (trap, msg) = i.call("ci", &[Val::I32(3)]).unwrap_err();
            assert_eq!(trap, Trap::TableOutOfBounds, "{name}: {msg}");
        }
    }

    #[test]
    fn start_trap_at_instantiation() {
        let wat = r#"(module (func $s unreachable) (start $s))"#;
        for mut e in engines() {
            e.load(&wat::parse_str(wat).unwrap()).unwrap();
            let name = e.name().to_string();
            let (trap, msg) = e.instantiate().err().unwrap();
            assert_eq!(trap, Trap::Unreachable, "{name}: {msg}");
        }
    }

    #[test]
    fn rejects_invalid() {
        for mut e in engines() {
            let err = e.load(b"\0asm\x01\0\0\0\x7f").unwrap_err();
            if e.mode() == Mode::Aot {
                assert!(err.starts_with(TOOLCHAIN_ERROR), "{err}");
            }
        }
    }

    #[cfg(not(wsv_no_aot))]
    #[test]
    fn aot_refuses_no_bounds_checks() {
        let wasm = wat::parse_str(ADD).unwrap();
        let err = compile_aot(
            &wasm,
            &AotOptions {
                bounds_checks: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("bounds_checks"), "{err}");
        let aot = compile_aot(
            &wasm,
            &AotOptions {
                opt_level: 0,
                ..Default::default()
            },
        )
        .unwrap();
        let mut e = Wamr::new(Mode::Aot).unwrap();
        e.load_aot(&aot).unwrap();
        let mut i = e.instantiate().map_err(|e| e.1).unwrap();
        assert_eq!(
            i.call("add", &[Val::I32(1), Val::I32(2)]).unwrap(),
            vec![Val::I32(3)]
        );
        drop(i);
        // The aot build does not take wasm directly.
        assert!(Wamr::new(Mode::Aot).unwrap().load_aot(&wasm).is_err());
    }

    #[test]
    fn trap_strings() {
        assert_eq!(
            trap_from_message("Exception: unreachable"),
            Trap::Unreachable
        );
        assert_eq!(
            trap_from_message("uninitialized element"),
            Trap::IndirectCallToNull
        );
        assert_eq!(
            trap_from_message("Exception: native stack overflow"),
            Trap::StackOverflow
        );
        assert_eq!(
            trap_from_message("null function reference"),
            Trap::NullReference
        );
        assert_eq!(trap_from_message("weird"), Trap::Other("weird".into()));
        assert!(!available().is_empty());
        assert!(build_info()
            .iter()
            .any(|(k, v)| k == "wamr-version" && v == WAMR_VERSION));
    }
}
