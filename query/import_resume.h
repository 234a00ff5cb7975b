/*
 * query/import_resume.h - which lines of an input were imported before
 * (private to the CLI; see import_resume.c).
 */
#ifndef CTRAIL_IMPORT_RESUME_H
#define CTRAIL_IMPORT_RESUME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrail/store.h"

typedef struct ct_import_mark {
    char sha_key[16 + 64 + 1];
    char path_key[16 + PATH_MAX];
    char path_val[96];
} ct_import_mark;

/* The last line of buf (read from path; NULL for standard input) that an
 * earlier import already covered: 0 for none, UINT64_MAX for all of it.
 * Fills *mark for ct_import_remember. */
uint64_t ct_import_resume(ct_store *s, const char *path, const char *buf, size_t len,
                          ct_import_mark *mark);

/* Record the input of mark as imported (after its records are durable). */
ct_status ct_import_remember(ct_store *s, const ct_import_mark *mark, ct_error *err);

#endif
