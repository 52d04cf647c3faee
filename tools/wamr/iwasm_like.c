/* wsv-iwasm: an iwasm-like driver for WAMR trees that hold only core/ and
 * build-scripts/ (no product-mini), so wasmsieve can check a reproducer
 * outside its harness. It takes the part of iwasm's command line that
 * wasmsieve's reports use:
 *
 *   wsv-iwasm [--stack-size=N] [--heap-size=N] [--env=K=V]... [--map-dir=G::H]...
 *             (-f FUNC | --repl) FILE [ARG...]
 *
 * Calls go through wasm_application_execute_func, the function product-mini
 * calls, so results and exceptions print as stock iwasm prints them; the
 * REPL reads `FUNC ARG...` lines on one instance, as `iwasm --repl` does.
 * Exit status as iwasm: 0 when the call returned, 1 on an exception, and
 * non-zero when the module does not load or instantiate. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_export.h"
#include "wsv_read_file.h"

#define MAX_ARGS 1024

static int
usage(void)
{
    fprintf(stderr, "usage: wsv-iwasm [--stack-size=N] [--heap-size=N] "
                    "[--env=K=V]... [--map-dir=G::H]... "
                    "(-f FUNC | --repl) FILE [ARG...]\n");
    return 2;
}

/* Runs one call and prints its exception, if any; returns whether it
 * returned normally (the result line is printed by WAMR itself). */
static int
call(wasm_module_inst_t inst, const char *func, int argc, char **argv)
{
    const char *exception;
    wasm_application_execute_func(inst, func, argc, argv);
    if ((exception = wasm_runtime_get_exception(inst))) {
        printf("%s\n", exception);
        return 0;
    }
    return 1;
}

static void
repl(wasm_module_inst_t inst)
{
    char *line = NULL, *argv[MAX_ARGS];
    size_t cap = 0;
    ssize_t n;
    while (printf("webassembly> "), fflush(stdout),
           (n = getline(&line, &cap, stdin)) != -1) {
        int argc = 0;
        char *tok;
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (!strcmp(line, "__exit__")) {
            printf("exit repl mode\n");
            break;
        }
        for (tok = strtok(line, " "); tok && argc < MAX_ARGS;
             tok = strtok(NULL, " "))
            argv[argc++] = tok;
        if (argc > 0)
            call(inst, argv[0], argc - 1, argv + 1);
    }
    free(line);
}

int
main(int argc, char **argv)
{
    uint32_t stack_size = 64 * 1024, heap_size = 16 * 1024, size = 0;
    const char *func = NULL;
    int repl_mode = 0, ret = 1;
    /* WASI's environment and preopened folders, as iwasm takes them. */
    const char *env[MAX_ARGS], *map_dirs[MAX_ARGS];
    uint32_t n_env = 0, n_map_dirs = 0;
    char error[256];
    uint8_t *buf;
    RuntimeInitArgs init;
    wasm_module_t module;
    wasm_module_inst_t inst;

    for (argc--, argv++; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
        if (!strncmp(argv[0], "--stack-size=", 13))
            stack_size = (uint32_t)atoi(argv[0] + 13);
        else if (!strncmp(argv[0], "--heap-size=", 12))
            heap_size = (uint32_t)atoi(argv[0] + 12);
        else if (!strcmp(argv[0], "--repl"))
            repl_mode = 1;
        else if (!strncmp(argv[0], "--env=", 6) && n_env < MAX_ARGS)
            env[n_env++] = argv[0] + 6;
        else if (!strncmp(argv[0], "--map-dir=", 10) && n_map_dirs < MAX_ARGS)
            map_dirs[n_map_dirs++] = argv[0] + 10;
        else if (!strcmp(argv[0], "-f") && argc > 1) {
            func = argv[1];
            argc--, argv++;
        }
        else
            return usage();
    }
    if (argc < 1 || (!func && !repl_mode))
        return usage();

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
#if WASM_ENABLE_LIBC_WASI != 0
    wasm_runtime_set_wasi_args(module, NULL, 0, map_dirs, n_map_dirs, env,
                               n_env, argv, argc);
#endif
    if (!(inst = wasm_runtime_instantiate(module, stack_size, heap_size, error,
                                          sizeof(error)))) {
        printf("%s\n", error);
        return -1;
    }
    if (repl_mode) {
        repl(inst);
        ret = 0;
    }
    else
        ret = call(inst, func, argc - 1, argv + 1) ? 0 : 1;
    wasm_runtime_deinstantiate(inst);
    wasm_runtime_unload(module);
    free(buf);
    wasm_runtime_destroy();
    return ret;
}
