;; WAMR's AoT compiler writes past the end of a heap buffer compiling this
;; valid module with call-stack frames that keep values:
;;   wamrc --enable-tail-call --enable-dump-call-stack -o f.aot f.wasm
;; aot_value_stack_push (from aot_compile_op_call) writes past the frame
;; that init_comp_frame allocated (valgrind: "Invalid write of size 8 ...
;; 0 bytes after a block"), and glibc aborts on the corrupted heap. It needs
;; the multi-value call before the return_call; without frames it compiles.
;; Needs-review by the policy (the compiler itself fails on a .wasm); tail
;; calls are tier B (P8).
(module
  (func $f (export "f") (result i64 i32)
    call $f
    return_call $f))
