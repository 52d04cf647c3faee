//! Bulk-memory probes: `memory.copy` and `memory.fill` over a generated
//! module's memory, added as exports that the call plan drives with edge
//! operands (ranges at and across the end of memory). wasm-smith rarely
//! emits these operators itself (each needs three operands of the right
//! types on its random stack: `memory.copy` appeared in 3 of 3,000 default
//! modules), so without the probes every mode's bulk-memory paths went
//! nearly untested outside the sweep.

use wasm_encoder::reencode::{utils, Error, Reencode};
use wasmparser::{Parser, Payload, TypeRef};

/// Export names of the probes.
pub const COPY: &str = "probe.memory.copy";
pub const FILL: &str = "probe.memory.fill";

/// What the rewrite needs to know of the module.
struct Shape {
    types: u32,
    funcs: u32,
    memory64: bool,
}

/// The module's shape, when it has a memory and every section the probes
/// extend (types, functions, exports, code), and no export by a probe's name.
fn shape(wasm: &[u8]) -> Option<Shape> {
    let (mut types, mut funcs, mut memory64) = (None, None, None);
    let (mut imported, mut exports, mut code) = (0u32, false, false);
    for p in Parser::new(0).parse_all(wasm) {
        match p.ok()? {
            Payload::TypeSection(r) => {
                let mut n = 0u32;
                for g in r {
                    n += u32::try_from(g.ok()?.types().len()).ok()?;
                }
                types = Some(n);
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    match i.ok()?.ty {
                        TypeRef::Func(_) => imported += 1,
                        TypeRef::Memory(m) => memory64 = memory64.or(Some(m.memory64)),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => funcs = Some(r.count()),
            Payload::MemorySection(r) => {
                if let Some(m) = r.into_iter().next() {
                    memory64 = memory64.or(Some(m.ok()?.memory64));
                }
            }
            Payload::ExportSection(r) => {
                exports = true;
                for e in r {
                    if [COPY, FILL].contains(&e.ok()?.name) {
                        return None;
                    }
                }
            }
            Payload::CodeSectionStart { .. } => code = true,
            _ => {}
        }
    }
    (exports && code).then_some(())?;
    Some(Shape {
        types: types?,
        funcs: imported + funcs?,
        memory64: memory64?,
    })
}

/// Appends the probes' types, functions, exports and bodies to the
/// sections they belong in; everything else is copied as it is.
struct AddProbes {
    shape: Shape,
}

impl AddProbes {
    fn address(&self) -> wasm_encoder::ValType {
        match self.shape.memory64 {
            true => wasm_encoder::ValType::I64,
            false => wasm_encoder::ValType::I32,
        }
    }
}

impl Reencode for AddProbes {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        let a = self.address();
        // copy(dst, src, len); fill(dst, value, len)
        types.ty().function([a, a, a], []);
        types.ty().function([a, wasm_encoder::ValType::I32, a], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_function_section(self, functions, section)?;
        functions.function(self.shape.types);
        functions.function(self.shape.types + 1);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_export_section(self, exports, section)?;
        let f = self.shape.funcs;
        exports.export(COPY, wasm_encoder::ExportKind::Func, f);
        exports.export(FILL, wasm_encoder::ExportKind::Func, f + 1);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        use wasm_encoder::{Function, Instruction as I};
        utils::parse_code_section(self, code, section)?;
        for op in [
            I::MemoryCopy {
                src_mem: 0,
                dst_mem: 0,
            },
            I::MemoryFill(0),
        ] {
            let mut f = Function::new([]);
            f.instruction(&I::LocalGet(0))
                .instruction(&I::LocalGet(1))
                .instruction(&I::LocalGet(2))
                .instruction(&op)
                .instruction(&I::End);
            code.function(&f);
        }
        Ok(())
    }
}

/// The module with the probes added; `None` when it has no memory or lacks
/// a section they extend (then it stays as it is).
pub fn add(wasm: &[u8]) -> Option<Vec<u8>> {
    let mut r = AddProbes {
        shape: shape(wasm)?,
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, Parser::new(0), wasm)
        .ok()?;
    Some(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_added_valid_and_exported_for_both_address_types() {
        for (mem, a) in [("(memory 1 2)", "i32"), ("(memory i64 1 2)", "i64")] {
            let wasm = wat::parse_str(format!(
                r#"(module {mem} (func (export "f") (result i32) i32.const 1))"#
            ))
            .unwrap();
            let out = add(&wasm).expect("a module with memory gets probes");
            wasmparser::Validator::new().validate_all(&out).unwrap();
            let text = wasmprinter::print_bytes(&out).unwrap();
            assert!(
                text.contains(&format!("(export \"{COPY}\" (func 1))")),
                "{text}"
            );
            assert!(
                text.contains(&format!("(export \"{FILL}\" (func 2))")),
                "{text}"
            );
            assert!(text.contains(&format!("(param {a} {a} {a})")), "{text}");
            assert!(text.contains("memory.copy") && text.contains("memory.fill"));
        }
        let no_memory = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert!(add(&no_memory).is_none());
    }
}
