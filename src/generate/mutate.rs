//! Mutation of kept modules with wasm-mutate: the campaign's second source of
//! test cases, next to fresh wasm-smith modules.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    /// Set while wasm-mutate runs on this thread: its panics are expected.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// wasm-mutate has inputs it panics on (seen: an index out of bounds in its
/// peephole analysis). Such a panic is a failed mutation, not the end of the
/// campaign, and its backtrace is noise: the hook stays quiet for it.
fn quiet_panics_while_mutating() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Largest mutant kept. Mutations of mutations grow (seen: 6.5 MB modules
/// after a minute), and a module that size costs more to send, validate and
/// record than to run: wasm-smith's own modules are a few KB.
pub const MAX_MUTANT_BYTES: usize = 64 << 10;

/// One seeded mutation of `wasm`; `None` when wasm-mutate has nothing to offer,
/// fails, grows it past [`MAX_MUTANT_BYTES`], or the result is not something
/// the runtime under test is built for.
pub fn mutate(wasm: &[u8], seed: u64) -> Option<Vec<u8>> {
    quiet_panics_while_mutating();
    QUIET.with(|q| q.set(true));
    let out = std::panic::catch_unwind(|| {
        let mut m = wasm_mutate::WasmMutate::default();
        // Fuel bounds the work of one mutation; semantics may change (that is the point).
        m.seed(seed).fuel(1_000).preserve_semantics(false);
        let first = m.run(wasm).ok()?.take(1).find_map(Result::ok);
        first
    });
    QUIET.with(|q| q.set(false));
    let out = out.ok().flatten().filter(|m| m.len() <= MAX_MUTANT_BYTES)?;
    let valid = wasmparser::Validator::new_with_features(super::GenConfig::wasm_features())
        .validate_all(&out)
        .is_ok();
    (valid && !super::plan::Exports::names_contain_nul(&out) && !super::waits(&out)).then_some(out)
}
