//! Shrinking a finding: the smallest module and the shortest, simplest call
//! plan that still give the *same* finding.
//!
//! "Same" is strict: a candidate is kept only when the runtime under test named
//! in `finding.json` still yields a finding with the same policy bucket, the same
//! kind and the same dedup signature (engine, symptom, trap kinds or crash
//! frames). A candidate that merely "still fails somehow" is rejected, so a
//! shrink never drifts from one bug to another.
//!
//! Stages, each keeping the same verdict and signature: the plan first (cut
//! after the diverging call, drop earlier calls, zero the arguments; cheap and
//! it makes every later run shorter); the termination counter wasm-smith
//! injected, all of it at once; the module's items with wasm-shrink (the plan
//! is rebuilt for each candidate, since wasm-shrink removes exports and
//! changes signatures), with half the time left at most; instruction-level
//! edits inside function bodies ([`reduce`]); the exports the plan does not
//! call; wasm-shrink once more for the items those edits left unused; unused
//! locals and types ([`tidy`]); the plan again. The stages are listed once,
//! in `STAGES`. A module that does not
//! validate (a loader finding) is reduced byte by byte instead. Everything
//! runs against a deadline: when it passes, the smallest interesting module so
//! far is the result.
//!
//! Writes `min.wasm`, `min.wat` and `shrink.json` (sizes before/after, the
//! minimal plan, the finding as re-observed on `min.wasm`) into the finding folder.

pub mod reduce;
mod tidy;

use crate::generate::plan::{zero, CallPlan, Exports};
use crate::isolate::WorkerLimits;
use crate::judge::policy::Policy;
use crate::judge::{Bucket, Finding};
use crate::pipeline::{self, Differ};
use crate::store::{self, load_finding, ShrinkOutcome};
use crate::wasm::{names, Val};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Knobs of one shrink.
#[derive(Clone, Debug)]
pub struct ShrinkConfig {
    /// Wall-time budget for the whole shrink (plan and module).
    pub budget: Duration,
    /// wasm-shrink's attempts without progress before it stops.
    pub attempts: u32,
    /// wasm-shrink's RNG seed.
    pub seed: u64,
    /// Run the runtime under test in a worker process (needed for crashes and hangs).
    pub isolate: bool,
    pub policy: Policy,
    /// Set from elsewhere (a campaign's Ctrl-C) to end the shrink at once;
    /// the best module so far is kept.
    pub cancel: Option<&'static std::sync::atomic::AtomicBool>,
    /// No run starts after this instant, not even the confirming ones (a
    /// campaign's end): a shrink cut there writes nothing.
    pub stop_at: Option<Instant>,
}

impl ShrinkConfig {
    pub fn new(budget: Duration) -> ShrinkConfig {
        ShrinkConfig {
            budget,
            attempts: 1000,
            seed: 42,
            isolate: true,
            policy: Policy::builtin(),
            cancel: None,
            stop_at: None,
        }
    }
}

/// The shrink target: what must stay the same.
#[derive(Clone, Debug)]
struct Target {
    bucket: Bucket,
    kind: String,
    signature: String,
}

impl Target {
    fn of(f: &Finding) -> Target {
        Target {
            bucket: f.verdict.bucket,
            kind: f.verdict.kind.clone(),
            signature: f.signature.clone(),
        }
    }
    fn matches(&self, f: &Finding) -> bool {
        f.verdict.bucket == self.bucket
            && f.verdict.kind == self.kind
            && f.signature == self.signature
    }
}

/// Deadlines for hang candidates while shrinking (the final result is
/// confirmed on the campaign's): long enough for modules that merely run a
/// little, short enough for some 30 hang candidates a minute.
const QUICK_HANG_FLOOR: Duration = Duration::from_millis(500);
const QUICK_HANG_RECHECK: Duration = Duration::from_secs(1);

/// Runs candidates and counts them.
struct Judge {
    differ: Differ,
    target: Target,
    deadline: Instant,
    cancel: Option<&'static std::sync::atomic::AtomicBool>,
    /// See `ShrinkConfig::stop_at`; `cut` says it was met.
    stop_at: Option<Instant>,
    cut: bool,
    candidates: u64,
    accepted: u64,
}

impl Judge {
    fn out_of_time(&self) -> bool {
        Instant::now() >= self.deadline
            || self
                .cancel
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The matching finding, if the candidate keeps it.
    fn observe(&mut self, wasm: &[u8], plan: &CallPlan) -> Option<Finding> {
        if self.stop_at.is_some_and(|t| Instant::now() >= t) {
            self.cut = true;
            return None;
        }
        self.candidates += 1;
        let report = self.differ.run(wasm, plan);
        let hit = report.findings.into_iter().find(|f| self.target.matches(f));
        if hit.is_some() {
            self.accepted += 1;
        }
        hit
    }

    fn interesting(&mut self, wasm: &[u8], plan: &CallPlan) -> bool {
        self.observe(wasm, plan).is_some()
    }
}

/// Whether an argument is already as simple as it gets (zero, or null).
fn is_zero(v: &Val) -> bool {
    *v == zero(v.ty())
}

/// The plan adapted to a candidate module: calls whose export still exists with
/// the same parameter types are kept; exported state is re-read.
fn adapt(plan: &CallPlan, wasm: &[u8]) -> CallPlan {
    let ex = Exports::read(wasm).unwrap_or_default();
    let calls = plan
        .calls
        .iter()
        .filter(|c| {
            ex.funcs.iter().any(|f| {
                f.name == c.export
                    && f.params.len() == c.args.len()
                    && f.params.iter().zip(&c.args).all(|(t, a)| *t == a.ty())
            })
        })
        .cloned()
        .collect();
    CallPlan {
        calls,
        globals: ex.globals,
        memories: ex.memories,
        wasi: None,
        compile_options: plan.compile_options.clone(),
    }
}

/// Drops the exports the plan does not call, keeping each drop only when the
/// finding stays: every such export at once, else the functions the plan
/// does not call, else the rest (globals, tables, memories the verdict does
/// not read).
fn without_uncalled_exports(judge: &mut Judge, wasm: Vec<u8>, plan: &CallPlan) -> Vec<u8> {
    let called = |name: &str| plan.calls.iter().any(|c| c.export == name);
    let funcs: Vec<String> = Exports::read(&wasm)
        .map(|e| e.funcs.into_iter().map(|f| f.name).collect())
        .unwrap_or_default();
    let is_func = |name: &str| funcs.iter().any(|f| f == name);
    let mut min = wasm;
    let drops: [&dyn Fn(&str) -> bool; 3] = [&|n| called(n), &|n| called(n) || !is_func(n), &|n| {
        called(n) || is_func(n)
    }];
    for keep in drops {
        if judge.out_of_time() {
            break;
        }
        if let Some(c) = reduce::without_exports(&min, keep) {
            if reduce::valid(&c) && judge.interesting(&c, &adapt(plan, &c)) {
                eprintln!("shrink: exports the plan does not call: removed");
                min = c;
            }
        }
    }
    min
}

/// Fewest calls, simplest arguments: drops calls before the last one and zeroes
/// arguments, keeping each change only when the finding stays the same.
fn simplify_plan(judge: &mut Judge, wasm: &[u8], plan: CallPlan) -> CallPlan {
    let mut plan = plan;
    // Drop earlier calls, one at a time (the last call is where it diverges).
    let mut i = 0;
    while plan.calls.len() > 1 && i + 1 < plan.calls.len() && !judge.out_of_time() {
        let mut candidate = plan.clone();
        candidate.calls.remove(i);
        if judge.interesting(wasm, &candidate) {
            plan = candidate;
        } else {
            i += 1;
        }
    }
    // Zero (or null) arguments: all of a call's at once, then one by one.
    for c in 0..plan.calls.len() {
        if judge.out_of_time() || plan.calls[c].args.iter().all(is_zero) {
            continue;
        }
        let mut candidate = plan.clone();
        for a in candidate.calls[c].args.iter_mut() {
            *a = zero(a.ty());
        }
        if judge.interesting(wasm, &candidate) {
            plan = candidate;
            continue;
        }
        for a in 0..plan.calls[c].args.len() {
            if judge.out_of_time() || is_zero(&plan.calls[c].args[a]) {
                continue;
            }
            let mut candidate = plan.clone();
            let t = candidate.calls[c].args[a].ty();
            candidate.calls[c].args[a] = zero(t);
            if judge.interesting(wasm, &candidate) {
                plan = candidate;
            }
        }
    }
    plan
}

/// wasm-shrink on the module's items until it gives up or the judge's
/// deadline passes; the smallest interesting module so far either way.
fn wasm_shrink_stage(
    judge: &mut Judge,
    wasm: Vec<u8>,
    plan: &CallPlan,
    cfg: &ShrinkConfig,
    budget_hit: &Rc<RefCell<bool>>,
) -> Vec<u8> {
    if judge.out_of_time() {
        *budget_hit.borrow_mut() = true;
        return wasm;
    }
    // wasm-shrink wants 'static callbacks: the best so far lives in a cell.
    let best: Rc<RefCell<Vec<u8>>> = Rc::new(RefCell::new(wasm.clone()));
    let sink = best.clone();
    let shrink = wasm_shrink::WasmShrink::default()
        .attempts(cfg.attempts)
        .seed(cfg.seed)
        .on_new_smallest(Some(Box::new(move |w: &[u8]| {
            *sink.borrow_mut() = w.to_vec();
            Ok(())
        })));
    let hit = budget_hit.clone();
    let result = shrink.run(wasm, |candidate: &[u8]| -> anyhow::Result<bool> {
        if judge.out_of_time() {
            *hit.borrow_mut() = true;
            anyhow::bail!("shrink budget exhausted");
        }
        let p = adapt(plan, candidate);
        Ok(judge.interesting(candidate, &p))
    });
    match result {
        Ok(info) => info.output,
        Err(_) if *budget_hit.borrow() => best.borrow().clone(),
        Err(e) => {
            eprintln!(
                "wasmsieve: shrink: wasm-shrink stopped: {e:#}; keeping the smallest module so far"
            );
            best.borrow().clone()
        }
    }
}

/// Shrinks the finding in `dir` within `budget` (defaults otherwise). The hook a
/// campaign calls for each new unique finding.
pub fn shrink_finding(dir: &Path, budget: Duration) -> anyhow::Result<ShrinkOutcome> {
    shrink_finding_with(dir, &ShrinkConfig::new(budget))
}

/// The file side of a shrink: takes the finding folder's lock, reads the
/// finding, runs [`Shrink`] and writes its result unless an earlier shrink
/// left a smaller one (results only improve).
pub fn shrink_finding_with(dir: &Path, cfg: &ShrinkConfig) -> anyhow::Result<ShrinkOutcome> {
    let started = Instant::now();
    let _lock = store::OutLock::finding(dir)?;
    let (finding, wasm) = load_finding(dir)?;
    let mut run = Shrink::new(&finding, cfg, started)?;
    let full = finding.plan(&wasm);
    run.reproduce(&wasm, &full).map_err(|why| {
        anyhow::anyhow!(
            "the finding in {} {why} (engine {}, signature {}): nothing to shrink",
            dir.display(),
            finding.engine,
            finding.signature
        )
    })?;
    let min = run.module(&wasm);
    let (min, plan, confirmed) = run.confirm(min, &wasm).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: shrink cut at the campaign's end before it could confirm its result: run `wasmsieve shrink` on it",
            dir.display()
        )
    })?;
    let (min, plan, confirmed) = confirmed
        .map(|f| (min, plan, f))
        .unwrap_or_else(|| (wasm.clone(), full.clone(), finding.clone()));
    if let Some(earlier) = store::load_outcome(dir)
        .filter(|e| e.bytes_after <= min.len() && dir.join("min.wasm").exists())
    {
        eprintln!(
            "shrink: the earlier min.wasm ({} bytes) is no larger than this shrink's ({} bytes): kept",
            earlier.bytes_after,
            min.len()
        );
        return Ok(earlier);
    }
    let (min_wasm, min_wat) = store::write_minimized(dir, &min)?;
    let outcome = ShrinkOutcome {
        dir: dir.to_path_buf(),
        bytes_before: wasm.len(),
        bytes_after: min.len(),
        instructions_before: reduce::instruction_count(&wasm),
        instructions_after: reduce::instruction_count(&min),
        calls_before: full.calls.len(),
        calls_after: plan.calls.len(),
        seconds: started.elapsed().as_secs_f64(),
        candidates: run.judge.candidates,
        accepted: run.judge.accepted,
        budget_exhausted: *run.budget_hit.borrow(),
        min_wasm,
        min_wat,
        plan,
        finding: confirmed,
    };
    store::write_shrink_outcome(dir, &outcome)?;
    Ok(outcome)
}

/// A stage of a valid module's shrink: the module in, a smaller one out
/// (the same when nothing could go).
type Stage = fn(&mut Shrink, Vec<u8>) -> Vec<u8>;

/// A valid module's stages, in order, after the plan's; `true`: what the
/// stage leaves is a fallback when the end result does not confirm on full
/// deadlines (a hang judged on short ones).
const STAGES: [(Stage, bool); 6] = [
    (Shrink::without_fuel_checks, true),
    (Shrink::items_in_half_the_time, true),
    (Shrink::inside_bodies, true),
    (Shrink::without_uncalled_exports, false),
    (Shrink::unused_items, false),
    (Shrink::tidy, false),
];

/// One shrink's run state (no file I/O): the judge of candidates, the plan
/// so far and what the stages left.
struct Shrink {
    judge: Judge,
    cfg: ShrinkConfig,
    plan: CallPlan,
    hang: bool,
    /// The campaign's hang deadlines, restored for the confirming run.
    floor: Duration,
    recheck: Duration,
    fallbacks: Vec<Vec<u8>>,
    budget_hit: Rc<RefCell<bool>>,
}

impl Shrink {
    fn new(finding: &Finding, cfg: &ShrinkConfig, started: Instant) -> anyhow::Result<Self> {
        let subjects = pipeline::subjects(
            std::slice::from_ref(&finding.engine),
            cfg.isolate,
            &WorkerLimits::default(),
        )?;
        let mut differ = Differ::new(subjects, cfg.policy.clone())?;
        differ.confirm_until = cfg.stop_at;
        // Hang candidates are judged on short deadlines (a hang costs its
        // whole deadline, and most candidates of a hang still hang); the
        // result is confirmed on the full ones at the end.
        let (floor, recheck) = (differ.deadline_floor, differ.hang_recheck);
        let hang = finding.verdict.kind == "hang";
        if hang {
            differ.deadline_floor = QUICK_HANG_FLOOR;
            differ.hang_recheck = QUICK_HANG_RECHECK;
        }
        Ok(Shrink {
            judge: Judge {
                differ,
                target: Target::of(finding),
                deadline: started + cfg.budget,
                cancel: cfg.cancel,
                stop_at: cfg.stop_at,
                cut: false,
                candidates: 0,
                accepted: 0,
            },
            cfg: cfg.clone(),
            plan: CallPlan::default(),
            hang,
            floor,
            recheck,
            fallbacks: vec![],
            budget_hit: Rc::new(RefCell::new(false)),
        })
    }

    /// The finding must reproduce as recorded before anything is cut; the
    /// cut plan may have lost state an earlier (later-indexed) call needed,
    /// so the whole one is tried too. Then the plan is simplified.
    fn reproduce(&mut self, wasm: &[u8], recorded: &CallPlan) -> Result<(), &'static str> {
        let whole = || CallPlan::fixed(wasm, 3).unwrap_or_default();
        let plan = if self.judge.interesting(wasm, recorded) {
            recorded.clone()
        } else if self.judge.interesting(wasm, &whole()) {
            whole()
        } else {
            return Err("does not reproduce");
        };
        self.plan = simplify_plan(&mut self.judge, wasm, plan);
        Ok(())
    }

    /// The module's stages: [`STAGES`] for a valid module, a loader
    /// finding's for one that does not validate.
    fn module(&mut self, wasm: &[u8]) -> Vec<u8> {
        if !reduce::valid(wasm) {
            return self.loader_finding(wasm.to_vec());
        }
        let mut min = wasm.to_vec();
        for (stage, fallback) in STAGES {
            min = stage(self, min);
            if fallback {
                self.fallbacks.push(min.clone());
            }
        }
        min
    }

    /// wasm-smith's injected termination counter, all at once.
    fn without_fuel_checks(&mut self, min: Vec<u8>) -> Vec<u8> {
        match reduce::without_fuel_checks(&min) {
            Some(bare)
                if reduce::valid(&bare)
                    && self.judge.interesting(&bare, &adapt(&self.plan, &bare)) =>
            {
                eprintln!("shrink: the termination counter is not needed: removed");
                bare
            }
            _ => min,
        }
    }

    /// The module's items with wasm-shrink, with at most half the time left.
    fn items_in_half_the_time(&mut self, min: Vec<u8>) -> Vec<u8> {
        let global = self.judge.deadline;
        self.judge.deadline =
            global.min(Instant::now() + global.saturating_duration_since(Instant::now()) / 2);
        let min = self.unused_items(min);
        self.judge.deadline = global;
        *self.budget_hit.borrow_mut() = false;
        min
    }

    /// Items with wasm-shrink (those the other stages left unused).
    fn unused_items(&mut self, min: Vec<u8>) -> Vec<u8> {
        wasm_shrink_stage(
            &mut self.judge,
            min,
            &self.plan,
            &self.cfg,
            &self.budget_hit,
        )
    }

    /// Instruction-level edits inside function bodies.
    fn inside_bodies(&mut self, min: Vec<u8>) -> Vec<u8> {
        let before = reduce::instruction_count(&min);
        let plan = &self.plan;
        let judge = RefCell::new(&mut self.judge);
        let min = reduce::reduce_bodies(
            min,
            true,
            &mut |c: &[u8]| judge.borrow_mut().interesting(c, &adapt(plan, c)),
            &|| judge.borrow().out_of_time(),
        );
        eprintln!(
            "shrink: instructions {before} -> {}",
            reduce::instruction_count(&min)
        );
        min
    }

    /// Exports the plan does not call (and the globals it observes through
    /// them), all at once, then by kind.
    fn without_uncalled_exports(&mut self, min: Vec<u8>) -> Vec<u8> {
        without_uncalled_exports(&mut self.judge, min, &self.plan)
    }

    /// Unused locals and unused or repeated types, for the reader.
    fn tidy(&mut self, min: Vec<u8>) -> Vec<u8> {
        match tidy::tidy(&min) {
            Some(t) if reduce::valid(&t) && self.judge.interesting(&t, &adapt(&self.plan, &t)) => t,
            _ => min,
        }
    }

    /// A loader finding: the instructions inside its bodies, as far as they
    /// read (an accepted invalid module comes down to the few that break the
    /// rule), then its bytes.
    fn loader_finding(&mut self, wasm: Vec<u8>) -> Vec<u8> {
        let plan = &self.plan;
        let judge = RefCell::new(&mut self.judge);
        let bodies = reduce::reduce_bodies(
            wasm,
            false,
            &mut |c: &[u8]| judge.borrow_mut().interesting(c, plan),
            &|| judge.borrow().out_of_time(),
        );
        self.fallbacks.push(bodies.clone());
        let min = reduce::reduce_bytes(
            bodies,
            &mut |c: &[u8]| judge.borrow_mut().interesting(c, plan),
            &|| judge.borrow().out_of_time(),
        );
        *self.budget_hit.borrow_mut() = self.judge.out_of_time();
        min
    }

    /// The plan again, on the small module, exports renamed so a command line
    /// can name them (`iwasm --repl` splits on spaces), then one run on the
    /// campaign's deadlines: the result, the latest stage that confirms (a
    /// hang judged on short deadlines may have kept a module that is only
    /// slow) or, for a flaky finding, the original module with the simplified
    /// plan (`None` finding: not even that reproduced). `None`: cut at the
    /// campaign's end.
    fn confirm(
        &mut self,
        min: Vec<u8>,
        original: &[u8],
    ) -> Option<(Vec<u8>, CallPlan, Option<Finding>)> {
        let plan = adapt(&self.plan, &min);
        let spare = Duration::from_secs(5).min(self.cfg.budget);
        self.judge.deadline = self.judge.deadline.max(Instant::now() + spare);
        let plain_plan = simplify_plan(&mut self.judge, &min, plan);
        let (min, plan) = match names::typeable_exports(&min) {
            Some((renamed, map)) => (renamed, plain_plan.with_renamed_exports(&map)),
            None => (min, plain_plan.clone()),
        };
        self.judge.differ.deadline_floor = self.floor;
        self.judge.differ.hang_recheck = self.recheck;
        let confirmed = match self.judge.observe(&min, &plan) {
            Some(f) => Some((min, plan, f)),
            None if self.hang => std::mem::take(&mut self.fallbacks)
                .into_iter()
                .rev()
                .find_map(|m| {
                    let p = adapt(&plain_plan, &m);
                    self.judge.observe(&m, &p).map(|f| (m, p, f))
                }),
            None => None,
        };
        if self.judge.cut {
            return None;
        }
        Some(match confirmed {
            Some((m, p, f)) => (m, p, Some(f)),
            None => {
                let p = adapt(&plain_plan, original);
                let f = self.judge.observe(original, &p);
                (original.to_vec(), p, f)
            }
        })
    }
}
