;; Multi-value: functions and blocks with several results.
(module
  (func $swap (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "swap") (param i32 i64) (result i64 i32) (call $swap (local.get 0) (local.get 1)))
  (func (export "block") (param i32) (result i32)
    (block (param i32) (result i32 i32) (local.get 0) (i32.const 3))
    i32.mul)
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_u (local.get 0) (local.get 1)) (i32.rem_u (local.get 0) (local.get 1))))
