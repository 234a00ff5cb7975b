/*
 * collector/tail_cursor.c - which file a tail was reading, and how far.
 *
 * A file is known by its device and inode and by a hash of its first bytes
 * (up to 256): an inode number reused for a new file, or a file rewritten in
 * place by copytruncate, has another head.  The cursor is one line of text
 * (docs/FORMAT.md#tail-cursors):
 *
 *     v1 dev=2049 ino=1835041 off=52188 head=256:9f2c0b6e1d4a7788
 *
 * After a restart the file at the path may be another one: the rotated file
 * is looked for beside it, by name prefix, head and inode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrail/record.h"

#include "tail_impl.h"

#define MAX_DIR_ENTRIES 4096 /* look at no more names than this beside a file */

uint64_t ct_tail_head_hash(const void *data, size_t len)
{
    unsigned char h[8];
    uint64_t v = 0;

    crypto_generichash(h, sizeof(h), data, len, NULL, 0);
    for (int i = 7; i >= 0; i--)
        v = v << 8 | h[i];
    return v;
}

char *ct_tail_cursor_format(const ct_tail_pos *pos, char buf[CT_TAIL_CURSOR_MAX])
{
    (void)snprintf(buf, CT_TAIL_CURSOR_MAX,
                   "v1 dev=%" PRIu64 " ino=%" PRIu64 " off=%" PRIu64 " head=%" PRIu32
                   ":%016" PRIx64,
                   pos->id.dev, pos->id.ino, pos->off, pos->id.head_len, pos->id.head_hash);
    return buf;
}

ct_status ct_tail_cursor_parse(const char *s, ct_tail_pos *pos, ct_error *err)
{
    ct_tail_pos p = {0};
    char hex[17];
    int used = -1;

    if (s == NULL ||
        sscanf(s,
               "v1 dev=%" SCNu64 " ino=%" SCNu64 " off=%" SCNu64 " head=%" SCNu32 ":%16[0-9a-f]%n",
               &p.id.dev, &p.id.ino, &p.off, &p.id.head_len, hex, &used) != 5 ||
        used < 0 || s[used] != '\0' || strlen(hex) != 16 || p.id.head_len > CT_TAIL_HEAD)
        return ct_error_set(err, CT_ERR_PARSE, 0, "bad tail cursor '%.80s'", s ? s : "(null)");
    p.id.head_hash = strtoull(hex, NULL, 16);
    *pos = p;
    return CT_OK;
}

static int head_read(int fd, unsigned char *buf, size_t want)
{
    size_t got = 0;

    while (got < want) {
        ssize_t n = pread(fd, buf + got, want - got, (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

ct_status ct_tail_ident_take(int fd, ct_tail_ident *id, ct_error *err)
{
    unsigned char head[CT_TAIL_HEAD];
    struct stat st;
    size_t n;

    if (fstat(fd, &st) != 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot stat");
    n = st.st_size < CT_TAIL_HEAD ? (size_t)st.st_size : CT_TAIL_HEAD;
    if (head_read(fd, head, n) != 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot read the first bytes");
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->head_len = (uint32_t)n;
    id->head_hash = ct_tail_head_hash(head, n);
    return CT_OK;
}

int ct_tail_head_matches(int fd, const ct_tail_ident *id)
{
    unsigned char head[CT_TAIL_HEAD];

    if (id->head_len > CT_TAIL_HEAD || head_read(fd, head, id->head_len) != 0)
        return 0;
    return ct_tail_head_hash(head, id->head_len) == id->head_hash;
}

/* 2: same inode and head; 1: same head only; 0: another file. */
static int candidate(int fd, const ct_tail_pos *pos)
{
    struct stat st;
    int same_ino;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < pos->off)
        return 0;
    same_ino = (uint64_t)st.st_dev == pos->id.dev && (uint64_t)st.st_ino == pos->id.ino;
    if (pos->id.head_len == 0)
        return same_ino ? 2 : 0;
    if (!ct_tail_head_matches(fd, &pos->id))
        return 0;
    return same_ino ? 2 : 1;
}

int ct_tail_find_rotated(const char *path, const ct_tail_pos *pos, int *ret_fd, char **ret_path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash != NULL ? ct_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                              : ct_strdup(".");
    const char *base = slash != NULL ? slash + 1 : path;
    size_t blen = strlen(base);
    int best = 0, best_fd = -1, dfd = -1, seen = 0;
    char *best_name = NULL;
    DIR *d = NULL;
    struct dirent *e;

    if (dir != NULL && blen > 0)
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0 && (d = fdopendir(dfd)) == NULL)
        close(dfd);
    if (d == NULL) {
        free(dir);
        return 0;
    }
    while ((e = readdir(d)) != NULL && seen++ < MAX_DIR_ENTRIES && best < 2) {
        int fd, score;

        if (strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] == '\0')
            continue;
        fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            continue;
        score = candidate(fd, pos);
        if (score > best) {
            char *name = malloc(strlen(dir) + strlen(e->d_name) + 2);

            if (name != NULL) {
                (void)sprintf(name, "%s/%s", dir, e->d_name);
                if (best_fd >= 0)
                    close(best_fd);
                free(best_name);
                best = score;
                best_fd = fd;
                best_name = name;
                continue;
            }
        }
        close(fd);
    }
    closedir(d);
    free(dir);
    if (best == 0)
        return 0;
    *ret_fd = best_fd;
    *ret_path = best_name;
    return 1;
}
