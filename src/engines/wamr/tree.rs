//! Names a WAMR tree for reports without a local path. `build.rs` includes
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
