//! Names a WAMR tree for reports without a local path, and reads its version. `build.rs` includes
//! this file too, so a tree fingerprinted at build time and one given at
//! run time read alike.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Names the WAMR tree for reports without a local path: `git <commit>` (with
/// `+changes` when the checkout differs from it) for a git checkout, else
/// `fnv64 <hash>` of every file under core/ and build-scripts/ (paths and
/// contents, in path order), the same for the same sources anywhere.
pub fn tree_fingerprint(root: &Path) -> String {
    if root.join(".git").exists() {
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(root)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        if let Some(commit) = git(&["rev-parse", "HEAD"]) {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            return format!("git {commit}{}", if dirty { " +changes" } else { "" });
        }
    }
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, files);
            } else {
                files.push(p);
            }
        }
    }
    let mut files = vec![];
    for d in ["core", "build-scripts"] {
        walk(&root.join(d), &mut files);
    }
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        feed(
            f.strip_prefix(root)
                .unwrap_or(f)
                .to_string_lossy()
                .as_bytes(),
        );
        feed(&fs::read(f).unwrap_or_default());
    }
    format!("fnv64 {h:016x} ({} files)", files.len())
}

/// "major.minor.patch" from core/version.h (or build-scripts/version.cmake).
pub fn tree_version(root: &Path) -> String {
    let mut parts = Vec::new();
    let h = fs::read_to_string(root.join("core/version.h")).unwrap_or_default();
    let c = fs::read_to_string(root.join("build-scripts/version.cmake")).unwrap_or_default();
    for key in [
        "WAMR_VERSION_MAJOR",
        "WAMR_VERSION_MINOR",
        "WAMR_VERSION_PATCH",
    ] {
        let from_h = h.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("#define") && w.next() == Some(key))
                .then(|| w.next().map(str::to_string))
                .flatten()
        });
        let from_cmake = || {
            c.lines().find_map(|l| {
                let l = l.trim();
                l.strip_prefix("set(")
                    .or_else(|| l.strip_prefix("set ("))
                    .and_then(|r| r.strip_prefix(key))
                    .map(|r| r.trim().trim_end_matches(')').trim().to_string())
            })
        };
        parts.push(from_h.or_else(from_cmake).unwrap_or_else(|| "?".into()));
    }
    parts.join(".")
}
