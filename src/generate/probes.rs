//! Probes: small exported functions added to a generated module, over its
//! memory, for operators wasm-smith almost never emits in a form that
//! reaches the runtimes' interesting paths. The call plan drives them like
//! any export, with edge operands.
//!
//! - `memory.copy`/`memory.fill` with operands from the plan: each needs
//!   three operands of the right types on wasm-smith's random stack, and
//!   appeared in 3 of 3,000 default modules.
//! - The same with constant operands at and across the end of the initial
//!   memory: compilers check constant ranges at compile time (WAMR's AoT
//!   compiler has its own path for them), which operands from the plan never
//!   reach.
//! - `memory.atomic.wait32/64` on a shared memory with a timeout of at most
//!   a microsecond: generation leaves wasm-smith's waits out, since their
//!   random timeouts block the only thread, so without the probes no engine's
//!   wait path ran.

use arbitrary::Unstructured;
use wasm_encoder::reencode::{utils, Error, Reencode};
use wasm_encoder::{Function, Instruction as I, MemArg, MemArgTarget, ValType};
use wasmparser::{Parser, Payload, TypeRef};

/// Export names of the probes.
pub const COPY: &str = "probe.memory.copy";
pub const FILL: &str = "probe.memory.fill";
pub const COPY_CONST: &str = "probe.memory.copy.const";
pub const FILL_CONST: &str = "probe.memory.fill.const";
pub const WAIT32: &str = "probe.atomic.wait32";
pub const WAIT64: &str = "probe.atomic.wait64";

/// What the rewrite needs to know of the module's first memory.
struct Shape {
    types: u32,
    funcs: u32,
    memory64: bool,
    shared: bool,
    /// Initial size in bytes.
    size: u64,
}

/// The module's shape, when it has a memory and every section the probes
/// extend (types, functions, exports, code), and no export named like a probe.
fn shape(wasm: &[u8]) -> Option<Shape> {
    let (mut types, mut funcs, mut memory) = (None, None, None);
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
                        TypeRef::Memory(m) => memory = memory.or(Some(m)),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => funcs = Some(r.count()),
            Payload::MemorySection(r) => {
                if let Some(m) = r.into_iter().next() {
                    memory = memory.or(Some(m.ok()?));
                }
            }
            Payload::ExportSection(r) => {
                exports = true;
                for e in r {
                    if e.ok()?.name.starts_with("probe.") {
                        return None;
                    }
                }
            }
            Payload::CodeSectionStart { .. } => code = true,
            _ => {}
        }
    }
    (exports && code).then_some(())?;
    let memory = memory?;
    Some(Shape {
        types: types?,
        funcs: imported + funcs?,
        memory64: memory.memory64,
        shared: memory.shared,
        size: memory
            .initial
            .checked_mul(1 << memory.page_size_log2.unwrap_or(16))?,
    })
}

/// One probe: an exported function of its own type.
struct Probe {
    name: &'static str,
    params: Vec<ValType>,
    results: Vec<ValType>,
    body: Vec<I<'static>>,
}

impl Shape {
    fn address(&self) -> ValType {
        if self.memory64 {
            ValType::I64
        } else {
            ValType::I32
        }
    }

    /// The largest address (all ones in the address type).
    fn max(&self) -> u64 {
        if self.memory64 {
            u64::MAX
        } else {
            u32::MAX as u64
        }
    }

    fn address_const(&self, v: u64) -> I<'static> {
        if self.memory64 {
            I::I64Const(v as i64)
        } else {
            I::I32Const(v as u32 as i32)
        }
    }

    /// A constant range `(start, len)` at or across the end of the initial
    /// memory, or wrapping the address space.
    fn edge_range(&self, u: &mut Unstructured) -> arbitrary::Result<(u64, u64)> {
        let max = self.max();
        let start = *u.choose(&[
            0,
            self.size.saturating_sub(8),
            self.size.saturating_sub(1),
            self.size,
            self.size + 1,
            max,
        ])?;
        let len = *u.choose(&[
            0,
            1,
            8,
            9,
            self.size,
            self.size.saturating_sub(start),
            // start + len wraps to 0 or 1 in the address type.
            max.wrapping_sub(start).wrapping_add(1) & max,
            max.wrapping_sub(start).wrapping_add(2) & max,
            max,
        ])?;
        Ok((start, len))
    }

    /// The probes this memory gets, constants drawn from `u`.
    fn probes(&self, u: &mut Unstructured) -> arbitrary::Result<Vec<Probe>> {
        let a = self.address();
        let get = |n: u32| (0..n).map(I::LocalGet).collect::<Vec<_>>();
        let copy = I::MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        };
        let fill = I::MemoryFill(0);
        let mut probes = vec![
            Probe {
                name: COPY,
                params: vec![a, a, a],
                results: vec![],
                body: [get(3), vec![copy.clone()]].concat(),
            },
            Probe {
                name: FILL,
                params: vec![a, ValType::I32, a],
                results: vec![],
                body: [get(3), vec![fill.clone()]].concat(),
            },
        ];
        let (dst, len) = self.edge_range(u)?;
        let (src, _) = self.edge_range(u)?;
        probes.push(Probe {
            name: COPY_CONST,
            params: vec![],
            results: vec![],
            body: vec![
                self.address_const(dst),
                self.address_const(src),
                self.address_const(len),
                copy,
            ],
        });
        let (dst, len) = self.edge_range(u)?;
        probes.push(Probe {
            name: FILL_CONST,
            params: vec![],
            results: vec![],
            body: vec![
                self.address_const(dst),
                I::I32Const(u.arbitrary()?),
                self.address_const(len),
                fill,
            ],
        });
        if self.shared {
            // At most a microsecond: long enough to take the waiting path
            // when the value matches, never long enough to block a campaign.
            let timeout = *u.choose(&[0i64, 1, 1000])?;
            for (name, expected, align) in [(WAIT32, ValType::I32, 2), (WAIT64, ValType::I64, 3)] {
                let arg = MemArg {
                    offset: 0,
                    align,
                    target: MemArgTarget::Memory(0),
                    ordering: None,
                };
                let wait = match align {
                    2 => I::MemoryAtomicWait32(arg),
                    _ => I::MemoryAtomicWait64(arg),
                };
                probes.push(Probe {
                    name,
                    params: vec![a, expected],
                    results: vec![ValType::I32],
                    body: [get(2), vec![I::I64Const(timeout), wait]].concat(),
                });
            }
        }
        Ok(probes)
    }
}

/// Appends the probes' types, functions, exports and bodies to the
/// sections they belong in; everything else is copied as it is.
struct AddProbes {
    shape: Shape,
    probes: Vec<Probe>,
}

impl Reencode for AddProbes {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        for p in &self.probes {
            types
                .ty()
                .function(p.params.iter().copied(), p.results.iter().copied());
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_function_section(self, functions, section)?;
        for i in 0..self.probes.len() as u32 {
            functions.function(self.shape.types + i);
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_export_section(self, exports, section)?;
        for (i, p) in self.probes.iter().enumerate() {
            let index = self.shape.funcs + i as u32;
            exports.export(p.name, wasm_encoder::ExportKind::Func, index);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_code_section(self, code, section)?;
        for p in &self.probes {
            let mut f = Function::new([]);
            for i in &p.body {
                f.instruction(i);
            }
            f.instruction(&I::End);
            code.function(&f);
        }
        Ok(())
    }
}

/// The module with the probes added, their constants drawn from `u`; `None`
/// when it has no memory or lacks a section they extend (then it stays as
/// it is).
pub fn add(wasm: &[u8], u: &mut Unstructured) -> Option<Vec<u8>> {
    let shape = shape(wasm)?;
    let probes = shape.probes(u).ok()?;
    let mut r = AddProbes { shape, probes };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, Parser::new(0), wasm)
        .ok()?;
    Some(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probed(mem: &str, seed: u8) -> String {
        let wasm = wat::parse_str(format!(
            r#"(module {mem} (func (export "f") (result i32) i32.const 1))"#
        ))
        .unwrap();
        let data = [seed; 64];
        let out =
            add(&wasm, &mut Unstructured::new(&data)).expect("a module with memory gets probes");
        let mut features = wasmparser::WasmFeatures::default();
        features.insert(wasmparser::WasmFeatures::THREADS | wasmparser::WasmFeatures::MEMORY64);
        wasmparser::Validator::new_with_features(features)
            .validate_all(&out)
            .unwrap();
        wasmprinter::print_bytes(&out).unwrap()
    }

    #[test]
    fn probes_are_added_valid_and_exported_for_both_address_types() {
        for (mem, a) in [("(memory 1 2)", "i32"), ("(memory i64 1 2)", "i64")] {
            let text = probed(mem, 7);
            for (i, name) in [COPY, FILL, COPY_CONST, FILL_CONST].iter().enumerate() {
                let export = format!("(export \"{name}\" (func {}))", i + 1);
                assert!(text.contains(&export), "{text}");
            }
            assert!(text.contains(&format!("(param {a} {a} {a})")), "{text}");
            assert!(text.contains(&format!("{a}.const")), "{text}");
            assert!(!text.contains("atomic.wait"), "unshared memory: {text}");
        }
        let no_memory = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert!(add(&no_memory, &mut Unstructured::new(&[])).is_none());
    }

    #[test]
    fn shared_memories_get_bounded_waits() {
        let text = probed("(memory 1 2 shared)", 3);
        for name in [WAIT32, WAIT64] {
            assert!(text.contains(&format!("(export \"{name}\"")), "{text}");
        }
        assert!(text.contains("memory.atomic.wait32") && text.contains("memory.atomic.wait64"));
        // Every timeout is a constant of at most a microsecond.
        for line in text.lines().filter(|l| l.contains("i64.const")) {
            let v: i64 = line
                .trim()
                .trim_start_matches("i64.const ")
                .parse()
                .unwrap();
            assert!((0..=1000).contains(&v), "{line}");
        }
    }

    #[test]
    fn constant_ranges_reach_the_end_and_wrap() {
        let shape = Shape {
            types: 0,
            funcs: 0,
            memory64: true,
            shared: false,
            size: 65536,
        };
        let mut ends = std::collections::BTreeSet::new();
        for seed in 0..=255u8 {
            let data = [seed, seed.wrapping_mul(7), seed.wrapping_add(3)];
            let (start, len) = shape.edge_range(&mut Unstructured::new(&data)).unwrap();
            ends.insert(start.checked_add(len).map(|e| e.cmp(&shape.size)));
        }
        // In bounds, exactly at the end, past it, and wrapping.
        for want in [
            Some(std::cmp::Ordering::Less),
            Some(std::cmp::Ordering::Equal),
            Some(std::cmp::Ordering::Greater),
            None,
        ] {
            assert!(ends.contains(&want), "{want:?} not drawn: {ends:?}");
        }
    }
}
