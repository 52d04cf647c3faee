//! Malformed modules: a valid generated module with one (sometimes two)
//! targeted edits, so loaders meet input a byte away from valid, where their
//! error paths are. Each edit is a named [`Mutation`] in one table
//! ([`MUTATIONS`]), so a finding says which edit made it and the summary
//! counts cases per mutation.
//!
//! Edits work on the module's framing (sections, entries, function bodies,
//! operator immediates) and re-encode only the sizes around what they touch,
//! unless the edit is to a size itself. Every mutant is labelled by
//! `wasmparser` with the campaign's feature set ([`Malformed::valid`]); the
//! reference (wasmtime) validates it again when it runs. A mutant that turns
//! out valid is just a valid module to the pipeline.

use crate::wasm::features::FeatureSet;
use crate::wasm::leb;
use arbitrary::Unstructured;
use std::ops::Range;
use wasmparser::{BinaryReader, Operator};

/// The family of a mutation: what part of the loader it aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Framing: section sizes, truncation, LEB128, counts, order, names.
    Encoding,
    /// An index one past the end of its space.
    Index,
    /// Operand types, block types, stack balance, result counts.
    Typing,
    /// Limits, flags, alignment, segment kinds, constant expressions.
    Limits,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Encoding => "encoding",
            Index => "index",
            Typing => "typing",
            Limits => "limits",
        }
    }
}

/// One named edit. `edit` returns `None` when the module has no place for it.
pub struct Mutation {
    pub name: &'static str,
    pub family: Family,
    pub what: &'static str,
    edit: fn(&Module, &mut Unstructured) -> Option<Vec<u8>>,
}

/// What a malformed test case is: the edits applied, and the label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Names of the mutations applied, in order (one, sometimes two).
    pub mutations: Vec<&'static str>,
    /// Whether `wasmparser` validates the mutant with the campaign's features.
    pub valid: bool,
}

impl Malformed {
    /// The name a finding and the summary use: the mutations joined by `+`.
    pub fn name(&self) -> String {
        self.mutations.join("+")
    }
}

use Family::*;

macro_rules! mutations {
    ($($name:literal, $family:ident, $edit:ident, $what:literal;)*) => {
        /// Every mutation, stated once: name, family, edit, what it does.
        pub const MUTATIONS: &[Mutation] = &[
            $(Mutation { name: $name, family: $family, what: $what, edit: $edit },)*
        ];
    };
}

mutations! {
    "section-size-short", Encoding, section_size_short, "a section's size one byte too small";
    "section-size-long", Encoding, section_size_long, "a section's size one byte too large";
    "truncate-at-section", Encoding, truncate_at_section, "the module cut at a section boundary";
    "truncate-in-section", Encoding, truncate_in_section, "the module cut inside a section";
    "truncate-at-function", Encoding, truncate_at_function, "the module cut at a function body boundary";
    "leb-padded", Encoding, leb_padded, "a section size in 5 LEB128 bytes (valid: padding is allowed)";
    "leb-too-long", Encoding, leb_too_long, "a section size in 6 LEB128 bytes";
    "leb-unterminated", Encoding, leb_unterminated, "the module ends inside a LEB128";
    "leb-overflow", Encoding, leb_overflow, "a section size past u32 in 5 LEB128 bytes";
    "count-too-large", Encoding, count_too_large, "a vector section's count one more than its entries";
    "count-too-small", Encoding, count_too_small, "a vector section's count one less than its entries";
    "duplicate-section", Encoding, duplicate_section, "a known section twice";
    "section-out-of-order", Encoding, section_out_of_order, "two known sections swapped";
    "data-count-mismatch", Encoding, data_count_mismatch, "a data count one more than the data segments";
    "custom-name-bad-utf8", Encoding, custom_name_bad_utf8, "a custom section whose name is not UTF-8";
    "custom-name-too-long", Encoding, custom_name_too_long, "a custom section whose name runs past it";
    "name-bad-utf8", Encoding, name_bad_utf8, "an export or import name that is not UTF-8";
    "export-name-duplicate", Encoding, export_name_duplicate, "two exports of one name";
    "local-index-past-end", Index, local_index_past_end, "local.get/set/tee of the first local past the end";
    "global-index-past-end", Index, global_index_past_end, "global.get/set of the first global past the end";
    "func-index-past-end", Index, func_index_past_end, "call or ref.func of the first function past the end";
    "type-index-past-end", Index, type_index_past_end, "call_indirect of the first type past the type section";
    "table-index-past-end", Index, table_index_past_end, "a table instruction on the first table past the end";
    "memory-index-past-end", Index, memory_index_past_end, "memory.size/grow on memory 1 (multi-memory off)";
    "data-index-past-end", Index, data_index_past_end, "memory.init/data.drop of the first segment past the end";
    "elem-index-past-end", Index, elem_index_past_end, "table.init/elem.drop of the first segment past the end";
    "label-depth-past-end", Index, label_depth_past_end, "br/br_if to the first label past the outermost";
    "lane-index-past-end", Index, lane_index_past_end, "a SIMD lane instruction on the first lane past the end";
    "export-index-past-end", Index, export_index_past_end, "an export of the first function past the end";
    "start-index-past-end", Index, start_index_past_end, "a start function past the end";
    "instruction-swap", Typing, instruction_swap, "an i32 instruction swapped for its i64 twin";
    "block-type-past-end", Typing, block_type_past_end, "a block type index past the type section";
    "global-mutability", Typing, global_mutability, "a global's mutability flipped under its users";
    "global-type", Typing, global_type, "a global's type changed under its initializer and users";
    "unbalanced-end", Typing, unbalanced_end, "a value pushed or dropped just before an end or else";
    "unbalanced-br", Typing, unbalanced_br, "a value dropped just before a branch";
    "select-mismatch", Typing, select_mismatch, "select over an i32 and an i64";
    "result-count", Typing, result_count, "a function type with one result more than its bodies give";
    "ref-type-mixup", Typing, ref_type_mixup, "an externref stored into a funcref table or the reverse";
    "limits-min-over-max", Limits, limits_min_over_max, "a memory or table whose minimum is past its maximum";
    "memory-past-max", Limits, memory_past_max, "a 32-bit memory of 65537 pages";
    "shared-without-max", Limits, shared_without_max, "a shared memory without a maximum";
    "align-past-natural", Limits, align_past_natural, "a load or store aligned past its natural alignment";
    "elem-bad-flags", Limits, elem_bad_flags, "an element segment with flags 8";
    "data-bad-flags", Limits, data_bad_flags, "a data segment with flags 3";
    "const-expr-non-constant", Limits, const_expr_non_constant, "a constant expression with a nop in it";
    "table-type-bad", Limits, table_type_bad, "a table of i32 elements";
}

/// Looks a mutation up by name.
pub fn mutation(name: &str) -> Option<&'static Mutation> {
    MUTATIONS.iter().find(|m| m.name == name)
}

/// Applies one mutation by name; `None` when the module has no place for it.
pub fn apply(name: &str, wasm: &[u8], u: &mut Unstructured) -> Option<Vec<u8>> {
    let m = Module::parse(wasm)?;
    (mutation(name)?.edit)(&m, u)
}

/// Turns a valid module into a malformed one: one mutation, and one in eight
/// times a second on top. Tries mutations until one has a place in the module.
pub fn malform(
    wasm: &[u8],
    u: &mut Unstructured,
    features: &FeatureSet,
) -> Option<(Vec<u8>, Malformed)> {
    let mut out = wasm.to_vec();
    let mut applied = vec![];
    let rounds = if u.ratio(1u8, 8u8).ok()? { 2 } else { 1 };
    for _ in 0..rounds {
        // Every mutation once, in an order drawn by a random start and step
        // (a step coprime to the count visits each): the first with a place.
        // Stepping by one would hand a mutation the share of every one
        // before it that rarely has a place.
        let n = MUTATIONS.len();
        let first = u.choose_index(n).ok()?;
        let mut step = u.int_in_range(1..=n.max(2) - 1).ok()?;
        while gcd(step, n) != 1 {
            step -= 1;
        }
        let edited = (0..n).find_map(|k| {
            let m = &MUTATIONS[(first + k * step) % n];
            let module = Module::parse(&out)?;
            (m.edit)(&module, u).map(|bytes| (m.name, bytes))
        });
        match edited {
            Some((name, bytes)) => {
                applied.push(name);
                out = bytes;
            }
            None => break,
        }
    }
    if applied.is_empty() {
        return None;
    }
    let valid = wasmparser::Validator::new_with_features(features.wasmparser())
        .validate_all(&out)
        .is_ok();
    Some((
        out,
        Malformed {
            mutations: applied,
            valid,
        },
    ))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// One section as framed: its id and payload.
#[derive(Clone)]
struct Section {
    id: u8,
    payload: Vec<u8>,
}

/// What the edits need to know of a module: its sections, and the sizes of
/// its index spaces (read without validating: a second edit works on the
/// output of the first).
pub struct Module {
    sections: Vec<Section>,
    /// Parameter types and result count of each type (non-function types:
    /// no parameters, no results).
    types: Vec<(Vec<wasmparser::ValType>, usize)>,
    /// The type of every function, imported ones first.
    func_types: Vec<u32>,
    imported_funcs: usize,
    globals: u32,
    /// Element type of each table: funcref or not.
    tables: Vec<bool>,
    memories: u32,
    data: u32,
    elems: u32,
}

const CUSTOM: u8 = 0;
const TYPE: u8 = 1;
const IMPORT: u8 = 2;
const FUNCTION: u8 = 3;
const TABLE: u8 = 4;
const MEMORY: u8 = 5;
const GLOBAL: u8 = 6;
const EXPORT: u8 = 7;
const START: u8 = 8;
const ELEMENT: u8 = 9;
const CODE: u8 = 10;
const DATA: u8 = 11;
const DATA_COUNT: u8 = 12;

fn leb_bytes(v: usize) -> Vec<u8> {
    let mut out = vec![];
    leb::write(v, &mut out);
    out
}

/// Signed LEB128 of a 33-bit block type index (always non-negative here).
fn sleb_bytes(mut v: i64) -> Vec<u8> {
    let mut out = vec![];
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return out;
        }
    }
}

/// The length of the LEB128 at `at`.
fn leb_len(bytes: &[u8], at: usize) -> Option<usize> {
    let mut p = at;
    while *bytes.get(p)? & 0x80 != 0 {
        p += 1;
    }
    Some(p + 1 - at)
}

fn splice(bytes: &[u8], range: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = bytes[..range.start].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&bytes[range.end..]);
    out
}

impl Module {
    fn parse(wasm: &[u8]) -> Option<Module> {
        if wasm.len() < 8 {
            return None;
        }
        let mut sections = vec![];
        let mut at = 8;
        while at < wasm.len() {
            let id = wasm[at];
            let mut p = at + 1;
            let size = leb::read(wasm, &mut p)?;
            let end = p.checked_add(size).filter(|e| *e <= wasm.len())?;
            sections.push(Section {
                id,
                payload: wasm[p..end].to_vec(),
            });
            at = end;
        }
        let mut m = Module {
            sections,
            types: vec![],
            func_types: vec![],
            imported_funcs: 0,
            globals: 0,
            tables: vec![],
            memories: 0,
            data: 0,
            elems: 0,
        };
        m.read_spaces(wasm);
        Some(m)
    }

    /// Fills in the index spaces, as far as the module reads.
    fn read_spaces(&mut self, wasm: &[u8]) {
        use wasmparser::{Payload, TypeRef};
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let Ok(payload) = payload else { return };
            match payload {
                Payload::TypeSection(r) => {
                    for t in r.into_iter_err_on_gc_types().flatten() {
                        self.types.push((t.params().to_vec(), t.results().len()));
                    }
                }
                Payload::ImportSection(r) => {
                    for i in r.into_imports().flatten() {
                        match i.ty {
                            TypeRef::Func(t) => {
                                self.func_types.push(t);
                                self.imported_funcs += 1;
                            }
                            TypeRef::Global(_) => self.globals += 1,
                            TypeRef::Table(t) => self.tables.push(t.element_type.is_func_ref()),
                            TypeRef::Memory(_) => self.memories += 1,
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(r) => self.func_types.extend(r.into_iter().flatten()),
                Payload::TableSection(r) => {
                    for t in r.into_iter().flatten() {
                        self.tables.push(t.ty.element_type.is_func_ref());
                    }
                }
                Payload::MemorySection(r) => self.memories += r.count(),
                Payload::GlobalSection(r) => self.globals += r.count(),
                Payload::ElementSection(r) => self.elems = r.count(),
                Payload::DataSection(r) => self.data = r.count(),
                _ => {}
            }
        }
    }

    fn encode(sections: &[Section]) -> Vec<u8> {
        let mut out = wasm_encoder::Module::new().finish();
        for s in sections {
            out.push(s.id);
            leb::write(s.payload.len(), &mut out);
            out.extend_from_slice(&s.payload);
        }
        out
    }

    fn bytes(&self) -> Vec<u8> {
        Self::encode(&self.sections)
    }

    /// Indices of the sections with this id.
    fn find(&self, id: u8) -> Vec<usize> {
        (0..self.sections.len())
            .filter(|&i| self.sections[i].id == id)
            .collect()
    }

    fn pick_section(&self, u: &mut Unstructured, pred: impl Fn(&Section) -> bool) -> Option<usize> {
        let all: Vec<usize> = (0..self.sections.len())
            .filter(|&i| pred(&self.sections[i]))
            .collect();
        all.get(u.choose_index(all.len()).ok()?).copied()
    }

    /// The module with one section's payload replaced.
    fn with_payload(&self, i: usize, payload: Vec<u8>) -> Vec<u8> {
        let mut s = self.sections.clone();
        s[i].payload = payload;
        Self::encode(&s)
    }

    /// The module with the bytes of section `i` (header included) swapped for
    /// `raw`, where an edit is to the framing itself.
    fn with_raw_section(&self, i: usize, raw: &[u8]) -> Vec<u8> {
        let mut out = Self::encode(&self.sections[..i]);
        out.extend_from_slice(raw);
        out.extend_from_slice(&Self::encode(&self.sections[i + 1..])[8..]);
        out
    }

    /// Where each section starts in the encoded module, and where it ends.
    fn section_spans(&self) -> Vec<Range<usize>> {
        let mut at = 8;
        self.sections
            .iter()
            .map(|s| {
                let start = at;
                at += 1 + leb_bytes(s.payload.len()).len() + s.payload.len();
                start..at
            })
            .collect()
    }

    /// The entries of a vector section: the count's length and each entry's span.
    fn entries(&self, i: usize) -> Option<(usize, Vec<Range<usize>>)> {
        let s = &self.sections[i];
        let p = &s.payload;
        let r = BinaryReader::new(p, 0);
        let offsets: Vec<usize> = match s.id {
            TYPE => offsets(wasmparser::TypeSectionReader::new(r).ok()?)?,
            IMPORT => offsets(wasmparser::ImportSectionReader::new(r).ok()?)?,
            FUNCTION => offsets(wasmparser::FunctionSectionReader::new(r).ok()?)?,
            TABLE => offsets(wasmparser::TableSectionReader::new(r).ok()?)?,
            MEMORY => offsets(wasmparser::MemorySectionReader::new(r).ok()?)?,
            GLOBAL => offsets(wasmparser::GlobalSectionReader::new(r).ok()?)?,
            EXPORT => offsets(wasmparser::ExportSectionReader::new(r).ok()?)?,
            ELEMENT => offsets(wasmparser::ElementSectionReader::new(r).ok()?)?,
            DATA => offsets(wasmparser::DataSectionReader::new(r).ok()?)?,
            CODE => {
                let mut at = 0;
                let n = leb::read(p, &mut at)?;
                let mut starts = vec![];
                for _ in 0..n {
                    starts.push(at);
                    let size = leb::read(p, &mut at)?;
                    at = at.checked_add(size).filter(|e| *e <= p.len())?;
                }
                starts
            }
            _ => return None,
        };
        let count_len = leb_len(p, 0)?;
        let mut spans = vec![];
        for (k, &start) in offsets.iter().enumerate() {
            spans.push(start..offsets.get(k + 1).copied().unwrap_or(p.len()));
        }
        Some((count_len, spans))
    }

    /// The module with one entry of a vector section replaced.
    fn with_entry(&self, i: usize, span: Range<usize>, entry: &[u8]) -> Vec<u8> {
        self.with_payload(i, splice(&self.sections[i].payload, span, entry))
    }

    /// A random entry of a random section with this id.
    fn pick_entry(&self, u: &mut Unstructured, id: u8) -> Option<(usize, Range<usize>)> {
        let i = self.pick_section(u, |s| s.id == id)?;
        let (_, spans) = self.entries(i)?;
        let k = u.choose_index(spans.len()).ok()?;
        Some((i, spans[k].clone()))
    }

    /// Every operator of every body, for the edits inside code.
    fn ops(&self) -> Vec<Op> {
        let Some(&code) = self.find(CODE).first() else {
            return vec![];
        };
        let Some((_, spans)) = self.entries(code) else {
            return vec![];
        };
        let payload = &self.sections[code].payload;
        let mut out = vec![];
        for (k, span) in spans.into_iter().enumerate() {
            let mut at = span.start;
            let Some(size) = leb::read(payload, &mut at) else {
                continue;
            };
            let body = &payload[at..at + size];
            let params = self
                .func_types
                .get(self.imported_funcs + k)
                .and_then(|t| self.types.get(*t as usize))
                .map_or(0, |t| t.0.len() as u32);
            scan_body(body, k, params, &mut out);
        }
        out
    }

    /// The module with function `func`'s body (a defined function's index)
    /// edited: `range` of it replaced by `with`.
    fn with_body_edit(&self, func: usize, range: Range<usize>, with: &[u8]) -> Option<Vec<u8>> {
        let code = *self.find(CODE).first()?;
        let (_, spans) = self.entries(code)?;
        let span = spans.get(func)?.clone();
        let payload = &self.sections[code].payload;
        let mut at = span.start;
        let size = leb::read(payload, &mut at)?;
        let body = splice(&payload[at..at + size], range, with);
        let mut entry = leb_bytes(body.len());
        entry.extend(body);
        Some(self.with_entry(code, span, &entry))
    }

    /// Replaces the LEB128 immediate at `at` in an operator's body.
    fn with_leb(&self, op: &Op, at: usize, v: usize) -> Option<Vec<u8>> {
        let len = leb_len(&op.body, at)?;
        self.with_body_edit(op.func, at..at + len, &leb_bytes(v))
    }

    /// A random operator that `pred` accepts.
    fn pick_op(&self, u: &mut Unstructured, pred: impl Fn(&Op) -> bool) -> Option<Op> {
        let mut ops: Vec<Op> = self.ops().into_iter().filter(pred).collect();
        let k = u.choose_index(ops.len()).ok()?;
        Some(ops.swap_remove(k))
    }
}

fn offsets<'a, T: wasmparser::FromReader<'a>>(
    r: wasmparser::SectionLimited<'a, T>,
) -> Option<Vec<usize>> {
    r.into_iter_with_offsets()
        .map(|e| e.ok().map(|(o, _)| o as usize))
        .collect()
}

/// One operator of a body, as the edits see it.
#[derive(Clone)]
struct Op {
    /// Index among the defined functions.
    func: usize,
    body: std::rc::Rc<Vec<u8>>,
    /// Where the operator starts, and where its immediates start, in `body`.
    start: usize,
    imm: usize,
    end: usize,
    /// The operator's name (wasmparser's), and the labels around it.
    name: String,
    depth: u32,
    /// Locals of the function (parameters included).
    locals: u32,
}

fn scan_body(body: &[u8], func: usize, params: u32, out: &mut Vec<Op>) {
    let shared = std::rc::Rc::new(body.to_vec());
    let fb = wasmparser::FunctionBody::new(BinaryReader::new(body, 0));
    let mut locals = params;
    let Ok(reader) = fb.get_locals_reader() else {
        return;
    };
    for l in reader {
        let Ok((n, _)) = l else { return };
        locals = locals.saturating_add(n);
    }
    let Ok(mut ops) = fb.get_operators_reader() else {
        return;
    };
    let mut depth = 1u32;
    while !ops.eof() {
        let start = ops.original_position() as usize;
        let Ok(op) = ops.read() else { return };
        let end = ops.original_position() as usize;
        let imm = match body[start] {
            0xfb..=0xfe => start + 1 + leb_len(body, start + 1).unwrap_or(1),
            _ => start + 1,
        };
        let name = operator_name(&op);
        out.push(Op {
            func,
            body: shared.clone(),
            start,
            imm,
            end,
            name,
            depth,
            locals,
        });
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => depth += 1,
            Operator::End => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

/// wasmparser's name of an operator (its `Debug` up to the immediates).
fn operator_name(op: &Operator) -> String {
    let s = format!("{op:?}");
    s.split([' ', '{', '(']).next().unwrap_or("").to_string()
}

fn section_size(m: &Module, u: &mut Unstructured, delta: isize) -> Option<Vec<u8>> {
    let i = m.pick_section(u, |s| !s.payload.is_empty())?;
    let s = &m.sections[i];
    let mut raw = vec![s.id];
    leb::write(s.payload.len().checked_add_signed(delta)?, &mut raw);
    raw.extend_from_slice(&s.payload);
    Some(m.with_raw_section(i, &raw))
}

fn section_size_short(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    section_size(m, u, -1)
}

fn section_size_long(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    section_size(m, u, 1)
}

fn truncate_at_section(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let spans = m.section_spans();
    // Cutting after the last section is the module itself.
    let cut = spans[..spans.len().checked_sub(1)?]
        .get(u.choose_index(spans.len() - 1).ok()?)?
        .end;
    Some(m.bytes()[..cut].to_vec())
}

fn truncate_in_section(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let spans = m.section_spans();
    let span = spans.get(u.choose_index(spans.len()).ok()?)?.clone();
    let cut = u.int_in_range(span.start + 1..=span.end - 1).ok()?;
    Some(m.bytes()[..cut].to_vec())
}

fn truncate_at_function(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let code = *m.find(CODE).first()?;
    let (_, spans) = m.entries(code)?;
    let k = u.choose_index(spans.len()).ok()?;
    let section = m.section_spans()[code].clone();
    let header = section.end - section.start - m.sections[code].payload.len();
    Some(m.bytes()[..section.start + header + spans[k].end].to_vec())
}

/// A section whose size is written as `size` bytes.
fn raw_size(m: &Module, u: &mut Unstructured, size: &dyn Fn(usize) -> Vec<u8>) -> Option<Vec<u8>> {
    let i = m.pick_section(u, |_| true)?;
    let s = &m.sections[i];
    let mut raw = vec![s.id];
    raw.extend(size(s.payload.len()));
    raw.extend_from_slice(&s.payload);
    Some(m.with_raw_section(i, &raw))
}

/// `v` in exactly `n` LEB128 bytes (padded with continuation bits).
fn leb_padded_to(v: usize, n: usize) -> Vec<u8> {
    (0..n)
        .map(|k| {
            let byte = ((v >> (7 * k)) & 0x7f) as u8;
            if k + 1 < n {
                byte | 0x80
            } else {
                byte
            }
        })
        .collect()
}

fn leb_padded(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    raw_size(m, u, &|n| leb_padded_to(n, 5))
}

fn leb_too_long(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    raw_size(m, u, &|n| leb_padded_to(n, 6))
}

fn leb_overflow(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    // The fifth byte carries bits past the 32nd: the size is not a u32.
    raw_size(m, u, &|n| {
        let mut b = leb_padded_to(n, 5);
        b[4] |= 0x70;
        b
    })
}

fn leb_unterminated(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let spans = m.section_spans();
    let k = u.choose_index(spans.len()).ok()?;
    let mut out = m.bytes()[..spans[k].start].to_vec();
    out.extend([m.sections[k].id, 0x80, 0x80]);
    Some(out)
}

/// A vector section's count changed by `delta`.
fn count_by(m: &Module, u: &mut Unstructured, delta: isize) -> Option<Vec<u8>> {
    let i = m.pick_section(u, |s| (TYPE..=DATA).contains(&s.id) && s.id != START)?;
    let (count_len, spans) = m.entries(i)?;
    let count = spans.len().checked_add_signed(delta)?;
    Some(m.with_payload(
        i,
        splice(&m.sections[i].payload, 0..count_len, &leb_bytes(count)),
    ))
}

fn count_too_large(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    count_by(m, u, 1)
}

fn count_too_small(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    count_by(m, u, -1)
}

fn duplicate_section(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let i = m.pick_section(u, |s| s.id != CUSTOM)?;
    let mut s = m.sections.clone();
    s.insert(i + 1, s[i].clone());
    Some(Module::encode(&s))
}

fn section_out_of_order(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let known: Vec<usize> = (0..m.sections.len())
        .filter(|&i| m.sections[i].id != CUSTOM)
        .collect();
    let k = u.choose_index(known.len().checked_sub(1)?).ok()?;
    let mut s = m.sections.clone();
    s.swap(known[k], known[k + 1]);
    Some(Module::encode(&s))
}

fn data_count_mismatch(m: &Module, _: &mut Unstructured) -> Option<Vec<u8>> {
    let mut s = m.sections.clone();
    let payload = leb_bytes(m.data as usize + 1);
    match m.find(DATA_COUNT).first() {
        Some(&i) => s[i].payload = payload,
        None => {
            // Its place is just before the code section.
            let at = m
                .find(CODE)
                .first()
                .or(m.find(DATA).first())
                .copied()
                .unwrap_or(s.len());
            s.insert(
                at,
                Section {
                    id: DATA_COUNT,
                    payload,
                },
            );
        }
    }
    Some(Module::encode(&s))
}

fn with_custom(m: &Module, u: &mut Unstructured, payload: Vec<u8>) -> Option<Vec<u8>> {
    let mut s = m.sections.clone();
    let at = u.int_in_range(0..=s.len()).ok()?;
    s.insert(
        at,
        Section {
            id: CUSTOM,
            payload,
        },
    );
    Some(Module::encode(&s))
}

fn custom_name_bad_utf8(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    with_custom(m, u, vec![3, b'a', 0xff, 0xfe, 1, 2, 3])
}

fn custom_name_too_long(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    with_custom(m, u, vec![9, b'n', b'a', b'm', b'e'])
}

/// The bytes of the name at the start of an import or export entry.
fn name_span(payload: &[u8], entry: &Range<usize>) -> Option<Range<usize>> {
    let mut at = entry.start;
    let len = leb::read(payload, &mut at)?;
    (len > 0 && at + len <= entry.end).then_some(at..at + len)
}

fn name_bad_utf8(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let id = *u.choose(&[EXPORT, IMPORT]).ok()?;
    let (i, entry) = m.pick_entry(u, id)?;
    let name = name_span(&m.sections[i].payload, &entry)?;
    let at = u.int_in_range(name.start..=name.end - 1).ok()?;
    let mut payload = m.sections[i].payload.clone();
    payload[at] = 0xff;
    Some(m.with_payload(i, payload))
}

fn export_name_duplicate(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let i = *m.find(EXPORT).first()?;
    let (count_len, spans) = m.entries(i)?;
    let p = &m.sections[i].payload;
    let entry = spans.get(u.choose_index(spans.len()).ok()?)?.clone();
    let mut payload = leb_bytes(spans.len() + 1);
    payload.extend_from_slice(&p[count_len..]);
    payload.extend_from_slice(&p[entry]);
    Some(m.with_payload(i, payload))
}

fn local_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| {
        matches!(o.name.as_str(), "LocalGet" | "LocalSet" | "LocalTee")
    })?;
    m.with_leb(&op, op.imm, op.locals as usize)
}

fn global_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| matches!(o.name.as_str(), "GlobalGet" | "GlobalSet"))?;
    m.with_leb(&op, op.imm, m.globals as usize)
}

fn func_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| {
        matches!(o.name.as_str(), "Call" | "ReturnCall" | "RefFunc")
    })?;
    m.with_leb(&op, op.imm, m.func_types.len())
}

fn type_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| {
        matches!(o.name.as_str(), "CallIndirect" | "ReturnCallIndirect")
    })?;
    m.with_leb(&op, op.imm, m.types.len())
}

fn table_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| {
        matches!(
            o.name.as_str(),
            "CallIndirect"
                | "ReturnCallIndirect"
                | "TableGet"
                | "TableSet"
                | "TableSize"
                | "TableGrow"
                | "TableFill"
        )
    })?;
    // call_indirect's table follows its type index.
    let at = match op.name.as_str() {
        "CallIndirect" | "ReturnCallIndirect" => op.imm + leb_len(&op.body, op.imm)?,
        _ => op.imm,
    };
    m.with_leb(&op, at, m.tables.len())
}

fn memory_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| {
        matches!(o.name.as_str(), "MemorySize" | "MemoryGrow")
    })?;
    m.with_leb(&op, op.imm, m.memories.max(1) as usize)
}

fn data_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| matches!(o.name.as_str(), "MemoryInit" | "DataDrop"))?;
    m.with_leb(&op, op.imm, m.data as usize)
}

fn elem_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| matches!(o.name.as_str(), "TableInit" | "ElemDrop"))?;
    m.with_leb(&op, op.imm, m.elems as usize)
}

fn label_depth_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| matches!(o.name.as_str(), "Br" | "BrIf"))?;
    m.with_leb(&op, op.imm, op.depth as usize)
}

/// Lanes of a SIMD lane instruction (by wasmparser's name), whose lane
/// immediate is its last byte (after a memarg for the load/store lanes).
fn lanes(name: &str) -> Option<u8> {
    if let Some(rest) = name.strip_prefix("V128") {
        let bits: u8 = rest
            .strip_prefix("Load")
            .or(rest.strip_prefix("Store"))?
            .strip_suffix("Lane")?
            .parse()
            .ok()?;
        return Some(128 / bits);
    }
    if !(name.contains("ExtractLane") || name.contains("ReplaceLane")) {
        return None;
    }
    [
        ("I8x16", 16),
        ("I16x8", 8),
        ("I32x4", 4),
        ("F32x4", 4),
        ("I64x2", 2),
        ("F64x2", 2),
    ]
    .iter()
    .find(|(shape, _)| name.starts_with(shape))
    .map(|(_, n)| *n)
}

fn lane_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| lanes(&o.name).is_some())?;
    let lanes = lanes(&op.name)?;
    m.with_body_edit(op.func, op.end - 1..op.end, &[lanes])
}

fn export_index_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let (i, entry) = m.pick_entry(u, EXPORT)?;
    let p = &m.sections[i].payload;
    let name = name_span(p, &entry)?;
    if p[name.end] != 0 {
        return None;
    }
    let mut e = p[entry.start..name.end + 1].to_vec();
    e.extend(leb_bytes(m.func_types.len()));
    Some(m.with_entry(i, entry, &e))
}

fn start_index_past_end(m: &Module, _: &mut Unstructured) -> Option<Vec<u8>> {
    let mut s = m.sections.clone();
    let payload = leb_bytes(m.func_types.len());
    match m.find(START).first() {
        Some(&i) => s[i].payload = payload,
        None => {
            let at = (0..s.len())
                .find(|&i| matches!(s[i].id, ELEMENT | DATA_COUNT | CODE | DATA))
                .unwrap_or(s.len());
            s.insert(at, Section { id: START, payload });
        }
    }
    Some(Module::encode(&s))
}

fn instruction_swap(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    // i32.eqz..i32.rotr sit 0x45..0x78, their i64 twins 0x50..0x8a: the same
    // order within each group, so a fixed distance per group.
    let op = m.pick_op(u, |o| matches!(o.body[o.start], 0x45..=0x4f | 0x67..=0x78))?;
    let b = op.body[op.start];
    let twin = if b <= 0x4f { b + 0x0b } else { b + 0x12 };
    m.with_body_edit(op.func, op.start..op.start + 1, &[twin])
}

fn block_type_past_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| matches!(o.name.as_str(), "Block" | "Loop" | "If"))?;
    // A block type is one byte (empty, a value type) or an s33 index.
    let len = match op.body[op.imm] {
        0x40 | 0x60..=0x7f => 1,
        _ => leb_len(&op.body, op.imm)?,
    };
    m.with_body_edit(
        op.func,
        op.imm..op.imm + len,
        &sleb_bytes(m.types.len() as i64),
    )
}

/// The span of a defined global's type (value type and mutability), when
/// its value type is one byte.
fn global_entry(m: &Module, u: &mut Unstructured) -> Option<(usize, Range<usize>)> {
    let (i, entry) = m.pick_entry(u, GLOBAL)?;
    matches!(m.sections[i].payload[entry.start], 0x6f..=0x7f).then_some((i, entry))
}

fn global_mutability(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let (i, entry) = global_entry(m, u)?;
    let mut payload = m.sections[i].payload.clone();
    payload[entry.start + 1] ^= 1;
    Some(m.with_payload(i, payload))
}

fn global_type(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let (i, entry) = global_entry(m, u)?;
    let mut payload = m.sections[i].payload.clone();
    payload[entry.start] = match payload[entry.start] {
        0x7f => 0x7e,
        0x7e => 0x7f,
        0x7d => 0x7c,
        0x7c => 0x7d,
        0x70 => 0x6f,
        0x6f => 0x70,
        _ => 0x7f,
    };
    Some(m.with_payload(i, payload))
}

fn unbalanced_end(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| matches!(o.name.as_str(), "End" | "Else"))?;
    let with: &[u8] = if u.arbitrary().ok()? {
        &[0x41, 0x00]
    } else {
        &[0x1a]
    };
    m.with_body_edit(op.func, op.start..op.start, with)
}

fn unbalanced_br(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let op = m.pick_op(u, |o| {
        matches!(o.name.as_str(), "Br" | "BrIf" | "BrTable" | "Return")
    })?;
    // Two drops: one may only take what the branch would have discarded.
    m.with_body_edit(op.func, op.start..op.start, &[0x1a, 0x1a])
}

/// Inserts `code` at the start of a random function's instructions.
fn at_body_start(m: &Module, u: &mut Unstructured, code: &[u8]) -> Option<Vec<u8>> {
    let firsts: Vec<Op> = m.ops().into_iter().fold(Vec::<Op>::new(), |mut acc, o| {
        if acc.last().is_none_or(|l| l.func != o.func) {
            acc.push(o);
        }
        acc
    });
    let op = firsts.get(u.choose_index(firsts.len()).ok()?)?;
    m.with_body_edit(op.func, op.start..op.start, code)
}

fn select_mismatch(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    // i32.const 0, i64.const 0, i32.const 0, select, drop
    at_body_start(m, u, &[0x41, 0x00, 0x42, 0x00, 0x41, 0x00, 0x1b, 0x1a])
}

fn result_count(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let i = *m.find(TYPE).first()?;
    let (_, spans) = m.entries(i)?;
    // A function type used by a defined function, in the plain encoding.
    let used: Vec<usize> = m.func_types[m.imported_funcs..]
        .iter()
        .map(|t| *t as usize)
        .filter(|t| {
            spans
                .get(*t)
                .is_some_and(|s| m.sections[i].payload[s.start] == 0x60)
        })
        .collect();
    let t = *used.get(u.choose_index(used.len()).ok()?)?;
    let p = &m.sections[i].payload;
    let span = spans[t].clone();
    let mut at = span.start + 1;
    let params = leb::read(p, &mut at)?;
    at += params;
    let results_at = at;
    let results = leb::read(p, &mut at)?;
    let mut e = p[span.start..results_at].to_vec();
    e.extend(leb_bytes(results + 1));
    e.extend_from_slice(&p[at..span.end]);
    e.push(0x7f);
    Some(m.with_entry(i, span, &e))
}

fn ref_type_mixup(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let t = u.choose_index(m.tables.len()).ok()?;
    // The null of the other reference type, stored into table t.
    let null = if m.tables[t] { 0x6f } else { 0x70 };
    let mut code = vec![0x41, 0x00, 0xd0, null, 0x26];
    code.extend(leb_bytes(t));
    at_body_start(m, u, &code)
}

/// A memory's or table's limits: where the flags byte is, and the entry.
fn limits_entry(
    m: &Module,
    u: &mut Unstructured,
    ids: &[u8],
) -> Option<(usize, Range<usize>, usize)> {
    let ids: Vec<u8> = ids
        .iter()
        .copied()
        .filter(|id| !m.find(*id).is_empty())
        .collect();
    let id = *u.choose(&ids).ok()?;
    let (i, entry) = m.pick_entry(u, id)?;
    let p = &m.sections[i].payload;
    let flags = match id {
        MEMORY => entry.start,
        // A table: its element type (one byte here), then the limits.
        _ => {
            if !matches!(p[entry.start], 0x6f | 0x70) {
                return None;
            }
            entry.start + 1
        }
    };
    Some((i, entry, flags))
}

/// Rewrites a limits entry: `f(flags, min, max) -> (flags, min, max)`.
fn rewrite_limits(
    m: &Module,
    u: &mut Unstructured,
    ids: &[u8],
    f: &dyn Fn(u8, u64, Option<u64>) -> Option<(u8, u64, Option<u64>)>,
) -> Option<Vec<u8>> {
    let (i, entry, flags_at) = limits_entry(m, u, ids)?;
    let p = &m.sections[i].payload;
    let flags = p[flags_at];
    // Custom page sizes are not generated: their byte would follow.
    if flags & 0x08 != 0 {
        return None;
    }
    let mut at = flags_at + 1;
    let min = read_u64(p, &mut at)?;
    let max = match flags & 1 {
        1 => Some(read_u64(p, &mut at)?),
        _ => None,
    };
    let (flags, min, max) = f(flags, min, max)?;
    let mut e = p[entry.start..flags_at].to_vec();
    e.push(flags | max.is_some() as u8);
    e.extend(leb_bytes(min as usize));
    if let Some(max) = max {
        e.extend(leb_bytes(max as usize));
    }
    e.extend_from_slice(&p[at..entry.end]);
    Some(m.with_entry(i, entry, &e))
}

fn read_u64(p: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let b = *p.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn limits_min_over_max(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    rewrite_limits(m, u, &[MEMORY, TABLE], &|flags, min, max| {
        let min = min.max(1);
        Some((
            flags & !1,
            max.map_or(min, |x| x + 1),
            Some(max.map_or(min - 1, |x| x)),
        ))
    })
}

fn memory_past_max(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    rewrite_limits(m, u, &[MEMORY], &|flags, _, max| {
        (flags & 0x04 == 0).then_some((flags & !1, 65537, max.map(|_| 65537)))
    })
}

fn shared_without_max(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    rewrite_limits(m, u, &[MEMORY], &|flags, min, _| {
        Some((flags & !1 | 0x02, min, None))
    })
}

fn align_past_natural(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    // Plain loads and stores 0x28..0x3e: natural alignment by opcode.
    let op = m.pick_op(u, |o| matches!(o.body[o.start], 0x28..=0x3e))?;
    let natural: u8 = match op.body[op.start] {
        0x28 | 0x2a | 0x34 | 0x35 | 0x36 | 0x38 | 0x3e => 2,
        0x29 | 0x2b | 0x37 | 0x39 => 3,
        0x2e | 0x2f | 0x32 | 0x33 | 0x3b | 0x3d => 1,
        _ => 0,
    };
    let flags = op.body[op.imm];
    if flags >= 0x40 {
        return None;
    }
    m.with_body_edit(op.func, op.imm..op.imm + 1, &[natural + 1])
}

/// Replaces the flags (first LEB) of a segment.
fn segment_flags(m: &Module, u: &mut Unstructured, id: u8, flags: u8) -> Option<Vec<u8>> {
    let (i, entry) = m.pick_entry(u, id)?;
    let len = leb_len(&m.sections[i].payload, entry.start)?;
    let mut e = vec![flags];
    e.extend_from_slice(&m.sections[i].payload[entry.start + len..entry.end]);
    Some(m.with_entry(i, entry, &e))
}

fn elem_bad_flags(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    segment_flags(m, u, ELEMENT, 8)
}

fn data_bad_flags(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    segment_flags(m, u, DATA, 3)
}

fn const_expr_non_constant(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    // A global's initializer follows its type (one value type byte, mutability).
    let (i, entry) = global_entry(m, u)?;
    let mut e = m.sections[i].payload[entry.clone()].to_vec();
    e.insert(2, 0x01);
    Some(m.with_entry(i, entry, &e))
}

fn table_type_bad(m: &Module, u: &mut Unstructured) -> Option<Vec<u8>> {
    let (i, entry) = m.pick_entry(u, TABLE)?;
    let mut payload = m.sections[i].payload.clone();
    if !matches!(payload[entry.start], 0x6f | 0x70) {
        return None;
    }
    payload[entry.start] = 0x7f;
    Some(m.with_payload(i, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(module
      (type $t (func (param i32) (result i32)))
      (import "host" "f" (func $imp (param i32) (result i32)))
      (table $tab 2 10 funcref)
      (memory 1 2)
      (global $g (mut i32) (i32.const 7))
      (elem (i32.const 0) $f)
      (data (i32.const 0) "abc")
      (func $f (export "f") (type $t)
        (local i64)
        (elem.drop 0)
        block (result i32)
          local.get 0
          local.get 0
          br_if 0
          global.set $g
          (call_indirect (type $t) (i32.const 0) (i32.const 0))
        end
        i32.load offset=0
        (v128.const i32x4 1 2 3 4) (i32x4.extract_lane 1) i32.add
        memory.size i32.add
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))
        (table.size $tab) i32.add
        (call $imp))
      (func (export "g") (result i32) (global.get $g)))"#;

    fn base() -> Vec<u8> {
        wat::parse_str(WAT).unwrap()
    }

    fn all() -> wasmparser::WasmFeatures {
        FeatureSet::GENERATED.wasmparser()
    }

    #[test]
    fn every_mutation_has_a_place_in_the_base_and_most_make_it_invalid() {
        let wasm = base();
        wasmparser::Validator::new_with_features(all())
            .validate_all(&wasm)
            .unwrap();
        let mut valid = vec![];
        for m in MUTATIONS {
            let data = [7u8; 64];
            let mut u = Unstructured::new(&data);
            let out = apply(m.name, &wasm, &mut u)
                .unwrap_or_else(|| panic!("{} found no place in the base module", m.name));
            assert_ne!(out, wasm, "{} changed nothing", m.name);
            if wasmparser::Validator::new_with_features(all())
                .validate_all(&out)
                .is_ok()
            {
                valid.push(m.name);
            }
        }
        // Padding a size is allowed, and a cut at a section boundary may
        // leave a module of its own; every other edit breaks a rule here.
        valid.retain(|n| !matches!(*n, "leb-padded" | "truncate-at-section"));
        assert_eq!(valid, Vec::<&str>::new());
    }

    #[test]
    fn index_edits_name_the_first_index_past_the_end() {
        let wasm = base();
        let error_after = |mutation: &str| {
            let mut u = Unstructured::new(&[0u8; 16]);
            let out = apply(mutation, &wasm, &mut u).unwrap();
            let e = wasmparser::Validator::new_with_features(all())
                .validate_all(&out)
                .err();
            e.map(|e| e.to_string()).unwrap_or_default()
        };
        let err = error_after("type-index-past-end");
        assert!(
            err.contains("type index") || err.contains("unknown type"),
            "{err}"
        );
        let err = error_after("local-index-past-end");
        assert!(err.contains("unknown local"), "{err}");
    }

    #[test]
    fn malform_labels_its_mutants_and_names_the_edits() {
        let wasm = base();
        let mut invalid = 0;
        for seed in 0..200u64 {
            let data = crate::generate::seed_bytes(seed, 64);
            let mut u = Unstructured::new(&data);
            let (out, label) = malform(&wasm, &mut u, &FeatureSet::GENERATED).unwrap();
            assert!(!label.mutations.is_empty() && label.mutations.len() <= 2);
            assert!(label.mutations.iter().all(|n| mutation(n).is_some()));
            let v = wasmparser::Validator::new_with_features(all())
                .validate_all(&out)
                .is_ok();
            assert_eq!(label.valid, v);
            invalid += !v as u32;
        }
        assert!(invalid > 180, "only {invalid} of 200 mutants are invalid");
    }
}
