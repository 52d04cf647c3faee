//! Triage of inputs from anywhere: `.wasm`, `.wat`, `.aot` (with or without its
//! source `.wasm`) and libFuzzer artifacts (`crash-*`, `timeout-*`, `oom-*`,
//! `leak-*`, `slow-unit-*`: raw fuzz input, rebuilt into the module the fuzz
//! target built). One verdict per file; bad input is named, never guessed at.
//!
//! Exit code of the whole run (the rule every command follows): 1 when any
//! finding counts (not not-an-issue, not a known issue), else 2 when any file
//! was unreadable or not Wasm, else 0.
//!
//! An `.aot` runs in a child process of this binary (the hidden `triage-aot-child`
//! command): a crash or hang there is observed, not suffered. Without its source
//! there is no reference to compare with, so only crashes and hangs count, with
//! provenance `aot-unknown` (P4). With `--source X.wasm` the calls come from the
//! source, the reference runs the source, and when recompiling the source with
//! the toolchain reproduces the symptom the provenance becomes `aot-emitted` (P5).

use crate::engines;
use crate::exec::CrashRecord;
use crate::exec::Provenance;
use crate::exec::{execute, CallResult, End, Engine, Execution, Instance, Trap};
use crate::generate::plan::CallPlan;
use crate::generate::{self, GenConfig};
use crate::isolate::WorkerLimits;
use crate::judge::oracle::{self, Comparison};
use crate::judge::Finding;
use crate::judge::Judged;
use crate::judge::Policy;
use crate::pipeline::{self, Differ};
use crate::store::FindingStore;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How a file was understood.
#[derive(Debug)]
pub enum Input {
    /// A module and the plan to drive it; `kind` is "wasm", "wat" or "libfuzzer".
    Module {
        wasm: Vec<u8>,
        plan: CallPlan,
        kind: &'static str,
    },
    /// An `.aot` file's bytes.
    Aot(Vec<u8>),
}

const LIBFUZZER_PREFIXES: &[&str] = &["crash-", "timeout-", "oom-", "leak-", "slow-unit-"];

/// Whether a file name looks like a libFuzzer artifact.
pub fn is_libfuzzer_artifact(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| LIBFUZZER_PREFIXES.iter().any(|p| n.starts_with(p)))
}

/// Reads and classifies one file. `Err` says what is wrong with it.
pub fn classify(path: &Path, libfuzzer: bool) -> anyhow::Result<Input> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if bytes.starts_with(b"\0aot") {
        return Ok(Input::Aot(bytes));
    }
    if bytes.starts_with(b"\0asm") {
        let plan = CallPlan::fixed(&bytes, 3).unwrap_or_default();
        return Ok(Input::Module {
            wasm: bytes,
            plan,
            kind: if libfuzzer || is_libfuzzer_artifact(path) {
                "libfuzzer"
            } else {
                "wasm"
            },
        });
    }
    if libfuzzer || is_libfuzzer_artifact(path) {
        anyhow::ensure!(
            !bytes.is_empty(),
            "{} is an empty libFuzzer artifact: no input to rebuild a module from",
            path.display()
        );
        let case = generate::generate(&bytes, &GenConfig::default()).map_err(|e| {
            anyhow::anyhow!(
                "{} is a libFuzzer artifact, but the generator cannot build a module from its {} bytes ({e}); \
                 was it made by another fuzz target or another wasmsieve version?",
                path.display(),
                bytes.len()
            )
        })?;
        return Ok(Input::Module {
            wasm: case.wasm,
            plan: case.plan,
            kind: "libfuzzer",
        });
    }
    if bytes.is_empty() {
        anyhow::bail!("{} is empty: not a Wasm module", path.display());
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is not a Wasm module: no \\0asm or \\0aot header and not WAT text (for a libFuzzer artifact \
             under another name, pass --libfuzzer)",
            path.display()
        )
    })?;
    let wasm = wat::parse_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a Wasm module: not valid WAT: {e}",
            path.display()
        )
    })?;
    let plan = CallPlan::fixed(&wasm, 3).unwrap_or_default();
    Ok(Input::Module {
        wasm,
        plan,
        kind: "wat",
    })
}

/// Triage knobs (the CLI's flags).
#[derive(Clone, Debug)]
pub struct TriageConfig {
    pub engines: Vec<String>,
    pub isolate: bool,
    pub policy: Policy,
    /// Source `.wasm` of the `.aot` files given.
    pub source: Option<PathBuf>,
    /// File findings into `OUT/findings/...`.
    pub out: Option<PathBuf>,
    /// Treat every non-module file as a libFuzzer artifact.
    pub libfuzzer: bool,
}

/// One file's verdict, as printed and as `--json` gives it.
#[derive(Debug, Clone, Serialize)]
pub struct FileVerdict {
    pub file: PathBuf,
    /// "wasm", "wat", "libfuzzer", "aot", or "unreadable".
    pub input: String,
    /// Set when the file could not be triaged (exit 2).
    pub error: Option<String>,
    pub findings: Vec<Finding>,
    /// Finding folders written with `--out`.
    pub stored: Vec<PathBuf>,
    /// Remarks (e.g. what could not be compared).
    pub notes: Vec<String>,
}

impl FileVerdict {
    pub fn lines(&self) -> Vec<String> {
        let f = self.file.display();
        if let Some(e) = &self.error {
            return vec![format!("{f}: error: {e}")];
        }
        let mut out = vec![];
        if self.findings.is_empty() {
            out.push(format!("{f} ({}): no finding", self.input));
        }
        for x in &self.findings {
            out.push(format!(
                "{f} ({}): {} / {} in {} ({:?}) [{}] {}: {}",
                self.input,
                x.verdict.bucket,
                x.verdict.kind,
                x.engine,
                x.provenance,
                x.verdict.clauses.join(", "),
                x.verdict.reason,
                x.divergence.detail
            ));
            if let Some(k) = &x.known {
                out.push(format!(
                    "{f}: known issue {} ({}): {}",
                    k.id, k.link, k.title
                ));
            }
        }
        for n in &self.notes {
            out.push(format!("{f}: note: {n}"));
        }
        for d in &self.stored {
            out.push(format!("{f}: filed: {}", d.display()));
        }
        out
    }
}

/// The exit code for a set of verdicts.
pub fn exit_code(v: &[FileVerdict]) -> i32 {
    if v.iter().any(|x| x.findings.iter().any(|f| f.counts())) {
        1
    } else if v.iter().any(|x| x.error.is_some()) {
        2
    } else {
        0
    }
}

/// Triages every file; never stops at a bad one.
pub fn triage(files: &[PathBuf], cfg: &TriageConfig) -> anyhow::Result<Vec<FileVerdict>> {
    let mut differ: Option<Differ> = None;
    let store = cfg.out.as_ref().map(|o| FindingStore::new(o));
    let mut verdicts = vec![];
    for file in files {
        let mut v = FileVerdict {
            file: file.clone(),
            input: "unreadable".into(),
            error: None,
            findings: vec![],
            stored: vec![],
            notes: vec![],
        };
        match classify(file, cfg.libfuzzer) {
            Err(e) => v.error = Some(format!("{e:#}")),
            Ok(Input::Module { wasm, plan, kind }) => {
                v.input = kind.into();
                if differ.is_none() {
                    let subjects =
                        pipeline::subjects(&cfg.engines, cfg.isolate, &WorkerLimits::default())?;
                    differ = Some(Differ::new(subjects, cfg.policy.clone())?);
                }
                let report = differ.as_mut().expect("just built").run(&wasm, &plan);
                for (exec, cmp) in &report.comparisons {
                    if let Comparison::Poisoned(why) = cmp {
                        v.notes
                            .push(format!("{}: not compared past a point: {why}", exec.engine));
                    }
                }
                if report.reference.load.as_ref().is_some_and(|l| l.is_err())
                    && report.findings.is_empty()
                {
                    v.notes.push(
                        "the reference rejects this module (invalid Wasm) and so do the runtimes"
                            .into(),
                    );
                }
                for f in report.findings {
                    if let Some(s) = &store {
                        let artifacts: Vec<(String, Vec<u8>)> = f
                            .executions
                            .iter()
                            .flat_map(|e| e.artifacts.clone())
                            .collect();
                        v.stored
                            .push(s.write(&f, &wasm, &artifacts)?.dir().to_path_buf());
                    }
                    v.findings.push(f);
                }
            }
            Ok(Input::Aot(aot)) => {
                v.input = "aot".into();
                match triage_aot(file, &aot, cfg) {
                    Err(e) => v.error = Some(format!("{e:#}")),
                    Ok((found, notes, wasm)) => {
                        v.notes = notes;
                        for f in found {
                            if let Some(s) = &store {
                                let extra = vec![("input.aot".to_string(), aot.clone())];
                                v.stored
                                    .push(s.write(&f, &wasm, &extra)?.dir().to_path_buf());
                            }
                            v.findings.push(f);
                        }
                    }
                }
            }
        }
        verdicts.push(v);
    }
    Ok(verdicts)
}

/// How long an `.aot` child may take over one file.
const AOT_CHILD_DEADLINE: Duration = Duration::from_secs(10);

fn child_exe() -> std::io::Result<PathBuf> {
    match std::env::var_os("WASMSIEVE_WORKER_EXE") {
        Some(p) => Ok(p.into()),
        None => std::env::current_exe(),
    }
}

/// Runs the `.aot` in a child process; the child's report or what the parent saw.
fn run_aot_child(
    aot_path: &Path,
    source: Option<&Path>,
    deadline: Duration,
) -> anyhow::Result<Execution> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let exe = child_exe()?;
    let mut cmd = Command::new(&exe);
    cmd.arg("triage-aot-child").arg(aot_path);
    if let Some(s) = source {
        cmd.arg("--source").arg(s);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            let mem = libc::rlimit {
                rlim_cur: 2 << 30,
                rlim_max: 2 << 30,
            };
            libc::setrlimit(libc::RLIMIT_DATA, &mem);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", exe.display()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if started.elapsed() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    let mut exec = Execution {
        engine: "wamr-aot".into(),
        ..Default::default()
    };
    match status {
        None => {
            exec.load = Some(Ok(()));
            exec.end = End::Hung {
                deadline_ms: deadline.as_millis() as u64,
                call_index: 0,
            };
        }
        Some(st) if st.success() => {
            exec = serde_json::from_str(out.trim()).map_err(|e| {
                anyhow::anyhow!(
                    "the .aot child answered something unreadable ({e}): {}",
                    err.trim()
                )
            })?;
        }
        Some(st) => {
            use std::os::unix::process::ExitStatusExt;
            if st.signal().is_none() && st.code() == Some(2) {
                anyhow::bail!("{}", err.trim().trim_start_matches("wasmsieve: error: "));
            }
            exec.load = Some(Ok(()));
            exec.end = End::Crashed(CrashRecord::from_exit(Some(st), &err, &exe));
        }
    }
    Ok(exec)
}

/// An engine that runs given `.aot` bytes whatever module it is asked to load.
struct AotFile {
    wamr: engines::wamr::Wamr,
    aot: Vec<u8>,
}

impl Engine for AotFile {
    fn name(&self) -> &str {
        "wamr-aot"
    }
    fn load(&mut self, _wasm: &[u8]) -> Result<(), String> {
        self.wamr.load_aot(&self.aot)
    }
    fn instantiate(&mut self) -> Result<Box<dyn Instance + '_>, (Trap, String)> {
        self.wamr.instantiate()
    }
}

/// The child side: runs one `.aot` in this process and prints its execution as JSON.
pub fn aot_child(aot_path: &Path, source: Option<&Path>) -> anyhow::Result<()> {
    let aot = std::fs::read(aot_path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", aot_path.display()))?;
    let (wasm, plan) = match source {
        Some(s) => {
            let w = crate::wasm::read_module(s)?;
            let p = CallPlan::fixed(&w, 3).unwrap_or_default();
            (w, p)
        }
        None => (vec![], CallPlan::default()),
    };
    let wamr = engines::wamr::Wamr::new(engines::wamr::Mode::Aot).map_err(anyhow::Error::msg)?;
    let mut engine = AotFile { wamr, aot };
    let exec = execute(&mut engine, &wasm, &plan);
    println!("{}", serde_json::to_string(&exec)?);
    Ok(())
}

/// Triage of one `.aot`: (findings, notes, the source module or empty).
fn triage_aot(
    path: &Path,
    _aot: &[u8],
    cfg: &TriageConfig,
) -> anyhow::Result<(Vec<Finding>, Vec<String>, Vec<u8>)> {
    let mut notes = vec![];
    let source = match &cfg.source {
        Some(s) => Some((s.clone(), crate::wasm::read_module(s)?)),
        None => None,
    };
    let info = engines::info("wamr-aot").expect("known engine");
    anyhow::ensure!(
        engines::runtimes_built().contains(&"wamr-aot"),
        "{}: this binary has no AoT runtime built in (see `wasmsieve engines`)",
        path.display()
    );
    let _ = info;
    let exec = if cfg.isolate {
        run_aot_child(
            path,
            source.as_ref().map(|s| s.0.as_path()),
            AOT_CHILD_DEADLINE,
        )?
    } else {
        // In process (the caller asked for it): a crash takes the harness down.
        let aot = std::fs::read(path)?;
        let wamr =
            engines::wamr::Wamr::new(engines::wamr::Mode::Aot).map_err(anyhow::Error::msg)?;
        let mut engine = AotFile { wamr, aot };
        let (w, p) = match &source {
            Some((_, w)) => (w.clone(), CallPlan::fixed(w, 3).unwrap_or_default()),
            None => (vec![], CallPlan::default()),
        };
        execute(&mut engine, &w, &p)
    };
    let (reference, plan, wasm) = match &source {
        Some((_, w)) => {
            let plan = CallPlan::fixed(w, 3).unwrap_or_default();
            let mut wt = engines::wasmtime::Wasmtime::new()?;
            (execute(&mut wt, w, &plan), plan, w.clone())
        }
        None => {
            notes.push("no --source: no reference to compare with; only a crash or hang counts, and only load and instantiation ran".into());
            // A stand-in reference that loads, instantiates and calls nothing.
            let r = Execution {
                engine: "wasmtime".into(),
                load: Some(Ok(())),
                instantiate: Some(CallResult::Returned(vec![])),
                ..Default::default()
            };
            (r, CallPlan::default(), vec![])
        }
    };
    let d = match oracle::compare(&reference, &exec) {
        Comparison::Diverge(d) => d,
        Comparison::Poisoned(why) => {
            notes.push(format!("not compared past a point: {why}"));
            return Ok((vec![], notes, wasm));
        }
        Comparison::Agree => return Ok((vec![], notes, wasm)),
    };
    if source.is_none() && !matches!(exec.end, End::Crashed(_) | End::Hung { .. }) {
        if let Some(Err(e)) = &exec.load {
            notes.push(format!("the AoT runtime rejects the file: {e}"));
        }
        return Ok((vec![], notes, wasm));
    }
    // Provenance: does recompiling the source with the toolchain reproduce it?
    let mut provenance = Provenance::AotUnknown;
    if let Some((_, w)) = &source {
        let subjects = pipeline::subjects(
            &["wamr-aot".to_string()],
            cfg.isolate,
            &WorkerLimits::default(),
        )?;
        let mut differ = Differ::new(subjects, cfg.policy.clone())?;
        let report = differ.run(w, &plan);
        if report
            .findings
            .iter()
            .any(|f| f.divergence.symptom == d.symptom)
        {
            provenance = Provenance::AotEmitted;
            notes.push("recompiling the source with the toolchain reproduces the symptom: aot-emitted (P5)".into());
        } else {
            notes.push("recompiling the source does not reproduce the symptom: the .aot stays aot-unknown (P4)".into());
        }
    }
    let confirmed = matches!(exec.end, End::Crashed(_) | End::Hung { .. }).then_some(false);
    let judged = Judged {
        provenance,
        symptom: d.symptom.policy_name(),
        mode_feature: Some("aot"),
        confirmed,
    };
    let f = judged.finding(
        &cfg.policy,
        &wasm,
        &d,
        &exec,
        vec![reference.clone(), exec.clone()],
    );
    Ok((vec![f], notes, wasm))
}
