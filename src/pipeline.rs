//! The pipeline: one test case through the reference, each runtime under test,
//! and (when they disagree) the second opinion; then the judge. Campaigns,
//! triage, shrinking and the cargo-fuzz targets all run test cases through it.

use crate::engines::{self, EngineInfo};
use crate::exec::{CallResult, End, Engine, Execution, Executor, Provenance, TOOLCHAIN_ERROR};
use crate::generate::plan::{CallPlan, PlannedCall};
use crate::isolate::{Worker, WorkerLimits};
use crate::judge::finding::no_access_no_breach;
use crate::judge::oracle::{self, Comparison, Divergence, Symptom};
use crate::judge::{Finding, Judged, Policy};
use crate::wasm::features::FeatureSet;
use crate::wasm::Val;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The known-good module of the recoverability probe (P9).
const PROBE_WAT: &str = r#"(module (func (export "probe") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
static PROBE: OnceLock<Vec<u8>> = OnceLock::new();

/// Deadline floor for a module the reference did not finish.
const GUEST_LOOP_DEADLINE: Duration = Duration::from_millis(100);

/// Deadlines of a WASI program's run and of the re-run that confirms a
/// hang: straight-line calls of a few host operations each (a compile for
/// AoT), so a quarter second is ample and two seconds tell slow from hung.
const WASI_DEADLINE: Duration = Duration::from_millis(250);
const WASI_HANG_RECHECK: Duration = Duration::from_secs(2);

/// Said of a crash or hang met after `Differ::confirm_until`.
const TIME_UP: &str = " (not re-run to confirm: the campaign's time was up)";

/// Deadline of the re-run that confirms a hang: seconds, so that a step that
/// is only slow (a short deadline drawn from a fast reference) finishes.
const HANG_RECHECK_DEADLINE: Duration = Duration::from_secs(5);

/// A runtime under test, as the campaign drives it.
pub struct Subject {
    pub engine: Box<dyn Executor>,
    pub info: &'static EngineInfo,
}

/// Where one test case's time went, by stage (seconds): the screen, the
/// reference, each runtime under test (its wire included), judging.
pub type StageTimes = std::collections::BTreeMap<String, f64>;

/// Adds `d` to a stage's time.
/// Crash and hang signatures that reproduced on a re-run, shared.
pub type Reproduced = std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

pub fn add_time(times: &mut StageTimes, stage: &str, d: Duration) {
    *times.entry(stage.to_string()).or_default() += d.as_secs_f64();
}

/// The result of one test case.
pub struct CaseReport {
    /// The run the runtimes were judged against: the reference's when it ran,
    /// else the screen's (every runtime agreed with it).
    pub reference: Execution,
    pub comparisons: Vec<(Execution, Comparison)>,
    pub findings: Vec<Finding>,
    /// The screen's engine: it ran on every case it supports.
    pub screen: String,
    /// The optional Wasm features the module needs.
    pub features: FeatureSet,
    /// Runtimes under test that were not given the module: it needs a
    /// feature they are not built with.
    pub skipped: Vec<&'static str>,
    /// Why the reference ran (`None`: the screen's verdict stood).
    pub referenced: Option<Referenced>,
    pub times: StageTimes,
    /// A WASI program: judged by the capability oracle alone (no screen or
    /// reference run it; `reference` is empty).
    pub wasi: bool,
}

/// Why the reference (wasmtime) ran on a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Referenced {
    /// A runtime disagreed with the screen (or could not run the probe).
    Disagreement,
    /// The module needs a feature the screen lacks (threads): the reference
    /// was the first and only reference.
    Unscreened,
    /// Everyone agreed with the screen; the case was in the sampled share.
    Sampled,
}

/// Runs test cases and judges each runtime under test: the one place a test
/// case becomes findings. Each case runs first in the screen (wasmi, an
/// interpreter that needs no compilation, about 15x cheaper than Cranelift),
/// then in every runtime. Where a runtime disagrees with the screen, and on a
/// sampled share of the rest, the reference (wasmtime) runs too and the
/// verdicts are its: findings are always judged against wasmtime, with wasmi
/// as the second opinion. The sampled share catches a mistake WAMR and wasmi
/// would share.
pub struct Differ {
    screen: engines::wasmi::Wasmi,
    reference: engines::wasmtime::Wasmtime,
    pub subjects: Vec<Subject>,
    pub policy: Policy,
    /// Shortest hang deadline, whatever the reference's speed.
    pub deadline_floor: Duration,
    /// Deadline of the re-run that confirms a hang.
    pub hang_recheck: Duration,
    /// With a set: re-run a crash or hang only until its signature has
    /// reproduced once, the signatures that did are kept there (campaigns:
    /// the same bug is met again and again, and a hang's re-run waits out its
    /// whole deadline; the jobs of a campaign share one set). Later hits are
    /// filed unconfirmed (`confirmed: None`) under the finding that was
    /// confirmed. Without: every one is re-run.
    pub reproduced: Option<Reproduced>,
    /// No confirming re-run starts after this instant (a campaign's
    /// `--time`): later crashes and hangs are filed unconfirmed, saying so.
    pub confirm_until: Option<Instant>,
    /// Share of agreeing cases the reference checks all the same (0 to 1;
    /// 1: every case, as a single-module `run` or a shrink needs).
    pub reference_share: f64,
    /// What the screen can run, from its engine entry.
    screen_features: FeatureSet,
    /// Stage names of the screen and the reference in `CaseReport::times`.
    screen_stage: String,
    reference_stage: String,
}

impl Differ {
    pub fn new(subjects: Vec<Subject>, policy: Policy) -> anyhow::Result<Differ> {
        let screen = engines::wasmi::Wasmi::new();
        let reference = engines::wasmtime::Wasmtime::new()?;
        let screen_name = Engine::name(&screen);
        let screen_features = engines::info(screen_name)
            .map(|i| i.features)
            .expect("the screen is a registered engine");
        Ok(Differ {
            screen_stage: format!("screen ({screen_name})"),
            reference_stage: format!("reference ({})", Engine::name(&reference)),
            screen_features,
            screen,
            reference,
            subjects,
            policy,
            deadline_floor: Duration::from_secs(2),
            hang_recheck: HANG_RECHECK_DEADLINE,
            reproduced: None,
            confirm_until: None,
            reference_share: 1.0,
        })
    }

    /// Runs one module through every engine and judges each runtime under test.
    pub fn run(&mut self, wasm: &[u8], plan: &CallPlan) -> CaseReport {
        self.run_with(wasm, wasm, plan)
    }

    /// Whether an agreeing case is in the reference's sampled share: decided
    /// by the module's bytes, so a re-run decides the same.
    fn sampled(&self, wasm: &[u8]) -> bool {
        if self.reference_share >= 1.0 {
            return true;
        }
        (crate::wasm::fnv64(wasm) % 1_000_000) as f64 / 1_000_000.0 < self.reference_share
    }

    /// Like [`Differ::run`], giving the runtimes under test another input than
    /// the reference (an .aot built from `wasm`, e.g. manipulated).
    pub fn run_with(&mut self, wasm: &[u8], subject_input: &[u8], plan: &CallPlan) -> CaseReport {
        if crate::generate::wasi::imports_wasi(wasm) {
            return self.run_wasi(wasm, plan);
        }
        let mut times = StageTimes::new();
        let start = Instant::now();
        let features = FeatureSet::needed_by(wasm);
        let screened = self.screen_features.covers(&features);
        let screen = if screened {
            self.screen.run(wasm, plan)
        } else {
            self.reference.run(wasm, plan)
        };
        let screen_time = start.elapsed();
        let stage = if screened {
            &self.screen_stage
        } else {
            &self.reference_stage
        };
        add_time(&mut times, stage, screen_time);
        // When the screen itself gave up (its fuel ran out), a runtime that
        // does not finish either is looping with the guest (P10): a short
        // deadline tells that apart from a crash without waiting seconds.
        let deadline = if oracle::reference_gave_up_anywhere(&screen) {
            GUEST_LOOP_DEADLINE.max(screen_time * 5)
        } else {
            self.deadline_floor.max(screen_time * 50)
        };
        let skipped: Vec<&'static str> = self
            .subjects
            .iter()
            .filter(|s| !s.info.features.covers(&features))
            .map(|s| s.info.name)
            .collect();
        let mut runs = vec![];
        let mut disagreed = false;
        for i in 0..self.subjects.len() {
            if skipped.contains(&self.subjects[i].info.name) {
                continue;
            }
            let t = Instant::now();
            self.subjects[i].engine.set_deadline(deadline);
            let exec = self.subjects[i].engine.run(subject_input, plan);
            // P9, at once: the worker must not have run anything else since.
            let probe = self.unrecoverable(i, &exec);
            add_time(&mut times, self.subjects[i].info.name, t.elapsed());
            let t = Instant::now();
            // A comparison dropped as implementation-defined (stack depth,
            // fuel) is no disagreement: the reference could only drop it too.
            let cmp = oracle::compare(&screen, &exec);
            disagreed |= probe.is_some() || matches!(cmp, Comparison::Diverge(_));
            add_time(&mut times, "judging", t.elapsed());
            runs.push((i, exec, cmp, probe));
        }
        let referenced = match (screened, disagreed, self.sampled(wasm)) {
            (false, _, _) => Referenced::Unscreened,
            (true, true, _) => Referenced::Disagreement,
            (true, false, true) => Referenced::Sampled,
            (true, false, false) => {
                // Every runtime agreed with the screen: those are the verdicts.
                let comparisons = runs.into_iter().map(|(_, e, c, _)| (e, c)).collect();
                return CaseReport {
                    screen: screen.engine.clone(),
                    features,
                    skipped,
                    reference: screen,
                    comparisons,
                    findings: vec![],
                    referenced: None,
                    times,
                    wasi: false,
                };
            }
        };
        let reference = match screened {
            true => {
                let t = Instant::now();
                let reference = self.reference.run(wasm, plan);
                add_time(&mut times, &self.reference_stage, t.elapsed());
                reference
            }
            false => screen.clone(),
        };
        let t = Instant::now();
        let mut comparisons = vec![];
        let mut findings = vec![];
        // Re-runs that confirm a hang or crash: their own stage, not judging.
        let mut confirming = Duration::ZERO;
        for (i, mut exec, _, probe) in runs {
            let mut cmp = oracle::compare(&reference, &exec);
            let mut hang_rerun = false;
            let hang = matches!(&cmp, Comparison::Diverge(d) if d.symptom == Symptom::Hang);
            let time_up = !self.may_confirm();
            if hang && !time_up {
                let t = Instant::now();
                (exec, cmp, hang_rerun) =
                    self.recheck_hang(i, &reference, wasm, subject_input, plan, exec, cmp);
                self.subjects[i].engine.set_deadline(deadline);
                confirming += t.elapsed();
            }
            let cmp = no_access_no_breach(cmp, self.subjects[i].info, &exec);
            if let Comparison::Diverge(d) = &cmp {
                let mut d = d.clone();
                if time_up && matches!(d.symptom, Symptom::Hang | Symptom::Crash) {
                    d.detail.push_str(TIME_UP);
                }
                if d.symptom == Symptom::Hang {
                    // Re-checked above with a long deadline: it still hangs
                    // (or its signature already did, see `reproduced`).
                    let f = self.judge(
                        i,
                        &reference,
                        &exec,
                        &d,
                        wasm,
                        None,
                        hang_rerun.then_some(true),
                    );
                    if hang_rerun {
                        self.note_reproduced(&f.signature);
                    }
                    findings.push(f);
                } else if d.symptom == Symptom::Crash {
                    // Confirm before filing: a flaky one is kept, marked.
                    let mut f = self.judge(i, &reference, &exec, &d, wasm, None, None);
                    if !self.known_to_reproduce(&f.signature) && !time_up {
                        let t = Instant::now();
                        let again = self.subjects[i].engine.run(subject_input, plan);
                        confirming += t.elapsed();
                        let confirmed = matches!(oracle::compare(&reference, &again), Comparison::Diverge(a) if a.symptom == d.symptom);
                        if confirmed {
                            self.note_reproduced(&f.signature);
                        } else {
                            f.regroup_unconfirmed_crash();
                        }
                        f.confirmed = Some(confirmed);
                    }
                    findings.push(f);
                } else if d.symptom == Symptom::GuestLoop {
                    findings.push(self.judge(i, &reference, &exec, &d, wasm, None, None));
                } else {
                    // Without a screen run there is no second opinion.
                    let suspect = screened
                        && oracle::compare(&screen, &exec) == Comparison::Agree
                        && matches!(oracle::compare(&reference, &screen), Comparison::Diverge(_));
                    if suspect {
                        d.detail = format!(
                            "reference suspect: wasmi agrees with {}; {}",
                            exec.engine, d.detail
                        );
                    }
                    let second = screened.then(|| (suspect, screen.clone()));
                    findings.push(self.judge(i, &reference, &exec, &d, wasm, second, None));
                }
            }
            if let Some(d) = probe {
                findings.push(self.judge(i, &reference, &exec, &d, wasm, None, Some(true)));
            }
            comparisons.push((exec, cmp));
        }
        add_time(&mut times, "confirmations (re-runs)", confirming);
        add_time(
            &mut times,
            "judging",
            t.elapsed().saturating_sub(confirming),
        );
        CaseReport {
            screen: screen.engine,
            features,
            skipped,
            reference,
            comparisons,
            findings,
            referenced: Some(referenced),
            times,
            wasi: false,
        }
    }

    /// A WASI program, in each runtime that implements WASI, each run in a
    /// fresh sandbox of its own, judged by the capability oracle
    /// ([`crate::judge::wasi`]): absolute, so no screen or reference runs. A
    /// crash is confirmed on a re-run, a hang on a re-run with the long
    /// deadline (in fresh sandboxes).
    fn run_wasi(&mut self, wasm: &[u8], plan: &CallPlan) -> CaseReport {
        let mut times = StageTimes::new();
        let features = FeatureSet::needed_by(wasm);
        // The reference runs the program in a sandbox of the same layout: the
        // differential half (errnos), and a check of the sandbox itself.
        let t = Instant::now();
        let reference = match crate::exec::wasi::Sandbox::create() {
            Ok(sandbox) => {
                let mut p = plan.clone();
                p.wasi = Some(sandbox.setup.clone());
                let mut r = self.reference.run(wasm, &p);
                let observed = r.wasi.get_or_insert_with(Default::default);
                observed.changed_outside = sandbox.changed_outside();
                // The reference runs in this process, beside other jobs and
                // their sandboxes: the fds it holds say nothing of its run.
                observed.fds_outside.clear();
                r
            }
            Err(_) => Execution {
                engine: "capability oracle (no reference: no sandbox)".into(),
                ..Default::default()
            },
        };
        add_time(&mut times, &self.reference_stage, t.elapsed());
        // What the reference's own run breached is the sandbox's fault (a
        // layout that leaves the outside reachable), not a runtime's.
        let harness_fault = crate::judge::wasi::check(&reference, plan)
            .filter(|d| d.symptom == Symptom::WasiEscape)
            .map(|d| {
                format!(
                    "the reference breached the sandbox too, a harness fault: {}",
                    d.detail
                )
            });
        let mut skipped = vec![];
        let (mut comparisons, mut findings) = (vec![], vec![]);
        for i in 0..self.subjects.len() {
            let info = self.subjects[i].info;
            if !info.wasi || !info.features.covers(&features) {
                skipped.push(info.name);
                continue;
            }
            let t = Instant::now();
            let Some(exec) = self.run_in_sandbox(i, wasm, plan, WASI_DEADLINE) else {
                comparisons.push((
                    Execution::default(),
                    Comparison::Poisoned("no sandbox: cannot lay out a WASI sandbox".into()),
                ));
                continue;
            };
            add_time(&mut times, info.name, t.elapsed());
            let Some(mut d) = crate::judge::wasi::check(&exec, plan) else {
                match crate::judge::wasi::compare(&reference, &exec, &self.policy.wasi_differences)
                {
                    Some(d) => {
                        findings.push(self.judge(i, &reference, &exec, &d, wasm, None, None));
                        comparisons.push((exec, Comparison::Diverge(d)));
                    }
                    None => comparisons.push((exec, Comparison::Agree)),
                }
                continue;
            };
            if let (Some(fault), Symptom::WasiEscape) = (&harness_fault, &d.symptom) {
                comparisons.push((exec, Comparison::Poisoned(fault.clone())));
                continue;
            }
            let t = Instant::now();
            let signature = self
                .judge(i, &reference, &exec, &d, wasm, None, None)
                .signature;
            let time_up = !self.may_confirm();
            let confirmed = match d.symptom {
                _ if self.known_to_reproduce(&signature) => None,
                _ if time_up => None,
                // The same crash, not any: a heap another case corrupted
                // makes the next one crash somewhere else.
                Symptom::Crash | Symptom::SandboxEscape => self
                    .run_in_sandbox(i, wasm, plan, WASI_DEADLINE)
                    .map(|again| {
                        crate::judge::wasi::check(&again, plan).is_some_and(|a| {
                            self.judge(i, &reference, &again, &a, wasm, None, None)
                                .signature
                                == signature
                        })
                    }),
                Symptom::Hang => self
                    .run_in_sandbox(
                        i,
                        wasm,
                        plan,
                        WASI_HANG_RECHECK.min(self.hang_recheck).max(WASI_DEADLINE),
                    )
                    .map(|again| matches!(again.end, End::Hung { .. })),
                _ => None,
            };
            if confirmed == Some(true) {
                self.note_reproduced(&signature);
            }
            if time_up && matches!(d.symptom, Symptom::Hang | Symptom::Crash) {
                d.detail.push_str(TIME_UP);
            }
            add_time(&mut times, "confirmations (re-runs)", t.elapsed());
            if d.symptom == Symptom::Hang && confirmed == Some(false) {
                // Only slow: it finished on the long deadline.
                comparisons.push((exec, Comparison::Agree));
                continue;
            }
            let mut f = self.judge(i, &reference, &exec, &d, wasm, None, confirmed);
            // A crash that does not repeat in a fresh sandbox is most likely a
            // victim of an earlier call's heap corruption (WAMR's fd_readdir
            // on stdio corrupts the heap, the next call dies): one finding per
            // runtime, never keyed by the call it happened to die in.
            if d.symptom == Symptom::Crash && confirmed == Some(false) {
                f.regroup_unconfirmed_crash();
            }
            findings.push(f);
            comparisons.push((exec, Comparison::Diverge(d)));
        }
        CaseReport {
            reference,
            comparisons,
            findings,
            screen: String::new(),
            features,
            skipped,
            referenced: None,
            times,
            wasi: true,
        }
    }

    /// One run of a WASI program in a fresh sandbox, with what changed
    /// outside its root; `None` when no sandbox can be laid out.
    fn run_in_sandbox(
        &mut self,
        subject: usize,
        wasm: &[u8],
        plan: &CallPlan,
        deadline: Duration,
    ) -> Option<Execution> {
        let sandbox = crate::exec::wasi::Sandbox::create().ok()?;
        let mut plan = plan.clone();
        plan.wasi = Some(sandbox.setup.clone());
        let engine = &mut self.subjects[subject].engine;
        engine.set_deadline(deadline);
        let mut exec = engine.run(wasm, &plan);
        exec.wasi
            .get_or_insert_with(Default::default)
            .changed_outside = sandbox.changed_outside();
        Some(exec)
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
    ) -> (Execution, Comparison, bool) {
        let Comparison::Diverge(d) = &cmp else {
            return (exec, cmp, false);
        };
        let again = self.reference.run(wasm, plan);
        if oracle::reference_gave_up(&again, &exec, d.call_index.unwrap_or(0)) {
            let mut d = d.clone();
            d.symptom = Symptom::GuestLoop;
            d.detail = format!("{}; the reference gave up there on a re-run", d.detail);
            return (exec, Comparison::Diverge(d), false);
        }
        let signature = self
            .judge(subject, reference, &exec, d, wasm, None, None)
            .signature;
        if self.known_to_reproduce(&signature) {
            return (exec, cmp, false);
        }
        // As long as the time left allows (`may_confirm` left a floor's worth).
        let long = self.deadline_floor.max(self.hang_recheck);
        let left = self
            .confirm_until
            .map_or(long, |t| t.saturating_duration_since(Instant::now()));
        self.subjects[subject]
            .engine
            .set_deadline(long.min(left.max(self.deadline_floor)));
        let long = self.subjects[subject].engine.run(subject_input, plan);
        let long_cmp = oracle::compare(reference, &long);
        (long, long_cmp, true)
    }

    /// Whether a confirming re-run may start now (see `confirm_until`): one
    /// hang deadline must fit before it.
    fn may_confirm(&self) -> bool {
        self.confirm_until
            .is_none_or(|t| Instant::now() + self.deadline_floor < t)
    }

    /// Whether a crash or hang of this signature need not be re-run.
    fn known_to_reproduce(&self, signature: &str) -> bool {
        self.reproduced
            .as_ref()
            .is_some_and(|r| r.lock().unwrap().contains(signature))
    }

    fn note_reproduced(&self, signature: &str) {
        if let Some(r) = &self.reproduced {
            r.lock().unwrap().insert(signature.to_string());
        }
    }

    /// P9: after a trap, the runtime must still run a known-good module. Runs
    /// the probe in the same engine (the same worker process) and returns the
    /// divergence when it cannot.
    fn unrecoverable(&mut self, subject: usize, exec: &Execution) -> Option<Divergence> {
        let trapped = |r: &CallResult| matches!(r, CallResult::Trapped { .. });
        // A worker that crashed or hung is gone: there is nothing to probe.
        if exec.end != End::Completed
            || (!exec.instantiate.as_ref().is_some_and(trapped)
                && !exec.calls.iter().any(|c| trapped(&c.result)))
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
        let after = self.subjects[subject].engine.run(probe, &plan);
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
            rule: None,
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
            let engine: Box<dyn Executor> = if isolate || !info.in_process_ok {
                Box::new(Worker::new(n, limits.clone()))
            } else {
                Box::new(engines::create(n)?)
            };
            Ok(Subject { engine, info })
        })
        .collect()
}
