/*
 * query/import_resume.c - knowing which records of an input were imported
 * before.
 *
 * Docker and audit events carry keys the store de-duplicates by; log lines
 * and inspect documents do not (two identical lines are two events).  So
 * import remembers its inputs in cursors:
 *
 *   import:head:<BLAKE2b-256 of the head>  "<K> <done>"
 *   import:sha:<FP of the whole file>      "all"
 *   import:path:<absolute path>            "v2 <E> <FP of its first E bytes> <K> 1"
 *
 * The head is the input's first CT_INGEST_HEAD bytes, decompressed (all
 * of it when shorter); K is how many of its keyless records are stored;
 * done is 1 once the input was read to its end; FP is a fingerprint of a
 * file's bytes (ct_ingest_fingerprint, which reads about 1 MiB of it
 * whatever its size); E is where its last complete line ends.
 *
 * While an import runs, every batch it stores carries the head cursor with
 * K so far, so an import killed at any moment and run again skips exactly
 * the keyless records that were made durable.  The same input again skips
 * its first K keyless records: by its head, so also when it was compressed
 * since (a log rotated to .gz) or comes through standard input, and, once
 * imported whole, the same regular file is skipped without being read (by
 * its fingerprint).  A plain file shorter than the head that grew since
 * (a log being appended to) is known by its path, provided its first E
 * bytes are unchanged.  Inputs that start with the same CT_INGEST_HEAD
 * bytes are taken for the same one (a log and the same log grown).
 *
 * The lines a `serve --tail` of the same file stored are skipped too
 * (ct_tail_stored_upto, collector/tail_import.c), which reads import:path
 * the other way round.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ctrail/tail.h"
#include "import_resume.h"

static int compressed(int fd)
{
    unsigned char m[4];

    return pread(fd, m, 4, 0) == 4 &&
           ((m[0] == 0x1f && m[1] == 0x8b) || memcmp(m, "\x28\xB5\x2F\xFD", 4) == 0);
}

static char *cursor(ct_store *s, const char *name)
{
    char *val = NULL;
    ct_error err = {0};

    return ct_store_cursor_get(s, name, &val, &err) == CT_OK ? val : NULL;
}

static void head_key(const char *head, size_t len, char key[16 + 64 + 1])
{
    unsigned char h[32];
    char hex[65];

    (void)crypto_generichash(h, sizeof(h), (const unsigned char *)head, len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    (void)snprintf(key, 16 + 64 + 1, "import:head:%s", hex);
}

void ct_import_resume(ct_store *s, const char *path, const char *head, size_t head_len,
                      ct_import_mark *m, ct_ingest_resume *resume)
{
    char abs[PATH_MAX], fp[65], old_fp[65], *val;
    unsigned long long k, e;
    int done, fd = -1;
    struct stat st;

    memset(m, 0, sizeof(*m));
    m->path = path;
    head_key(head, head_len < CT_INGEST_HEAD ? head_len : CT_INGEST_HEAD, m->head_key);
    if ((val = cursor(s, m->head_key)) != NULL && sscanf(val, "%llu %d", &k, &done) == 2)
        resume->keyless = k;
    free(val);
    if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        ct_ingest_fingerprint(fd, (uint64_t)st.st_size, fp) != 0) {
        (void)close(fd); /* a fifo, a device: known by its head only */
        return;
    }
    (void)snprintf(m->whole_key, sizeof(m->whole_key), "import:sha:%s", fp);
    if ((val = cursor(s, m->whole_key)) != NULL && strcmp(val, "all") == 0)
        resume->offset = UINT64_MAX;
    free(val);
    if (!compressed(fd) && realpath(path, abs) != NULL &&
        (size_t)snprintf(m->path_key, sizeof(m->path_key), "import:path:%s", abs) >=
            sizeof(m->path_key))
        m->path_key[0] = '\0';
    if (m->path_key[0] != '\0' && (val = cursor(s, m->path_key)) != NULL) {
        if (sscanf(val, "v2 %llu %64s %llu %d", &e, old_fp, &k, &done) == 4 &&
            e <= (unsigned long long)st.st_size && ct_ingest_fingerprint(fd, e, fp) == 0 &&
            strcmp(fp, old_fp) == 0 && k > resume->keyless)
            resume->keyless = k;
        free(val);
    }
    if (resume->offset != UINT64_MAX) {
        uint64_t off = ct_tail_stored_upto(s, path, head, head_len, (uint64_t)st.st_size);

        if (off > resume->offset)
            resume->offset = off;
    }
    (void)close(fd);
}

void ct_import_progress_cursor(ct_import_mark *m, uint64_t keyless, const char **name,
                               const char **value)
{
    (void)snprintf(m->val, sizeof(m->val), "%llu 0", (unsigned long long)keyless);
    *name = m->head_key;
    *value = m->val;
}

ct_status ct_import_remember(ct_store *s, ct_import_mark *m, const ct_ingest_stats *st,
                             ct_error *err)
{
    /* a last line without its LF may still grow: it is read again when it
     * has, so it is not counted as stored */
    uint64_t k = st->keyless - st->keyless_open, end = st->bytes - st->open_bytes;
    ct_status rc;
    char fp[65];
    int fd;

    (void)snprintf(m->val, sizeof(m->val), "%llu 1", (unsigned long long)k);
    rc = ct_store_cursor_set(s, m->head_key, m->val, err);
    if (rc == CT_OK && m->path_key[0] != '\0' &&
        (fd = open(m->path, O_RDONLY | O_CLOEXEC)) >= 0) {
        if (ct_ingest_fingerprint(fd, end, fp) == 0) {
            (void)snprintf(m->val, sizeof(m->val), "v2 %llu %s %llu 1", (unsigned long long)end,
                           fp, (unsigned long long)k);
            rc = ct_store_cursor_set(s, m->path_key, m->val, err);
        }
        (void)close(fd);
    }
    if (rc == CT_OK && m->whole_key[0] != '\0')
        rc = ct_store_cursor_set(s, m->whole_key, "all", err);
    return rc;
}
