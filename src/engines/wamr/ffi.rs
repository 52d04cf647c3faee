//! The FFI to the C shim (`csrc/wsv_shim.h`): its API table per mode, the
//! host functions it calls back, and the checks that the table read is the
//! table built.

use super::Mode;
use crate::exec::{unpassable, Trap};
use crate::wasm::{host, Val, ValType};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

pub(super) const ERR_LEN: usize = 1024;
/// Result slots passed to the shim (its own limit is 64).
pub(super) const MAX_RESULTS: usize = 64;
pub(super) const KIND_NONE: u8 = 0xFF;

// ---- FFI: mirrors csrc/wsv_shim.h ----

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct WsvAotOptions {
    pub(super) opt_level: u32,
    pub(super) size_level: u32,
    pub(super) bounds_checks: u32,
    pub(super) segue: u32,
    pub(super) no_jump_tables: u32,
    pub(super) multi_thread: u32,
    pub(super) call_stack: u32,
}

#[repr(C)]
pub(super) struct WsvHostFunc {
    name: *const c_char,
    signature: *const c_char,
}

pub(super) type HostCallFn = extern "C" fn(u32, *mut u64);

#[repr(C)]
pub(super) struct WsvApi {
    pub(super) abi_version: u32,
    pub(super) size: u32,
    pub(super) mode: *const c_char,
    pub(super) version: *const c_char,
    pub(super) flags: *const c_char,
    pub(super) init:
        unsafe extern "C" fn(*const c_char, *const WsvHostFunc, u32, HostCallFn) -> c_int,
    pub(super) load: unsafe extern "C" fn(*const u8, u32, *mut c_char, u32) -> *mut c_void,
    pub(super) unload: unsafe extern "C" fn(*mut c_void),
    pub(super) instantiate:
        unsafe extern "C" fn(*mut c_void, u32, u32, *mut c_char, u32) -> *mut c_void,
    pub(super) deinstantiate: unsafe extern "C" fn(*mut c_void),
    #[allow(clippy::type_complexity)]
    pub(super) call: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const u64,
        u32,
        *mut u64,
        u32,
        *mut u8,
        *mut c_char,
        u32,
    ) -> c_int,
    pub(super) global: unsafe extern "C" fn(*mut c_void, *const c_char, *mut u8, *mut u64) -> c_int,
    pub(super) memory: unsafe extern "C" fn(*mut c_void, *const c_char, *mut u64) -> *mut u8,
    pub(super) compile: Option<
        unsafe extern "C" fn(
            *const u8,
            u32,
            *const WsvAotOptions,
            *mut u32,
            *mut c_char,
            u32,
        ) -> *mut u8,
    >,
    pub(super) free_buf: Option<unsafe extern "C" fn(*mut u8)>,
    pub(super) hw_bound_check: c_int,
    pub(super) memory_region:
        unsafe extern "C" fn(*mut c_void, *mut u64, *mut u64, *mut u64) -> c_int,
    pub(super) set_wasi:
        unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, c_int) -> c_int,
}

// The tables are immutable C data.
// SAFETY: the tables are `const` C data (wsv_shim.c): static strings and function
// pointers, never written, so shared references across threads are fine.
unsafe impl Sync for WsvApi {}

extern "C" {
    static wsv_api_classic: WsvApi;
    static wsv_api_fast: WsvApi;
    #[cfg(not(wsv_no_aot))]
    static wsv_api_aot: WsvApi;
    static wsv_api_classic_hw: WsvApi;
    static wsv_api_fast_hw: WsvApi;
    #[cfg(not(wsv_no_aot))]
    static wsv_api_aot_hw: WsvApi;
}

pub(super) fn cstr(p: *const c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // SAFETY: the shim's strings are static, NUL-terminated literals.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

pub(super) fn err_string(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Mode {
    /// Whether this mode was built into the binary.
    pub fn is_built(self) -> bool {
        api(self).is_some()
    }

    /// Modes built into this binary.
    pub fn built() -> Vec<Mode> {
        Mode::ALL.into_iter().filter(|m| m.is_built()).collect()
    }
}

/// `WSV_ABI_VERSION` of the header this file mirrors.
const ABI_VERSION: u32 = 2;

/// The mode's API table, when built; a table of another layout than this
/// mirror's is refused before any of it is read beyond its first two fields.
pub(super) fn api(mode: Mode) -> Option<&'static WsvApi> {
    let table = linked(mode)?;
    let size = std::mem::size_of::<WsvApi>();
    assert!(
        table.abi_version == ABI_VERSION && table.size as usize == size,
        "{}: the C shim's API table is version {} of {} bytes, engines/wamr/ffi.rs mirrors \
         version {ABI_VERSION} of {size}: change both together (csrc/wsv_shim.h)",
        mode.engine_name(),
        table.abi_version,
        table.size
    );
    Some(table)
}

fn linked(mode: Mode) -> Option<&'static WsvApi> {
    // SAFETY: the statics are defined by the linked C builds and never written.
    unsafe {
        match mode {
            Mode::Classic => Some(&*std::ptr::addr_of!(wsv_api_classic)),
            Mode::Fast => Some(&*std::ptr::addr_of!(wsv_api_fast)),
            #[cfg(not(wsv_no_aot))]
            Mode::Aot => Some(&*std::ptr::addr_of!(wsv_api_aot)),
            #[cfg(wsv_no_aot)]
            Mode::Aot => None,
            Mode::ClassicHw => Some(&*std::ptr::addr_of!(wsv_api_classic_hw)),
            Mode::FastHw => Some(&*std::ptr::addr_of!(wsv_api_fast_hw)),
            #[cfg(not(wsv_no_aot))]
            Mode::AotHw => Some(&*std::ptr::addr_of!(wsv_api_aot_hw)),
            #[cfg(wsv_no_aot)]
            Mode::AotHw => None,
        }
    }
}

/// Initializes the mode's runtime once per process.
pub(super) fn init(mode: Mode) -> Result<&'static WsvApi, String> {
    static INIT: [OnceLock<bool>; Mode::ALL.len()] = [const { OnceLock::new() }; Mode::ALL.len()];
    let api = api(mode).ok_or_else(|| {
        format!("{} is not built into this binary (LLVM 19 missing at build time? run scripts/setup.sh)", mode.engine_name())
    })?;
    let host = host_table();
    // SAFETY: init is idempotent in the shim; OnceLock serializes the first
    // call; the host table is static.
    let ok = *INIT[mode as usize].get_or_init(|| unsafe {
        (api.init)(
            host.module.as_ptr(),
            host.funcs.as_ptr(),
            host.funcs.len() as u32,
            host_call,
        ) == 0
    });
    if ok {
        Ok(api)
    } else {
        Err(format!(
            "{}: wasm_runtime_full_init failed",
            mode.engine_name()
        ))
    }
}

/// The host's functions (`crate::wasm::host`) as the shim registers them:
/// names and WAMR signatures, alive for the whole process (WAMR keeps them).
pub(super) struct HostTable {
    module: CString,
    _strings: Vec<CString>,
    funcs: Vec<WsvHostFunc>,
}

// SAFETY: the pointers point into `_strings`, never written after creation.
unsafe impl Send for HostTable {}
// SAFETY: shared access only reads the CStrings' bytes, never written after creation.
unsafe impl Sync for HostTable {}

/// WAMR's signature letter of a host function's value type.
pub(super) fn signature_letter(t: ValType) -> char {
    match t {
        ValType::I32 => 'i',
        ValType::I64 => 'I',
        ValType::F32 => 'f',
        ValType::F64 => 'F',
        ValType::FuncRef | ValType::ExternRef => unreachable!("host functions are numeric"),
    }
}

pub(super) fn host_table() -> &'static HostTable {
    static TABLE: OnceLock<HostTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let letters = |ts: &[ValType]| ts.iter().map(|t| signature_letter(*t)).collect::<String>();
        let strings: Vec<CString> = host::FUNCS
            .iter()
            .flat_map(|f| {
                let signature = format!("({}){}", letters(f.params), letters(f.results));
                [f.name.to_string(), signature]
            })
            .map(|s| CString::new(s).expect("host names have no NUL"))
            .collect();
        let funcs = strings
            .chunks(2)
            .map(|p| WsvHostFunc {
                name: p[0].as_ptr(),
                signature: p[1].as_ptr(),
            })
            .collect();
        HostTable {
            module: CString::new(host::MODULE).expect("no NUL"),
            _strings: strings,
            funcs,
        }
    })
}

/// WAMR's call of host function `func` (`wsv_host_call`): one 64-bit slot of
/// raw bits per parameter, the result into the first.
pub(super) extern "C" fn host_call(func: u32, args: *mut u64) {
    let f = &host::FUNCS[func as usize];
    // SAFETY: WAMR passes a slot per parameter and at least one (the result's).
    let slots = unsafe { std::slice::from_raw_parts_mut(args, f.params.len().max(1)) };
    let vals: Vec<Val> = f
        .params
        .iter()
        .zip(slots.iter())
        .filter_map(|(t, bits)| val_from(kind(*t), *bits))
        .collect();
    if let Some(r) = host::call(func as usize, &vals).first() {
        slots[0] = shim_bits(*r).expect("host results are numeric");
    }
}

/// A reference's bits when null (`WSV_REF_NULL`).
pub(super) const REF_NULL: u64 = u64::MAX;

/// An argument as the shim takes it: raw bits; see `wsv_shim.h` for
/// references (a funcref is its function's index; `FuncExport` is resolved
/// by the instance first).
pub(super) fn shim_bits(v: Val) -> Result<u64, (Trap, String)> {
    Ok(match v {
        Val::I32(v) => v as u32 as u64,
        Val::I64(v) => v as u64,
        Val::F32(v) => v as u64,
        Val::F64(v) => v,
        Val::ExternRef(Some(id)) => id as u64,
        Val::ExternRef(None) | Val::FuncRef { non_null: false } => REF_NULL,
        Val::FuncRef { non_null: true } | Val::FuncExport(_) => return Err(unpassable(v)),
    })
}

/// The shim's kind of a value type (WAMR's `wasm_valkind_t`).
pub(super) fn kind(t: ValType) -> u8 {
    match t {
        ValType::I32 => 0,
        ValType::I64 => 1,
        ValType::F32 => 2,
        ValType::F64 => 3,
        ValType::ExternRef => 128,
        ValType::FuncRef => 129,
    }
}

pub(super) fn val_from(kind: u8, bits: u64) -> Option<Val> {
    Some(match kind {
        0 => Val::I32(bits as u32 as i32),
        1 => Val::I64(bits as i64),
        2 => Val::F32(bits as u32),
        3 => Val::F64(bits),
        128 => Val::ExternRef((bits != REF_NULL).then_some(bits as u32)),
        129 => Val::FuncRef {
            non_null: bits != REF_NULL,
        },
        _ => return None,
    })
}
