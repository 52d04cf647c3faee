//! Raw bytes → WAMR's loader and validator (classic interpreter build) vs
//! wasmparser with the same features. A crash is security (P2); accepting or
//! rejecting differently is a bug (validation).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmsieve::engines;
use wasmsieve::exec::Engine;
use wasmsieve::generate::{plan::Exports, GenConfig};

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static ENGINE: std::cell::RefCell<Box<dyn Engine>> =
            std::cell::RefCell::new(engines::create("wamr-classic").expect("wamr-classic built"));
    }
    let valid = wasmparser::Validator::new_with_features(GenConfig::wasm_features()).validate_all(data).is_ok();
    // WAMR documents NUL in names as unsupported: not a finding.
    if valid && Exports::names_contain_nul(data) {
        return;
    }
    let loaded = ENGINE.with(|e| e.borrow_mut().load(data));
    if valid != loaded.is_ok() {
        panic!(
            "wasmsieve finding: bug / validation [P2, P7]: wasmparser says {}, wamr-classic {}",
            if valid { "valid" } else { "invalid" },
            match &loaded {
                Ok(()) => "accepts it".to_string(),
                Err(e) => format!("rejects it ({e})"),
            }
        );
    }
});
