//! The manipulated-.aot bucket (P4): a generated module is compiled with
//! WAMR's AoT compiler, the emitted bytes are mutated by the rest of the fuzz
//! input, then loaded and run. Anything this finds is a bug, never security.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmsieve::engines::wamr;
use wasmsieve::exec::Executor;
use wasmsieve::generate::{self, GenConfig};

fuzz_target!(|data: &[u8]| {
    let (module_input, edits) = data.split_at(data.len() / 2);
    let Ok(case) = generate::generate(module_input, &GenConfig::default()) else { return };
    let Ok(mut aot) = wamr::compile_aot(&case.wasm, &wamr::AotOptions::default()) else { return };
    wasmsieve::generate::aot_mutate::apply_edits(&mut aot, edits);
    // To triage an artifact: re-run it with WASMSIEVE_FUZZ_AOT_OUT=x.aot, then
    // `wasmsieve triage x.aot` (the artifact itself is generator input, not an .aot).
    if let Some(path) = std::env::var_os("WASMSIEVE_FUZZ_AOT_OUT") {
        let _ = std::fs::write(path, &aot);
    }
    // The AoT engine loads `\0aot` input as is (as campaigns and triage do,
    // there in a worker). A crash or hang here becomes libFuzzer's artifact;
    // its bucket is bug (P4), whatever it does.
    let Ok(mut engine) = wasmsieve::engines::create(wamr::AOT_ENGINE) else { return };
    let _ = engine.run(&aot, &case.plan);
});
