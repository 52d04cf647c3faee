//! The WASI sandbox of one run: a fresh folder laid out the same for every
//! engine, and what can be observed of it from outside the guest.
//!
//! ```text
//! BASE/root/            preopened as `sandbox` (fd 3)
//!        a.txt  sub/b.txt
//!        in -> a.txt                      (a link that stays inside)
//!        up -> ../outside/canary.txt      (a relative link out of the root)
//!        abs -> BASE/outside/canary.txt   (an absolute link out)
//!        dangling -> nowhere   loop -> loop
//! BASE/outside/          never granted
//!        canary.txt   (a random token, repeated)
//!        secret-TOKEN2/kept.txt   (a name no link in the root names)
//! ```
//!
//! A guest that reads outside the root gets a canary into its memory; one
//! that writes there changes the snapshot of everything but `root/`; one
//! that keeps a host file open past its instance leaves an fd that resolves
//! outside the root ([`new_fds_outside`]).

use crate::generate::wasi::WasiSetup;
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// A sandbox on disk; removed when dropped.
pub struct Sandbox {
    pub setup: WasiSetup,
    /// The state of everything outside the root when it was laid out.
    before: BTreeMap<String, String>,
}

/// Host bytes a guest has no capability to read, whatever the sandbox: the
/// start of `/etc/passwd`'s first line, masked at compile time (the plain
/// bytes are not in the binary).
const HOST_CANARY: [u8; 11] = crate::generate::wasi::mask(*b"root:x:0:0:");

/// A token unique per sandbox: no secrecy needed, only that no guest and no
/// other sandbox has it.
fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed =
        nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    crate::wasm::to_hex(&crate::generate::seed_bytes(seed, 12))
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Sandbox {
    /// Lays out a fresh sandbox under the system's temp folder.
    pub fn create() -> std::io::Result<Sandbox> {
        use std::os::unix::fs::symlink;
        let base =
            std::env::temp_dir().join(format!("wsv-wasi-{}-{}", std::process::id(), token()));
        let root = base.join("root");
        let outside = base.join("outside");
        let canary = format!("WSV-CANARY-{}", token());
        let secret = format!("secret-{}", token());
        // Only the harness that lays the sandbox out has the plain bytes, and
        // only here: they are zeroed once written (see `WasiSetup::canaries`).
        std::fs::create_dir_all(root.join("sub"))?;
        let secret_dir = outside.join(&secret);
        std::fs::create_dir_all(&secret_dir)?;
        std::fs::write(root.join("a.txt"), b"inside a\n")?;
        std::fs::write(root.join("sub/b.txt"), b"inside b\n")?;
        std::fs::write(outside.join("canary.txt"), canary.repeat(8))?;
        std::fs::write(secret_dir.join("kept.txt"), canary.as_bytes())?;
        let mut secret_dir = secret_dir.into_os_string().into_vec();
        secret_dir.fill(0);
        symlink("a.txt", root.join("in"))?;
        symlink("../outside/canary.txt", root.join("up"))?;
        symlink(outside.join("canary.txt"), root.join("abs"))?;
        symlink("nowhere", root.join("dangling"))?;
        symlink("loop", root.join("loop"))?;
        let masked = |label: &str, plain: String| {
            let mut bytes = plain.into_bytes();
            let m = bytes
                .iter()
                .map(|b| b ^ crate::generate::wasi::CANARY_MASK)
                .collect();
            bytes.fill(0);
            (label.to_string(), m)
        };
        let setup = WasiSetup {
            base,
            root,
            canaries: vec![
                masked("the canary of outside/canary.txt", canary),
                masked("the name of a folder outside the root", secret),
                ("the first line of /etc/passwd".into(), HOST_CANARY.to_vec()),
            ],
        };
        let before = snapshot(&setup);
        Ok(Sandbox { setup, before })
    }

    /// What changed outside the root since it was laid out: created,
    /// deleted, renamed, written, truncated, its mode or times changed.
    pub fn changed_outside(&self) -> Vec<String> {
        let after = snapshot(&self.setup);
        let mut changed: Vec<String> = self
            .before
            .iter()
            .filter(|(p, s)| after.get(*p) != Some(*s))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(
            after
                .keys()
                .filter(|p| !self.before.contains_key(*p))
                .cloned(),
        );
        changed
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.setup.base);
    }
}

/// Every path under the base but outside the root (the base itself
/// included), with its state: type, size, mode, modification time, and a
/// link's target or a file's bytes.
fn snapshot(setup: &WasiSetup) -> BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut todo = vec![setup.base.clone()];
    while let Some(p) = todo.pop() {
        if p == setup.root {
            continue;
        }
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let what = if m.file_type().is_symlink() {
            format!("link {:?}", std::fs::read_link(&p).ok())
        } else if m.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                todo.extend(entries.flatten().map(|e| e.path()));
            }
            "dir".to_string()
        } else {
            format!(
                "file {:?}",
                std::fs::read(&p).ok().map(|b| crate::wasm::to_hex(&b))
            )
        };
        let rel = p
            .strip_prefix(&setup.base)
            .unwrap_or(&p)
            .display()
            .to_string();
        out.insert(
            rel,
            format!(
                "{what} size {} mode {:o} mtime {}.{}",
                m.len(),
                m.mode(),
                m.mtime(),
                m.mtime_nsec()
            ),
        );
    }
    out
}

/// This process's open file descriptors and what each resolves to.
pub fn open_fds() -> BTreeMap<i32, PathBuf> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let fd: i32 = e.file_name().to_str()?.parse().ok()?;
            Some((fd, std::fs::read_link(e.path()).ok()?))
        })
        .collect()
}

/// The fds opened since `before` that resolve to a file or folder outside
/// the sandbox's root: a host resource the guest kept hold of.
pub fn new_fds_outside(before: &BTreeMap<i32, PathBuf>, setup: &WasiSetup) -> Vec<String> {
    open_fds()
        .into_iter()
        .filter(|(fd, p)| before.get(fd) != Some(p))
        .filter(|(_, p)| p.is_absolute() && !p.starts_with(&setup.root) && !is_harness_file(p))
        .map(|(fd, p)| format!("fd {fd} -> {}", p.display()))
        .collect()
}

/// Files the engine process opens for itself while running a case.
fn is_harness_file(p: &Path) -> bool {
    p == Path::new("/dev/null") || p.starts_with("/proc") || p.starts_with("/sys")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canaries_are_never_kept_plain() {
        let s = Sandbox::create().unwrap();
        let plain = std::fs::read(s.setup.base.join("outside/canary.txt")).unwrap();
        let token = &plain[..plain.len() / 8];
        let wire = serde_json::to_vec(&s.setup).unwrap();
        assert!(!wire.windows(token.len()).any(|w| w == token));
        let (_, masked) = &s.setup.canaries[0];
        let unmasked: Vec<u8> = masked
            .iter()
            .map(|b| b ^ crate::generate::wasi::CANARY_MASK)
            .collect();
        assert_eq!(unmasked, token);
    }

    #[test]
    fn a_sandbox_sees_writes_outside_its_root_only() {
        let s = Sandbox::create().unwrap();
        assert!(s.changed_outside().is_empty());
        std::fs::write(s.setup.root.join("new.txt"), b"x").unwrap();
        std::fs::remove_file(s.setup.root.join("a.txt")).unwrap();
        assert!(
            s.changed_outside().is_empty(),
            "inside the root is the guest's"
        );
        let outside = s.setup.base.join("outside/canary.txt");
        std::fs::write(&outside, b"changed").unwrap();
        assert_eq!(s.changed_outside(), ["outside/canary.txt"]);
        std::fs::write(s.setup.base.join("new.txt"), b"x").unwrap();
        // The new file, and the folder it went into.
        let changed = s.changed_outside();
        assert!(
            changed.contains(&"new.txt".to_string()) && changed.contains(&String::new()),
            "{changed:?}"
        );
        let base = s.setup.base.clone();
        drop(s);
        assert!(!base.exists());
    }

    #[test]
    fn fds_kept_open_outside_the_root_are_seen() {
        let s = Sandbox::create().unwrap();
        let before = open_fds();
        // Other tests of this process open files meanwhile: only fds into
        // this sandbox's folder are this test's.
        let base = s.setup.base.display().to_string();
        let ours = |seen: Vec<String>| -> Vec<String> {
            seen.into_iter().filter(|p| p.contains(&base)).collect()
        };
        let inside = std::fs::File::open(s.setup.root.join("a.txt")).unwrap();
        assert!(ours(new_fds_outside(&before, &s.setup)).is_empty());
        let outside = std::fs::File::open(s.setup.base.join("outside/canary.txt")).unwrap();
        let seen = ours(new_fds_outside(&before, &s.setup));
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].ends_with("outside/canary.txt"), "{seen:?}");
        drop((inside, outside));
    }
}
