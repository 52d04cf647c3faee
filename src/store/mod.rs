//! The store: the only code that reads or writes an output folder: finding
//! folders `DIR/findings/<bucket>/<id>/{input.wasm, input.wat, finding.json,
//! ...}`, shrink records and `summary.json`.

pub mod summary;

pub use summary::Summary;

use crate::generate::plan::CallPlan;
use crate::judge::Finding;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

    /// Keeps the first input that hit a known issue: `DIR/known/<id>.wasm`.
    pub fn write_known_example(&self, id: &str, wasm: &[u8]) -> std::io::Result<()> {
        let dir = self.root.with_file_name("known");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{id}.wasm")), wasm)
    }

    pub fn dir_of(&self, f: &Finding) -> PathBuf {
        self.root.join(f.verdict.bucket.as_str()).join(&f.id)
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

/// Reads `finding.json` and the input of a finding folder.
pub fn load_finding(dir: &Path) -> anyhow::Result<(Finding, Vec<u8>)> {
    let fj = dir.join("finding.json");
    let text = std::fs::read_to_string(&fj).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a finding folder: cannot read {}: {e}",
            dir.display(),
            fj.display()
        )
    })?;
    let f: Finding = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a finding record: {e}", fj.display()))?;
    let input = dir.join("input.wasm");
    let wasm = std::fs::read(&input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    Ok((f, wasm))
}

/// Writes the minimized module (and its text) beside the finding's input.
pub fn write_minimized(dir: &Path, min: &[u8]) -> std::io::Result<(PathBuf, Option<PathBuf>)> {
    let min_wasm = dir.join("min.wasm");
    std::fs::write(&min_wasm, min)?;
    let min_wat = match wasmprinter::print_bytes(min) {
        Ok(text) => {
            let p = dir.join("min.wat");
            std::fs::write(&p, text)?;
            Some(p)
        }
        Err(_) => None,
    };
    Ok((min_wasm, min_wat))
}

/// Writes `shrink.json`, the record of a shrink.
pub fn write_shrink_outcome(dir: &Path, outcome: &ShrinkOutcome) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(outcome).expect("shrink outcomes serialize");
    std::fs::write(dir.join("shrink.json"), json)
}

/// What a shrink did; also written to `shrink.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShrinkOutcome {
    pub dir: PathBuf,
    pub bytes_before: usize,
    pub bytes_after: usize,
    pub calls_before: usize,
    pub calls_after: usize,
    pub seconds: f64,
    /// Candidates (module or plan) run through the differ.
    pub candidates: u64,
    /// Candidates that kept the finding.
    pub accepted: u64,
    /// The budget ran out before wasm-shrink gave up on its own.
    pub budget_exhausted: bool,
    pub min_wasm: PathBuf,
    pub min_wat: Option<PathBuf>,
    /// The minimal call plan for `min.wasm`.
    pub plan: CallPlan,
    /// The finding as observed on `min.wasm` with `plan` (same bucket, kind, signature).
    pub finding: Finding,
}

/// Reads `shrink.json` of a finding folder, when a shrink ran there.
pub fn load_outcome(dir: &Path) -> Option<ShrinkOutcome> {
    let text = std::fs::read_to_string(dir.join("shrink.json")).ok()?;
    serde_json::from_str(&text).ok()
}

impl ShrinkOutcome {
    /// One line for humans.
    pub fn line(&self) -> String {
        let pct = if self.bytes_before > 0 {
            100.0 * self.bytes_after as f64 / self.bytes_before as f64
        } else {
            100.0
        };
        format!(
            "shrunk {}: {} -> {} bytes ({pct:.1}%), {} -> {} calls, {} candidates ({} kept) in {:.1}s{}",
            self.dir.display(),
            self.bytes_before,
            self.bytes_after,
            self.calls_before,
            self.calls_after,
            self.candidates,
            self.accepted,
            self.seconds,
            if self.budget_exhausted { " (budget exhausted)" } else { "" }
        )
    }
}
