//! The host: the one set of definitions every engine gives a module's
//! imports (module `host`), so generated modules may import them and the
//! host-call paths of every engine are exercised. Each function is pure and
//! deterministic (wrapping arithmetic, canonical NaN), computed here once
//! for every engine.
//!
//! Functions only: WAMR's embedding API (2.4, without multi-module) has no
//! way to define an imported global, memory or table for a module (they
//! resolve only against another loaded .wasm, or a fixed built-in spectest
//! list), so a module importing one stays not comparable.

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

/// How many of a module's imports the host does not define (with their
/// exact types): such a module cannot be instantiated the same way in every
/// engine. 0 for a module that does not parse (the engine rejects it).
pub fn undefined_imports(wasm: &[u8]) -> usize {
    use wasmparser::{Payload, TypeRef};
    let mut types = vec![];
    let mut undefined = 0;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::TypeSection(r)) => {
                for t in r.into_iter_err_on_gc_types() {
                    types.push(t.ok());
                }
            }
            Ok(Payload::ImportSection(r)) => {
                for i in r.into_imports().flatten() {
                    let defined = match i.ty {
                        TypeRef::Func(t) => types
                            .get(t as usize)
                            .and_then(Option::as_ref)
                            .and_then(|ty| find(i.module, i.name, ty))
                            .is_some(),
                        _ => false,
                    };
                    undefined += usize::from(!defined);
                }
            }
            _ => {}
        }
    }
    undefined
}

/// The host's definitions as a module of imports (WAT), for generators that
/// draw imports from a list.
pub fn imports_wat() -> String {
    let list = |kw: &str, ts: &[ValType]| -> String {
        let names: Vec<&str> = ts.iter().map(|t| t.name()).collect();
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({kw} {})", names.join(" "))
        }
    };
    let imports: Vec<String> = FUNCS
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
    format!("(module {})", imports.join(" "))
}
