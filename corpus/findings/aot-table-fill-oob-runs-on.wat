;; WAMR AoT without hardware bounds checks keeps running after an out-of-bounds
;; table.fill (also table.copy, table.init): the runtime helper records the trap
;; but the compiled code has no exception check after the call, so `unreachable`
;; runs and its trap replaces "out of bounds table access".
(module
  (table 0 39 externref)
  (global $g (mut i32) (i32.const 0))
  (func (export "fill_then_unreachable")
    i32.const 5
    ref.null extern
    i32.const 0
    table.fill 0
    unreachable)
  ;; The code after the trap has effects: $g is 42 in WAMR AoT, 0 everywhere else.
  (func (export "fill_then_set")
    i32.const 5
    ref.null extern
    i32.const 0
    table.fill 0
    i32.const 42
    global.set $g)
  (func (export "read_g") (result i32)
    global.get $g)
)
