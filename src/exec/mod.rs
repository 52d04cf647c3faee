//! Execution: the one small trait every engine implements, what one run of a
//! module is observed to do ([`Execution`]), and the shared loop that walks a
//! call plan ([`execute`]).
//!
//! An engine only knows how to load a module, instantiate it, call an export and
//! read exported state. The loop is shared so every engine, local or behind a
//! worker, is observed the same way, and a new engine is one file.

mod crash;
pub mod guard;

pub use crash::CrashRecord;

use crate::generate::plan::CallPlan;
use crate::wasm::Val;
use serde::{Deserialize, Serialize};

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
    /// Instantiation needs imports and the harness gives no host definitions
    /// (the reference refuses such a module where WAMR instantiates it with
    /// the imports unresolved): not comparable, never a finding.
    Unlinkable,
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

    /// Whether an instruction (by wasmparser's operator name) can raise this
    /// trap: names a trap's site when the engine reports a neighbour.
    pub fn raised_by(&self, op: &str) -> bool {
        let any = |keys: &[&str]| keys.iter().any(|k| op.contains(k));
        match self {
            Trap::Unreachable => op == "Unreachable",
            Trap::MemoryOutOfBounds => any(&["Load", "Store", "Memory", "Atomic"]),
            Trap::TableOutOfBounds | Trap::IndirectCallToNull | Trap::IndirectCallTypeMismatch => {
                any(&["Table", "CallIndirect", "Elem"])
            }
            Trap::NullReference => any(&["Ref", "Call"]),
            Trap::IntegerDivisionByZero => any(&["Div", "Rem"]),
            Trap::IntegerOverflow => any(&["Div", "Trunc"]),
            Trap::BadConversionToInteger => op.contains("Trunc"),
            _ => true,
        }
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

/// Prefix of a load error raised by an ahead-of-time toolchain that compiles
/// the module inside the load step, rather than by the loader of what it
/// emitted: the AoT trust line (P5) puts the two on different sides.
pub const TOOLCHAIN_ERROR: &str = "toolchain: ";

/// The message of a [`Trap::Unlinkable`] instantiation.
pub fn unlinkable(imports: usize) -> String {
    format!("the module has {imports} import(s) and no host defines them: not comparable")
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
    /// Where the call trapped: the module offset of the trapping instruction,
    /// when the engine reports one (the reference does). A missed trap is
    /// named by this instruction, not by whatever the runtime did next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trap_site: Option<u32>,
}

/// How the engine process ended the run: normally, or by something the isolation
/// layer caught (filled in by `isolate`, never by an in-process engine).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum End {
    #[default]
    Completed,
    /// The worker died: fatal signal, abort, sanitizer report.
    Crashed(CrashRecord),
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
    /// Where instantiation trapped (see [`CallRecord::trap_site`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instantiate_trap_site: Option<u32>,
    pub end: End,
    /// Engine-specific artifacts worth keeping with a finding (e.g. emitted .aot).
    #[serde(skip)]
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// Where the input the runtime ran came from: the AoT trust line (P4/P5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// A .wasm run by an interpreter (or loaded by any loader).
    Wasm,
    /// An .aot our harness compiled from a .wasm with supported options.
    AotEmitted,
    /// An .aot whose bytes were changed after emission.
    AotManipulated,
    /// An .aot from elsewhere, no source .wasm given.
    AotUnknown,
    /// The AoT compiler itself, given a .wasm.
    AotCompiler,
    /// An option combination the toolchain does not support, or bad embedder input.
    Misuse,
}

impl Provenance {
    pub const ALL: [Provenance; 6] = [
        Provenance::Wasm,
        Provenance::AotEmitted,
        Provenance::AotManipulated,
        Provenance::AotUnknown,
        Provenance::AotCompiler,
        Provenance::Misuse,
    ];

    /// The name policy rows use.
    pub fn name(self) -> &'static str {
        match self {
            Provenance::Wasm => "wasm",
            Provenance::AotEmitted => "aot-emitted",
            Provenance::AotManipulated => "aot-manipulated",
            Provenance::AotUnknown => "aot-unknown",
            Provenance::AotCompiler => "aot-compiler",
            Provenance::Misuse => "misuse",
        }
    }
}

/// A module instance inside an engine.
pub trait Instance {
    /// Calls an exported function. `Err` is a trap.
    fn call(&mut self, export: &str, args: &[Val]) -> Result<Vec<Val>, (Trap, String)>;
    /// Reads an exported global of a type the harness knows; `None` otherwise.
    fn global(&mut self, name: &str) -> Option<Val>;
    /// Snapshots an exported memory (see [`MemorySnapshot::of`]).
    fn memory(&mut self, name: &str) -> Option<MemorySnapshot>;
    /// The module offset of the instruction the last call trapped at, for
    /// engines that know it: root-cause signatures are built on it.
    fn trap_site(&self) -> Option<u32> {
        None
    }
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
    /// Like [`Instance::trap_site`], for a trap while instantiating (a start
    /// function or a segment).
    fn trap_site(&self) -> Option<u32> {
        None
    }
    /// How long one step may take (only isolated engines can enforce it).
    fn set_deadline(&mut self, _deadline: std::time::Duration) {}
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
            });
            exec.instantiate_trap_site = engine.trap_site();
        }
    }
    exec
}

fn run_calls(instance: &mut dyn Instance, plan: &CallPlan, exec: &mut Execution) {
    for call in &plan.calls {
        let (result, trap_site) = match instance.call(&call.export, &call.args) {
            Ok(vals) => (CallResult::Returned(vals), None),
            Err((trap, message)) => (CallResult::Trapped { trap, message }, instance.trap_site()),
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
            trap_site,
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
            hash: crate::wasm::to_hex(&digest[..12]),
        }
    }
}
