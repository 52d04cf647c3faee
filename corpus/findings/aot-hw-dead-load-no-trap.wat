;; WAMR AoT with hardware bounds checks (code compiled with --bounds-checks=0):
;; an out-of-bounds load whose value is dropped is removed by LLVM, so the
;; trap the spec requires never happens. No memory is accessed: a missing trap
;; (bug), not a sandbox breach.
(module
  (memory 0 1)
  (func (export "dead_load") (param i32)
    (drop (i64.load16_u (local.get 0)))))
