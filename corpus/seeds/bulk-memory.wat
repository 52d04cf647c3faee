;; Bulk memory: fill, copy, init, drop, with passive data.
(module
  (memory (export "mem") 1 2)
  (data $d "wasmsieve-bulk")
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $d))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))
