/* wsv-wamrc: a wamrc-like front end to the AoT compiler in core/ for WAMR
 * trees without wamr-compiler/. It starts from wamrc's defaults and takes the
 * options wasmsieve's reports use:
 *
 *   wsv-wamrc [--opt-level=N] [--size-level=N] [--bounds-checks=N]
 *             [--stack-bounds-checks=N] [--enable-tail-call]
 *             [--enable-extended-const] [--disable-simd] [--enable-segue]
 *             [--disable-llvm-jump-tables] [--enable-multi-thread]
 *             [--enable-dump-call-stack] [--call-stack-features=LIST]
 *             -o OUT.aot IN.wasm
 *
 * then applies wamrc's own implications (bulk memory brings bulk-memory-opt,
 * reference types bring overlong call_indirect) and writes the .aot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_export.h"
#include "wsv_read_file.h"
#include "aot_export.h"

static int
usage(void)
{
    fprintf(stderr,
            "usage: wsv-wamrc [--opt-level=N] [--size-level=N] "
            "[--bounds-checks=N] [--stack-bounds-checks=N] "
            "[--enable-tail-call] [--enable-extended-const] [--disable-simd] "
            "[--enable-segue] [--disable-llvm-jump-tables] "
            "[--enable-multi-thread] [--enable-dump-call-stack] "
            "[--call-stack-features=LIST] -o OUT.aot IN.wasm\n");
    return 2;
}

/* wamrc's --call-stack-features: a comma-separated list, empty for none. */
static int
call_stack_features(const char *list, AOTCallStackFeatures *f)
{
    static const char *names[] = { "bounds-checks", "ip", "func-idx",
                                   "trap-ip", "values" };
    memset(f, 0, sizeof(*f));
    while (*list) {
        size_t n = strcspn(list, ","), i;
        for (i = 0; i < 5; i++)
            if (strlen(names[i]) == n && !strncmp(list, names[i], n))
                break;
        switch (i) {
            case 0: f->bounds_checks = true; break;
            case 1: f->ip = true; break;
            case 2: f->func_idx = true; break;
            case 3: f->trap_ip = true; break;
            case 4: f->values = true; break;
            default: return 0;
        }
        list += n + (list[n] == ',');
    }
    return 1;
}

static int
level(const char *arg, size_t prefix, uint32_t max)
{
    int v = atoi(arg + prefix);
    return v < 0 ? 0 : (uint32_t)v > max ? (int)max : v;
}

int
main(int argc, char **argv)
{
    AOTCompOption o;
    const char *out = NULL;
    char error[256];
    uint32_t size = 0;
    uint8_t *buf;
    RuntimeInitArgs init;
    wasm_module_t module;
    aot_comp_data_t data;
    aot_comp_context_t ctx;

    /* wamrc's defaults (wamr-compiler/main.c) */
    memset(&o, 0, sizeof(o));
    o.opt_level = 3;
    o.size_level = 3;
    o.output_format = AOT_FORMAT_FILE;
    o.bounds_checks = 2;
    o.stack_bounds_checks = 2;
    o.enable_simd = true;
    o.enable_aux_stack_check = true;
    o.enable_bulk_memory = true;
    o.enable_ref_types = true;
    aot_call_stack_features_init_default(&o.call_stack_features);

    for (argc--, argv++; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
        if (!strcmp(argv[0], "-o") && argc > 1) {
            out = argv[1];
            argc--, argv++;
        }
        else if (!strncmp(argv[0], "--opt-level=", 12))
            o.opt_level = level(argv[0], 12, 3);
        else if (!strncmp(argv[0], "--size-level=", 13))
            o.size_level = level(argv[0], 13, 3);
        else if (!strncmp(argv[0], "--bounds-checks=", 16))
            o.bounds_checks = atoi(argv[0] + 16) == 1 ? 1 : 0;
        else if (!strncmp(argv[0], "--stack-bounds-checks=", 22))
            o.stack_bounds_checks = atoi(argv[0] + 22) == 1 ? 1 : 0;
        else if (!strcmp(argv[0], "--enable-tail-call"))
            o.enable_tail_call = true;
        else if (!strcmp(argv[0], "--enable-extended-const"))
            o.enable_extended_const = true;
        else if (!strcmp(argv[0], "--disable-simd"))
            o.enable_simd = false;
        else if (!strcmp(argv[0], "--enable-segue"))
            o.segue_flags = 0x1F1F; /* wamrc's "all flags" */
        else if (!strcmp(argv[0], "--disable-llvm-jump-tables"))
            o.disable_llvm_jump_tables = true;
        else if (!strcmp(argv[0], "--enable-multi-thread"))
            o.enable_thread_mgr = true; /* wamrc: bulk memory too, on already */
        else if (!strcmp(argv[0], "--enable-dump-call-stack"))
            o.aux_stack_frame_type = AOT_STACK_FRAME_TYPE_STANDARD;
        else if (!strncmp(argv[0], "--call-stack-features=", 22)) {
            if (!call_stack_features(argv[0] + 22, &o.call_stack_features))
                return usage();
        }
        else
            return usage();
    }
    /* As wamrc: tiny frames, one per function, when values are not kept. */
    if (o.aux_stack_frame_type == AOT_STACK_FRAME_TYPE_STANDARD
        && !o.call_stack_features.values) {
        o.aux_stack_frame_type = AOT_STACK_FRAME_TYPE_TINY;
        o.call_stack_features.frame_per_function = true;
    }
    if (argc != 1 || !out)
        return usage();
    if (o.enable_bulk_memory)
        o.enable_bulk_memory_opt = true;
    if (o.enable_ref_types)
        o.enable_call_indirect_overlong = true;

    memset(&init, 0, sizeof(init));
    init.mem_alloc_type = Alloc_With_System_Allocator;
    if (!wasm_runtime_full_init(&init)) {
        printf("Init runtime environment failed.\n");
        return -1;
    }
    if (!(buf = read_file(argv[0], &size))) {
        printf("cannot read %s\n", argv[0]);
        return -1;
    }
    if (!(module = wasm_runtime_load(buf, size, error, sizeof(error)))) {
        printf("%s\n", error);
        return -1;
    }
    if (!(data = aot_create_comp_data(module, NULL, false))
        || !(ctx = aot_create_comp_context(data, &o)) || !aot_compile_wasm(ctx)
        || !aot_emit_aot_file(ctx, data, out)) {
        printf("%s\n", aot_get_last_error());
        return -1;
    }
    printf("Compile success, file %s was generated.\n", out);
    aot_destroy_comp_context(ctx);
    aot_destroy_comp_data(data);
    wasm_runtime_unload(module);
    free(buf);
    wasm_runtime_destroy();
    return 0;
}
