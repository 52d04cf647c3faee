//! Generation: turning fuzz input into modules and call plans.
//!
//! `config` draws wasm-smith settings from the one feature set
//! (`crate::wasm::features`), so wasm-smith never generates what the runtimes
//! were not built for (that would be a misconfiguration, not a finding).

pub mod aot_mutate;
pub mod config;
pub mod edges;
pub mod malformed;
pub mod mutate;
pub mod plan;
pub mod probes;
pub mod sweep;
pub mod wasi;

use arbitrary::Unstructured;
pub use config::GenConfig;

/// A generated test case: the module bytes and how to drive it.
#[derive(Clone, Debug)]
pub struct TestCase {
    pub wasm: Vec<u8>,
    pub plan: plan::CallPlan,
    /// For a malformed module: the edits that made it, and its label.
    pub malformed: Option<malformed::Malformed>,
}

impl TestCase {
    pub fn new(wasm: Vec<u8>, plan: plan::CallPlan) -> TestCase {
        TestCase {
            wasm,
            plan,
            malformed: None,
        }
    }
}

/// Builds a module from fuzz input with wasm-smith, made to terminate in every
/// engine (a fuel global injected at loop heads and function entries), then a
/// call plan from the rest of the input. Same bytes, same test case.
pub fn generate(data: &[u8], cfg: &GenConfig) -> arbitrary::Result<TestCase> {
    let mut u = Unstructured::new(data);
    let mut module = wasm_smith::Module::new(cfg.smith_config(&mut u)?, &mut u)?;
    module
        .ensure_termination(cfg.termination_fuel)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let mut wasm = module.to_bytes();
    // WAMR documents names containing NUL as unsupported ("LIMITATION" in
    // wasm_check_utf8_str): such a module would only rediscover that. An
    // atomic wait of wasm-smith's (a random timeout) on a shared memory
    // blocks the only thread in every engine: no comparison, only waiting.
    if plan::Exports::names_contain_nul(&wasm) || waits(&wasm) {
        return Err(arbitrary::Error::IncorrectFormat);
    }
    // One module with a memory in four gets the probes (bounded waits).
    if cfg.swarm && u.ratio(1u8, 4u8)? {
        if let Some(probed) = probes::add(&wasm, &mut u) {
            wasm = probed;
        }
    }
    let plan = plan::CallPlan::build(&wasm, &mut u, cfg.calls_per_export)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(TestCase::new(wasm, plan))
}

/// A malformed test case ([`malformed`]): a module generated as by
/// [`generate`], then edited by one or two named mutations; an invalid
/// mutant keeps the valid module's call plan (a loader that accepts it is
/// run with it).
pub fn generate_malformed(data: &[u8], cfg: &GenConfig) -> arbitrary::Result<TestCase> {
    let valid = generate(data, cfg)?;
    // The edits draw from the input's end, which generation rarely reaches.
    let mut u = Unstructured::new(&data[data.len().saturating_sub(256)..]);
    let (wasm, label) = malformed::malform(&valid.wasm, &mut u, &cfg.features)
        .ok_or(arbitrary::Error::IncorrectFormat)?;
    // A mutant that stayed valid (a padded size, a cut that left a module)
    // may have lost exports: its own plan, as for any valid module.
    let plan = match label.valid {
        true => plan::CallPlan::build(&wasm, &mut u, cfg.calls_per_export)
            .map_err(|_| arbitrary::Error::IncorrectFormat)?,
        false => valid.plan,
    };
    Ok(TestCase {
        wasm,
        plan,
        malformed: Some(label),
    })
}

/// A WASI program ([`wasi`]): calls of `wasi_snapshot_preview1` with
/// arguments from an adversarial dictionary, for the capability oracle.
pub fn generate_wasi(data: &[u8]) -> arbitrary::Result<TestCase> {
    let (wasm, plan) = wasi::program(&mut Unstructured::new(data))?;
    Ok(TestCase::new(wasm, plan))
}

/// Whether a module contains `memory.atomic.wait32/64`.
pub(crate) fn waits(wasm: &[u8]) -> bool {
    use wasmparser::{Operator, Payload};
    wasmparser::Parser::new(0).parse_all(wasm).any(|p| match p {
        Ok(Payload::CodeSectionEntry(body)) => body.get_operators_reader().is_ok_and(|mut r| {
            while !r.eof() {
                match r.read() {
                    Ok(
                        Operator::MemoryAtomicWait32 { .. } | Operator::MemoryAtomicWait64 { .. },
                    ) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            false
        }),
        _ => false,
    })
}

/// Deterministic fuzz input for a campaign iteration: a seed expands to bytes
/// with a small xorshift generator, so `--seed N` reproduces a whole campaign.
pub fn seed_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
