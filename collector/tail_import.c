/*
 * collector/tail_import.c - `ctrail import` and the file tails agreeing on
 * what of a file is stored, so that its lines are not stored twice in
 * either order.  Log lines have no dedup key: each side has to know what
 * the other one covered.
 *
 *   tail after import   import remembers "import:path:<real path>" =
 *                       "<bytes> <lines> <BLAKE2b-256 of those bytes>";
 *                       a tail that opens the file at that real path,
 *                       whose first <bytes> bytes still hash so, starts
 *                       there if its own position is before
 *                       (tail_imported_upto)
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
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrail/log.h"
#include "ctrail/record.h"

#include "parse_util.h"
#include "tail_file.h"

/* BLAKE2b-256 of fd's first len bytes, as import writes it (hex), read
 * through buf (cap bytes).  0, or -1 when the file is shorter or unreadable. */
static int head_hash_hex(int fd, uint64_t len, char *buf, size_t cap, char hex[65])
{
    crypto_generichash_state st;
    unsigned char h[32];
    uint64_t at = 0;

    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    while (at < len) {
        size_t want = len - at < cap ? (size_t)(len - at) : cap;
        ssize_t n = pread(fd, buf, want, (off_t)at);

        if (n <= 0)
            return -1;
        crypto_generichash_update(&st, (const unsigned char *)buf, (unsigned long long)n);
        at += (uint64_t)n;
    }
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(hex, 65, h, sizeof(h));
    return 0;
}

uint64_t tail_imported_upto(ct_tail *t, const tail_file *f, int fd, uint64_t size)
{
    char real[PATH_MAX], *name, *val = NULL, old_hex[65], hex[65];
    unsigned long long bytes = 0, lines = 0;
    ct_error err = {0};
    uint64_t upto = 0;

    if (realpath(f->path, real) == NULL || (name = pu_printf("import:path:%s", real)) == NULL)
        return 0;
    if (ct_store_cursor_get(ct_serve_store(t->sv), name, &val, &err) != CT_OK)
        ct_log(CT_LOG_WARN, "tail", "cannot read cursor '%s': %s", name, err.msg);
    if (val != NULL && sscanf(val, "%llu %llu %64s", &bytes, &lines, old_hex) == 3 && bytes > 0 &&
        bytes <= size && head_hash_hex(fd, bytes, t->chunk, t->o.read_chunk, hex) == 0 &&
        strcmp(hex, old_hex) == 0)
        upto = bytes;
    free(val);
    free(name);
    return upto;
}

/* The offset cursor "tail:NAME" says is stored, when it names the file
 * st (whose content starts with data[0..len)); else 0. */
static uint64_t tail_cursor_upto(ct_store *s, const char *name, const struct stat *st,
                                 const char *data, size_t len)
{
    char *key = pu_printf("tail:%s", name), *val = NULL;
    ct_tail_pos pos;
    ct_error err = {0};
    uint64_t upto = 0;

    if (key == NULL)
        return 0;
    if (ct_store_cursor_get(s, key, &val, &err) == CT_OK && val != NULL &&
        ct_tail_cursor_parse(val, &pos, &err) == CT_OK && pos.id.dev == (uint64_t)st->st_dev &&
        pos.id.ino == (uint64_t)st->st_ino && pos.off <= len && pos.id.head_len <= len &&
        ct_tail_head_hash(data, pos.id.head_len) == pos.id.head_hash)
        upto = pos.off;
    free(val);
    free(key);
    return upto;
}

uint64_t ct_tail_stored_upto(ct_store *s, const char *path, const char *data, size_t len)
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
        o = tail_cursor_upto(s, names[i], &st, data, len);
        if (o > best)
            best = o;
    }
    return best;
}
