//! The host: the one set of definitions every engine gives a module's
//! imports, so generated modules may import them and the import paths of
//! every engine are exercised.
//!
//! - Functions (module `host`): pure and deterministic (wrapping arithmetic,
//!   canonical NaN), computed here once for every engine.
//! - Memories and tables (module `env`): a fresh one of the type the import
//!   declares. That is what WAMR does for its built-in `env` module (as
//!   wasi-sdk's `--import-memory`, `--import-table` and wasi-threads' shared
//!   memory expect), and stock iwasm does the same.
//! - Globals (module `global`): libc-builtin's constants `NaN` and
//!   `Infinity` (f64, immutable).
//!
//! WAMR's embedding API (2.4, without multi-module) can define no other
//! global, memory or table (they resolve only against another loaded .wasm),
//! so a module importing anything else stays not comparable.

use super::features::FeatureSet;
use super::{Val, ValType};

/// The import module name of every host definition.
pub const MODULE: &str = "host";

/// One host function: its import name, type and what it computes.
pub struct HostFunc {
    pub name: &'static str,
    /// Numeric types only: every engine's host-function API takes them alike.
    pub params: &'static [ValType],
    /// At most one: WAMR's native functions return one value.
    pub results: &'static [ValType],
    /// Takes arguments of `params`' types (engines check the import's type
    /// when they link it).
    pub run: fn(&[Val]) -> Option<Val>,
}

use ValType::{F64, I32, I64};

pub const FUNCS: &[HostFunc] = &[
    HostFunc {
        name: "i32",
        params: &[I32],
        results: &[I32],
        run: |a| match a {
            [Val::I32(x)] => Some(Val::I32(x.wrapping_mul(2).wrapping_add(1))),
            _ => None,
        },
    },
    HostFunc {
        name: "i64",
        params: &[I64, I64],
        results: &[I64],
        run: |a| match a {
            [Val::I64(x), Val::I64(y)] => Some(Val::I64(x.wrapping_mul(31) ^ y)),
            _ => None,
        },
    },
    HostFunc {
        name: "f64",
        params: &[F64],
        results: &[F64],
        run: |a| match a {
            [Val::F64(x)] => {
                let r = f64::from_bits(*x) * 0.5 + 1.0;
                // NaN payloads differ by hardware path: canonical, as in Wasm code.
                Some(Val::F64(if r.is_nan() { f64::NAN } else { r }.to_bits()))
            }
            _ => None,
        },
    },
    HostFunc {
        name: "nop",
        params: &[],
        results: &[],
        run: |_| None,
    },
];

/// The import module of memories and tables (WAMR's built-in `env`).
pub const ENV: &str = "env";

/// libc-builtin's globals: import module, name, f64 bits.
pub const GLOBALS: &[(&str, &str, u64)] = &[
    ("global", "NaN", 0x7FF8_0000_0000_0000),
    ("global", "Infinity", 0x7FF0_0000_0000_0000),
];

/// What the host gives one import.
#[derive(Clone, Debug, PartialEq)]
pub enum Definition {
    /// Host function `FUNCS[i]`.
    Func(usize),
    /// A fresh memory of the declared type, zeroed.
    Memory(wasmparser::MemoryType),
    /// A fresh table of the declared type, every element null.
    Table(wasmparser::TableType),
    /// An immutable f64 global with these bits.
    ConstF64(u64),
}

/// One import of a module and its definition (`None`: the host has none).
#[derive(Clone, Debug)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub definition: Option<Definition>,
}

impl Import {
    /// A definition made fresh for every instance (memory, table, global).
    pub fn is_state(&self) -> bool {
        matches!(
            self.definition,
            Some(Definition::Memory(_) | Definition::Table(_) | Definition::ConstF64(_))
        )
    }
}

/// The results of host function `index` for `args`.
pub fn call(index: usize, args: &[Val]) -> Vec<Val> {
    (FUNCS[index].run)(args).into_iter().collect()
}

/// The index of a host function by import name and exact type.
fn find(module: &str, name: &str, ty: &wasmparser::FuncType) -> Option<usize> {
    let types = |ts: &[wasmparser::ValType]| -> Option<Vec<ValType>> {
        ts.iter().map(ValType::of).collect()
    };
    FUNCS.iter().position(|f| {
        module == MODULE
            && f.name == name
            && types(ty.params()).as_deref() == Some(f.params)
            && types(ty.results()).as_deref() == Some(f.results)
    })
}

/// A module's imports, in order, each with what the host defines for it
/// (checked against the exact declared type). Empty for a module that does
/// not parse (the engine rejects it).
pub fn imports(wasm: &[u8]) -> Vec<Import> {
    use wasmparser::{Payload, TypeRef};
    let mut types = vec![];
    let mut out = vec![];
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::TypeSection(r)) => {
                for t in r.into_iter_err_on_gc_types() {
                    types.push(t.ok());
                }
            }
            Ok(Payload::ImportSection(r)) => {
                for i in r.into_imports().flatten() {
                    let definition = match i.ty {
                        TypeRef::Func(t) => types
                            .get(t as usize)
                            .and_then(Option::as_ref)
                            .and_then(|ty| find(i.module, i.name, ty))
                            .map(Definition::Func),
                        TypeRef::Memory(m) if i.module == ENV => Some(Definition::Memory(m)),
                        TypeRef::Table(t)
                            if i.module == ENV
                                && [
                                    wasmparser::RefType::FUNCREF,
                                    wasmparser::RefType::EXTERNREF,
                                ]
                                .contains(&t.element_type) =>
                        {
                            Some(Definition::Table(t))
                        }
                        TypeRef::Global(g)
                            if g.content_type == wasmparser::ValType::F64
                                && !g.mutable
                                && !g.shared =>
                        {
                            GLOBALS
                                .iter()
                                .find(|(m, n, _)| *m == i.module && *n == i.name)
                                .map(|(_, _, bits)| Definition::ConstF64(*bits))
                        }
                        _ => None,
                    };
                    out.push(Import {
                        module: i.module.to_string(),
                        name: i.name.to_string(),
                        definition,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether a module imports host functions: stock iwasm has no natives of
/// that name (its memories, tables and globals stock iwasm defines alike).
pub fn imports_functions(wasm: &[u8]) -> bool {
    imports(wasm)
        .iter()
        .any(|i| matches!(i.definition, Some(Definition::Func(_))))
}

/// How many of a module's imports the host does not define: such a module
/// cannot be instantiated the same way in every engine.
pub fn undefined_imports(wasm: &[u8]) -> usize {
    imports(wasm)
        .iter()
        .filter(|i| i.definition.is_none())
        .count()
}

/// The host's definitions as a module of imports (WAT), for generators that
/// draw imports from a list: its functions and globals, and memories and
/// tables of the types `features` allows (a generator copies an import's
/// type as it is listed).
pub fn imports_wat(features: &FeatureSet) -> String {
    let list = |kw: &str, ts: &[ValType]| -> String {
        let names: Vec<&str> = ts.iter().map(|t| t.name()).collect();
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({kw} {})", names.join(" "))
        }
    };
    let mut imports: Vec<String> = FUNCS
        .iter()
        .map(|f| {
            format!(
                "(import \"{MODULE}\" \"{}\" (func{}{}))",
                f.name,
                list("param", f.params),
                list("result", f.results)
            )
        })
        .collect();
    imports.extend(
        GLOBALS
            .iter()
            .map(|(m, n, _)| format!("(import \"{m}\" \"{n}\" (global f64))")),
    );
    let memories = [
        (true, "memory", "1 2"),
        (true, "memory_empty", "0 1"),
        (features.threads, "memory_shared", "1 2 shared"),
        (features.memory64, "memory64", "i64 1 2"),
    ];
    let tables = [
        (true, "table", "1 8 funcref"),
        (features.reference_types, "table_externref", "0 4 externref"),
    ];
    for (kind, items) in [("memory", &memories[..]), ("table", &tables[..])] {
        imports.extend(
            items
                .iter()
                .filter(|(on, _, _)| *on)
                .map(|(_, n, ty)| format!("(import \"{ENV}\" \"{n}\" ({kind} {ty}))")),
        );
    }
    format!("(module {})", imports.join(" "))
}
