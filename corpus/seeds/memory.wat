;; Linear memory at its edges: growth, bounds, unaligned and wide accesses.
(module
  (memory (export "mem") 1 3)
  (global (export "pages") (mut i32) (i32.const 1))
  (func (export "grow") (param i32) (result i32)
    (global.set 1 (i32.add (global.get 1) (i32.const 0)))
    (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "load64") (param i32) (result i64) (i64.load offset=3 (local.get 0)))
  (func (export "store") (param i32 i64) (i64.store16 offset=65530 (local.get 0) (local.get 1)))
  (func (export "loadf") (param i32) (result f64) (f64.load align=1 (local.get 0))))
