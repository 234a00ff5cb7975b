/*
 * collector/tail_file.c - one file a tail follows (see tail.c for the
 * picture): opening it and resuming from its cursor, noticing rotation and
 * truncation, finishing a rotated file or a copytruncate copy, reading,
 * and storing each read's lines with the cursor.
 */
#include "tail_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrail/log.h"
#include "ctrail/time.h"

#define NS_PER_MS      1000000LL
#define READS_PER_TICK 1 /* appends per file per tick: the loop serves others between */

void tail_file_free(tail_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    ct_tail_split_release(&f->sp);
    free(f->path);
    free(f->cursor);
    free(f->read_path);
    free(f);
}

tail_file *tail_file_new(ct_tail *t, const char *path)
{
    tail_file *f = calloc(1, sizeof(*f));
    char *val = NULL;
    ct_error err = {0};

    if (f == NULL)
        return NULL;
    f->fd = -1;
    f->path = ct_strdup(path);
    f->cursor = malloc(strlen(t->prefix) + strlen(path) + 2);
    if (f->path == NULL || f->cursor == NULL) {
        tail_file_free(f);
        return NULL;
    }
    (void)sprintf(f->cursor, "%s:%s", t->prefix, path);
    ct_tail_split_init(&f->sp, t->o.max_line, 0);
    f->info.path = f->path;
    if (ct_store_cursor_get(ct_serve_store(t->sv), f->cursor, &val, &err) != CT_OK)
        ct_log(CT_LOG_WARN, "tail", "cannot read cursor '%s' (reading from the start): %s",
               f->cursor, err.msg);
    else if (val != NULL && ct_tail_cursor_parse(val, &f->resume, &err) != CT_OK)
        ct_log(CT_LOG_WARN, "tail", "cursor '%s': %s (reading from the start)", f->cursor, err.msg);
    else if (val != NULL)
        f->has_resume = f->had_cursor = f->has_saved = 1;
    f->saved = f->resume;
    free(val);
    return f;
}

/* Log a problem with the path once, until it changes or goes away. */
static void file_problem(ct_tail *t, tail_file *f, int code, const char *what)
{
    if (f->problem == code)
        return;
    f->problem = code;
    if (code == ENOENT)
        ct_log(CT_LOG_INFO, "tail", "'%s' does not exist (yet): waiting for it", f->path);
    else if (code == TAIL_SHARED)
        ct_log(CT_LOG_INFO, "tail",
               "'%s' is the file '%s' is read at (same device and inode): read once, there",
               f->path, what);
    else if (code == TAIL_NOT_REGULAR)
        ct_log(t->is_glob ? CT_LOG_DEBUG : CT_LOG_ERROR, "tail",
               "'%s' is %s, not a regular file: not read (waiting for a file there)", f->path,
               what);
    else
        ct_log(CT_LOG_ERROR, "tail", "cannot %s '%s': %s (will try again)", what, f->path,
               strerror(code));
}

/* Save the position only (n = 0 records): a file started anew. */
static void file_save(ct_tail *t, tail_file *f)
{
    ct_tail_pos pos = {f->id, ct_tail_split_committed(&f->sp)};
    char val[CT_TAIL_CURSOR_MAX];
    ct_error err = {0};

    if (ct_serve_append_cursor(t->sv, NULL, 0, f->cursor, ct_tail_cursor_format(&pos, val), NULL,
                               &err) != CT_OK) {
        ct_log(CT_LOG_ERROR, "tail", "cannot save cursor '%s': %s", f->cursor, err.msg);
        return;
    }
    f->had_cursor = f->has_saved = 1;
    f->saved = pos;
}

/* Where to start reading a file (fd, identity id, size bytes) that we
 * would read from off: further, when the cursor of another tail of the
 * same file, or an import of it, says its lines are stored further. */
static uint64_t start_at(ct_tail *t, tail_file *f, int fd, const ct_tail_ident *id, uint64_t size,
                         uint64_t off)
{
    const char *who = NULL;
    uint64_t o = tail_group_stored(t, f, fd, id, size, &who);

    if (o > off) {
        ct_log(CT_LOG_INFO, "tail",
               "'%s': the lines up to offset %llu are stored already, by the tail of '%s' (the "
               "same file): starting there",
               f->path, (unsigned long long)o, who);
        off = o;
    }
    o = tail_imported_upto(t, f, fd, size);
    if (o > off) {
        ct_log(CT_LOG_INFO, "tail",
               "'%s': the lines up to offset %llu are stored already, by 'ctrail import': "
               "starting there",
               f->path, (unsigned long long)o);
        off = o;
    }
    return off;
}

static void file_start(tail_file *f, int fd, const ct_tail_ident *id, uint64_t off)
{
    f->fd = fd;
    f->id = *id;
    f->read_off = off;
    ct_tail_split_reset(&f->sp, off);
    f->info.kind = 0;
    f->info.dev = id->dev;
    f->info.ino = id->ino;
    f->info.path = f->read_path != NULL ? f->read_path : f->path;
    f->last_data_ns = ct_time_now_ns();
}

/* Go on from the cursor saved before a restart. */
static void file_resume(ct_tail *t, tail_file *f, int fd, const ct_tail_ident *cur,
                        const struct stat *st)
{
    const ct_tail_pos *r = &f->resume;
    ct_tail_ident id;
    char *rpath = NULL;
    int rfd = -1;

    f->has_resume = 0;
    if (r->id.dev == 0 && r->id.ino == 0) { /* the file before was done */
        file_start(f, fd, cur, start_at(t, f, fd, cur, (uint64_t)st->st_size, 0));
        file_save(t, f);
        return;
    }
    if (cur->dev == r->id.dev && cur->ino == r->id.ino && ct_tail_head_matches(fd, &r->id)) {
        if ((uint64_t)st->st_size >= r->off) {
            ct_log(CT_LOG_INFO, "tail", "'%s': resuming at offset %llu", f->path,
                   (unsigned long long)r->off);
            file_start(f, fd, &r->id, start_at(t, f, fd, &r->id, (uint64_t)st->st_size, r->off));
            return;
        }
        t->st.truncations++;
        ct_series_add(t->m_trunc, 1);
        ct_log(CT_LOG_WARN, "tail",
               "'%s' was truncated while ctrail was stopped (%lld bytes, %llu were read): "
               "reading it from the start",
               f->path, (long long)st->st_size, (unsigned long long)r->off);
    } else if (ct_tail_find_rotated(f->path, r, &rfd, &rpath)) {
        struct stat rst;

        ct_log(CT_LOG_INFO, "tail",
               "'%s' was rotated while ctrail was stopped: finishing '%s' from offset %llu first",
               f->path, rpath, (unsigned long long)r->off);
        close(fd);
        id = r->id;
        if (fstat(rfd, &rst) == 0) {
            id.dev = (uint64_t)rst.st_dev;
            id.ino = (uint64_t)rst.st_ino;
        }
        f->read_path = rpath;
        file_start(f, rfd, &id, r->off);
        f->draining = 1;
        f->last_data_ns = 0; /* nobody writes it any more: finish at its end */
        return;
    } else {
        t->st.gaps++;
        ct_series_add(t->m_gaps, 1);
        ct_log(CT_LOG_WARN, "tail",
               "'%s' is not the file its cursor names (%s read up to offset %llu) and that "
               "file was not found beside it: lines written to it after ctrail stopped may be "
               "missing (possible gap); reading '%s' from the start",
               f->path, f->cursor, (unsigned long long)r->off, f->path);
    }
    file_start(f, fd, cur, start_at(t, f, fd, cur, (uint64_t)st->st_size, 0));
    file_save(t, f);
}

static void file_open(ct_tail *t, tail_file *f)
{
    struct stat st;
    ct_tail_ident cur;
    const tail_file *other;
    ct_error err = {0};
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        file_problem(t, f, errno, "open");
        return;
    }
    if (fstat(fd, &st) != 0) {
        file_problem(t, f, errno, "stat");
        close(fd);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        file_problem(t, f, TAIL_NOT_REGULAR,
                     S_ISDIR(st.st_mode) ? "a directory" : "a special file");
        close(fd);
        return;
    }
    other = tail_group_reader(t, f, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (other != NULL) { /* a second --tail of it, a symlink, a glob matching it too */
        file_problem(t, f, TAIL_SHARED, other->path);
        close(fd);
        return;
    }
    if (ct_tail_ident_take(fd, &cur, &err) != CT_OK) {
        file_problem(t, f, err.sys_errno != 0 ? err.sys_errno : EIO, "read");
        close(fd);
        return;
    }
    if (f->problem != 0)
        ct_log(CT_LOG_INFO, "tail", "'%s' is %s now", f->path,
               f->problem == TAIL_SHARED ? "read here" : "readable");
    f->problem = 0;
    if (f->has_resume) {
        file_resume(t, f, fd, &cur, &st);
        return;
    }
    file_start(f, fd, &cur, start_at(t, f, fd, &cur, (uint64_t)st.st_size, 0));
    if (f->had_cursor)
        file_save(t, f);
}

/* Put back what was read but not stored: it is read again. */
static void file_rewind(tail_file *f)
{
    uint64_t off = ct_tail_split_committed(&f->sp);

    ct_tail_split_reset(&f->sp, off);
    f->read_off = off;
}

/* Parse the complete lines and store them with the new position. */
static ct_status file_commit(ct_tail *t, tail_file *f, ct_tail_out *out)
{
    const ct_tail_line *lines;
    size_t n;
    uint64_t next, from = ct_tail_split_committed(&f->sp), cut = 0;
    ct_append_result res = {0};
    ct_error err = {0};
    char val[CT_TAIL_CURSOR_MAX];
    ct_tail_pos pos;
    ct_status rc = ct_tail_split_take(&f->sp, &lines, &n, &next, &err);

    if (rc == CT_OK && n == 0)
        return CT_OK;
    out->f = f;
    if (rc == CT_OK)
        rc = t->o.parse(t->o.parse_ctx, &f->info, lines, n, out, &err);
    if (rc != CT_OK) {
        ct_log(CT_LOG_ERROR, "tail", "'%s' offset %llu: cannot parse lines (will retry): %s",
               f->info.path, (unsigned long long)from, err.msg);
    } else {
        pos.id = f->id;
        pos.off = next;
        rc = ct_serve_append_cursor(t->sv, out->recs, out->n, f->cursor,
                                    ct_tail_cursor_format(&pos, val), &res, &err);
        if (rc != CT_OK)
            ct_log(CT_LOG_ERROR, "tail",
                   "'%s' offset %llu: cannot store %zu lines (will retry): %s", f->info.path,
                   (unsigned long long)from, n, err.msg);
    }
    tail_out_clear(out);
    if (rc != CT_OK) {
        ct_series_add(t->m_errors, 1);
        file_rewind(f);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        cut += (lines[i].flags & CT_TAIL_CUT) != 0;
    ct_tail_split_consume(&f->sp);
    f->had_cursor = f->has_saved = 1;
    f->saved = pos;
    t->st.lines += n;
    t->st.bytes += next - from;
    t->st.records += res.accepted;
    t->st.cut += cut;
    ct_series_add(t->m_lines, n);
    ct_series_add(t->m_bytes, next - from);
    ct_series_add(t->m_records, res.accepted);
    ct_series_add(t->m_cut, cut);
    return CT_OK;
}

/* The old file is done: store its last line, then follow the path again. */
static void file_finish(ct_tail *t, tail_file *f, ct_tail_out *out)
{
    ct_error err = {0};

    if (ct_tail_split_flush(&f->sp, &err) != CT_OK || file_commit(t, f, out) != CT_OK)
        return; /* tried again next tick */
    if (f->read_path != NULL)
        ct_log(CT_LOG_INFO, "tail",
               "'%s' rotated: finished '%s' at offset %llu; following the new file", f->path,
               f->read_path, (unsigned long long)ct_tail_split_committed(&f->sp));
    else
        ct_log(CT_LOG_INFO, "tail",
               "'%s' rotated: finished the old file (inode %llu) at offset %llu; following the "
               "new file",
               f->path, (unsigned long long)f->id.ino,
               (unsigned long long)ct_tail_split_committed(&f->sp));
    t->st.rotations++;
    ct_series_add(t->m_rot, 1);
    close(f->fd);
    f->fd = -1;
    free(f->read_path);
    f->read_path = NULL;
    f->draining = 0;
    f->has_resume = 0;
    f->info.path = f->path;
    file_open(t, f);
    if (f->fd < 0) {
        /* nothing at the path now: the cursor says the old file is done,
         * so a file created there later (or after a restart) starts at 0
         * without a gap being suspected */
        memset(&f->id, 0, sizeof(f->id));
        ct_tail_split_reset(&f->sp, 0);
        file_save(t, f);
    }
}

/* Is the path still the file we read?  Sets draining, or starts over after a truncation. */
static void file_check(ct_tail *t, tail_file *f)
{
    struct stat ps, fs;
    ct_tail_pos pos;
    char *rpath = NULL;
    int rfd = -1, gone = stat(f->path, &ps) != 0;

    if (gone || (uint64_t)ps.st_dev != f->id.dev || (uint64_t)ps.st_ino != f->id.ino) {
        f->draining = 1;
        ct_log(CT_LOG_INFO, "tail", "'%s' %s: reading the old file to its end", f->path,
               gone ? "was moved or deleted" : "names another file now");
        return;
    }
    if (fstat(f->fd, &fs) != 0)
        return;
    if ((uint64_t)fs.st_size >= f->read_off && ct_tail_head_matches(f->fd, &f->id)) {
        if (f->id.head_len < CT_TAIL_HEAD && (uint64_t)fs.st_size > f->id.head_len)
            (void)ct_tail_ident_take(f->fd, &f->id, NULL);
        return;
    }
    /* truncated, or rewritten in place */
    t->st.truncations++;
    ct_series_add(t->m_trunc, 1);
    pos.id = f->id;
    pos.off = ct_tail_split_committed(&f->sp);
    if (pos.off > 0 && ct_tail_find_rotated(f->path, &pos, &rfd, &rpath)) {
        struct stat rst;

        if (fstat(rfd, &rst) == 0 && (uint64_t)rst.st_ino != f->id.ino) {
            ct_log(CT_LOG_INFO, "tail",
                   "'%s' was truncated (copytruncate): finishing its copy '%s' from offset %llu",
                   f->path, rpath, (unsigned long long)pos.off);
            close(f->fd);
            pos.id.dev = (uint64_t)rst.st_dev;
            pos.id.ino = (uint64_t)rst.st_ino;
            f->read_path = rpath;
            file_start(f, rfd, &pos.id, pos.off);
            f->draining = 1;
            f->last_data_ns = 0;
            return;
        }
        close(rfd);
        free(rpath);
    }
    ct_log(CT_LOG_WARN, "tail",
           "'%s' was truncated (%lld bytes, %llu were read) and no copy was found beside it: "
           "reading it from the start; lines written just before the truncation may be missing",
           f->path, (long long)fs.st_size, (unsigned long long)f->read_off);
    {
        ct_tail_ident id;

        if (ct_tail_ident_take(f->fd, &id, NULL) != CT_OK)
            return;
        file_start(f, f->fd, &id, 0);
        file_save(t, f);
    }
}

int tail_file_poll(ct_tail *t, tail_file *f, ct_tail_out *out)
{
    int64_t now = ct_time_now_ns();
    struct stat fs;
    ssize_t n = 0;

    if (f->fd < 0) {
        file_open(t, f);
        if (f->fd < 0)
            return 0;
    }
    if (!f->draining)
        file_check(t, f);
    if (fstat(f->fd, &fs) == 0)
        f->info.mtime_ns = (int64_t)fs.st_mtim.tv_sec * 1000000000LL + fs.st_mtim.tv_nsec;
    for (int i = 0; i < READS_PER_TICK; i++) {
        n = pread(f->fd, t->chunk, t->o.read_chunk, (off_t)f->read_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            file_problem(t, f, errno, "read");
            return 0;
        }
        if (n == 0)
            break;
        f->last_data_ns = now;
        if (ct_tail_split_feed(&f->sp, t->chunk, (size_t)n, NULL) != CT_OK) {
            file_rewind(f);
            return 0;
        }
        f->read_off += (uint64_t)n;
        if (file_commit(t, f, out) != CT_OK)
            return 0;
        if ((size_t)n < t->o.read_chunk)
            break;
    }
    if (n > 0 && (size_t)n == t->o.read_chunk)
        return 1;
    if (f->draining) {
        if (now - f->last_data_ns >= (int64_t)t->o.rotate_wait_ms * NS_PER_MS)
            file_finish(t, f, out);
    } else if (ct_tail_split_pending(&f->sp) > 0 &&
               now - f->last_data_ns >= (int64_t)t->o.partial_flush_ms * NS_PER_MS) {
        if (ct_tail_split_flush(&f->sp, NULL) == CT_OK)
            (void)file_commit(t, f, out);
    }
    return 0;
}
