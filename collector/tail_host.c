/*
 * collector/tail_host.c - `ctrail serve --tail PATH_OR_GLOB`: host log files.
 *
 * Each file's kind is decided once per file (again after a rotation, a
 * truncation or a restart), so that a tailed file gives the records that
 * `ctrail import` of the same file gives:
 *
 *   .../containers/<id>/<id>-json.log[.N]   Docker json-file log: every line
 *        a container_log record keyed to <id> (the line does not name it)
 *   first non-blank line starts with { or [ JSON lines, read as import reads
 *        them (container log lines, docker events, audit events, ...)
 *   anything else                           lines (ct_ingest_line): auditd
 *        records, syslog file lines, plain text.  TAB-led lines after a
 *        syslog line continue it (macOS system.log), as in import, when
 *        they are read in the same batch.
 *
 * auditd: each record line stays one record, as import stores it.  The
 * records of one event share its msg=audit(SECONDS.MILLIS:SERIAL) stamp,
 * which is the record time to the millisecond, so they sit together in a
 * timeline and `events --source auditd` shows the event whole; merging them
 * would have to wait for an EOE that many record types never get.
 *
 * Blank lines are skipped.  A line cut at the tail's limit keeps its first
 * bytes and ends with the mark " [ctrail: line cut: N of M bytes kept]";
 * a cut JSON line cannot be parsed and is rejected with its length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrail/ingest.h"
#include "ctrail/log.h"
#include "ctrail/tail.h"

#include "parse_util.h"

enum { K_UNKNOWN = 0, K_CLOG, K_JSON, K_LINES };

typedef struct line_ctx {
    ct_tail_out *out;
    const ct_tail_line *line;
    const char *cid; /* borrowed or NULL: the container of a json-file log */
    ct_status failed;
} line_ctx;

static int is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* "/containers/<id>/<id>-json.log" (or a rotated ".N" after it) ends path:
 * the id into cid, 1; else 0. */
static int clog_path_id(const char *path, char cid[65])
{
    const char *p = strstr(path, "containers/");

    for (; p != NULL; p = strstr(p + 1, "containers/")) {
        const char *id = p + 11, *file = id + 65;

        if (strlen(id) < 65 + 64 + 9 || !is_hex64(id) || id[64] != '/' ||
            memcmp(file, id, 64) != 0 || strncmp(file + 64, "-json.log", 9) != 0)
            continue;
        if (file[73] != '\0' && file[73] != '.')
            continue;
        memcpy(cid, id, 64);
        cid[64] = '\0';
        return 1;
    }
    return 0;
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

static int json_start(const ct_tail_line *l)
{
    size_t i = 0;

    if (l->len >= 3 && memcmp(l->p, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < l->len && (l->p[i] == ' ' || l->p[i] == '\t'))
        i++;
    return i < l->len && (l->p[i] == '{' || l->p[i] == '[');
}

static ct_status json_sink(void *ctx, ct_record *rec, ct_error *err)
{
    line_ctx *lc = ctx;

    if (lc->cid != NULL && rec->container == NULL && (rec->container = ct_strdup(lc->cid)) == NULL)
        return pu_oom(err);
    return ct_tail_emit(lc->out, rec, err);
}

static void json_reject(void *ctx, uint64_t where, const char *reason)
{
    line_ctx *lc = ctx;

    (void)where;
    ct_tail_reject(lc->out, lc->line, reason);
}

/* One JSON line, through the importer so that both read it alike. */
static ct_status json_line(const ct_tail_file *f, const ct_tail_line *l, const char *cid,
                           ct_tail_out *out, ct_error *err)
{
    line_ctx lc = {out, l, cid, CT_OK};
    ct_ingest_opts o = {0};
    char reason[96];

    if (l->flags & CT_TAIL_CUT) {
        (void)snprintf(reason, sizeof(reason), "json line of %llu bytes is over the limit",
                       (unsigned long long)l->full_len);
        ct_tail_reject(out, l, reason);
        return CT_OK;
    }
    if (!json_start(l)) {
        ct_tail_reject(out, l, "not a json value (a json lines file)");
        return CT_OK;
    }
    o.format = CT_FMT_AUTO;
    o.ref_ns = f->mtime_ns;
    o.sink = json_sink;
    o.sink_ctx = &lc;
    o.reject = json_reject;
    o.reject_ctx = &lc;
    return ct_ingest_buffer(l->p, l->len, &o, NULL, err);
}

/* Lines i..j-1 joined with LF (a syslog message with its TAB-led lines). */
static char *join_lines(const ct_tail_line *lines, size_t i, size_t j, size_t *ret_len)
{
    size_t len = 0, at = 0;
    char *s;

    for (size_t k = i; k < j; k++)
        len += lines[k].len + (k > i);
    s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    for (size_t k = i; k < j; k++) {
        if (k > i)
            s[at++] = '\n';
        memcpy(s + at, lines[k].p, lines[k].len);
        at += lines[k].len;
    }
    *ret_len = len;
    return s;
}

/* The mark at the end of a cut line's raw. */
static ct_status mark_cut(ct_record *rec, const ct_tail_line *l, ct_error *err)
{
    char mark[96];
    int n = snprintf(mark, sizeof(mark), " [ctrail: line cut: %zu of %llu bytes kept]", l->len,
                     (unsigned long long)l->full_len);
    char *raw = realloc(rec->raw, rec->raw_len + (size_t)n + 1);

    if (raw == NULL)
        return pu_oom(err);
    memcpy(raw + rec->raw_len, mark, (size_t)n + 1);
    rec->raw = raw;
    rec->raw_len += (size_t)n;
    return CT_OK;
}

/* Lines from i: one record (with continuations); *used says how many lines. */
static ct_status text_lines(const ct_tail_file *f, const ct_tail_line *lines, size_t n, size_t i,
                            size_t *used, ct_tail_out *out, ct_error *err)
{
    const ct_tail_line *l = &lines[i];
    ct_record rec = {0};
    ct_error perr = {0};
    size_t j = i + 1, len = l->len;
    char *joined = NULL;
    ct_status rc;

    if (l->flags == 0 && !pu_auditd_detect(l->p, l->len) && pu_syslog_detect(l->p, l->len))
        while (j < n && lines[j].offset == lines[j - 1].next && lines[j - 1].flags == 0 &&
               lines[j].flags == 0 && lines[j].len > 0 && lines[j].p[0] == '\t')
            j++;
    *used = j - i;
    if (j > i + 1 && (joined = join_lines(lines, i, j, &len)) == NULL)
        return pu_oom(err);
    rc = ct_ingest_line(joined != NULL ? joined : l->p, len, CT_FMT_AUTO, f->mtime_ns, &rec, &perr);
    free(joined);
    if (rc == CT_ERR_PARSE) {
        ct_tail_reject(out, l, perr.msg);
        return CT_OK;
    }
    if (rc != CT_OK) {
        *err = perr;
        return rc;
    }
    if ((l->flags & CT_TAIL_CUT) && (rc = mark_cut(&rec, l, err)) != CT_OK) {
        ct_record_release(&rec);
        return rc;
    }
    return ct_tail_emit(out, &rec, err);
}

static ct_status host_parse(void *ctx, ct_tail_file *f, const ct_tail_line *lines, size_t n,
                            ct_tail_out *out, ct_error *err)
{
    char cid[65];
    int has_cid = clog_path_id(f->path, cid);

    (void)ctx;
    if (f->kind == K_UNKNOWN && has_cid)
        f->kind = K_CLOG;
    for (size_t i = 0; i < n;) {
        const ct_tail_line *l = &lines[i];
        size_t used = 1;
        ct_status rc = CT_OK;

        if (is_blank(l->p, l->len)) {
            i++;
            continue;
        }
        if (f->kind == K_UNKNOWN)
            f->kind = json_start(l) ? K_JSON : K_LINES;
        if (f->kind == K_LINES)
            rc = text_lines(f, lines, n, i, &used, out, err);
        else
            rc = json_line(f, l, has_cid ? cid : NULL, out, err);
        if (rc != CT_OK)
            return rc;
        i += used;
    }
    return CT_OK;
}

ct_status ct_host_tail_start(ct_serve *sv, const char *path_or_glob, ct_error *err)
{
    ct_tail_opts o;

    ct_tail_opts_init(&o);
    o.path = path_or_glob;
    o.cursor_prefix = "tail";
    o.parse = host_parse;
    return ct_tail_start(sv, &o, NULL, err);
}
