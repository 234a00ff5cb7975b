/*
 * tests/unit/test_parse_docker.c - ct_docker_event_parse on the real
 * fixtures (docker-events/): all three generations of /events objects,
 * Podman's names, and pretty-printed documents through ct_ingest_buffer.
 *
 * Expected values were read by hand from the fixture bytes; times were
 * converted to ns outside ctrail (python datetime).  Each parsed record's
 * raw must be the exact bytes handed in, never a re-serialisation.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"

#include "parse_helpers.h"

#define LIFECYCLE "docker-events/captured-dockerd-20.10_lifecycle.jsonl"
#define PODMAN    "docker-events/captured-podman-4.3_privileged-exec.jsonl"
#define WEB_ID    "5ace081d065e1e254a6cbf80c2d862772793d7973c680b178df9ff0e13a79e2e"
#define MINER_ID  "7e8768d3cc0a5bb3fd07ef5ebb62bd3bac24ea476f4277deef4ea03dfdae3103"

/* Parse line n of a fixture with ct_docker_event_parse; raw is the line. */
static void docker_line(const char *fixture, unsigned n, ct_record *rec)
{
    size_t len, llen;
    char *buf = fixture_read(fixture, &len);
    const char *line = line_of(buf, len, n, &llen);
    json_t *obj = json_of(line, llen);
    ct_error err = {0};
    ct_status rc = ct_docker_event_parse(obj, line, llen, rec, &err);

    cr_assert_eq(rc, CT_OK, "%s:%u: %s", fixture, n, err.msg);
    cr_assert_eq(rec->source, CT_SRC_DOCKER);
    expect_raw(rec, line, llen);
    json_decref(obj);
    free(buf);
}

Test(docker_event, new_and_legacy_fields_create)
{
    ct_record r = {0};

    docker_line(LIFECYCLE, 1, &r);
    cr_expect_eq(r.ts_ns, 1795588683244071492LL); /* timeNano, not time */
    expect_str(r.kind, "container.create");
    expect_str(r.container, WEB_ID);
    expect_str(r.name, "web-1");
    expect_str(r.image, "localhost/mini:1");
    expect_str(r.dedup, "1795588683244071492|" WEB_ID "|create");
    cr_assert_not_null(r.facts);
    expect_str(r.facts->id, WEB_ID);
    expect_str(r.facts->name, "web-1");
    expect_str(r.facts->image, "localhost/mini:1");
    expect_str(r.facts->state, "created");
    cr_expect_eq(r.facts->created_ns, 1795588683244071492LL);
    cr_expect_eq(r.facts->has_exit_code, 0);
    cr_expect_eq(r.facts->privileged, CT_PRIV_UNKNOWN);
    ct_record_release(&r);
}

Test(docker_event, network_event_names_the_container)
{
    ct_record r = {0};

    docker_line(LIFECYCLE, 2, &r);
    expect_str(r.kind, "network.connect");
    expect_str(r.container, WEB_ID); /* Attributes.container, not the network id */
    expect_str(r.name, NULL);
    cr_expect_null(r.facts, "a network event says nothing about the container catalog");
    cr_expect_eq(r.ts_ns, 1795588683260395187LL);
    ct_record_release(&r);
}

Test(docker_event, action_arguments_after_colon)
{
    ct_record r = {0};
    json_t *d;

    docker_line(LIFECYCLE, 4, &r); /* "exec_create: /bin/sh -c true" */
    expect_str(r.kind, "container.exec_create");
    expect_str(r.dedup, "1795588684709431205|" WEB_ID "|exec_create: /bin/sh -c true");
    d = details_of(r.facts);
    expect_str(json_string_value(json_object_get(d, "last_exec")), "/bin/sh -c true");
    json_decref(d);
    ct_record_release(&r);

    docker_line(LIFECYCLE, 7, &r); /* "health_status: healthy" */
    expect_str(r.kind, "container.health_status");
    cr_expect_eq(r.ts_ns, 1795588684803954880LL);
    ct_record_release(&r);
}

Test(docker_event, die_exit_codes_and_oom)
{
    ct_record r = {0};
    json_t *d;

    docker_line(LIFECYCLE, 67, &r);
    expect_str(r.kind, "container.die");
    expect_str(r.name, "wizardly_khorana");
    cr_assert_not_null(r.facts);
    cr_expect_eq(r.facts->has_exit_code, 1);
    cr_expect_eq(r.facts->exit_code, 3);
    cr_expect_eq(r.facts->died_ns, 1795588696877332778LL);
    expect_str(r.facts->state, "exited");
    ct_record_release(&r);

    docker_line(LIFECYCLE, 48, &r);
    expect_str(r.kind, "container.oom");
    expect_str(r.container, "b0f5f3bd3e5e4c6998d2f3a192320aff8e2b4e1a431c5fec078f0096fce48e1f");
    d = details_of(r.facts);
    cr_expect(json_is_true(json_object_get(d, "oom_killed")));
    json_decref(d);
    cr_expect_eq(r.facts->has_exit_code, 0);
    ct_record_release(&r);
}

Test(docker_event, rename_keeps_the_former_name)
{
    ct_record r = {0};
    json_t *d;

    docker_line(LIFECYCLE, 23, &r); /* rename /web-1 -> web-renamed */
    expect_str(r.kind, "container.rename");
    expect_str(r.name, "web-renamed");
    cr_assert_not_null(r.facts);
    expect_str(r.facts->name, "web-renamed");
    d = details_of(r.facts);
    /* the name without its '/', with the time it was left */
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "former_names"), "web-1")),
                     "2026-11-25T06:38:07.394260110Z");
    json_decref(d);
    ct_record_release(&r);
}

Test(docker_event, image_event_takes_name_for_digest_actor)
{
    ct_record r = {0};

    docker_line(LIFECYCLE, 71, &r);
    expect_str(r.kind, "image.tag");
    expect_str(r.image, "localhost/committed:1"); /* Actor.ID is sha256:..., name says it */
    expect_str(r.container, NULL);
    cr_expect_null(r.facts);
    ct_record_release(&r);
}

Test(docker_event, kill_signal_from_compose_stream)
{
    ct_record r = {0};
    json_t *d;

    docker_line("docker-events/deck-chores_events_00.jsonl", 12, &r);
    expect_str(r.kind, "container.kill");
    expect_str(r.name, "sojus_beep_1");
    expect_str(r.image, "sojus_beep");
    cr_expect_eq(r.ts_ns, 1570390052835780298LL);
    d = details_of(r.facts);
    expect_str(json_string_value(json_object_get(d, "last_signal")), "15");
    json_decref(d);
    ct_record_release(&r);
}

Test(docker_event, oldest_shape_status_id_from_time)
{
    ct_record r = {0};

    docker_line("docker-events/moby-api-v1.19_events_example.jsonl", 1, &r);
    expect_str(r.kind, "container.create");
    cr_expect_eq(r.ts_ns, 1374067924000000000LL); /* seconds only */
    expect_str(r.container, "dfdf82bd3881");      /* short id as given */
    expect_str(r.image, "ubuntu:latest");         /* from */
    expect_str(r.name, NULL);
    expect_str(r.dedup, "1374067924|dfdf82bd3881|create");
    ct_record_release(&r);

    docker_line("docker-events/moby-api-v1.19_events_example.jsonl", 4, &r);
    expect_str(r.kind, "container.destroy");
    cr_expect_eq(r.facts->destroyed_ns, 1374067970000000000LL);
    ct_record_release(&r);
}

Test(docker_event, old_shape_image_pull_without_type)
{
    ct_record r = {0};

    docker_line("docker-events/moby-api-v1.21_events_example.jsonl", 1, &r);
    expect_str(r.kind, "image.pull");
    expect_str(r.image, "busybox:latest");
    expect_str(r.container, NULL);
    cr_expect_eq(r.ts_ns, 1442421700598988358LL);
    ct_record_release(&r);

    docker_line("docker-events/moby-api-v1.21_events_example.jsonl", 3, &r);
    expect_str(r.kind, "container.attach");
    expect_str(r.container, "5745704abe9caa5");
    expect_str(r.image, "busybox");
    ct_record_release(&r);
}

Test(docker_event, podman_names_mapped_to_docker_kinds)
{
    static const struct {
        unsigned line;
        const char *kind, *action;
    } want[] = {
        {2, "container.init", "init"},          {4, "container.exec_start", "exec"},
        {5, "container.exec_die", "exec_died"}, {11, "container.destroy", "remove"},
        {13, "container.destroy", "remove"},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ct_record r = {0};
        char key[256];

        docker_line(PODMAN, want[i].line, &r);
        expect_str(r.kind, want[i].kind);
        /* the dedup key keeps the engine's own action */
        (void)snprintf(key, sizeof(key), "|%s", want[i].action);
        cr_expect(r.dedup != NULL && strlen(r.dedup) > strlen(key) &&
                      strcmp(r.dedup + strlen(r.dedup) - strlen(key), key) == 0,
                  "line %u dedup '%s'", want[i].line, r.dedup);
        ct_record_release(&r);
    }
}

Test(docker_event, podman_remove_and_die_facts)
{
    ct_record r = {0};

    docker_line(PODMAN, 11, &r);
    expect_str(r.container, "0e4158ebb0ae92caa935e30afd33fec6ce81f620c64541d5d4d0918a17755cb1");
    expect_str(r.facts->state, "destroyed");
    cr_expect_eq(r.facts->destroyed_ns, 1795588718592135173LL);
    ct_record_release(&r);

    docker_line(PODMAN, 12, &r);
    expect_str(r.kind, "container.die");
    expect_str(r.container, MINER_ID);
    expect_str(r.name, "miner");
    cr_expect_eq(r.facts->has_exit_code, 1);
    cr_expect_eq(r.facts->exit_code, 137);
    ct_record_release(&r);
}

Test(docker_event, podman_container_exit_code_alone)
{
    const char *s =
        "{\"status\":\"died\",\"Type\":\"container\",\"Action\":\"die\","
        "\"Actor\":{\"ID\":\"" MINER_ID "\",\"Attributes\":{\"containerExitCode\":\"2\"}},"
        "\"time\":1795588718,\"timeNano\":1795588718677851975}";
    json_t *obj = json_of(s, strlen(s));
    ct_record r = {0};
    ct_error err = {0};

    cr_assert_eq(ct_docker_event_parse(obj, s, strlen(s), &r, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(r.facts->has_exit_code, 1);
    cr_expect_eq(r.facts->exit_code, 2);
    json_decref(obj);
    ct_record_release(&r);
}

Test(docker_event, daemon_and_volume_events)
{
    ct_record r = {0};

    docker_line("docker-events/otel-dockerstats_mock_events2_with_garbage.jsonl", 1, &r);
    expect_str(r.kind, "volume.destroy"); /* Actor without Attributes */
    expect_str(r.container, NULL);
    cr_expect_eq(r.ts_ns, 1699483578123456000LL);
    ct_record_release(&r);

    docker_line("docker-events/otel-dockerstats_mock_events2_with_garbage.jsonl", 2, &r);
    expect_str(r.kind, "daemon.start");
    expect_str(r.container, NULL);
    expect_str(r.dedup, "1699483579123456000||start"); /* empty id */
    ct_record_release(&r);
}

Test(docker_event, fractional_time_seconds)
{
    const char *s = "{\"status\":\"start\",\"id\":\"dfdf82bd3881\",\"time\":1374067924.5}";
    json_t *obj = json_of(s, strlen(s));
    ct_record r = {0};
    ct_error err = {0};

    cr_assert_eq(ct_docker_event_parse(obj, s, strlen(s), &r, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(r.ts_ns, 1374067924500000000LL);
    json_decref(obj);
    ct_record_release(&r);
}

Test(docker_event, null_raw_stores_compact_json)
{
    const char *s = "{ \"status\" : \"start\", \"id\" : \"abc\", \"time\" : 5 }";
    json_t *obj = json_of(s, strlen(s));
    ct_record r = {0};
    ct_error err = {0};
    const char *want = "{\"status\":\"start\",\"id\":\"abc\",\"time\":5}";

    cr_assert_eq(ct_docker_event_parse(obj, NULL, 0, &r, &err), CT_OK, "%s", err.msg);
    expect_raw(&r, want, strlen(want));
    json_decref(obj);
    ct_record_release(&r);
}

static const struct {
    const char *name, *json;
} bad_docker[] = {
    {"array", "[{\"status\":\"start\",\"time\":1}]"},
    {"string", "\"start\""},
    {"no action or status", "{\"id\":\"abc\",\"time\":1}"},
    {"empty action", "{\"Action\":\"\",\"status\":\"\",\"time\":1}"},
    {"no time", "{\"status\":\"start\",\"id\":\"abc\"}"},
    {"negative timeNano", "{\"Action\":\"start\",\"timeNano\":-1}"},
    {"string time", "{\"Action\":\"start\",\"time\":\"1374067924\"}"},
    {"time overflows ns", "{\"Action\":\"start\",\"time\":9223372036854775807}"},
    {"real time overflows", "{\"Action\":\"start\",\"time\":1e300}"},
    {"Type not a string", "{\"Action\":\"start\",\"Type\":5,\"time\":1}"},
    {"Actor not an object", "{\"Action\":\"start\",\"Actor\":\"abc\",\"time\":1}"},
    {"action is only args", "{\"Action\":\": /bin/sh\",\"time\":1}"},
};

Test(docker_event, rejects_bad_objects)
{
    for (size_t i = 0; i < sizeof(bad_docker) / sizeof(bad_docker[0]); i++) {
        const char *s = bad_docker[i].json;
        json_t *obj = json_of(s, strlen(s));
        ct_record r = {0};
        ct_error err = {0};
        ct_status rc = ct_docker_event_parse(obj, s, strlen(s), &r, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %d", bad_docker[i].name, (int)rc);
        cr_expect(err.msg[0] != '\0', "%s: no reason", bad_docker[i].name);
        cr_expect(r.kind == NULL && r.raw == NULL, "%s: output touched", bad_docker[i].name);
        json_decref(obj);
    }
}

/* The v1.24 docs example: 9 pretty-printed objects back to back.  Each
 * document starts with "{" and ends with "}" at column 0; raw must be
 * exactly that span. */
Test(docker_event, pretty_concatenated_documents_keep_exact_spans)
{
    size_t len;
    char *buf = fixture_read("docker-events/moby-api-v1.24_events_example.json", &len);
    collected c = {0};
    const char *p = buf;

    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 9);
    cr_expect_eq(c.n_rej, 0);
    for (size_t i = 0; i < c.n; i++) {
        const char *end = strstr(p, "\n}");

        cr_assert(p[0] == '{' && end != NULL);
        expect_raw(&c.recs[i], p, (size_t)(end + 2 - p));
        p = end + 2;
        while (*p == '\n')
            p++;
    }
    expect_str(c.recs[0].kind, "image.pull");
    expect_str(c.recs[0].image, "alpine:latest");
    cr_expect_eq(c.recs[0].ts_ns, 1461943101301854122LL);
    expect_str(c.recs[1].kind, "container.create");
    expect_str(c.recs[1].container,
               "ede54ee1afda366ab42f824e8a5ffd195155d853ceaec74a927f249ea270c743");
    expect_str(c.recs[1].name, "my-container");
    expect_str(c.recs[1].image, "alpine");
    collected_free(&c);
    free(buf);
}
