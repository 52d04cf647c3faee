;; Extended constant expressions in globals and segment offsets.
(module
  (global $base i32 (i32.const 16))
  (global (export "g") i32 (i32.add (global.get $base) (i32.mul (i32.const 4) (i32.const 8))))
  (global (export "g64") i64 (i64.sub (i64.const 0) (i64.const 1)))
  (memory (export "mem") 1 1)
  (data (i32.add (global.get $base) (i32.const 4)) "\01\02\03\04")
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
