//! The store: an output folder's findings and records: finding folders
//! `DIR/findings/<bucket>/<id>/{input.wasm, input.wat, finding.json, ...}`,
//! shrink records, `summary.json` and the folder's lock. A campaign also
//! keeps its corpus (`DIR/corpus/`) and in-flight cases (`DIR/inflight/`)
//! there, through [`write_atomic`]; reports add drafts beside a finding.

pub mod summary;

pub use summary::{Filed, Summary};

use crate::exec::{parse_compile_options, COMPILE_OPTIONS_FILE};
use crate::generate::plan::CallPlan;
use crate::judge::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes findings under `DIR/findings`. A folder is immutable once its
/// `finding.json` is written: a re-found signature only counts a hit.
#[derive(Clone, Debug)]
pub struct FindingStore {
    pub root: PathBuf,
}

/// What [`FindingStore::write`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// A new folder.
    New(PathBuf),
    /// The folder was there, complete: left as it is.
    Kept(PathBuf),
    /// The folder was there without a readable `finding.json`: moved aside
    /// (to the second path, never mixed with this input) and written anew.
    Repaired(PathBuf, PathBuf),
}

impl Written {
    pub fn dir(&self) -> &Path {
        match self {
            Written::New(d) | Written::Kept(d) | Written::Repaired(d, _) => d,
        }
    }
}

/// An I/O error that names the file (disk full says which write failed).
fn at(path: &Path) -> impl FnOnce(std::io::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("cannot write {}: {e}", path.display())
}

/// Writes a file of a finding folder (or a draft for one), naming it in the
/// error.
pub fn put(path: &Path, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    write_atomic(path, bytes.as_ref()).map_err(at(path))
}

/// Writes `path` whole or not at all: a temporary file renamed into place,
/// removed when the write fails (a full disk leaves no empty file behind).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

impl FindingStore {
    pub fn new(out: &Path) -> FindingStore {
        FindingStore {
            root: out.join("findings"),
        }
    }

    /// Keeps the first input that hit a known issue: `DIR/known/<id>.wasm`.
    pub fn write_known_example(&self, id: &str, wasm: &[u8]) -> anyhow::Result<()> {
        let dir = self.root.with_file_name("known");
        std::fs::create_dir_all(&dir).map_err(at(&dir))?;
        put(&dir.join(format!("{id}.wasm")), wasm)
    }

    pub fn dir_of(&self, f: &Finding) -> PathBuf {
        self.root.join(f.verdict.bucket.as_str()).join(&f.id)
    }

    /// A folder's path relative to the campaign folder (as `summary.json` lists it).
    pub fn relative(&self, dir: &Path) -> String {
        let base = self.root.parent().unwrap_or(&self.root);
        dir.strip_prefix(base).unwrap_or(dir).display().to_string()
    }

    /// Every complete finding folder on disk, with its record.
    pub fn all(&self) -> Vec<(PathBuf, Finding)> {
        let mut out = vec![];
        for bucket in crate::judge::Bucket::ALL {
            let Ok(entries) = std::fs::read_dir(self.root.join(bucket.as_str())) else {
                continue;
            };
            let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            dirs.sort();
            for dir in dirs {
                if let Ok(f) = read_record(&dir) {
                    out.push((dir, f));
                }
            }
        }
        out
    }

    /// Leaves a pointer in a finding's folder (`old`, as `summary.json` lists
    /// it) when its cause was met again in a more severe bucket and filed
    /// there (`new`): the folder stays, as every folder does, but says it
    /// is superseded.
    pub fn note_promotion(&self, old: &str, new: &Path) -> anyhow::Result<()> {
        let base = self.root.parent().unwrap_or(&self.root);
        put(
            &base.join(old).join(PROMOTED),
            format!(
                "The same cause (signature) was met again in a more severe bucket: {}\n\
                 That folder holds its reproducer now; summary.json points there.\n",
                self.relative(new)
            ),
        )
    }

    /// Keeps the first input of a cause in a new mode or context beside its
    /// folder (`rel`, relative to the campaign folder, as the summary lists it).
    pub fn write_beside(&self, rel: &str, wasm: &[u8]) -> anyhow::Result<()> {
        let base = self.root.parent().unwrap_or(&self.root);
        let path = base.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(at(dir))?;
        }
        put(&path, wasm)
    }

    /// Moves a damaged finding folder aside (`ID.damaged-TIME`, beside it),
    /// never mixing it with another input; `None` when there is no folder.
    pub fn set_aside(&self, dir: &Path) -> anyhow::Result<Option<PathBuf>> {
        if !dir.exists() {
            return Ok(None);
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let moved = dir.with_file_name(format!("{name}.damaged-{stamp}"));
        std::fs::rename(dir, &moved).map_err(at(&moved))?;
        Ok(Some(moved))
    }

    /// Writes the input and its artifacts first, then the record (atomically).
    /// An existing complete folder is never touched; a damaged one is moved
    /// aside and reported, never mixed with another input.
    pub fn write(
        &self,
        f: &Finding,
        wasm: &[u8],
        extra: &[(String, Vec<u8>)],
    ) -> anyhow::Result<Written> {
        let dir = self.dir_of(f);
        if dir.exists() && read_record(&dir).is_ok() {
            return Ok(Written::Kept(dir));
        }
        let aside = self.set_aside(&dir)?;
        std::fs::create_dir_all(&dir).map_err(at(&dir))?;
        put(&dir.join("input.wasm"), wasm)?;
        for (name, bytes) in extra {
            put(&dir.join(name), bytes)?;
        }
        if let Some(text) = crate::exec::compile_options_text(&f.executions) {
            put(&dir.join(COMPILE_OPTIONS_FILE), text)?;
        }
        if let Ok(text) = wasmprinter::print_bytes(wasm) {
            put(&dir.join("input.wat"), text)?;
        }
        let json = serde_json::to_string_pretty(f).expect("findings serialize");
        let tmp = dir.join("finding.json.tmp");
        put(&tmp, json)?;
        let record = dir.join("finding.json");
        std::fs::rename(&tmp, &record).map_err(at(&record))?;
        Ok(match aside {
            Some(moved) => Written::Repaired(dir, moved),
            None => Written::New(dir),
        })
    }
}

/// The compile options recorded beside a module ([`COMPILE_OPTIONS_FILE`] in
/// its folder), each checked against its engine; empty when there is none.
pub fn read_compile_options(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let path = dir.join(COMPILE_OPTIONS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    let pinned =
        parse_compile_options(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for (engine, options) in &pinned {
        crate::engines::check_compile_options(engine, options).map_err(|e| {
            anyhow::anyhow!("{}: {engine}: {e} (fix or delete the line)", path.display())
        })?;
    }
    Ok(pinned)
}

/// Reads a folder's `finding.json`.
pub fn read_record(dir: &Path) -> anyhow::Result<Finding> {
    let fj = dir.join("finding.json");
    let text = std::fs::read_to_string(&fj).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a finding folder: cannot read {}: {e}",
            dir.display(),
            fj.display()
        )
    })?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a finding record: {e}", fj.display()))
}

/// Left in a finding folder whose finding moved to another bucket.
pub const PROMOTED: &str = "PROMOTED.txt";

/// One owner per output folder: an exclusive lock on `DIR/.lock`, held for
/// the life of the campaign (the kernel drops it when the process dies, so a
/// killed campaign never leaves a stale lock).
pub struct OutLock {
    file: std::fs::File,
}

impl OutLock {
    /// Lets child processes inherit the lock (a flock belongs to the open
    /// file, so it lasts until the last process holding it ends): a campaign
    /// child the supervisor spawns keeps the folder locked even when the
    /// supervisor is killed first.
    pub fn share_with_children(&self) -> anyhow::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a file descriptor we own; clearing FD_CLOEXEC only.
        if unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
            anyhow::bail!(
                "cannot share the output folder's lock: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// The lock of a campaign folder: a campaign and `triage --out` write
    /// finding folders and `summary.json` there, one at a time.
    pub fn acquire(out: &Path) -> anyhow::Result<OutLock> {
        OutLock::take(
            out,
            "another wasmsieve campaign or triage",
            "or use another --out",
        )
    }

    /// The lock of one finding folder: a shrink (the campaign's or a
    /// manual one) and a report write there, one at a time.
    pub fn finding(dir: &Path) -> anyhow::Result<OutLock> {
        anyhow::ensure!(dir.is_dir(), "{} is not a finding folder", dir.display());
        OutLock::take(
            dir,
            "another wasmsieve shrink or report",
            "or run it again once that ends",
        )
    }

    fn take(out: &Path, holder_is: &str, else_do: &str) -> anyhow::Result<OutLock> {
        use std::io::{Read, Seek, Write};
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(out)
            .map_err(|e| anyhow::anyhow!("cannot create output folder {}: {e}", out.display()))?;
        let path = out.join(".lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            anyhow::bail!(
                "{} is in use by {holder_is} (pid {}); wait for it to end, {else_do}",
                out.display(),
                holder.trim()
            );
        }
        file.set_len(0).map_err(at(&path))?;
        file.rewind().map_err(at(&path))?;
        write!(file, "{}", std::process::id()).map_err(at(&path))?;
        Ok(OutLock { file })
    }
}

/// Reads `finding.json` and the input of a finding folder.
/// The input is `input.wasm`, or when that is gone `input.wat`, or the
/// shrunk `min.wasm`.
pub fn load_finding(dir: &Path) -> anyhow::Result<(Finding, Vec<u8>)> {
    let f = read_record(dir)?;
    for name in ["input.wasm", "input.wat", "min.wasm"] {
        let p = dir.join(name);
        if p.exists() {
            return Ok((f, crate::wasm::read_module(&p)?));
        }
    }
    anyhow::bail!(
        "{} holds no input (input.wasm, input.wat or min.wasm)",
        dir.display()
    )
}

/// Writes the minimized module (and its text) beside the finding's input.
pub fn write_minimized(dir: &Path, min: &[u8]) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
    let min_wasm = dir.join("min.wasm");
    put(&min_wasm, min)?;
    let min_wat = match wasmprinter::print_bytes(min) {
        Ok(text) => {
            let p = dir.join("min.wat");
            put(&p, text)?;
            Some(p)
        }
        Err(_) => None,
    };
    Ok((min_wasm, min_wat))
}

/// Writes `shrink.json`, the record of a shrink.
pub fn write_shrink_outcome(dir: &Path, outcome: &ShrinkOutcome) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(outcome).expect("shrink outcomes serialize");
    put(&dir.join("shrink.json"), json)
}

/// What a shrink did; also written to `shrink.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShrinkOutcome {
    pub dir: PathBuf,
    pub bytes_before: usize,
    pub bytes_after: usize,
    pub calls_before: usize,
    pub calls_after: usize,
    /// Instructions in all function bodies, before and after.
    #[serde(default)]
    pub instructions_before: usize,
    #[serde(default)]
    pub instructions_after: usize,
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
            "shrunk {}: {} -> {} bytes ({pct:.1}%), {} -> {} instructions, {} -> {} calls, {} candidates ({} kept) in {:.1}s{}",
            self.dir.display(),
            self.bytes_before,
            self.bytes_after,
            self.instructions_before,
            self.instructions_after,
            self.calls_before,
            self.calls_after,
            self.candidates,
            self.accepted,
            self.seconds,
            if self.budget_exhausted { " (budget exhausted)" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promoted_finding_points_to_its_new_folder() {
        let out = std::env::temp_dir().join(format!("wsv-promote-{}", std::process::id()));
        let old = out.join("findings/bug/crash-1");
        std::fs::create_dir_all(&old).unwrap();
        let store = FindingStore::new(&out);
        store
            .note_promotion(
                "findings/bug/crash-1",
                &out.join("findings/security/crash-1"),
            )
            .unwrap();
        let text = std::fs::read_to_string(old.join("PROMOTED.txt")).unwrap();
        assert!(text.contains("findings/security/crash-1"), "{text}");
        let _ = std::fs::remove_dir_all(out);
    }
}
