/* Force-included into every WAMR source (-include): declares the printf hook
   that WAMR_BH_VPRINTF points os_printf/os_vprintf at (defined in wsv_shim.c). */
#ifndef WSV_VPRINTF_H
#define WSV_VPRINTF_H
#include <stdarg.h>
int wsv_vprintf(const char *format, va_list ap);
#endif
