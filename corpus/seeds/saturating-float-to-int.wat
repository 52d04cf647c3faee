;; Non-trapping float-to-int conversions next to their trapping twins.
(module
  (func (export "sat_s") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0)))
  (func (export "sat_u64") (param f64) (result i64) (i64.trunc_sat_f64_u (local.get 0)))
  (func (export "trap_s") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "trap_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0))))
