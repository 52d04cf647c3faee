//! WASI programs: modules that import `wasi_snapshot_preview1` and export
//! small functions, each making one WASI call with arguments from an
//! adversarial dictionary ([`PATHS`], [`FDS`], the flag and rights tables),
//! so the runtime's capability boundary (path resolution, fd table, rights,
//! iovec checks) meets what a hostile guest would try.
//!
//! Memory layout of every program (one page, exported as `memory`):
//! the paths at [`PATHS_AT`], two iovecs at [`IOVS`] over the buffer at
//! [`BUF`], out-parameters at [`OUT`] (the last fd `path_open` returned is
//! the i32 there, so later calls can use it). Each export returns the call's
//! errno. Reads land in the buffer, where the capability oracle looks for the
//! canaries of the files outside the preopened directory.

use arbitrary::Unstructured;
use serde::{Deserialize, Serialize};
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, ImportSection, Instruction as I, MemArg, MemorySection, MemoryType,
    TypeSection, ValType,
};

/// The import module of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";
/// The guest name of the preopened directory (fd 3).
pub const PREOPEN: &str = "sandbox";
/// The arguments and environment of every WASI program (WAMR's shim,
/// `csrc/wsv_shim.c`, states the same).
pub const ARGS: &[&str] = &["wasmsieve", "--case"];
pub const ENV: &[(&str, &str)] = &[("WASMSIEVE", "1")];

/// How an engine is to set WASI up for one run: the host directory it
/// preopens (as [`PREOPEN`], fd 3) and the folder the sandbox lives in.
/// Travels with the call plan (to workers too); made by `exec::wasi`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasiSetup {
    /// The sandbox folder: `root/` (preopened), `outside/` (canaries).
    pub base: std::path::PathBuf,
    pub root: std::path::PathBuf,
    /// Bytes that only reading outside the root gives, each with what it
    /// is, masked ([`mask`]): the plain bytes are never in an engine's
    /// process, so a runtime that leaks its own memory into the guest does
    /// not pass for one that read a file it had no capability for.
    pub canaries: Vec<(String, Vec<u8>)>,
}

/// What canary bytes are XORed with wherever the harness keeps them.
pub const CANARY_MASK: u8 = 0xA5;

/// Bytes masked with [`CANARY_MASK`] (and unmasked: the same).
pub const fn mask<const N: usize>(mut bytes: [u8; N]) -> [u8; N] {
    let mut i = 0;
    while i < N {
        bytes[i] ^= CANARY_MASK;
        i += 1;
    }
    bytes
}

/// Whether a module imports anything from WASI.
/// Asked of every case: it reads no further than the import section.
pub fn imports_wasi(wasm: &[u8]) -> bool {
    use wasmparser::Payload;
    for p in wasmparser::Parser::new(0).parse_all(wasm) {
        match p {
            Ok(Payload::ImportSection(r)) => {
                return r.into_imports().flatten().any(|i| i.module == MODULE)
            }
            // The sections that may come before the imports.
            Ok(Payload::Version { .. } | Payload::TypeSection(_) | Payload::CustomSection(_)) => {}
            _ => return false,
        }
    }
    false
}

/// Argument kinds of the WASI calls, each drawn from its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    /// A file descriptor ([`FDS`]).
    Fd,
    /// A path: two arguments, pointer and length ([`PATHS`]).
    Path,
    /// An iovec array: two arguments, pointer and count.
    Iovs,
    /// A buffer: two arguments, pointer and length.
    Buf,
    /// A pointer to an out-parameter, never [`OUT`]'s fd slot.
    Out,
    /// Where `path_open` puts the fd it opened: [`OUT`], which later calls
    /// read it from (or an edge of memory).
    FdOut,
    /// lookupflags ([`LOOKUP`]).
    Lookup,
    /// oflags ([`OFLAGS`]).
    Oflags,
    /// rights, an i64 ([`RIGHTS`]).
    Rights,
    /// fdflags ([`FDFLAGS`]).
    Fdflags,
    /// A 64-bit offset, size or time ([`OFFSETS`]).
    U64,
    /// whence of `fd_seek` (0..2, and past).
    Whence,
    /// A small i32 (clock ids, fstflags, sdflags, counts, exit codes).
    Small,
    /// `poll_oneoff`'s subscriptions: clocks with a zero timeout, in a
    /// region nothing else writes (a random timeout would block).
    PollIn,
    /// Their count (0 to 4, or every bit set).
    Nsubs,
}

use Arg::*;

/// The WASI calls a program may make, with their arguments, stated once:
/// the import types and the generator read this table.
const CALLS: &[(&str, &[Arg])] = &[
    ("args_sizes_get", &[Out, Out]),
    ("args_get", &[Out, Buf]),
    ("environ_sizes_get", &[Out, Out]),
    ("environ_get", &[Out, Buf]),
    ("clock_time_get", &[Small, U64, Out]),
    ("random_get", &[Buf]),
    ("fd_prestat_get", &[Fd, Out]),
    ("fd_prestat_dir_name", &[Fd, Buf]),
    ("fd_fdstat_get", &[Fd, Out]),
    ("fd_fdstat_set_flags", &[Fd, Fdflags]),
    ("fd_filestat_get", &[Fd, Out]),
    ("fd_filestat_set_size", &[Fd, U64]),
    ("fd_read", &[Fd, Iovs, Out]),
    ("fd_write", &[Fd, Iovs, Out]),
    ("fd_pread", &[Fd, Iovs, U64, Out]),
    ("fd_pwrite", &[Fd, Iovs, U64, Out]),
    ("fd_seek", &[Fd, U64, Whence, Out]),
    ("fd_tell", &[Fd, Out]),
    ("fd_close", &[Fd]),
    ("fd_renumber", &[Fd, Fd]),
    ("fd_readdir", &[Fd, Buf, U64, Out]),
    (
        "path_open",
        &[Fd, Lookup, Path, Oflags, Rights, Rights, Fdflags, FdOut],
    ),
    ("path_create_directory", &[Fd, Path]),
    ("path_remove_directory", &[Fd, Path]),
    ("path_unlink_file", &[Fd, Path]),
    ("path_rename", &[Fd, Path, Fd, Path]),
    ("path_symlink", &[Path, Fd, Path]),
    ("path_readlink", &[Fd, Path, Buf, Out]),
    ("path_link", &[Fd, Lookup, Path, Fd, Path]),
    ("path_filestat_get", &[Fd, Lookup, Path, Out]),
    (
        "path_filestat_set_times",
        &[Fd, Lookup, Path, U64, U64, Small],
    ),
    ("poll_oneoff", &[PollIn, Out, Nsubs, Out]),
    ("sched_yield", &[]),
    ("sock_accept", &[Fd, Small, Out]),
    ("sock_recv", &[Fd, Iovs, Small, Out, Out]),
    ("sock_send", &[Fd, Iovs, Small, Out]),
    ("sock_shutdown", &[Fd, Small]),
    ("proc_exit", &[Small]),
];

/// Paths a hostile guest tries, relative to a directory fd. The sandbox
/// (`exec::wasi`) lays out `a.txt`, `sub/b.txt`, and the links `in`
/// (to `a.txt`), `up` (`../outside/canary.txt`), `abs` (the absolute path
/// of the same), `dangling` and `loop`; `outside/` sits beside the root.
pub const PATHS: &[&[u8]] = &[
    b".",
    b"..",
    b"../outside/canary.txt",
    b"../outside",
    b"a/../../outside/canary.txt",
    b"sub/../../outside/canary.txt",
    b"sub/../a.txt",
    b"/etc/passwd",
    b"/",
    b"",
    b"a.txt",
    b"a.txt/",
    b"sub",
    b"sub/",
    b"sub/b.txt",
    b"in",
    b"up",
    b"abs",
    b"dangling",
    b"loop",
    b"up/x",
    b"sub/new.txt",
    b"new.txt",
    b"newdir",
    b"../new.txt",
    b"../outside/new.txt",
    b"./././a.txt",
    b"a\0b",
    b"\xff\xfe",
    b"sub/..",
    b"sub/../..",
    b"in/..",
];

/// File descriptors: stdio, the preopen, impossible ones; `None` is the fd
/// the last `path_open` returned (read from memory). No other fixed number:
/// WAMR numbers new fds at random, wasmtime-wasi in order, so a fixed 4 is
/// an open fd on one side and none on the other (no difference to judge).
const FDS: &[Option<i32>] = &[
    Some(3),
    Some(3),
    Some(3),
    None,
    None,
    Some(0),
    Some(1),
    Some(2),
    Some(-1),
    Some(9999),
    Some(i32::MAX),
];

const LOOKUP: &[i32] = &[0, 1, 0xffff];
/// oflags: none, CREAT, DIRECTORY, EXCL, TRUNC, CREAT|TRUNC, CREAT|EXCL, all.
const OFLAGS: &[i32] = &[0, 0, 1, 2, 4, 8, 9, 5, 0xffff];
/// Rights: none, read, write, read|seek|readdir, all, all bits.
const RIGHTS: &[i64] = &[
    0,
    1 << 1,
    1 << 6,
    (1 << 1) | (1 << 2) | (1 << 14),
    0x1fff_ffff,
    -1,
];
/// fdflags: none, APPEND, DSYNC, NONBLOCK, RSYNC, SYNC, all bits.
const FDFLAGS: &[i32] = &[0, 1, 2, 4, 8, 16, 0xffff];
const OFFSETS: &[i64] = &[0, 1, 7, 4096, -1, i64::MAX, i64::MIN, 1 << 32];

/// Where things are in a program's memory.
pub const PATHS_AT: u32 = 0;
const IOVS: u32 = 2048;
pub const BUF: u32 = 4096;
const BUF_LEN: u32 = 256;
const OUT: u32 = 3072;
const POLL_IN: u32 = 3584;
/// A long name, past any NAME_MAX.
const LONG_AT: u32 = 8192;
const LONG_LEN: u32 = 1024;
const MEMORY_END: u32 = 65536;

/// The paths' offsets in memory, in [`PATHS`] order.
fn path_offsets() -> Vec<u32> {
    let mut at = PATHS_AT;
    PATHS
        .iter()
        .map(|p| {
            let o = at;
            at += p.len() as u32 + 1;
            o
        })
        .collect()
}

fn wasm_type(a: Arg) -> &'static [ValType] {
    match a {
        Path | Iovs | Buf => &[ValType::I32, ValType::I32],
        Rights | U64 => &[ValType::I64],
        _ => &[ValType::I32],
    }
}

/// Pushes one argument drawn from its table.
fn push_arg(f: &mut Function, a: Arg, u: &mut Unstructured) -> arbitrary::Result<()> {
    let mem = MemArg {
        offset: 0,
        align: 2,
        target: wasm_encoder::MemArgTarget::Memory(0),
        ordering: None,
    };
    match a {
        Fd => match *u.choose(FDS)? {
            Some(fd) => f.instruction(&I::I32Const(fd)),
            None => f
                .instruction(&I::I32Const(OUT as i32))
                .instruction(&I::I32Load(mem)),
        },
        Path => {
            let offsets = path_offsets();
            match u.int_in_range(0..=9u8)? {
                // A long name, then lengths past the end of memory.
                0 => f
                    .instruction(&I::I32Const(LONG_AT as i32))
                    .instruction(&I::I32Const(LONG_LEN as i32)),
                1 => f
                    .instruction(&I::I32Const(MEMORY_END as i32 - 4))
                    .instruction(&I::I32Const(64)),
                _ => {
                    let k = u.choose_index(PATHS.len())?;
                    f.instruction(&I::I32Const(offsets[k] as i32))
                        .instruction(&I::I32Const(PATHS[k].len() as i32))
                }
            }
        }
        Iovs => {
            // One or two iovecs over the buffer; zero of them; many; an
            // array at and past the end of memory.
            let (at, n) = *u.choose(&[
                (IOVS, 1),
                (IOVS, 2),
                (IOVS, 0),
                (IOVS, 1000),
                (MEMORY_END - 8, 1),
                (MEMORY_END, 1),
                (IOVS + 16, 1),
            ])?;
            f.instruction(&I::I32Const(at as i32))
                .instruction(&I::I32Const(n))
        }
        Buf => {
            let (at, n) = *u.choose(&[
                (BUF, BUF_LEN),
                (BUF, 0),
                (BUF, 1),
                (MEMORY_END - 16, 64),
                (MEMORY_END, 1),
            ])?;
            f.instruction(&I::I32Const(at as i32))
                .instruction(&I::I32Const(n as i32))
        }
        // Only `path_open` writes the fd slot: another call's out-parameter
        // there (a filestat's device number) would be read as an fd, a
        // different one on each side.
        Out => {
            let at = *u.choose(&[OUT + 64, OUT + 64, OUT + 128, MEMORY_END - 2, MEMORY_END])?;
            f.instruction(&I::I32Const(at as i32))
        }
        FdOut => {
            let at = *u.choose(&[OUT, OUT, OUT, MEMORY_END - 2, MEMORY_END])?;
            f.instruction(&I::I32Const(at as i32))
        }
        Lookup => f.instruction(&I::I32Const(*u.choose(LOOKUP)?)),
        Oflags => f.instruction(&I::I32Const(*u.choose(OFLAGS)?)),
        Rights => f.instruction(&I::I64Const(*u.choose(RIGHTS)?)),
        Fdflags => f.instruction(&I::I32Const(*u.choose(FDFLAGS)?)),
        U64 => f.instruction(&I::I64Const(*u.choose(OFFSETS)?)),
        Whence => f.instruction(&I::I32Const(u.int_in_range(0..=3)?)),
        Small => f.instruction(&I::I32Const(*u.choose(&[0, 1, 2, 3, 255, -1])?)),
        PollIn => f.instruction(&I::I32Const(POLL_IN as i32)),
        Nsubs => f.instruction(&I::I32Const(*u.choose(&[0, 1, 4, -1])?)),
    };
    Ok(())
}

/// A WASI program of 2 to 12 calls drawn from [`CALLS`], with a call plan
/// that makes them in order. `path_open` comes up more often (most escapes
/// start there), then reads of what it opened.
pub fn program(
    u: &mut Unstructured,
) -> arbitrary::Result<(Vec<u8>, crate::generate::plan::CallPlan)> {
    use crate::generate::plan::{CallPlan, PlannedCall};
    let n = u.int_in_range(2..=12usize)?;
    let mut chosen: Vec<usize> = vec![];
    for _ in 0..n {
        let k = match u.int_in_range(0..=3u8)? {
            0 => index_of("path_open"),
            1 => index_of(u.choose(&["fd_read", "fd_pread", "fd_readdir", "path_readlink"])?),
            _ => u.choose_index(CALLS.len())?,
        };
        chosen.push(k);
    }
    // proc_exit ends the instance: only ever last.
    chosen.retain(|&k| CALLS[k].0 != "proc_exit");
    if u.ratio(1u8, 16u8)? {
        chosen.push(index_of("proc_exit"));
    }
    let mut imported: Vec<usize> = chosen.clone();
    imported.sort_unstable();
    imported.dedup();

    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    for (t, &k) in imported.iter().enumerate() {
        let params: Vec<ValType> = CALLS[k]
            .1
            .iter()
            .flat_map(|a| wasm_type(*a).iter().copied())
            .collect();
        let results: &[ValType] = if CALLS[k].0 == "proc_exit" {
            &[]
        } else {
            &[ValType::I32]
        };
        types.ty().function(params, results.iter().copied());
        imports.import(MODULE, CALLS[k].0, EntityType::Function(t as u32));
    }
    // The exports' type: () -> i32.
    let export_ty = imported.len() as u32;
    types.ty().function([], [ValType::I32]);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut exports = ExportSection::new();
    let mut plan = CallPlan {
        memories: vec!["memory".into()],
        ..Default::default()
    };
    for (i, &k) in chosen.iter().enumerate() {
        let mut f = Function::new([]);
        for a in CALLS[k].1 {
            push_arg(&mut f, *a, u)?;
        }
        let import = imported.iter().position(|&x| x == k).expect("imported") as u32;
        f.instruction(&I::Call(import));
        if CALLS[k].0 == "proc_exit" {
            f.instruction(&I::I32Const(0));
        }
        f.instruction(&I::End);
        funcs.function(export_ty);
        code.function(&f);
        let name = format!("c{i}.{}", CALLS[k].0);
        exports.export(&name, ExportKind::Func, imported.len() as u32 + i as u32);
        plan.calls.push(PlannedCall {
            export: name,
            args: vec![],
        });
    }
    exports.export("memory", ExportKind::Memory, 0);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: Some(1),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut data = DataSection::new();
    let mut paths = vec![];
    for p in PATHS {
        paths.extend_from_slice(p);
        paths.push(0);
    }
    data.active(0, &ConstExpr::i32_const(PATHS_AT as i32), paths);
    // Two iovecs over the two halves of the buffer.
    let mut iovs = vec![];
    for (at, len) in [(BUF, BUF_LEN / 2), (BUF + BUF_LEN / 2, BUF_LEN / 2)] {
        iovs.extend(at.to_le_bytes());
        iovs.extend(len.to_le_bytes());
    }
    data.active(0, &ConstExpr::i32_const(IOVS as i32), iovs);
    data.active(
        0,
        &ConstExpr::i32_const(LONG_AT as i32),
        vec![b'n'; LONG_LEN as usize],
    );
    // Four clock subscriptions (48 bytes each: userdata, tag 0 = clock,
    // clock id 1 = monotonic, timeout 0, precision, flags): all zero but the id.
    let mut subs = vec![0u8; 4 * 48];
    for k in 0..4 {
        subs[k * 48 + 16] = 1;
    }
    data.active(0, &ConstExpr::i32_const(POLL_IN as i32), subs);
    // No fd opened yet: the slot holds an fd no one has.
    data.active(0, &ConstExpr::i32_const(OUT as i32), 77i32.to_le_bytes());

    let mut module = wasm_encoder::Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    Ok((module.finish(), plan))
}

fn index_of(name: &str) -> usize {
    CALLS
        .iter()
        .position(|(n, _)| *n == name)
        .expect("a WASI call of the table")
}

/// The WASI function an export of a generated program calls (`c3.path_open`).
/// Whether `name` is a WASI call programs make.
pub fn is_call(name: &str) -> bool {
    CALLS.iter().any(|(n, _)| *n == name)
}

pub fn call_of(export: &str) -> Option<&str> {
    export
        .split_once('.')
        .map(|(_, f)| f)
        .filter(|f| CALLS.iter().any(|(n, _)| n == f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_validate_and_plan_their_calls() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..300u64 {
            let data = crate::generate::seed_bytes(seed, 512);
            let mut u = Unstructured::new(&data);
            let (wasm, plan) = program(&mut u).unwrap();
            wasmparser::Validator::new().validate_all(&wasm).unwrap();
            assert!(imports_wasi(&wasm));
            assert!(!plan.calls.is_empty());
            for c in &plan.calls {
                seen.insert(call_of(&c.export).unwrap().to_string());
            }
        }
        // Every call of the table comes up.
        assert_eq!(seen.len(), CALLS.len(), "{seen:?}");
    }
}
