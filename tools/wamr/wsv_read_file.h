/* The drivers' file reader: WAMR's own (bh_read_file) is not among the
 * runtime sources runtime_lib.cmake lists. */
#ifndef WSV_READ_FILE_H
#define WSV_READ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file in a malloc'd buffer, its length in *size; NULL on failure. */
static uint8_t *
read_file(const char *path, uint32_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(len ? len : 1))
        && fread(buf, 1, len, f) == (size_t)len) {
        *size = (uint32_t)len;
    }
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

#endif
