/*
 * wasmsieve's shim over WAMR's embedding API.
 *
 * The same shim is compiled into every WAMR build (classic interpreter, fast
 * interpreter, AoT). Each build is then partially linked into one object whose
 * only global symbol is its API table, `wsv_api_<mode>` (WSV_API_NAME), so
 * several builds of the same sources live in one binary without colliding.
 */
#ifndef WSV_SHIM_H
#define WSV_SHIM_H
#include <stdint.h>

/* Value kinds, as in WAMR's wasm_valkind_t: 0 i32, 1 i64, 2 f32, 3 f64,
   128 externref, 129 funcref. A reference's bits: WSV_REF_NULL for null; an
   externref's host identity (a small integer, argument or result); a
   funcref's function index (argument or result). */
#define WSV_REF_NULL UINT64_MAX
#define WSV_KIND_NONE 0xFF /* result slot not used by the function */
/* Raised with every change to the table below; the crate's mirror
   (engines/wamr/ffi.rs) checks it and the table's size before any call. */
#define WSV_ABI_VERSION 2

typedef struct wsv_aot_options {
    uint32_t opt_level;     /* 0..3 */
    uint32_t size_level;    /* 0..3 */
    uint32_t bounds_checks; /* 1: software bounds checks in emitted code */
    uint32_t segue;         /* 1: linear memory through GS (wamrc --enable-segue) */
    uint32_t no_jump_tables; /* 1: wamrc --disable-llvm-jump-tables */
    uint32_t multi_thread;  /* 1: wamrc --enable-multi-thread */
    /* 0: no stack frames; else bit 0 set (wamrc --enable-dump-call-stack)
       and bits 1-5 its --call-stack-features: bounds-checks, ip, func-idx,
       trap-ip, values (wamrc's default: all). Builds with the AoT stack
       frame runtime only. */
    uint32_t call_stack;
} wsv_aot_options;

/* A host function for imports: its import name and WAMR signature ("(i)i";
   the shapes wsv_shim.c has trampolines for). A call of it reaches the
   embedder's `wsv_host_call` with the function's index in the table given to
   `init` and its arguments as 64-bit slots of raw bits; the result, if any,
   goes to args[0]. */
typedef struct wsv_host_func {
    const char *name;
    const char *signature;
} wsv_host_func;
typedef void (*wsv_host_call)(uint32_t func, uint64_t *args);

typedef struct wsv_api {
    uint32_t abi_version; /* WSV_ABI_VERSION */
    uint32_t size;        /* sizeof(wsv_api) */
    const char *mode;    /* "classic", "fast", "aot", "classic_hw", ... */
    const char *version; /* WAMR version string */
    const char *flags;   /* cmake definitions this build used */
    /* Initializes the runtime once (system allocator) and registers the
       host's functions under `host_module` (kept, never copied: they must
       live forever). 0 on success. */
    int (*init)(const char *host_module, const wsv_host_func *funcs, uint32_t nfuncs,
                wsv_host_call call);
    /* Loads a module (wasm, or aot for the aot build); copies `buf`.
       NULL on rejection with the reason in `err`. */
    void *(*load)(const uint8_t *buf, uint32_t len, char *err, uint32_t err_len);
    void (*unload)(void *module);
    /* Instantiates; NULL with the reason (a trap message or link error). */
    void *(*instantiate)(void *module, uint32_t stack_size, uint32_t heap_size,
                         char *err, uint32_t err_len);
    void (*deinstantiate)(void *instance);
    /* Calls an export. Arguments and results are raw bit patterns; kinds come
       from the function's own signature. `nargs` must equal the parameter
       count; `nresults` is the capacity of `results`/`result_kinds`: the
       function's results fill the first slots and every slot after them gets
       kind WSV_KIND_NONE (so the caller learns the result count). Returns 0 on
       return, 1 on a trap (WAMR's exception string in `err`; the exception is
       cleared), 2 when the export is missing or has a signature the shim does
       not handle (v128, wrong arg count, too many results). */
    int (*call)(void *instance, const char *name, const uint64_t *args,
                uint32_t nargs, uint64_t *results, uint32_t nresults,
                uint8_t *result_kinds, char *err, uint32_t err_len);
    /* Reads an exported global: 0 and kind/bits (references as call
       results), or -1 when absent or of another type. */
    int (*global)(void *instance, const char *name, uint8_t *kind, uint64_t *bits);
    /* Exported memory: its base address and byte length, or NULL. */
    uint8_t *(*memory)(void *instance, const char *name, uint64_t *len);
    /* AoT builds only (NULL elsewhere): compiles wasm to an .aot buffer
       (free with free_buf). NULL with the reason in `err`. */
    uint8_t *(*compile)(const uint8_t *wasm, uint32_t len, const wsv_aot_options *opts,
                        uint32_t *out_len, char *err, uint32_t err_len);
    void (*free_buf)(uint8_t *buf);
    /* 1 when this build has hardware bounds checks (guard region, signal
       handlers of its own: worker processes only), else 0. */
    int hw_bound_check;
    /* The default memory (index 0) of an instance: base address, current
       accessible length, and the length of the address range reserved for it
       from `base` (8 GiB with hardware bounds checks: the bytes from `size`
       to `reserved` are the guard region; equal to `size` otherwise).
       0 on success, -1 when the instance has no memory. */
    int (*memory_region)(void *instance, uint64_t *base, uint64_t *size,
                         uint64_t *reserved);
    /* WASI (libc-wasi builds): before `instantiate`, preopens `host_dir` as
       `guest_dir` (as iwasm --map-dir=GUEST::HOST) and gives the instance
       `stdio_fd` as stdin, stdout and stderr (WAMR never closes stdio fds).
       The strings are copied and kept with the module. A module that imports
       no WASI is unaffected. 0 on success, -1 without WASI or memory. */
    int (*set_wasi)(void *module, const char *host_dir, const char *guest_dir,
                    int stdio_fd);
} wsv_api;

#endif
