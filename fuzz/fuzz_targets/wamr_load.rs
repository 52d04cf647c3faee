//! Raw bytes → WAMR's loader and validator (classic interpreter build) vs
//! wasmparser with the same features. A crash is libFuzzer's (security by
//! P2); accepting or rejecting differently is judged by the policy (a
//! validation bug).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wasmsieve::campaign::libfuzzer::load_input("wamr-classic", data);
});
