/*
 * tests/unit/test_syslog_framer.c - syslog messages out of a TCP byte stream
 * (collector/syslog_frame.c): octet counting and LF framing, mixed, split
 * at every byte boundary, CR and NUL handling (a NUL ends a line, as glibc's
 * syslog(3) sends them, but is data in a counted frame), cut and partial
 * messages.
 * The streams are what logger(1) and rsyslog's omfwd send (see
 * tests/integration/syslog_recv.sh for the real senders).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ctrail/syslog.h"

typedef struct msg {
    char *s; /* owned, NUL-terminated copy (may hold NULs: see len) */
    size_t len;
    unsigned flags;
    uint64_t full;
} msg;

typedef struct got {
    msg m[64];
    size_t n;
} got;

static void on_msg(void *ctx, const char *s, size_t len, unsigned flags, uint64_t full)
{
    got *g = ctx;

    cr_assert_lt(g->n, 64);
    cr_assert_gt(len, 0, "empty message delivered");
    g->m[g->n].s = malloc(len + 1);
    memcpy(g->m[g->n].s, s, len);
    g->m[g->n].s[len] = '\0';
    g->m[g->n].len = len;
    g->m[g->n].flags = flags;
    g->m[g->n].full = full;
    g->n++;
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->m[i].s);
    g->n = 0;
}

/* Feed s[0..len) in pieces cut at the given points (sorted, may be empty),
 * then finish the stream. */
static void feed_cuts(size_t max_msg, const char *s, size_t len, const size_t *cuts, size_t ncuts,
                      int finish, got *g)
{
    ct_syslog_framer fr;
    ct_error err = {0};
    size_t at = 0;

    ct_syslog_framer_init(&fr, max_msg);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        cr_assert_eq(ct_syslog_framer_feed(&fr, s + at, end - at, on_msg, g, &err), CT_OK, "%s",
                     err.msg);
        cr_assert_leq(ct_syslog_framer_pending(&fr), max_msg + 12);
        at = end;
    }
    if (finish)
        ct_syslog_framer_finish(&fr, on_msg, g);
    ct_syslog_framer_release(&fr);
}

static void expect_same(const got *a, const got *b, const char *how)
{
    cr_assert_eq(a->n, b->n, "%s: %zu messages, not %zu", how, b->n, a->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_eq(a->m[i].len, b->m[i].len, "%s: message %zu length", how, i);
        cr_assert(memcmp(a->m[i].s, b->m[i].s, a->m[i].len) == 0, "%s: message %zu bytes", how, i);
        cr_assert_eq(a->m[i].flags, b->m[i].flags, "%s: message %zu flags", how, i);
        cr_assert_eq(a->m[i].full, b->m[i].full, "%s: message %zu full length", how, i);
    }
}

/* Whole, split once at every byte boundary, split twice at every pair,
 * and one byte at a time: the same messages every time. */
static void expect_split_invariant(size_t max_msg, const char *s, size_t len, const got *want)
{
    got g = {0};
    size_t *every = malloc(len * sizeof(size_t));

    feed_cuts(max_msg, s, len, NULL, 0, 1, &g);
    expect_same(want, &g, "whole");
    got_free(&g);
    for (size_t i = 0; i <= len; i++) {
        size_t cut = i;

        feed_cuts(max_msg, s, len, &cut, 1, 1, &g);
        expect_same(want, &g, "one cut");
        got_free(&g);
    }
    for (size_t i = 0; i <= len && len <= 400; i++) {
        for (size_t j = i; j <= len; j++) {
            size_t cuts[2] = {i, j};

            feed_cuts(max_msg, s, len, cuts, 2, 1, &g);
            expect_same(want, &g, "two cuts");
            got_free(&g);
        }
    }
    for (size_t i = 0; i < len; i++)
        every[i] = i + 1;
    feed_cuts(max_msg, s, len, every, len > 0 ? len - 1 : 0, 1, &g);
    expect_same(want, &g, "byte at a time");
    got_free(&g);
    free(every);
}

static void expect_msgs(size_t max_msg, const char *stream, const char *const *msgs, size_t n)
{
    got want = {0};

    for (size_t i = 0; i < n; i++)
        on_msg(&want, msgs[i], strlen(msgs[i]), 0, strlen(msgs[i]));
    expect_split_invariant(max_msg, stream, strlen(stream), &want);
    got_free(&want);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(syslog_framer, lf_framing)
{
    /* logger -T: RFC 5424 and RFC 3164 lines, LF-terminated */
    static const char *const m[] = {
        ("<13>1 2026-11-25T06:24:27.891405+00:00 vm ctrailtest - - [timeQuality tzKnown=\"1\"] "
         "one"), /* one element: the parentheses tell clang so */
        "<13>Nov 25 06:24:27 vm ctrailtest: two",
        "<13>Nov 25 06:24:27 vm ctrailtest: three",
    };
    char stream[512];

    (void)snprintf(stream, sizeof(stream), "%s\n%s\n%s\n", m[0], m[1], m[2]);
    expect_msgs(1024, stream, m, N(m));
}

Test(syslog_framer, octet_counting)
{
    /* logger -T --octet-count: no trailing LF; rsyslog: a counted LF */
    static const char *const m[] = {
        "<13>1 2026-11-25T06:24:27.891405+00:00 vm ctrailtest - - - one",
        "<13>Nov 25 06:24:27 vm ctrailtest: two",
        "<13>1 2026-11-25T06:24:52.460937+00:00 vm viasock - - -  via rsyslog",
        "<14>with\nan LF inside",
    };
    char stream[512];

    (void)snprintf(stream, sizeof(stream), "%zu %s%zu %s%zu %s\n%zu %s", strlen(m[0]), m[0],
                   strlen(m[1]), m[1], strlen(m[2]) + 1, m[2], strlen(m[3]), m[3]);
    expect_msgs(1024, stream, m, N(m));
}

Test(syslog_framer, mixed_framings)
{
    static const char *const m[] = {
        "<13>counted one",   "<13>a line",
        "<13>counted two",   "2026-11-25T06:24:27Z host app: a line that starts with a digit",
        "12 not a count",    "123",
        "<13>counted three",
    };
    const char *stream = "15 <13>counted one<13>a line\n15 <13>counted two\n\n"
                         "2026-11-25T06:24:27Z host app: a line that starts with a digit\n"
                         "12 not a count\n123\n17 <13>counted three";

    expect_msgs(1024, stream, m, N(m));
}

Test(syslog_framer, cr_and_nul)
{
    /* CRLF line ends, blank lines and NULs between frames, a CR inside a
     * line and a NUL inside a counted frame (kept), a NUL inside a line
     * (ends it), a counted frame ending in CRLF */
    static const char m0[] = "<13>crlf line";
    static const char m1[] = "<13>in\0side";
    static const char m2[] = "<13>cr\rinside";
    static const char m3[] = "<13>counted crlf";
    static const char m4[] = "<13>a line cut";
    static const char m5[] = "by a NUL";
    static const char stream[] = "<13>crlf line\r\n\r\n\0\0" "11 <13>in\0side<13>cr\rinside\n"
                                 "\r\n18 <13>counted crlf\r\n<13>a line cut\0by a NUL\n";
    got want = {0};

    on_msg(&want, m0, sizeof(m0) - 1, 0, sizeof(m0) - 1);
    on_msg(&want, m1, sizeof(m1) - 1, 0, sizeof(m1) - 1);
    on_msg(&want, m2, sizeof(m2) - 1, 0, sizeof(m2) - 1);
    on_msg(&want, m3, sizeof(m3) - 1, 0, sizeof(m3) - 1);
    on_msg(&want, m4, sizeof(m4) - 1, 0, sizeof(m4) - 1);
    on_msg(&want, m5, sizeof(m5) - 1, 0, sizeof(m5) - 1);
    expect_split_invariant(1024, stream, sizeof(stream) - 1, &want);
    got_free(&want);
}

Test(syslog_framer, nul_terminated_as_glibc_sends)
{
    /* glibc's syslog(3) on a stream /dev/log: "<PRI>TIMESTAMP TAG[PID]: MSG\0"
     * back to back, no LF; a NUL-terminated line over max_msg is cut like
     * a LF-terminated one; a CR before the NUL goes too; mixed with counted
     * frames and LF lines */
    static const char m0[] = "<13>Nov 25 06:24:27 app[12]: first";
    static const char m1[] = "<14>Nov 25 06:24:28 app[12]: second";
    static const char m2[] = "<13>counted";
    static const char m3[] = "<13>a lf line";
    static const char m4[] = "<15>Nov 25 06:24:29 app[12]: crnul";
    static const char stream[] = "<13>Nov 25 06:24:27 app[12]: first\0"
                                 "<14>Nov 25 06:24:28 app[12]: second\0"
                                 "11 <13>counted<13>a lf line\n"
                                 "<15>Nov 25 06:24:29 app[12]: crnul\r\0";
    got want = {0}, g = {0};
    char big[200];

    on_msg(&want, m0, sizeof(m0) - 1, 0, sizeof(m0) - 1);
    on_msg(&want, m1, sizeof(m1) - 1, 0, sizeof(m1) - 1);
    on_msg(&want, m2, sizeof(m2) - 1, 0, sizeof(m2) - 1);
    on_msg(&want, m3, sizeof(m3) - 1, 0, sizeof(m3) - 1);
    on_msg(&want, m4, sizeof(m4) - 1, 0, sizeof(m4) - 1);
    expect_split_invariant(1024, stream, sizeof(stream) - 1, &want);
    got_free(&want);

    memset(big, 'x', sizeof(big));
    memcpy(big, "<13>", 4);
    big[100] = '\0'; /* a 100-byte message, then "<13>xx..." of 99 */
    memcpy(big + 101, "<13>", 4);
    big[sizeof(big) - 1] = '\0';
    feed_cuts(64, big, sizeof(big), NULL, 0, 1, &g);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.m[0].len, 64);
    cr_assert_eq(g.m[0].flags, CT_FRAME_CUT);
    cr_assert_eq(g.m[0].full, 100);
    cr_assert_eq(g.m[1].len, 64);
    cr_assert_eq(g.m[1].full, 98);
    cr_assert(memcmp(g.m[1].s, "<13>xxx", 7) == 0);
    got_free(&g);
}

Test(syslog_framer, long_messages_are_cut)
{
    /* max 64: a 100-byte line and a 100-byte counted frame come out as
     * their first 64 bytes, flagged, with their full length; the next
     * messages are intact */
    char line[101], stream[512];
    got want = {0};

    memset(line, 'x', 100);
    memcpy(line, "<13>", 4);
    line[100] = '\0';
    (void)snprintf(stream, sizeof(stream), "%s\r\n<13>next\n100 %s<13>after\n", line, line);
    on_msg(&want, line, 64, CT_FRAME_CUT, 100);
    on_msg(&want, "<13>next", 8, 0, 8);
    on_msg(&want, line, 64, CT_FRAME_CUT, 100);
    on_msg(&want, "<13>after", 9, 0, 9);
    expect_split_invariant(64, stream, strlen(stream), &want);
    got_free(&want);

    /* exactly max_msg bytes, with a CR that does not count: not cut */
    line[64] = '\0';
    (void)snprintf(stream, sizeof(stream), "%s\r\n64 %s", line, line);
    on_msg(&want, line, 64, 0, 64);
    on_msg(&want, line, 64, 0, 64);
    expect_split_invariant(64, stream, strlen(stream), &want);
    got_free(&want);
}

Test(syslog_framer, long_message_memory_is_bounded)
{
    /* a 1 MiB line fed in 4 KiB reads with max 64 KiB: never more held */
    size_t big = 1u << 20, max = 64u << 10;
    char *s = malloc(big + 16);
    ct_syslog_framer fr;
    ct_error err = {0};
    got g = {0};

    memset(s, 'y', big);
    memcpy(s, "<13>", 4);
    memcpy(s + big, "\n<13>ok\n", 8);
    ct_syslog_framer_init(&fr, max);
    for (size_t at = 0; at < big + 8; at += 4096) {
        size_t n = big + 8 - at < 4096 ? big + 8 - at : 4096;

        cr_assert_eq(ct_syslog_framer_feed(&fr, s + at, n, on_msg, &g, &err), CT_OK);
        cr_assert_leq(ct_syslog_framer_pending(&fr), max);
        cr_assert_leq(fr.cap, max);
    }
    ct_syslog_framer_finish(&fr, on_msg, &g);
    ct_syslog_framer_release(&fr);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.m[0].len, max);
    cr_assert_eq(g.m[0].flags, CT_FRAME_CUT);
    cr_assert_eq(g.m[0].full, big);
    cr_assert_str_eq(g.m[1].s, "<13>ok");
    got_free(&g);
    free(s);
}

Test(syslog_framer, partial_at_end_of_stream)
{
    got want = {0};

    /* a counted frame whose stream ends early: what came, flagged */
    on_msg(&want, "<13>complete", 12, 0, 12);
    on_msg(&want, "<13>half", 8, CT_FRAME_PARTIAL, 20);
    expect_split_invariant(1024, "12 <13>complete20 <13>half", 26, &want);
    got_free(&want);

    /* a last line without its LF is a whole message */
    on_msg(&want, "<13>no lf", 9, 0, 9);
    expect_split_invariant(1024, "\n<13>no lf", 10, &want);
    got_free(&want);

    /* a partial frame that was also too long */
    {
        char s[200];
        size_t n;

        memset(s, 'z', sizeof(s));
        n = (size_t)snprintf(s, sizeof(s), "500 <13>");
        s[n] = 'z';
        on_msg(&want, "<13>zzzz", 8, 0, 8); /* placeholder, replaced below */
        free(want.m[0].s);
        want.m[0].s = malloc(64);
        memcpy(want.m[0].s, s + 4, 64);
        want.m[0].len = 64;
        want.m[0].flags = CT_FRAME_PARTIAL | CT_FRAME_CUT;
        want.m[0].full = 500;
        expect_split_invariant(64, s, sizeof(s), &want);
        got_free(&want);
    }
}

Test(syslog_framer, partial_is_not_kept_across_streams)
{
    ct_syslog_framer fr;
    ct_error err = {0};
    got g = {0};

    ct_syslog_framer_init(&fr, 1024);
    cr_assert_eq(ct_syslog_framer_feed(&fr, "30 <13>cut", 10, on_msg, &g, &err), CT_OK);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(ct_syslog_framer_pending(&fr), 7);
    ct_syslog_framer_finish(&fr, on_msg, &g);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(ct_syslog_framer_pending(&fr), 0);
    cr_assert_eq(ct_syslog_framer_feed(&fr, "<13>new stream\n", 15, on_msg, &g, &err), CT_OK);
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(g.m[1].s, "<13>new stream");
    ct_syslog_framer_release(&fr);
    got_free(&g);
}

Test(syslog_framer, not_counts)
{
    /* leading zero, 11 digits, no '<' after the space, a space first:
     * lines, not counts */
    static const char *const m[] = {
        "05 <13>leading zero",
        "12345678901 <13>too many digits",
        "12 x",
        " 12 <13>space first",
    };
    const char *stream = "05 <13>leading zero\n12345678901 <13>too many digits\n12 x\n"
                         " 12 <13>space first\n";

    expect_msgs(1024, stream, m, N(m));
}

Test(syslog_framer, huge_declared_count_is_skipped)
{
    /* a count of 9999999999 bytes holds at most max_msg; the stream ends */
    ct_syslog_framer fr;
    ct_error err = {0};
    got g = {0};
    char chunk[4096];

    memset(chunk, 'q', sizeof(chunk));
    ct_syslog_framer_init(&fr, 1024);
    cr_assert_eq(ct_syslog_framer_feed(&fr, "9999999999 <", 12, on_msg, &g, &err), CT_OK);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(ct_syslog_framer_feed(&fr, chunk, sizeof(chunk), on_msg, &g, &err), CT_OK);
    cr_assert_leq(ct_syslog_framer_pending(&fr), 1024);
    ct_syslog_framer_finish(&fr, on_msg, &g);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.m[0].flags, CT_FRAME_PARTIAL | CT_FRAME_CUT);
    cr_assert_eq(g.m[0].full, 9999999999ull);
    cr_assert_eq(g.m[0].len, 1024);
    ct_syslog_framer_release(&fr);
    got_free(&g);
}
