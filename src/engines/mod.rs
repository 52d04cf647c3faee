//! Engines: one file per engine behind the [`crate::exec::Engine`] trait, and
//! the registry of every engine wasmsieve knows. Everything WAMR-specific lives
//! in [`wamr`].

pub mod faulty;
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
    pub about: &'static str,
}

use crate::exec::Provenance as P;

/// Every engine wasmsieve knows. Runtimes under test first.
pub static ENGINES: &[EngineInfo] = &[
    EngineInfo { name: "wamr-classic", provenance: P::Wasm, mode_feature: Some("classic-interpreter"), in_process_ok: true, hardware_bounds: false, about: "WAMR classic interpreter (software bounds checks)" },
    EngineInfo { name: "wamr-fast", provenance: P::Wasm, mode_feature: Some("fast-interpreter"), in_process_ok: true, hardware_bounds: false, about: "WAMR fast interpreter (software bounds checks)" },
    EngineInfo { name: "wamr-aot", provenance: P::AotEmitted, mode_feature: Some("aot"), in_process_ok: true, hardware_bounds: false, about: "WAMR AoT compiler (in process, supported options, software bounds checks) + AoT runtime" },
    EngineInfo { name: "wamr-aot-opts", provenance: P::AotEmitted, mode_feature: Some("aot"), in_process_ok: true, hardware_bounds: false, about: "WAMR AoT with compiler options drawn per module (opt/size level 0-3, software bounds checks)" },
    // Hardware bounds checks (WAMR's x86-64 default): guard regions and WAMR's
    // own SIGSEGV/SIGBUS handlers, so worker processes only.
    EngineInfo { name: "wamr-classic-hw", provenance: P::Wasm, mode_feature: Some("classic-interpreter"), in_process_ok: false, hardware_bounds: true, about: "WAMR classic interpreter (hardware bounds checks: guard region, own signal handlers; worker only)" },
    EngineInfo { name: "wamr-fast-hw", provenance: P::Wasm, mode_feature: Some("fast-interpreter"), in_process_ok: false, hardware_bounds: true, about: "WAMR fast interpreter (hardware bounds checks: guard region, own signal handlers; worker only)" },
    EngineInfo { name: "wamr-aot-hw", provenance: P::AotEmitted, mode_feature: Some("aot"), in_process_ok: false, hardware_bounds: true, about: "WAMR AoT (hardware bounds checks; code compiled with bounds_checks=0, the supported combination; worker only)" },
    EngineInfo { name: "faulty", provenance: P::Wasm, mode_feature: None, in_process_ok: false, hardware_bounds: false, about: "test engine: wasmtime that misbehaves on wsv_fault_* markers" },
    EngineInfo { name: "wasmtime", provenance: P::Wasm, mode_feature: None, in_process_ok: true, hardware_bounds: false, about: "reference: wasmtime (Cranelift), fuel-bounded" },
    EngineInfo { name: "wasmi", provenance: P::Wasm, mode_feature: None, in_process_ok: true, hardware_bounds: false, about: "second opinion: wasmi interpreter" },
];

/// WAMR's AoT runtime given an .aot whose bytes were changed after emission:
/// trusted input by policy (P4), so whatever it does is a bug.
pub static AOT_MANIPULATED: EngineInfo = EngineInfo {
    name: "wamr-aot",
    provenance: P::AotManipulated,
    mode_feature: Some("aot"),
    in_process_ok: false,
    hardware_bounds: false,
    about: "WAMR AoT runtime loading manipulated .aot files",
};

pub fn info(name: &str) -> Option<&'static EngineInfo> {
    ENGINES.iter().find(|e| e.name == name)
}

/// Runtimes under test that this binary was built with.
pub fn runtimes_built() -> Vec<&'static str> {
    wamr::available()
}

/// Whether an engine can be created in this binary.
pub fn is_built(name: &str) -> bool {
    match name {
        "wamr-aot-opts" => runtimes_built().contains(&"wamr-aot"),
        n if n.starts_with("wamr-") => runtimes_built().contains(&n),
        _ => info(name).is_some(),
    }
}

/// Creates an engine in this process.
pub fn create(name: &str) -> anyhow::Result<Box<dyn Engine>> {
    Ok(match name {
        "wasmtime" => Box::new(wasmtime::Wasmtime::new()?),
        "wasmi" => Box::new(wasmi::Wasmi::new()),
        "faulty" => Box::new(faulty::Faulty::new()?),
        "wamr-aot-opts" => Box::new(wamr::Wamr::aot_drawing_options().map_err(anyhow::Error::msg)?),
        other => {
            let mode = wamr::Mode::from_name(other).ok_or_else(|| {
                let known: Vec<&str> = ENGINES.iter().map(|e| e.name).collect();
                anyhow::anyhow!(
                    "unknown engine `{other}`; known engines: {}",
                    known.join(", ")
                )
            })?;
            Box::new(wamr::Wamr::new(mode).map_err(anyhow::Error::msg)?)
        }
    })
}

/// Which WAMR this binary runs: source tree, version, flags per mode.
pub fn describe_wamr() -> String {
    wamr::build_info()
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}
