//! Wasm itself: values and their types as they cross an engine boundary,
//! reading a module from disk, the one feature set (see [`features`]) and the
//! one host every engine gives imports ([`host`]).

pub mod features;
pub mod hex;
pub mod host;
pub mod leb;
pub mod names;

use serde::{Deserialize, Serialize};
use std::path::Path;

/// A Wasm value as observed at the boundary. Floats are kept as bit patterns so
/// that NaN payloads survive the trip (the oracle decides how to compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// A `funcref`, observed only as null or not: which function it names is
    /// an engine's own handle (an index, a pointer), not comparable across
    /// engines. Plans pass null this way.
    FuncRef {
        non_null: bool,
    },
    /// A reference to the module's `n`-th exported function (functions only,
    /// in export order, see [`func_exports`]): how plans pass a non-null
    /// `funcref`, named alike in every engine. Never a result.
    FuncExport(u32),
    /// An `externref`: null, or a value the host made (a small integer
    /// identity, the same in every engine; Wasm cannot make one itself).
    ExternRef(Option<u32>),
}

impl Val {
    pub fn ty(self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef { .. } | Val::FuncExport(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Val::I32(v) => write!(f, "i32:{v}"),
            Val::I64(v) => write!(f, "i64:{v}"),
            Val::F32(b) => write!(f, "f32:{}", f32::from_bits(b)),
            Val::F64(b) => write!(f, "f64:{}", f64::from_bits(b)),
            Val::FuncRef { non_null: false } => write!(f, "funcref:null"),
            Val::FuncRef { non_null: true } => write!(f, "funcref:non-null"),
            Val::FuncExport(n) => write!(f, "funcref:export#{n}"),
            Val::ExternRef(None) => write!(f, "externref:null"),
            Val::ExternRef(Some(id)) => write!(f, "externref:{id}"),
        }
    }
}

/// Value types the harness can pass and read across every engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    /// Nullable `funcref`.
    FuncRef,
    /// Nullable `externref`.
    ExternRef,
}

impl ValType {
    /// The harness's type for a wasmparser value type, if it has one.
    pub fn of(t: &wasmparser::ValType) -> Option<ValType> {
        Some(match *t {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::Ref(r) if r == wasmparser::RefType::FUNCREF => ValType::FuncRef,
            wasmparser::ValType::Ref(r) if r == wasmparser::RefType::EXTERNREF => {
                ValType::ExternRef
            }
            _ => return None,
        })
    }

    /// Its WAT name.
    pub fn name(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        }
    }

    pub fn is_numeric(self) -> bool {
        !matches!(self, ValType::FuncRef | ValType::ExternRef)
    }
}

/// Lower-case hex of bytes: digests, signature ids.
pub use hex::encode as to_hex;

/// FNV-1a: a hash that stays the same across builds and machines, for every
/// decision a re-run must repeat (per-module draws, the sampled reference
/// share, corpus file names); std's `DefaultHasher` promises no such thing.
pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Reads a .wasm or .wat file (`-`: standard input), with an error that says
/// what is wrong.
/// The module's exported functions in export order, as (export name,
/// function index): what a [`Val::FuncExport`] names, looked up by name in
/// engines that have names and by index in those that take indices.
pub fn func_exports(wasm: &[u8]) -> Vec<(String, u32)> {
    use wasmparser::{ExternalKind, Payload};
    for p in wasmparser::Parser::new(0).parse_all(wasm) {
        match p {
            Ok(Payload::ExportSection(r)) => {
                return r
                    .into_iter()
                    .filter_map(|e| e.ok())
                    .filter(|e| e.kind == ExternalKind::Func)
                    .map(|e| (e.name.to_string(), e.index))
                    .collect()
            }
            // The export section comes before the code: nothing after it.
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => break,
            _ => {}
        }
    }
    vec![]
}

/// The largest input module read (.wasm, .wat or .aot): a larger file is
/// refused, not parsed.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Reads a module from a .wasm or .wat file (`-`: standard input).
pub fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_input(path)?;
    anyhow::ensure!(
        !bytes.is_empty(),
        "{} is empty: give a Wasm module (.wasm or .wat)",
        path.display()
    );
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    parse_wat(path, &bytes, "\\0asm header", "")
}

/// The bytes of an input file (`-`: standard input), refused unread past
/// [`MAX_INPUT_BYTES`].
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![];
    // One byte past the limit tells a file over it, without reading it all.
    let read = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| match path == Path::new("-") {
        true => anyhow::anyhow!("cannot read standard input: {e}"),
        false => anyhow::anyhow!("cannot read {}: {e}", path.display()),
    })?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_INPUT_BYTES,
        "{} is over {} MiB: not read (an input module is at most that large)",
        path.display(),
        MAX_INPUT_BYTES >> 20
    );
    Ok(bytes)
}

/// A module from WAT text. Binary data (zeros included, which are UTF-8)
/// is refused without being parsed, so no error echoes it back (`hint`
/// follows that refusal, after the `headers` looked for); the parser's
/// quote of a long line is cut.
pub fn parse_wat(path: &Path, bytes: &[u8], headers: &str, hint: &str) -> anyhow::Result<Vec<u8>> {
    let binary = || {
        anyhow::anyhow!(
            "{} is not a Wasm module: no {headers} and not WAT text{hint}",
            path.display()
        )
    };
    let text = std::str::from_utf8(bytes).map_err(|_| binary())?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(binary());
    }
    wat::parse_str(text).map_err(|e| {
        let message: Vec<String> = e
            .to_string()
            .lines()
            .map(|l| match l.char_indices().nth(200) {
                Some((at, _)) => format!("{}...", &l[..at]),
                None => l.to_string(),
            })
            .collect();
        anyhow::anyhow!(
            "{} is not a Wasm module: not valid WAT: {}",
            path.display(),
            message.join("\n")
        )
    })
}

/// The instruction at a module offset (as engines report trap sites), named
/// by wasmparser's operator name (`I32Load`, `TableGet`, ...). An optimizing
/// compiler may report a trap at the instruction its access was fused into
/// (a load folded into the `i32.popcnt` that uses it): when the instruction
/// there is not one `can_trap` accepts, the nearest one before it in the same
/// function that is (within a few instructions) is the site.
pub fn instruction_at(wasm: &[u8], offset: u32, can_trap: impl Fn(&str) -> bool) -> Option<String> {
    const LOOK_BACK: usize = 8;
    let offset = u64::from(offset);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        if !body.range().contains(&offset) {
            continue;
        }
        let mut ops = body.get_operators_reader().ok()?;
        let mut names = vec![];
        while !ops.eof() {
            let (op, at) = ops.read_with_offset().ok()?;
            let name = format!("{op:?}");
            names.push(name.split([' ', '{', '(']).next()?.to_string());
            if at == offset {
                let back = names.iter().rev().take(LOOK_BACK + 1);
                return back
                    .clone()
                    .find(|n| can_trap(n))
                    .or_else(|| names.last())
                    .cloned();
            }
        }
        return None;
    }
    None
}
