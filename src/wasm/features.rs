//! Which Wasm features a module really needs, for the tier rule (P8).
//!
//! wasmparser tells by validation: starting from every feature, each feature
//! outside tier A is switched off in turn and stays off when the module still
//! validates without it. What remains is what the module needs. It runs only
//! when a verdict depends on it, so its cost does not matter.

use wasmparser::{Validator, WasmFeatures};

/// A set of Wasm proposals. [`FeatureSet::GENERATED`] is what generated
/// modules may use, stated once: wasm-smith's config, the validator, the
/// reference (wasmtime) and the screen (wasmi) all read it. Each runtime
/// under test states what it supports (its engine entry, from its build
/// flags) and is given a module only when that covers what the
/// module needs ([`FeatureSet::needed_by`]). `build.rs` builds the WAMR modes
/// with the matching `WAMR_BUILD_*` flags (its own table, since a build script
/// cannot read the crate); `tests/cli.rs` checks the two agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FeatureSet {
    pub multi_value: bool,
    pub bulk_memory: bool,
    pub reference_types: bool,
    pub sign_extension: bool,
    pub saturating_float_to_int: bool,
    pub extended_const: bool,
    /// 128-bit SIMD (WAMR: AoT through LLVM; the fast interpreter's needs
    /// SIMDe fetched online at build time, the classic interpreter has none).
    pub simd: bool,
    /// Off always: nondeterministic by design.
    pub relaxed_simd: bool,
    /// Shared memory and atomics, run on one thread (generation leaves
    /// `memory.atomic.wait` out).
    pub threads: bool,
    pub memory64: bool,
    /// Tier B (P8): findings there are bugs, crashes still matter.
    pub tail_call: bool,
    pub multi_memory: bool,
    pub gc: bool,
    pub exceptions: bool,
    pub custom_page_sizes: bool,
    pub wide_arithmetic: bool,
}

impl FeatureSet {
    /// Every generated module may use these (every mode supports them): MVP,
    /// multi-value, bulk memory, reference types, sign extension,
    /// non-trapping float-to-int, extended const.
    pub const BASE: FeatureSet = FeatureSet {
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

    /// What generation may draw on top of [`FeatureSet::BASE`], one test case
    /// at a time (swarm testing): each on or off per case.
    pub const OPTIONAL: &'static [(&'static str, fn(&mut FeatureSet) -> &mut bool)] = &[
        ("simd", |f| &mut f.simd),
        ("threads", |f| &mut f.threads),
        ("memory64", |f| &mut f.memory64),
        ("tail-call", |f| &mut f.tail_call),
    ];

    /// The base and every optional feature.
    pub const GENERATED: FeatureSet = FeatureSet {
        simd: true,
        threads: true,
        memory64: true,
        tail_call: true,
        ..FeatureSet::BASE
    };

    /// The set with an optional feature switched on or off.
    pub fn with(mut self, name: &str, on: bool) -> FeatureSet {
        if let Some((_, field)) = Self::OPTIONAL.iter().find(|(n, _)| *n == name) {
            *field(&mut self) = on;
        }
        self
    }

    /// Whether the set holds an optional feature.
    pub fn has(&self, name: &str) -> bool {
        let mut copy = *self;
        Self::OPTIONAL
            .iter()
            .any(|(n, field)| *n == name && *field(&mut copy))
    }

    /// Names of the optional features in the set.
    pub fn optional_names(&self) -> Vec<&'static str> {
        Self::OPTIONAL
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| self.has(n))
            .collect()
    }

    /// The base and every optional feature any of `sets` holds.
    pub fn union<'a>(sets: impl IntoIterator<Item = &'a FeatureSet>) -> FeatureSet {
        sets.into_iter().fold(Self::BASE, |union, set| {
            set.optional_names()
                .iter()
                .fold(union, |u, name| u.with(name, true))
        })
    }

    /// Whether every optional feature of `other` is in this set.
    pub fn covers(&self, other: &FeatureSet) -> bool {
        other.optional_names().iter().all(|n| self.has(n))
    }

    /// The optional features a module needs (by validation: the base alone,
    /// else each optional feature left out in turn). A module that does not
    /// validate even with every feature needs the base only: loaders are
    /// judged on it as is.
    pub fn needed_by(wasm: &[u8]) -> FeatureSet {
        if validates(wasm, Self::BASE.wasmparser())
            || !validates(wasm, Self::GENERATED.wasmparser())
        {
            return Self::BASE;
        }
        Self::OPTIONAL.iter().fold(Self::BASE, |needed, (name, _)| {
            let without = Self::GENERATED.with(name, false);
            needed.with(name, !validates(wasm, without.wasmparser()))
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_features_and_cover() {
        let simd = wat::parse_str(
            r#"(module (func (export "f") (result i32) (i32x4.extract_lane 1 (v128.const i32x4 1 2 3 4))))"#,
        )
        .unwrap();
        let tail = wat::parse_str(r#"(module (func $g (result i32) (return_call $g)))"#).unwrap();
        let mvp =
            wat::parse_str(r#"(module (func (export "f") (result i32) (i32.const 1)))"#).unwrap();
        assert_eq!(FeatureSet::needed_by(&simd).optional_names(), ["simd"]);
        assert_eq!(FeatureSet::needed_by(&tail).optional_names(), ["tail-call"]);
        assert!(FeatureSet::needed_by(&mvp).optional_names().is_empty());
        let interp = FeatureSet::BASE.with("tail-call", true);
        assert!(interp.covers(&FeatureSet::needed_by(&tail)));
        assert!(!interp.covers(&FeatureSet::needed_by(&simd)));
        assert!(FeatureSet::GENERATED.covers(&FeatureSet::needed_by(&simd)));
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
