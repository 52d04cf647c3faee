//! Which Wasm features a module really needs, for the tier rule (P8).
//!
//! wasmparser tells by validation: starting from every feature, each feature
//! outside tier A is switched off in turn and stays off when the module still
//! validates without it. What remains is what the module needs. It runs only
//! when a verdict depends on it, so its cost does not matter.

use wasmparser::{Validator, WasmFeatures};

/// The Wasm proposals generated modules may use, stated once: wasm-smith's
/// config, the validator, the reference (wasmtime) and the second opinion
/// (wasmi) all read it. `build.rs` builds the WAMR modes with the matching
/// `WAMR_BUILD_*` flags (its own table, since a build script cannot read the
/// crate); `tests/cli.rs` checks `wasmsieve engines` shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureSet {
    pub multi_value: bool,
    pub bulk_memory: bool,
    pub reference_types: bool,
    pub sign_extension: bool,
    pub saturating_float_to_int: bool,
    pub extended_const: bool,
    /// Off: the classic interpreter cannot run it and the fast interpreter's
    /// SIMD needs SIMDe fetched online at build time.
    pub simd: bool,
    /// Off always: nondeterministic by design.
    pub relaxed_simd: bool,
    pub threads: bool,
    pub memory64: bool,
    /// Tier B (P8); off in the builds under test.
    pub tail_call: bool,
    pub multi_memory: bool,
    pub gc: bool,
    pub exceptions: bool,
    pub custom_page_sizes: bool,
    pub wide_arithmetic: bool,
}

impl FeatureSet {
    /// What the WAMR builds under test support (MVP, multi-value, bulk memory,
    /// reference types, sign extension, non-trapping float-to-int, extended
    /// const).
    pub const GENERATED: FeatureSet = FeatureSet {
        multi_value: true,
        bulk_memory: true,
        reference_types: true,
        sign_extension: true,
        saturating_float_to_int: true,
        extended_const: true,
        simd: false,
        relaxed_simd: false,
        threads: false,
        memory64: false,
        tail_call: false,
        multi_memory: false,
        gc: false,
        exceptions: false,
        custom_page_sizes: false,
        wide_arithmetic: false,
    };

    /// The validator's view of the same set.
    pub fn wasmparser(&self) -> WasmFeatures {
        use WasmFeatures as F;
        let mut f = F::MUTABLE_GLOBAL | F::FLOATS;
        for (on, flag) in [
            (self.multi_value, F::MULTI_VALUE),
            (self.bulk_memory, F::BULK_MEMORY),
            // GC_TYPES: wasmparser's name for the funcref/externref types themselves.
            (self.reference_types, F::REFERENCE_TYPES | F::GC_TYPES),
            (self.sign_extension, F::SIGN_EXTENSION),
            (self.saturating_float_to_int, F::SATURATING_FLOAT_TO_INT),
            (self.extended_const, F::EXTENDED_CONST),
            (self.simd, F::SIMD),
            (self.relaxed_simd, F::RELAXED_SIMD),
            (self.threads, F::THREADS),
            (self.memory64, F::MEMORY64),
            (self.tail_call, F::TAIL_CALL),
            (self.multi_memory, F::MULTI_MEMORY),
            (self.gc, F::GC | F::FUNCTION_REFERENCES),
            (self.exceptions, F::EXCEPTIONS),
            (self.custom_page_sizes, F::CUSTOM_PAGE_SIZES),
            (self.wide_arithmetic, F::WIDE_ARITHMETIC),
        ] {
            if on {
                f |= flag;
            }
        }
        f
    }
}

/// Kebab-case name of a wasmparser feature flag ("TAIL_CALL" → "tail-call").
fn name_of(flag: &str) -> String {
    flag.to_ascii_lowercase().replace('_', "-")
}

fn validates(wasm: &[u8], features: WasmFeatures) -> bool {
    Validator::new_with_features(features)
        .validate_all(wasm)
        .is_ok()
}

/// The features outside `keep` (named as in the policy's tier lists) that the
/// module needs. An invalid module needs nothing: the empty list.
pub fn needed_features(wasm: &[u8], tier_a: &[String]) -> Vec<String> {
    let mut features = WasmFeatures::all();
    if !validates(wasm, features) {
        return vec![];
    }
    let mut needed = vec![];
    for (flag_name, flag) in WasmFeatures::all().iter_names() {
        let name = name_of(flag_name);
        if tier_a.contains(&name) {
            continue;
        }
        let without = features - flag;
        if validates(wasm, without) {
            features = without;
        } else {
            needed.push(name);
        }
    }
    needed
}
