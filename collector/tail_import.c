/*
 * collector/tail_import.c - `ctrail import` and the file tails agreeing on
 * what of a file is stored, so that its lines are not stored twice in
 * either order.  Log lines have no dedup key: each side has to know what
 * the other one covered.
 *
 *   tail after import   import remembers "import:path:<real path>" =
 *                       "v2 <bytes> <fingerprint of them> <K> 1" once it
 *                       read the file to its end (query/import_resume.c);
 *                       a tail that opens the file at that real path,
 *                       whose first <bytes> bytes still fingerprint so
 *                       (ct_ingest_fingerprint), starts there if its own
 *                       position is before (tail_imported_upto)
 *   import after tail   a tail remembers "tail:<path>" = device, inode,
 *                       head, offset; import looks for the cursor under
 *                       the absolute name and the real name of the path
 *                       it reads (and the name as given), and skips the
 *                       lines before the offset when the file is that one
 *                       (ct_tail_stored_upto)
 *
 * Not covered: a copy of the file under another name (its content is only
 * skipped when it is imported whole, again), a file compressed since, a
 * rotated file imported under its new name, and an import and a tail of
 * the same file at the same time (they cannot share a data directory: the
 * writer lock).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrail/ingest.h"
#include "ctrail/log.h"
#include "ctrail/record.h"

#include "parse_util.h"
#include "tail_file.h"

uint64_t tail_imported_upto(ct_tail *t, const tail_file *f, int fd, uint64_t size)
{
    char real[PATH_MAX], *name, *val = NULL, old_hex[65], hex[65];
    unsigned long long bytes = 0, keyless = 0;
    int done = 0;
    ct_error err = {0};
    uint64_t upto = 0;

    if (realpath(f->path, real) == NULL || (name = pu_printf("import:path:%s", real)) == NULL)
        return 0;
    if (ct_store_cursor_get(ct_serve_store(t->sv), name, &val, &err) != CT_OK)
        ct_log(CT_LOG_WARN, "tail", "cannot read cursor '%s': %s", name, err.msg);
    if (val != NULL &&
        sscanf(val, "v2 %llu %64s %llu %d", &bytes, old_hex, &keyless, &done) == 4 && done == 1 &&
        bytes > 0 && bytes <= size && ct_ingest_fingerprint(fd, bytes, hex) == 0 &&
        strcmp(hex, old_hex) == 0)
        upto = bytes;
    free(val);
    free(name);
    return upto;
}

/* The offset cursor "tail:NAME" says is stored, when it names the file
 * st (total bytes, whose content starts with head[0..head_len)); else 0. */
static uint64_t tail_cursor_upto(ct_store *s, const char *name, const struct stat *st,
                                 const char *head, size_t head_len, uint64_t total)
{
    char *key = pu_printf("tail:%s", name), *val = NULL;
    ct_tail_pos pos;
    ct_error err = {0};
    uint64_t upto = 0;

    if (key == NULL)
        return 0;
    if (ct_store_cursor_get(s, key, &val, &err) == CT_OK && val != NULL &&
        ct_tail_cursor_parse(val, &pos, &err) == CT_OK && pos.id.dev == (uint64_t)st->st_dev &&
        pos.id.ino == (uint64_t)st->st_ino && pos.off <= total && pos.id.head_len <= head_len &&
        ct_tail_head_hash(head, pos.id.head_len) == pos.id.head_hash)
        upto = pos.off;
    free(val);
    free(key);
    return upto;
}

uint64_t ct_tail_stored_upto(ct_store *s, const char *path, const char *head, size_t head_len,
                             uint64_t total)
{
    char real[PATH_MAX], abs[PATH_MAX], cwd[PATH_MAX];
    const char *names[3];
    size_t n = 0;
    struct stat st;
    uint64_t best = 0;

    if (path == NULL || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    names[n++] = path;
    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
        (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path) < sizeof(abs))
        names[n++] = abs;
    if (realpath(path, real) != NULL)
        names[n++] = real;
    for (size_t i = 0; i < n; i++) {
        uint64_t o;

        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        o = tail_cursor_upto(s, names[i], &st, head, head_len, total);
        if (o > best)
            best = o;
    }
    return best;
}
