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
//! edits inside function bodies ([`reduce`]); wasm-shrink once more for the
//! items those edits left unused; the plan again. A module that does not
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

pub fn shrink_finding_with(dir: &Path, cfg: &ShrinkConfig) -> anyhow::Result<ShrinkOutcome> {
    let started = Instant::now();
    let _lock = store::OutLock::finding(dir)?;
    let (finding, wasm) = load_finding(dir)?;
    let target = Target::of(&finding);
    let subjects = pipeline::subjects(
        std::slice::from_ref(&finding.engine),
        cfg.isolate,
        &WorkerLimits::default(),
    )?;
    let mut differ = Differ::new(subjects, cfg.policy.clone())?;
    differ.confirm_until = cfg.stop_at;
    // Hang candidates are judged on short deadlines (a hang costs its whole
    // deadline, and most candidates of a hang still hang); the result is
    // confirmed on the full ones at the end.
    let (floor, recheck) = (differ.deadline_floor, differ.hang_recheck);
    let hang = finding.verdict.kind == "hang";
    if hang {
        differ.deadline_floor = QUICK_HANG_FLOOR;
        differ.hang_recheck = QUICK_HANG_RECHECK;
    }
    let mut judge = Judge {
        differ,
        target,
        deadline: started + cfg.budget,
        cancel: cfg.cancel,
        stop_at: cfg.stop_at,
        cut: false,
        candidates: 0,
        accepted: 0,
    };

    // The finding must reproduce as recorded before anything is cut.
    let full = finding.plan(&wasm);
    let calls_before = full.calls.len();
    let mut plan = full.clone();
    if !judge.interesting(&wasm, &plan) {
        // The cut plan may have lost state an earlier (later-indexed) call needed: try the whole one.
        let whole = CallPlan::fixed(&wasm, 3).unwrap_or_default();
        anyhow::ensure!(
            judge.interesting(&wasm, &whole),
            "the finding in {} does not reproduce (engine {}, signature {}): nothing to shrink",
            dir.display(),
            finding.engine,
            finding.signature
        );
        plan = whole;
    }

    // 1. The plan, on the original module.
    plan = simplify_plan(&mut judge, &wasm, plan);
    // What each stage left, to fall back on when the end result does not
    // confirm on full deadlines.
    let mut stages: Vec<Vec<u8>> = vec![];

    let budget_hit = Rc::new(RefCell::new(false));
    let min = if reduce::valid(&wasm) {
        // 2. The termination counter, all at once.
        let mut min = wasm.clone();
        if let Some(bare) = reduce::without_fuel_checks(&min) {
            let p = adapt(&plan, &bare);
            if reduce::valid(&bare) && judge.interesting(&bare, &p) {
                eprintln!("shrink: the termination counter is not needed: removed");
                min = bare;
            }
        }
        stages.push(min.clone());
        // 3. Items, with at most half the time left.
        let global = judge.deadline;
        judge.deadline =
            global.min(Instant::now() + global.saturating_duration_since(Instant::now()) / 2);
        min = wasm_shrink_stage(&mut judge, min, &plan, cfg, &budget_hit);
        judge.deadline = global;
        *budget_hit.borrow_mut() = false;
        stages.push(min.clone());
        // 4. Inside function bodies.
        let before = reduce::instruction_count(&min);
        let base_plan = plan.clone();
        let judge_cell = RefCell::new(&mut judge);
        min = reduce::reduce_bodies(
            min,
            true,
            &mut |c: &[u8]| {
                let mut j = judge_cell.borrow_mut();
                let p = adapt(&base_plan, c);
                j.interesting(c, &p)
            },
            &|| judge_cell.borrow().out_of_time(),
        );
        eprintln!(
            "shrink: instructions {before} -> {}",
            reduce::instruction_count(&min)
        );
        stages.push(min.clone());
        // 5. Exports the plan does not call (and the globals it observes
        // through them), all at once, then by kind.
        min = without_uncalled_exports(&mut judge, min, &plan);
        // 6. Items left unused by the edits.
        min = wasm_shrink_stage(&mut judge, min, &plan, cfg, &budget_hit);
        // 7. Unused locals and unused or repeated types, for the reader.
        match tidy::tidy(&min) {
            Some(t) if reduce::valid(&t) && judge.interesting(&t, &adapt(&plan, &t)) => t,
            _ => min,
        }
    } else {
        // A loader finding: the instructions inside its bodies, as far as
        // they read (an accepted invalid module comes down to the few that
        // break the rule), then its bytes.
        let base_plan = plan.clone();
        let judge_cell = RefCell::new(&mut judge);
        let bodies = reduce::reduce_bodies(
            wasm.clone(),
            false,
            &mut |c: &[u8]| judge_cell.borrow_mut().interesting(c, &base_plan),
            &|| judge_cell.borrow().out_of_time(),
        );
        stages.push(bodies.clone());
        let min = reduce::reduce_bytes(
            bodies,
            &mut |c: &[u8]| judge_cell.borrow_mut().interesting(c, &base_plan),
            &|| judge_cell.borrow().out_of_time(),
        );
        *budget_hit.borrow_mut() = judge.out_of_time();
        min
    };

    // 3. The plan again, on the small module; then one last confirming run.
    plan = adapt(&plan, &min);
    let spare = Duration::from_secs(5).min(cfg.budget);
    judge.deadline = judge.deadline.max(Instant::now() + spare);
    plan = simplify_plan(&mut judge, &min, plan);
    // Exports a command line can name: `iwasm --repl` splits on spaces.
    let plain_plan = plan.clone();
    let (min, plan) = match names::typeable_exports(&min) {
        Some((renamed, map)) => (renamed, plan.with_renamed_exports(&map)),
        None => (min, plan),
    };
    judge.differ.deadline_floor = floor;
    judge.differ.hang_recheck = recheck;
    let confirmed = match judge.observe(&min, &plan) {
        Some(f) => Some((min, plan, f)),
        // Judged on short deadlines, the last stages may have kept a module
        // that is only slow: the latest stage that confirms.
        None if hang => stages.into_iter().rev().find_map(|m| {
            let p = adapt(&plain_plan, &m);
            judge.observe(&m, &p).map(|f| (m, p, f))
        }),
        None => None,
    };
    anyhow::ensure!(
        !judge.cut,
        "{}: shrink cut at the campaign's end before it could confirm its result: run `wasmsieve shrink` on it",
        dir.display()
    );
    let (min, plan, confirmed) = match confirmed {
        Some(c) => c,
        None => {
            // Flaky (a crash that did not repeat, a hang near the deadline):
            // fall back to the original module with the simplified plan.
            let p = adapt(&plain_plan, &wasm);
            match judge.observe(&wasm, &p) {
                Some(f) => (wasm.clone(), p, f),
                None => (wasm.clone(), full.clone(), finding.clone()),
            }
        }
    };

    // Results only improve: a smaller reproducer an earlier shrink left stays.
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
        calls_before,
        calls_after: plan.calls.len(),
        seconds: started.elapsed().as_secs_f64(),
        candidates: judge.candidates,
        accepted: judge.accepted,
        budget_exhausted: *budget_hit.borrow(),
        min_wasm,
        min_wat,
        plan,
        finding: confirmed,
    };
    store::write_shrink_outcome(dir, &outcome)?;
    Ok(outcome)
}
