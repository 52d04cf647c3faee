//! The pipeline: one test case through the reference, each runtime under test,
//! and (when they disagree) the second opinion; then the judge. Campaigns,
//! triage, shrinking and the cargo-fuzz targets all run test cases through it.

use crate::engines::{self, EngineInfo};
use crate::exec::{execute, CallResult, Engine, Execution, Provenance, TOOLCHAIN_ERROR};
use crate::generate::plan::{CallPlan, PlannedCall};
use crate::isolate::{Worker, WorkerLimits};
use crate::judge::finding::no_access_no_breach;
use crate::judge::oracle::{self, Comparison, Divergence, Symptom};
use crate::judge::{Finding, Judged, Policy};
use crate::wasm::Val;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The known-good module of the recoverability probe (P9).
const PROBE_WAT: &str = r#"(module (func (export "probe") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
static PROBE: OnceLock<Vec<u8>> = OnceLock::new();

/// Deadline floor for a module the reference did not finish.
const GUEST_LOOP_DEADLINE: Duration = Duration::from_millis(300);

/// Deadline of the re-run that confirms a hang: seconds, so that a step that
/// is only slow (a short deadline drawn from a fast reference) finishes.
const HANG_RECHECK_DEADLINE: Duration = Duration::from_secs(5);

/// A runtime under test, as the campaign drives it.
pub struct Subject {
    pub engine: Box<dyn Engine>,
    pub info: &'static EngineInfo,
}

/// The result of one test case.
pub struct CaseReport {
    pub reference: Execution,
    pub comparisons: Vec<(Execution, Comparison)>,
    pub findings: Vec<Finding>,
    /// Time the reference took: hang deadlines derive from it.
    pub reference_time: Duration,
}

/// Runs test cases through the reference, the runtimes under test and, on a
/// divergence, the second opinion, and judges each runtime: the one place a
/// test case becomes findings.
pub struct Differ {
    reference: engines::wasmtime::Wasmtime,
    second: engines::wasmi::Wasmi,
    pub subjects: Vec<Subject>,
    pub policy: Policy,
    /// Shortest hang deadline, whatever the reference's speed.
    pub deadline_floor: Duration,
}

impl Differ {
    pub fn new(subjects: Vec<Subject>, policy: Policy) -> anyhow::Result<Differ> {
        Ok(Differ {
            reference: engines::wasmtime::Wasmtime::new()?,
            second: engines::wasmi::Wasmi::new(),
            subjects,
            policy,
            deadline_floor: Duration::from_secs(2),
        })
    }

    /// Runs one module through every engine and judges each runtime under test.
    pub fn run(&mut self, wasm: &[u8], plan: &CallPlan) -> CaseReport {
        self.run_with(wasm, wasm, plan)
    }

    /// Like [`Differ::run`], giving the runtimes under test another input than
    /// the reference (an .aot built from `wasm`, e.g. manipulated).
    pub fn run_with(&mut self, wasm: &[u8], subject_input: &[u8], plan: &CallPlan) -> CaseReport {
        let start = Instant::now();
        let reference = execute(&mut self.reference, wasm, plan);
        let reference_time = start.elapsed();
        // When the reference itself gave up (its fuel ran out), a runtime that
        // does not finish either is looping with the guest (P10): a short
        // deadline tells that apart from a crash without waiting seconds.
        let deadline = if oracle::reference_gave_up_anywhere(&reference) {
            GUEST_LOOP_DEADLINE.max(reference_time * 5)
        } else {
            self.deadline_floor.max(reference_time * 50)
        };
        let mut comparisons = vec![];
        let mut findings = vec![];
        let mut second: Option<Execution> = None;
        for i in 0..self.subjects.len() {
            self.subjects[i].engine.set_deadline(deadline);
            let mut exec = execute(self.subjects[i].engine.as_mut(), subject_input, plan);
            let mut cmp = oracle::compare(&reference, &exec);
            if matches!(&cmp, Comparison::Diverge(d) if d.symptom == Symptom::Hang) {
                (exec, cmp) =
                    self.recheck_hang(i, &reference, wasm, subject_input, plan, exec, cmp);
                self.subjects[i].engine.set_deadline(deadline);
            }
            let cmp = no_access_no_breach(cmp, self.subjects[i].info, &exec);
            if let Comparison::Diverge(d) = &cmp {
                let mut d = d.clone();
                if d.symptom == Symptom::Hang {
                    // Re-checked above with a long deadline: it still hangs.
                    findings.push(self.judge(i, &reference, &exec, &d, wasm, None, Some(true)));
                } else if d.symptom == Symptom::Crash {
                    // Confirm before filing: a flaky one is kept, marked.
                    let again = execute(self.subjects[i].engine.as_mut(), subject_input, plan);
                    let confirmed = matches!(oracle::compare(&reference, &again), Comparison::Diverge(a) if a.symptom == d.symptom);
                    let f = self.judge(i, &reference, &exec, &d, wasm, None, Some(confirmed));
                    findings.push(f);
                } else if d.symptom == Symptom::GuestLoop {
                    findings.push(self.judge(i, &reference, &exec, &d, wasm, None, None));
                } else {
                    let wasmi = second.get_or_insert_with(|| execute(&mut self.second, wasm, plan));
                    let suspect = oracle::compare(wasmi, &exec) == Comparison::Agree
                        && matches!(oracle::compare(&reference, wasmi), Comparison::Diverge(_));
                    if suspect {
                        d.detail = format!(
                            "reference suspect: wasmi agrees with {}; {}",
                            exec.engine, d.detail
                        );
                    }
                    let f = self.judge(
                        i,
                        &reference,
                        &exec,
                        &d,
                        wasm,
                        Some((suspect, wasmi.clone())),
                        None,
                    );
                    findings.push(f);
                }
            }
            if cmp == Comparison::Agree
                || matches!(&cmp, Comparison::Diverge(d) if d.symptom != Symptom::Crash && d.symptom != Symptom::Hang)
            {
                if let Some(d) = self.unrecoverable(i, &exec) {
                    findings.push(self.judge(i, &reference, &exec, &d, wasm, None, Some(true)));
                }
            }
            comparisons.push((exec, cmp));
        }
        CaseReport {
            reference,
            comparisons,
            findings,
            reference_time,
        }
    }

    /// A hang is filed only when it holds up: the reference, re-run, finishes
    /// the same call, and the runtime, re-run with a long deadline, still does
    /// not. A runtime that finishes on the re-run is judged on that run
    /// instead (a slow step, not a hang); a reference that gives up on the
    /// re-run makes it the guest's own loop (P10).
    #[allow(clippy::too_many_arguments)]
    fn recheck_hang(
        &mut self,
        subject: usize,
        reference: &Execution,
        wasm: &[u8],
        subject_input: &[u8],
        plan: &CallPlan,
        exec: Execution,
        cmp: Comparison,
    ) -> (Execution, Comparison) {
        let Comparison::Diverge(d) = &cmp else {
            return (exec, cmp);
        };
        let again = execute(&mut self.reference, wasm, plan);
        if oracle::reference_gave_up(&again, &exec, d.call_index.unwrap_or(0)) {
            let mut d = d.clone();
            d.symptom = Symptom::GuestLoop;
            d.detail = format!("{}; the reference gave up there on a re-run", d.detail);
            return (exec, Comparison::Diverge(d));
        }
        self.subjects[subject]
            .engine
            .set_deadline(self.deadline_floor.max(HANG_RECHECK_DEADLINE));
        let long = execute(self.subjects[subject].engine.as_mut(), subject_input, plan);
        let long_cmp = oracle::compare(reference, &long);
        (long, long_cmp)
    }

    /// P9: after a trap, the runtime must still run a known-good module. Runs
    /// the probe in the same engine (the same worker process) and returns the
    /// divergence when it cannot.
    fn unrecoverable(&mut self, subject: usize, exec: &Execution) -> Option<Divergence> {
        let trapped = |r: &CallResult| matches!(r, CallResult::Trapped { .. });
        if !exec.instantiate.as_ref().is_some_and(trapped)
            && !exec.calls.iter().any(|c| trapped(&c.result))
        {
            return None;
        }
        let probe = PROBE.get_or_init(|| wat::parse_str(PROBE_WAT).expect("probe parses"));
        let plan = CallPlan {
            calls: vec![PlannedCall {
                export: "probe".into(),
                args: vec![Val::I32(20), Val::I32(22)],
            }],
            ..Default::default()
        };
        let after = execute(self.subjects[subject].engine.as_mut(), probe, &plan);
        let ok = after
            .calls
            .first()
            .is_some_and(|c| c.result == CallResult::Returned(vec![Val::I32(42)]));
        (!ok).then(|| Divergence {
            symptom: Symptom::Unrecoverable,
            call_index: None,
            export: None,
            detail: format!(
                "after this module trapped, {} could not run a known-good module: {:?} / {:?}",
                exec.engine,
                after.end,
                after.calls.first().map(|c| &c.result)
            ),
            reference_trap: None,
            subject_trap: None,
            reference_site: None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        subject: usize,
        reference: &Execution,
        exec: &Execution,
        d: &Divergence,
        wasm: &[u8],
        second: Option<(bool, Execution)>,
        confirmed: Option<bool>,
    ) -> Finding {
        let info = self.subjects[subject].info;
        let suspect = second.as_ref().is_some_and(|s| s.0);
        let symptom = if suspect {
            "reference-suspect"
        } else {
            d.symptom.policy_name()
        };
        // The AoT trust line: a failure before the module loaded is the
        // compiler's (it compiles inside the load step), afterwards the emitted
        // code's. An interpreter's input is the .wasm itself.
        let provenance = match info.provenance {
            Provenance::AotEmitted
                if exec
                    .load
                    .as_ref()
                    .is_none_or(|l| l.as_ref().is_err_and(|e| e.starts_with(TOOLCHAIN_ERROR))) =>
            {
                Provenance::AotCompiler
            }
            p => p,
        };
        let mut executions = vec![reference.clone(), exec.clone()];
        if let Some((_, s)) = second {
            executions.push(s);
        }
        let judged = Judged {
            provenance,
            symptom,
            mode_feature: info.mode_feature,
            confirmed,
        };
        judged.finding(&self.policy, wasm, d, exec, executions)
    }
}

/// Builds the runtimes under test, in workers or in process.
pub fn subjects(
    names: &[String],
    isolate: bool,
    limits: &WorkerLimits,
) -> anyhow::Result<Vec<Subject>> {
    names
        .iter()
        .map(|n| {
            let info = engines::info(n).ok_or_else(|| anyhow::anyhow!("unknown engine `{n}`"))?;
            if !engines::is_built(info.name) {
                anyhow::bail!(
                    "engine `{n}` is not built into this binary (see `wasmsieve engines`)"
                );
            }
            let engine: Box<dyn Engine> = if isolate || !info.in_process_ok {
                Box::new(Worker::new(n, limits.clone()))
            } else {
                engines::create(n)?
            };
            Ok(Subject { engine, info })
        })
        .collect()
}
