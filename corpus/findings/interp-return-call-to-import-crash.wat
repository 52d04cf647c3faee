;; WAMR's interpreters (classic and fast, either bounds check) crash when a
;; function tail-calls (`return_call`) an imported host function from the
;; outermost wasm frame. Stock iwasm shows it with any native, e.g. libc-builtin's
;; `env.toupper` in place of the harness's `host.i32` (see README.md).
(module
  (import "host" "i32" (func $h (param i32) (result i32)))
  (func (export "f") (param i32) (result i32)
    local.get 0
    return_call $h))
