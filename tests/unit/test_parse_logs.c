/*
 * tests/unit/test_parse_logs.c - the host log parsers: ct_syslog_parse
 * (RFC 3164 with year inference, RFC 5424, syslog file lines),
 * ct_auditd_parse and ct_container_log_parse, on fixture lines from
 * host-logs/ and on small inline lines for the edges.
 *
 * Times were converted to ns outside ctrail (python datetime).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"
#include "ctrail/time.h"

#include "parse_helpers.h"

#define NS(s)         ((int64_t)(s)*1000000000LL)
#define REF_2026_1125 1795603737000000000LL /* 2026-11-25T10:48:57Z */

static void syslog_ok(const char *line, size_t len, int64_t ref_ns, ct_record *rec)
{
    ct_error err = {0};

    cr_assert_eq(ct_syslog_parse(line, len, ref_ns, rec, &err), CT_OK, "'%.*s': %s", (int)len, line,
                 err.msg);
    cr_assert_eq(rec->source, CT_SRC_SYSLOG);
    expect_raw(rec, line, len);
}

static void syslog_fixture_line(const char *fixture, unsigned n, int64_t ref_ns, ct_record *rec)
{
    size_t len, llen;
    char *buf = fixture_read(fixture, &len);
    const char *line = line_of(buf, len, n, &llen);

    syslog_ok(line, llen, ref_ns, rec);
    free(buf);
}

Test(syslog, rfc3164_wire_space_padded_day)
{
    size_t len;
    char *buf = fixture_read("host-logs/syslog-wire/telegraf_rfc3164_strict_udp.txt", &len);
    ct_record r = {0};

    /* "<13>Dec  2 16:31:03 host app: Test": no year, no trailing LF */
    cr_assert_eq(len, 34);
    syslog_ok(buf, len, REF_2026_1125, &r);
    expect_str(r.kind, "syslog.user.notice"); /* 13 = user(1) * 8 + notice(5) */
    expect_str(r.host, "host");
    /* Dec 2 2026 would be after the reference time: last year's */
    cr_expect_eq(r.ts_ns, 1764693063000000000LL); /* 2025-12-02T16:31:03Z */
    ct_record_release(&r);
    free(buf);
}

Test(syslog, rfc3164_year_inference)
{
    static const struct {
        const char *line;
        int64_t ref_ns, want_ns;
    } cases[] = {
        /* same year when not after ref + 1 day */
        {"<13>Dec  2 16:31:03 host app: x", 1764633600000000000LL /* 2025-12-02 */,
         1764693063000000000LL /* 2025-12-02T16:31:03Z */},
        /* December read in January: last year */
        {"<13>Dec  2 16:31:03 host app: x", 1767571200000000000LL /* 2026-01-05 */,
         1764693063000000000LL},
        {"<13>Dec  2 16:31:03 host app: x", 1748736000000000000LL /* 2025-06-01 */,
         1733157063000000000LL /* 2024-12-02T16:31:03Z */},
        /* the one-day tolerance, to the second */
        {"Dec  3 00:00:00 host app: x", 1764633600000000000LL, 1764720000000000000LL},
        {"Dec  3 00:00:01 host app: x", 1764633600000000000LL,
         1733184001000000000LL /* 2024-12-03T00:00:01Z */},
        /* Feb 29: this year when leap, else the year before if leap */
        {"Feb 29 12:00:00 host app: x", 1709251200000000000LL /* 2024-03-01 */,
         1709208000000000000LL /* 2024-02-29T12:00:00Z */},
        {"Feb 29 12:00:00 host app: x", 1740787200000000000LL /* 2025-03-01 */,
         1709208000000000000LL},
        /* fraction of a second after the stamp */
        {"Mar  1 00:00:00.25 host app: x", 1740787200000000000LL,
         1740787200250000000LL /* 2025-03-01T00:00:00.25Z */},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ct_record r = {0};

        syslog_ok(cases[i].line, strlen(cases[i].line), cases[i].ref_ns, &r);
        cr_expect_eq(r.ts_ns, cases[i].want_ns, "case %zu '%s': got %lld want %lld", i,
                     cases[i].line, (long long)r.ts_ns, (long long)cases[i].want_ns);
        expect_str(r.host, "host");
        ct_record_release(&r);
    }
}

Test(syslog, rfc3164_without_host_and_repeat_line)
{
    ct_record r = {0};
    const char *s = "<13>Dec  2 16:31:03 app: Test";

    syslog_ok(s, strlen(s), REF_2026_1125, &r);
    expect_str(r.host, NULL); /* "app:" is a tag */
    ct_record_release(&r);

    syslog_fixture_line("host-logs/syslog-files/beats_darwin-syslog-sample.log", 21, REF_2026_1125,
                        &r);
    expect_str(r.kind, "syslog.line");
    expect_str(r.host, NULL);                     /* "--- last message repeated 1 time ---" */
    cr_expect_eq(r.ts_ns, 1775273997000000000LL); /* 2026-04-04T03:39:57Z, "Apr 4" */
    ct_record_release(&r);
}

Test(syslog, file_lines_bsd_and_rfc3339_offsets)
{
    ct_record r = {0};

    syslog_fixture_line("host-logs/syslog-files/beats_auth-test.log", 1, REF_2026_1125, &r);
    expect_str(r.kind, "syslog.line");
    expect_str(r.host, "localhost");
    cr_expect_eq(r.ts_ns, 1771710884000000000LL); /* 2026-02-21T21:54:44Z */
    ct_record_release(&r);

    syslog_fixture_line("host-logs/syslog-files/beats_auth-test.log", 4, REF_2026_1125, &r);
    expect_str(r.host, "slave22");
    ct_record_release(&r);

    /* "+0400" without colon, "+04:00" with microseconds, no offset (UTC) */
    syslog_fixture_line("host-logs/syslog-files/beats_tz-offset.log", 1, REF_2026_1125, &r);
    cr_expect_eq(r.ts_ns, 514848225101000000LL);
    expect_str(r.host, "rmbkmonitor04");
    ct_record_release(&r);
    syslog_fixture_line("host-logs/syslog-files/beats_tz-offset.log", 2, REF_2026_1125, &r);
    cr_expect_eq(r.ts_ns, 514848225388424000LL);
    ct_record_release(&r);
    syslog_fixture_line("host-logs/syslog-files/beats_tz-offset.log", 3, REF_2026_1125, &r);
    cr_expect_eq(r.ts_ns, 1560508820912134000LL);
    expect_str(r.host, "localhost");
    ct_record_release(&r);
}

Test(syslog, rfc5424_structured_data)
{
    size_t len, mlen;
    char *buf = fixture_read(
        "host-logs/syslog-wire/telegraf_octet_counting_strict_tcp_1st_avg_ok.txt", &len);
    const char *msg = buf + 4; /* after "188 " */
    ct_record r = {0};

    cr_assert(memcmp(buf, "188 <29>1 ", 10) == 0);
    mlen = len - 4;
    cr_assert_eq(mlen, 188);
    syslog_ok(msg, mlen, REF_2026_1125, &r);
    expect_str(r.kind, "syslog.daemon.notice"); /* 29 = daemon(3) * 8 + notice(5) */
    expect_str(r.host, "web1");
    cr_expect_eq(r.ts_ns, 1456029177000000000LL); /* 2016-02-21T04:32:57+00:00 */
    ct_record_release(&r);
    free(buf);
}

Test(syslog, rfc5424_long_app_name_and_millis)
{
    size_t len, llen;
    char *buf = fixture_read("host-logs/syslog-wire/telegraf_rfc5424_long_appname.txt", &len);
    const char *line = line_of(buf, len, 1, &llen);
    ct_record r = {0};

    syslog_ok(line, llen, REF_2026_1125, &r);
    expect_str(r.kind, "syslog.local3.emerg"); /* 152 = local3(19) * 8 + emerg(0) */
    expect_str(r.host, "mymachine.example.com");
    cr_expect_eq(r.ts_ns, 1065910455003000000LL); /* 2003-10-11T22:14:15.003Z */
    ct_record_release(&r);
    free(buf);
}

Test(syslog, rfc5424_nil_timestamp_takes_reference_time)
{
    ct_record r = {0};
    const char *s = "<1>2 - - - - - -";

    syslog_ok(s, strlen(s), 1234567890123456789LL, &r);
    expect_str(r.kind, "syslog.kern.alert");
    expect_str(r.host, NULL);
    cr_expect_eq(r.ts_ns, 1234567890123456789LL);
    ct_record_release(&r);
}

Test(syslog, container_id_in_message)
{
    ct_record r = {0};
    const char *s = "Feb 21 21:54:44 node1 dockerd[812]: container "
                    "5ace081d065e1e254a6cbf80c2d862772793d7973c680b178df9ff0e13a79e2e exited";

    syslog_ok(s, strlen(s), REF_2026_1125, &r);
    expect_str(r.container, "5ace081d065e1e254a6cbf80c2d862772793d7973c680b178df9ff0e13a79e2e");
    expect_str(r.host, "node1");
    ct_record_release(&r);
}

static const struct {
    const char *name, *line;
} bad_syslog[] = {
    {"empty", ""},
    {"rfc5424 min incomplete (fixture)", "<1>2"},
    {"no timestamp", "hello world"},
    {"pri out of range", "<192>1 2016-02-21T04:32:57Z h a p m -"},
    {"pri without stamp", "<13>not a stamp"},
    {"bad rfc5424 time", "<1>1 2016-13-45T04:32:57Z h a p m -"},
    {"rfc5424 header truncated", "<1>1 2016-02-21T04:32:57Z h a"},
    {"structured data not closed", "<1>1 2016-02-21T04:32:57Z h a p m [id k=\"v\""},
    {"structured data malformed", "<1>1 2016-02-21T04:32:57Z h a p m x"},
    {"bsd stamp bad hour", "Feb 21 25:54:44 h a: x"},
    {"bsd date that never exists", "Feb 30 12:00:00 h a: x"},
};

Test(syslog, rejects_bad_lines)
{
    for (size_t i = 0; i < sizeof(bad_syslog) / sizeof(bad_syslog[0]); i++) {
        const char *s = bad_syslog[i].line;
        ct_record r = {0};
        ct_error err = {0};
        ct_status rc = ct_syslog_parse(s, strlen(s), REF_2026_1125, &r, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %d", bad_syslog[i].name, (int)rc);
        cr_expect(err.msg[0] != '\0', "%s: no reason", bad_syslog[i].name);
        cr_expect(r.kind == NULL && r.raw == NULL, "%s: output touched", bad_syslog[i].name);
    }
}

Test(syslog, feb_29_when_neither_year_has_it)
{
    ct_record r = {0};
    ct_error err = {0};
    const char *s = "Feb 29 12:00:00 host app: x";

    /* ref 2026-03-01: neither 2026 nor 2025 has Feb 29 */
    cr_expect_eq(ct_syslog_parse(s, strlen(s), 1772323200000000000LL, &r, &err), CT_ERR_PARSE);
    cr_expect(strstr(err.msg, "Feb 29") != NULL, "reason: %s", err.msg);
}

/* ---- auditd ---- */

static void auditd_fixture_line(const char *fixture, unsigned n, ct_record *rec)
{
    size_t len, llen;
    char *buf = fixture_read(fixture, &len);
    const char *line = line_of(buf, len, n, &llen);
    ct_error err = {0};

    cr_assert_eq(ct_auditd_parse(line, llen, rec, &err), CT_OK, "%s:%u: %s", fixture, n, err.msg);
    cr_assert_eq(rec->source, CT_SRC_AUDITD);
    expect_raw(rec, line, llen);
    free(buf);
}

Test(auditd, node_prefix_is_the_host)
{
    ct_record r = {0};

    auditd_fixture_line("host-logs/auditd/beats_audit-cent7-node.log", 1, &r);
    expect_str(r.kind, "auditd.DAEMON_START");
    expect_str(r.host, "localhost.localdomain");
    cr_expect_eq(r.ts_ns, 1594053514588000000LL);
    ct_record_release(&r);
    auditd_fixture_line("host-logs/auditd/beats_audit-cent7-node.log", 2, &r);
    expect_str(r.kind, "auditd.CONFIG_CHANGE");
    cr_expect_eq(r.ts_ns, 1594053514707000000LL);
    ct_record_release(&r);
}

Test(auditd, hex_encoded_argument_is_no_container)
{
    ct_record r = {0};

    /* the file has no trailing newline */
    auditd_fixture_line("host-logs/auditd/beats_execve-hex-arg.log", 1, &r);
    expect_str(r.kind, "auditd.EXECVE");
    expect_str(r.host, NULL);
    expect_str(r.container, NULL); /* upper-case hex is an encoding */
    cr_expect_eq(r.ts_ns, 1669615313901000000LL);
    ct_record_release(&r);
}

Test(auditd, serial_wrap_does_not_matter)
{
    ct_record r = {0};

    auditd_fixture_line("host-logs/auditd/go-libaudit_rollover.log", 2, &r); /* :4294967295 */
    cr_expect_eq(r.ts_ns, 1492037298883000000LL);
    ct_record_release(&r);
    auditd_fixture_line("host-logs/auditd/go-libaudit_rollover.log", 3, &r); /* :0 */
    cr_expect_eq(r.ts_ns, 1492037298883000000LL);
    expect_str(r.kind, "auditd.SYSCALL");
    ct_record_release(&r);
}

Test(auditd, apparmor_docker_path_names_a_container)
{
    ct_record r = {0};

    auditd_fixture_line("host-logs/auditd/go-libaudit_ubuntu-16.04_apparmor_docker.log", 5, &r);
    expect_str(r.kind, "auditd.AVC");
    expect_str(r.container, "8087092ad17fa7433455dccab4f52b438ae032d22bf40a8d098c7235cfad53d8");
    cr_expect_eq(r.ts_ns, 1524849206224000000LL);
    ct_record_release(&r);
}

Test(auditd, nanosecond_fraction_and_unknown_type)
{
    ct_record r = {0};
    ct_error err = {0};
    const char *s = "type=UNKNOWN[1329] msg=audit(1481077043.123456789:410): x=1";

    cr_assert_eq(ct_auditd_parse(s, strlen(s), &r, &err), CT_OK, "%s", err.msg);
    expect_str(r.kind, "auditd.UNKNOWN[1329]");
    cr_expect_eq(r.ts_ns, 1481077043123456789LL);
    ct_record_release(&r);
}

static const struct {
    const char *name, *line;
} bad_auditd[] = {
    {"empty", ""},
    {"no type", "msg=audit(1.1:1): x"},
    {"empty type", "type= msg=audit(1.1:1): x"},
    {"node only", "node=h type=X"},
    {"no stamp (rhel7 fixture line 31)", "type=UNKNOWN[1329] msg=?"},
    {"stamp not numeric", "type=X msg=audit(abc): x"},
    {"stamp not closed", "type=X msg=audit(1.1:1"},
    {"no serial", "type=X msg=audit(1.1): x"},
    {"12-digit seconds", "type=X msg=audit(123456789012.1:1): x"},
    {"10-digit fraction", "type=X msg=audit(1.1234567890:1): x"},
};

Test(auditd, rejects_bad_lines)
{
    for (size_t i = 0; i < sizeof(bad_auditd) / sizeof(bad_auditd[0]); i++) {
        const char *s = bad_auditd[i].line;
        ct_record r = {0};
        ct_error err = {0};
        ct_status rc = ct_auditd_parse(s, strlen(s), &r, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %d", bad_auditd[i].name, (int)rc);
        cr_expect(err.msg[0] != '\0', "%s: no reason", bad_auditd[i].name);
        cr_expect(r.kind == NULL && r.raw == NULL, "%s: output touched", bad_auditd[i].name);
    }
}

/* ---- Docker json-file container logs ---- */

static void clog_fixture_line(const char *fixture, unsigned n, ct_record *rec)
{
    size_t len, llen;
    char *buf = fixture_read(fixture, &len);
    const char *line = line_of(buf, len, n, &llen);
    json_t *obj = json_of(line, llen);
    ct_error err = {0};

    cr_assert_eq(ct_container_log_parse(obj, line, llen, rec, &err), CT_OK, "%s:%u: %s", fixture, n,
                 err.msg);
    cr_assert_eq(rec->source, CT_SRC_CONTAINER_LOG);
    expect_raw(rec, line, llen);
    json_decref(obj);
    free(buf);
}

#define CORRUPTED "host-logs/container-json/beats_docker_corrupted.log"

Test(container_log, json_file_lines)
{
    ct_record r = {0};

    clog_fixture_line(CORRUPTED, 1, &r);
    expect_str(r.kind, "container_log.stdout");
    cr_expect_eq(r.ts_ns, 1456959531338462311LL);
    expect_str(r.container, NULL); /* the file path names it, not the line */
    ct_record_release(&r);

    clog_fixture_line(CORRUPTED, 12, &r); /* 8-digit fraction "04.66649744Z" */
    cr_expect_eq(r.ts_ns, 1456959544666497440LL);
    ct_record_release(&r);

    clog_fixture_line("host-logs/container-json/fluent-bit_k8s_stdout_stderr.log", 2, &r);
    expect_str(r.kind, "container_log.stderr");
    cr_expect_eq(r.ts_ns, 1554141513698656444LL);
    ct_record_release(&r);
}

Test(container_log, escaped_json_payload_kept_verbatim)
{
    ct_record r = {0};
    char *raw;

    clog_fixture_line("host-logs/container-json/fluent-bit_k8s_unescaping_json.log", 1, &r);
    cr_expect_eq(r.ts_ns, 1554141513598656444LL);
    raw = strndup(r.raw, r.raw_len);
    cr_assert_not_null(raw);
    /* seven backslashes and a quote, as in the file */
    cr_expect(strstr(raw, "{\\\\\\\\\\\\\\\"stringified-json") != NULL, "escapes were rewritten");
    free(raw);
    ct_record_release(&r);
}

Test(container_log, log_only_pieces_take_parse_time)
{
    ct_record r = {0};
    int64_t before = ct_time_now_ns(), after;

    clog_fixture_line("host-logs/container-json/fluent-bit_tail_dockermode_split_lines.log", 4,
                      &r); /* {"log":"third "}: a partial message */
    after = ct_time_now_ns();
    expect_str(r.kind, "container_log.line");
    cr_expect(r.ts_ns >= before && r.ts_ns <= after);
    ct_record_release(&r);
}

static const struct {
    const char *name, *json;
} bad_clog[] = {
    {"array", "[\"x\"]"},
    {"no log", "{\"stream\":\"stdout\",\"time\":\"2016-03-02T22:58:51Z\"}"},
    {"log not a string", "{\"log\":1,\"stream\":\"stdout\"}"},
    {"unknown stream", "{\"log\":\"x\\n\",\"stream\":\"stdin\"}"},
    {"stream not a string", "{\"log\":\"x\\n\",\"stream\":1}"},
    {"time not a string", "{\"log\":\"x\\n\",\"time\":1456959531}"},
    {"time not RFC 3339", "{\"log\":\"x\\n\",\"time\":\"yesterday\"}"},
};

Test(container_log, rejects_bad_lines)
{
    for (size_t i = 0; i < sizeof(bad_clog) / sizeof(bad_clog[0]); i++) {
        const char *s = bad_clog[i].json;
        json_t *obj = json_of(s, strlen(s));
        ct_record r = {0};
        ct_error err = {0};
        ct_status rc = ct_container_log_parse(obj, s, strlen(s), &r, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %d", bad_clog[i].name, (int)rc);
        cr_expect(err.msg[0] != '\0', "%s: no reason", bad_clog[i].name);
        cr_expect(r.kind == NULL && r.raw == NULL, "%s: output touched", bad_clog[i].name);
        json_decref(obj);
    }
}

Test(container_log, corrupted_line_rejected_rest_kept)
{
    size_t len, llen;
    char *buf = fixture_read(CORRUPTED, &len);
    collected c = {0};

    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 20);
    cr_assert_eq(c.n_rej, 1);
    cr_expect_eq(c.rej[0].where, 7);
    for (unsigned i = 0; i < c.n; i++) {
        unsigned line = i + 1 + (i >= 6); /* line 7 is gone */
        const char *p = line_of(buf, len, line, &llen);

        expect_raw(&c.recs[i], p, llen);
        expect_str(c.recs[i].kind, "container_log.stdout");
    }
    collected_free(&c);
    free(buf);
}
