//! Reductions wasm-shrink does not make: inside function bodies, and on the
//! bytes of modules that do not validate.
//!
//! Function bodies are edited as spans of operator bytes (no re-encoding, so
//! the module stays as generated everywhere else). The edits are typeless and
//! cheap (delete an instruction, replace it by `drop`s, cut the rest of a
//! block with `unreachable`, delete a whole block); the validator throws out
//! the candidates that do not type-check before anything runs them. Deciding
//! whether a candidate is interesting is the caller's predicate, never ours.
//!
//! Why our own: wasm-shrink (through wasm-mutate) reduces items and does some
//! peephole work, but it stops early on bodies, never cuts a block's tail, and
//! cannot read an invalid module; Binaryen's `wasm-reduce` rewrites the module
//! canonically (it drops unreachable code), which loses divergences that live
//! there.

use crate::wasm::leb::{read as read_leb, write as leb};
use std::ops::Range;

/// One operator of a body: its bytes and how it nests.
#[derive(Clone, Debug)]
struct Op {
    span: Range<usize>,
    nest: Nest,
    /// wasmparser's name for it (`GlobalGet { global_index: 3 }`), for patterns.
    name: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Nest {
    Open,
    Else,
    End,
    Plain,
}

/// A function body: its bytes, where the operators start, and the operators.
struct Body {
    bytes: Vec<u8>,
    ops: Vec<Op>,
}

const UNREACHABLE: u8 = 0x00;
const DROP: u8 = 0x1a;

/// The module split around its code section: bytes before, the bodies, bytes after.
struct Split<'a> {
    before: &'a [u8],
    bodies: Vec<&'a [u8]>,
    after: &'a [u8],
}

fn split(wasm: &[u8]) -> Option<Split<'_>> {
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        at += 1;
        let size = read_leb(wasm, &mut at)?;
        let end = at.checked_add(size).filter(|e| *e <= wasm.len())?;
        if id == 10 {
            let mut p = at;
            let count = read_leb(wasm, &mut p)?;
            let mut bodies = Vec::with_capacity(count);
            for _ in 0..count {
                let len = read_leb(wasm, &mut p)?;
                bodies.push(wasm.get(p..p + len)?);
                p += len;
            }
            return Some(Split {
                before: &wasm[..start],
                bodies,
                after: &wasm[end..],
            });
        }
        at = end;
    }
    None
}

fn join(s: &Split, bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut content = vec![];
    leb(bodies.len(), &mut content);
    for b in bodies {
        leb(b.len(), &mut content);
        content.extend_from_slice(b);
    }
    let mut out = s.before.to_vec();
    out.push(10);
    leb(content.len(), &mut out);
    out.extend(content);
    out.extend_from_slice(s.after);
    out
}

fn parse_body(bytes: &[u8]) -> Option<Body> {
    let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(bytes, 0));
    let mut reader = body.get_operators_reader().ok()?;
    let mut ops = vec![];
    let mut starts = vec![];
    while !reader.eof() {
        let (op, at) = reader.read_with_offset().ok()?;
        let at = at as usize;
        use wasmparser::Operator as O;
        let nest = match op {
            O::Block { .. } | O::Loop { .. } | O::If { .. } | O::TryTable { .. } => Nest::Open,
            O::Else => Nest::Else,
            O::End => Nest::End,
            _ => Nest::Plain,
        };
        let name = format!("{op:?}");
        starts.push(at);
        ops.push(Op {
            span: at..0,
            nest,
            name,
        });
    }
    let mut ends: Vec<usize> = starts.iter().skip(1).copied().collect();
    ends.push(bytes.len());
    for (op, end) in ops.iter_mut().zip(ends) {
        op.span.end = end;
    }
    Some(Body {
        bytes: bytes.to_vec(),
        ops,
    })
}

impl Body {
    /// The body with operators `range` replaced by `with`.
    fn splice(&self, range: Range<usize>, with: &[u8]) -> Vec<u8> {
        let from = self.ops[range.start].span.start;
        let to = match range.end {
            e if e < self.ops.len() => self.ops[e].span.start,
            _ => self.bytes.len(),
        };
        let mut out = self.bytes[..from].to_vec();
        out.extend_from_slice(with);
        out.extend_from_slice(&self.bytes[to..]);
        out
    }

    /// The operator that closes the construct opened at `open` (its `end`).
    fn closing(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (i, op) in self.ops.iter().enumerate().skip(open) {
            match op.nest {
                Nest::Open => depth += 1,
                Nest::End => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Where the block holding operator `i` ends (its `end` or `else`).
    fn enclosing_end(&self, i: usize) -> usize {
        let mut depth = 0usize;
        for (j, op) in self.ops.iter().enumerate().skip(i) {
            match op.nest {
                Nest::Open => depth += 1,
                Nest::End | Nest::Else if depth == 0 => return j,
                Nest::End => depth -= 1,
                _ => {}
            }
        }
        self.ops.len() - 1
    }

    /// Candidate bodies at operator `i`, largest cut first.
    fn edits_at(&self, i: usize) -> Vec<Vec<u8>> {
        let op = &self.ops[i];
        let mut out = vec![];
        if op.nest == Nest::End || op.nest == Nest::Else {
            return out;
        }
        // Cut the rest of the block: `unreachable` types as anything.
        let end = self.enclosing_end(i);
        let is_tail = end == i + 1 && self.bytes[op.span.clone()] == [UNREACHABLE];
        if !is_tail {
            out.push(self.splice(i..end, &[UNREACHABLE]));
        }
        if op.nest == Nest::Open {
            if let Some(close) = self.closing(i) {
                // The whole construct: gone, or its condition dropped (`if`).
                out.push(self.splice(i..close + 1, &[]));
                out.push(self.splice(i..close + 1, &[DROP]));
                // Unwrapped: its (first) arm in place of the construct.
                let arm_end = (i + 1..close)
                    .find(|&k| self.ops[k].nest == Nest::Else && self.enclosing_end(i + 1) == k)
                    .unwrap_or(close);
                let inner = &self.bytes[self.ops[i].span.end..self.ops[arm_end].span.start];
                let is_if = self.ops[i].name.starts_with("If");
                let mut with = if is_if { vec![DROP] } else { vec![] };
                with.extend_from_slice(inner);
                out.push(self.splice(i..close + 1, &with));
            }
            return out;
        }
        // One instruction: gone, or its operands dropped. A few plain ones in
        // a row: gone together (a push and the `drop` that takes it).
        out.push(self.splice(i..i + 1, &[]));
        for n in 2..=4 {
            if self.ops[i..(i + n).min(end)]
                .iter()
                .filter(|o| o.nest == Nest::Plain)
                .count()
                == n
            {
                out.push(self.splice(i..i + n, &[]));
            }
        }
        out.push(self.splice(i..i + 1, &[DROP]));
        out.push(self.splice(i..i + 1, &[DROP, DROP]));
        out.push(self.splice(i..i + 1, &[DROP, DROP, DROP]));
        out
    }
}

/// Validates a candidate the way the harness's engines will read it.
pub fn valid(wasm: &[u8]) -> bool {
    wasmparser::Validator::new_with_features(
        crate::wasm::features::FeatureSet::GENERATED.wasmparser(),
    )
    .validate_all(wasm)
    .is_ok()
}

/// Operator names of wasm-smith's termination counter (`ensure_termination`):
/// at every function entry and loop head, and before bulk operations.
const FUEL_CHECK_1: &[&str] = &[
    "GlobalGet",
    "I32Eqz",
    "If",
    "Unreachable",
    "End",
    "GlobalGet",
    "I32Const",
    "I32Sub",
    "GlobalSet",
];
const FUEL_CHECK_N: &[&str] = &[
    "LocalGet",
    "GlobalGet",
    "I32GeU",
    "If",
    "Unreachable",
    "End",
    "GlobalGet",
    "LocalGet",
    "I32Sub",
    "GlobalSet",
];

/// The module without its termination counter checks, when it has any.
pub fn without_fuel_checks(wasm: &[u8]) -> Option<Vec<u8>> {
    let s = split(wasm)?;
    let mut found = false;
    let mut bodies = vec![];
    for raw in &s.bodies {
        let body = parse_body(raw)?;
        let names: Vec<&str> = body
            .ops
            .iter()
            .map(|o| o.name.split([' ', '{', '(']).next().unwrap_or(""))
            .collect();
        let mut keep = vec![];
        let mut i = 0;
        while i < body.ops.len() {
            let hit = [FUEL_CHECK_1, FUEL_CHECK_N]
                .iter()
                .find(|p| names[i..].starts_with(p));
            match hit {
                Some(p) => {
                    found = true;
                    i += p.len();
                }
                None => {
                    keep.push(i);
                    i += 1;
                }
            }
        }
        let mut out =
            body.bytes[..body.ops.first().map_or(body.bytes.len(), |o| o.span.start)].to_vec();
        for k in keep {
            out.extend_from_slice(&body.bytes[body.ops[k].span.clone()]);
        }
        bodies.push(out);
    }
    found.then(|| join(&s, &bodies))
}

/// Instructions in all function bodies (the size a reader sees in the WAT).
pub fn instruction_count(wasm: &[u8]) -> usize {
    split(wasm).map_or(0, |s| {
        s.bodies
            .iter()
            .filter_map(|b| parse_body(b))
            .map(|b| b.ops.iter().filter(|o| o.nest != Nest::End).count())
            .sum()
    })
}

/// What every accepted edit must lower, so reduction ends: bytes first, then
/// instructions other than `drop` and `unreachable` (`i32.add` -> `drop` is
/// progress; `drop` -> `drop drop` is not).
fn weight(body: &[u8]) -> usize {
    let ops = parse_body(body).map_or(vec![], |b| b.ops);
    let plain = ops
        .iter()
        .filter(|o| !matches!(&body[o.span.clone()], [UNREACHABLE] | [DROP]))
        .count();
    2 * body.len() + plain
}

/// Greedy instruction-level reduction: for each function, each operator in
/// turn, the first edit the predicate keeps is taken (and the same position
/// tried again); with `require_valid`, only edits that leave the module
/// valid (a module that is invalid to begin with, a loader finding, is kept
/// by its predicate alone). Stops when `out_of_time` says so.
pub fn reduce_bodies(
    wasm: Vec<u8>,
    require_valid: bool,
    interesting: &mut dyn FnMut(&[u8]) -> bool,
    out_of_time: &dyn Fn() -> bool,
) -> Vec<u8> {
    let mut best = wasm;
    let funcs = split(&best).map_or(0, |s| s.bodies.len());
    for f in 0..funcs {
        let mut i = 0;
        loop {
            if out_of_time() {
                return best;
            }
            let Some(s) = split(&best) else { return best };
            let Some(body) = parse_body(s.bodies[f]) else {
                break;
            };
            if i >= body.ops.len() {
                break;
            }
            let mut taken = None;
            let current = weight(&body.bytes);
            for edit in body.edits_at(i) {
                if weight(&edit) >= current {
                    continue;
                }
                let mut bodies: Vec<Vec<u8>> = s.bodies.iter().map(|b| b.to_vec()).collect();
                bodies[f] = edit;
                let candidate = join(&s, &bodies);
                if (!require_valid || valid(&candidate)) && interesting(&candidate) {
                    taken = Some(candidate);
                    break;
                }
                if out_of_time() {
                    break;
                }
            }
            match taken {
                Some(c) => best = c,
                None => i += 1,
            }
        }
    }
    best
}

/// `wasm` with only the exports `keep` names (`None`: no export section, or
/// nothing to drop). What only an export kept alive is then unused, for the
/// item stage to remove.
pub fn without_exports(wasm: &[u8], keep: impl Fn(&str) -> bool) -> Option<Vec<u8>> {
    let s = sections(wasm).into_iter().find(|s| s.id == 7)?;
    let mut q = s.payload.start;
    let count = read_leb(wasm, &mut q)?;
    let mut kept = vec![];
    let mut n = 0;
    for _ in 0..count {
        let entry = q;
        let len = read_leb(wasm, &mut q)?;
        let name = std::str::from_utf8(wasm.get(q..q.checked_add(len)?)?).ok()?;
        q += len + 1;
        read_leb(wasm, &mut q)?;
        if keep(name) {
            kept.extend_from_slice(wasm.get(entry..q)?);
            n += 1;
        }
    }
    if q != s.payload.end || n == count {
        return None;
    }
    let mut payload = vec![];
    leb(n, &mut payload);
    payload.extend(kept);
    let mut out = wasm[..s.size_at - 1].to_vec();
    out.push(7);
    leb(payload.len(), &mut out);
    out.extend(payload);
    out.extend_from_slice(&wasm[s.payload.end..]);
    Some(out)
}

/// A section as it sits in the bytes: where its size field and payload are.
struct Section {
    size_at: usize,
    payload: Range<usize>,
    id: u8,
}

/// The sections up to the first that cannot be read.
fn sections(wasm: &[u8]) -> Vec<Section> {
    let mut out = vec![];
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let mut p = at + 1;
        let Some(size) = read_leb(wasm, &mut p) else {
            break;
        };
        let Some(end) = p.checked_add(size).filter(|e| *e <= wasm.len()) else {
            break;
        };
        out.push(Section {
            size_at: at + 1,
            payload: p..end,
            id,
        });
        at = end;
    }
    out
}

/// Candidates for removing `cut` from `wasm`: the bytes alone; and, when the
/// cut lies inside one section's payload, with that section's size field
/// rewritten, and also its entry count lowered by one (a vector section whose
/// entry went). Loaders read sizes first: without the fixes most cuts only
/// make the module malformed earlier.
fn cuts(wasm: &[u8], cut: Range<usize>) -> Vec<Vec<u8>> {
    let mut raw = wasm[..cut.start].to_vec();
    raw.extend_from_slice(&wasm[cut.end..]);
    let mut out = vec![raw];
    let Some(s) = sections(wasm)
        .into_iter()
        .find(|s| s.payload.start <= cut.start && cut.end <= s.payload.end)
    else {
        return out;
    };
    let rebuild = |payload: Vec<u8>| {
        let mut m = wasm[..s.size_at].to_vec();
        leb(payload.len(), &mut m);
        m.extend(payload);
        m.extend_from_slice(&wasm[s.payload.end..]);
        m
    };
    let mut payload = wasm[s.payload.start..cut.start].to_vec();
    payload.extend_from_slice(&wasm[cut.end..s.payload.end]);
    out.push(rebuild(payload.clone()));
    let mut p = 0;
    if let Some(count) = read_leb(&payload, &mut p).filter(|c| *c > 0 && s.id != 0) {
        if cut.start >= s.payload.start + p {
            let mut fewer = vec![];
            leb(count - 1, &mut fewer);
            fewer.extend_from_slice(&payload[p..]);
            out.push(rebuild(fewer));
        }
    }
    out
}

/// Reduction of a module that does not validate (a loader finding): whole
/// sections first, then chunks of bytes, halving the chunk size down to one
/// byte (each cut also tried with its section's size and count fixed), keeping
/// every candidate the predicate accepts. The 8-byte header stays.
pub fn reduce_bytes(
    wasm: Vec<u8>,
    interesting: &mut dyn FnMut(&[u8]) -> bool,
    out_of_time: &dyn Fn() -> bool,
) -> Vec<u8> {
    let mut best = wasm;
    let mut i = 0;
    while let Some(s) = sections(&best).get(i) {
        if out_of_time() {
            return best;
        }
        let mut candidate = best[..s.size_at - 1].to_vec();
        candidate.extend_from_slice(&best[s.payload.end..]);
        if interesting(&candidate) {
            best = candidate;
        } else {
            i += 1;
        }
    }
    let mut chunk = (best.len().saturating_sub(8) / 2).max(1);
    loop {
        let mut at = 8;
        while at < best.len() {
            let end = (at + chunk).min(best.len());
            let mut kept = false;
            for candidate in cuts(&best, at..end) {
                if out_of_time() {
                    return best;
                }
                if interesting(&candidate) {
                    best = candidate;
                    kept = true;
                    break;
                }
            }
            if !kept {
                at += chunk;
            }
        }
        if chunk == 1 {
            return best;
        }
        chunk /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasm(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    #[test]
    fn split_and_join_round_trip() {
        let w = wasm(r#"(module (func (export "a") (result i32) i32.const 1) (func) (data "x"))"#);
        let s = split(&w).unwrap();
        let bodies: Vec<Vec<u8>> = s.bodies.iter().map(|b| b.to_vec()).collect();
        assert_eq!(join(&s, &bodies), w);
    }

    #[test]
    fn keeps_only_what_the_predicate_needs() {
        // The predicate wants a function that divides: everything else goes.
        let w = wasm(
            r#"(module (func (export "f") (param i32) (result i32)
                 (local i32)
                 (local.set 1 (i32.add (local.get 0) (i32.const 7)))
                 (block (br_if 0 (i32.eqz (local.get 1))) (nop))
                 (drop (i32.mul (local.get 1) (local.get 1)))
                 (i32.div_s (local.get 0) (local.get 1))))"#,
        );
        let before = instruction_count(&w);
        let mut keeps_div = |c: &[u8]| wasmprinter::print_bytes(c).unwrap().contains("i32.div_s");
        let min = reduce_bodies(w, true, &mut keeps_div, &|| false);
        assert!(valid(&min));
        let text = wasmprinter::print_bytes(&min).unwrap();
        assert!(text.contains("i32.div_s"), "{text}");
        let after = instruction_count(&min);
        assert!(after <= 4 && after < before, "{before} -> {after}: {text}");
    }

    #[test]
    fn removes_the_termination_counter() {
        let w = wasm(
            r#"(module (global $fuel (mut i32) (i32.const 100))
                 (func (export "f") (result i32)
                   global.get $fuel i32.eqz if unreachable end
                   global.get $fuel i32.const 1 i32.sub global.set $fuel
                   (loop $l
                     global.get $fuel i32.eqz if unreachable end
                     global.get $fuel i32.const 1 i32.sub global.set $fuel)
                   i32.const 5))"#,
        );
        let min = without_fuel_checks(&w).unwrap();
        assert!(valid(&min));
        let text = wasmprinter::print_bytes(&min).unwrap();
        assert!(!text.contains("global.get"), "{text}");
        assert_eq!(instruction_count(&min), 2, "{text}");
        assert!(without_fuel_checks(&min).is_none());
    }

    #[test]
    fn bytes_shrink_to_what_the_predicate_needs() {
        let mut w = b"\0asm\x01\0\0\0".to_vec();
        w.extend_from_slice(b"0123456789abcdefXYZ0123456789");
        let min = reduce_bytes(
            w,
            &mut |c: &[u8]| c.windows(3).any(|x| x == b"XYZ"),
            &|| false,
        );
        assert_eq!(min, b"\0asm\x01\0\0\0XYZ");
    }
}
