//! WAMR's AoT compiler as the engines run it: the options each mode compiles
//! with, drawn per module or pinned by a finding, and the compile call.

use super::ffi::{err_string, init, WsvAotOptions, ERR_LEN};
use super::Mode;
use crate::wasm::fnv64;
use std::ffi::c_char;

// ---- AoT compilation ----

/// Options of WAMR's AoT compiler (as `wamrc --opt-level/--size-level/--bounds-checks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AotOptions {
    /// 0..=3.
    pub opt_level: u32,
    /// 0..=3 (3 is the small code model).
    pub size_level: u32,
    /// Must be 1 for `aot`: that build has no hardware bounds checks, so code
    /// without software checks would read host memory; the shim refuses other
    /// values. 0 or 1 for `aot-hw` (0 is its default, as wamrc's on x86-64).
    pub bounds_checks: u32,
    /// Linear memory addressed through the GS segment register, for every
    /// load and store kind (`--enable-segue`; x86-64 Linux, where the AoT
    /// runtime sets GS to the memory base on every call).
    pub segue: bool,
    /// No LLVM jump tables for `br_table` (`--disable-llvm-jump-tables`).
    pub no_jump_tables: bool,
    /// Code for a runtime with the thread manager: suspend-flag checks at
    /// loop back edges (`--enable-multi-thread`, as wasi-threads modules
    /// are compiled; the AoT builds have the thread manager).
    pub multi_thread: bool,
    /// Stack frames for call-stack dumps (`--enable-dump-call-stack`) with
    /// these of [`CALL_STACK_FEATURES`] (bit i: feature i); `None`: no
    /// frames. Only the `aot` build has the runtime side (its
    /// `WAMR_BUILD_DUMP_CALL_STACK`).
    pub call_stack: Option<u8>,
}

/// wamrc's `--call-stack-features`, in the shim's bit order. All of them is
/// wamrc's default; without `values` wamrc emits its smaller "tiny" frames.
/// Without `bounds-checks` (bit 0) frames are pushed past the end of the
/// stack they live on unchecked, by design (the heap behind it gets
/// corrupted): like `--bounds-checks=0` without hardware checks, not a
/// supported set, so it is always drawn and the shim refuses code without it.
pub const CALL_STACK_FEATURES: [&str; 5] = ["bounds-checks", "ip", "func-idx", "trap-ip", "values"];
pub(super) const ALL_CALL_STACK_FEATURES: u8 = (1 << CALL_STACK_FEATURES.len()) - 1;
pub(super) const CALL_STACK_BOUNDS_CHECKS: u8 = 1;

impl Default for AotOptions {
    fn default() -> Self {
        AotOptions {
            opt_level: 3,
            size_level: 3,
            bounds_checks: 1,
            segue: false,
            no_jump_tables: false,
            multi_thread: false,
            call_stack: None,
        }
    }
}

impl AotOptions {
    /// The options a mode compiles with: the supported defaults; with
    /// hardware bounds checks the emitted code needs no software checks.
    pub fn for_mode(mode: Mode) -> AotOptions {
        AotOptions {
            bounds_checks: u32::from(!mode.hw_bound_check()),
            ..AotOptions::default()
        }
    }

    /// The options a mode compiles `wasm` with: half the modules get the
    /// mode's defaults, the others a supported set drawn from their bytes
    /// (with hardware bounds checks, software checks on or off too). The
    /// same module always gets the same options, so findings reproduce.
    pub fn for_module(mode: Mode, wasm: &[u8]) -> AotOptions {
        let h = fnv64(wasm);
        if (h >> 32) & 1 == 0 {
            return AotOptions::for_mode(mode);
        }
        let drawn = AotOptions::drawn_from(wasm);
        AotOptions {
            bounds_checks: if mode.hw_bound_check() {
                ((h >> 40) & 1) as u32
            } else {
                drawn.bounds_checks
            },
            call_stack: drawn.call_stack.filter(|_| mode.spec().call_stack),
            ..drawn
        }
    }

    /// A supported option set chosen by the module's bytes: the same module
    /// always gets the same options, so findings reproduce.
    pub fn drawn_from(wasm: &[u8]) -> AotOptions {
        let h = fnv64(wasm);
        AotOptions {
            opt_level: (h % 4) as u32,
            size_level: ((h >> 8) % 4) as u32,
            bounds_checks: 1,
            segue: (h >> 44) & 1 == 1,
            no_jump_tables: (h >> 48) & 1 == 1,
            multi_thread: (h >> 52) & 1 == 1,
            call_stack: call_stack_drawn(h),
        }
    }

    /// Options written as [`AotOptions::wamrc_args`] prints them, checked
    /// against what `mode`'s build runs (a finding's `aot-options.txt`, pinned
    /// so re-runs and shrink candidates compile as the finding did).
    pub fn parse(mode: Mode, args: &str) -> Result<AotOptions, String> {
        let mut o = AotOptions {
            opt_level: 0,
            size_level: 0,
            bounds_checks: 0,
            ..AotOptions::default()
        };
        let level = |v: &str, what: &str| match v.parse::<u32>() {
            Ok(n) if n <= 3 => Ok(n),
            _ => Err(format!("{what} takes 0..=3, not `{v}`")),
        };
        for arg in args.split_whitespace() {
            let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
            match key {
                "--opt-level" => o.opt_level = level(value, key)?,
                "--size-level" => o.size_level = level(value, key)?,
                "--bounds-checks" | "--stack-bounds-checks" => {
                    o.bounds_checks = match value {
                        "0" => 0,
                        "1" => 1,
                        _ => return Err(format!("{key} takes 0 or 1, not `{value}`")),
                    }
                }
                "--enable-segue" => o.segue = true,
                "--disable-llvm-jump-tables" => o.no_jump_tables = true,
                "--enable-multi-thread" => o.multi_thread = true,
                "--enable-dump-call-stack" => {
                    o.call_stack.get_or_insert(ALL_CALL_STACK_FEATURES);
                }
                "--call-stack-features" => {
                    let mut bits = 0u8;
                    for name in value.split(',') {
                        let i = CALL_STACK_FEATURES.iter().position(|f| *f == name).ok_or_else(|| {
                            format!("unknown call-stack feature `{name}` (one of {})", CALL_STACK_FEATURES.join(", "))
                        })?;
                        bits |= 1 << i;
                    }
                    o.call_stack = Some(bits);
                }
                _ => {
                    return Err(format!(
                        "`{arg}` is not an option wasmsieve compiles with (--opt-level, --size-level, \
                         --bounds-checks, --stack-bounds-checks, --enable-segue, --disable-llvm-jump-tables, \
                         --enable-multi-thread, --enable-dump-call-stack, --call-stack-features)"
                    ))
                }
            }
        }
        if !mode.hw_bound_check() && o.bounds_checks != 1 {
            return Err(format!(
                "{} has no hardware bounds checks: it runs code with --bounds-checks=1 only",
                mode.engine_name()
            ));
        }
        if !mode.spec().call_stack && o.call_stack.is_some() {
            return Err(format!(
                "{} is built without call-stack dumps: no --enable-dump-call-stack",
                mode.engine_name()
            ));
        }
        if o.call_stack
            .is_some_and(|f| f & CALL_STACK_BOUNDS_CHECKS == 0)
        {
            return Err(
                "--call-stack-features needs bounds-checks (frames unchecked overrun the stack)"
                    .into(),
            );
        }
        Ok(o)
    }

    /// The same options as wamrc's command line (without the feature flags a
    /// module needs).
    pub fn wamrc_args(&self) -> String {
        let mut a = format!(
            "--bounds-checks={b} --stack-bounds-checks={b} --opt-level={} --size-level={}",
            self.opt_level,
            self.size_level,
            b = self.bounds_checks
        );
        if self.segue {
            a.push_str(" --enable-segue");
        }
        if self.no_jump_tables {
            a.push_str(" --disable-llvm-jump-tables");
        }
        if self.multi_thread {
            a.push_str(" --enable-multi-thread");
        }
        if let Some(features) = self.call_stack {
            a.push_str(" --enable-dump-call-stack");
            if features != ALL_CALL_STACK_FEATURES {
                let names: Vec<&str> = CALL_STACK_FEATURES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| features >> i & 1 == 1)
                    .map(|(_, n)| *n)
                    .collect();
                a.push_str(&format!(" --call-stack-features={}", names.join(",")));
            }
        }
        a
    }
}

/// Stack frames for one module in four (wamrc's default features half the
/// time, else any subset with `bounds-checks`), from its hash. FNV's high bits barely mix for
/// short inputs, so these bits go through a finalizer (SplitMix64's) first.
fn call_stack_drawn(h: u64) -> Option<u8> {
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let features = match (z >> 2) & 1 {
        0 => ALL_CALL_STACK_FEATURES,
        _ => (z >> 3) as u8 & ALL_CALL_STACK_FEATURES | CALL_STACK_BOUNDS_CHECKS,
    };
    (z & 3 == 0).then_some(features)
}

/// Compiles wasm to `.aot` bytes with the AoT build's in-process compiler.
pub fn compile_aot(wasm: &[u8], opts: &AotOptions) -> Result<Vec<u8>, String> {
    compile_aot_in(Mode::Aot, wasm, opts)
}

/// Compiles wasm with the default options, `None` when it does not compile
/// (the compile step of `generate::aot_mutate::mutant_of`).
pub fn compile_default(wasm: &[u8]) -> Option<Vec<u8>> {
    compile_aot(wasm, &AotOptions::default()).ok()
}

/// Compiles wasm to `.aot` bytes with the compiler of one AoT build (`Aot`
/// or `AotHw`: the latter accepts `bounds_checks=0`).
pub fn compile_aot_in(mode: Mode, wasm: &[u8], opts: &AotOptions) -> Result<Vec<u8>, String> {
    let api = init(mode)?;
    let (compile, free_buf) = match (api.compile, api.free_buf) {
        (Some(c), Some(f)) => (c, f),
        _ => return Err("the aot build has no compiler".into()),
    };
    let len = u32::try_from(wasm.len()).map_err(|_| "module too large".to_string())?;
    let copts = WsvAotOptions {
        opt_level: opts.opt_level,
        size_level: opts.size_level,
        bounds_checks: opts.bounds_checks,
        segue: opts.segue.into(),
        no_jump_tables: opts.no_jump_tables.into(),
        multi_thread: opts.multi_thread.into(),
        // Bit 0 for "frames", the features above it.
        call_stack: opts.call_stack.map_or(0, |f| 1 | u32::from(f) << 1),
    };
    let mut err = [0 as c_char; ERR_LEN];
    let mut out_len = 0u32;
    // SAFETY: buffers are valid for the lengths given; the result is freed below.
    let buf = unsafe {
        compile(
            wasm.as_ptr(),
            len,
            &copts,
            &mut out_len,
            err.as_mut_ptr(),
            ERR_LEN as u32,
        )
    };
    if buf.is_null() {
        return Err(err_string(&err));
    }
    // SAFETY: the shim returned `out_len` bytes at `buf`.
    let bytes = unsafe { std::slice::from_raw_parts(buf, out_len as usize) }.to_vec();
    // SAFETY: `buf` is this api's non-null compile result, freed once; its bytes were
    // copied above and it is not used again.
    unsafe { free_buf(buf) };
    Ok(bytes)
}
