//! The manipulated-.aot bucket (P4): a generated module is compiled with
//! WAMR's AoT compiler, the emitted bytes are mutated by the rest of the fuzz
//! input, then loaded and run. Anything this finds is a bug, never security.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmsieve::engines::{execute, wamr};
use wasmsieve::generate::{self, GenConfig};

fuzz_target!(|data: &[u8]| {
    let (module_input, edits) = data.split_at(data.len() / 2);
    let Ok(case) = generate::generate(module_input, &GenConfig::default()) else { return };
    let Ok(mut aot) = wamr::compile_aot(&case.wasm, &wamr::AotOptions::default()) else { return };
    wasmsieve::generate::aot_mutate::apply_edits(&mut aot, edits);
    let Ok(mut engine) = wamr::Wamr::new(wamr::Mode::Aot) else { return };
    if engine.load_aot(&aot).is_ok() {
        // Run it; a crash or hang here is libFuzzer's artifact (bucket: bug, P4).
        let _ = execute(&mut wamr::PreloadedAot(&mut engine), &case.wasm, &case.plan);
    }
});
