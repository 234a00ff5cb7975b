/*
 * tests/unit/test_syslog_header.c - the syslog header fields read again from
 * a message (ct_syslog_header_parse), facility/severity names, and
 * ct_ingest_line's choice of parser.  Messages are what logger(1) and
 * rsyslog send (the forms tests/integration/syslog_recv.sh sends for real).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ctrail/ingest.h"

static void expect_span(ct_syslog_span sp, const char *want, const char *what)
{
    if (want == NULL) {
        cr_expect_null(sp.p, "%s: want none, got '%.*s'", what, (int)sp.len, sp.p);
        return;
    }
    cr_assert_not_null(sp.p, "%s: want '%s', got none", what, want);
    cr_expect(sp.len == strlen(want) && memcmp(sp.p, want, sp.len) == 0,
              "%s: want '%s', got '%.*s'", what, want, (int)sp.len, sp.p);
}

static const struct {
    const char *line;
    int fac, sev;
    const char *host, *app, *pid, *msgid;
} good[] = {
    {"<156>1 2026-11-25T06:24:27.891405+00:00 vm ctrailtest 4242 MID1 [timeQuality "
     "tzKnown=\"1\"] udp rfc5424 hello",
     19, 4, "vm", "ctrailtest", "4242", "MID1"},
    {"<13>1 2026-11-25T06:24:52.460937+00:00 vm viasock - - -  message", 1, 5, "vm", "viasock",
     NULL, NULL},
    {"<13>1 - - - - - -", 1, 5, NULL, NULL, NULL, NULL},
    {"<13>Nov 25 06:24:27 vm ctrailtest: udp rfc3164 hello", 1, 5, "vm", "ctrailtest", NULL, NULL},
    {"<13>Nov 25 06:24:36 ctrailtest[21052]: via logger -u", 1, 5, NULL, "ctrailtest", "21052",
     NULL},
    {"Nov  5 06:24:36 web1 sshd[812]: Accepted publickey", -1, -1, "web1", "sshd", "812", NULL},
    {"<30>2026-11-25T06:24:27+00:00 node7 dockerd[99]: msg", 3, 6, "node7", "dockerd", "99", NULL},
};

Test(syslog_header, fields)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ct_syslog_header h;
        ct_error err = {0};

        cr_assert_eq(ct_syslog_header_parse(good[i].line, strlen(good[i].line), &h, &err), CT_OK,
                     "%s: %s", good[i].line, err.msg);
        cr_expect_eq(h.facility, good[i].fac, "%s: facility", good[i].line);
        cr_expect_eq(h.severity, good[i].sev, "%s: severity", good[i].line);
        expect_span(h.host, good[i].host, "host");
        expect_span(h.app, good[i].app, "app");
        expect_span(h.pid, good[i].pid, "pid");
        expect_span(h.msgid, good[i].msgid, "msgid");
    }
}

Test(syslog_header, bad_lines_leave_the_header_alone)
{
    static const char *const bad[] = {"", "<999>1 - - - - - -", "no stamp here", "<13>1 bad"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ct_syslog_header h;
        ct_error err = {0};

        memset(&h, 0x5a, sizeof(h));
        cr_expect_eq(ct_syslog_header_parse(bad[i], strlen(bad[i]), &h, &err), CT_ERR_PARSE, "'%s'",
                     bad[i]);
        cr_expect(err.msg[0] != '\0', "'%s': no reason", bad[i]);
        cr_expect_eq(h.facility, 0x5a5a5a5a, "'%s': header touched", bad[i]);
    }
}

Test(syslog_header, names)
{
    cr_expect_str_eq(ct_syslog_facility_name(19), "local3");
    cr_expect_str_eq(ct_syslog_severity_name(4), "warning");
    cr_expect_null(ct_syslog_facility_name(24));
    cr_expect_null(ct_syslog_severity_name(-1));
}

Test(syslog_header, ingest_line_picks_the_parser)
{
    static const char cid[] = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4";
    char line[256];
    ct_record rec = {0};
    ct_error err = {0};

    (void)snprintf(line, sizeof(line), "<13>Nov 25 06:24:27 vm dockerd: container %s died", cid);
    cr_assert_eq(ct_ingest_line(line, strlen(line), CT_FMT_AUTO, 0, &rec, &err), CT_OK);
    cr_expect_eq(rec.source, CT_SRC_SYSLOG);
    cr_expect_str_eq(rec.kind, "syslog.user.notice");
    cr_expect_str_eq(rec.container, cid);
    ct_record_release(&rec);

    cr_assert_eq(ct_ingest_line("just text", 9, CT_FMT_AUTO, 1000, &rec, &err), CT_OK);
    cr_expect_eq(rec.source, CT_SRC_TEXT);
    cr_expect_eq(rec.ts_ns, 1000);
    ct_record_release(&rec);

    cr_expect_eq(ct_ingest_line("just text", 9, CT_FMT_SYSLOG, 1000, &rec, &err), CT_ERR_PARSE);
}
