//! How a maintainer reproduces a finding with stock WAMR tools: the running
//! mode in words, `iwasm` (product-mini) and `wamrc` (wamr-compiler) built
//! and invoked to match the build that found it, values and traps as `iwasm`
//! prints them, and WAMR's regression-test (`ba-issues`) names. Reports take
//! every WAMR fact from here.

use crate::engines::wamr::{self, AotOptions, EngineSpec, Kind, FEATURE_FLAGS};
use crate::exec::{CallResult, Trap};
use crate::wasm::features::FeatureSet;
use crate::wasm::Val;

/// The stock reproduction of one WAMR engine's finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockRepro {
    /// The running mode in words.
    pub title: &'static str,
    /// `WAMR_BUILD_*` definitions for `cmake -S product-mini/platforms/linux`
    /// (and wasmsieve's iwasm-like driver): the ones that differ from
    /// product-mini's defaults, for the mode and the features the module uses.
    pub iwasm_flags: Vec<(&'static str, &'static str)>,
    /// `iwasm` options: the stack size the harness ran the module with, and
    /// no app heap (WAMR would grow linear memory for one).
    pub iwasm_options: String,
    /// `wamrc` options the finding's `.aot` was compiled with (AoT modes).
    pub wamrc: Option<String>,
    /// A WASI program: iwasm needs libc-wasi and the harness's sandbox
    /// ([`StockRepro::wasi_options`]).
    pub wasi: bool,
    /// ba-issues' `mode` and `runtime` names for `running_config.json`.
    pub ba_mode: &'static str,
    pub ba_runtime: &'static str,
    /// A `build_iwasm` line for ba-issues' `build_wamr.sh` when its stock
    /// runtimes do not cover the mode.
    pub ba_build: Option<&'static str>,
}

impl StockRepro {
    /// iwasm's options for a WASI program: the environment the harness gives
    /// and the sandbox's `root` preopened under the same guest name.
    pub fn wasi_options(root: &str) -> String {
        let env: Vec<String> = crate::generate::wasi::ENV
            .iter()
            .map(|(k, v)| format!("--env={k}={v}"))
            .collect();
        format!(
            "{} --map-dir={}::{root}",
            env.join(" "),
            crate::generate::wasi::PREOPEN
        )
    }

    /// The `-D` arguments for cmake.
    pub fn iwasm_cmake(&self) -> String {
        self.iwasm_flags
            .iter()
            .map(|(k, v)| format!("-D{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How to reproduce a finding of `engine` on `wasm` (the module the report
/// gives) compiled with `pinned` (the finding's recorded compile options;
/// without them, the ones the engine draws for these bytes); `None` for
/// engines that are not WAMR's.
pub fn stock_repro(engine: &str, wasm: &[u8], pinned: Option<&str>) -> Option<StockRepro> {
    let spec = EngineSpec::find(engine)?;
    let mode = spec.mode;
    let drawn = mode.is_aot().then(|| {
        if spec.draws_levels {
            AotOptions::drawn_from(wasm)
        } else {
            AotOptions::for_module(mode, wasm)
        }
    });
    // Reports check recorded options first (`engines::check_compile_options`).
    let options = match pinned.map(|p| AotOptions::parse(mode, p)) {
        Some(Ok(o)) if mode.is_aot() => Some(o),
        _ => drawn,
    };
    let needs = FeatureSet::needed_by(wasm);
    let kind = mode.spec().kind;
    let classic = kind == Kind::Classic;
    let mut flags = mode.stock_defs();
    // WASI only for WASI programs (product-mini's default is on); extended
    // const as every wasmsieve build (product-mini's default is off); the
    // optional features the module uses, SIMD only outside the classic
    // interpreter (which also spares the fast interpreter's build its online
    // SIMDe fetch otherwise).
    let wasi = crate::generate::wasi::imports_wasi(wasm);
    if !wasi {
        flags.push(("WAMR_BUILD_LIBC_WASI", "0"));
    }
    let on = |feature: &str| needs.has(feature) && !(classic && feature == "simd");
    // SIMD is stated either way: product-mini turns it on by default.
    flags.push(("WAMR_BUILD_SIMD", if on("simd") { "1" } else { "0" }));
    flags.push(("WAMR_BUILD_EXTENDED_CONST_EXPR", "1"));
    for (feature, flag) in FEATURE_FLAGS {
        if feature != "simd" && on(feature) {
            flags.push((flag, "1"));
        }
    }
    // Code compiled with --enable-multi-thread loads only with the thread manager.
    if options.is_some_and(|o| o.multi_thread) {
        flags.push(("WAMR_BUILD_THREAD_MGR", "1"));
    }
    // Code with stack frames needs the runtime's side of them.
    if options.is_some_and(|o| o.call_stack.is_some()) {
        flags.push(("WAMR_BUILD_DUMP_CALL_STACK", "1"));
    }
    Some(StockRepro {
        title: spec.title,
        iwasm_flags: flags,
        iwasm_options: format!("--heap-size=0 --stack-size={}", wamr::stack_size_for(wasm)),
        wamrc: options.map(|o| {
            // As the harness's compiler (csrc/wsv_shim.c): stack checks follow
            // the memory bounds checks; tail calls and extended const on.
            let mut w = format!("{} --enable-extended-const", o.wamrc_args());
            if needs.has("tail-call") {
                w.push_str(" --enable-tail-call");
            }
            w
        }),
        wasi,
        ba_mode: match kind {
            Kind::Classic => "classic-interp",
            Kind::Fast => "fast-interp",
            Kind::Aot => "aot",
        },
        ba_runtime: match (classic, wasi) {
            (true, false) => "iwasm-classic-interp-wasi-disabled",
            (true, true) => "iwasm-classic-interp",
            (false, false) => "iwasm-default-wasi-disabled",
            (false, true) => "iwasm-default",
        },
        ba_build: match (classic, wasi) {
            (true, false) => Some("build_iwasm \"-DWAMR_BUILD_REF_TYPES=1 -DWAMR_BUILD_FAST_INTERP=0 -DWAMR_BUILD_LIBC_WASI=0\" \"classic-interp-wasi-disabled\""),
            (true, true) => Some("build_iwasm \"-DWAMR_BUILD_REF_TYPES=1 -DWAMR_BUILD_FAST_INTERP=0\" \"classic-interp\""),
            (false, _) => None,
        },
    })
}

/// What this binary's WAMR is, for readers elsewhere: the version and where
/// the tree came from (never a path on the finder's machine).
pub fn source_description() -> String {
    let tree = if wamr::WAMR_ROOT.contains("wamrx-sys") {
        "the tree vendored in the crates.io package wamrx-sys (WAMR main branch, mid-2026)"
    } else {
        "a local WAMR checkout (WAMR_ROOT)"
    };
    format!("{} from {tree}, {}", wamr::WAMR_VERSION, wamr::WAMR_TREE)
}

/// wasmsieve's own build flags of an engine's mode (for the record).
pub fn build_flags(engine: &str) -> Option<String> {
    let name = EngineSpec::find(engine)?.mode.engine_name();
    wamr::build_info()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// C's `%.{prec}g`.
fn fmt_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{:.*e}", prec - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= prec as i32 {
        let m = strip(mant.to_string());
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip(format!("{x:.decimals$}"))
    }
}

/// The host object an externref identity is in WAMR's embedding: the shim
/// hands identity `n` over as the pointer-sized value `n + 1`, since WAMR
/// reads 0 as null on the way out (`wsv_shim.c`); iwasm takes and prints that value.
fn extern_object(id: u32) -> u64 {
    u64::from(id) + 1
}

/// A result as stock `iwasm -f` prints it (`0x2a:i32`, `1.5:f64`,
/// `extern:ref.null`, `0x1:ref.extern`, `func:ref.null`). A non-null funcref
/// prints as its function's index, which the harness does not observe (it is
/// no engine-independent fact): shown as `<index>:ref.func`.
pub fn iwasm_value(v: &Val) -> String {
    match *v {
        Val::I32(x) => format!("{:#x}:i32", x as u32),
        Val::I64(x) => format!("{:#x}:i64", x as u64),
        Val::F32(b) => format!("{}:f32", fmt_g(f32::from_bits(b) as f64, 7)),
        Val::F64(b) => format!("{}:f64", fmt_g(f64::from_bits(b), 7)),
        Val::FuncRef { non_null: false } => "func:ref.null".into(),
        Val::FuncRef { non_null: true } | Val::FuncExport(_) => "<index>:ref.func".into(),
        Val::ExternRef(None) => "extern:ref.null".into(),
        Val::ExternRef(Some(id)) => format!("{:#x}:ref.extern", extern_object(id)),
    }
}

/// An argument as stock `iwasm -f` parses it (strtol/strtof and friends).
/// iwasm (reference types on, GC off) takes `null` for a null reference of
/// either kind, a number as an externref's host object, and a function
/// index as a funcref (`funcs`: the module's exported functions).
pub fn iwasm_arg(v: &Val, funcs: &[(String, u32)]) -> String {
    match *v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => iwasm_float(f32::from_bits(b) as f64, format!("{:?}", f32::from_bits(b))),
        Val::F64(b) => iwasm_float(f64::from_bits(b), format!("{:?}", f64::from_bits(b))),
        Val::FuncRef { non_null: false } | Val::ExternRef(None) => "null".into(),
        Val::FuncRef { non_null: true } => "<index>".into(),
        Val::FuncExport(n) => funcs.get(n as usize).map_or_else(
            || format!("<no exported function #{n}>"),
            |f| f.1.to_string(),
        ),
        Val::ExternRef(Some(id)) => format!("{:#x}", extern_object(id)),
    }
}

/// `nan`, `inf`, `-inf` as strtod spells them; finite values in Rust's shortest
/// round-trip form (`finite`) of their own width.
fn iwasm_float(f: f64, finite: String) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f < 0.0 {
            "-inf".into()
        } else {
            "inf".into()
        }
    } else {
        finite
    }
}

/// WAMR's wording of a trap (its `exception_msgs[]`).
pub fn trap_message(t: &Trap) -> String {
    match t {
        Trap::Unreachable => "unreachable".into(),
        Trap::MemoryOutOfBounds => "out of bounds memory access".into(),
        Trap::UnalignedAtomic => "unaligned atomic".into(),
        Trap::WaitOnUnsharedMemory => "expected shared memory".into(),
        Trap::TableOutOfBounds => "undefined element".into(),
        Trap::IndirectCallTypeMismatch => "indirect call type mismatch".into(),
        Trap::IndirectCallToNull => "uninitialized element".into(),
        Trap::NullReference => "null reference".into(),
        Trap::IntegerDivisionByZero => "integer divide by zero".into(),
        Trap::IntegerOverflow => "integer overflow".into(),
        Trap::BadConversionToInteger => "invalid conversion to integer".into(),
        Trap::StackOverflow => "wasm operand stack overflow".into(),
        Trap::OutOfFuel => "instruction limit exceeded".into(),
        Trap::ResourceLimit => "allocate memory failed".into(),
        Trap::Unlinkable => "failed to link import".into(),
        Trap::Other(m) => m.clone(),
    }
}

/// What stock iwasm should print and return for a call: (ret code, stdout).
pub fn iwasm_expectation(r: &CallResult) -> (i32, String) {
    match r {
        CallResult::Returned(v) => (0, v.iter().map(iwasm_value).collect::<Vec<_>>().join(",")),
        CallResult::Trapped { trap, .. } => (1, format!("Exception: {}", trap_message(trap))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_g_matches_c() {
        assert_eq!(fmt_g(1.5, 7), "1.5");
        assert_eq!(fmt_g(0.0, 7), "0");
        assert_eq!(fmt_g(1e10, 7), "1e+10");
        assert_eq!(fmt_g(123456789.0, 7), "1.234568e+08");
        assert_eq!(fmt_g(0.0001, 7), "0.0001");
        assert_eq!(fmt_g(0.00001, 7), "1e-05");
        assert_eq!(fmt_g(f64::NAN, 7), "nan");
        assert_eq!(iwasm_value(&Val::I32(-1)), "0xffffffff:i32");
        assert_eq!(iwasm_value(&Val::I64(0)), "0x0:i64");
        assert_eq!(iwasm_value(&Val::ExternRef(None)), "extern:ref.null");
        assert_eq!(iwasm_value(&Val::ExternRef(Some(2))), "0x3:ref.extern");
        assert_eq!(iwasm_arg(&Val::ExternRef(Some(2)), &[]), "0x3");
        assert_eq!(iwasm_arg(&Val::FuncRef { non_null: false }, &[]), "null");
        let funcs = [("f".to_string(), 3), ("g".to_string(), 5)];
        assert_eq!(iwasm_arg(&Val::FuncExport(1), &funcs), "5");
    }

    #[test]
    fn every_wamr_engine_has_a_stock_reproduction() {
        for info in &crate::engines::wamr::ENGINES {
            let r = stock_repro(info.name, b"", None).unwrap_or_else(|| panic!("{}", info.name));
            assert!(!r.title.contains("unknown"), "{}", info.name);
            // Software bounds checks are not product-mini's default: said.
            assert_eq!(
                r.iwasm_cmake().contains("-DWAMR_DISABLE_HW_BOUND_CHECK=1"),
                !info.hardware_bounds,
                "{}: {}",
                info.name,
                r.iwasm_cmake()
            );
            assert_eq!(
                r.wamrc.is_some(),
                info.name.contains("aot"),
                "{}",
                info.name
            );
        }
        let hw = stock_repro("wamr-aot-hw", b"", None).unwrap();
        assert_eq!(
            hw.wamrc.as_deref(),
            Some("--bounds-checks=0 --stack-bounds-checks=0 --opt-level=3 --size-level=3 --enable-extended-const")
        );
        assert!(stock_repro("wasmtime", b"", None).is_none());
    }
}
