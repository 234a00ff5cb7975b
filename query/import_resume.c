/*
 * query/import_resume.c - knowing which input lines were imported before.
 *
 * Docker and audit events carry keys the store de-duplicates by; log lines
 * and inspect documents do not (two identical lines are two events).  So
 * import remembers its inputs in two cursors:
 *
 *   import:sha:<BLAKE2b-256 of the whole input>   "all", or "part <K>"
 *   import:path:<absolute path>                   "<bytes> <lines> <BLAKE2b-256 of them> [<K>]"
 *
 * where bytes/lines cover the input up to its last complete line and K is
 * how many of the input's keyless records are stored.  The same content
 * again is skipped whole; a file that grew since (a log being appended to)
 * is skipped up to where the earlier import stopped, provided those bytes
 * are unchanged.  While an import runs, every batch of records it stores
 * carries the cursor with K so far (the path cursor, or for standard input
 * the sha cursor "part K"): an import killed at any moment and run again
 * skips exactly the keyless records that were made durable.  The lines a `serve --tail` of the same file
 * stored are skipped too (ct_tail_stored_upto, collector/tail_import.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctrail/tail.h"
#include "import_resume.h"

static void hash_hex(const char *buf, size_t len, char out[2 * 32 + 1])
{
    unsigned char h[32];

    (void)crypto_generichash(h, sizeof(h), (const unsigned char *)buf, len, NULL, 0);
    sodium_bin2hex(out, 2 * 32 + 1, h, sizeof(h));
}

void ct_import_resume(ct_store *s, const char *path, const char *buf, size_t len,
                      ct_import_mark *m, ct_ingest_resume *resume)
{
    char hex[65], full[65], *val = NULL, abs[PATH_MAX];
    size_t end = len;
    uint64_t lines = 0;
    unsigned long long k;
    ct_error err = {0};

    memset(m, 0, sizeof(*m));
    hash_hex(buf, len, full);
    (void)snprintf(m->sha_key, sizeof(m->sha_key), "import:sha:%s", full);
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    for (size_t i = 0; i < end; i++)
        lines += buf[i] == '\n';
    if (path != NULL && realpath(path, abs) != NULL &&
        (size_t)snprintf(m->path_key, sizeof(m->path_key), "import:path:%s", abs) <
            sizeof(m->path_key)) {
        if (end == len)
            memcpy(hex, full, sizeof(hex));
        else
            hash_hex(buf, end, hex);
        (void)snprintf(m->path_val, sizeof(m->path_val), "%zu %llu %s", end,
                       (unsigned long long)lines, hex);
    } else {
        m->path_key[0] = '\0';
    }

    if (ct_store_cursor_get(s, m->sha_key, &val, &err) == CT_OK && val != NULL) {
        if (strcmp(val, "all") == 0) {
            free(val);
            resume->line = UINT64_MAX;
            return;
        }
        if (sscanf(val, "part %llu", &k) == 1)
            resume->keyless = k;
        free(val);
    }
    if (m->path_key[0] != '\0' && ct_store_cursor_get(s, m->path_key, &val, &err) == CT_OK &&
        val != NULL) {
        size_t old_end;
        unsigned long long old_lines;
        char old_hex[65];

        int got = sscanf(val, "%zu %llu %64s %llu", &old_end, &old_lines, old_hex, &k);

        if (got >= 3 && old_end <= len) {
            if (old_end == len)
                memcpy(hex, full, sizeof(hex));
            else
                hash_hex(buf, old_end, hex);
            if (strcmp(hex, old_hex) == 0 && got == 3 && old_lines > resume->line)
                resume->line = old_lines;
            else if (strcmp(hex, old_hex) == 0 && got == 4 && k > resume->keyless)
                resume->keyless = k;
        }
        free(val);
    }
    if (path != NULL) {
        uint64_t off = ct_tail_stored_upto(s, path, buf, len), tailed = 0;

        for (uint64_t i = 0; i < off; i++)
            tailed += buf[i] == '\n';
        if (off > 0 && buf[off - 1] != '\n')
            tailed++; /* a last line the tail stored without its LF, in part */
        if (tailed > resume->line)
            resume->line = tailed;
    }
}

void ct_import_progress_cursor(ct_import_mark *m, uint64_t keyless, const char **name,
                               const char **value)
{
    if (m->path_key[0] != '\0') {
        (void)snprintf(m->val, sizeof(m->val), "%s %llu", m->path_val,
                       (unsigned long long)keyless);
        *name = m->path_key;
    } else {
        (void)snprintf(m->val, sizeof(m->val), "part %llu", (unsigned long long)keyless);
        *name = m->sha_key;
    }
    *value = m->val;
}

ct_status ct_import_remember(ct_store *s, const ct_import_mark *m, ct_error *err)
{
    ct_status rc = ct_store_cursor_set(s, m->sha_key, "all", err);

    if (rc == CT_OK && m->path_key[0] != '\0')
        rc = ct_store_cursor_set(s, m->path_key, m->path_val, err);
    return rc;
}
