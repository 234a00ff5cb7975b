/*
 * collector/syslog_frame.c - syslog messages out of a byte stream.
 *
 * TCP and unix stream senders frame messages in one of two ways (RFC 6587):
 *
 *   octet counting   "121 <13>1 2026-... msg"      LEN SP MSG, LEN bytes
 *   non-transparent  "<13>1 2026-... msg\n"        up to LF, or NUL
 *
 * glibc's syslog(3) on a stream socket (a /dev/log that is one) ends each
 * message with a NUL instead of a LF, so a NUL ends a line as a LF does;
 * inside an octet-counted frame it is data like any other byte.
 *
 * A sender may switch between them (several senders behind one relay), so
 * the choice is made per message, at its first byte: "[1-9][0-9]{0,9} <"
 * is a count, anything else a line.  rsyslog's octet-counted frames end in
 * LF (its template's), which is counted; we take it off, and a CR before
 * it, so both framings of one message give the same bytes.
 *
 * The framer is fed whatever a read returned (any split, down to a byte at
 * a time) and must not hold more than max_msg bytes: what goes past that is
 * counted but dropped, and the message is delivered with CT_FRAME_CUT when
 * its frame ends.  Messages that arrive whole in one read are delivered
 * from the caller's buffer without a copy.
 */
#include <stdlib.h>
#include <string.h>

#include "ctrail/syslog.h"

enum { FR_START = 0, FR_HEAD, FR_COUNT, FR_LINE };

#define FR_MAX_DIGITS 10

void ct_syslog_framer_init(ct_syslog_framer *fr, size_t max_msg)
{
    memset(fr, 0, sizeof(*fr));
    fr->max_msg = max_msg < CT_FRAME_MIN_MAX_MSG ? CT_FRAME_MIN_MAX_MSG : max_msg;
}

void ct_syslog_framer_release(ct_syslog_framer *fr)
{
    if (fr == NULL)
        return;
    free(fr->buf);
    fr->buf = NULL;
    fr->len = fr->cap = 0;
}

size_t ct_syslog_framer_pending(const ct_syslog_framer *fr)
{
    return fr->len + fr->head_len;
}

static void reset(ct_syslog_framer *fr)
{
    fr->state = FR_START;
    fr->len = 0;
    fr->head_len = 0;
    fr->want = 0;
    fr->seen = 0;
    fr->tail[0] = fr->tail[1] = 0;
    fr->oom = 0;
}

/* Count n more bytes of the message and remember its last two. */
static void note(ct_syslog_framer *fr, const char *p, size_t n)
{
    if (n == 0)
        return;
    fr->seen += n;
    fr->tail[0] = n >= 2 ? (unsigned char)p[n - 2] : fr->tail[1];
    fr->tail[1] = (unsigned char)p[n - 1];
}

/* Keep what fits of p[0..n) under max_msg: 0, or -1 when memory runs out
 * (the message is then cut at what is held). */
static int keep(ct_syslog_framer *fr, const char *p, size_t n)
{
    size_t room = fr->max_msg - fr->len;

    if (fr->oom)
        return 0;
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    if (fr->len + n > fr->cap) {
        size_t cap = fr->cap == 0 ? 4096 : fr->cap;
        char *nb;

        while (cap < fr->len + n)
            cap *= 2;
        if (cap > fr->max_msg)
            cap = fr->max_msg;
        nb = realloc(fr->buf, cap);
        if (nb == NULL) {
            fr->oom = 1;
            return -1;
        }
        fr->buf = nb;
        fr->cap = cap;
    }
    memcpy(fr->buf + fr->len, p, n);
    fr->len += n;
    return 0;
}

/* Where a line ends in p[0..n): its first LF or NUL, or NULL. */
static const char *line_end(const char *p, size_t n)
{
    const char *lf = memchr(p, '\n', n);
    const char *nul = memchr(p, '\0', lf != NULL ? (size_t)(lf - p) : n);

    return nul != NULL ? nul : lf;
}

/* The message ended: msg[0..kept) is what was kept of its fr->seen bytes.
 * count: it was octet-counted; partial: its stream ended first. */
static void deliver(ct_syslog_framer *fr, const char *msg, size_t kept, int count, int partial,
                    ct_frame_fn fn, void *ctx)
{
    uint64_t full = fr->seen;
    unsigned flags = 0;

    if (partial) {
        full += fr->want;
        flags |= CT_FRAME_PARTIAL;
        if (kept < fr->seen)
            flags |= CT_FRAME_CUT;
    } else {
        int last = 1; /* index into tail of the message's last byte */

        if (count && full > 0 && fr->tail[1] == '\n') {
            full--;
            last = 0;
        }
        if (full > 0 && fr->tail[last] == '\r' && (last == 1 || fr->seen >= 2))
            full--;
        if (kept > full)
            kept = (size_t)full;
        if (kept < full)
            flags |= CT_FRAME_CUT;
    }
    if (kept > 0)
        fn(ctx, msg, kept, flags, full);
    reset(fr);
}

static ct_status oom_status(ct_error *err)
{
    return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory for a syslog message");
}

ct_status ct_syslog_framer_feed(ct_syslog_framer *fr, const char *data, size_t len, ct_frame_fn fn,
                                void *ctx, ct_error *err)
{
    size_t i = 0;
    int oom = 0;

    while (i < len) {
        char c = data[i];

        switch (fr->state) {
        case FR_START:
            if (c == '\n' || c == '\r' || c == '\0') {
                i++;
            } else if (c >= '1' && c <= '9') {
                fr->state = FR_HEAD;
            } else {
                fr->state = FR_LINE;
            }
            break;
        case FR_HEAD: {
            int after_space = fr->head_len > 0 && fr->head[fr->head_len - 1] == ' ';

            if (c >= '0' && c <= '9' && !after_space && fr->head_len < FR_MAX_DIGITS) {
                fr->head[fr->head_len++] = c;
                i++;
            } else if (c == ' ' && fr->head_len > 0 && !after_space) {
                fr->head[fr->head_len++] = c;
                i++;
            } else if (c == '<' && after_space) {
                uint64_t n = 0;

                for (size_t k = 0; k + 1 < fr->head_len; k++)
                    n = n * 10 + (uint64_t)(fr->head[k] - '0');
                fr->head_len = 0;
                fr->want = n;
                fr->seen = 0;
                fr->state = FR_COUNT; /* '<' is the frame's first byte */
            } else {
                /* not a count: what we held starts a line */
                if (keep(fr, fr->head, fr->head_len) != 0)
                    oom = 1;
                note(fr, fr->head, fr->head_len);
                fr->head_len = 0;
                fr->state = FR_LINE;
            }
            break;
        }
        case FR_COUNT: {
            size_t n = len - i < fr->want ? len - i : (size_t)fr->want;

            if (fr->seen == 0 && n == fr->want && n <= fr->max_msg) {
                /* the whole frame is here: no copy */
                note(fr, data + i, n);
                fr->want = 0;
                i += n;
                deliver(fr, data + i - n, n, 1, 0, fn, ctx);
                break;
            }
            if (keep(fr, data + i, n) != 0)
                oom = 1;
            note(fr, data + i, n);
            fr->want -= n;
            i += n;
            if (fr->want == 0)
                deliver(fr, fr->buf, fr->len, 1, 0, fn, ctx);
            break;
        }
        case FR_LINE: {
            const char *lf = line_end(data + i, len - i);
            size_t n = lf != NULL ? (size_t)(lf - (data + i)) : len - i;

            if (lf != NULL && fr->seen == 0 && n <= fr->max_msg) {
                note(fr, data + i, n);
                i += n + 1;
                deliver(fr, lf - n, n, 0, 0, fn, ctx);
                break;
            }
            if (keep(fr, data + i, n) != 0)
                oom = 1;
            note(fr, data + i, n);
            i += n;
            if (lf != NULL) {
                i++;
                deliver(fr, fr->buf, fr->len, 0, 0, fn, ctx);
            }
            break;
        }
        }
    }
    return oom ? oom_status(err) : CT_OK;
}

void ct_syslog_framer_finish(ct_syslog_framer *fr, ct_frame_fn fn, void *ctx)
{
    switch (fr->state) {
    case FR_HEAD: /* digits (and a space) and then the end: a line */
        if (fr->head_len > 0)
            fn(ctx, fr->head, fr->head_len, 0, fr->head_len);
        reset(fr);
        break;
    case FR_COUNT:
        deliver(fr, fr->buf, fr->len, 1, 1, fn, ctx);
        break;
    case FR_LINE:
        deliver(fr, fr->buf, fr->len, 0, 0, fn, ctx);
        break;
    default:
        reset(fr);
        break;
    }
}
