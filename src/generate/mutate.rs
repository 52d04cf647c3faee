//! Mutation of kept modules with wasm-mutate: the campaign's second source of
//! test cases, next to fresh wasm-smith modules.

/// One seeded mutation of `wasm`; `None` when wasm-mutate has nothing to offer
/// or the result is not something the runtime under test is built for.
pub fn mutate(wasm: &[u8], seed: u64) -> Option<Vec<u8>> {
    let mut m = wasm_mutate::WasmMutate::default();
    // Fuel bounds the work of one mutation; semantics may change (that is the point).
    m.seed(seed).fuel(1_000).preserve_semantics(false);
    let out = m.run(wasm).ok()?.take(1).find_map(Result::ok)?;
    let valid = wasmparser::Validator::new_with_features(super::GenConfig::wasm_features())
        .validate_all(&out)
        .is_ok();
    (valid && !super::plan::Exports::names_contain_nul(&out)).then_some(out)
}
