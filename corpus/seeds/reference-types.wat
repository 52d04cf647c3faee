;; Reference types: tables of funcref/externref, table.get/set/grow/size/fill, ref.is_null.
(module
  (type $t (func (result i32)))
  (table $f (export "funcs") 4 8 funcref)
  (table $e 2 4 externref)
  (elem (table $f) (i32.const 0) func $a $b)
  (func $a (result i32) i32.const 11)
  (func $b (result i32) i32.const 22)
  (func (export "call") (param i32) (result i32) (call_indirect $f (type $t) (local.get 0)))
  (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $f (local.get 0))))
  (func (export "grow") (param i32) (result i32) (table.grow $f (ref.null func) (local.get 0)))
  (func (export "size") (result i32) (table.size $f))
  (func (export "fill_e") (param i32 i32) (table.fill $e (local.get 0) (ref.null extern) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (table.copy $f $f (local.get 0) (local.get 1) (local.get 2))))
