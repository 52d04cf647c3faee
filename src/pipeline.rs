//! The pipeline: one test case through the reference, each runtime under test,
//! and (when they disagree) the second opinion; then the judge. Campaigns,
//! triage, shrinking and the cargo-fuzz targets all run test cases through it.

use crate::engines::{self, EngineInfo};
use crate::exec::{CallResult, End, Engine, Execution, Executor, Provenance, TOOLCHAIN_ERROR};
use crate::generate::plan::{CallPlan, PlannedCall};
use crate::isolate::{Worker, WorkerLimits};
use crate::judge::finding::no_access_no_breach;
use crate::judge::oracle::{self, Comparison, Divergence, Symptom};
use crate::judge::{Facts, Finding, Policy};
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

/// Crash and hang signatures that reproduced on a re-run, shared.
pub type Reproduced = std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

/// Adds `d` to a stage's time.
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
    /// Where the runtimes' input came from when the pipeline did not make it
    /// (an .aot given to triage: manipulated, or of unknown origin); `None`:
    /// the engine's own, by the AoT trust line ([`provenance`]).
    pub input_provenance: Option<Provenance>,
    /// What the screen can run, from its engine entry.
    screen_features: FeatureSet,
    /// Stage names of the screen and the reference in `CaseReport::times`.
    screen_stage: String,
    reference_stage: String,
}

/// One test case: the module the reference runs, what the runtimes under
/// test are given (the module, or an .aot built from it) and the calls.
struct Case<'a> {
    wasm: &'a [u8],
    subject_input: &'a [u8],
    plan: &'a CallPlan,
}

/// The screen's run of a case (the reference's, `by_screen` false, when the
/// module needs what the screen lacks) and the hang deadline it sets.
struct Screened {
    exec: Execution,
    by_screen: bool,
    deadline: Duration,
}

/// One runtime's run of a case, compared with the screen; `probe`: the P9
/// divergence when it could not run a known-good module afterwards.
struct SubjectRun {
    subject: usize,
    exec: Execution,
    screen_cmp: Comparison,
    probe: Option<Divergence>,
}

impl SubjectRun {
    fn disagrees(&self) -> bool {
        self.probe.is_some() || matches!(self.screen_cmp, Comparison::Diverge(_))
    }
}

/// What a divergence is judged from: which runtime, its run, the
/// reference's run and the module.
#[derive(Clone, Copy)]
struct Judging<'a> {
    subject: usize,
    reference: &'a Execution,
    exec: &'a Execution,
    wasm: &'a [u8],
}

impl<'a> Judging<'a> {
    fn new(subject: usize, reference: &'a Execution, exec: &'a Execution, wasm: &'a [u8]) -> Self {
        Judging {
            subject,
            reference,
            exec,
            wasm,
        }
    }
}

/// The screen as second opinion on a wrong result: when it agrees with the
/// runtime and not with the reference, the reference is the suspect.
struct SecondOpinion {
    sides_with_subject: bool,
    screen: Execution,
}

impl SecondOpinion {
    fn of(screened: &Screened, reference: &Execution, exec: &Execution) -> SecondOpinion {
        SecondOpinion {
            sides_with_subject: oracle::compare(&screened.exec, exec) == Comparison::Agree
                && matches!(
                    oracle::compare(reference, &screened.exec),
                    Comparison::Diverge(_)
                ),
            screen: screened.exec.clone(),
        }
    }
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
            input_provenance: None,
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
    /// the reference (an .aot built from `wasm`, e.g. manipulated). Three
    /// steps: the screen, the runtimes under test (compared with the screen),
    /// then, when someone disagreed or the case is sampled, the reference and
    /// the verdicts (crashes and hangs confirmed on a re-run).
    pub fn run_with(&mut self, wasm: &[u8], subject_input: &[u8], plan: &CallPlan) -> CaseReport {
        if crate::generate::wasi::imports_wasi(wasm) {
            return self.run_wasi(wasm, subject_input, plan);
        }
        let case = Case {
            wasm,
            subject_input,
            plan,
        };
        let mut times = StageTimes::new();
        let features = FeatureSet::needed_by(wasm);
        let screened = self.screen(&case, &features, &mut times);
        let skipped: Vec<&'static str> = self
            .subjects
            .iter()
            .filter(|s| !s.info.features.covers(&features))
            .map(|s| s.info.name)
            .collect();
        let runs = self.run_subjects(&case, &screened, &skipped, &mut times);
        let disagreed = runs.iter().any(SubjectRun::disagrees);
        let referenced = match (screened.by_screen, disagreed, self.sampled(wasm)) {
            (false, _, _) => Referenced::Unscreened,
            (true, true, _) => Referenced::Disagreement,
            (true, false, true) => Referenced::Sampled,
            // Every runtime agreed with the screen: those are the verdicts.
            (true, false, false) => {
                return CaseReport {
                    screen: screened.exec.engine.clone(),
                    features,
                    skipped,
                    comparisons: runs.into_iter().map(|r| (r.exec, r.screen_cmp)).collect(),
                    reference: screened.exec,
                    findings: vec![],
                    referenced: None,
                    times,
                    wasi: false,
                }
            }
        };
        let reference = if screened.by_screen {
            let t = Instant::now();
            let reference = self.reference.run(wasm, plan);
            add_time(&mut times, &self.reference_stage, t.elapsed());
            reference
        } else {
            screened.exec.clone()
        };
        let (comparisons, findings) =
            self.judge_runs(&case, &screened, &reference, runs, &mut times);
        CaseReport {
            screen: screened.exec.engine,
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

    /// Runs `input` (which no reference can run: an .aot without its source)
    /// in every runtime under test and judges it against `reference`, a
    /// stand-in that says what a correct run does; crashes and hangs are
    /// confirmed and P9 probed as in [`Differ::run_with`].
    pub fn run_against(
        &mut self,
        reference: Execution,
        input: &[u8],
        plan: &CallPlan,
    ) -> CaseReport {
        let case = Case {
            wasm: &[],
            subject_input: input,
            plan,
        };
        let mut times = StageTimes::new();
        let screened = Screened {
            exec: reference.clone(),
            by_screen: false,
            deadline: self.deadline_floor,
        };
        let runs = self.run_subjects(&case, &screened, &[], &mut times);
        let (comparisons, findings) =
            self.judge_runs(&case, &screened, &reference, runs, &mut times);
        CaseReport {
            screen: String::new(),
            features: FeatureSet::default(),
            skipped: vec![],
            reference,
            comparisons,
            findings,
            referenced: None,
            times,
            wasi: false,
        }
    }

    /// The screen's run of a case; the reference's when the module needs a
    /// feature the screen lacks. Sets the runtimes' hang deadline from it.
    fn screen(&mut self, case: &Case, features: &FeatureSet, times: &mut StageTimes) -> Screened {
        let start = Instant::now();
        let by_screen = self.screen_features.covers(features);
        let exec = if by_screen {
            self.screen.run(case.wasm, case.plan)
        } else {
            self.reference.run(case.wasm, case.plan)
        };
        let took = start.elapsed();
        let stage = if by_screen {
            &self.screen_stage
        } else {
            &self.reference_stage
        };
        add_time(times, stage, took);
        // When the screen itself gave up (its fuel ran out), a runtime that
        // does not finish either is looping with the guest (P10): a short
        // deadline tells that apart from a crash without waiting seconds.
        let deadline = if oracle::reference_gave_up_anywhere(&exec) {
            GUEST_LOOP_DEADLINE.max(took * 5)
        } else {
            self.deadline_floor.max(took * 50)
        };
        Screened {
            exec,
            by_screen,
            deadline,
        }
    }

    /// Each runtime under test that supports the module runs it, then (P9,
    /// at once: the worker must not have run anything else since) the probe.
    fn run_subjects(
        &mut self,
        case: &Case,
        screened: &Screened,
        skipped: &[&str],
        times: &mut StageTimes,
    ) -> Vec<SubjectRun> {
        let mut runs = vec![];
        for subject in 0..self.subjects.len() {
            if skipped.contains(&self.subjects[subject].info.name) {
                continue;
            }
            let t = Instant::now();
            self.subjects[subject]
                .engine
                .set_deadline(screened.deadline);
            let exec = self.subjects[subject]
                .engine
                .run(case.subject_input, case.plan);
            let probe = self.unrecoverable(subject, &exec);
            add_time(times, self.subjects[subject].info.name, t.elapsed());
            let t = Instant::now();
            // A comparison dropped as implementation-defined (stack depth,
            // fuel) is no disagreement: the reference could only drop it too.
            let screen_cmp = oracle::compare(&screened.exec, &exec);
            add_time(times, "judging", t.elapsed());
            runs.push(SubjectRun {
                subject,
                exec,
                screen_cmp,
                probe,
            });
        }
        runs
    }

    /// Every runtime's run judged against the reference: (comparisons,
    /// findings).
    fn judge_runs(
        &mut self,
        case: &Case,
        screened: &Screened,
        reference: &Execution,
        runs: Vec<SubjectRun>,
        times: &mut StageTimes,
    ) -> (Vec<(Execution, Comparison)>, Vec<Finding>) {
        let t = Instant::now();
        let (mut comparisons, mut findings) = (vec![], vec![]);
        // Re-runs that confirm a hang or crash: their own stage, not judging.
        let mut confirming = Duration::ZERO;
        for run in runs {
            let (exec, cmp, found) = self.verdicts(case, screened, reference, run, &mut confirming);
            findings.extend(found);
            comparisons.push((exec, cmp));
        }
        add_time(times, "confirmations (re-runs)", confirming);
        add_time(times, "judging", t.elapsed().saturating_sub(confirming));
        (comparisons, findings)
    }

    /// One runtime's run judged against the reference: its comparison (on
    /// the re-run, for a hang that was re-checked) and its findings.
    fn verdicts(
        &mut self,
        case: &Case,
        screened: &Screened,
        reference: &Execution,
        run: SubjectRun,
        confirming: &mut Duration,
    ) -> (Execution, Comparison, Vec<Finding>) {
        let SubjectRun {
            subject: i,
            mut exec,
            probe,
            ..
        } = run;
        let mut cmp = oracle::compare(reference, &exec);
        let mut hang_rerun = false;
        let hang = matches!(&cmp, Comparison::Diverge(d) if d.symptom == Symptom::Hang);
        let time_up = !self.may_confirm();
        if hang && !time_up {
            let t = Instant::now();
            (exec, cmp, hang_rerun) = self.recheck_hang(i, reference, case, exec, cmp);
            self.subjects[i].engine.set_deadline(screened.deadline);
            *confirming += t.elapsed();
        }
        let cmp = no_access_no_breach(cmp, self.subjects[i].info, &exec);
        let mut findings = vec![];
        if let Comparison::Diverge(d) = &cmp {
            let mut d = d.clone();
            if time_up && matches!(d.symptom, Symptom::Hang | Symptom::Crash) {
                d.detail.push_str(TIME_UP);
            }
            let at = Judging::new(i, reference, &exec, case.wasm);
            let f = match d.symptom {
                // Re-checked above with a long deadline: it still hangs (or
                // its signature already did, see `reproduced`).
                Symptom::Hang => {
                    let f = self.judge(&at, &d, None, hang_rerun.then_some(true));
                    if hang_rerun {
                        self.note_reproduced(&f.signature);
                    }
                    f
                }
                Symptom::Crash => {
                    let t = Instant::now();
                    let f = self.confirm_crash(&at, case, &d, time_up);
                    *confirming += t.elapsed();
                    f
                }
                Symptom::GuestLoop => self.judge(&at, &d, None, None),
                _ => {
                    let second = screened
                        .by_screen
                        .then(|| SecondOpinion::of(screened, reference, &exec));
                    if second.as_ref().is_some_and(|s| s.sides_with_subject) {
                        d.detail = format!(
                            "reference suspect: wasmi agrees with {}; {}",
                            exec.engine, d.detail
                        );
                    }
                    self.judge(&at, &d, second, None)
                }
            };
            findings.push(f);
        }
        if let Some(d) = probe {
            let at = Judging::new(i, reference, &exec, case.wasm);
            findings.push(self.judge(&at, &d, None, Some(true)));
        }
        (exec, cmp, findings)
    }

    /// A crash is filed confirmed when a re-run crashes too; one that does
    /// not is kept, marked and grouped per runtime.
    fn confirm_crash(
        &mut self,
        at: &Judging,
        case: &Case,
        d: &Divergence,
        time_up: bool,
    ) -> Finding {
        let mut f = self.judge(at, d, None, None);
        if self.known_to_reproduce(&f.signature) || time_up {
            return f;
        }
        let again = self.subjects[at.subject]
            .engine
            .run(case.subject_input, case.plan);
        let confirmed = matches!(oracle::compare(at.reference, &again), Comparison::Diverge(a) if a.symptom == d.symptom);
        if confirmed {
            self.note_reproduced(&f.signature);
        } else {
            f.regroup_unconfirmed_crash();
        }
        f.confirmed = Some(confirmed);
        f
    }

    /// A WASI program, in each runtime that implements WASI, each run in a
    /// fresh sandbox of its own, judged by the capability oracle
    /// ([`crate::judge::wasi`]): absolute, so no screen or reference runs. A
    /// crash is confirmed on a re-run, a hang on a re-run with the long
    /// deadline (in fresh sandboxes).
    fn run_wasi(&mut self, wasm: &[u8], subject_input: &[u8], plan: &CallPlan) -> CaseReport {
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
            let Some(exec) = self.run_in_sandbox(i, subject_input, plan, WASI_DEADLINE) else {
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
                        findings.push(self.judge(
                            &Judging::new(i, &reference, &exec, wasm),
                            &d,
                            None,
                            None,
                        ));
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
                .judge(&Judging::new(i, &reference, &exec, wasm), &d, None, None)
                .signature;
            let time_up = !self.may_confirm();
            let confirmed = match d.symptom {
                _ if self.known_to_reproduce(&signature) => None,
                _ if time_up => None,
                // The same crash, not any: a heap another case corrupted
                // makes the next one crash somewhere else.
                Symptom::Crash | Symptom::SandboxEscape => self
                    .run_in_sandbox(i, subject_input, plan, WASI_DEADLINE)
                    .map(|again| {
                        crate::judge::wasi::check(&again, plan).is_some_and(|a| {
                            self.judge(&Judging::new(i, &reference, &again, wasm), &a, None, None)
                                .signature
                                == signature
                        })
                    }),
                Symptom::Hang => self
                    .run_in_sandbox(
                        i,
                        subject_input,
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
            let mut f = self.judge(
                &Judging::new(i, &reference, &exec, wasm),
                &d,
                None,
                confirmed,
            );
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
        input: &[u8],
        plan: &CallPlan,
        deadline: Duration,
    ) -> Option<Execution> {
        let sandbox = crate::exec::wasi::Sandbox::create().ok()?;
        let mut plan = plan.clone();
        plan.wasi = Some(sandbox.setup.clone());
        let engine = &mut self.subjects[subject].engine;
        engine.set_deadline(deadline);
        let mut exec = engine.run(input, &plan);
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
    fn recheck_hang(
        &mut self,
        subject: usize,
        reference: &Execution,
        case: &Case,
        exec: Execution,
        cmp: Comparison,
    ) -> (Execution, Comparison, bool) {
        let Comparison::Diverge(d) = &cmp else {
            return (exec, cmp, false);
        };
        let again = self.reference.run(case.wasm, case.plan);
        if oracle::reference_gave_up(&again, &exec, d.call_index.unwrap_or(0)) {
            let mut d = d.clone();
            d.symptom = Symptom::GuestLoop;
            d.detail = format!("{}; the reference gave up there on a re-run", d.detail);
            return (exec, Comparison::Diverge(d), false);
        }
        let at = Judging::new(subject, reference, &exec, case.wasm);
        if self.known_to_reproduce(&self.judge(&at, d, None, None).signature) {
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
        let long = self.subjects[subject]
            .engine
            .run(case.subject_input, case.plan);
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

    /// The finding for a divergence, by the policy; `second`: the screen's
    /// opinion on a wrong result, `confirmed`: what a re-run showed.
    fn judge(
        &self,
        at: &Judging,
        d: &Divergence,
        second: Option<SecondOpinion>,
        confirmed: Option<bool>,
    ) -> Finding {
        let Judging {
            subject,
            reference,
            exec,
            wasm,
        } = *at;
        let info = self.subjects[subject].info;
        let suspect = second.as_ref().is_some_and(|s| s.sides_with_subject);
        let symptom = if suspect {
            "reference-suspect"
        } else {
            d.symptom.policy_name()
        };
        let provenance = self
            .input_provenance
            .unwrap_or_else(|| provenance(info, exec));
        let mut executions = vec![reference.clone(), exec.clone()];
        if let Some(s) = second {
            executions.push(s.screen);
        }
        let facts = Facts {
            provenance,
            symptom,
            mode_feature: info.mode_feature,
            confirmed,
        };
        facts.finding(&self.policy, wasm, d, exec, executions)
    }
}

/// Where a runtime's failing input came from, by the AoT trust line: a
/// failure before the module loaded is the compiler's (it compiles inside
/// the load step), afterwards the emitted code's. An interpreter's input is
/// the .wasm itself.
pub fn provenance(info: &EngineInfo, exec: &Execution) -> Provenance {
    match info.provenance {
        Provenance::AotEmitted
            if exec
                .load
                .as_ref()
                .is_none_or(|l| l.as_ref().is_err_and(|e| e.starts_with(TOOLCHAIN_ERROR))) =>
        {
            Provenance::AotCompiler
        }
        p => p,
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
