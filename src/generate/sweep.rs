//! The sweep: a systematic generator beside wasm-smith. One small module per
//! instruction (every numeric operator, every load and store width at
//! boundary offsets, bulk memory, memory and table growth, table access,
//! atomics and SIMD loads where enabled), its call plan walking the edge
//! values (0, ±1, INT_MIN, INT_MAX, NaN, ±0, ±inf, the float-to-int limits)
//! and the addresses at and around the end of memory. Random generation
//! rarely lands an access exactly at `size - k`; the sweep always does, in
//! every mode, in minutes.

use super::edges::values as edges;
use super::plan::{CallPlan, Exports, PlannedCall};
use super::TestCase;
use crate::wasm::features::FeatureSet;
use crate::wasm::Val;

/// Numeric operators: (name, parameter types, result type).
fn numeric_ops() -> Vec<(String, Vec<&'static str>, &'static str)> {
    let mut ops = vec![];
    for t in ["i32", "i64"] {
        for op in ["clz", "ctz", "popcnt", "eqz", "extend8_s", "extend16_s"] {
            let r = if op == "eqz" { "i32" } else { t };
            ops.push((format!("{t}.{op}"), vec![t], r));
        }
        for op in [
            "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
            "shr_s", "shr_u", "rotl", "rotr",
        ] {
            ops.push((format!("{t}.{op}"), vec![t, t], t));
        }
        for op in [
            "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
        ] {
            ops.push((format!("{t}.{op}"), vec![t, t], "i32"));
        }
    }
    ops.push(("i64.extend32_s".into(), vec!["i64"], "i64"));
    for t in ["f32", "f64"] {
        for op in ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"] {
            ops.push((format!("{t}.{op}"), vec![t], t));
        }
        for op in ["add", "sub", "mul", "div", "min", "max", "copysign"] {
            ops.push((format!("{t}.{op}"), vec![t, t], t));
        }
        for op in ["eq", "ne", "lt", "gt", "le", "ge"] {
            ops.push((format!("{t}.{op}"), vec![t, t], "i32"));
        }
    }
    for (to, from) in [
        ("i32", "f32"),
        ("i32", "f64"),
        ("i64", "f32"),
        ("i64", "f64"),
    ] {
        for sign in ["s", "u"] {
            ops.push((format!("{to}.trunc_{from}_{sign}"), vec![from], to));
            ops.push((format!("{to}.trunc_sat_{from}_{sign}"), vec![from], to));
        }
    }
    for (to, from) in [
        ("f32", "i32"),
        ("f32", "i64"),
        ("f64", "i32"),
        ("f64", "i64"),
    ] {
        for sign in ["s", "u"] {
            ops.push((format!("{to}.convert_{from}_{sign}"), vec![from], to));
        }
    }
    ops.push(("i32.wrap_i64".into(), vec!["i64"], "i32"));
    ops.push(("i64.extend_i32_s".into(), vec!["i32"], "i64"));
    ops.push(("i64.extend_i32_u".into(), vec!["i32"], "i64"));
    ops.push(("f32.demote_f64".into(), vec!["f64"], "f32"));
    ops.push(("f64.promote_f32".into(), vec!["f32"], "f64"));
    for (a, b) in [
        ("i32", "f32"),
        ("i64", "f64"),
        ("f32", "i32"),
        ("f64", "i64"),
    ] {
        ops.push((format!("{a}.reinterpret_{b}"), vec![b], a));
    }
    ops
}

/// Every combination of the parameters' edge values (pairs for binary ops).
fn edge_calls(export: &str, params: &[&str]) -> Vec<PlannedCall> {
    let mut tuples: Vec<Vec<Val>> = vec![vec![]];
    for p in params {
        tuples = tuples
            .into_iter()
            .flat_map(|t| {
                edges(p).into_iter().map(move |v| {
                    let mut t = t.clone();
                    t.push(v);
                    t
                })
            })
            .collect();
    }
    tuples
        .into_iter()
        .map(|args| PlannedCall {
            export: export.into(),
            args,
        })
        .collect()
}

fn case(wat: &str, calls: Vec<PlannedCall>) -> TestCase {
    let wasm = wat::parse_str(wat).unwrap_or_else(|e| panic!("sweep module: {e}\n{wat}"));
    let exports = Exports::read(&wasm).expect("sweep modules validate");
    let plan = CallPlan {
        calls,
        globals: exports.globals,
        memories: exports.memories,
        ..CallPlan::default()
    };
    TestCase::new(wasm, plan)
}

/// Addresses at and around the end of a memory of `size` bytes, and far out.
fn boundary_addresses(size: u64, width: u64) -> Vec<i64> {
    let mut a: Vec<i64> = vec![0, 1, 0x7fff_ffff, 0xffff_ffff, 0xffff_fff0];
    for k in 0..=width + 2 {
        a.push(size as i64 - k as i64);
    }
    a.push(size as i64 + 1);
    a.sort_unstable();
    a.dedup();
    a
}

const PAGE: u64 = 65536;
/// Loads and stores: (instruction, value type, access width in bytes).
const ACCESSES: &[(&str, &str, u64)] = &[
    ("i32.load", "i32", 4),
    ("i64.load", "i64", 8),
    ("f32.load", "f32", 4),
    ("f64.load", "f64", 8),
    ("i32.load8_s", "i32", 1),
    ("i32.load8_u", "i32", 1),
    ("i32.load16_s", "i32", 2),
    ("i32.load16_u", "i32", 2),
    ("i64.load8_s", "i64", 1),
    ("i64.load8_u", "i64", 1),
    ("i64.load16_s", "i64", 2),
    ("i64.load16_u", "i64", 2),
    ("i64.load32_s", "i64", 4),
    ("i64.load32_u", "i64", 4),
];
const STORES: &[(&str, &str, u64)] = &[
    ("i32.store", "i32", 4),
    ("i64.store", "i64", 8),
    ("f32.store", "f32", 4),
    ("f64.store", "f64", 8),
    ("i32.store8", "i32", 1),
    ("i32.store16", "i32", 2),
    ("i64.store8", "i64", 1),
    ("i64.store16", "i64", 2),
    ("i64.store32", "i64", 4),
];
const OFFSETS: &[u64] = &[0, 1, 7, 65535, 65536, 0xffff_ffff];

fn i32_arg(a: i64) -> Val {
    Val::I32(a as u32 as i32)
}

fn memory_cases(memory: &str, addr: &str, out: &mut Vec<TestCase>) {
    let arg = |a: i64| match addr {
        "i64" => Val::I64(a),
        _ => i32_arg(a),
    };
    let data =
        format!(r#"(data ({addr}.const 0) "\01\02\03\04\05\06\07\08\f0\e0\d0\c0\b0\a0\90\80")"#);
    for &(load, ty, width) in ACCESSES {
        for &offset in OFFSETS {
            let wat = format!(
                "(module (memory (export \"m\") {memory}) {data} \
                 (func (export \"f\") (param {addr}) (result {ty}) ({load} offset={offset} (local.get 0))))"
            );
            // Effective addresses at the boundary: the operand is that less the offset.
            let calls = boundary_addresses(PAGE, width)
                .into_iter()
                .map(|a| PlannedCall {
                    export: "f".into(),
                    args: vec![arg(a.wrapping_sub(offset as i64))],
                })
                .collect();
            out.push(case(&wat, calls));
        }
    }
    for &(store, ty, width) in STORES {
        for &offset in &OFFSETS[..4] {
            let wat = format!(
                "(module (memory (export \"m\") {memory}) \
                 (func (export \"f\") (param {addr} {ty}) ({store} offset={offset} (local.get 0) (local.get 1))))"
            );
            let value = edges(ty)[2];
            let calls = boundary_addresses(PAGE, width)
                .into_iter()
                .map(|a| PlannedCall {
                    export: "f".into(),
                    args: vec![arg(a.wrapping_sub(offset as i64)), value],
                })
                .collect();
            out.push(case(&wat, calls));
        }
    }
    // Growth near the maximum, then accesses at the new end.
    let wat = format!(
        "(module (memory (export \"m\") {memory}) \
         (func (export \"grow\") (param {addr}) (result {addr}) (memory.grow (local.get 0))) \
         (func (export \"size\") (result {addr}) (memory.size)) \
         (func (export \"load\") (param {addr}) (result i32) (i32.load8_u (local.get 0))))"
    );
    let mut calls = vec![];
    for delta in [0i64, 1, 2, 3, 0xffff, 0x1_0000, -1] {
        calls.push(PlannedCall {
            export: "grow".into(),
            args: vec![arg(delta)],
        });
        calls.push(PlannedCall {
            export: "size".into(),
            args: vec![],
        });
        for a in [
            2 * PAGE as i64 - 1,
            2 * PAGE as i64,
            3 * PAGE as i64 - 1,
            3 * PAGE as i64,
        ] {
            calls.push(PlannedCall {
                export: "load".into(),
                args: vec![arg(a)],
            });
        }
    }
    out.push(case(&wat, calls));
    // Bulk memory whose ranges cross the end.
    let wat = format!(
        "(module (memory (export \"m\") {memory}) {data} \
         (data $d \"abcdefgh\") \
         (func (export \"fill\") (param {addr} i32 {addr}) (memory.fill (local.get 0) (local.get 1) (local.get 2))) \
         (func (export \"copy\") (param {addr} {addr} {addr}) (memory.copy (local.get 0) (local.get 1) (local.get 2))) \
         (func (export \"init\") (param {addr} i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2))))"
    );
    let mut calls = vec![];
    let end = PAGE as i64;
    for (dst, len) in [
        (0, 0),
        (end, 0),
        (end + 1, 0),
        (end - 8, 8),
        (end - 8, 9),
        (end - 1, 2),
        (0, end),
        (0, end + 1),
        (1, end),
        (end, 1),
        (0, 0xffff_ffff),
        // dst + len wrapping the address space (to 0, to 1, past 2^63).
        (1, -1),
        (-1, 1),
        (-1, 2),
        (i64::MAX, i64::MIN + 1),
    ] {
        calls.push(PlannedCall {
            export: "fill".into(),
            args: vec![arg(dst), Val::I32(0x5a), arg(len)],
        });
        calls.push(PlannedCall {
            export: "copy".into(),
            args: vec![arg(dst), arg(8), arg(len)],
        });
        calls.push(PlannedCall {
            export: "copy".into(),
            args: vec![arg(8), arg(dst), arg(len)],
        });
        calls.push(PlannedCall {
            export: "init".into(),
            args: vec![arg(dst), Val::I32(0), Val::I32(len.clamp(0, 9) as i32)],
        });
    }
    out.push(case(&wat, calls));
}

fn table_cases(out: &mut Vec<TestCase>) {
    let wat = r#"(module
        (table $t (export "t") 10 20 funcref)
        (type $v (func (result i32)))
        (func $a (result i32) (i32.const 7))
        (elem (i32.const 0) $a $a)
        (elem $e func $a $a $a)
        (func (export "size") (result i32) (table.size $t))
        (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
        (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
        (func (export "set") (param i32) (table.set $t (local.get 0) (ref.func $a)))
        (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $a) (local.get 1)))
        (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
        (func (export "init") (param i32 i32 i32) (table.init $t $e (local.get 0) (local.get 1) (local.get 2)))
        (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0))))"#;
    let mut calls = vec![];
    let i = |v: i32| Val::I32(v);
    for idx in [0, 1, 2, 9, 10, 11, 19, 20, -1] {
        for f in ["is_null", "set", "call"] {
            calls.push(PlannedCall {
                export: f.into(),
                args: vec![i(idx)],
            });
        }
        for len in [0, 1, 2] {
            calls.push(PlannedCall {
                export: "fill".into(),
                args: vec![i(idx), i(len)],
            });
            calls.push(PlannedCall {
                export: "copy".into(),
                args: vec![i(idx), i(0), i(len)],
            });
            calls.push(PlannedCall {
                export: "copy".into(),
                args: vec![i(0), i(idx), i(len)],
            });
            calls.push(PlannedCall {
                export: "init".into(),
                args: vec![i(idx), i(0), i(len)],
            });
        }
    }
    for delta in [0, 1, 9, 10, 11, -1] {
        calls.push(PlannedCall {
            export: "grow".into(),
            args: vec![i(delta)],
        });
        calls.push(PlannedCall {
            export: "size".into(),
            args: vec![],
        });
        calls.push(PlannedCall {
            export: "call".into(),
            args: vec![i(19)],
        });
    }
    out.push(case(wat, calls));
}

fn atomic_cases(out: &mut Vec<TestCase>) {
    // (instruction, type, width, whether it takes a value operand)
    for (op, ty, width, rmw) in [
        ("i32.atomic.load", "i32", 4u64, false),
        ("i64.atomic.load", "i64", 8, false),
        ("i32.atomic.load8_u", "i32", 1, false),
        ("i32.atomic.load16_u", "i32", 2, false),
        ("i64.atomic.load32_u", "i64", 4, false),
        ("i32.atomic.rmw.add", "i32", 4, true),
        ("i64.atomic.rmw.xchg", "i64", 8, true),
        ("i32.atomic.rmw8.sub_u", "i32", 1, true),
        ("i64.atomic.rmw16.or_u", "i64", 2, true),
    ] {
        let (param, operand) = if rmw {
            (format!(" {ty}"), " (local.get 1)")
        } else {
            (String::new(), "")
        };
        let wat = format!(
            "(module (memory (export \"m\") 1 1 shared) \
             (func (export \"f\") (param i32{param}) (result {ty}) ({op} (local.get 0){operand})))"
        );
        let value = edges(ty)[2];
        // The end of memory, and misaligned addresses inside it.
        let calls = boundary_addresses(PAGE, width)
            .into_iter()
            .chain([2, 3, 5])
            .map(|a| PlannedCall {
                export: "f".into(),
                args: if rmw {
                    vec![i32_arg(a), value]
                } else {
                    vec![i32_arg(a)]
                },
            })
            .collect();
        out.push(case(&wat, calls));
    }
}

fn simd_cases(out: &mut Vec<TestCase>) {
    for (load, width) in [
        ("v128.load", 16u64),
        ("v128.load8x8_s", 8),
        ("v128.load32_zero", 4),
        ("v128.load64_splat", 8),
    ] {
        let wat = format!(
            "(module (memory (export \"m\") 1 1) (data (i32.const 65520) \"\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10\") \
             (func (export \"f\") (param i32) (result i64) (i64x2.extract_lane 1 ({load} (local.get 0)))))"
        );
        let calls = boundary_addresses(PAGE, width)
            .into_iter()
            .map(|a| PlannedCall {
                export: "f".into(),
                args: vec![i32_arg(a)],
            })
            .collect();
        out.push(case(&wat, calls));
    }
    for (op, shape) in [
        ("i32x4.add", "i32x4"),
        ("i8x16.add_sat_s", "i32x4"),
        ("i16x8.mul", "i32x4"),
        ("i32x4.min_s", "i32x4"),
        ("i64x2.mul", "i32x4"),
        ("i8x16.shl", "shift"),
        ("i32x4.shr_s", "shift"),
        ("i64x2.shr_u", "shift"),
        ("f32x4.min", "f32x4"),
        ("f32x4.max", "f32x4"),
        ("f64x2.nearest", "f64x2_unary"),
        ("i32x4.trunc_sat_f32x4_s", "f32x4_unary"),
    ] {
        let body = match shape {
            "shift" => format!("({op} (i32x4.splat (local.get 0)) (local.get 1))"),
            "f32x4" => format!("({op} (f32x4.splat (f32.reinterpret_i32 (local.get 0))) (f32x4.splat (f32.reinterpret_i32 (local.get 1))))"),
            "f64x2_unary" => format!("({op} (f64x2.splat (f64.convert_i32_s (local.get 0))))"),
            "f32x4_unary" => format!("({op} (f32x4.splat (f32.reinterpret_i32 (local.get 0))))"),
            _ => format!("({op} (i32x4.splat (local.get 0)) (i32x4.splat (local.get 1)))"),
        };
        // A float result's NaN lanes may carry any arithmetic NaN (the spec
        // leaves the payload open): they become the canonical NaN before a
        // lane is read, as wasm-smith's `canonicalize_nans` does.
        let result = match shape {
            "f32x4" => "(v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.get 2) (f32x4.ne (local.get 2) (local.get 2)))",
            "f64x2_unary" => "(v128.bitselect (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000) (local.get 2) (f64x2.ne (local.get 2) (local.get 2)))",
            _ => "(local.get 2)",
        };
        let wat = format!(
            "(module (func (export \"f\") (param i32 i32) (result i64) (local v128) \
             (local.set 2 {body}) (i64x2.extract_lane 0 {result})))"
        );
        let mut calls = edge_calls("f", &["i32", "i32"]);
        // The float shapes take their operands' bits from i32 edges plus NaN/inf.
        for bits in [
            0x7fc0_0000u32,
            0xff80_0000,
            0x7f80_0000,
            0x8000_0000,
            0x4f00_0000,
        ] {
            calls.push(PlannedCall {
                export: "f".into(),
                args: vec![Val::I32(bits as i32), Val::I32(0x3f80_0000)],
            });
        }
        out.push(case(&wat, calls));
    }
}

/// Every sweep case for modes that support `features` between them.
pub fn cases(features: &FeatureSet) -> Vec<TestCase> {
    let mut out = vec![];
    for (op, params, result) in numeric_ops() {
        let names: Vec<String> = (0..params.len())
            .map(|i| format!("(local.get {i})"))
            .collect();
        let wat = format!(
            "(module (func (export \"f\") (param {}) (result {result}) ({op} {})))",
            params.join(" "),
            names.join(" ")
        );
        out.push(case(&wat, edge_calls("f", &params)));
    }
    memory_cases("1 2", "i32", &mut out);
    table_cases(&mut out);
    let f = features.optional_names();
    if f.contains(&"memory64") {
        memory_cases("i64 1 2", "i64", &mut out);
    }
    if f.contains(&"threads") {
        atomic_cases(&mut out);
    }
    if f.contains(&"simd") {
        simd_cases(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_validates_and_calls_only_its_exports() {
        let all = cases(&FeatureSet::GENERATED);
        let base = cases(&FeatureSet::BASE);
        assert!(
            all.len() > base.len() && base.len() > 150,
            "{} / {}",
            all.len(),
            base.len()
        );
        for c in &all {
            let mut v =
                wasmparser::Validator::new_with_features(FeatureSet::GENERATED.wasmparser());
            if let Err(e) = v.validate_all(&c.wasm) {
                panic!("{e}: {}", wasmprinter::print_bytes(&c.wasm).unwrap());
            }
            let names = Exports::names(&c.wasm);
            assert!(!c.plan.calls.is_empty());
            assert!(c.plan.calls.iter().all(|p| names.contains(&p.export)));
        }
        for c in &base {
            assert!(FeatureSet::BASE.covers(&FeatureSet::needed_by(&c.wasm)));
        }
    }
}
