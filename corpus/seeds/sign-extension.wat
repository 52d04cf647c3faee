;; Sign-extension operators.
(module
  (func (export "e8") (param i32) (result i32) (i32.extend8_s (local.get 0)))
  (func (export "e16") (param i32) (result i32) (i32.extend16_s (local.get 0)))
  (func (export "e64_8") (param i64) (result i64) (i64.extend8_s (local.get 0)))
  (func (export "e64_32") (param i64) (result i64) (i64.extend32_s (local.get 0))))
