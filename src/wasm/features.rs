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
    /// validate even with every feature needs what it uses ([`Self::used_by`]):
    /// a runtime that accepts it runs those instructions.
    pub fn needed_by(wasm: &[u8]) -> FeatureSet {
        if validates(wasm, Self::BASE.wasmparser()) {
            return Self::BASE;
        }
        if !validates(wasm, Self::GENERATED.wasmparser()) {
            return Self::used_by(wasm);
        }
        Self::OPTIONAL.iter().fold(Self::BASE, |needed, (name, _)| {
            let without = Self::GENERATED.with(name, false);
            needed.with(name, !validates(wasm, without.wasmparser()))
        })
    }

    /// The optional features a module's types and instructions use, read
    /// without validating, as far as the module reads: a validator stops at
    /// an invalid module's first error, so it cannot tell. (A malformed module
    /// whose crash comes from a `return_call` is a tail-call crash, tier B.)
    pub fn used_by(wasm: &[u8]) -> FeatureSet {
        use wasmparser::{Payload, TypeRef, ValType};
        let mut used = Self::BASE;
        let mut mark = |name: &str| used = used.with(name, true);
        let memory = |m: &wasmparser::MemoryType, mark: &mut dyn FnMut(&str)| {
            if m.shared {
                mark("threads");
            }
            if m.memory64 {
                mark("memory64");
            }
        };
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let Ok(payload) = payload else { break };
            match payload {
                Payload::TypeSection(r) => {
                    for t in r.into_iter_err_on_gc_types().flatten() {
                        if t.params()
                            .iter()
                            .chain(t.results())
                            .any(|v| *v == ValType::V128)
                        {
                            mark("simd");
                        }
                    }
                }
                Payload::ImportSection(r) => {
                    for i in r.into_imports().flatten() {
                        match i.ty {
                            TypeRef::Memory(m) => memory(&m, &mut mark),
                            TypeRef::Global(g) if g.content_type == ValType::V128 => mark("simd"),
                            TypeRef::Table(t) if t.table64 => mark("memory64"),
                            _ => {}
                        }
                    }
                }
                Payload::MemorySection(r) => {
                    for m in r.into_iter().flatten() {
                        memory(&m, &mut mark);
                    }
                }
                Payload::TableSection(r) => {
                    let table64 = r.into_iter().flatten().any(|t| t.ty.table64);
                    if table64 {
                        mark("memory64");
                    }
                }
                Payload::GlobalSection(r) => {
                    let v128 = r
                        .into_iter()
                        .flatten()
                        .any(|g| g.ty.content_type == ValType::V128);
                    if v128 {
                        mark("simd");
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    if let Ok(locals) = body.get_locals_reader() {
                        if locals
                            .into_iter()
                            .flatten()
                            .any(|(_, t)| t == ValType::V128)
                        {
                            mark("simd");
                        }
                    }
                    let Ok(mut ops) = body.get_operators_reader() else {
                        continue;
                    };
                    while !ops.eof() {
                        let at = ops.original_position();
                        if ops.read().is_err() {
                            break;
                        }
                        // By opcode: return_call(_indirect), the SIMD and
                        // the atomics prefixes.
                        match wasm.get(at as usize) {
                            Some(0x12 | 0x13) => mark("tail-call"),
                            Some(0xfd) => mark("simd"),
                            Some(0xfe) => mark("threads"),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        used
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

/// Kebab-case name of a wasmparser feature flag ("TAIL_CALL" → "tail-call").
pub fn name_of(flag: &str) -> String {
    flag.to_ascii_lowercase().replace('_', "-")
}

fn validates(wasm: &[u8], features: WasmFeatures) -> bool {
    Validator::new_with_features(features)
        .validate_all(wasm)
        .is_ok()
}

/// The features outside `keep` (named as in the policy's tier lists) that the
/// module needs. An invalid module needs what it uses ([`FeatureSet::used_by`]).
pub fn needed_features(wasm: &[u8], tier_a: &[String]) -> Vec<String> {
    let mut features = WasmFeatures::all();
    if !validates(wasm, features) {
        return FeatureSet::used_by(wasm)
            .optional_names()
            .into_iter()
            .filter(|n| !tier_a.iter().any(|t| t == n))
            .map(String::from)
            .collect();
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

    /// An invalid module needs what it uses: a `return_call` in a module with
    /// a broken section elsewhere still makes it a tail-call module.
    #[test]
    fn invalid_modules_need_what_they_use() {
        let mut tail = wat::parse_str(
            r#"(module (func $g (result i32) (return_call $g)) (func (export "f") (drop (i32x4.extract_lane 0 (v128.const i64x2 0 0)))))"#,
        )
        .unwrap();
        tail.extend([0x0c, 0x01, 0x05]); // a data count section after the code
        assert!(!validates(&tail, WasmFeatures::all()));
        assert_eq!(
            FeatureSet::needed_by(&tail).optional_names(),
            ["simd", "tail-call"]
        );
        assert_eq!(needed_features(&tail, &["simd".to_string()]), ["tail-call"]);
    }
}
