//! The Wasm features of the runtime under test, stated once, and the wasm-smith
//! configuration derived from them.

use arbitrary::Unstructured;

/// Knobs of generation. Defaults match the WAMR builds made by `build.rs`
/// (MVP, multi-value, bulk memory, reference types, sign extension,
/// non-trapping float-to-int, extended const; no SIMD, threads, memory64,
/// tail calls, GC or exceptions).
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Fuel of the injected termination counter: enough to do real work, small
    /// enough that a module finishes in milliseconds in the slowest engine.
    pub termination_fuel: u32,
    /// How many times each exported function is called.
    pub calls_per_export: usize,
    /// Largest linear memory in bytes (also bounds what the oracle hashes).
    pub max_memory_bytes: u64,
    /// Largest table.
    pub max_table_elements: u64,
    /// Generate modules with few traps half the time: they explore deeper.
    pub sometimes_disallow_traps: bool,
    pub max_funcs: usize,
    pub max_instructions: usize,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            termination_fuel: 2_000,
            calls_per_export: 3,
            max_memory_bytes: 2 * 65536,
            max_table_elements: 64,
            sometimes_disallow_traps: true,
            max_funcs: 12,
            max_instructions: 300,
        }
    }
}

impl GenConfig {
    /// wasm-smith settings; the few choices drawn from the input keep variety.
    pub fn smith_config(&self, u: &mut Unstructured) -> arbitrary::Result<wasm_smith::Config> {
        let mut c = wasm_smith::Config::default();
        // Features the WAMR builds support (tier A).
        c.multi_value_enabled = true;
        c.bulk_memory_enabled = true;
        c.reference_types_enabled = true;
        c.sign_extension_ops_enabled = true;
        c.saturating_float_to_int_enabled = true;
        c.extended_const_enabled = true;
        // Not built into the runtime under test, or nondeterministic by design.
        c.simd_enabled = false;
        c.relaxed_simd_enabled = false;
        c.threads_enabled = false;
        c.shared_everything_threads_enabled = false;
        c.memory64_enabled = false;
        c.tail_call_enabled = false;
        c.gc_enabled = false;
        c.exceptions_enabled = false;
        c.custom_page_sizes_enabled = false;
        c.wide_arithmetic_enabled = false;
        c.custom_descriptors_enabled = false;
        // Shape: self-contained modules whose every item is observable.
        c.max_imports = 0;
        c.min_imports = 0;
        c.export_everything = true;
        c.allow_start_export = true;
        c.min_funcs = 1;
        c.max_funcs = self.max_funcs;
        c.max_instructions = self.max_instructions;
        c.max_memories = 1;
        c.max_memory32_bytes = self.max_memory_bytes;
        c.memory_max_size_required = true;
        c.max_tables = 2;
        c.max_table_elements = self.max_table_elements;
        c.table_max_size_required = true;
        c.canonicalize_nans = true;
        c.disallow_traps = self.sometimes_disallow_traps && u.arbitrary::<bool>()?;
        Ok(c)
    }

    /// The feature set a validator should accept for generated modules.
    pub fn wasm_features() -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as F;
        F::MUTABLE_GLOBAL
            | F::SATURATING_FLOAT_TO_INT
            | F::SIGN_EXTENSION
            | F::MULTI_VALUE
            | F::BULK_MEMORY
            | F::REFERENCE_TYPES
            | F::EXTENDED_CONST
            | F::FLOATS
            // wasmparser's name for the funcref/externref types themselves.
            | F::GC_TYPES
    }
}
