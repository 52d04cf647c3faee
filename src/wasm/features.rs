//! Which Wasm features a module really needs, for the tier rule (P8).
//!
//! wasmparser tells by validation: starting from every feature, each feature
//! outside tier A is switched off in turn and stays off when the module still
//! validates without it. What remains is what the module needs. It runs only
//! when a verdict depends on it, so its cost does not matter.

use wasmparser::{Validator, WasmFeatures};

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
