;; Numeric edge cases: division traps, shifts, rotations, float min/max, NaN-producing ops.
(module
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
  (func (export "rotl") (param i64 i64) (result i64) (i64.rotl (local.get 0) (local.get 1)))
  (func (export "shr") (param i32 i32) (result i32) (i32.shr_s (local.get 0) (local.get 1)))
  (func (export "fmin") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
  (func (export "fnear") (param f32) (result f32) (f32.nearest (local.get 0)))
  (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
  (func (export "clz") (param i64) (result i64) (i64.clz (local.get 0))))
