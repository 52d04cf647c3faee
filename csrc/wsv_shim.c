/*
 * wasmsieve's shim over WAMR's embedding API (see wsv_shim.h).
 *
 * Compiled once per WAMR build with:
 *   WSV_API_NAME  the table's symbol (wsv_api_classic, wsv_api_fast, wsv_api_aot,
 *                 wsv_api_classic_hw, wsv_api_fast_hw, wsv_api_aot_hw)
 *   WSV_MODE      "classic" | "fast" | "aot" | "classic_hw" | "fast_hw" | "aot_hw"
 *   WSV_FLAGS     the cmake definitions of this build (printed by the binary)
 *   WSV_VERSION   "major.minor.patch" of the WAMR tree
 * Everything but WSV_API_NAME is made local after linking (build.rs), so these
 * helpers may use any names.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_export.h"
#include "wsv_shim.h"

/* The aot build holds WAMR's AoT compiler the way wamrc does
   (WASM_ENABLE_WAMR_COMPILER=1, LLVM JIT off) plus the AoT runtime. */
#if defined(WASM_ENABLE_WAMR_COMPILER) && WASM_ENABLE_WAMR_COMPILER != 0
#define WSV_HAS_COMPILER 1
#include "aot_export.h"
#include "aot_comp_option.h"
#else
#define WSV_HAS_COMPILER 0
#endif

#if WSV_HAS_COMPILER && (defined(WASM_ENABLE_JIT) && WASM_ENABLE_JIT != 0)
/* wasm_runtime_load of the .wasm would start lazy LLVM JIT threads that
   outlive the unload in shim_compile. */
#error "the aot build must not enable the LLVM JIT"
#endif

/* WAMR's own switch (a compile definition of every build). */
#if defined(WASM_DISABLE_HW_BOUND_CHECK) && WASM_DISABLE_HW_BOUND_CHECK == 0
#define WSV_HW_BOUND_CHECK 1
#else
#define WSV_HW_BOUND_CHECK 0
#endif

#ifndef WSV_API_NAME
#error "WSV_API_NAME must be defined"
#endif
#ifndef WSV_MODE
#define WSV_MODE "unknown"
#endif
#ifndef WSV_FLAGS
#define WSV_FLAGS ""
#endif
#ifndef WSV_VERSION
#define WSV_VERSION "unknown"
#endif

/* WAMR prints through os_printf/os_vprintf, which we route here with
   -DBH_VPRINTF=wsv_vprintf: stdout may be a worker's protocol channel and the
   AoT compiler prints a banner per module. Quiet unless WASMSIEVE_WAMR_LOG is set,
   then to stderr. */
int
wsv_vprintf(const char *format, va_list ap)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("WASMSIEVE_WAMR_LOG") != NULL;
    return verbose ? vfprintf(stderr, format, ap) : 0;
}

static void
set_err(char *err, uint32_t err_len, const char *msg)
{
    if (err && err_len) {
        snprintf(err, err_len, "%s", msg ? msg : "");
    }
}

/* A loaded module keeps its own copy of the bytes: WAMR points into them. */
typedef struct wsv_module {
    wasm_module_t module;
    uint8_t *bytes;
    /* WASI arguments: WAMR keeps the pointers (the list's too). */
    char *map_dir;
    const char *map_dirs[1];
} wsv_module;

/* An instance with its (lazily created, reused) execution environment. */
typedef struct wsv_instance {
    wasm_module_inst_t inst;
    wasm_exec_env_t env;
    uint32_t stack_size;
} wsv_instance;

static wsv_host_call host_call;
static int init_state = 0; /* 0 not yet, 1 ok, -1 failed */

/* Host functions are C functions of the import's own signature (WAMR's
   plain native convention, not the raw one): the AoT compiler, which shares
   this runtime's native registry, emits direct calls of them, and neither
   those nor an embedder's call of an exported import pass the symbol's
   attachment. So each host function gets a trampoline of its own: a few per
   signature shape, each remembering which table entry it stands for. */
#define WSV_SLOTS 4
enum { SHAPE_I_I, SHAPE_II_I, SHAPE_F_F, SHAPE_V, SHAPES };
static uint32_t slot_func[SHAPES][WSV_SLOTS];

#define TRAMPOLINES(j)                                                        \
    static int32_t i_i_##j(wasm_exec_env_t e, int32_t a)                      \
    {                                                                         \
        uint64_t s[1] = { (uint32_t)a };                                      \
        (void)e;                                                              \
        host_call(slot_func[SHAPE_I_I][j], s);                                \
        return (int32_t)(uint32_t)s[0];                                       \
    }                                                                         \
    static int64_t ii_i_##j(wasm_exec_env_t e, int64_t a, int64_t b)          \
    {                                                                         \
        uint64_t s[2] = { (uint64_t)a, (uint64_t)b };                         \
        (void)e;                                                              \
        host_call(slot_func[SHAPE_II_I][j], s);                               \
        return (int64_t)s[0];                                                 \
    }                                                                         \
    static double f_f_##j(wasm_exec_env_t e, double a)                        \
    {                                                                         \
        uint64_t s[1];                                                        \
        double r;                                                             \
        (void)e;                                                              \
        memcpy(&s[0], &a, 8);                                                 \
        host_call(slot_func[SHAPE_F_F][j], s);                                \
        memcpy(&r, &s[0], 8);                                                 \
        return r;                                                             \
    }                                                                         \
    static void v_##j(wasm_exec_env_t e)                                      \
    {                                                                         \
        uint64_t s[1] = { 0 };                                                \
        (void)e;                                                              \
        host_call(slot_func[SHAPE_V][j], s);                                  \
    }
TRAMPOLINES(0)
TRAMPOLINES(1)
TRAMPOLINES(2)
TRAMPOLINES(3)

static const struct {
    const char *signature;
    void *slots[WSV_SLOTS];
} shapes[SHAPES] = {
    [SHAPE_I_I] = { "(i)i", { i_i_0, i_i_1, i_i_2, i_i_3 } },
    [SHAPE_II_I] = { "(II)I", { ii_i_0, ii_i_1, ii_i_2, ii_i_3 } },
    [SHAPE_F_F] = { "(F)F", { f_f_0, f_f_1, f_f_2, f_f_3 } },
    [SHAPE_V] = { "()", { v_0, v_1, v_2, v_3 } },
};

/* 0 when a host function's shape has no trampoline left (extend above). */
static int
register_host(const char *module, const wsv_host_func *funcs, uint32_t n)
{
    uint32_t used[SHAPES] = { 0 };
    /* WAMR keeps the array (and sorts it in place). */
    NativeSymbol *symbols = calloc(n ? n : 1, sizeof(*symbols));
    if (!symbols)
        return 0;
    for (uint32_t k = 0; k < n; k++) {
        int shape = 0;
        while (shape < SHAPES && strcmp(shapes[shape].signature, funcs[k].signature) != 0)
            shape++;
        if (shape == SHAPES || used[shape] == WSV_SLOTS)
            return 0;
        uint32_t slot = used[shape]++;
        slot_func[shape][slot] = k;
        symbols[k].symbol = funcs[k].name;
        symbols[k].func_ptr = shapes[shape].slots[slot];
        symbols[k].signature = funcs[k].signature;
    }
    return wasm_runtime_register_natives(module, symbols, n);
}

static int
shim_init(const char *host_module, const wsv_host_func *funcs, uint32_t nfuncs,
          wsv_host_call call)
{
    if (init_state == 0) {
        RuntimeInitArgs args;
        memset(&args, 0, sizeof(args));
        /* 0 would be Alloc_With_Pool (and fail without a pool). */
        args.mem_alloc_type = Alloc_With_System_Allocator;
        host_call = call;
        init_state = wasm_runtime_full_init(&args) && register_host(host_module, funcs, nfuncs)
                         ? 1
                         : -1;
    }
    return init_state == 1 ? 0 : -1;
}

static void *
shim_load(const uint8_t *buf, uint32_t len, char *err, uint32_t err_len)
{
#if WSV_HAS_COMPILER
    /* The aot build also contains the classic interpreter (the compiler's
       .wasm loader); only .aot files are this engine's input. */
    if (len < 4 || memcmp(buf, "\0aot", 4) != 0) {
        set_err(err, err_len, "the aot build loads .aot files only");
        return NULL;
    }
#endif
    wsv_module *m = calloc(1, sizeof(*m));
    if (!m || !(m->bytes = malloc(len ? len : 1))) {
        free(m);
        set_err(err, err_len, "allocate memory failed");
        return NULL;
    }
    memcpy(m->bytes, buf, len);
    char ebuf[256] = { 0 };
    m->module = wasm_runtime_load(m->bytes, len, ebuf, sizeof(ebuf));
    if (!m->module) {
        set_err(err, err_len, ebuf[0] ? ebuf : "load failed");
        free(m->bytes);
        free(m);
        return NULL;
    }
    return m;
}

static void
shim_unload(void *module)
{
    wsv_module *m = module;
    if (!m)
        return;
    wasm_runtime_unload(m->module);
    free(m->bytes);
    free(m->map_dir);
    free(m);
}

static int
shim_set_wasi(void *module, const char *host_dir, const char *guest_dir,
              int stdio_fd)
{
#if WASM_ENABLE_LIBC_WASI != 0
    wsv_module *m = module;
    static const char *env[] = { "WASMSIEVE=1" };
    static char *argv[] = { "wasmsieve", "--case" };
    size_t len = strlen(guest_dir) + strlen(host_dir) + 3;
    char *map_dir = malloc(len);
    if (!m || !map_dir) {
        free(map_dir);
        return -1;
    }
    snprintf(map_dir, len, "%s::%s", guest_dir, host_dir);
    free(m->map_dir);
    m->map_dir = map_dir;
    m->map_dirs[0] = m->map_dir;
    wasm_runtime_set_wasi_args_ex(m->module, NULL, 0, m->map_dirs, 1, env, 1,
                                  argv, 2, stdio_fd, stdio_fd, stdio_fd);
    return 0;
#else
    (void)module;
    (void)host_dir;
    (void)guest_dir;
    (void)stdio_fd;
    return -1;
#endif
}

static void *
shim_instantiate(void *module, uint32_t stack_size, uint32_t heap_size,
                 char *err, uint32_t err_len)
{
    wsv_module *m = module;
    char ebuf[256] = { 0 };
    wsv_instance *i = calloc(1, sizeof(*i));
    if (!i) {
        set_err(err, err_len, "allocate memory failed");
        return NULL;
    }
    i->stack_size = stack_size;
    i->inst = wasm_runtime_instantiate(m->module, stack_size, heap_size, ebuf,
                                       sizeof(ebuf));
    if (!i->inst) {
        set_err(err, err_len, ebuf[0] ? ebuf : "instantiate failed");
        free(i);
        return NULL;
    }
    return i;
}

static void
shim_deinstantiate(void *instance)
{
    wsv_instance *i = instance;
    if (!i)
        return;
    if (i->env)
        wasm_runtime_destroy_exec_env(i->env);
    wasm_runtime_deinstantiate(i->inst);
    free(i);
}

static int
kind_ok(wasm_valkind_t k)
{
    return k == WASM_I32 || k == WASM_I64 || k == WASM_F32 || k == WASM_F64;
}

static int
ref_ok(wasm_valkind_t k)
{
    return k == WASM_EXTERNREF || k == WASM_FUNCREF;
}

/* WAMR's embedding takes an externref as the host object's pointer-sized
   value, with all ones for null (wasm_externref_obj2ref), and hands a null
   one back as 0 (wasm_externref_ref2obj): identity n travels as n + 1 so
   that no identity looks like either. A funcref is a function index, null
   NULL_REF (all ones in 32 bits), in the i32 slot. */
static void
to_val(wasm_val_t *v, wasm_valkind_t k, uint64_t bits)
{
    v->kind = k;
    switch (k) {
        case WASM_I32: { uint32_t x = (uint32_t)bits; memcpy(&v->of.i32, &x, 4); break; }
        case WASM_F32: { uint32_t x = (uint32_t)bits; memcpy(&v->of.f32, &x, 4); break; }
        case WASM_I64: memcpy(&v->of.i64, &bits, 8); break;
        case WASM_F64: memcpy(&v->of.f64, &bits, 8); break;
        case WASM_EXTERNREF:
            v->of.foreign = bits == WSV_REF_NULL ? (uintptr_t)-1 : (uintptr_t)bits + 1;
            break;
        default:
            v->of.i32 = bits == WSV_REF_NULL ? -1 : (int32_t)(uint32_t)bits;
            break;
    }
}

static uint64_t
from_val(const wasm_val_t *v, wasm_valkind_t k)
{
    uint32_t x = 0;
    uint64_t y = 0;
    switch (k) {
        case WASM_I32: memcpy(&x, &v->of.i32, 4); return x;
        case WASM_F32: memcpy(&x, &v->of.f32, 4); return x;
        case WASM_I64: memcpy(&y, &v->of.i64, 8); return y;
        case WASM_F64: memcpy(&y, &v->of.f64, 8); return y;
        case WASM_EXTERNREF:
            return v->of.foreign == 0 ? WSV_REF_NULL : (uint64_t)v->of.foreign - 1;
        default:
            return v->of.i32 == -1 ? WSV_REF_NULL : (uint32_t)v->of.i32;
    }
}

#define WSV_MAX_VALS 64

static int
shim_call(void *instance, const char *name, const uint64_t *args, uint32_t nargs,
          uint64_t *results, uint32_t nresults, uint8_t *result_kinds,
          char *err, uint32_t err_len)
{
    wsv_instance *i = instance;
    wasm_function_inst_t f = wasm_runtime_lookup_function(i->inst, name);
    if (!f) {
        set_err(err, err_len, "export not found");
        return 2;
    }
    uint32_t np = wasm_func_get_param_count(f, i->inst);
    uint32_t nr = wasm_func_get_result_count(f, i->inst);
    if (np != nargs || nr > nresults || np > WSV_MAX_VALS || nr > WSV_MAX_VALS) {
        set_err(err, err_len, "signature mismatch");
        return 2;
    }
    wasm_valkind_t pk[WSV_MAX_VALS], rk[WSV_MAX_VALS];
    wasm_val_t pv[WSV_MAX_VALS], rv[WSV_MAX_VALS];
    wasm_func_get_param_types(f, i->inst, pk);
    wasm_func_get_result_types(f, i->inst, rk);
    for (uint32_t k = 0; k < np; k++) {
        if (!(kind_ok(pk[k]) || ref_ok(pk[k]))) {
            set_err(err, err_len, "unsupported param type");
            return 2;
        }
        to_val(&pv[k], pk[k], args[k]);
    }
    for (uint32_t k = 0; k < nr; k++) {
        if (!(kind_ok(rk[k]) || ref_ok(rk[k]))) {
            set_err(err, err_len, "unsupported result type");
            return 2;
        }
        rv[k].kind = rk[k];
    }
    if (!i->env) {
        i->env = wasm_runtime_create_exec_env(i->inst, i->stack_size);
        if (!i->env) {
            set_err(err, err_len, "create exec env failed");
            return 2;
        }
    }
    if (!wasm_runtime_call_wasm_a(i->env, f, nr, rv, np, pv)) {
        const char *e = wasm_runtime_get_exception(i->inst);
        set_err(err, err_len, e ? e : "call failed");
        wasm_runtime_clear_exception(i->inst);
        return 1;
    }
    for (uint32_t k = 0; k < nr; k++) {
        /* The result's kind as the function declares it: WAMR reports a
           funcref result as an i32 (parse_uint32_array_to_results). */
        results[k] = from_val(&rv[k], rk[k]);
        result_kinds[k] = (uint8_t)rk[k];
    }
    for (uint32_t k = nr; k < nresults; k++) {
        results[k] = 0;
        result_kinds[k] = WSV_KIND_NONE;
    }
    return 0;
}

#if WASM_ENABLE_AOT != 0
/* wsv_aot_globals.c: AoT exported globals with imported ones counted; -1
   when `inst` is not an AoT instance. */
int
wsv_aot_export_global(wasm_module_inst_t inst, const char *name,
                      wasm_global_inst_t *g);
#endif

/* An exported global of the instance, through the embedding API. */
static bool
export_global(wasm_module_inst_t inst, const char *name, wasm_global_inst_t *g)
{
#if WASM_ENABLE_AOT != 0
    int aot = wsv_aot_export_global(inst, name, g);
    if (aot >= 0)
        return aot == 1;
#endif
    return wasm_runtime_get_export_global_inst(inst, name, g);
}

static int
shim_global(void *instance, const char *name, uint8_t *kind, uint64_t *bits)
{
    wsv_instance *i = instance;
    wasm_global_inst_t g;
    if (!export_global(i->inst, name, &g) || !g.global_data
        || !(kind_ok(g.kind) || ref_ok(g.kind)))
        return -1;
    *kind = (uint8_t)g.kind;
    *bits = 0;
    if (ref_ok(g.kind)) {
        /* Inside, a reference is a 32-bit index: a function's, or the
           externref map's (NULL_REF, all ones, for null). Out as a result. */
        uint32_t index;
        wasm_val_t v;
        memcpy(&index, g.global_data, 4);
        if (g.kind == WASM_EXTERNREF) {
            void *obj;
            if (!wasm_externref_ref2obj(index, &obj))
                return -1;
            v.of.foreign = (uintptr_t)obj;
        }
        else {
            v.of.i32 = (int32_t)index;
        }
        *bits = from_val(&v, g.kind);
        return 0;
    }
    memcpy(bits, g.global_data, (g.kind == WASM_I32 || g.kind == WASM_F32) ? 4 : 8);
    return 0;
}

static uint8_t *
shim_memory(void *instance, const char *name, uint64_t *len)
{
    wsv_instance *i = instance;
    wasm_memory_inst_t m = wasm_runtime_lookup_memory(i->inst, name);
    if (!m)
        return NULL;
    *len = wasm_memory_get_cur_page_count(m) * wasm_memory_get_bytes_per_page(m);
    uint8_t *base = wasm_memory_get_base_address(m);
    /* A zero-length memory may have no base: hand back a valid dummy. */
    static uint8_t empty[1];
    return base ? base : (*len == 0 ? empty : NULL);
}

static int
shim_memory_region(void *instance, uint64_t *base, uint64_t *size, uint64_t *reserved)
{
    wsv_instance *i = instance;
    wasm_memory_inst_t m = i ? wasm_runtime_get_default_memory(i->inst) : NULL;
    if (!m)
        return -1;
    *base = (uint64_t)(uintptr_t)wasm_memory_get_base_address(m);
    *size = wasm_memory_get_cur_page_count(m) * wasm_memory_get_bytes_per_page(m);
#if WSV_HW_BOUND_CHECK
    /* wasm_allocate_linear_memory maps 8 GiB PROT_NONE and opens the first
       `size` bytes (core/iwasm/common/wasm_memory.c). */
    *reserved = 8ULL << 30;
#else
    *reserved = *size;
#endif
    return 0;
}

#if WSV_HAS_COMPILER
/* wasm -> .aot in process: aot_create_comp_data -> aot_create_comp_context ->
   aot_compile_wasm -> aot_emit_aot_file_buf. */
static uint8_t *
shim_compile(const uint8_t *wasm, uint32_t len, const wsv_aot_options *opts,
             uint32_t *out_len, char *err, uint32_t err_len)
{
    char ebuf[256] = { 0 };
    uint8_t *out = NULL;
    aot_comp_data_t data = NULL;
    aot_comp_context_t ctx = NULL;

#if WSV_HW_BOUND_CHECK
    /* Hardware bounds checks: the guard region traps accesses the code does
       not check, so bounds_checks=0 (wamrc's x86-64 default) is supported. */
    if (!opts || opts->bounds_checks > 1) {
        set_err(err, err_len, "bounds_checks must be 0 or 1");
        return NULL;
    }
#else
    /* This build has hardware bounds checks off: code without software bounds
       checks would read host memory on an out-of-bounds access. Refuse. */
    if (!opts || opts->bounds_checks != 1) {
        set_err(err, err_len,
                "bounds_checks must be 1 (this WAMR build has no hardware bounds checks)");
        return NULL;
    }
#endif
    if (opts->opt_level > 3 || opts->size_level > 3) {
        set_err(err, err_len, "opt_level and size_level must be 0..3");
        return NULL;
    }
#if WASM_ENABLE_AOT_STACK_FRAME == 0
    /* Frames compiled in need the runtime's side of them (the loader does
       not check): refuse rather than run code this build cannot support. */
    if (opts->call_stack) {
        set_err(err, err_len,
                "call-stack frames need a build with WAMR_BUILD_DUMP_CALL_STACK");
        return NULL;
    }
#endif
    /* Frames without their bounds-checks feature are pushed past the end
       of their stack unchecked: not a supported configuration. */
    if (opts->call_stack && !((opts->call_stack >> 1) & 1)) {
        set_err(err, err_len, "call-stack frames without the bounds-checks feature");
        return NULL;
    }
    if (init_state != 1) {
        set_err(err, err_len, "runtime not initialized");
        return NULL;
    }
    /* The compiler reads the loaded (bytecode) module; the loader keeps
       pointers into the buffer, so it lives until the module is unloaded.
       Built without the LLVM JIT, this load only parses and validates: no
       compile threads are started, so unloading below is safe. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        set_err(err, err_len, "allocate memory failed");
        return NULL;
    }
    memcpy(copy, wasm, len);
    wasm_module_t module = wasm_runtime_load(copy, len, ebuf, sizeof(ebuf));
    if (!module) {
        set_err(err, err_len, ebuf[0] ? ebuf : "load failed");
        goto done;
    }
    if (!(data = aot_create_comp_data(module, NULL, false))) {
        set_err(err, err_len, aot_get_last_error());
        goto done;
    }
    AOTCompOption o;
    memset(&o, 0, sizeof(o));
    o.opt_level = opts->opt_level;
    o.size_level = opts->size_level;
    o.output_format = AOT_FORMAT_FILE;
    /* wamrc's defaults, which also set a flag in every .aot it emits. */
    aot_call_stack_features_init_default(&o.call_stack_features);
    if (opts->call_stack) {
        /* As wamrc --enable-dump-call-stack --call-stack-features=...,
           including its choice of tiny frames when values are not kept. */
        o.aux_stack_frame_type = AOT_STACK_FRAME_TYPE_STANDARD;
        o.call_stack_features.bounds_checks = (opts->call_stack >> 1) & 1;
        o.call_stack_features.ip = (opts->call_stack >> 2) & 1;
        o.call_stack_features.func_idx = (opts->call_stack >> 3) & 1;
        o.call_stack_features.trap_ip = (opts->call_stack >> 4) & 1;
        o.call_stack_features.values = (opts->call_stack >> 5) & 1;
        if (!o.call_stack_features.values) {
            o.aux_stack_frame_type = AOT_STACK_FRAME_TYPE_TINY;
            o.call_stack_features.frame_per_function = true;
        }
    }
    /* As wamrc's --enable-segue: every load and store kind (its 0x1F1F). */
    o.segue_flags = opts->segue ? 0x1F1F : 0;
    o.disable_llvm_jump_tables = opts->no_jump_tables != 0;
    /* As wamrc --enable-multi-thread: suspend-flag checks at loop back
       edges (the AoT builds have the thread manager that loads such code). */
    o.enable_thread_mgr = opts->multi_thread != 0;
#if WSV_HW_BOUND_CHECK
    /* As wamrc: native stack checks follow the memory bounds checks (the
       native stack has guard pages too). */
    o.bounds_checks = opts->bounds_checks;
    o.stack_bounds_checks = opts->bounds_checks;
#else
    o.bounds_checks = 1;       /* forced, see above */
    o.stack_bounds_checks = 1; /* no guard pages either: check native stack */
#endif
    o.enable_bulk_memory = true;
    /* memory.copy/fill are checked against this flag separately (WAMR 2.4
       splits bulk-memory-opt out of bulk-memory; wamrc and the loader's own
       LLVM JIT options set both). Without it every module using them is
       refused: "bulk memory opt instruction was found". */
    o.enable_bulk_memory_opt = true;
    o.enable_ref_types = true;
    o.enable_call_indirect_overlong = true;
    o.enable_extended_const = true;
    o.enable_aux_stack_check = true;
    /* As the build (build.rs): tail calls in every mode, SIMD where built in
       (wamrc's x86-64 default). Shared-memory atomics need no option. */
    o.enable_tail_call = true;
#if WASM_ENABLE_SIMD != 0
    o.enable_simd = true;
#endif
    if (!(ctx = aot_create_comp_context(data, &o))) {
        set_err(err, err_len, aot_get_last_error());
        goto done;
    }
    if (!aot_compile_wasm(ctx)) {
        set_err(err, err_len, aot_get_last_error());
        goto done;
    }
    if (!(out = aot_emit_aot_file_buf(ctx, data, out_len))) {
        set_err(err, err_len, aot_get_last_error());
        goto done;
    }
done:
    if (ctx)
        aot_destroy_comp_context(ctx);
    if (data)
        aot_destroy_comp_data(data);
    if (module)
        wasm_runtime_unload(module);
    free(copy);
    return out;
}

static void
shim_free_buf(uint8_t *buf)
{
    /* aot_emit_aot_file_buf allocates with wasm_runtime_malloc. */
    if (buf)
        wasm_runtime_free(buf); /* aot_destroy_aot_file is declared, not defined */
}
#endif

const wsv_api WSV_API_NAME = {
    .abi_version = WSV_ABI_VERSION,
    .size = sizeof(wsv_api),
    .mode = WSV_MODE,
    .version = WSV_VERSION,
    .flags = WSV_FLAGS,
    .init = shim_init,
    .load = shim_load,
    .unload = shim_unload,
    .instantiate = shim_instantiate,
    .deinstantiate = shim_deinstantiate,
    .call = shim_call,
    .global = shim_global,
    .memory = shim_memory,
#if WSV_HAS_COMPILER
    .compile = shim_compile,
    .free_buf = shim_free_buf,
#else
    .compile = NULL,
    .free_buf = NULL,
#endif
    .hw_bound_check = WSV_HW_BOUND_CHECK,
    .memory_region = shim_memory_region,
    .set_wasi = shim_set_wasi,
};
