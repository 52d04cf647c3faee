//! The finding record and its folder layout:
//! `DIR/findings/<bucket>/<id>/{input.wasm, input.wat, finding.json, ...}`.

use crate::engines::Execution;
use crate::oracle::Divergence;
use crate::policy::{Provenance, Verdict};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// Writes findings under `DIR/findings`.
#[derive(Clone, Debug)]
pub struct FindingStore {
    pub root: PathBuf,
}

impl FindingStore {
    pub fn new(out: &Path) -> FindingStore {
        FindingStore {
            root: out.join("findings"),
        }
    }

    pub fn dir_of(&self, f: &Finding) -> PathBuf {
        self.root.join(&f.verdict.bucket).join(&f.id)
    }

    /// Writes the input and its artifacts first, then the record. Returns the folder.
    pub fn write(
        &self,
        f: &Finding,
        wasm: &[u8],
        extra: &[(String, Vec<u8>)],
    ) -> std::io::Result<PathBuf> {
        let dir = self.dir_of(f);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("input.wasm"), wasm)?;
        for (name, bytes) in extra {
            std::fs::write(dir.join(name), bytes)?;
        }
        if let Ok(text) = wasmprinter::print_bytes(wasm) {
            std::fs::write(dir.join("input.wat"), text)?;
        }
        let json = serde_json::to_string_pretty(f).expect("findings serialize");
        let tmp = dir.join("finding.json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(tmp, dir.join("finding.json"))?;
        Ok(dir)
    }
}
