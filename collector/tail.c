/*
 * collector/tail.c - following files on the serve loop (include/ctrail/tail.h):
 * the tail itself (timer, glob, metrics, start); tail_file.c has one file.
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
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <event2/event.h>

#include "ctrail/log.h"

#include "tail_file.h"

#define GLOB_EVERY     4  /* ticks between glob expansions */
#define REJECTS_LOGGED 20 /* per file */

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

void tail_out_clear(ct_tail_out *out)
{
    for (size_t i = 0; i < out->n; i++)
        ct_record_release(&out->recs[i]);
    out->n = 0;
}

/* ---- the tails of a serve ---- */

const tail_file *tail_group_reader(const ct_tail *t, const tail_file *self, uint64_t dev,
                                   uint64_t ino)
{
    for (const ct_tail *g = t->group != NULL ? *t->group : t; g != NULL; g = g->gnext) {
        if (strcmp(g->prefix, t->prefix) != 0)
            continue;
        for (const tail_file *f = g->files; f != NULL; f = f->next)
            if (f != self && f->fd >= 0 && f->id.dev == dev && f->id.ino == ino)
                return f;
        if (t->group == NULL)
            break;
    }
    return NULL;
}

uint64_t tail_group_stored(const ct_tail *t, const tail_file *self, int fd, const ct_tail_ident *id,
                           uint64_t size, const char **who)
{
    uint64_t best = 0;

    for (const ct_tail *g = t->group != NULL ? *t->group : t; g != NULL; g = g->gnext) {
        if (strcmp(g->prefix, t->prefix) != 0)
            continue;
        for (const tail_file *f = g->files; f != NULL; f = f->next) {
            const ct_tail_pos *p = &f->saved;

            if (f == self || !f->has_saved || p->off <= best || p->off > size ||
                p->id.dev != id->dev || p->id.ino != id->ino || (p->id.dev | p->id.ino) == 0 ||
                !ct_tail_head_matches(fd, &p->id))
                continue;
            best = p->off;
            *who = f->path;
        }
        if (t->group == NULL)
            break;
    }
    return best;
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
    tail_file *f = tail_file_new(t, path);

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
                tail_file_free(f);
            } else {
                pp = &f->next;
            }
        }
    globfree(&g);
}

/* Ready unless a file cannot be read for a reason other than not being
 * there (yet). */
static void tail_readiness(ct_tail *t, uint64_t files)
{
    char why[200];
    const tail_file *bad = NULL;
    unsigned shared = 0;

    for (const tail_file *f = t->files; f != NULL && bad == NULL; f = f->next) {
        shared += f->problem == TAIL_SHARED;
        if (f->problem != 0 && f->problem != ENOENT && f->problem != TAIL_SHARED)
            bad = f;
    }
    if (bad == NULL) {
        if (!t->is_glob && files == 0 && shared == 0)
            (void)snprintf(why, sizeof(why), "waiting for the file");
        else
            (void)snprintf(why, sizeof(why), "%llu file%s open%s", (unsigned long long)files,
                           files == 1 ? "" : "s",
                           shared > 0 ? "; and files read by another tail" : "");
        ct_ready_set(t->ready, 1, why);
        return;
    }
    (void)snprintf(why, sizeof(why), "'%s': %s", bad->path,
                   bad->problem == TAIL_NOT_REGULAR ? "not a regular file"
                                                    : strerror(bad->problem));
    ct_ready_set(t->ready, 0, why);
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
        more |= tail_file_poll(t, f, &out);
        files += f->fd >= 0;
    }
    free(out.recs);
    t->st.files = files;
    ct_series_set(t->m_files, (int64_t)files);
    tail_readiness(t, files);
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
    for (ct_tail **pp = t->group; pp != NULL && *pp != NULL; pp = &(*pp)->gnext)
        if (*pp == t) {
            *pp = t->gnext;
            break;
        }
    while (t->files != NULL) {
        tail_file *f = t->files;

        t->files = f->next;
        tail_file_free(f);
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
    t->group = (ct_tail **)ct_serve_slot(sv, "tails");
    if (t->group != NULL) {
        t->gnext = *t->group;
        *t->group = t;
    }
    tail_metrics(t);
    t->ready = ct_serve_ready_add(sv, o->ready_kind != NULL ? o->ready_kind : "tail", t->path);
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
