//! The faulty engine's WASI: a small preview 1 over the host's files, right
//! by default (paths resolve inside the preopened root or fail with
//! ENOTCAPABLE) and wrong on markers, so the capability oracle is tested
//! with real escapes:
//!   wsv_fault_wasi_dotdot  paths are joined to the root as they are: `..`,
//!                          absolute paths and links lead out (read outside)
//!   wsv_fault_wasi_unlink  `path_unlink_file` does the same (write outside)
//!   wsv_fault_wasi_leak    `path_open` joins as they are and keeps a second
//!                          handle of what it opened, never closed (an fd
//!                          outside the root that outlives the instance)
//!   wsv_fault_wasi_errno   `fd_close` of an fd that is not open succeeds
//!                          (WASI says EBADF: a wrong errno)
//! Calls it does not implement answer ENOSYS.

use super::wasmtime::WasiHost;
use crate::generate::wasi::WasiSetup;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EILSEQ: i32 = 25;
const EIO: i32 = 29;
const ENOENT: i32 = 44;
const ENOSYS: i32 = 52;
const ENOTCAPABLE: i32 = 76;
/// The preopened directory's fd.
const PREOPEN_FD: i64 = 3;

/// Which faults are on for the module loaded last.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    pub dotdot: bool,
    pub unlink: bool,
    pub leak: bool,
    pub selfleak: bool,
    pub errno: bool,
}

impl Faults {
    pub fn of(wasm: &[u8]) -> Faults {
        let has = |m: &str| super::faulty::contains(wasm, m);
        Faults {
            dotdot: has("wsv_fault_wasi_dotdot"),
            unlink: has("wsv_fault_wasi_unlink"),
            leak: has("wsv_fault_wasi_leak"),
            selfleak: has("wsv_fault_wasi_selfleak"),
            errno: has("wsv_fault_wasi_errno"),
        }
    }
}

#[derive(Default)]
pub struct MiniWasi {
    pub faults: Faults,
    root: Option<PathBuf>,
    /// What this process was told of the sandbox, as it travelled.
    setup: Vec<u8>,
    files: BTreeMap<i64, File>,
}

fn slice(memory: &[u8], at: i64, len: i64) -> Result<std::ops::Range<usize>, i32> {
    let start = usize::try_from(at as u32).map_err(|_| EFAULT)?;
    let end = start.checked_add(len as u32 as usize).ok_or(EFAULT)?;
    (end <= memory.len()).then_some(start..end).ok_or(EFAULT)
}

/// The iovecs at `at` (`n` of them): each buffer's range in memory.
fn iovecs(memory: &[u8], at: i64, n: i64) -> Result<Vec<std::ops::Range<usize>>, i32> {
    let table = slice(memory, at, n.checked_mul(8).ok_or(EFAULT)?)?;
    memory[table]
        .chunks(8)
        .map(|iov| {
            let ptr = u32::from_le_bytes(iov[..4].try_into().expect("4 bytes"));
            let len = u32::from_le_bytes(iov[4..].try_into().expect("4 bytes"));
            slice(memory, ptr.into(), len.into())
        })
        .collect()
}

fn put_u32(memory: &mut [u8], at: i64, v: u32) -> Result<(), i32> {
    let r = slice(memory, at, 4)?;
    memory[r].copy_from_slice(&v.to_le_bytes());
    Ok(())
}

impl MiniWasi {
    /// The host path of `path` under the directory `fd`: inside the root, or
    /// ENOTCAPABLE; joined as it is when `naive` (the faults).
    fn resolve(
        &self,
        fd: i64,
        memory: &[u8],
        at: i64,
        len: i64,
        naive: bool,
    ) -> Result<PathBuf, i32> {
        let root = self
            .root
            .as_ref()
            .filter(|_| fd == PREOPEN_FD)
            .ok_or(EBADF)?;
        let bytes = &memory[slice(memory, at, len)?];
        let path = std::str::from_utf8(bytes).map_err(|_| EILSEQ)?;
        if path.contains('\0') {
            return Err(EILSEQ);
        }
        let full = root.join(path);
        if naive {
            return Ok(full);
        }
        if path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(ENOTCAPABLE);
        }
        // What it names, links followed, must stay inside.
        match (full.canonicalize(), root.canonicalize()) {
            (Ok(real), Ok(root)) if !real.starts_with(&root) => Err(ENOTCAPABLE),
            _ => Ok(full),
        }
    }

    fn path_open(&mut self, a: &[i64], memory: &mut [u8]) -> Result<(), i32> {
        let naive = self.faults.dotdot || self.faults.leak;
        let path = self.resolve(a[0], memory, a[2], a[3], naive)?;
        let oflags = a[4];
        let writes = oflags & (1 | 8) != 0;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(writes)
            .create(oflags & 1 != 0)
            .truncate(oflags & 8 != 0)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    ENOENT
                } else {
                    EIO
                }
            })?;
        if self.faults.leak {
            if let Ok(kept) = File::open(&path) {
                std::mem::forget(kept);
            }
        }
        let fd = (4..)
            .find(|fd| !self.files.contains_key(fd))
            .expect("a free fd");
        put_u32(memory, a[8], fd as u32)?;
        self.files.insert(fd, file);
        Ok(())
    }

    fn fd_read(&mut self, a: &[i64], memory: &mut [u8]) -> Result<(), i32> {
        let bufs = iovecs(memory, a[1], a[2])?;
        let mut total = 0usize;
        if self.faults.selfleak {
            for b in bufs {
                let n = b.len().min(self.setup.len());
                memory[b.start..b.start + n].copy_from_slice(&self.setup[..n]);
                total += n;
            }
            return put_u32(memory, a[3], total as u32);
        }
        if a[0] != 0 {
            let file = self.files.get_mut(&a[0]).ok_or(EBADF)?;
            for b in bufs {
                let n = file.read(&mut memory[b]).map_err(|_| EIO)?;
                total += n;
            }
        }
        put_u32(memory, a[3], total as u32)
    }

    fn fd_write(&mut self, a: &[i64], memory: &mut [u8]) -> Result<(), i32> {
        let bufs = iovecs(memory, a[1], a[2])?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if a[0] != 1 && a[0] != 2 {
            let file = self.files.get_mut(&a[0]).ok_or(EBADF)?;
            for b in bufs {
                file.write_all(&memory[b]).map_err(|_| EIO)?;
            }
        }
        put_u32(memory, a[3], total as u32)
    }

    fn path_unlink_file(&mut self, a: &[i64], memory: &mut [u8]) -> Result<(), i32> {
        let path = self.resolve(a[0], memory, a[1], a[2], self.faults.unlink)?;
        std::fs::remove_file(path).map_err(|_| ENOENT)
    }
}

impl WasiHost for MiniWasi {
    fn set_sandbox(&mut self, setup: Option<&WasiSetup>) {
        self.files.clear();
        self.root = setup.map(|s| s.root.clone());
        // From the canaries on: what a leak of this process's memory would
        // find of them.
        let json = setup
            .and_then(|s| serde_json::to_vec(s).ok())
            .unwrap_or_default();
        let from = json.windows(8).position(|w| w == b"canaries").unwrap_or(0);
        self.setup = json[from..].to_vec();
    }

    fn call(&mut self, name: &str, args: &[i64], memory: &mut [u8]) -> i32 {
        let result = match name {
            "path_open" if args.len() == 9 => self.path_open(args, memory),
            "fd_read" if args.len() == 4 => self.fd_read(args, memory),
            "fd_write" if args.len() == 4 => self.fd_write(args, memory),
            "fd_close" if args.len() == 1 => match self.files.remove(&args[0]) {
                Some(_) => Ok(()),
                // Stdio and the preopen close too (nothing of ours to drop).
                None if (0..=PREOPEN_FD).contains(&args[0]) => Ok(()),
                None if self.faults.errno => Ok(()),
                None => Err(EBADF),
            },
            "path_unlink_file" if args.len() == 3 => self.path_unlink_file(args, memory),
            _ => Err(ENOSYS),
        };
        result.err().unwrap_or(0)
    }
}
