;; WAMR's embedding API reads an AoT instance's exported global wrongly when the
;; module imports a global: wasm_runtime_get_export_global_inst takes
;; module->globals[export index], but the export's index counts the imported
;; globals first. Here `inf` re-exports the import (index 0 of 0 own globals):
;; the call reads past the array and the embedder dies of SIGSEGV at 0x38;
;; `own` (index 1) reads own global 1, one past the last. With fewer imports
;; than own globals it silently returns another global. The interpreters' branch
;; of the same function counts the imports. libc-builtin defines `global.Infinity`.
(module
  (import "global" "Infinity" (global $inf f64))
  (global $own (mut i32) (i32.const 7))
  (export "inf" (global $inf))
  (export "own" (global $own))
  (func (export "f") (result i32) global.get $own))
