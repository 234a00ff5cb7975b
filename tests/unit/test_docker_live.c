/*
 * tests/unit/test_docker_live.c - the live Docker collector's byte-level parts
 * (collector/docker_records.c): the /events line splitter and the records the
 * collector makes itself.  The list entries are real GET /containers/json
 * answers of dockerd 20.10 and Podman 4.3 (captured on the test peers).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"

#include "docker_live.h"

/* ---- lines ---- */

typedef struct got {
    char *lines[64];
    size_t n;
    size_t toolong[8];
    size_t n_toolong;
} got;

static void got_line(void *ctx, const char *s, size_t len)
{
    got *g = ctx;

    cr_assert_lt(g->n, 64);
    g->lines[g->n] = malloc(len + 1);
    memcpy(g->lines[g->n], s, len);
    g->lines[g->n][len] = '\0';
    g->n++;
}

static void got_toolong(void *ctx, size_t seen)
{
    got *g = ctx;

    cr_assert_lt(g->n_toolong, 8);
    g->toolong[g->n_toolong++] = seen;
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->lines[i]);
    memset(g, 0, sizeof(*g));
}

/* Feed s in pieces of step bytes. */
static void feed(dl_lines *lb, const char *s, size_t step, got *g)
{
    size_t len = strlen(s);

    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;

        cr_assert_eq(dl_lines_feed(lb, s + off, n, got_line, got_toolong, g), 0);
    }
}

Test(lines, same_lines_whatever_the_read_boundaries)
{
    const char *in = "{\"a\":1}\n{\"b\":22}\r\n\n{\"c\":333}\npartial";

    for (size_t step = 1; step <= strlen(in); step++) {
        dl_lines lb;
        got g = {0};

        dl_lines_init(&lb, 0);
        feed(&lb, in, step, &g);
        cr_assert_eq(g.n, 4, "step %zu: %zu lines", step, g.n);
        cr_expect_str_eq(g.lines[0], "{\"a\":1}");
        cr_expect_str_eq(g.lines[1], "{\"b\":22}", "step %zu: CR kept", step);
        cr_expect_str_eq(g.lines[2], "");
        cr_expect_str_eq(g.lines[3], "{\"c\":333}");
        cr_expect_eq(lb.len, strlen("partial"), "step %zu: the partial line waits", step);
        cr_expect_eq(g.n_toolong, 0);
        dl_lines_release(&lb);
        got_free(&g);
    }
}

Test(lines, over_long_line_dropped_and_stream_resynchronised)
{
    /* max 8: "0123456789" (10) is too long, in any chunking */
    const char *in = "ok\n0123456789\nfine\n";

    for (size_t step = 1; step <= strlen(in); step++) {
        dl_lines lb;
        got g = {0};

        dl_lines_init(&lb, 8);
        feed(&lb, in, step, &g);
        cr_assert_eq(g.n, 2, "step %zu: %zu lines", step, g.n);
        cr_expect_str_eq(g.lines[0], "ok");
        cr_expect_str_eq(g.lines[1], "fine", "step %zu: not resynchronised", step);
        cr_expect_eq(g.n_toolong, 1, "step %zu: reported %zu times", step, g.n_toolong);
        cr_expect_gt(g.toolong[0], 8);
        cr_expect_eq(lb.dropped, 1);
        cr_expect_eq(lb.len, 0);
        dl_lines_release(&lb);
        got_free(&g);
    }
}

Test(lines, exactly_max_is_kept)
{
    dl_lines lb;
    got g = {0};

    dl_lines_init(&lb, 8);
    feed(&lb, "01234567\n012345678\nx\n", 3, &g);
    cr_assert_eq(g.n, 2);
    cr_expect_str_eq(g.lines[0], "01234567");
    cr_expect_str_eq(g.lines[1], "x");
    cr_expect_eq(g.n_toolong, 1);
    dl_lines_release(&lb);
    got_free(&g);
}

Test(lines, never_ending_line_stays_bounded)
{
    dl_lines lb;
    got g = {0};
    char chunk[4096];

    memset(chunk, 'z', sizeof(chunk));
    dl_lines_init(&lb, 10000);
    for (int i = 0; i < 1000; i++) /* 4 MB, no newline */
        cr_assert_eq(dl_lines_feed(&lb, chunk, sizeof(chunk), got_line, got_toolong, &g), 0);
    cr_expect_eq(g.n, 0);
    cr_expect_eq(g.n_toolong, 1, "reported once, not per chunk");
    cr_expect_lt(lb.cap, 20000, "buffer grew to %zu", lb.cap);
    cr_expect(lb.skipping);
    feed(&lb, "tail\n{\"after\":1}\n", 5, &g);
    cr_assert_eq(g.n, 1);
    cr_expect_str_eq(g.lines[0], "{\"after\":1}");
    dl_lines_release(&lb);
    got_free(&g);
}

Test(lines, reset_drops_the_partial_line)
{
    dl_lines lb;
    got g = {0};

    dl_lines_init(&lb, 0);
    feed(&lb, "{\"half\":", 100, &g);
    dl_lines_reset(&lb); /* the connection broke */
    feed(&lb, "{\"whole\":1}\n", 100, &g);
    cr_assert_eq(g.n, 1);
    cr_expect_str_eq(g.lines[0], "{\"whole\":1}");
    dl_lines_release(&lb);
    got_free(&g);
}

/* ---- container.discovered ---- */

static const char dockerd_entry[] =
    "{\"Id\":\"5af58ae22fcd154e8a4c3eecb6373a34cb571d04eb596b5d2f1ac32301a08b30\",\"Names\":["
    "\"/web-1\"],\"Image\":\"localhost/mini:1\",\"ImageID\":\"sha256:6c12941adb3dd4c2a4d4328a63a"
    "0b8e478d7747e3c610b1f53580d08d920e0a6\",\"Command\":\"sleep 100\",\"Created\":1795606222,"
    "\"Ports\":[],\"Labels\":{\"app\":\"web\",\"io.kubernetes.pod.name\":\"web-abc\","
    "\"io.kubernetes.pod.namespace\":\"shop\"},\"State\":\"created\",\"Status\":\"Created\","
    "\"HostConfig\":{\"NetworkMode\":\"none\"},\"NetworkSettings\":{\"Networks\":{\"none\":{"
    "\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"NetworkID\":\"\",\"EndpointID\":\"\","
    "\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\","
    "\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"\",\"DriverOpts\":"
    "null}}},\"Mounts\":[]}";

static const char podman_entry[] =
    "{\"Id\":\"fad573be9c5d3e3d339a07fea3cf9f5f917017dcd028d724bd23d2e7b6369151\",\"Names\":["
    "\"/web-2\"],\"Image\":\"localhost/mini:1\",\"ImageID\":\"sha256:2950dcadb4103f13e02e0e303e"
    "792d00a6da642afb469aead67f1e417cf36a89\",\"Command\":\"sleep 100\",\"Created\":1795606226,"
    "\"Ports\":[],\"Labels\":{\"app\":\"web\"},\"State\":\"created\",\"Status\":\"Created\","
    "\"NetworkSettings\":{\"Networks\":null},\"Mounts\":[],\"Name\":\"\",\"Config\":null,"
    "\"NetworkingConfig\":null,\"Platform\":null,\"AdjustCPUShares\":false}";

static json_t *details_of(const ct_record *r)
{
    json_t *d;

    cr_assert_not_null(r->facts);
    cr_assert_not_null(r->facts->details);
    d = json_loads(r->facts->details, 0, NULL);
    cr_assert_not_null(d, "details are not json: %s", r->facts->details);
    return d;
}

Test(discovered, dockerd_list_entry)
{
    json_t *v = json_loads(dockerd_entry, 0, NULL);
    ct_record r = {0};
    ct_error err = {0};
    json_t *d;

    cr_assert_not_null(v);
    cr_assert_eq(dl_discovered_parse(v, dockerd_entry, strlen(dockerd_entry), 42, &r, &err), CT_OK,
                 "%s", err.msg);
    cr_expect_str_eq(r.kind, "container.discovered");
    cr_expect_eq(r.source, CT_SRC_DOCKER);
    cr_expect_eq(r.ts_ns, 42);
    cr_expect_str_eq(r.container,
                     "5af58ae22fcd154e8a4c3eecb6373a34cb571d04eb596b5d2f1ac32301a08b30");
    cr_expect_str_eq(r.name, "web-1");
    cr_expect_str_eq(r.image, "localhost/mini:1");
    cr_expect_str_eq(r.pod_ns, "shop");
    cr_expect_str_eq(r.pod_name, "web-abc");
    cr_expect_null(r.dedup);
    cr_assert_eq(r.raw_len, strlen(dockerd_entry));
    cr_expect_eq(memcmp(r.raw, dockerd_entry, r.raw_len), 0, "raw is not the entry's bytes");
    cr_expect_str_eq(r.facts->id, r.container);
    cr_expect_str_eq(r.facts->name, "web-1");
    cr_expect_str_eq(r.facts->state, "created");
    cr_expect_str_eq(r.facts->image_id,
                     "sha256:6c12941adb3dd4c2a4d4328a63a0b8e478d7747e3c610b1f53580d08d920e0a6");
    cr_expect_eq(r.facts->created_ns, 0, "whole seconds must not beat the inspect's time");
    cr_expect_str_eq(r.facts->pod_ns, "shop");
    d = details_of(&r);
    cr_expect_str_eq(json_string_value(json_object_get(d, "command")), "sleep 100");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "labels"), "app")),
                     "web");
    cr_expect_null(json_object_get(json_object_get(d, "labels"), "io.kubernetes.pod.name"));
    json_decref(d);
    ct_record_release(&r);
    json_decref(v);
}

Test(discovered, podman_list_entry)
{
    json_t *v = json_loads(podman_entry, 0, NULL);
    ct_record r = {0};
    ct_error err = {0};

    cr_assert_eq(dl_discovered_parse(v, podman_entry, strlen(podman_entry), 7, &r, &err), CT_OK,
                 "%s", err.msg);
    cr_expect_str_eq(r.name, "web-2");
    cr_expect_null(r.pod_ns);
    cr_expect_str_eq(r.facts->state, "created");
    ct_record_release(&r);
    json_decref(v);
}

Test(discovered, rejects_what_is_not_an_entry)
{
    static const char *const bad[] = {"[]", "\"x\"", "{\"Names\":[\"/a\"]}", "{\"Id\":\"\"}",
                                      "{\"Id\":42}"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        ct_record r = {0};
        ct_error err = {0};

        cr_assert_not_null(v);
        cr_expect_eq(dl_discovered_parse(v, bad[i], strlen(bad[i]), 1, &r, &err), CT_ERR_PARSE,
                     "%s accepted", bad[i]);
        cr_expect(err.msg[0] != '\0');
        cr_expect_null(r.kind, "%s: output touched", bad[i]);
        json_decref(v);
    }
}

/* ---- gone before inspect ---- */

Test(gone, container_404_keeps_the_engine_message)
{
    static const char body[] = "{\"message\":\"No such container: abc\"}\n";
    ct_record r = {0};
    ct_error err = {0};
    json_t *raw;

    cr_assert_eq(dl_gone_record("abc", NULL, "start", 404, body, strlen(body), 99, &r, &err), CT_OK,
                 "%s", err.msg);
    cr_expect_str_eq(r.kind, "container.gone_before_inspect");
    cr_expect_eq(r.source, CT_SRC_INSPECT);
    cr_expect_str_eq(r.container, "abc");
    cr_expect_eq(r.ts_ns, 99);
    cr_expect_null(r.facts);
    raw = json_loadb(r.raw, r.raw_len, 0, NULL);
    cr_assert_not_null(raw);
    cr_expect_str_eq(json_string_value(json_object_get(raw, "Id")), "abc");
    cr_expect_str_eq(json_string_value(json_object_get(raw, "trigger")), "start");
    cr_expect_eq(json_integer_value(json_object_get(raw, "status")), 404);
    cr_expect_str_eq(json_string_value(json_object_get(raw, "message")), "No such container: abc");
    json_decref(raw);
    ct_record_release(&r);
}

Test(gone, exec_404_with_a_body_that_is_not_json)
{
    ct_record r = {0};
    ct_error err = {0};
    json_t *raw;

    cr_assert_eq(dl_gone_record("abc", "e1", "exec_start", 404, "<html>", 6, 5, &r, &err), CT_OK);
    cr_expect_str_eq(r.kind, "exec.gone_before_inspect");
    cr_expect_str_eq(r.container, "abc");
    raw = json_loadb(r.raw, r.raw_len, 0, NULL);
    cr_assert_not_null(raw);
    cr_expect_str_eq(json_string_value(json_object_get(raw, "ExecID")), "e1");
    cr_expect_null(json_object_get(raw, "message"));
    json_decref(raw);
    ct_record_release(&r);
}

/* ---- exec facts ---- */

static char *fixture(const char *rel, size_t *len)
{
    const char *dir = getenv("CTRAIL_FIXTURES");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    cr_assert_not_null(dir, "CTRAIL_FIXTURES is not set");
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    *len = (size_t)n;
    return buf;
}

Test(exec_facts, command_user_and_flags_keyed_by_exec_id)
{
    size_t len;
    char *buf = fixture("docker-exec/captured-dockerd-20.10_exec-inspect.json", &len);
    json_t *v = json_loadb(buf, len, 0, NULL), *d, *one;
    ct_record r = {0};
    ct_error err = {0};

    cr_assert_not_null(v);
    cr_assert_eq(ct_inspect_parse(v, buf, len, &r, &err), CT_OK, "%s", err.msg);
    cr_assert_str_eq(r.kind, "exec.inspect");
    cr_assert_eq(dl_exec_facts(&r, v), 0);
    cr_assert_not_null(r.facts);
    cr_expect_str_eq(r.facts->id,
                     "5ace081d065e1e254a6cbf80c2d862772793d7973c680b178df9ff0e13a79e2e");
    cr_expect_eq(r.facts->privileged, CT_PRIV_UNKNOWN, "an exec says nothing of its container");
    d = details_of(&r);
    cr_expect_str_eq(json_string_value(json_object_get(d, "last_exec")), "cat /etc/passwd");
    one = json_object_get(json_object_get(d, "execs"),
                          "98df02412da6da7f14ec1657f9081ec66782c96f100e2c193c29d46aa03f80ca");
    cr_assert_not_null(one);
    cr_expect_str_eq(json_string_value(json_object_get(one, "command")), "cat /etc/passwd");
    cr_expect(json_is_false(json_object_get(one, "privileged")));
    cr_expect(json_is_false(json_object_get(one, "tty")));
    json_decref(d);
    ct_record_release(&r);
    json_decref(v);
    free(buf);
}

Test(exec_facts, podman_shape_with_user)
{
    static const char s[] =
        "{\"CanRemove\":true,\"ContainerID\":\"ea98645b6994e586599bcf92f7f6ac0943a5e22ba338c35df"
        "636585c8d956737\",\"DetachKeys\":\"\",\"ExitCode\":0,\"ID\":\"b19ac6f38a98a655f5f17e395"
        "7c69bb792c9e7879c87e947b04a635ef04e36a4\",\"OpenStderr\":true,\"OpenStdin\":false,"
        "\"OpenStdout\":true,\"Running\":false,\"Pid\":0,\"ProcessConfig\":{\"arguments\":[\"-c\","
        "\"id\"],\"entrypoint\":\"sh\",\"privileged\":true,\"tty\":false,\"user\":\"root\"}}";
    json_t *v = json_loads(s, 0, NULL), *d, *one;
    ct_record r = {0};
    ct_error err = {0};

    cr_assert_eq(ct_inspect_parse(v, s, strlen(s), &r, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(dl_exec_facts(&r, v), 0);
    d = details_of(&r);
    cr_expect_str_eq(json_string_value(json_object_get(d, "last_exec")), "sh -c id");
    one = json_object_get(json_object_get(d, "execs"),
                          "b19ac6f38a98a655f5f17e3957c69bb792c9e7879c87e947b04a635ef04e36a4");
    cr_expect_str_eq(json_string_value(json_object_get(one, "user")), "root");
    cr_expect(json_is_true(json_object_get(one, "privileged")));
    json_decref(d);
    ct_record_release(&r);
    json_decref(v);
}

/* ---- API version ---- */

Test(api, prefix_follows_the_engine_up_to_our_newest)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}", "/v1.41"},
        {"{\"ApiVersion\":\"1.24\"}", "/v1.24"},
        {"{\"ApiVersion\":\"1.52\",\"MinAPIVersion\":\"1.44\"}", "/v1.47"},
        {"{\"ApiVersion\":\"2.0\"}", "/v1.47"},
        {"{\"Version\":\"fake\"}", ""},
        {"{\"ApiVersion\":\"latest\"}", ""},
        {"not json", ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];

        dl_api_prefix(cases[i].body, strlen(cases[i].body), out, sizeof(out));
        cr_expect_str_eq(out, cases[i].want, "%s", cases[i].body);
    }
}
