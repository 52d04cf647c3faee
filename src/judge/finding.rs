//! The finding: the one place a divergence becomes a judged record (policy
//! verdict, tier rule, root-cause signature). Writing it is `crate::store`'s.

use crate::engines::EngineInfo;
use crate::exec::{End, Execution, Provenance, Trap};
use crate::generate::plan::{CallPlan, Exports, PlannedCall};
use crate::judge::oracle::{Comparison, Divergence, Symptom};
use crate::judge::policy::{Observation, Policy, Verdict};
use crate::wasm::features;
use serde::{Deserialize, Serialize};

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
}

impl Finding {
    /// The call plan a finding was observed with, cut after the diverging call.
    /// The reference's calls are the plan (the reference always walks all of it);
    /// a finding without recorded calls gets the fixed plan `wasmsieve run` uses.
    pub fn plan(&self, wasm: &[u8]) -> CallPlan {
        let recorded: Vec<PlannedCall> = self
            .executions
            .first()
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
            }
        };
        if let Some(i) = self.divergence.call_index {
            if i < plan.calls.len() {
                plan.calls.truncate(i + 1);
            }
        }
        plan
    }

    pub fn signature_id(kind: &str, signature: &str) -> String {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(signature.as_bytes());
        format!(
            "{kind}-{}",
            h[..5]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
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

/// The dedup key of a divergence: who, what, and the trap kinds or crash frames,
/// never the random names of a generated module.
pub fn signature(engine: &str, d: &Divergence, exec: &Execution) -> String {
    let detail = match &exec.end {
        End::Crashed(rec) => rec.signature(),
        _ => format!("{:?}/{:?}", d.reference_trap, d.subject_trap),
    };
    format!("{engine}|{:?}|{detail}", d.symptom)
}
