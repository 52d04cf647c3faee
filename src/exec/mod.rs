//! Execution: the one small trait every engine implements, what one run of a
//! module is observed to do ([`Execution`]), and the shared loop that walks a
//! call plan ([`execute`]).
//!
//! An engine only knows how to load a module, instantiate it, call an export and
//! read exported state. The loop is shared so every engine, local or behind a
//! worker, is observed the same way, and a new engine is one file.

mod crash;
pub mod guard;
pub mod wasi;

pub use crash::CrashRecord;

use crate::generate::plan::CallPlan;
use crate::wasm::Val;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One trap vocabulary shared by all engines: each engine file maps its own
/// trap codes or exception strings onto it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trap {
    Unreachable,
    MemoryOutOfBounds,
    /// An atomic access at an address that is not a multiple of its size.
    UnalignedAtomic,
    /// `memory.atomic.wait32/64` on a memory that is not shared.
    WaitOnUnsharedMemory,
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
    /// Instantiation needs imports the host (`crate::wasm::host`) does not
    /// define (the reference refuses such a module where WAMR instantiates
    /// it with the imports unresolved): not comparable, never a finding.
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
            Trap::UnalignedAtomic => op.contains("Atomic"),
            Trap::WaitOnUnsharedMemory => op.contains("AtomicWait"),
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

    /// Whether two traps report the same fault. An atomic access that is both
    /// out of bounds and misaligned may raise either trap: the threads
    /// proposal leaves the order open and engines differ (wasmtime#3144).
    /// So with a wait on an unshared memory at such an address (WAMR with
    /// hardware bounds checks tests sharedness first, wasmtime the bounds).
    pub fn same_fault(&self, other: &Trap) -> bool {
        let access = |t: &Trap| {
            matches!(
                t,
                Trap::MemoryOutOfBounds | Trap::UnalignedAtomic | Trap::WaitOnUnsharedMemory
            )
        };
        self == other || (access(self) && access(other))
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

/// Fuel the reference engines give each call: a safety net behind the
/// module's own termination counter (2,000 iterations of at most a few
/// hundred instructions). A call that needs more is the guest's own loop as
/// far as judging goes, and the interpreters under test then run it only as
/// long as the short guest-loop deadline.
pub const FUEL_PER_CALL: u64 = 2_000_000;

/// Prefix of a load error raised by an ahead-of-time toolchain that compiles
/// the module inside the load step, rather than by the loader of what it
/// emitted: the AoT trust line (P5) puts the two on different sides.
pub const TOOLCHAIN_ERROR: &str = "toolchain: ";

/// The message of a [`Trap::Unlinkable`] instantiation.
pub fn unlinkable(imports: usize) -> String {
    format!("the module has {imports} import(s) the host does not define: not comparable")
}

/// The failure of a call given an argument the engine cannot be handed (a
/// non-null funcref: plans never make one, a hand-edited plan may).
pub fn unpassable(arg: Val) -> (Trap, String) {
    let message = format!("cannot pass {arg} to this engine");
    (Trap::Other(message.clone()), message)
}

/// The exported function a [`Val::FuncExport`] argument names, among the
/// module's (`wasm::func_exports`): its name and index.
pub fn func_export(exports: &[(String, u32)], arg: Val) -> Result<&(String, u32), (Trap, String)> {
    match arg {
        Val::FuncExport(n) => exports.get(n as usize).ok_or_else(|| unpassable(arg)),
        _ => Err(unpassable(arg)),
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
    /// In a WASI run: a canary of the sandbox (bytes only reading outside
    /// the preopened root gives) found in this memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
}

thread_local! {
    /// The canaries of the WASI run in progress on this thread (see
    /// [`execute`]): every engine's memory snapshots look for them.
    static CANARIES: std::cell::RefCell<Vec<(String, Vec<u8>)>> = const { std::cell::RefCell::new(Vec::new()) };
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
    /// In a WASI run: what the sandbox showed of it (see `exec::wasi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasi: Option<WasiObserved>,
    /// How the engine compiled the module ahead of time
    /// ([`Engine::compile_options`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_options: Option<String>,
    /// Engine-specific artifacts worth keeping with a finding (e.g. emitted .aot).
    #[serde(skip)]
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// What a WASI run left behind outside the guest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WasiObserved {
    /// Host files the engine process still held open after the instance was
    /// gone, outside the preopened root.
    pub fds_outside: Vec<String>,
    /// Paths outside the root that changed (filled in by the pipeline, which
    /// made the sandbox).
    pub changed_outside: Vec<String>,
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
}

/// A Wasm engine in this process: the reference, a second opinion, or a
/// runtime under test. It takes a test case step by step; [`Executor`] is
/// how the pipeline runs it.
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
    /// Like [`Instance::trap_site`], for a trap while instantiating (a start
    /// function or a segment).
    fn trap_site(&self) -> Option<u32> {
        None
    }
    /// The WASI sandbox of the next module (`None`: no WASI), for engines
    /// that implement WASI; set before `load`.
    fn set_wasi(&mut self, _setup: Option<&crate::generate::wasi::WasiSetup>) {}
    /// How `load` will compile `wasm` ahead of time, as text
    /// [`Engine::pin_compile_options`] takes back; `None`: this engine
    /// compiles nothing ahead of time. Asked before `load`, so options stay
    /// on record when the compiler dies.
    fn compile_options(&self, _wasm: &[u8]) -> Option<String> {
        None
    }
    /// Compile the next modules with these options (`None`: the engine's own
    /// choice): a finding's, so re-runs and shrink candidates, whose bytes
    /// differ, compile as it did. `Err` says why the text is not usable.
    fn pin_compile_options(&mut self, options: Option<&str>) -> Result<(), String> {
        match options {
            None => Ok(()),
            Some(_) => Err(format!("{} compiles nothing ahead of time", self.name())),
        }
    }
}

/// The file of a finding folder that records each engine's
/// [`Engine::compile_options`], one `<engine> <options>` line each (named for
/// the one ahead-of-time compiler here, WAMR's).
pub const COMPILE_OPTIONS_FILE: &str = "aot-options.txt";

/// The text of [`COMPILE_OPTIONS_FILE`] for these runs (`None`: no engine
/// compiled ahead of time).
pub fn compile_options_text(runs: &[Execution]) -> Option<String> {
    let lines: Vec<String> = runs
        .iter()
        .filter_map(|e| Some(format!("{} {}\n", e.engine, e.compile_options.as_ref()?)))
        .collect();
    (!lines.is_empty()).then(|| {
        format!(
            "# How each engine compiled the module ahead of time (wamrc's options, without the\n\
             # feature flags the module needs); triage, shrink and report compile with these.\n{}",
            lines.concat()
        )
    })
}

/// Reads [`COMPILE_OPTIONS_FILE`]'s text: engine name to options.
pub fn parse_compile_options(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut pinned = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (engine, options) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("line {}: `{line}` is not `<engine> <options>`", n + 1))?;
        pinned.insert(engine.to_string(), options.trim().to_string());
    }
    Ok(pinned)
}

/// Runs whole test cases: an [`Engine`] in this process through the shared
/// step loop, or a worker process in one round trip (`isolate`).
pub trait Executor {
    fn name(&self) -> &str;
    fn run(&mut self, wasm: &[u8], plan: &CallPlan) -> Execution;
    /// How long one step may take (only isolated executors can enforce it).
    fn set_deadline(&mut self, _deadline: std::time::Duration) {}
}

impl<E: Engine + ?Sized> Executor for E {
    fn name(&self) -> &str {
        Engine::name(self)
    }

    fn run(&mut self, wasm: &[u8], plan: &CallPlan) -> Execution {
        execute(self, wasm, plan, &mut |_| {})
    }
}

impl Executor for Box<dyn Engine> {
    fn name(&self) -> &str {
        self.as_ref().name()
    }

    fn run(&mut self, wasm: &[u8], plan: &CallPlan) -> Execution {
        execute(self.as_mut(), wasm, plan, &mut |_| {})
    }
}

/// One observed step of a run, in order. A worker streams them back as it
/// goes, so a run that dies or hangs midway keeps every step before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Step {
    Loaded {
        result: Result<(), String>,
        #[serde(with = "crate::wasm::hex::named")]
        artifacts: Vec<(String, Vec<u8>)>,
    },
    Instantiated {
        result: CallResult,
        trap_site: Option<u32>,
    },
    Called(CallRecord),
    /// After a WASI run, its instance gone: host files still held open
    /// outside the preopened root.
    HostFds(Vec<String>),
    /// Before loading: how the engine compiles the module ahead of time.
    Compiling(String),
}

impl Execution {
    /// Adds the next step of the run.
    pub fn record(&mut self, step: Step) {
        match step {
            Step::Loaded { result, artifacts } => {
                self.load = Some(result);
                self.artifacts = artifacts;
            }
            Step::Instantiated { result, trap_site } => {
                self.instantiate = Some(result);
                self.instantiate_trap_site = trap_site;
            }
            Step::Called(call) => self.calls.push(call),
            Step::HostFds(fds) => self.wasi.get_or_insert_with(Default::default).fds_outside = fds,
            Step::Compiling(options) => self.compile_options = Some(options),
        }
    }
}

/// Walks a call plan through one engine and records everything observable,
/// showing each step to `observe` as it is taken. Shared by all engines (in
/// process and inside isolation workers).
pub fn execute<E: Engine + ?Sized>(
    engine: &mut E,
    wasm: &[u8],
    plan: &CallPlan,
    observe: &mut dyn FnMut(&Step),
) -> Execution {
    let mut exec = Execution {
        engine: engine.name().to_string(),
        ..Default::default()
    };
    let mut take = |exec: &mut Execution, step: Step| {
        observe(&step);
        exec.record(step);
    };
    engine.set_wasi(plan.wasi.as_ref());
    let fds_before = plan.wasi.as_ref().map(|_| wasi::open_fds());
    CANARIES
        .with(|c| *c.borrow_mut() = plan.wasi.iter().flat_map(|w| w.canaries.clone()).collect());
    run_steps(engine, wasm, plan, &mut exec, &mut take);
    CANARIES.with(|c| c.borrow_mut().clear());
    if plan.wasi.is_some() {
        engine.set_wasi(None);
    }
    // The instance is gone: what it kept open outlived it.
    if let (Some(setup), Some(before)) = (&plan.wasi, &fds_before) {
        take(
            &mut exec,
            Step::HostFds(wasi::new_fds_outside(before, setup)),
        );
    }
    exec
}

/// Load, instantiate, the calls: each step as it is taken.
fn run_steps<E: Engine + ?Sized>(
    engine: &mut E,
    wasm: &[u8],
    plan: &CallPlan,
    exec: &mut Execution,
    take: &mut dyn FnMut(&mut Execution, Step),
) {
    let pinned = plan.compile_options.get(engine.name()).map(String::as_str);
    if let Err(e) = engine.pin_compile_options(pinned) {
        // Options are checked where they are read (`engines::check_compile_options`).
        let result = Err(format!("wasmsieve: unusable pinned compile options: {e}"));
        take(
            exec,
            Step::Loaded {
                result,
                artifacts: vec![],
            },
        );
        return;
    }
    if let Some(options) = engine.compile_options(wasm) {
        take(exec, Step::Compiling(options));
    }
    let result = engine.load(wasm);
    let loaded = result.is_ok();
    let artifacts = engine.artifacts();
    take(exec, Step::Loaded { result, artifacts });
    if !loaded {
        return;
    }
    let (trap, message) = match engine.instantiate() {
        Ok(mut instance) => {
            let step = Step::Instantiated {
                result: CallResult::Returned(vec![]),
                trap_site: None,
            };
            take(exec, step);
            run_calls(instance.as_mut(), plan, exec, take);
            return;
        }
        Err(failure) => failure,
    };
    let step = Step::Instantiated {
        result: CallResult::Trapped { trap, message },
        trap_site: engine.trap_site(),
    };
    take(exec, step);
}

fn run_calls(
    instance: &mut dyn Instance,
    plan: &CallPlan,
    exec: &mut Execution,
    take: &mut dyn FnMut(&mut Execution, Step),
) {
    for call in &plan.calls {
        let (result, trap_site) = match instance.call(&call.export, &call.args) {
            Ok(vals) => (CallResult::Returned(vals), None),
            Err((trap, message)) => (CallResult::Trapped { trap, message }, instance.trap_site()),
        };
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
        let record = CallRecord {
            export: call.export.clone(),
            args: call.args.clone(),
            result,
            globals,
            memories,
            trap_site,
        };
        take(exec, Step::Called(record));
    }
}

impl MemorySnapshot {
    /// Hashes a memory's bytes: engines compare hashes, never ship whole
    /// memories. Memories are mostly zero pages, and telling a page is zero
    /// costs a fraction of hashing it: only the others are hashed, each with
    /// its index (the length is compared apart).
    pub fn of(name: &str, bytes: &[u8]) -> Self {
        const PAGE: usize = 4096;
        let mut hasher = blake3::Hasher::new();
        for (i, page) in bytes.chunks(PAGE).enumerate() {
            // No early exit: this form vectorizes.
            if page.iter().fold(0u8, |acc, b| acc | b) != 0 {
                hasher.update(&(i as u64).to_le_bytes());
                hasher.update(page);
            }
        }
        let digest = hasher.finalize();
        // The canaries are masked (see `WasiSetup::canaries`): compared
        // byte by byte through the mask, never unmasked here.
        let canary = CANARIES.with(|c| {
            c.borrow()
                .iter()
                .find(|(_, k)| {
                    !k.is_empty()
                        && bytes.windows(k.len()).any(|w| {
                            w.iter()
                                .zip(k)
                                .all(|(a, b)| a ^ crate::generate::wasi::CANARY_MASK == *b)
                        })
                })
                .map(|(what, _)| what.clone())
        });
        MemorySnapshot {
            name: name.to_string(),
            len: bytes.len() as u64,
            hash: crate::wasm::to_hex(&digest.as_bytes()[..12]),
            canary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{compile_options_text, parse_compile_options, Execution, MemorySnapshot};

    #[test]
    fn compile_options_file_reads_back_per_engine() {
        let run = |engine: &str, options: Option<&str>| Execution {
            engine: engine.into(),
            compile_options: options.map(String::from),
            ..Default::default()
        };
        assert_eq!(compile_options_text(&[run("wasmtime", None)]), None);
        let runs = [
            run("wasmtime", None),
            run("wamr-aot", Some("--bounds-checks=1 --opt-level=0")),
            run("wamr-aot-hw", Some("--bounds-checks=0 --opt-level=3")),
        ];
        let text = compile_options_text(&runs).unwrap();
        let read = parse_compile_options(&text).unwrap();
        assert_eq!(read.len(), 2, "{text}");
        assert_eq!(read["wamr-aot"], "--bounds-checks=1 --opt-level=0");
        assert_eq!(read["wamr-aot-hw"], "--bounds-checks=0 --opt-level=3");
        assert!(parse_compile_options("wamr-aot\n")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn snapshots_tell_apart_any_byte_and_where_it_is() {
        let zero = vec![0u8; 3 * 65536];
        let of = |m: &[u8]| MemorySnapshot::of("m", m).hash;
        assert_eq!(of(&zero), of(&zero.clone()));
        let mut seen = vec![of(&zero)];
        // One byte, at the start, end and middle of pages; the same byte in
        // another page; two bytes swapped between pages.
        for (at, v) in [(0, 1), (4095, 1), (4096, 1), (70000, 1), (70000, 2)] {
            let mut m = zero.clone();
            m[at] = v;
            seen.push(of(&m));
        }
        let mut m = zero.clone();
        m[4095] = 1;
        m[4096] = 2;
        seen.push(of(&m));
        m[4095] = 2;
        m[4096] = 1;
        seen.push(of(&m));
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{seen:?}");
    }
}
