/*
 * tests/unit/test_parse_lines.c - ct_ingest_buffer on line input: syslog
 * on the wire (RFC 6587 octet counting, one datagram), syslog files with
 * TAB continuation lines, auditd files, and the line numbers of rejects.
 *
 * A bad frame or line must be reported with the frame or line where it
 * starts, and the good ones around it kept with their exact bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"

#include "parse_helpers.h"

#define WIRE "host-logs/syslog-wire/"

Test(lines, octet_counted_frames_back_to_back)
{
    size_t len;
    char *buf =
        fixture_read(WIRE "telegraf_octet_counting_strict_tcp_1st_min_ok_2nd_min_ok.txt", &len);
    collected c = {0};

    ingest_fmt(&c, buf, len, CT_FMT_AUTO, 555);
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], "<1>2 - - - - - -");
    expect_raw_str(&c.recs[1], "<4>11 - - - - - -");
    expect_str(c.recs[0].kind, "syslog.kern.alert");
    expect_str(c.recs[1].kind, "syslog.kern.warning");
    cr_expect_eq(c.recs[0].ts_ns, 555); /* NILVALUE: the reference time */
    collected_free(&c);
    free(buf);
}

Test(lines, octet_counted_frame_with_lf_and_utf8)
{
    size_t len;
    char *buf = fixture_read(WIRE "telegraf_octet_counting_strict_tcp_1st_newline_ok.txt", &len);
    collected c = {0};

    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 1);
    expect_raw_str(&c.recs[0], "<1>3 - - - - - - hello\nworld"); /* not split at LF */
    collected_free(&c);
    free(buf);

    buf = fixture_read(WIRE "telegraf_octet_counting_strict_tcp_1st_utf8_ok.txt", &len);
    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 1);
    expect_raw_str(&c.recs[0], "<1>1 - - - - - - hell\xC3\xB8"); /* 23 bytes, 22 chars */
    collected_free(&c);
    free(buf);
}

Test(lines, octet_counted_max_length_frame)
{
    size_t len;
    char *buf = fixture_read(WIRE "telegraf_octet_counting_maxlength_ok.txt", &len);
    collected c = {0};

    ingest_auto(&c, buf, len);
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 1);
    expect_raw(&c.recs[0], buf + 6, (size_t)15873);    /* after "15873 " */
    expect_str(c.recs[0].kind, "syslog.local7.debug"); /* 191 */
    collected_free(&c);
    free(buf);
}

/* Declared 16 bytes, but the real frames are "<1>2" and "<11>1 - ...":
 * the 16 bytes taken are no message, and what follows is no frame. */
Test(lines, octet_counting_underflow_malfunction)
{
    size_t len;
    char *buf =
        fixture_read(WIRE "telegraf_octet_counting_strict_tcp_1st_underflow_malfunction.txt", &len);
    collected c = {0};
    static const uint64_t want[] = {1, 2};

    ingest_auto(&c, buf, len);
    cr_expect_eq(c.n, 0);
    expect_rejects(&c, want, 2);
    collected_free(&c);
    free(buf);
}

Test(lines, octet_counting_truncated_and_lf_separated)
{
    collected c = {0};
    static const uint64_t want[] = {4};

    /* frame 3 counts its own trailing LF, which raw leaves out */
    ingest_str(&c, "16 <1>2 - - - - - -\n17 <4>11 - - - - - -\r\n17 <1>2 - - - - - -\n"
                   "40 <1>1 - - -");
    expect_rejects(&c, want, 1); /* frame 4 declares more than is left */
    cr_assert_eq(c.n, 3);
    expect_raw_str(&c.recs[1], "<4>11 - - - - - -");
    expect_raw_str(&c.recs[2], "<1>2 - - - - - -");
    collected_free(&c);
}

Test(lines, udp_datagram_with_two_messages_is_one)
{
    size_t len;
    char *buf = fixture_read(WIRE "telegraf_rfc5424_strict_udp_one_per_packet.txt", &len);
    collected c = {0};

    /* one datagram is one message: "A<1>4 - - - - - - B" is its MSG */
    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 1);
    expect_raw(&c.recs[0], buf, len);
    collected_free(&c);
    free(buf);
}

Test(lines, rfc5424_min_incomplete_rejected)
{
    size_t len;
    char *buf = fixture_read(WIRE "telegraf_rfc5424_strict_udp_min_incomplete.txt", &len);
    collected c = {0};
    static const uint64_t want[] = {1};

    ingest_auto(&c, buf, len);
    cr_expect_eq(c.n, 0);
    expect_rejects(&c, want, 1);
    collected_free(&c);
    free(buf);
}

Test(lines, tab_continuation_lines_join_the_message)
{
    size_t len, l20;
    char *buf = fixture_read("host-logs/syslog-files/beats_darwin-syslog-sample.log", &len);
    const char *line20 = line_of(buf, len, 20, &l20);
    collected c = {0};

    ingest_auto(&c, buf, len);
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 3);
    /* the first message is lines 1..19, LFs included */
    expect_raw(&c.recs[0], buf, (size_t)(line20 - 1 - buf));
    expect_raw(&c.recs[1], line20, l20);
    cr_expect_eq(c.recs[0].ts_ns, 1765625728000000000LL); /* Dec 13 -> 2025 for 2026-11-25 */
    collected_free(&c);
    free(buf);
}

Test(lines, line_numbers_after_continuation_lines)
{
    collected c = {0};
    static const uint64_t want[] = {4};

    ingest_str(&c, "Dec 13 11:35:28 h a: x\n\tc1\n\tc2\n<13>garbage\nDec 13 11:35:29 h a: y\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], "Dec 13 11:35:28 h a: x\n\tc1\n\tc2");
    expect_raw_str(&c.recs[1], "Dec 13 11:35:29 h a: y");
    collected_free(&c);
}

Test(lines, auditd_file_with_a_stampless_line)
{
    size_t len, llen;
    char *buf = fixture_read("host-logs/auditd/go-libaudit_audit-rhel7.log", &len);
    collected c = {0};
    const char *l31 = line_of(buf, len, 31, &llen);

    ingest_fmt(&c, buf, len, CT_FMT_AUTO, 999);
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 50); /* 49 LFs, the last line has none */
    for (unsigned i = 0; i < c.n; i++)
        cr_expect_eq(c.recs[i].source, i == 30 ? CT_SRC_TEXT : CT_SRC_AUDITD, "line %u", i + 1);
    /* "type=UNKNOWN[1329] msg=?" has no audit stamp: a text line */
    expect_raw(&c.recs[30], l31, llen);
    cr_expect_eq(c.recs[30].ts_ns, 999);
    collected_free(&c);
    free(buf);
}

Test(lines, crlf_log_lines)
{
    collected c = {0};
    static const uint64_t want[] = {4};

    /* blank lines (CRLF or spaces) count, and are no records */
    ingest_str(&c, "Feb 21 21:54:44 h a: x\r\n\r\n  \r\n<13>garbage\r\n"
                   "type=X msg=audit(1.5:1): y\r\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], "Feb 21 21:54:44 h a: x");
    expect_raw_str(&c.recs[1], "type=X msg=audit(1.5:1): y");
    cr_expect_eq(c.recs[1].source, CT_SRC_AUDITD);
    cr_expect_eq(c.recs[1].ts_ns, 1500000000LL);
    collected_free(&c);
}
