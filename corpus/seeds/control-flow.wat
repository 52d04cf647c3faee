;; Control flow: br_table, loops with a bound, select, recursion with a bound.
(module
  (global (export "steps") (mut i32) (i32.const 0))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "table") (param i32) (result i32)
    (block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 10))) (return (i32.const 20)))
    i32.const 30)
  (func (export "count") (param i32) (result i32) (local i32)
    (local.set 0 (i32.and (local.get 0) (i32.const 1023)))
    (loop $l
      (global.set 0 (i32.add (global.get 0) (i32.const 1)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (i32.gt_s (local.tee 0 (i32.sub (local.get 0) (i32.const 1))) (i32.const 0))))
    (local.get 1))
  (func (export "sel") (param i32 f32 f32) (result f32) (select (local.get 1) (local.get 2) (local.get 0))))
