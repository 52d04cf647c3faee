//! `summary.json`: the campaign's counters and unique findings, with a stable
//! schema (documented in README.md) that CI jobs and dashboards read. It is also
//! the resume state: a campaign started again on the same folder continues.

use crate::judge::oracle::Comparison;
use crate::judge::{Bucket, Finding, KnownMatch};
use crate::pipeline::{CaseReport, Referenced};
use crate::store::FindingStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const SCHEMA_VERSION: u32 = 1;

/// Hits of one known issue in a campaign.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KnownHits {
    pub id: String,
    pub link: String,
    pub title: String,
    /// The policy's verdict on the first hit (known issues keep their bucket).
    pub bucket: Bucket,
    pub kind: String,
    pub engines: Vec<String>,
    pub hits: u64,
    pub first_seen_seconds: f64,
    /// The first input that hit it, relative to the campaign folder.
    pub example: String,
}

/// One root cause seen by a campaign: its first finding is kept whole on
/// disk, later hits are counted here.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UniqueFinding {
    pub id: String,
    pub signature: String,
    pub bucket: Bucket,
    pub kind: String,
    pub engine: String,
    pub clauses: Vec<String>,
    /// The policy row that decided the verdict.
    #[serde(default)]
    pub rule: String,
    /// How many inputs hit this signature (the first is kept whole).
    pub hits: u64,
    /// Campaign time when first seen, in seconds.
    pub first_seen_seconds: f64,
    /// Folder of the kept input, relative to the campaign folder.
    pub path: String,
    /// Every mode and context (load, instantiation, call) the cause was
    /// seen in, in the order first seen.
    #[serde(default)]
    pub seen: Vec<Seen>,
}

impl UniqueFinding {
    /// The modes it was seen in, each with its contexts and hits
    /// ("wamr-fast (call 3, instantiation 1)"), in the order first seen.
    pub fn modes(&self) -> Vec<String> {
        let mut engines: Vec<&str> = vec![];
        for s in &self.seen {
            if !engines.contains(&s.engine.as_str()) {
                engines.push(&s.engine);
            }
        }
        if engines.is_empty() {
            return vec![self.engine.clone()];
        }
        engines
            .iter()
            .map(|e| {
                let contexts: Vec<String> = self
                    .seen
                    .iter()
                    .filter(|s| s.engine == *e)
                    .map(|s| format!("{} {}", s.context, s.hits))
                    .collect();
                format!("{e} ({})", contexts.join(", "))
            })
            .collect()
    }
}

/// One mode and context a root cause was seen in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Seen {
    pub engine: String,
    /// Where the Wasm side was: "load", "instantiation" or "call".
    pub context: String,
    pub hits: u64,
    /// The first input seen there, relative to the campaign folder.
    pub first_input: String,
}

/// What [`Summary::record_finding`] asks of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filed {
    /// A new root cause, or one promoted to a more severe bucket: write the
    /// finding folder.
    Folder,
    /// A known cause in a new mode or context: keep this input beside its
    /// folder under this name (relative to the campaign folder).
    Beside(String),
    /// A known cause in a known mode and context: counted.
    Counted,
}

/// Malformed cases of one mutation (`generate::malformed`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MalformedCounts {
    /// The mutation's family (encoding, index, typing, limits).
    pub family: String,
    pub cases: u64,
    /// Cases that `wasmparser` found invalid (the rest are valid modules).
    pub invalid: u64,
    /// Runs in which a runtime under test accepted an invalid case.
    pub accepted_invalid: u64,
    /// Findings filed on these cases (every hit, not only unique ones).
    pub findings: u64,
}

/// One sample of the campaign's counters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tick {
    pub seconds: f64,
    pub modules: u64,
    /// Executions per engine so far.
    pub executions: BTreeMap<String, u64>,
    /// Unique findings per bucket so far.
    pub unique: BTreeMap<Bucket, u64>,
    /// Seconds spent per stage so far (see [`Summary::time_by_stage`]).
    #[serde(default)]
    pub time_by_stage: BTreeMap<String, f64>,
}

/// `summary.json`: everything a campaign folder holds, for machines (CI, the
/// HTML report, SARIF) and for resuming.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub schema: u32,
    pub engines: Vec<String>,
    pub seed: u64,
    /// Iterations done: the campaign resumes from here.
    pub iterations: u64,
    /// Modules generated and run.
    pub modules_generated: u64,
    pub generation_failures: u64,
    /// Modules the reference accepted and the oracle judged in at least one
    /// runtime (not dropped as implementation-defined).
    pub modules_compared: u64,
    /// Comparisons dropped as implementation-defined (stack depth, limits).
    pub comparisons_poisoned: u64,
    /// Why comparisons were dropped (trap kind, or other reason).
    #[serde(default)]
    pub poisoned_by: BTreeMap<String, u64>,
    /// Modules the reference rejected (should stay near zero).
    pub modules_invalid: u64,
    /// Module executions per engine, reference included.
    pub executions: BTreeMap<String, u64>,
    /// Cases the reference (wasmtime) ran because a runtime disagreed with
    /// the screen (wasmi), and agreeing cases it checked as the sampled share.
    #[serde(default)]
    pub reference_on_disagreement: u64,
    #[serde(default)]
    pub reference_sampled: u64,
    /// Cases the screen could not run (a feature it lacks): wasmtime only.
    #[serde(default)]
    pub reference_unscreened: u64,
    /// Per runtime under test: modules it ran that use each optional feature
    /// (its share: divide by its `executions`).
    #[serde(default)]
    pub features_by_engine: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per runtime under test: modules it was not given (they need a feature
    /// it is not built with).
    #[serde(default)]
    pub skipped_by_engine: BTreeMap<String, u64>,
    /// Seconds spent per stage, summed over jobs: generation, screen,
    /// reference, each runtime (its worker wire included), judging,
    /// recording, shrinking.
    #[serde(default)]
    pub time_by_stage: BTreeMap<String, f64>,
    pub executions_per_second: BTreeMap<String, f64>,
    /// Wall time over all runs of this campaign folder.
    pub elapsed_seconds: f64,
    /// Hits per bucket and kind (all inputs, not only unique ones).
    pub findings: BTreeMap<Bucket, BTreeMap<String, u64>>,
    pub unique: Vec<UniqueFinding>,
    /// Findings that are known upstream issues (`policy/known-issues.toml`):
    /// counted here, not filed again.
    #[serde(default)]
    pub known: Vec<KnownHits>,
    /// Where test cases came from: fresh wasm-smith modules vs the corpus (the
    /// seeds as they are once at the start of a fresh campaign, then mutations).
    #[serde(default)]
    pub modules_fresh: u64,
    #[serde(default)]
    pub modules_mutated: u64,
    /// The sweep's cases run (`--sweep-percent`, `--generator sweep`).
    #[serde(default)]
    pub modules_sweep: u64,
    /// WASI programs run per runtime under test (judged by the capability
    /// oracle; not in `modules_compared`).
    #[serde(default)]
    pub wasi_cases_by_engine: BTreeMap<String, u64>,
    /// Malformed cases per mutation (two edits count under both).
    #[serde(default)]
    pub malformed: BTreeMap<String, MalformedCounts>,
    /// Modules kept for showing new outcomes (`DIR/corpus`).
    #[serde(default)]
    pub corpus_size: u64,
    /// Manipulated-AoT mode (`--aot-mutate`): mutants run, loads the AoT
    /// loader rejected cleanly, mutants that crashed or hung the runtime.
    #[serde(default)]
    pub aot_mutants: u64,
    #[serde(default)]
    pub aot_mutants_rejected: u64,
    #[serde(default)]
    pub aot_mutants_crashed: u64,
    #[serde(default)]
    pub aot_mutants_hung: u64,
    /// Samples over time (one per progress tick) for plots.
    #[serde(default)]
    pub timeline: Vec<Tick>,
    /// Seconds of earlier runs, for resumed campaigns.
    #[serde(default)]
    pub previous_seconds: f64,
    /// Times the campaign process died (harness faults, kept in
    /// `harness-faults/`, never WAMR findings) and was resumed.
    #[serde(default)]
    pub harness_faults: u64,
}

impl Summary {
    pub fn new(engines: &[String], seed: u64) -> Summary {
        Summary {
            schema: SCHEMA_VERSION,
            engines: engines.to_vec(),
            seed,
            iterations: 0,
            modules_generated: 0,
            generation_failures: 0,
            modules_compared: 0,
            comparisons_poisoned: 0,
            poisoned_by: BTreeMap::new(),
            modules_invalid: 0,
            executions: BTreeMap::new(),
            reference_on_disagreement: 0,
            reference_sampled: 0,
            reference_unscreened: 0,
            features_by_engine: BTreeMap::new(),
            skipped_by_engine: BTreeMap::new(),
            time_by_stage: BTreeMap::new(),
            executions_per_second: BTreeMap::new(),
            elapsed_seconds: 0.0,
            findings: BTreeMap::new(),
            unique: vec![],
            known: vec![],
            modules_fresh: 0,
            modules_mutated: 0,
            modules_sweep: 0,
            corpus_size: 0,
            malformed: BTreeMap::new(),
            wasi_cases_by_engine: BTreeMap::new(),
            aot_mutants: 0,
            aot_mutants_rejected: 0,
            aot_mutants_crashed: 0,
            aot_mutants_hung: 0,
            timeline: vec![],
            previous_seconds: 0.0,
            harness_faults: 0,
        }
    }

    /// Continues the campaign in `out` (same engines and seed), or starts one
    /// in a folder that holds none. Refuses, saying how to go on, a folder
    /// holding another campaign or a damaged summary: earlier results are
    /// never replaced silently.
    /// The summary in `out` as it is.
    pub fn read(out: &Path) -> anyhow::Result<Summary> {
        let path = out.join("summary.json");
        let bytes = std::fs::read(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is damaged: {e}", path.display()))
    }

    pub fn resume_or_new(out: &Path, engines: &[String], seed: u64) -> anyhow::Result<Summary> {
        let path = out.join("summary.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Summary::new(engines, seed))
            }
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        let mut s: Summary = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "{} is damaged ({e}); the findings beside it are intact. Move it away to \
                 start a new campaign in this folder (its findings are indexed again), \
                 or use another --out",
                path.display()
            )
        })?;
        anyhow::ensure!(
            s.schema == SCHEMA_VERSION,
            "{} has schema {} (this wasmsieve writes {SCHEMA_VERSION}): use another --out",
            path.display(),
            s.schema
        );
        if s.engines != engines || s.seed != seed {
            anyhow::bail!(
                "{} holds a campaign with engines {} and seed {}; resume it with the same \
                 --engine and --seed, or use another --out for a new campaign",
                out.display(),
                s.engines.join(", "),
                s.seed
            );
        }
        s.previous_seconds = s.elapsed_seconds;
        Ok(s)
    }

    /// Checks every listed finding's folder: one whose `finding.json` is
    /// gone or unreadable is set aside (`ID.damaged-TIME`, never deleted)
    /// and dropped from the index, so the next hit of its cause files it
    /// anew. Returns what was done, one line per folder.
    pub fn drop_damaged(&mut self, store: &FindingStore) -> Vec<String> {
        let base = store.root.parent().unwrap_or(&store.root).to_path_buf();
        let mut said = vec![];
        self.unique.retain(|u| {
            let dir = base.join(&u.path);
            if crate::store::read_record(&dir).is_ok() {
                return true;
            }
            said.push(match store.set_aside(&dir) {
                Ok(Some(aside)) => format!(
                    "{} was listed but has no readable finding.json: moved to {} and dropped from the index (its cause is filed again when met)",
                    u.path,
                    aside.display()
                ),
                Ok(None) => format!(
                    "{} was listed but is gone: dropped from the index (its cause is filed again when met)",
                    u.path
                ),
                Err(e) => format!("{}: damaged, and cannot be set aside: {e:#}", u.path),
            });
            false
        });
        said
    }

    /// Lists findings on disk that the summary does not know (written just
    /// before a kill, or after a damaged summary was moved away): nothing on
    /// disk is ever missing from the index. Returns how many were added.
    pub fn reconcile(&mut self, store: &FindingStore) -> usize {
        let mut added = 0;
        for (dir, f) in store.all() {
            if self.unique.iter().any(|u| u.signature == f.signature) {
                continue;
            }
            if f.known.is_none() && self.record_finding(&f, 0.0) == Filed::Folder {
                if let Some(u) = self.unique.last_mut() {
                    u.first_seen_seconds = self.elapsed_seconds;
                    u.path = store.relative(&dir);
                    for s in &mut u.seen {
                        s.first_input = format!("{}/input.wasm", u.path);
                    }
                }
                added += 1;
            }
        }
        added
    }

    /// Brings the time and rates up to date and writes `summary.json`: a
    /// checkpoint a killed campaign resumes from.
    pub fn checkpoint(&mut self, out: &Path, this_run: Duration) -> anyhow::Result<()> {
        self.finish(this_run);
        self.write(out).map_err(|e| {
            anyhow::anyhow!("cannot write {}: {e}", out.join("summary.json").display())
        })
    }

    pub fn record_case(&mut self, r: &CaseReport) {
        self.iterations += 1;
        self.modules_generated += 1;
        if r.wasi {
            for (exec, _) in &r.comparisons {
                *self
                    .wasi_cases_by_engine
                    .entry(exec.engine.clone())
                    .or_default() += 1;
            }
        } else {
            *self.executions.entry(r.screen.clone()).or_default() += 1;
        }
        if matches!(r.reference.load, Some(Err(_))) {
            self.modules_invalid += 1;
        }
        match r.referenced {
            Some(Referenced::Disagreement) => self.reference_on_disagreement += 1,
            Some(Referenced::Sampled) => self.reference_sampled += 1,
            Some(Referenced::Unscreened) => self.reference_unscreened += 1,
            None => {}
        }
        if r.referenced.is_some() && r.referenced != Some(Referenced::Unscreened) {
            *self
                .executions
                .entry(r.reference.engine.clone())
                .or_default() += 1;
        }
        for (stage, secs) in &r.times {
            *self.time_by_stage.entry(stage.clone()).or_default() += secs;
        }
        for name in &r.skipped {
            *self.skipped_by_engine.entry(name.to_string()).or_default() += 1;
        }
        for (exec, cmp) in &r.comparisons {
            *self.executions.entry(exec.engine.clone()).or_default() += 1;
            let used = self
                .features_by_engine
                .entry(exec.engine.clone())
                .or_default();
            for f in r.features.optional_names() {
                *used.entry(f.to_string()).or_default() += 1;
            }
            if let Comparison::Poisoned(why) = cmp {
                self.comparisons_poisoned += 1;
                let key = why.split(':').next().unwrap_or(why).to_string();
                *self.poisoned_by.entry(key).or_default() += 1;
            }
        }
        // Judged: the reference accepted it and at least one runtime's run
        // was compared (not dropped as implementation-defined).
        if matches!(r.reference.load, Some(Ok(())))
            && r.comparisons
                .iter()
                .any(|(_, c)| !matches!(c, Comparison::Poisoned(_)))
        {
            self.modules_compared += 1;
        }
    }

    /// Counts a malformed case under each of its mutations.
    pub fn record_malformed(&mut self, m: &crate::generate::malformed::Malformed, r: &CaseReport) {
        let accepted = r
            .comparisons
            .iter()
            .filter(|(e, _)| !m.valid && matches!(e.load, Some(Ok(()))))
            .count() as u64;
        for name in &m.mutations {
            let c = self.malformed.entry(name.to_string()).or_default();
            if let Some(mutation) = crate::generate::malformed::mutation(name) {
                c.family = mutation.family.name().to_string();
            }
            c.cases += 1;
            c.invalid += !m.valid as u64;
            c.accepted_invalid += accepted;
            c.findings += r.findings.len() as u64;
        }
    }

    /// Counts a finding of a known issue; `true` on the first hit.
    pub fn record_known(&mut self, f: &Finding, known: &KnownMatch, now_seconds: f64) -> bool {
        if let Some(k) = self.known.iter_mut().find(|k| k.id == known.id) {
            k.hits += 1;
            if !k.engines.contains(&f.engine) {
                k.engines.push(f.engine.clone());
            }
            return false;
        }
        self.known.push(KnownHits {
            id: known.id.clone(),
            link: known.link.clone(),
            title: known.title.clone(),
            bucket: f.verdict.bucket,
            kind: f.verdict.kind.clone(),
            engines: vec![f.engine.clone()],
            hits: 1,
            first_seen_seconds: self.previous_seconds + now_seconds,
            example: format!("known/{}.wasm", known.id),
        });
        true
    }

    /// Counts a finding; `true` when it is to be kept whole: its signature is
    /// new, or this hit lands in a more severe bucket than the ones before.
    /// The same cause first met in a module that needs a tier-B feature is a
    /// bug (P8); met again in a tier-A module it is security, and that module
    /// becomes the finding's reproducer (the earlier folder stays).
    pub fn record_finding(&mut self, f: &Finding, now_seconds: f64) -> Filed {
        *self
            .findings
            .entry(f.verdict.bucket)
            .or_default()
            .entry(f.verdict.kind.clone())
            .or_default() += 1;
        let path = format!("findings/{}/{}", f.verdict.bucket, f.id);
        let (engine, context) = (f.engine.clone(), f.context().to_string());
        let Some(u) = self.unique.iter_mut().find(|u| u.signature == f.signature) else {
            self.unique.push(UniqueFinding {
                id: f.id.clone(),
                signature: f.signature.clone(),
                bucket: f.verdict.bucket,
                kind: f.verdict.kind.clone(),
                engine: f.engine.clone(),
                clauses: f.verdict.clauses.clone(),
                rule: f.verdict.rule.clone(),
                hits: 1,
                first_seen_seconds: self.previous_seconds + now_seconds,
                seen: vec![Seen {
                    engine,
                    context,
                    hits: 1,
                    first_input: format!("{path}/input.wasm"),
                }],
                path,
            });
            return Filed::Folder;
        };
        u.hits += 1;
        // Bucket's order is its severity, security first: a promotion moves
        // the finding to the new folder.
        if f.verdict.bucket < u.bucket {
            u.id = f.id.clone();
            u.bucket = f.verdict.bucket;
            u.kind = f.verdict.kind.clone();
            u.engine = f.engine.clone();
            u.clauses = f.verdict.clauses.clone();
            u.rule = f.verdict.rule.clone();
            u.path = path;
            let first_input = format!("{}/input.wasm", u.path);
            match u
                .seen
                .iter_mut()
                .find(|s| s.engine == engine && s.context == context)
            {
                Some(s) => s.hits += 1,
                None => u.seen.push(Seen {
                    engine,
                    context,
                    hits: 1,
                    first_input,
                }),
            }
            return Filed::Folder;
        }
        if let Some(s) = u
            .seen
            .iter_mut()
            .find(|s| s.engine == engine && s.context == context)
        {
            s.hits += 1;
            return Filed::Counted;
        }
        let first_input = format!("{}/seen/{engine}.{context}.wasm", u.path);
        u.seen.push(Seen {
            engine,
            context,
            hits: 1,
            first_input: first_input.clone(),
        });
        Filed::Beside(first_input)
    }

    /// Unique findings in one bucket.
    pub fn unique_in(&self, bucket: Bucket) -> usize {
        self.unique.iter().filter(|u| u.bucket == bucket).count()
    }

    /// Appends a timeline sample.
    pub fn tick(&mut self, this_run: Duration) {
        let mut unique = BTreeMap::new();
        for u in &self.unique {
            *unique.entry(u.bucket).or_default() += 1;
        }
        self.timeline.push(Tick {
            seconds: self.previous_seconds + this_run.as_secs_f64(),
            modules: self.modules_generated,
            executions: self.executions.clone(),
            time_by_stage: self.time_by_stage.clone(),
            unique,
        });
    }

    pub fn finish(&mut self, this_run: Duration) {
        self.elapsed_seconds = self.previous_seconds + this_run.as_secs_f64();
        let secs = self.elapsed_seconds.max(1e-9);
        self.executions_per_second = self
            .executions
            .iter()
            .map(|(k, v)| (k.clone(), *v as f64 / secs))
            .collect();
    }

    pub fn progress_line(&self, this_run: Duration, limit: Option<Duration>) -> String {
        let mut s = self.clone();
        s.finish(this_run);
        let rates: Vec<String> = s
            .executions_per_second
            .iter()
            .map(|(k, v)| format!("{k} {v:.1}/s"))
            .collect();
        let remaining = limit
            .map(|l| format!(" ({}s left)", l.saturating_sub(this_run).as_secs()))
            .unwrap_or_default();
        format!(
            "[{:>5.0}s{remaining}] modules {} | {} | unique findings: security {} bug {} needs-review {} | known issues {}",
            s.elapsed_seconds,
            s.modules_generated,
            rates.join(", "),
            s.unique_in(Bucket::Security),
            s.unique_in(Bucket::Bug),
            s.unique_in(Bucket::NeedsReview),
            s.known.iter().map(|k| k.hits).sum::<u64>(),
        )
    }

    /// Writes `summary.json` atomically.
    pub fn write(&self, out: &Path) -> std::io::Result<()> {
        crate::store::write_atomic(
            &out.join("summary.json"),
            serde_json::to_string_pretty(self)
                .expect("summary serializes")
                .as_bytes(),
        )
    }
}
