//! The call plan: which exports to call, in which order, with which arguments,
//! and which exported state to observe after each call.

use crate::wasm::{Val, ValType};
use arbitrary::Unstructured;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One call of a plan: an export and its arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedCall {
    pub export: String,
    pub args: Vec<Val>,
}

/// How to drive a module: every engine makes the same calls in the same order
/// and is observed on the same state, so executions compare step by step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallPlan {
    pub calls: Vec<PlannedCall>,
    /// Exported globals of a type every engine can read, observed after each call.
    pub globals: Vec<String>,
    /// Exported memories, hashed after each call.
    pub memories: Vec<String>,
    /// For a WASI program: the sandbox this run gets (set per engine and
    /// run by the pipeline, never by generation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasi: Option<crate::generate::wasi::WasiSetup>,
    /// Per engine, the ahead-of-time compiler options to use instead of the
    /// engine's own choice (a finding's, see `Engine::pin_compile_options`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compile_options: BTreeMap<String, String>,
}

impl CallPlan {
    /// The same plan for the module with exports renamed (old, new).
    pub fn with_renamed_exports(&self, renames: &[(String, String)]) -> CallPlan {
        let rename = |name: &String| {
            renames
                .iter()
                .find(|(old, _)| old == name)
                .map_or_else(|| name.clone(), |(_, new)| new.clone())
        };
        CallPlan {
            calls: self
                .calls
                .iter()
                .map(|c| PlannedCall {
                    export: rename(&c.export),
                    args: c.args.clone(),
                })
                .collect(),
            globals: self.globals.iter().map(rename).collect(),
            wasi: self.wasi.clone(),
            memories: self.memories.iter().map(rename).collect(),
            compile_options: self.compile_options.clone(),
        }
    }
}

/// An exported function the harness can call: numeric and `funcref`/`externref`
/// signatures cross every engine's embedding API the same way.
#[derive(Clone, Debug)]
pub struct CallableExport {
    pub name: String,
    pub params: Vec<ValType>,
}

/// What the plan needs to know about a module's exports.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    pub funcs: Vec<CallableExport>,
    pub globals: Vec<String>,
    pub memories: Vec<String>,
    /// The module imports something (from the host, or what no engine defines).
    pub has_imports: bool,
    /// Exported functions of any signature: what a `Val::FuncExport` counts.
    pub func_exports: u32,
}

/// Globals are observed when the harness has their type: a reference one
/// by null-ness (and an externref by the host's identity), as results are.
fn observable(t: &wasmparser::ValType) -> bool {
    ValType::of(t).is_some()
}

impl Exports {
    /// Every export's name, whatever its kind.
    pub fn names(wasm: &[u8]) -> Vec<String> {
        use wasmparser::Payload;
        let mut names = vec![];
        for p in wasmparser::Parser::new(0).parse_all(wasm) {
            if let Ok(Payload::ExportSection(r)) = p {
                names.extend(
                    r.into_iter()
                        .filter_map(|e| e.ok())
                        .map(|e| e.name.to_string()),
                );
            }
        }
        names
    }

    /// Whether any import, export or custom section name contains a NUL byte.
    pub fn names_contain_nul(wasm: &[u8]) -> bool {
        use wasmparser::Payload;
        wasmparser::Parser::new(0).parse_all(wasm).any(|p| match p {
            Ok(Payload::ExportSection(r)) => r
                .into_iter()
                .any(|e| e.is_ok_and(|e| e.name.contains('\0'))),
            Ok(Payload::ImportSection(r)) => r
                .into_imports()
                .any(|i| i.is_ok_and(|i| i.module.contains('\0') || i.name.contains('\0'))),
            Ok(Payload::CustomSection(c)) => c.name().contains('\0'),
            _ => false,
        })
    }

    /// Reads exports and their types with wasmparser (no validation).
    pub fn read(wasm: &[u8]) -> wasmparser::Result<Exports> {
        use wasmparser::{ExternalKind, Payload, TypeRef};
        let mut types: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
        let mut func_types: Vec<u32> = Vec::new();
        let mut global_observable: Vec<bool> = Vec::new();
        let mut out = Exports::default();
        let mut exports = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::TypeSection(r) => {
                    for ty in r.into_iter_err_on_gc_types() {
                        let f = ty?;
                        let p: Option<Vec<_>> = f.params().iter().map(ValType::of).collect();
                        let q: Option<Vec<_>> = f.results().iter().map(ValType::of).collect();
                        types.push(p.zip(q));
                    }
                }
                Payload::ImportSection(r) => {
                    for imp in r.into_imports() {
                        out.has_imports = true;
                        match imp?.ty {
                            TypeRef::Func(t) => func_types.push(t),
                            TypeRef::Global(g) => {
                                global_observable.push(observable(&g.content_type))
                            }
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(r) => {
                    for t in r {
                        func_types.push(t?);
                    }
                }
                Payload::GlobalSection(r) => {
                    for g in r {
                        global_observable.push(observable(&g?.ty.content_type));
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e?;
                        exports.push((e.name.to_string(), e.kind, e.index));
                    }
                }
                _ => {}
            }
        }
        for (name, kind, index) in exports {
            match kind {
                ExternalKind::Func => {
                    out.func_exports += 1;
                    let sig = func_types
                        .get(index as usize)
                        .and_then(|t| types.get(*t as usize));
                    if let Some(Some((params, _))) = sig {
                        out.funcs.push(CallableExport {
                            name,
                            params: params.clone(),
                        });
                    }
                }
                ExternalKind::Global if global_observable.get(index as usize) == Some(&true) => {
                    out.globals.push(name)
                }
                ExternalKind::Memory => out.memories.push(name),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// A value of type `t` for a module with `funcs` exported functions: an edge
/// value half the time (references: always one, or for a funcref one of the
/// module's exported functions).
fn arbitrary_value(t: ValType, u: &mut Unstructured, funcs: u32) -> arbitrary::Result<Val> {
    if t == ValType::FuncRef && funcs > 0 && u.arbitrary()? {
        return Ok(Val::FuncExport(u.int_in_range(0..=funcs - 1)?));
    }
    let edges = super::edges::values(t.name());
    if u.ratio(1u8, 2u8)? {
        return Ok(*u.choose(&edges)?);
    }
    Ok(match t {
        ValType::I32 => Val::I32(u.arbitrary()?),
        ValType::I64 => Val::I64(u.arbitrary()?),
        // Canonical NaN only: payload bits are not portable across engines.
        ValType::F32 => Val::F32(canonical_f32(u.arbitrary()?)),
        ValType::F64 => Val::F64(canonical_f64(u.arbitrary()?)),
        // Every reference the harness can pass is one of the edges.
        ValType::FuncRef | ValType::ExternRef => *u.choose(&edges)?,
    })
}

fn canonical_f32(b: u32) -> u32 {
    if f32::from_bits(b).is_nan() {
        f32::NAN.to_bits()
    } else {
        b
    }
}
fn canonical_f64(b: u64) -> u64 {
    if f64::from_bits(b).is_nan() {
        f64::NAN.to_bits()
    } else {
        b
    }
}

impl CallPlan {
    /// Every callable export, `rounds` times, in export order; arguments from the
    /// input (an exhausted input yields zeros, so plans are always complete).
    pub fn build(wasm: &[u8], u: &mut Unstructured, rounds: usize) -> wasmparser::Result<CallPlan> {
        let exports = Exports::read(wasm)?;
        let mut plan = CallPlan {
            globals: exports.globals.clone(),
            memories: exports.memories.clone(),
            calls: vec![],
            ..CallPlan::default()
        };
        let funcs = exports.func_exports;
        for _ in 0..rounds {
            for f in &exports.funcs {
                let args = f
                    .params
                    .iter()
                    .map(|t| arbitrary_value(*t, u, funcs).unwrap_or(zero(*t)))
                    .collect();
                plan.calls.push(PlannedCall {
                    export: f.name.clone(),
                    args,
                });
            }
        }
        Ok(plan)
    }

    /// A plan with fixed arguments (zeros, then the edge values in turn): for
    /// modules that come without fuzz input (`wasmsieve run`, spec modules).
    pub fn fixed(wasm: &[u8], rounds: usize) -> wasmparser::Result<CallPlan> {
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 37 % 251) as u8).collect();
        let mut u = Unstructured::new(&data);
        let mut plan = CallPlan::build(wasm, &mut u, rounds.saturating_sub(1))?;
        let exports = Exports::read(wasm)?;
        let zeros = exports.funcs.iter().map(|f| PlannedCall {
            export: f.name.clone(),
            args: f.params.iter().map(|t| zero(*t)).collect(),
        });
        plan.calls.splice(0..0, zeros);
        Ok(plan)
    }
}

/// The simplest value of a type: zero, or null.
pub fn zero(t: ValType) -> Val {
    match t {
        ValType::I32 => Val::I32(0),
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        ValType::FuncRef => Val::FuncRef { non_null: false },
        ValType::ExternRef => Val::ExternRef(None),
    }
}
