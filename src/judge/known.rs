//! Known issues, as data: upstream bugs a campaign keeps meeting. A finding
//! that matches a row is counted under `known` (with the upstream link) instead
//! of being filed, shrunk or failing a run again. The rows live in
//! `policy/known-issues.toml`; a maintainer adds one when they file a bug, and
//! `--known FILE` uses another list.

use crate::exec::{Execution, Trap};
use crate::judge::oracle::{Divergence, Symptom};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The list shipped with wasmsieve.
pub const DEFAULT_KNOWN_ISSUES: &str = include_str!("../../policy/known-issues.toml");

/// What a finding must show to be a known issue. Every field given must
/// match; an absent field matches anything.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// Engine names; a trailing `*` matches a prefix (`wamr-aot*`).
    #[serde(default)]
    pub engines: Vec<String>,
    /// Oracle symptoms (`trap-mismatch`, `wrong-trap-kind`, `memory-mismatch`, ...).
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
    /// The reference's trap at the diverging step.
    pub reference_trap: Option<Trap>,
    /// Prefixes of the instruction at the reference's trap site (`I32Load`
    /// also matches `I32Load8S`).
    #[serde(default)]
    pub instructions: Vec<String>,
    /// Export names the module must have (all of them).
    #[serde(default)]
    pub module_exports: Vec<String>,
    /// Substrings, any of which must occur in a crash's frames.
    #[serde(default)]
    pub frames: Vec<String>,
    /// The runtime's exported memory is smaller than the reference's after
    /// the diverging call.
    pub memory_smaller: Option<bool>,
}

/// One known upstream issue.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssue {
    /// Stable id, e.g. `wamr-2773`.
    pub id: String,
    /// Where it is tracked upstream.
    pub link: String,
    pub title: String,
    /// Why findings of this shape are this issue (and what would not be).
    pub note: String,
    #[serde(rename = "match")]
    pub matcher: Matcher,
}

/// The known-issue a finding matched, as recorded with the finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownMatch {
    pub id: String,
    pub link: String,
    pub title: String,
}

/// The known-issues file: rows matched against every finding.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssues {
    pub version: u32,
    #[serde(default, rename = "issue")]
    pub issues: Vec<KnownIssue>,
}

impl KnownIssues {
    pub fn parse(text: &str) -> anyhow::Result<KnownIssues> {
        let k: KnownIssues = toml::from_str(text)?;
        anyhow::ensure!(
            k.version == 1,
            "unsupported known-issues version {} (this wasmsieve reads version 1)",
            k.version
        );
        let mut ids = std::collections::HashSet::new();
        let engines: Vec<&str> = crate::engines::all().map(|e| e.name).collect();
        for i in &k.issues {
            anyhow::ensure!(ids.insert(&i.id), "duplicate known issue id {:?}", i.id);
            // A misspelt engine would make the row never match.
            for e in &i.matcher.engines {
                let known = match e.strip_suffix('*') {
                    Some(prefix) => engines.iter().any(|n| n.starts_with(prefix)),
                    None => engines.contains(&e.as_str()),
                };
                anyhow::ensure!(
                    known,
                    "known issue {}: unknown engine {e:?} (one of {}, or a prefix ending in *)",
                    i.id,
                    engines.join(", ")
                );
            }
        }
        Ok(k)
    }

    pub fn load(path: &Path) -> anyhow::Result<KnownIssues> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read known-issues file {}: {e}", path.display())
        })?;
        KnownIssues::parse(&text)
            .map_err(|e| anyhow::anyhow!("known-issues file {}: {e}", path.display()))
    }

    pub fn builtin() -> KnownIssues {
        KnownIssues::parse(DEFAULT_KNOWN_ISSUES).expect("the shipped known-issues list parses")
    }

    /// The first row the divergence of `subject` (against `reference`) matches.
    pub fn find(
        &self,
        wasm: &[u8],
        d: &Divergence,
        reference: Option<&Execution>,
        subject: &Execution,
    ) -> Option<KnownMatch> {
        self.issues
            .iter()
            .find(|i| i.matcher.matches(wasm, d, reference, subject))
            .map(|i| KnownMatch {
                id: i.id.clone(),
                link: i.link.clone(),
                title: i.title.clone(),
            })
    }
}

impl Matcher {
    fn matches(
        &self,
        wasm: &[u8],
        d: &Divergence,
        reference: Option<&Execution>,
        subject: &Execution,
    ) -> bool {
        let engine_ok = self.engines.is_empty()
            || self.engines.iter().any(|e| match e.strip_suffix('*') {
                Some(prefix) => subject.engine.starts_with(prefix),
                None => subject.engine == *e,
            });
        let symptom_ok = self.symptoms.is_empty() || self.symptoms.contains(&d.symptom);
        let trap_ok = self
            .reference_trap
            .as_ref()
            .is_none_or(|t| d.reference_trap.as_ref() == Some(t));
        let site_ok = self.instructions.is_empty()
            || d.reference_site
                .as_deref()
                .is_some_and(|s| self.instructions.iter().any(|p| s.starts_with(p.as_str())));
        let frames_ok = self.frames.is_empty()
            || match &subject.end {
                crate::exec::End::Crashed(rec) => rec
                    .frames
                    .iter()
                    .any(|f| self.frames.iter().any(|m| f.contains(m.as_str()))),
                _ => false,
            };
        let memory_ok = self
            .memory_smaller
            .is_none_or(|want| memory_smaller(d, reference, subject) == want);
        let exports_ok = self.module_exports.is_empty() || {
            let names = crate::generate::plan::Exports::names(wasm);
            self.module_exports.iter().all(|e| names.contains(e))
        };
        engine_ok && symptom_ok && trap_ok && site_ok && frames_ok && memory_ok && exports_ok
    }
}

/// Whether the runtime's memory is smaller than the reference's after the
/// diverging call.
fn memory_smaller(d: &Divergence, reference: Option<&Execution>, subject: &Execution) -> bool {
    let (Some(i), Some(r)) = (d.call_index, reference) else {
        return false;
    };
    let (Some(rc), Some(sc)) = (r.calls.get(i), subject.calls.get(i)) else {
        return false;
    };
    rc.memories
        .iter()
        .zip(&sc.memories)
        .any(|(a, b)| a.name == b.name && b.len < a.len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(text: &str, says: &str) {
        let e = format!("{:#}", KnownIssues::parse(text).unwrap_err());
        assert!(e.contains(says), "{e}");
    }

    const ROW: &str = r#"
[[issue]]
id = "x"
link = "https://example.org"
title = "t"
note = "n"
[issue.match]
symptoms = ["wrong-value"]
"#;

    #[test]
    fn bad_lists_are_rejected() {
        rejected(&format!("version = 2\n{ROW}"), "version 2");
        rejected(
            &format!("version = 1\n{ROW}{ROW}"),
            "duplicate known issue id",
        );
        rejected(
            &format!("version = 1\n{}", ROW.replace("wrong-value", "wrong-valu")),
            "unknown variant",
        );
        rejected(
            &format!("version = 1\n{}", ROW.replace("symptoms", "symptom")),
            "unknown field",
        );
        // A misspelt engine once made a row never match.
        let engines = |e: &str| format!("version = 1\n{}engines = [\"{e}\"]\n", ROW);
        rejected(&engines("wamr-clasic"), "unknown engine \"wamr-clasic\"");
        rejected(&engines("wamx-*"), "wamr-classic");
        assert!(KnownIssues::parse(&engines("wamr-aot*")).is_ok());
        assert_eq!(
            KnownIssues::parse(&format!("version = 1\n{ROW}"))
                .unwrap()
                .issues
                .len(),
            1
        );
    }
}
