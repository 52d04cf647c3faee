//! The last tidying of a shrunk module, for the reader of `min.wat`: locals
//! no instruction reads or writes are dropped, and function types no one uses,
//! or that repeat an earlier one, are dropped with every reference renumbered.
//! wasm-shrink removes items but keeps locals and types whole; the shrinker
//! keeps the result only when the finding still reproduces with it.

use std::collections::BTreeSet;
use wasm_encoder::reencode::{self, Reencode};
use wasmparser::{FuncType, Operator};

/// A function with more declared locals than this is left as it is.
const MAX_LOCALS: u64 = 50_000;

/// The module without unused locals and unused or repeated function types;
/// `None` when it cannot be read or nothing changes.
pub fn tidy(wasm: &[u8]) -> Option<Vec<u8>> {
    let types = func_types(wasm)?;
    // Which types are named anywhere: every reference goes through type_index.
    let mut used = UsedTypes::default();
    used.parse_core_module(
        &mut wasm_encoder::Module::new(),
        wasmparser::Parser::new(0),
        wasm,
    )
    .ok()?;
    // Kept: the first use of each distinct simple function type; a type that
    // is not one (GC, explicit rec groups) is kept as it is.
    let mut map = vec![None; types.len()];
    let mut kept: Vec<u32> = vec![];
    for old in used
        .0
        .iter()
        .map(|&t| t as usize)
        .filter(|&t| t < types.len())
    {
        let same = types[old].as_ref().and_then(|ty| {
            kept.iter()
                .position(|&k| types[k as usize].as_ref() == Some(ty))
        });
        map[old] = Some(match same {
            Some(new) => new as u32,
            None => {
                kept.push(old as u32);
                kept.len() as u32 - 1
            }
        });
    }
    let mut t = Tidy {
        types,
        map,
        kept: kept.into_iter().collect(),
        funcs: vec![],
        imported: 0,
        bodies: 0,
    };
    let mut module = wasm_encoder::Module::new();
    t.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .ok()?;
    let out = module.finish();
    (out != wasm).then_some(out)
}

/// Each type of the type section: its function type when it is a plain one
/// (implicit rec group, final, no supertype), else `None`.
fn func_types(wasm: &[u8]) -> Option<Vec<Option<FuncType>>> {
    let mut out = vec![];
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::TypeSection(reader) = payload.ok()? {
            for group in reader {
                let group = group.ok()?;
                let explicit = group.is_explicit_rec_group();
                for sub in group.into_types() {
                    let plain = !explicit && sub.is_final && sub.supertype_idxs.is_empty();
                    out.push(match &sub.composite_type.inner {
                        wasmparser::CompositeInnerType::Func(f)
                            if plain && !sub.composite_type.shared =>
                        {
                            Some(f.clone())
                        }
                        _ => None,
                    });
                }
            }
        }
    }
    Some(out)
}

#[derive(Default)]
struct UsedTypes(BTreeSet<u32>);

impl Reencode for UsedTypes {
    type Error = std::convert::Infallible;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Self::Error>> {
        self.0.insert(ty);
        Ok(ty)
    }
}

struct Tidy {
    types: Vec<Option<FuncType>>,
    /// Old type index to new, for used types.
    map: Vec<Option<u32>>,
    /// Old indices of the types written, in order.
    kept: BTreeSet<u32>,
    /// Old type index of every function, imported ones first.
    funcs: Vec<u32>,
    /// How many of them are imported.
    imported: usize,
    /// Bodies read so far.
    bodies: usize,
}

impl Reencode for Tidy {
    type Error = std::convert::Infallible;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Self::Error>> {
        // Every use was seen by UsedTypes, so every one is mapped.
        Ok(self.map.get(ty as usize).copied().flatten().unwrap_or(ty))
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let mut index = 0u32;
        for group in section {
            let group = group?;
            let n = group.types().len() as u32;
            // A group is kept whole when any of its types is.
            if (index..index + n).any(|t| self.kept.contains(&t)) {
                self.parse_recursive_type_group(types.ty(), group)?;
            }
            index += n;
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for import in section.clone().into_imports() {
            if let wasmparser::TypeRef::Func(t) = import?.ty {
                self.funcs.push(t);
            }
        }
        reencode::utils::parse_import_section(self, imports, section)
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        self.imported = self.funcs.len();
        for t in section.clone() {
            self.funcs.push(t?);
        }
        reencode::utils::parse_function_section(self, functions, section)
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.imported + self.bodies;
        self.bodies += 1;
        let params = self
            .funcs
            .get(index)
            .and_then(|&t| self.types.get(t as usize))
            .and_then(|t| t.as_ref())
            .map(|t| t.params().len() as u32);
        let mut declared = vec![];
        let mut count = 0u64;
        for pair in func.get_locals_reader()? {
            let (n, ty) = pair?;
            count += u64::from(n);
            if count > MAX_LOCALS {
                break;
            }
            declared.extend(std::iter::repeat_n(ty, n as usize));
        }
        let Some(params) = params.filter(|_| count <= MAX_LOCALS) else {
            return reencode::utils::parse_function_body(self, code, func);
        };
        let mut used = vec![false; declared.len()];
        let mut ops = func.get_operators_reader()?;
        while !ops.eof() {
            if let Operator::LocalGet { local_index }
            | Operator::LocalSet { local_index }
            | Operator::LocalTee { local_index } = ops.read()?
            {
                if let Some(u) = local_index
                    .checked_sub(params)
                    .and_then(|i| used.get_mut(i as usize))
                {
                    *u = true;
                }
            }
        }
        let mut new_index = vec![0u32; declared.len()];
        let mut locals = vec![];
        for (i, ty) in declared.iter().enumerate() {
            if used[i] {
                new_index[i] = params + locals.len() as u32;
                locals.push(self.val_type(*ty)?);
            }
        }
        let renumber = |local_index: u32| match local_index.checked_sub(params) {
            Some(i) => new_index.get(i as usize).copied().unwrap_or(local_index),
            None => local_index,
        };
        let mut f = wasm_encoder::Function::new_with_locals_types(locals);
        let mut ops = func.get_operators_reader()?;
        while !ops.eof() {
            let op = match ops.read()? {
                Operator::LocalGet { local_index } => Operator::LocalGet {
                    local_index: renumber(local_index),
                },
                Operator::LocalSet { local_index } => Operator::LocalSet {
                    local_index: renumber(local_index),
                },
                Operator::LocalTee { local_index } => Operator::LocalTee {
                    local_index: renumber(local_index),
                },
                op => op,
            };
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }

    #[test]
    fn unused_locals_and_repeated_types_go_and_the_module_means_the_same() {
        // The shape shrinking left in a real finding: a repeated type and
        // eighteen locals of which one is used.
        let before = wat(r#"(module
            (type (func))
            (type (func))
            (type (func (param i32) (result i32)))
            (type (func (param f64)))
            (import "host" "nop" (func (type 0)))
            (func (export "f") (type 1) (local i32 v128 i64 f32)
                i64.const 7 local.set 2
                return_call 0)
            (func (export "g") (type 2) (param i32) (result i32) (local f32 i32)
                local.get 0 local.set 2 local.get 2)
            (table 1 funcref)
            (func (export "h") (type 1)
                i32.const 0 call_indirect (type 1)))"#);
        let after = tidy(&before).expect("something to tidy");
        wasmparser::Validator::new().validate_all(&after).unwrap();
        let text = wasmprinter::print_bytes(&after).unwrap();
        // Types: (func) once and the i32 one; the unused f64 one is gone.
        assert_eq!(text.matches("(type (;").count(), 2, "{text}");
        assert!(!text.contains("f64"), "{text}");
        // Locals: f keeps its i64, g its i32 (renumbered after the param).
        assert!(text.contains("(local i64)"), "{text}");
        assert!(text.contains("(local i32)"), "{text}");
        assert!(
            text.contains("local.set 1") && text.contains("local.get 1"),
            "{text}"
        );
        assert!(!text.contains("v128") && !text.contains("f32"), "{text}");
        // Tidy again: nothing left.
        assert_eq!(tidy(&after), None);
    }

    #[test]
    fn modules_it_cannot_read_are_left_alone() {
        assert_eq!(tidy(b"\0asm\x01\0\0\0\x01\xff"), None);
    }
}
