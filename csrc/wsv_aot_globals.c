/* Part of wsv_shim.c's engine shim, in a file of its own: it needs WAMR's
   internal AoT structures, whose header clashes with aot_export.h. */
#include <string.h>

#include "wasm_export.h"
#include "aot_runtime.h"

/* WAMR's wasm_runtime_get_export_global_inst reads an AoT instance's exported
   global as module->globals[export index], but that index counts imported
   globals first: in a module that imports a global it reads another global,
   or past the array (SIGSEGV at 0x38 on main of mid-2026; see
   corpus/findings/aot-export-global-api-ignores-imports.wat). AoT exports
   are looked up here with the imports counted; interpreters go through the
   API, which gets them right. */
int
wsv_aot_export_global(wasm_module_inst_t inst, const char *name,
                      wasm_global_inst_t *g)
{
    AOTModuleInstance *ai = (AOTModuleInstance *)inst;
    AOTModule *m;
    uint32_t k;
    if (((WASMModuleInstanceCommon *)inst)->module_type != Wasm_Module_AoT)
        return -1;
    m = (AOTModule *)ai->module;
    for (k = 0; k < m->export_count; k++) {
        AOTExport *e = &m->exports[k];
        WASMGlobalType *ty;
        uint32_t offset;
        if (e->kind != EXPORT_KIND_GLOBAL || strcmp(e->name, name))
            continue;
        if (e->index < m->import_global_count) {
            ty = &m->import_globals[e->index].type;
            offset = m->import_globals[e->index].data_offset;
        }
        else {
            AOTGlobal *d = &m->globals[e->index - m->import_global_count];
            ty = &d->type;
            offset = d->data_offset;
        }
        switch (ty->val_type) {
            case VALUE_TYPE_I32: g->kind = WASM_I32; break;
            case VALUE_TYPE_I64: g->kind = WASM_I64; break;
            case VALUE_TYPE_F32: g->kind = WASM_F32; break;
            case VALUE_TYPE_F64: g->kind = WASM_F64; break;
            case VALUE_TYPE_FUNCREF: g->kind = WASM_FUNCREF; break;
            case VALUE_TYPE_EXTERNREF: g->kind = WASM_EXTERNREF; break;
            default: return 0;
        }
        g->is_mutable = ty->is_mutable;
        g->global_data = ai->global_data + offset;
        return 1;
    }
    return 0;
}
