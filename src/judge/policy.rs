//! Policy: turns an observation into a verdict by WAMR's security policy.
//!
//! The rules live in `policy/wamr.toml` (compiled in as the default, or loaded
//! from a file a maintainer edits); this module only matches rows and applies
//! the tier rule (P8) from the features a module really uses.

use crate::exec::Provenance;
use crate::judge::known::KnownIssues;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The policy table shipped with wasmsieve.
pub const DEFAULT_POLICY: &str = include_str!("../../policy/wamr.toml");

/// Where a verdict sends a finding, by the policy's buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bucket {
    /// A private security advisory (P12).
    Security,
    /// A public bug report.
    Bug,
    /// The policy is silent: a maintainer decides.
    NeedsReview,
    /// A guest loop, a misuse: nothing to report.
    NotAnIssue,
}

impl Bucket {
    pub const ALL: [Bucket; 4] = [
        Bucket::Security,
        Bucket::Bug,
        Bucket::NeedsReview,
        Bucket::NotAnIssue,
    ];

    /// The name used in folders, JSON and the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Security => "security",
            Bucket::Bug => "bug",
            Bucket::NeedsReview => "needs-review",
            Bucket::NotAnIssue => "not-an-issue",
        }
    }

    /// Whether a verdict in this bucket is a finding: the one rule every
    /// command's exit status follows (1 when any verdict is a finding).
    pub fn is_finding(self) -> bool {
        self != Bucket::NotAnIssue
    }
}

impl std::fmt::Display for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the policy table: provenance and symptom in, verdict out.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub provenance: String,
    pub symptom: String,
    pub bucket: Bucket,
    pub kind: Option<String>,
    pub clauses: Vec<String>,
    #[serde(default)]
    pub tier_a_only: bool,
    pub reason: String,
}

/// The tier lists (P8): features and modes in tier A can be security issues.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    pub tier_a: Vec<String>,
    pub tier_b: Vec<String>,
}

/// The policy as data (`policy/wamr.toml`): a maintainer edits rows, not code.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub version: u32,
    pub clauses: BTreeMap<String, String>,
    pub tiers: Tiers,
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    /// Known upstream issues (a file of their own, see [`KnownIssues`]);
    /// the shipped list unless replaced.
    #[serde(skip)]
    pub known: KnownIssues,
    /// Implementation-defined WASI differences (a file of their own, see
    /// [`Differences`](crate::judge::wasi::Differences)).
    #[serde(skip)]
    pub wasi_differences: crate::judge::wasi::Differences,
}

/// The symptom families rows can name (see `Symptom::policy_name`).
pub const SYMPTOMS: &[&str] = &[
    "crash",
    "hang",
    "guest-loop",
    "sandbox-escape",
    "wrong-result",
    "validation",
    "unrecoverable",
    "reference-suspect",
    "wasi-escape",
    "wasi-errno",
];

/// The verdict kinds rows can name.
pub const KINDS: &[&str] = &[
    "crash",
    "hang",
    "sandbox-escape",
    "miscompile",
    "wrong-result",
    "validation",
];

/// Names the tier lists may use besides wasmparser's features: plain Wasm
/// and WAMR's execution modes and build choices.
const MODE_NAMES: &[&str] = &[
    "mvp",
    "classic-interpreter",
    "fast-interpreter",
    "aot",
    "hw-bound-check",
    "sw-bound-check",
    "llvm-jit",
    "fast-jit",
    "multi-module",
];

/// Every name a tier list may use: wasmparser's features, kebab-case
/// ("TAIL_CALL" is `tail-call`), the modes of the engines, [`MODE_NAMES`].
pub fn tier_names() -> Vec<String> {
    let mut names: Vec<String> = wasmparser::WasmFeatures::all()
        .iter_names()
        .map(|(n, _)| crate::wasm::features::name_of(n))
        .collect();
    names.extend(crate::engines::all().filter_map(|e| e.mode_feature.map(String::from)));
    names.extend(MODE_NAMES.iter().map(|n| n.to_string()));
    names.sort();
    names.dedup();
    names
}

/// What the policy is asked about.
#[derive(Clone, Debug)]
pub struct Observation<'a> {
    pub provenance: Provenance,
    /// A symptom family: `crash`, `hang`, `guest-loop`, `sandbox-escape`,
    /// `wrong-result`, `validation`, `reference-suspect`.
    pub symptom: &'a str,
    /// Features the module uses plus the engine mode (see `features`).
    pub features: Vec<String>,
}

/// The policy's answer: the bucket a finding goes to, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub bucket: Bucket,
    pub kind: String,
    pub clauses: Vec<String>,
    pub reason: String,
    /// The policy row that decided it.
    pub rule: String,
}

impl Policy {
    pub fn parse(text: &str) -> anyhow::Result<Policy> {
        let mut p: Policy = toml::from_str(text)?;
        p.check()?;
        p.known = KnownIssues::builtin();
        p.wasi_differences = crate::judge::wasi::Differences::builtin();
        Ok(p)
    }

    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read policy file {}: {e}", path.display()))?;
        Policy::parse(&text).map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))
    }

    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the shipped policy parses")
    }

    /// Rejects tables that would give verdicts citing unknown clauses or buckets.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.version == 1,
            "unsupported policy version {} (this wasmsieve reads version 1)",
            self.version
        );
        let mut ids = std::collections::HashSet::new();
        for r in &self.rules {
            anyhow::ensure!(ids.insert(&r.id), "duplicate rule id {:?}", r.id);
            anyhow::ensure!(
                r.provenance == "any" || Provenance::ALL.iter().any(|p| p.name() == r.provenance),
                "rule {}: unknown provenance {:?} (one of any, {})",
                r.id,
                r.provenance,
                Provenance::ALL.map(|p| p.name()).join(", ")
            );
            anyhow::ensure!(
                r.symptom == "any" || SYMPTOMS.contains(&r.symptom.as_str()),
                "rule {}: unknown symptom {:?} (one of any, {})",
                r.id,
                r.symptom,
                SYMPTOMS.join(", ")
            );
            for c in &r.clauses {
                anyhow::ensure!(
                    self.clauses.contains_key(c),
                    "rule {}: unknown clause {c} (defined: {})",
                    r.id,
                    self.clauses.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            if let Some(kind) = &r.kind {
                anyhow::ensure!(
                    KINDS.contains(&kind.as_str()),
                    "rule {}: unknown kind {kind:?} (one of {})",
                    r.id,
                    KINDS.join(", ")
                );
            }
        }
        // A misspelt feature would silently move it out of its tier (and
        // security findings into the bug bucket).
        let known = tier_names();
        for (list, names) in [
            ("tier_a", &self.tiers.tier_a),
            ("tier_b", &self.tiers.tier_b),
        ] {
            for n in names {
                anyhow::ensure!(
                    known.contains(n),
                    "[tiers] {list}: unknown feature or mode {n:?} (one of {})",
                    known.join(", ")
                );
            }
        }
        anyhow::ensure!(
            self.clauses.contains_key("P8"),
            "the policy must define P8 (tiers)"
        );
        Ok(())
    }

    /// The tier of a feature or mode name: 'A', 'B', or 'C' (anything lower).
    pub fn tier(&self, feature: &str) -> char {
        if self.tiers.tier_a.iter().any(|f| f == feature) {
            'A'
        } else if self.tiers.tier_b.iter().any(|f| f == feature) {
            'B'
        } else {
            'C'
        }
    }

    /// Judges one observation: the first matching row, then the tier rule.
    pub fn judge(&self, obs: &Observation) -> Verdict {
        let matches = |pattern: &str, value: &str| pattern == "any" || pattern == value;
        let rule = self.rules.iter().find(|r| {
            matches(&r.provenance, obs.provenance.name()) && matches(&r.symptom, obs.symptom)
        });
        let Some(rule) = rule else {
            return Verdict {
                bucket: Bucket::NeedsReview,
                kind: kind_of(obs.symptom).into(),
                clauses: vec![],
                reason: format!(
                    "no policy row for {} / {}",
                    obs.provenance.name(),
                    obs.symptom
                ),
                rule: "none".into(),
            };
        };
        let mut v = Verdict {
            bucket: rule.bucket,
            kind: rule
                .kind
                .clone()
                .unwrap_or_else(|| kind_of(obs.symptom).into()),
            clauses: rule.clauses.clone(),
            reason: rule.reason.clone(),
            rule: rule.id.clone(),
        };
        if rule.tier_a_only && v.bucket == Bucket::Security {
            let outside: Vec<&String> = obs
                .features
                .iter()
                .filter(|f| self.tier(f) != 'A')
                .collect();
            if !outside.is_empty() {
                let named: Vec<String> = outside
                    .iter()
                    .map(|f| format!("{f} (tier {})", self.tier(f)))
                    .collect();
                v.bucket = Bucket::Bug;
                v.clauses.push("P8".into());
                v.reason = format!("{}; needs {}, outside tier A", v.reason, named.join(", "));
            }
        }
        v
    }
}

fn kind_of(symptom: &str) -> &'static str {
    match symptom {
        "crash" | "unrecoverable" => "crash",
        "hang" | "guest-loop" => "hang",
        "sandbox-escape" => "sandbox-escape",
        "validation" => "validation",
        _ => "wrong-result",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped table with one line replaced.
    fn edited(from: &str, to: &str) -> anyhow::Result<Policy> {
        assert!(DEFAULT_POLICY.contains(from), "{from}");
        Policy::parse(&DEFAULT_POLICY.replacen(from, to, 1))
    }

    fn rejected(from: &str, to: &str, says: &str) {
        let e = edited(from, to).expect_err(to);
        let e = format!("{e:#}");
        assert!(e.contains(says), "{to}: {e}");
    }

    #[test]
    fn typos_and_unknown_values_are_rejected_with_the_allowed_ones() {
        rejected(
            r#"symptom = "wrong-result""#,
            r#"symptom = "wrong-resultz""#,
            "wrong-result, validation",
        );
        rejected(
            r#"provenance = "wasm""#,
            r#"provenance = "wasmz""#,
            "aot-emitted",
        );
        rejected(r#"bucket = "bug""#, r#"bucket = "bugz""#, "unknown variant");
        rejected(
            r#"clauses = ["P7"]"#,
            r#"clauses = ["P77"]"#,
            "unknown clause P77",
        );
        rejected("version = 1", "version = 7", "version 7");
        // A misspelt tier feature once moved SIMD out of tier A silently.
        rejected(
            r#""threads", "simd","#,
            r#""threads", "simdd","#,
            "unknown feature or mode \"simdd\"",
        );
        rejected(
            r#""tail-call", "llvm-jit""#,
            r#""tail-cal", "llvm-jit""#,
            "tail-call",
        );
        rejected(
            r#"kind = "validation""#,
            r#"kind = "validaton""#,
            "miscompile, wrong-result, validation",
        );
        rejected(
            r#"reason = "a wrong result"#,
            r#"colour = "red"
reason = "a wrong result"#,
            "unknown field `colour`",
        );
        rejected(
            r#"id = "wasm-hang""#,
            r#"id = "wasm-crash""#,
            "duplicate rule id",
        );
        // Errors name the line (toml's own position report).
        let e = format!(
            "{:#}",
            edited(r#"bucket = "bug""#, r#"bucket = "bugz""#).unwrap_err()
        );
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn the_shipped_table_and_known_issues_parse() {
        let p = Policy::builtin();
        assert!(!p.rules.is_empty());
        assert!(p.known.issues.iter().any(|i| i.id == "wamr-2773"));
    }
}
