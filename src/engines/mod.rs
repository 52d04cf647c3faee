//! Engines: one file per engine behind the [`crate::exec::Engine`] trait, and
//! the registry of every engine wasmsieve knows. Everything WAMR-specific lives
//! in [`wamr`].

pub mod faulty;
pub mod faulty_wasi;
pub mod wamr;
pub mod wasmi;
pub mod wasmtime;

use crate::exec::Engine;

/// What the harness knows about an engine by name.
#[derive(Debug)]
pub struct EngineInfo {
    pub name: &'static str,
    /// What the runtime is given to run: the AoT trust line of the policy.
    pub provenance: crate::exec::Provenance,
    /// The mode's name in the policy's tier lists (P8), for runtimes under test.
    pub mode_feature: Option<&'static str>,
    /// Safe to run in the harness process next to wasmtime (no signal handlers
    /// of its own, cannot crash on purpose).
    pub in_process_ok: bool,
    /// Out-of-bounds accesses are caught only by guard pages (no software
    /// checks): an access the reference traps on cannot complete without
    /// faulting or breaching the guard, which the worker watches.
    pub hardware_bounds: bool,
    /// The code that runs the module: engines that differ only in how memory
    /// bounds are checked share it, so a divergence that involves no memory
    /// bounds, crash or hang is one root cause across them.
    pub code: &'static str,
    /// The library every mode of the runtime shares (its loader, its WASI
    /// host functions): a validation or WASI finding is one root cause
    /// across all of them.
    pub runtime: &'static str,
    /// Frames of the runtime that only carry a call into Wasm code: left out
    /// of crash signatures, so one bug gives one signature however it is
    /// reached.
    pub crash_glue: &'static [&'static str],
    /// The Wasm proposals it runs (from its build flags, for WAMR): it is
    /// given only modules that need no more.
    pub features: FeatureSet,
    /// Runs WASI programs, each in its own sandbox (`exec::wasi`): judged by
    /// the capability oracle.
    pub wasi: bool,
    pub about: &'static str,
}

use crate::exec::Provenance as P;
use crate::wasm::features::FeatureSet;

/// The reference, the second opinion and the test engine; the runtimes under
/// test come from their own files ([`wamr::ENGINES`]).
static OTHERS: &[EngineInfo] = &[
    EngineInfo {
        name: "faulty",
        provenance: P::Wasm,
        mode_feature: None,
        in_process_ok: false,
        hardware_bounds: false,
        code: "faulty",
        runtime: "faulty",
        crash_glue: &[],
        features: FeatureSet::GENERATED,
        wasi: true,
        about: "test engine: wasmtime that misbehaves on wsv_fault_* markers",
    },
    EngineInfo {
        name: "wasmtime",
        provenance: P::Wasm,
        mode_feature: None,
        in_process_ok: true,
        hardware_bounds: false,
        code: "wasmtime",
        runtime: "wasmtime",
        crash_glue: &[],
        features: FeatureSet::GENERATED,
        wasi: false,
        about: "reference: wasmtime (Cranelift), fuel-bounded",
    },
    EngineInfo {
        name: "wasmi",
        provenance: P::Wasm,
        mode_feature: None,
        in_process_ok: true,
        hardware_bounds: false,
        code: "wasmi",
        runtime: "wasmi",
        crash_glue: &[],
        // wasmi has no threads proposal: such a case goes to wasmtime directly.
        features: FeatureSet {
            threads: false,
            ..FeatureSet::GENERATED
        },
        wasi: false,
        about: "second opinion: wasmi interpreter",
    },
];

/// Every engine wasmsieve knows. Runtimes under test first.
pub fn all() -> impl Iterator<Item = &'static EngineInfo> {
    wamr::ENGINES.iter().chain(OTHERS)
}

pub fn info(name: &str) -> Option<&'static EngineInfo> {
    all().find(|e| e.name == name)
}

/// Names of every engine, for messages.
pub fn names() -> Vec<&'static str> {
    all().map(|e| e.name).collect()
}

/// Runtimes under test that this binary was built with.
pub fn runtimes_built() -> Vec<&'static str> {
    wamr::available()
}

/// Whether an engine can be created in this binary.
pub fn is_built(name: &str) -> bool {
    match wamr::is_built(name) {
        Some(built) => built,
        None => info(name).is_some(),
    }
}

/// Creates an engine in this process.
pub fn create(name: &str) -> anyhow::Result<Box<dyn Engine>> {
    Ok(match name {
        "wasmtime" => Box::new(wasmtime::Wasmtime::new()?),
        "wasmi" => Box::new(wasmi::Wasmi::new()),
        "faulty" => Box::new(faulty::Faulty::new()?),
        other => wamr::create(other).unwrap_or_else(|| {
            Err(anyhow::anyhow!(
                "unknown engine `{other}`; known engines: {}",
                names().join(", ")
            ))
        })?,
    })
}

/// Whether `engine` can be pinned to these ahead-of-time compile options
/// (see `Engine::pin_compile_options`); `Err` says why not.
pub fn check_compile_options(engine: &str, options: &str) -> Result<(), String> {
    match wamr::check_compile_options(engine, options) {
        Some(checked) => checked,
        None if info(engine).is_some() => Err(format!("{engine} compiles nothing ahead of time")),
        None => Err(format!(
            "unknown engine `{engine}`; known engines: {}",
            names().join(", ")
        )),
    }
}

/// Which WAMR this binary runs: source tree, version, flags per mode.
pub fn describe_wamr() -> String {
    wamr::build_info()
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}
