//! The differential executor: one test case through the reference, each runtime
//! under test, and (when they disagree) the second opinion; then the oracle and
//! the policy. Everything a finding needs is assembled here.

use crate::engines::{self, execute, Engine, Execution};
use crate::engines::{CallResult, Val};
use crate::generate::plan::CallPlan;
use crate::generate::plan::PlannedCall;
use crate::oracle::{self, Comparison, Divergence, Symptom};
use crate::policy::{features, Observation, Policy, Provenance};
use crate::report::Finding;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The known-good module of the recoverability probe (P9).
const PROBE_WAT: &str = r#"(module (func (export "probe") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
static PROBE: OnceLock<Vec<u8>> = OnceLock::new();

/// Deadline floor for a module the reference did not finish.
const GUEST_LOOP_DEADLINE: Duration = Duration::from_millis(300);

/// A runtime under test, as the campaign drives it.
pub struct Subject {
    pub engine: Box<dyn Engine>,
    pub info: &'static engines::EngineInfo,
}

/// The result of one test case.
pub struct CaseReport {
    pub reference: Execution,
    pub comparisons: Vec<(Execution, Comparison)>,
    pub findings: Vec<Finding>,
    /// Time the reference took: hang deadlines derive from it.
    pub reference_time: Duration,
}

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
            let exec = execute(self.subjects[i].engine.as_mut(), subject_input, plan);
            let cmp = no_access_no_breach(
                oracle::compare(&reference, &exec),
                self.subjects[i].info,
                &exec,
            );
            if let Comparison::Diverge(d) = &cmp {
                let mut d = d.clone();
                if matches!(d.symptom, Symptom::Crash | Symptom::Hang) {
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
                    .is_none_or(|l| l.as_ref().is_err_and(|e| e.starts_with("aot compile"))) =>
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

/// What the policy is told about a divergence, besides the divergence itself.
pub struct Judged<'a> {
    pub provenance: Provenance,
    /// The policy's symptom family (see `Symptom::policy_name`).
    pub symptom: &'a str,
    /// The runtime mode's tier-list name.
    pub mode_feature: Option<&'a str>,
    pub confirmed: Option<bool>,
}

impl Judged<'_> {
    /// Judges by the policy (with the tier rule from the module's features and
    /// the mode) and assembles the finding. Shared by campaigns and triage.
    pub fn finding(
        &self,
        policy: &Policy,
        wasm: &[u8],
        d: &Divergence,
        exec: &Execution,
        executions: Vec<Execution>,
    ) -> Finding {
        let mut outside: Vec<String> = features::needed_features(wasm, &policy.tiers.tier_a);
        if let Some(mode) = self.mode_feature {
            if policy.tier(mode) != 'A' {
                outside.push(mode.to_string());
            }
        }
        let verdict = policy.judge(&Observation {
            provenance: self.provenance,
            symptom: self.symptom,
            features: outside.clone(),
        });
        let signature = signature(&exec.engine, d, exec);
        Finding {
            id: Finding::signature_id(&verdict.kind, &signature),
            signature,
            verdict,
            engine: exec.engine.clone(),
            provenance: self.provenance,
            features_outside_tier_a: outside,
            divergence: d.clone(),
            executions,
            seed: None,
            iteration: None,
            confirmed: self.confirmed,
        }
    }
}

/// Under hardware bounds checks an out-of-bounds memory access cannot complete: it
/// faults on the guard region (a trap), or breaches the guard (which the
/// worker's guard check turns into a crash record marked as a breach). A call
/// that completes where the reference trapped, with the guard intact, touched
/// no memory out of bounds: the access was never made (e.g. a dead load the
/// compiler removed). That is a missing trap, a wrong result inside the
/// sandbox (P7), not a sandbox escape.
fn no_access_no_breach(
    cmp: Comparison,
    info: &engines::EngineInfo,
    exec: &Execution,
) -> Comparison {
    match cmp {
        Comparison::Diverge(mut d)
            if d.symptom == Symptom::SandboxEscape
                && d.reference_trap == Some(engines::Trap::MemoryOutOfBounds)
                && info.hardware_bounds
                && exec.end == engines::End::Completed =>
        {
            d.symptom = Symptom::TrapMismatch;
            d.detail = format!(
                "missing trap, no out-of-bounds access observed (hardware bounds checks, guard region intact): {}",
                d.detail
            );
            Comparison::Diverge(d)
        }
        other => other,
    }
}

/// The dedup key of a divergence: who, what, and the trap kinds or crash frames,
/// never the random names of a generated module.
pub fn signature(engine: &str, d: &Divergence, exec: &Execution) -> String {
    let detail = match &exec.end {
        engines::End::Crashed(rec) => rec.signature(),
        _ => format!("{:?}/{:?}", d.reference_trap, d.subject_trap),
    };
    format!("{engine}|{:?}|{detail}", d.symptom)
}
