//! The wasm-smith configuration, derived from the one feature set
//! (`crate::wasm::features`).

use crate::wasm::features::FeatureSet;
use crate::wasm::host;
use arbitrary::Unstructured;
use std::sync::OnceLock;

/// The host's definitions as wasm-smith takes them: a module of imports and
/// how many it lists, one per combination of the features that change which
/// are listed.
fn host_imports(f: &FeatureSet) -> &'static (Vec<u8>, usize) {
    static MODULES: [OnceLock<(Vec<u8>, usize)>; 8] = [const { OnceLock::new() }; 8];
    let slot =
        usize::from(f.threads) | usize::from(f.memory64) << 1 | usize::from(f.reference_types) << 2;
    MODULES[slot].get_or_init(|| {
        let wasm = wat::parse_str(host::imports_wat(f)).expect("the host's imports parse");
        let n = host::imports(&wasm).len();
        (wasm, n)
    })
}

/// Knobs of generation. The Wasm features come from the one feature set
/// (`crate::wasm::features`).
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// The most a module may use: [`FeatureSet::BASE`] always, and each
    /// optional feature in here drawn on or off per module when `swarm` is
    /// set (swarm testing: modules that leave features out explore the rest
    /// deeper), else on in every module. A campaign sets it to what its
    /// runtimes support between them.
    pub features: FeatureSet,
    pub swarm: bool,
    /// Bytes of fuzz input per module: with more, wasm-smith fills more of
    /// what the limits below allow.
    pub input_len: usize,
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
    pub min_funcs: usize,
    pub max_funcs: usize,
    /// Per function body.
    pub max_instructions: usize,
    pub min_globals: usize,
    pub custom_sections: bool,
    /// Modules may import the host's definitions (`crate::wasm::host`;
    /// with `swarm`, half of them).
    pub host_imports: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            features: FeatureSet::GENERATED,
            swarm: true,
            input_len: 8192,
            termination_fuel: 2_000,
            calls_per_export: 3,
            max_memory_bytes: 2 * 65536,
            max_table_elements: 64,
            sometimes_disallow_traps: true,
            min_funcs: 1,
            max_funcs: 12,
            max_instructions: 300,
            min_globals: 0,
            custom_sections: false,
            host_imports: true,
        }
    }
}

impl GenConfig {
    /// Modules shaped like the seeds of WAMR's own fuzzer, the coverage
    /// baseline. WAMR's tests/fuzz/wasm-mutator-fuzz/smith_wasm.sh runs
    /// `wasm-tools smith --ensure-termination --fuel 7 --export-everything true
    /// --generate-custom-sections true --min-funcs 10 --max-instructions 1024
    /// --min-globals 10` with bulk memory, extended const, memory64,
    /// multi-value, reference types, SIMD, tail calls and threads all on, on
    /// 256 KiB of random input. Kept from the default, as every compared
    /// module needs them: no imports, small memories and tables, canonical
    /// NaNs. wasm-smith's own default for the rest (at most 100 functions,
    /// traps allowed).
    pub fn wamr_seeds() -> GenConfig {
        GenConfig {
            features: FeatureSet::GENERATED,
            swarm: false,
            input_len: 256 << 10,
            termination_fuel: 7,
            sometimes_disallow_traps: false,
            min_funcs: 10,
            max_funcs: 100,
            max_instructions: 1024,
            min_globals: 10,
            custom_sections: true,
            host_imports: false,
            ..GenConfig::default()
        }
    }

    /// wasm-smith settings; the few choices drawn from the input keep variety.
    pub fn smith_config(&self, u: &mut Unstructured) -> arbitrary::Result<wasm_smith::Config> {
        let mut c = wasm_smith::Config::default();
        let mut f = FeatureSet::BASE;
        for (name, _) in FeatureSet::OPTIONAL {
            if self.features.has(name) {
                f = f.with(name, !self.swarm || u.arbitrary::<bool>()?);
            }
        }
        c.multi_value_enabled = f.multi_value;
        c.bulk_memory_enabled = f.bulk_memory;
        c.reference_types_enabled = f.reference_types;
        c.sign_extension_ops_enabled = f.sign_extension;
        c.saturating_float_to_int_enabled = f.saturating_float_to_int;
        c.extended_const_enabled = f.extended_const;
        c.simd_enabled = f.simd;
        c.relaxed_simd_enabled = f.relaxed_simd;
        c.threads_enabled = f.threads;
        c.shared_everything_threads_enabled = false;
        c.memory64_enabled = f.memory64;
        c.tail_call_enabled = f.tail_call;
        c.gc_enabled = f.gc;
        c.exceptions_enabled = f.exceptions;
        c.custom_page_sizes_enabled = f.custom_page_sizes;
        c.wide_arithmetic_enabled = f.wide_arithmetic;
        c.custom_descriptors_enabled = false;
        // Shape: modules that import only what the host defines (so every
        // engine links them alike) and whose every item is observable.
        // Half the modules import (swarm, as features): host calls cost
        // engine crossings, and modules without imports explore the rest.
        // wasm-smith takes each listed import or not (a coin each), within
        // the memory and table limits of the drawn features.
        if self.host_imports && (!self.swarm || u.arbitrary::<bool>()?) {
            let (wasm, n) = host_imports(&f);
            c.available_imports = Some(wasm.clone());
            c.max_imports = *n;
        } else {
            c.max_imports = 0;
        }
        // The compact import section is a proposal no engine here takes.
        c.compact_imports_enabled = false;
        c.min_imports = 0;
        c.export_everything = true;
        c.allow_start_export = true;
        c.min_funcs = self.min_funcs;
        c.max_funcs = self.max_funcs;
        c.max_instructions = self.max_instructions;
        c.min_globals = self.min_globals;
        // Swarm shapes, one module in 16 each: more than 32 exports (WAMR's
        // loaders check duplicate export names another way past that many);
        // long bodies like WAMR's own fuzzer seeds (deeper control: `if`
        // blocks with parameters and an `else`).
        if self.swarm && u.ratio(1u8, 16u8)? {
            c.min_funcs = c.min_funcs.max(24);
            c.max_funcs = c.max_funcs.max(c.min_funcs);
            c.min_globals = c.min_globals.max(10);
        }
        if self.swarm && u.ratio(1u8, 16u8)? {
            c.max_instructions = c.max_instructions.max(1024);
        }
        c.generate_custom_sections = self.custom_sections;
        c.max_memories = 1;
        c.max_memory32_bytes = self.max_memory_bytes;
        c.max_memory64_bytes = self.max_memory_bytes.into();
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
        FeatureSet::GENERATED.wasmparser()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The baseline's shape: every optional feature allowed in every module,
    /// at least ten functions and ten globals, from the preset's input size.
    #[test]
    fn wamr_seeds_preset_shapes_modules() {
        let cfg = GenConfig::wamr_seeds();
        let mut u = Unstructured::new(&[0u8; 64]);
        let smith = cfg.smith_config(&mut u).unwrap();
        assert!(smith.simd_enabled && smith.threads_enabled);
        assert!(smith.memory64_enabled && smith.tail_call_enabled);
        let data = crate::generate::seed_bytes(1, cfg.input_len);
        let case = crate::generate::generate(&data, &cfg).unwrap();
        let (mut funcs, mut globals) = (0, 0);
        for p in wasmparser::Parser::new(0).parse_all(&case.wasm) {
            match p.unwrap() {
                wasmparser::Payload::FunctionSection(s) => funcs = s.count(),
                wasmparser::Payload::GlobalSection(s) => globals = s.count(),
                _ => {}
            }
        }
        assert!(
            funcs >= 10 && globals >= 10,
            "{funcs} functions, {globals} globals"
        );
    }
}
