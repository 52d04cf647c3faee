//! The finding: the one place a divergence becomes a judged record (policy
//! verdict, tier rule, root-cause signature). Writing it is the store's.

use crate::engines::EngineInfo;
use crate::exec::{End, Execution, Provenance, Trap};
use crate::generate::plan::{CallPlan, Exports, PlannedCall};
use crate::judge::known::KnownMatch;
use crate::judge::oracle::{Comparison, Divergence, Symptom};
use crate::judge::policy::{Observation, Policy, Verdict};
use crate::wasm::{self, features};
use serde::{Deserialize, Serialize};

/// A judged divergence: what a campaign files, triage prints, shrink keeps
/// and a report is drafted from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    /// Stable per signature: `<kind>-<hash>`.
    pub id: String,
    /// Dedup key: engine, symptom, trap kinds or crash frames.
    pub signature: String,
    pub verdict: Verdict,
    /// The runtime mode that misbehaved.
    pub engine: String,
    pub provenance: Provenance,
    /// Features outside tier A that the module needs (P8).
    pub features_outside_tier_a: Vec<String>,
    pub divergence: Divergence,
    /// Every engine's outcome, reference first.
    pub executions: Vec<Execution>,
    /// Campaign seed and iteration that produced the input, when generated.
    pub seed: Option<u64>,
    pub iteration: Option<u64>,
    /// How the crash or hang reproduced on rerun (`None`: not rerun).
    pub confirmed: Option<bool>,
    /// The malformed-module mutation(s) that made the input
    /// (`generate::malformed`), when a campaign generated it that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation: Option<String>,
    /// The known upstream issue this finding is (see `policy/known-issues.toml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<KnownMatch>,
}

impl Finding {
    /// Whether this finding fails a run (every command's exit status, `--fail-on`,
    /// the fuzz targets): a finding by its bucket, and not a known issue.
    pub fn counts(&self) -> bool {
        self.verdict.bucket.is_finding() && self.known.is_none()
    }

    /// The call plan a finding was observed with, cut after the diverging call.
    /// The reference's calls are the plan (the reference always walks all of
    /// it), or the runtime's where the reference rejected the module;
    /// a finding without recorded calls gets the fixed plan `wasmsieve run` uses.
    /// Each engine's compile options are pinned to the ones it used.
    pub fn plan(&self, wasm: &[u8]) -> CallPlan {
        // An invalid module the runtime accepted has calls on its side only.
        let recorded: Vec<PlannedCall> = self
            .executions
            .iter()
            .find(|e| !e.calls.is_empty())
            .map(|e| {
                e.calls
                    .iter()
                    .map(|c| PlannedCall {
                        export: c.export.clone(),
                        args: c.args.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut plan = if recorded.is_empty() {
            CallPlan::fixed(wasm, 3).unwrap_or_default()
        } else {
            let ex = Exports::read(wasm).unwrap_or_default();
            CallPlan {
                calls: recorded,
                globals: ex.globals,
                memories: ex.memories,
                ..CallPlan::default()
            }
        };
        // Shrink candidates and re-runs compile as the finding did.
        plan.compile_options = self
            .executions
            .iter()
            .filter_map(|e| Some((e.engine.clone(), e.compile_options.clone()?)))
            .collect();
        if let Some(i) = self.divergence.call_index {
            if i < plan.calls.len() {
                plan.calls.truncate(i + 1);
            }
        }
        plan
    }

    /// A crash that a fresh worker does not repeat was most likely caused by
    /// an earlier module in the same process (a corrupted heap), so its
    /// frames are the victim's, not the cause's: such crashes are one
    /// finding per engine and signal, with the frames kept in the record.
    pub fn regroup_unconfirmed_crash(&mut self) {
        let signal = self
            .executions
            .iter()
            .filter(|e| e.engine == self.engine)
            .find_map(|e| match &e.end {
                End::Crashed(rec) => rec.signal_name.clone(),
                _ => None,
            })
            .unwrap_or_default();
        self.signature = format!("{}|Crash|unconfirmed|{signal}", self.engine);
        self.id = Finding::signature_id(&self.verdict.kind, &self.signature);
        // Its cause is an earlier case, which is filed in its own right when
        // it repeats: this one is for a reviewer, not a security report.
        if self.verdict.bucket == crate::judge::Bucket::Security {
            self.verdict.bucket = crate::judge::Bucket::NeedsReview;
            self.verdict.reason = format!(
                "{}; but a fresh process does not repeat it: most likely the victim of an earlier case's heap corruption, so its cause is elsewhere",
                self.verdict.reason
            );
        }
    }

    /// Where the Wasm side was when the runtime diverged: "load" (the module
    /// never loaded), "instantiation" (segments, start function) or "call".
    pub fn context(&self) -> &'static str {
        let exec = self.executions.iter().find(|e| e.engine == self.engine);
        match exec {
            _ if self.divergence.symptom == Symptom::ValidationMismatch => "load",
            Some(e) if e.load != Some(Ok(())) => "load",
            Some(e) if e.instantiate.is_none() || self.divergence.call_index.is_none() => {
                "instantiation"
            }
            _ => "call",
        }
    }

    pub fn signature_id(kind: &str, signature: &str) -> String {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(signature.as_bytes());
        format!("{kind}-{}", wasm::to_hex(&h[..5]))
    }
}

/// The facts of a divergence the policy rules on, besides the divergence
/// itself: where the input came from, the symptom family, the mode, whether
/// a re-run confirmed it.
pub struct Facts<'a> {
    pub provenance: Provenance,
    /// The policy's symptom family (see `Symptom::policy_name`).
    pub symptom: &'a str,
    /// The runtime mode's tier-list name.
    pub mode_feature: Option<&'a str>,
    pub confirmed: Option<bool>,
}

impl Facts<'_> {
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
        let mut d = d.clone();
        if d.reference_trap.is_some() && d.reference_site.is_none() {
            let reference = executions.first();
            let at = match d.call_index {
                Some(i) => reference.and_then(|r| r.calls.get(i)?.trap_site),
                None => reference.and_then(|r| r.instantiate_trap_site),
            };
            let trap = d.reference_trap.clone().unwrap_or(Trap::Unreachable);
            d.reference_site =
                at.and_then(|at| wasm::instruction_at(wasm, at, |op| trap.raised_by(op)));
        }
        let signature = signature(&exec.engine, &d, exec);
        let known = policy.known.find(wasm, &d, executions.first(), exec);
        Finding {
            id: Finding::signature_id(&verdict.kind, &signature),
            signature,
            verdict,
            engine: exec.engine.clone(),
            provenance: self.provenance,
            features_outside_tier_a: outside,
            divergence: d,
            executions,
            seed: None,
            iteration: None,
            confirmed: self.confirmed,
            mutation: None,
            known,
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
pub fn no_access_no_breach(cmp: Comparison, info: &EngineInfo, exec: &Execution) -> Comparison {
    match cmp {
        Comparison::Diverge(mut d)
            if d.symptom == Symptom::SandboxEscape
                && d.reference_trap == Some(Trap::MemoryOutOfBounds)
                && info.hardware_bounds
                && exec.end == End::Completed =>
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

/// The dedup key of a divergence: its root cause, never its aftermath, the
/// Wasm-side path that reached it nor the random names of a generated
/// module. A crash in the runtime's own code is named by its site (the
/// faulting frame and its caller); a crash in generated code by the class of
/// the faulting address and the instruction the reference stopped at; a trap
/// the reference raised and the runtime did not by that trap and the
/// instruction that should have raised it (whatever the runtime did next:
/// returned, or trapped later for another reason); a trap only the runtime
/// raised by its kind; a loader verdict or a WASI call by its rule; anything
/// else by its symptom. The first part says how far the cause is shared
/// ([`Scope`]), so one cause seen in several modes is one finding.
pub fn signature(engine: &str, d: &Divergence, exec: &Execution) -> String {
    let info = crate::engines::info(engine);
    let glue = info.map_or(&[][..], |i| i.crash_glue);
    let memory_bounds = d.symptom == Symptom::SandboxEscape
        || d.reference_trap == Some(Trap::MemoryOutOfBounds)
        || d.subject_trap == Some(Trap::MemoryOutOfBounds);
    let bounds_scope = if memory_bounds {
        Scope::Mode
    } else {
        Scope::Code
    };
    let rule = d.rule.as_deref().unwrap_or("");
    let (scope, cause) = match (&exec.end, &d.reference_trap, &d.subject_trap) {
        // A hang has no site: where it waits (a lock an earlier trap left
        // held) is not where the reference stopped in that call, so every
        // hang of one interpreter or compiler is one cause.
        (End::Hung { .. }, _, _) if d.rule.is_none() && d.symptom == Symptom::Hang => {
            (Scope::Code, "Hang".to_string())
        }
        // A WASI program's crash or hang: by the call it is in
        // (`judge::wasi`), one cause whichever way the process ended.
        (End::Crashed(_) | End::Hung { .. }, _, _) if d.rule.is_some() => {
            (Scope::Runtime, format!("Dies|{rule}"))
        }
        (End::Crashed(rec), _, _) => match rec.site(glue) {
            Some(_) => (
                Scope::Code,
                format!("{:?}|{}", d.symptom, rec.signature(glue)),
            ),
            None => {
                let at = match (&d.reference_trap, &d.reference_site) {
                    (Some(rt), Some(site)) => format!("|{rt:?}@{site}"),
                    _ => String::new(),
                };
                (
                    Scope::Mode,
                    format!("{:?}|{}{at}", d.symptom, rec.signature(glue)),
                )
            }
        },
        (_, Some(rt), _) => {
            let what = match d.symptom {
                Symptom::SandboxEscape => "SandboxEscape",
                // Both trapped alike but the state differs: the runtime did
                // not stop where the reference did.
                Symptom::GlobalMismatch | Symptom::MemoryMismatch => "TrapPoint",
                _ => "MissedTrap",
            };
            let site = match (&d.reference_site, d.call_index) {
                (Some(s), _) => s.as_str(),
                (None, None) => "instantiation",
                (None, Some(_)) => "?",
            };
            (bounds_scope, format!("{what}|{rt:?}@{site}"))
        }
        (_, None, Some(st)) => (bounds_scope, format!("ExtraTrap|{st:?}")),
        _ if d.rule.is_some() => (Scope::Runtime, format!("{:?}|{rule}", d.symptom)),
        _ if matches!(d.symptom, Symptom::Unrecoverable) => {
            (Scope::Mode, format!("{:?}", d.symptom))
        }
        _ => (bounds_scope, format!("{:?}", d.symptom)),
    };
    let who = match (scope, info) {
        (Scope::Code, Some(i)) => i.code,
        (Scope::Runtime, Some(i)) => i.runtime,
        _ => engine,
    };
    format!("{who}|{cause}")
}

/// How far a root cause is shared between the modes of one runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// One mode's own: memory bounds (which differ between software and
    /// hardware checks), crashes in generated code, unrecoverable states.
    Mode,
    /// The code that runs the module (`EngineInfo::code`): an interpreter
    /// under either bounds check, the AoT compiler under its options.
    Code,
    /// The library every mode shares (`EngineInfo::runtime`): the loader's
    /// verdicts and the WASI host functions.
    Runtime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hang_after_trap(engine: &str, site: &str) -> String {
        let d = Divergence {
            symptom: Symptom::Hang,
            call_index: Some(1),
            export: None,
            detail: String::new(),
            reference_trap: Some(Trap::MemoryOutOfBounds),
            subject_trap: None,
            reference_site: Some(site.to_string()),
            rule: None,
        };
        let exec = Execution {
            engine: engine.to_string(),
            end: End::Hung {
                deadline_ms: 5000,
                call_index: 1,
            },
            ..Execution::default()
        };
        signature(engine, &d, &exec)
    }

    /// A hang has no site of its own: an out-of-bounds atomic access that
    /// leaves WAMR's shared-memory lock held hangs a later call, wherever the
    /// reference stopped in it. One cause per interpreter or compiler.
    #[test]
    fn hangs_are_one_cause_per_code() {
        let a = hang_after_trap("wamr-fast-hw", "I32AtomicRmw8AndU");
        assert_eq!(a, "wamr-fast|Hang");
        assert_eq!(a, hang_after_trap("wamr-fast", "I64TruncF32S"));
        assert_ne!(a, hang_after_trap("wamr-classic-hw", "I32AtomicLoad"));
        assert_eq!(
            hang_after_trap("wamr-aot-hw", "I32Load8U"),
            "wamr-aot-hw|Hang"
        );
    }
}
