;; WAMR #2773 seen as a hang (the shape of WAMR's issue-3022 input): the only
;; way out of the loop is the out-of-bounds trap of a load whose value is
;; dropped. AoT code compiled with --bounds-checks=0 (hardware bounds checks)
;; loses the load, so the loop runs on; wasmtime and software bounds checks
;; trap. The known issue, whatever its symptom.
(module
  (memory 1)
  (func (export "to_test") (result i32)
    (loop $l
      (drop (i32.load8_u (i32.const 70000)))
      (br $l))
    (i32.const 0)))
