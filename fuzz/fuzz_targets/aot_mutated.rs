//! The manipulated-.aot bucket (P4): a generated module is compiled with
//! WAMR's AoT compiler, the emitted bytes are mutated by the rest of the fuzz
//! input, then loaded and run. Anything this finds is a bug, never security.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmsieve::engines::wamr;
use wasmsieve::exec::Executor;

fuzz_target!(|data: &[u8]| {
    // The recipe lives in the library: `wasmsieve triage` re-runs it on an
    // artifact (fuzz/artifacts/aot_mutated/crash-*) to recover the .aot.
    let Some((case, aot)) = wasmsieve::generate::aot_mutate::mutant_of(data, wamr::compile_default) else { return };
    // The AoT engine loads `\0aot` input as is (as campaigns and triage do,
    // there in a worker). A crash or hang here becomes libFuzzer's artifact;
    // its bucket is bug (P4), whatever it does.
    let Ok(mut engine) = wasmsieve::engines::create(wamr::AOT_ENGINE) else { return };
    let _ = engine.run(&aot, &case.plan);
});
