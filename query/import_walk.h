/*
 * query/import_walk.h - what `ctrail import` reads: its FILE operands, and
 * the files under a DIR operand (private to the CLI; see import_walk.c).
 */
#ifndef CTRAIL_IMPORT_WALK_H
#define CTRAIL_IMPORT_WALK_H

#include <stddef.h>

#include "ctrail/error.h"

typedef struct ct_import_input {
    char *path;    /* owned: what to open ("-" is standard input) */
    char *problem; /* owned or NULL: why path is not read (to report in its turn) */
} ct_import_input;

typedef struct ct_import_inputs {
    ct_import_input *v; /* owned, n of them, in the order they are to be read */
    size_t n, cap;
} ct_import_inputs;

/* Append what operand stands for to list (zeroed before the first call):
 *  - "-" and anything that is not a directory (a file, a pipe, a path that
 *    does not exist: opening it reports that) as one input;
 *  - a directory: every regular file under it, recursively, following
 *    symbolic links, in byte order of the names within each directory
 *    (so "audit.log" < "audit.log.1" < "audit.log.2.gz" < "sub/x");
 *    hidden names (a leading '.') are left out, files and directories.
 *    A symlink loop, a dangling symlink, a directory that cannot be read
 *    and anything that is not a regular file (a fifo, a socket, a device)
 *    become inputs with a problem, in their place in the order.
 * A name matching one of the excludes (fnmatch, no flags) is left out: an
 * operand by its last component or its path as given; an entry under a
 * directory by its name or its path relative to the directory (an excluded
 * directory is not entered).  excludes are borrowed.  CT_ERR_NOMEM, with
 * list keeping what it had, is the only failure. */
ct_status ct_import_inputs_add(ct_import_inputs *list, const char *operand,
                               const char *const *excludes, size_t n_excludes, ct_error *err);

/* Release what list owns and zero it; NULL is fine. */
void ct_import_inputs_free(ct_import_inputs *list);

#endif
