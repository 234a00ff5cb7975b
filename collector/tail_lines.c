/*
 * collector/tail_lines.c - a file's bytes cut into lines, memory bounded.
 *
 * The splitter is fed what a read returned and keeps, in one buffer, the
 * complete lines not yet stored and the start of the incomplete last line.
 * A line that grows past max_line keeps only its first max_line bytes; the
 * rest is counted (full_len) and dropped, so the buffer never holds more
 * than one read plus max_line, and gives back what a big read needed once
 * its lines are stored.  Offsets are file offsets: the position to store
 * after a batch is the start of the incomplete line.
 */
#include <stdlib.h>
#include <string.h>

#define KEEP_BYTES (64u << 10) /* buffer room kept between reads */
#define KEEP_LINES 1024        /* line slots kept between reads */

#include "tail_impl.h"

void ct_tail_split_init(ct_tail_splitter *sp, size_t max_line, uint64_t offset)
{
    memset(sp, 0, sizeof(*sp));
    sp->max_line = max_line > 0 ? max_line : 1;
    sp->cur_off = sp->end_off = offset;
}

void ct_tail_split_release(ct_tail_splitter *sp)
{
    free(sp->buf);
    free(sp->lines);
    free(sp->out);
    memset(sp, 0, sizeof(*sp));
}

void ct_tail_split_reset(ct_tail_splitter *sp, uint64_t offset)
{
    sp->len = sp->cur_at = sp->n_lines = 0;
    sp->cur_full = 0;
    sp->cur_off = sp->end_off = offset;
}

static ct_status split_oom(ct_error *err)
{
    return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory cutting lines");
}

static int reserve(void **p, size_t *cap, size_t want, size_t elem)
{
    size_t n = *cap ? *cap : 16;
    void *q;

    if (want <= *cap)
        return 0;
    while (n < want)
        n *= 2;
    q = realloc(*p, n * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* The incomplete line becomes complete; next is the offset past it. */
static ct_status push_line(ct_tail_splitter *sp, uint64_t next, unsigned flags, ct_error *err)
{
    tail_ldesc *d;
    size_t kept = sp->len - sp->cur_at;
    uint64_t full = sp->cur_full;

    if (reserve((void **)&sp->lines, &sp->cap_lines, sp->n_lines + 1, sizeof(*sp->lines)) != 0)
        return split_oom(err);
    /* a CR before the LF is not part of the line */
    if (full > 0 && full == kept && sp->buf[sp->len - 1] == '\r') {
        full--;
        kept--;
    }
    d = &sp->lines[sp->n_lines++];
    d->at = sp->cur_at;
    d->len = kept;
    d->full_len = full;
    d->offset = sp->cur_off;
    d->next = next;
    d->flags = flags | (full > kept ? CT_TAIL_CUT : 0u);
    sp->cur_at = sp->len;
    sp->cur_off = next;
    sp->cur_full = 0;
    return CT_OK;
}

ct_status ct_tail_split_feed(ct_tail_splitter *sp, const char *data, size_t len, ct_error *err)
{
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t piece = (nl != NULL ? (size_t)(nl - data) : len) - i;
        size_t kept = sp->len - sp->cur_at;
        size_t take = kept < sp->max_line ? sp->max_line - kept : 0;

        if (take > piece)
            take = piece;
        if (take > 0) {
            if (reserve((void **)&sp->buf, &sp->cap, sp->len + take, 1) != 0)
                return split_oom(err);
            memcpy(sp->buf + sp->len, data + i, take);
            sp->len += take;
        }
        sp->cur_full += piece;
        i += piece;
        if (nl != NULL) {
            ct_status rc = push_line(sp, sp->cur_off + sp->cur_full + 1, 0, err);

            if (rc != CT_OK)
                return rc;
            i++;
        }
    }
    sp->end_off += len;
    return CT_OK;
}

ct_status ct_tail_split_flush(ct_tail_splitter *sp, ct_error *err)
{
    if (sp->cur_full == 0)
        return CT_OK;
    return push_line(sp, sp->cur_off + sp->cur_full, CT_TAIL_NO_LF, err);
}

ct_status ct_tail_split_take(ct_tail_splitter *sp, const ct_tail_line **lines, size_t *n,
                             uint64_t *next, ct_error *err)
{
    if (reserve((void **)&sp->out, &sp->cap_out, sp->n_lines + 1, sizeof(*sp->out)) != 0)
        return split_oom(err);
    for (size_t i = 0; i < sp->n_lines; i++) {
        const tail_ldesc *d = &sp->lines[i];

        sp->out[i] =
            (ct_tail_line){sp->buf + d->at, d->len, d->full_len, d->offset, d->next, d->flags};
    }
    *lines = sp->out;
    *n = sp->n_lines;
    *next = sp->cur_off;
    return CT_OK;
}

void ct_tail_split_consume(ct_tail_splitter *sp)
{
    if (sp->cur_at > 0)
        memmove(sp->buf, sp->buf + sp->cur_at, sp->len - sp->cur_at);
    sp->len -= sp->cur_at;
    sp->cur_at = 0;
    sp->n_lines = 0;
    /* a big read is over: do not keep its room (a glob may follow many
     * files, each with its splitter) */
    if (sp->cap > KEEP_BYTES && sp->len <= KEEP_BYTES / 2) {
        char *b = realloc(sp->buf, KEEP_BYTES);

        if (b != NULL) {
            sp->buf = b;
            sp->cap = KEEP_BYTES;
        }
    }
    if (sp->cap_lines > KEEP_LINES) {
        free(sp->lines);
        free(sp->out);
        sp->lines = NULL;
        sp->out = NULL;
        sp->cap_lines = sp->cap_out = 0;
    }
}

uint64_t ct_tail_split_pending(const ct_tail_splitter *sp)
{
    return sp->cur_full;
}

uint64_t ct_tail_split_committed(const ct_tail_splitter *sp)
{
    return sp->n_lines > 0 ? sp->lines[0].offset : sp->cur_off;
}
