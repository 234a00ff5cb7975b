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
    const char *path;             /* borrowed; NULL for standard input */
    char whole_key[16 + 64 + 1];  /* import:sha:FP of a regular file, else "" */
    char head_key[16 + 64 + 1];   /* import:head:HASH: where progress is saved */
    char path_key[16 + PATH_MAX]; /* import:path:ABS of a plain file, else "" */
    char val[PATH_MAX + 160];     /* scratch for the cursors' values */
} ct_import_mark;

/* What of the input at path (NULL: standard input), whose first bytes
 * (decompressed) are head[0..head_len), an earlier import already stored.  Fills *mark for
 * ct_import_progress_cursor and ct_import_remember. */
void ct_import_resume(ct_store *s, const char *path, const char *head, size_t head_len,
                      ct_import_mark *mark, ct_ingest_resume *resume);

/* The cursor that says "the first `keyless` keyless records of this input
 * are stored", to be saved with the records (ct_store_append_cursor) so
 * that an import killed and run again skips them.  *name and *value point
 * into mark. */
void ct_import_progress_cursor(ct_import_mark *mark, uint64_t keyless, const char **name,
                               const char **value);

/* Record the input of mark as wholly imported (after its records are
 * durable); st is what reading it counted. */
ct_status ct_import_remember(ct_store *s, ct_import_mark *mark, const ct_ingest_stats *st,
                             ct_error *err);

#endif
