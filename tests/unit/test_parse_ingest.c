/*
 * tests/unit/test_parse_ingest.c - ct_ingest_buffer on JSON input:
 * detection (lines or documents), line numbers, bad input, options.
 *
 * A bad item must be reported through the reject callback with the line
 * (frame, document) where it starts, and every good item around it must
 * still reach the sink with its exact bytes.  The inputs are small inline
 * texts plus the otel stream with garbage lines and the captured dockerd
 * stream.  Line, frame and syslog file input is in test_parse_lines.c.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"

#include "parse_helpers.h"

#define E1 "{\"status\":\"start\",\"id\":\"aaa\",\"from\":\"img\",\"time\":1700000001}"
#define E2 "{\"status\":\"stop\",\"id\":\"aaa\",\"from\":\"img\",\"time\":1700000002}"
#define E3 "{\"status\":\"die\",\"id\":\"aaa\",\"from\":\"img\",\"time\":1700000003}"

Test(ingest, empty_and_blank_input)
{
    collected c = {0};

    ingest_auto(&c, "", 0);
    cr_expect_eq(c.n + c.n_rej, 0);
    ingest_str(&c, "\n\n  \r\n\t\n");
    cr_expect_eq(c.n + c.n_rej, 0);
    ingest_str(&c, "\xEF\xBB\xBF");
    cr_expect_eq(c.n + c.n_rej, 0);
    collected_free(&c);
}

Test(ingest, json_lines_truncated_line_in_the_middle)
{
    collected c = {0};
    static const uint64_t want[] = {2};

    ingest_str(&c, E1 "\n{\"status\":\"start\",\"id\n" E2 "\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], E1);
    expect_raw_str(&c.recs[1], E2);
    collected_free(&c);
}

/* A log that starts with a damaged line (the head cut off by a crash or by
 * copytruncate) must not cost the good lines after it. */
Test(ingest, json_lines_truncated_first_line)
{
    collected c = {0};
    static const uint64_t want[] = {1, 4};

    ingest_str(&c, "{\"status\":\"start\",\"id\":\"aa\n" E1 "\n" E2 "\n{\"status\":\n" E3 "\n");
    expect_rejects(&c, want, 2);
    cr_assert_eq(c.n, 3);
    expect_raw_str(&c.recs[0], E1);
    expect_raw_str(&c.recs[1], E2);
    expect_raw_str(&c.recs[2], E3);
    collected_free(&c);
}

/* ...but a valid document whose second line happens to be a whole value is
 * still one document. */
Test(ingest, compact_document_is_not_json_lines)
{
    collected c = {0};

    ingest_str(&c, "[" E1 ",\n" E2 "\n]\n");
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[1], E2);
    collected_free(&c);
}

Test(ingest, truncated_last_line_without_newline)
{
    collected c = {0};
    static const uint64_t want[] = {3};

    ingest_str(&c, E1 "\n" E2 "\n{\"status\":\"x");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    collected_free(&c);
}

Test(ingest, last_line_without_newline_is_kept)
{
    collected c = {0};

    ingest_str(&c, E1 "\n" E2);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[1], E2);
    collected_free(&c);

    ingest_str(&c, "Feb 21 21:54:44 h a: one\nFeb 21 21:54:45 h a: two");
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[1], "Feb 21 21:54:45 h a: two");
    collected_free(&c);
}

Test(ingest, invalid_utf8)
{
    collected c = {0};
    static const uint64_t want[] = {2};
    const char text[] = "Feb 21 21:54:44 h a: caf\xE9 \xFF\n";

    /* in JSON it cannot be decoded: rejected */
    ingest_str(&c, E1 "\n{\"status\":\"st\xFF\",\"id\":\"a\",\"time\":1}\n" E2 "\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    collected_free(&c);

    /* a log line is bytes: kept exactly as written */
    ingest_str(&c, text);
    cr_assert_eq(c.n, 1);
    cr_expect_eq(c.recs[0].source, CT_SRC_SYSLOG);
    expect_raw(&c.recs[0], text, sizeof(text) - 2);
    collected_free(&c);
}

#define BIG (20u << 20) /* 20 MiB */

static void put(char *buf, size_t *n, const char *s, size_t len)
{
    memcpy(buf + *n, s, len);
    *n += len;
}

Test(ingest, twenty_megabyte_lines)
{
    collected c = {0};
    static const uint64_t want[] = {2};
    const char *head = "{\"log\":\"", *tail = "\\n\",\"stream\":\"stdout\"}\n";
    char *buf = malloc(BIG + 1024);
    size_t n = 0, big_start, big_end;

    cr_assert_not_null(buf);
    /* line 2: 20 MiB of garbage between good lines */
    put(buf, &n, E1 "\n", strlen(E1) + 1);
    memset(buf + n, 'x', BIG);
    n += BIG;
    put(buf, &n, "\n" E2 "\n", strlen(E2) + 2);
    ingest_auto(&c, buf, n);
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[1], E2);
    collected_free(&c);

    /* line 2: one valid 20 MiB container log line, kept whole */
    n = strlen(E1) + 1;
    big_start = n;
    put(buf, &n, head, strlen(head));
    memset(buf + n, 'y', BIG);
    n += BIG;
    put(buf, &n, tail, strlen(tail));
    big_end = n - 1; /* before the LF */
    put(buf, &n, E2 "\n", strlen(E2) + 1);
    ingest_auto(&c, buf, n);
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 3);
    expect_str(c.recs[1].kind, "container_log.stdout");
    expect_raw(&c.recs[1], buf + big_start, big_end - big_start);
    expect_raw_str(&c.recs[2], E2);
    collected_free(&c);
    free(buf);
}

Test(ingest, json_values_that_are_not_objects)
{
    collected c = {0};
    static const uint64_t want[] = {2, 3, 3, 4, 5};

    ingest_str(&c, E1 "\n42\n[1,\"x\"]\n\"str\"\nnull\n" E2 "\n");
    expect_rejects(&c, want, 5);
    cr_assert_eq(c.n, 2);
    collected_free(&c);
}

Test(ingest, top_level_scalars_with_a_json_format)
{
    static const char *const inputs[] = {"42\n", "\"a string\"\n", "[1, 2]\n", "true"};
    static const size_t n_rej[] = {1, 1, 2, 1};

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        collected c = {0};

        ingest_fmt(&c, inputs[i], strlen(inputs[i]), CT_FMT_DOCKER, 0);
        cr_expect_eq(c.n, 0, "'%s' gave a record", inputs[i]);
        cr_expect_eq(c.n_rej, n_rej[i], "'%s': %zu rejects", inputs[i], c.n_rej);
        cr_expect(c.n_rej == 0 || c.rej[0].where == 1);
        collected_free(&c);
    }
}

/* Detection reads only input starting with '{' or '[' as JSON: a bare
 * number is a line of text, by design. */
Test(ingest, bare_number_in_auto_is_text)
{
    collected c = {0};

    ingest_fmt(&c, "42\n", 3, CT_FMT_AUTO, 777);
    cr_assert_eq(c.n, 1);
    cr_expect_eq(c.recs[0].source, CT_SRC_TEXT);
    expect_str(c.recs[0].kind, "text.line");
    cr_expect_eq(c.recs[0].ts_ns, 777); /* no time in it: the reference time */
    collected_free(&c);
}

Test(ingest, bytes_after_the_value_on_a_line)
{
    collected c = {0};
    static const uint64_t want[] = {2, 3};

    ingest_str(&c, E1 "\n" E2 " trailing\n" E2 " " E3 "\n" E3 "\n");
    expect_rejects(&c, want, 2);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], E1);
    expect_raw_str(&c.recs[1], E3);
    collected_free(&c);
}

Test(ingest, kind_zero_among_good_lines)
{
    collected c = {0};
    static const uint64_t want[] = {2};

    ingest_str(&c, E1 "\n{\"kind\":0}\n" E2 "\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    collected_free(&c);
}

Test(ingest, crlf_json_lines)
{
    collected c = {0};
    static const uint64_t want[] = {3};

    ingest_str(&c, E1 "\r\n\r\n{bad\r\n" E2 "\r\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], E1); /* no CR in raw */
    expect_raw_str(&c.recs[1], E2);
    collected_free(&c);
}

Test(ingest, bom_before_json_lines_and_log_lines)
{
    collected c = {0};
    static const uint64_t want[] = {2};

    ingest_str(&c, "\xEF\xBB\xBF" E1 "\n{\n" E2 "\n");
    expect_rejects(&c, want, 1); /* line numbers count from the BOM's line */
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], E1);
    collected_free(&c);

    ingest_str(&c, "\xEF\xBB\xBF"
                   "Feb 21 21:54:44 h a: x\n");
    cr_assert_eq(c.n, 1);
    cr_expect_eq(c.recs[0].source, CT_SRC_SYSLOG);
    expect_raw_str(&c.recs[0], "Feb 21 21:54:44 h a: x");
    collected_free(&c);
}

Test(ingest, pretty_documents_reject_from_the_bad_one)
{
    collected c = {0};
    static const uint64_t want[] = {5};

    ingest_str(&c, "{\n  \"Action\": \"start\",\n  \"time\": 1\n}\n{\n  \"Action\": \"stop\",\n  "
                   "\"time\": \n}\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 1);
    expect_raw_str(&c.recs[0], "{\n  \"Action\": \"start\",\n  \"time\": 1\n}");
    expect_str(c.recs[0].kind, "container.start");
    collected_free(&c);
}

Test(ingest, array_document_elements_at_their_lines)
{
    collected c = {0};
    static const uint64_t want[] = {3, 5};

    ingest_str(&c, "[\n  " E1 ",\n  42,\n  " E2 ",\n  {\"x\": 1}\n]\n");
    expect_rejects(&c, want, 2);
    cr_assert_eq(c.n, 2);
    expect_raw_str(&c.recs[0], E1);
    expect_raw_str(&c.recs[1], E2);
    collected_free(&c);
}

Test(ingest, damaged_array_keeps_its_good_head)
{
    collected c = {0};
    static const uint64_t want[] = {4};

    ingest_str(&c, "[\n" E1 ",\n" E2 ",\n{\"a\":\n");
    expect_rejects(&c, want, 1);
    cr_assert_eq(c.n, 2);
    collected_free(&c);
}

Test(ingest, nesting_too_deep)
{
    collected c = {0};

    ingest_str(&c, "[[[[[[[[[[" E1 "]]]]]]]]]]\n");
    cr_expect_eq(c.n, 0);
    cr_expect_eq(c.n_rej, 1);
    collected_free(&c);
}

Test(ingest, otel_stream_with_garbage_lines)
{
    size_t len;
    char *buf =
        fixture_read("docker-events/otel-dockerstats_mock_events2_with_garbage.jsonl", &len);
    collected c = {0};
    static const uint64_t want[] = {3, 4, 5};

    ingest_auto(&c, buf, len);
    expect_rejects(&c, want, 3);
    cr_assert_eq(c.n, 2);
    expect_str(c.recs[0].kind, "volume.destroy");
    expect_str(c.recs[1].kind, "daemon.start");
    collected_free(&c);
    free(buf);
}

Test(ingest, lifecycle_stream_every_line_exact)
{
    size_t len, llen;
    char *buf = fixture_read("docker-events/captured-dockerd-20.10_lifecycle.jsonl", &len);
    collected c = {0};

    ingest_auto(&c, buf, len);
    cr_expect_eq(c.n_rej, 0);
    cr_assert_eq(c.n, 72);
    for (unsigned i = 0; i < c.n; i++) {
        const char *line = line_of(buf, len, i + 1, &llen);

        expect_raw(&c.recs[i], line, llen);
        cr_expect_eq(c.recs[i].ingest_ns, TEST_INGEST_NS);
        cr_expect(i == 0 || c.recs[i].ts_ns >= c.recs[i - 1].ts_ns, "line %u goes back", i + 1);
    }
    collected_free(&c);
    free(buf);
}

/* ---- options and errors ---- */

Test(ingest, default_host_and_ingest_time)
{
    collected c = {0};
    ct_ingest_opts o = test_opts(&c, CT_FMT_AUTO, 0);
    ct_error err = {0};
    const char *s = "type=X msg=audit(1.5:1): y\nnode=n1 type=X msg=audit(1.5:2): y\n";

    o.host = "collector-7";
    cr_assert_eq(ct_ingest_buffer(s, strlen(s), &o, NULL, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(c.n, 2);
    expect_str(c.recs[0].host, "collector-7");
    expect_str(c.recs[1].host, "n1"); /* the record's own host wins */
    cr_expect_eq(c.recs[0].ingest_ns, TEST_INGEST_NS);
    collected_free(&c);
}

static ct_status failing_sink(void *ctx, ct_record *rec, ct_error *err)
{
    int *calls = ctx;

    (void)rec;
    if (++*calls == 2)
        return ct_error_set(err, CT_ERR_IO, 0, "disk full");
    return CT_OK;
}

Test(ingest, sink_error_stops_the_input)
{
    collected c = {0};
    ct_ingest_opts o = test_opts(&c, CT_FMT_AUTO, 0);
    ct_ingest_stats st = {0};
    ct_error err = {0};
    int calls = 0;
    const char *s = E1 "\n" E2 "\n" E3 "\n{bad\n";

    o.sink = failing_sink;
    o.sink_ctx = &calls;
    cr_expect_eq(ct_ingest_buffer(s, strlen(s), &o, &st, &err), CT_ERR_IO);
    cr_expect_eq(calls, 2);
    cr_expect_eq(st.accepted, 1);
    cr_expect_eq(c.n_rej, 0, "nothing after the failure is judged");
    expect_str(err.msg, "disk full");
    collected_free(&c);
}

Test(ingest, bad_options)
{
    collected c = {0};
    ct_ingest_opts o = test_opts(&c, CT_FMT_AUTO, 0);
    ct_error err = {0};

    o.format = (ct_format)42;
    cr_expect_eq(ct_ingest_buffer("x\n", 2, &o, NULL, &err), CT_ERR_INVALID);
    o.format = CT_FMT_AUTO;
    o.sink = NULL;
    cr_expect_eq(ct_ingest_buffer("x\n", 2, &o, NULL, &err), CT_ERR_INVALID);
    o.sink = collect_sink;
    cr_expect_eq(ct_ingest_buffer(NULL, 2, &o, NULL, &err), CT_ERR_INVALID);
    cr_expect_eq(c.n + c.n_rej, 0);
    cr_expect_eq(ct_format_from_name("k8s-audit"), CT_FMT_K8S_AUDIT);
    cr_expect_eq(ct_format_from_name("inspect"), CT_FMT_INSPECT);
    cr_expect_eq(ct_format_from_name("yaml"), -1);
}

/* JSON lines of more than 256 KiB are parsed a batch ahead on a second
 * thread: records, rejects and their lines must be exactly those of the
 * serial read, whatever lands at a batch boundary. */
Test(ingest, parse_ahead_equals_the_serial_read)
{
    size_t cap = 2u << 20, len = 0;
    char *buf = malloc(cap);
    collected a = {0}, s = {0};
    ct_ingest_opts oa = test_opts(&a, CT_FMT_AUTO, 0), os = test_opts(&s, CT_FMT_AUTO, 0);
    ct_ingest_stats sa = {0}, ss = {0};
    ct_error err = {0};

    cr_assert_not_null(buf);
    for (unsigned i = 0; len + 512 < cap && i < 9000; i++) {
        int n;

        if (i % 50 == 7)
            n = snprintf(buf + len, cap - len, "%s", i % 100 == 7 ? "\n" : "   \r\n");
        else if (i % 97 == 5)
            n = snprintf(buf + len, cap - len, "{\"status\":\"start\",\"id\":\"c%u\n", i);
        else if (i % 131 == 3)
            n = snprintf(buf + len, cap - len,
                         "{\"status\":\"die\",\"id\":\"c%u\",\"time\":1700000000} trailing\n", i);
        else
            n = snprintf(buf + len, cap - len,
                         "{\"status\":\"%s\",\"id\":\"c%05u\",\"from\":\"img\",\"time\":%u,"
                         "\"Actor\":{\"Attributes\":{\"pad\":\"%0*u\"}}}%s\n",
                         i % 3 ? "start" : "die", i % 700, 1700000000u + i, (int)(i % 200),
                         i, i % 11 == 0 ? "\r" : "");
        cr_assert(n > 0);
        len += (size_t)n;
    }
    cr_assert_gt(len, 512u << 10, "only %zu bytes", len);
    os.serial = 1;
    cr_assert_eq(ct_ingest_buffer(buf, len, &oa, &sa, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(ct_ingest_buffer(buf, len, &os, &ss, &err), CT_OK, "%s", err.msg);
    cr_assert_gt(s.n, 8000);
    cr_assert_gt(s.n_rej, 100);
    cr_assert_eq(a.n, s.n, "%zu records parsed ahead, %zu serially", a.n, s.n);
    cr_assert_eq(a.n_rej, s.n_rej, "%zu rejects parsed ahead, %zu serially", a.n_rej, s.n_rej);
    cr_assert_eq(sa.accepted, ss.accepted);
    cr_assert_eq(sa.bytes, ss.bytes);
    for (size_t i = 0; i < s.n; i++) {
        cr_assert_eq(a.recs[i].raw_len, s.recs[i].raw_len, "record %zu", i);
        cr_assert(memcmp(a.recs[i].raw, s.recs[i].raw, s.recs[i].raw_len) == 0, "record %zu", i);
        cr_assert_eq(a.recs[i].ts_ns, s.recs[i].ts_ns, "record %zu", i);
    }
    for (size_t i = 0; i < s.n_rej; i++) {
        cr_assert_eq(a.rej[i].where, s.rej[i].where, "reject %zu", i);
        cr_assert_str_eq(a.rej[i].reason, s.rej[i].reason, "reject %zu", i);
    }
    collected_free(&a);
    collected_free(&s);
    free(buf);
}
