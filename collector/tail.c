/*
 * collector/tail.c - following files on the serve loop (include/ctrail/tail.h).
 *
 * One timer per tail.  Each tick (every poll_ms, at once while a file has
 * more to read) looks at every file the tail follows:
 *
 *   closed   open the path; resume from the saved cursor when the file is
 *            the one it names, else finish the rotated file beside it
 *            first, else start at 0 (and log a possible gap)
 *   open     stat the path: another file there (rename rotation, deleted
 *            and created again) or none -> drain: read the old descriptor
 *            until it has been quiet for rotate_wait_ms, then switch; the
 *            same file shorter than what we read, or with another head
 *            (truncation, copytruncate) -> finish the copy beside it when
 *            there is one, then read the file again from 0
 *   read     read chunks, cut lines, parse, and append the records with
 *            the cursor of the last complete line, one transaction each
 *
 * A glob is expanded again every second; a new match starts at 0.
 * Everything runs on the loop thread and blocks only in the append.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctrail/log.h"
#include "ctrail/time.h"

#include "tail_impl.h"

#define NS_PER_MS      1000000LL
#define READS_PER_TICK 1  /* appends per file per tick: the loop serves others between */
#define GLOB_EVERY     4  /* ticks between glob expansions */
#define REJECTS_LOGGED 20 /* per file */

typedef struct tail_file {
    char *path;      /* owned: where it is followed */
    char *cursor;    /* owned: "<prefix>:<path>" */
    char *read_path; /* owned or NULL: the rotated name being finished */
    int fd;          /* -1: closed */
    ct_tail_ident id;
    uint64_t read_off; /* next byte to read */
    ct_tail_splitter sp;
    ct_tail_file info;
    int draining;   /* the path names another file now: finish this one */
    int has_resume; /* resume (from the store) not used yet */
    ct_tail_pos resume;
    int had_cursor; /* a cursor exists for the path */
    int64_t last_data_ns;
    int problem; /* errno (or -1: not a regular file) last logged */
    uint64_t rejects_logged;
    int seen; /* in the last glob expansion */
    struct tail_file *next;
} tail_file;

struct ct_tail_out {
    ct_tail *t;
    tail_file *f;
    ct_record *recs; /* owned */
    size_t n, cap;
};

struct ct_tail {
    ct_serve *sv; /* borrowed */
    ct_tail_opts o;
    char *path, *prefix, *name; /* owned copies of o's strings */
    int is_glob;
    unsigned ticks;
    tail_file *files;
    struct event *timer;
    char *chunk; /* owned: read buffer */
    ct_tail_stats st;
    ct_series *m_lines, *m_bytes, *m_records, *m_rejected, *m_cut, *m_rot, *m_trunc, *m_gaps,
        *m_files, *m_errors;
};

void ct_tail_opts_init(ct_tail_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->poll_ms = 250;
    o->max_line = 1u << 20;
    o->partial_flush_ms = 5000;
    o->rotate_wait_ms = 1000;
    o->read_chunk = 4u << 20;
}

void ct_tail_stats_get(const ct_tail *t, ct_tail_stats *st)
{
    *st = t->st;
}

/* ---- the parse function's side ---- */

ct_status ct_tail_emit(ct_tail_out *out, ct_record *rec, ct_error *err)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        ct_record *p = realloc(out->recs, cap * sizeof(*p));

        if (p == NULL) {
            ct_record_release(rec);
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
        }
        out->recs = p;
        out->cap = cap;
    }
    memset(&out->recs[out->n], 0, sizeof(out->recs[0]));
    ct_record_move(&out->recs[out->n++], rec);
    return CT_OK;
}

void ct_tail_reject(ct_tail_out *out, const ct_tail_line *line, const char *reason)
{
    out->t->st.rejected++;
    ct_series_add(out->t->m_rejected, 1);
    if (out->f->rejects_logged++ < REJECTS_LOGGED)
        ct_log(CT_LOG_WARN, "tail", "'%s' offset %llu: line rejected: %s%s", out->f->info.path,
               (unsigned long long)line->offset, reason,
               out->f->rejects_logged == REJECTS_LOGGED ? " (no more rejects logged for it)" : "");
}

static void out_clear(ct_tail_out *out)
{
    for (size_t i = 0; i < out->n; i++)
        ct_record_release(&out->recs[i]);
    out->n = 0;
}

/* ---- one file ---- */

static void file_free(tail_file *f)
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

static tail_file *file_new(ct_tail *t, const char *path)
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
        file_free(f);
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
        f->has_resume = f->had_cursor = 1;
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
    else if (code == -1)
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
                               &err) != CT_OK)
        ct_log(CT_LOG_ERROR, "tail", "cannot save cursor '%s': %s", f->cursor, err.msg);
    else
        f->had_cursor = 1;
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
        file_start(f, fd, cur, 0);
        file_save(t, f);
        return;
    }
    if (cur->dev == r->id.dev && cur->ino == r->id.ino && ct_tail_head_matches(fd, &r->id)) {
        if ((uint64_t)st->st_size >= r->off) {
            file_start(f, fd, &r->id, r->off);
            ct_log(CT_LOG_INFO, "tail", "'%s': resuming at offset %llu", f->path,
                   (unsigned long long)r->off);
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
    file_start(f, fd, cur, 0);
    file_save(t, f);
}

static void file_open(ct_tail *t, tail_file *f)
{
    struct stat st;
    ct_tail_ident cur;
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
        file_problem(t, f, -1, S_ISDIR(st.st_mode) ? "a directory" : "a special file");
        close(fd);
        return;
    }
    if (ct_tail_ident_take(fd, &cur, &err) != CT_OK) {
        file_problem(t, f, err.sys_errno != 0 ? err.sys_errno : EIO, "read");
        close(fd);
        return;
    }
    if (f->problem != 0)
        ct_log(CT_LOG_INFO, "tail", "'%s' is readable now", f->path);
    f->problem = 0;
    if (f->has_resume) {
        file_resume(t, f, fd, &cur, &st);
        return;
    }
    file_start(f, fd, &cur, 0);
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
    out_clear(out);
    if (rc != CT_OK) {
        ct_series_add(t->m_errors, 1);
        file_rewind(f);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        cut += (lines[i].flags & CT_TAIL_CUT) != 0;
    ct_tail_split_consume(&f->sp);
    f->had_cursor = 1;
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

/* Returns 1 when the file has more to read right now. */
static int file_poll(ct_tail *t, tail_file *f, ct_tail_out *out)
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

/* ---- the tail ---- */

static tail_file *tail_find(ct_tail *t, const char *path)
{
    for (tail_file *f = t->files; f != NULL; f = f->next)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

static void tail_add(ct_tail *t, const char *path)
{
    tail_file *f = file_new(t, path);

    if (f == NULL) {
        ct_log(CT_LOG_ERROR, "tail", "out of memory adding '%s'", path);
        return;
    }
    f->next = t->files;
    t->files = f;
    f->seen = 1;
}

/* Expand the glob: new matches are added; closed files no longer matched go. */
static void tail_glob(ct_tail *t)
{
    glob_t g;
    int rc = glob(t->path, 0, NULL, &g);
    tail_file **pp;

    for (tail_file *f = t->files; f != NULL; f = f->next)
        f->seen = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        tail_file *f = tail_find(t, g.gl_pathv[i]);
        struct stat st;

        if (f != NULL)
            f->seen = 1;
        else if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode))
            tail_add(t, g.gl_pathv[i]);
    }
    if (rc == 0 || rc == GLOB_NOMATCH)
        for (pp = &t->files; *pp != NULL;) {
            tail_file *f = *pp;

            if (!f->seen && f->fd < 0) {
                *pp = f->next;
                file_free(f);
            } else {
                pp = &f->next;
            }
        }
    globfree(&g);
}

static void tail_tick(evutil_socket_t fd, short what, void *arg)
{
    ct_tail *t = arg;
    ct_tail_out out = {.t = t};
    struct timeval tv = {0, 0};
    int more = 0;
    uint64_t files = 0;

    (void)fd;
    (void)what;
    if (t->is_glob && t->ticks % GLOB_EVERY == 0)
        tail_glob(t);
    t->ticks++;
    for (tail_file *f = t->files; f != NULL; f = f->next) {
        more |= file_poll(t, f, &out);
        files += f->fd >= 0;
    }
    free(out.recs);
    t->st.files = files;
    ct_series_set(t->m_files, (int64_t)files);
    if (!more) {
        tv.tv_sec = t->o.poll_ms / 1000;
        tv.tv_usec = (t->o.poll_ms % 1000) * 1000;
    }
    (void)evtimer_add(t->timer, &tv);
}

static void tail_free(ct_tail *t)
{
    if (t == NULL)
        return;
    while (t->files != NULL) {
        tail_file *f = t->files;

        t->files = f->next;
        file_free(f);
    }
    if (t->timer != NULL)
        event_free(t->timer);
    free(t->chunk);
    free(t->path);
    free(t->prefix);
    free(t->name);
    free(t);
}

static void tail_stop(void *ctx)
{
    tail_free(ctx);
}

static void tail_metrics(ct_tail *t)
{
    ct_metrics *m = ct_serve_metrics(t->sv);
    char labels[512];
    size_t j = 0;

    j = (size_t)snprintf(labels, sizeof(labels), "tail=\"");
    for (const char *s = t->name; *s != '\0' && j < sizeof(labels) - 2; s++)
        labels[j++] = (*s == '"' || *s == '\\' || *s == '\n') ? '_' : *s;
    labels[j++] = '"';
    labels[j] = '\0';
#define SERIES(kind, name, help) ct_metrics_series(m, kind, name, help, labels)
    t->m_lines = SERIES(CT_METRIC_COUNTER, "ctrail_tail_lines_total", "Lines read and stored");
    t->m_bytes = SERIES(CT_METRIC_COUNTER, "ctrail_tail_bytes_total", "Bytes read and stored");
    t->m_records = SERIES(CT_METRIC_COUNTER, "ctrail_tail_records_total", "Records stored");
    t->m_rejected = SERIES(CT_METRIC_COUNTER, "ctrail_tail_rejected_total", "Lines rejected");
    t->m_cut = SERIES(CT_METRIC_COUNTER, "ctrail_tail_lines_cut_total",
                      "Lines longer than the limit, stored cut");
    t->m_rot = SERIES(CT_METRIC_COUNTER, "ctrail_tail_rotations_total",
                      "Files finished because another file took their path");
    t->m_trunc = SERIES(CT_METRIC_COUNTER, "ctrail_tail_truncations_total",
                        "Files truncated or rewritten in place");
    t->m_gaps = SERIES(CT_METRIC_COUNTER, "ctrail_tail_gaps_total",
                       "Restarts that could not find the file their cursor names");
    t->m_errors = SERIES(CT_METRIC_COUNTER, "ctrail_tail_errors_total",
                         "Batches not stored (parse or store errors; retried)");
    t->m_files = SERIES(CT_METRIC_GAUGE, "ctrail_tail_files", "Files open");
#undef SERIES
}

ct_status ct_tail_start(ct_serve *sv, const ct_tail_opts *o, ct_tail **ret_tail, ct_error *err)
{
    ct_tail *t;
    struct timeval now = {0, 0};
    ct_status rc;

    if (o == NULL || o->path == NULL || o->path[0] == '\0' || o->parse == NULL ||
        o->cursor_prefix == NULL || o->cursor_prefix[0] == '\0')
        return ct_error_set(err, CT_ERR_INVALID, 0,
                            "a tail needs a path, a parser and a cursor prefix");
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    t->sv = sv;
    t->o = *o;
    if (t->o.poll_ms == 0)
        t->o.poll_ms = 250;
    if (t->o.max_line == 0)
        t->o.max_line = 1u << 20;
    if (t->o.read_chunk == 0)
        t->o.read_chunk = 4u << 20;
    t->path = ct_strdup(o->path);
    t->prefix = ct_strdup(o->cursor_prefix);
    t->name = ct_strdup(o->name != NULL ? o->name : o->path);
    t->chunk = malloc(t->o.read_chunk);
    t->timer = evtimer_new(ct_serve_base(sv), tail_tick, t);
    if (t->path == NULL || t->prefix == NULL || t->name == NULL || t->chunk == NULL ||
        t->timer == NULL) {
        tail_free(t);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    t->is_glob = strpbrk(t->path, "*?[") != NULL;
    tail_metrics(t);
    if (!t->is_glob)
        tail_add(t, t->path);
    if (!t->is_glob && t->files == NULL) {
        tail_free(t);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    rc = ct_serve_on_stop(sv, tail_stop, t, err);
    if (rc != CT_OK) {
        tail_free(t);
        return rc;
    }
    (void)evtimer_add(t->timer, &now);
    ct_log(CT_LOG_INFO, "tail", "following '%s' (cursors %s:PATH)", t->path, t->prefix);
    if (ret_tail != NULL)
        *ret_tail = t;
    return CT_OK;
}
