//! Values at the edges of each type, where engines most often disagree: 0,
//! ±1, the shift widths, INT_MIN/INT_MAX, NaN, ±0, ±inf, the limits of
//! float-to-int conversion. Stated once: call plans draw arguments from here
//! half the time, and the sweep walks all of them.

use crate::wasm::Val;

/// Also the ends of one- and two-page memories less a few bytes (as
/// addresses), and the page size (as a `memory.grow` delta).
pub const I32: &[i32] = &[
    0,
    1,
    -1,
    2,
    7,
    31,
    32,
    33,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x1_0000,
    i32::MIN,
    i32::MIN + 1,
    i32::MAX,
    65528,
    65532,
    65535,
    131064,
    131068,
    131071,
    131072,
];
pub const I64: &[i64] = &[
    0,
    1,
    -1,
    63,
    64,
    0xffff_ffff,
    0x1_0000_0000,
    i32::MIN as i64,
    i32::MAX as i64,
    i64::MIN,
    i64::MIN + 1,
    i64::MAX,
];
pub const F32: &[f32] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
    1e-45,
    2147483520.0,
    2147483648.0,
    -2147483648.0,
    -2147483904.0,
    4294967040.0,
    4294967296.0,
    9.223372e18,
    -9.223372e18,
    1.8446743e19,
];
pub const F64: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    5e-324,
    2147483647.0,
    2147483647.9,
    2147483648.0,
    -2147483648.0,
    -2147483648.9,
    -2147483649.0,
    4294967295.9,
    4294967296.0,
    9223372036854774784.0,
    9223372036854775808.0,
    -9223372036854775808.0,
    -9223372036854777856.0,
    18446744073709549568.0,
    18446744073709551616.0,
];

/// How many distinct `externref` values plans pass: enough for a module to
/// tell its arguments apart.
pub const EXTERN_IDS: u32 = 4;

/// Every edge value of a type (by its WAT name). References: null, and for
/// `externref` the host's identities (a non-null funcref names one of the
/// module's own functions: plans draw those, `Val::FuncExport`).
pub fn values(ty: &str) -> Vec<Val> {
    match ty {
        "funcref" => vec![Val::FuncRef { non_null: false }],
        "externref" => std::iter::once(None)
            .chain((0..EXTERN_IDS).map(Some))
            .map(Val::ExternRef)
            .collect(),
        "i32" => I32.iter().map(|v| Val::I32(*v)).collect(),
        "i64" => I64.iter().map(|v| Val::I64(*v)).collect(),
        "f32" => F32.iter().map(|v| Val::F32(v.to_bits())).collect(),
        "f64" => F64.iter().map(|v| Val::F64(v.to_bits())).collect(),
        _ => unreachable!("no edges for {ty}"),
    }
}
