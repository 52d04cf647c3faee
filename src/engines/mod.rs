//! Engines: one small trait, one file per engine.
//!
//! An engine only knows how to load a module, instantiate it, call an export and
//! read exported state. The loop that walks a call plan and records what happened
//! ([`execute`]) is shared, so every engine is observed the same way and a new
//! engine is one file.

pub mod faulty;
pub mod wamr;
pub mod wasmi;
pub mod wasmtime;

use crate::generate::plan::CallPlan;
use serde::{Deserialize, Serialize};

/// A Wasm value as observed at the boundary. Floats are kept as bit patterns so
/// that NaN payloads survive the trip (the oracle decides how to compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

impl Val {
    /// Raw bits, zero-extended, as the C shim takes them.
    pub fn bits(self) -> u64 {
        match self {
            Val::I32(v) => v as u32 as u64,
            Val::I64(v) => v as u64,
            Val::F32(v) => v as u64,
            Val::F64(v) => v,
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Val::I32(v) => write!(f, "i32:{v}"),
            Val::I64(v) => write!(f, "i64:{v}"),
            Val::F32(b) => write!(f, "f32:{}", f32::from_bits(b)),
            Val::F64(b) => write!(f, "f64:{}", f64::from_bits(b)),
        }
    }
}

/// Value types the harness can pass and read across every engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
}

/// One trap vocabulary shared by all engines: each engine file maps its own
/// trap codes or exception strings onto it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trap {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallTypeMismatch,
    /// `call_indirect` through a null or uninitialized table slot.
    IndirectCallToNull,
    NullReference,
    IntegerDivisionByZero,
    IntegerOverflow,
    BadConversionToInteger,
    /// Call stack exhausted: depth is implementation-defined.
    StackOverflow,
    /// The engine's own fuel or instruction budget ran out.
    OutOfFuel,
    /// Allocation or resource limit (memory, table growth) failed in the host.
    ResourceLimit,
    /// A message the engine file could not map; kept verbatim.
    Other(String),
}

impl Trap {
    /// Traps whose presence depends on engine limits rather than Wasm semantics:
    /// a divergence involving one of them is not a finding (it "poisons" the case).
    pub fn is_nondeterministic(&self) -> bool {
        matches!(
            self,
            Trap::StackOverflow | Trap::OutOfFuel | Trap::ResourceLimit
        )
    }

    /// Traps a runtime must raise to stay inside the sandbox: completing instead
    /// means an access or call the reference refused went through.
    pub fn guards_sandbox(&self) -> bool {
        matches!(
            self,
            Trap::MemoryOutOfBounds
                | Trap::TableOutOfBounds
                | Trap::IndirectCallTypeMismatch
                | Trap::IndirectCallToNull
        )
    }
}

/// What a call (or instantiation) ended in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CallResult {
    Returned(Vec<Val>),
    Trapped { trap: Trap, message: String },
}

/// State snapshot of one exported memory: its size and a hash of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySnapshot {
    pub name: String,
    pub len: u64,
    pub hash: String,
}

/// One call of the plan as an engine saw it, with the exported state after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub export: String,
    pub args: Vec<Val>,
    pub result: CallResult,
    pub globals: Vec<(String, Option<Val>)>,
    pub memories: Vec<MemorySnapshot>,
}

/// How the engine process ended the run: normally, or by something the isolation
/// layer caught (filled in by `isolate`, never by an in-process engine).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum End {
    #[default]
    Completed,
    /// The worker died: fatal signal, abort, sanitizer report.
    Crashed(crate::isolate::CrashRecord),
    /// The worker did not answer before the deadline and was killed.
    Hung { deadline_ms: u64, call_index: usize },
}

/// The observation of one module in one engine: the unit the oracle compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Execution {
    pub engine: String,
    /// `Err(message)` when the engine rejected the module (validation or load).
    pub load: Option<Result<(), String>>,
    /// `None` when not reached; a trap here is a start function or segment trap.
    pub instantiate: Option<CallResult>,
    pub calls: Vec<CallRecord>,
    pub end: End,
    /// Engine-specific artifacts worth keeping with a finding (e.g. emitted .aot).
    #[serde(skip)]
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// A module instance inside an engine.
pub trait Instance {
    /// Calls an exported function. `Err` is a trap.
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, (Trap, String)>;
    /// Reads an exported global of a type the harness knows; `None` otherwise.
    fn global(&mut self, name: &str) -> Option<Val>;
    /// Snapshots an exported memory (see [`MemorySnapshot::of`]).
    fn memory(&mut self, name: &str) -> Option<MemorySnapshot>;
    /// Set when the engine can no longer answer (its worker died or hung):
    /// the run stops there and the isolation layer's record becomes the end.
    fn aborted(&self) -> Option<End> {
        None
    }
}

/// A Wasm engine: the reference, a second opinion, or a runtime under test.
pub trait Engine {
    /// Stable name used on the command line and in findings.
    fn name(&self) -> &str;
    /// Validates and loads the module. `Err` is a rejection message.
    fn load(&mut self, wasm: &[u8]) -> Result<(), String>;
    /// Instantiates the module loaded last. `Err` is a trap or link error.
    fn instantiate(&mut self) -> Result<Box<dyn Instance + '_>, (Trap, String)>;
    /// Files produced while loading that a finding should keep (e.g. `input.aot`).
    fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        Vec::new()
    }
    /// Like [`Instance::aborted`], for failures while loading or instantiating.
    fn aborted(&self) -> Option<End> {
        None
    }
    /// How long one step may take (only isolated engines can enforce it).
    fn set_deadline(&mut self, _deadline: std::time::Duration) {}
}

/// What the harness knows about an engine by name.
#[derive(Debug)]
pub struct EngineInfo {
    pub name: &'static str,
    /// What the runtime is given to run: the AoT trust line of the policy.
    pub provenance: crate::policy::Provenance,
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

use crate::policy::Provenance as P;

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

/// Walks a call plan through one engine and records everything observable.
/// Shared by all engines (in process and inside isolation workers).
pub fn execute(engine: &mut dyn Engine, wasm: &[u8], plan: &CallPlan) -> Execution {
    let mut exec = Execution {
        engine: engine.name().to_string(),
        ..Default::default()
    };
    let loaded = engine.load(wasm);
    exec.artifacts = engine.artifacts();
    if let Some(end) = engine.aborted() {
        exec.end = end;
        return exec;
    }
    let failed = loaded.is_err();
    exec.load = Some(loaded);
    if failed {
        return exec;
    }
    let failure = match engine.instantiate() {
        Ok(mut instance) => {
            exec.instantiate = Some(CallResult::Returned(vec![]));
            run_calls(instance.as_mut(), plan, &mut exec);
            return exec;
        }
        Err(failure) => failure,
    };
    match engine.aborted() {
        Some(end) => exec.end = end,
        None => {
            exec.instantiate = Some(CallResult::Trapped {
                trap: failure.0,
                message: failure.1,
            })
        }
    }
    exec
}

fn run_calls(instance: &mut dyn Instance, plan: &CallPlan, exec: &mut Execution) {
    for call in &plan.calls {
        let result = match instance.call(&call.export, &call.args) {
            Ok(vals) => CallResult::Returned(vals),
            Err((trap, message)) => CallResult::Trapped { trap, message },
        };
        if let Some(end) = instance.aborted() {
            exec.end = end;
            return;
        }
        let globals = plan
            .globals
            .iter()
            .map(|g| (g.clone(), instance.global(g)))
            .collect();
        let memories = plan
            .memories
            .iter()
            .filter_map(|m| instance.memory(m))
            .collect();
        exec.calls.push(CallRecord {
            export: call.export.clone(),
            args: call.args.clone(),
            result,
            globals,
            memories,
        });
    }
}

impl MemorySnapshot {
    /// Hashes a memory's bytes: engines compare hashes, never ship whole memories.
    pub fn of(name: &str, bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(bytes);
        MemorySnapshot {
            name: name.to_string(),
            len: bytes.len() as u64,
            hash: digest[..12].iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}
