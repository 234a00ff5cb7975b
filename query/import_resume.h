/*
 * query/import_resume.h - which records of an input were imported before
 * (private to the CLI; see import_resume.c).
 */
#ifndef CTRAIL_IMPORT_RESUME_H
#define CTRAIL_IMPORT_RESUME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrail/ingest.h"
#include "ctrail/store.h"

typedef struct ct_import_mark {
    char sha_key[16 + 64 + 1];
    char path_key[16 + PATH_MAX];
    char path_val[96]; /* "<bytes> <lines> <hash>" of the input's complete lines */
    char val[128];     /* scratch for ct_import_progress_cursor's value */
} ct_import_mark;

/* What of buf (read from path; NULL for standard input) an earlier import
 * already stored: resume->line = UINT64_MAX for all of it.  Fills *mark
 * for ct_import_progress_cursor and ct_import_remember. */
void ct_import_resume(ct_store *s, const char *path, const char *buf, size_t len,
                      ct_import_mark *mark, ct_ingest_resume *resume);

/* The cursor that says "the first `keyless` keyless records of this input
 * are stored", to be saved with the records (ct_store_append_cursor) so
 * that an import killed and run again skips them.  *name and *value point
 * into mark. */
void ct_import_progress_cursor(ct_import_mark *mark, uint64_t keyless, const char **name,
                               const char **value);

/* Record the input of mark as wholly imported (after its records are
 * durable). */
ct_status ct_import_remember(ct_store *s, const ct_import_mark *mark, ct_error *err);

#endif
