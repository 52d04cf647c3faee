//! Triage of inputs from anywhere: `.wasm`, `.wat`, `.aot` (with or without its
//! source `.wasm`) and libFuzzer artifacts (`crash-*`, `timeout-*`, `oom-*`,
//! `leak-*`, `slow-unit-*`: raw fuzz input, rebuilt into the module the fuzz
//! target built). One verdict per file; bad input is named, never guessed at.
//!
//! Exit code of the whole run (the rule every command follows): 1 when any
//! finding counts (not not-an-issue, not a known issue), else 2 when any file
//! was unreadable or not Wasm, else 0.
//!
//! An `.aot` runs in an isolation worker like every runtime under test: a crash
//! or hang there is observed, not suffered. Without its source
//! there is no reference to compare with, so only crashes and hangs count, with
//! provenance `aot-unknown` (P4). With `--source X.wasm` the calls come from the
//! source, the reference runs the source, and when recompiling the source with
//! the toolchain reproduces the symptom the provenance becomes `aot-emitted` (P5).

use crate::engines;
use crate::engines::wamr::AOT_ENGINE;
use crate::exec::{CallResult, Execution, Provenance};
use crate::generate::plan::CallPlan;
use crate::generate::{self, GenConfig};
use crate::isolate::WorkerLimits;
use crate::judge::oracle::{Comparison, Symptom};
use crate::judge::Finding;
use crate::judge::Policy;
use crate::pipeline::{self, Differ};
use crate::store::FindingStore;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// An `aot_mutated` fuzz target's artifact, its recipe re-run: the
    /// generated module and the mutated `.aot` built from it (P4).
    MutatedAot { wasm: Vec<u8>, aot: Vec<u8> },
}

const LIBFUZZER_PREFIXES: &[&str] = &["crash-", "timeout-", "oom-", "leak-", "slow-unit-"];

/// Whether a file name looks like a libFuzzer artifact.
pub fn is_libfuzzer_artifact(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| LIBFUZZER_PREFIXES.iter().any(|p| n.starts_with(p)))
}

/// Reads and classifies one file. `Err` says what is wrong with it. A
/// module in a finding folder is compiled with the folder's compile options
/// (its `aot-options.txt`), whichever encoding of it is given.
pub fn classify(path: &Path, libfuzzer: bool) -> anyhow::Result<Input> {
    let mut input = read_module(path, libfuzzer)?;
    if let Input::Module { plan, kind, .. } = &mut input {
        if *kind != "libfuzzer" {
            let dir = path.parent().unwrap_or(Path::new("."));
            plan.compile_options = crate::store::read_compile_options(dir)?;
            if !plan.compile_options.is_empty() {
                eprintln!(
                    "triage: {} compiled with the options in {}",
                    path.display(),
                    dir.join(crate::exec::COMPILE_OPTIONS_FILE).display()
                );
            }
        }
    }
    Ok(input)
}

fn read_module(path: &Path, libfuzzer: bool) -> anyhow::Result<Input> {
    let bytes = crate::wasm::read_input(path)?;
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
        // cargo fuzz keeps a target's artifacts in a folder named after it.
        let target = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str());
        if target == Some("aot_mutated") {
            let (case, aot) = generate::aot_mutate::mutant_of(&bytes, engines::wamr::compile_default).ok_or_else(|| {
                anyhow::anyhow!(
                    "{} is an aot_mutated artifact, but its first half builds no module that compiles; \
                     was it made by another wasmsieve version?",
                    path.display()
                )
            })?;
            return Ok(Input::MutatedAot {
                wasm: case.wasm,
                aot,
            });
        }
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
    let wasm = crate::wasm::parse_wat(
        path,
        &bytes,
        "\\0asm or \\0aot header",
        " (for a libFuzzer artifact under another name, pass --libfuzzer)",
    )?;
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
    // A campaign may be writing there: one writer at a time.
    let _lock = cfg
        .out
        .as_deref()
        .map(crate::store::OutLock::acquire)
        .transpose()?;
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
            Ok(input @ (Input::Aot(_) | Input::MutatedAot { .. })) => {
                let (aot, source) = match input {
                    Input::MutatedAot { wasm, aot } => {
                        v.input = "aot-mutated".into();
                        (aot, Some(wasm))
                    }
                    Input::Aot(aot) => {
                        v.input = "aot".into();
                        let source = cfg
                            .source
                            .as_ref()
                            .map(|s| crate::wasm::read_module(s))
                            .transpose()?;
                        (aot, source)
                    }
                    Input::Module { .. } => unreachable!("matched above"),
                };
                let manipulated = v.input == "aot-mutated";
                match triage_aot(file, &aot, source, manipulated, cfg) {
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

/// How long a step of an `.aot` may take.
const AOT_DEADLINE: Duration = Duration::from_secs(10);

/// Triage of one `.aot`: (findings, notes, the source module or empty).
/// `manipulated`: its bytes are known to have been changed after emission.
/// Judged by the pipeline like any case (confirmation, P9, downgrades), with
/// the .aot's provenance: manipulated, emitted when recompiling the source
/// shows the same symptom, else unknown.
fn triage_aot(
    path: &Path,
    aot: &[u8],
    source: Option<Vec<u8>>,
    manipulated: bool,
    cfg: &TriageConfig,
) -> anyhow::Result<(Vec<Finding>, Vec<String>, Vec<u8>)> {
    let mut notes = vec![];
    anyhow::ensure!(
        engines::is_built(AOT_ENGINE),
        "{}: this binary has no AoT runtime built in (see `wasmsieve engines`)",
        path.display()
    );
    let aot_differ = |provenance| -> anyhow::Result<Differ> {
        // The AoT engine loads `\0aot` bytes as they are, in a worker
        // unless --in-process, as a campaign runs .aot files.
        let subjects = pipeline::subjects(
            &[AOT_ENGINE.to_string()],
            cfg.isolate,
            &WorkerLimits::default(),
        )?;
        let mut differ = Differ::new(subjects, cfg.policy.clone())?;
        differ.deadline_floor = AOT_DEADLINE;
        differ.input_provenance = provenance;
        Ok(differ)
    };
    let first = match manipulated {
        true => Provenance::AotManipulated,
        false => Provenance::AotUnknown,
    };
    let mut differ = aot_differ(Some(first))?;
    let plan = source
        .as_deref()
        .map(|w| CallPlan::fixed(w, 3).unwrap_or_default())
        .unwrap_or_default();
    let run = |differ: &mut Differ| match &source {
        Some(w) => differ.run_with(w, aot, &plan),
        // A stand-in reference that loads, instantiates and calls nothing.
        None => differ.run_against(
            Execution {
                engine: "wasmtime".into(),
                load: Some(Ok(())),
                instantiate: Some(CallResult::Returned(vec![])),
                ..Default::default()
            },
            aot,
            &plan,
        ),
    };
    let mut report = run(&mut differ);
    for (exec, cmp) in &report.comparisons {
        if let Comparison::Poisoned(why) = cmp {
            notes.push(format!("not compared past a point: {why}"));
        }
        if let (None, Some(Err(e))) = (&source, &exec.load) {
            notes.push(format!("the AoT runtime rejects the file: {e}"));
        }
    }
    if source.is_none() {
        notes.push("no --source: no reference to compare with; only a crash or hang counts, and only load and instantiation ran".into());
        report
            .findings
            .retain(|f| matches!(f.divergence.symptom, Symptom::Crash | Symptom::Hang));
    }
    if manipulated {
        notes.push(
            "rebuilt from an aot_mutated artifact: the bytes were changed after emission (P4)"
                .into(),
        );
    } else if let (Some(w), false) = (&source, report.findings.is_empty()) {
        // Provenance: does recompiling the source with the toolchain reproduce it?
        let recompiled = aot_differ(None)?.run(w, &plan);
        let reproduces = report.findings.iter().any(|f| {
            recompiled
                .findings
                .iter()
                .any(|r| r.divergence.symptom == f.divergence.symptom)
        });
        if reproduces {
            notes.push("recompiling the source with the toolchain reproduces the symptom: aot-emitted (P5)".into());
            differ.input_provenance = Some(Provenance::AotEmitted);
            report = run(&mut differ);
        } else {
            notes.push("recompiling the source does not reproduce the symptom: the .aot stays aot-unknown (P4)".into());
        }
    }
    Ok((report.findings, notes, source.unwrap_or_default()))
}
