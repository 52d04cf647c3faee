;; WAMR's AoT compiler crashes (SIGSEGV in LLVMAddIncoming, called from
;; aot_emit_exception for aot_compile_op_unreachable) compiling this valid
;; module with tiny call-stack frames and the trap-ip feature:
;;   wamrc --enable-dump-call-stack --call-stack-features=bounds-checks,ip,trap-ip
;; (without bounds-checks, or with values, it compiles). Found by the spec
;; suite's unreached-valid.wast and float_exprs.wast once wasmsieve drew
;; call-stack options per module; needs-review by the policy (the compiler
;; itself fails on a .wasm).
(module
  (func (export "select-trap-left") (param $cond i32) (result i32)
    (select (unreachable) (i32.const 0) (local.get $cond))))
