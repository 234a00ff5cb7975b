/*
 * tests/unit/test_parse_inspect.c - ct_inspect_parse on the real fixtures
 * (docker-inspect/, docker-exec/): Docker 1.6 to Podman 4.3, array and
 * object shapes, catalog facts (state, exit code, privileged) and details
 * (mounts and which of them are sensitive, capabilities, labels, user).
 *
 * Expected values were read by hand from the fixture bytes; times were
 * converted to ns outside ctrail (python datetime).  raw must be the
 * object's own bytes, never a re-serialisation.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"
#include "ctrail/time.h"

#include "parse_helpers.h"
#include "parse_util.h"

#define WEB_ID   "5ace081d065e1e254a6cbf80c2d862772793d7973c680b178df9ff0e13a79e2e"
#define MINER_ID "7e8768d3cc0a5bb3fd07ef5ebb62bd3bac24ea476f4277deef4ea03dfdae3103"

/* Parse a fixture holding one object (or an array of one) with the
 * single-item parser; raw is the object's own bytes. */
static void inspect_file(const char *fixture, int64_t now, ct_record *rec)
{
    size_t len, olen;
    char *buf = fixture_read(fixture, &len);
    const char *obj_bytes = trimmed(buf, len, &olen);
    json_t *v;
    ct_error err = {0};

    if (obj_bytes[0] == '[') { /* an array of one: strip the brackets */
        obj_bytes = trimmed(obj_bytes + 1, olen - 2, &olen);
    }
    v = json_of(obj_bytes, olen);
    cr_assert(json_is_object(v));
    cr_assert_eq(pu_inspect_parse_at(v, obj_bytes, olen, now, rec, &err), CT_OK, "%s: %s", fixture,
                 err.msg);
    cr_assert_eq(rec->source, CT_SRC_INSPECT);
    expect_raw(rec, obj_bytes, olen);
    json_decref(v);
    free(buf);
}

/* The mounts[] entry of details whose destination is dst. */
static json_t *mount_to(json_t *details, const char *dst)
{
    json_t *m;
    size_t i;

    json_array_foreach(json_object_get(details, "mounts"), i,
                       m) if (strcmp(json_string_value(json_object_get(m, "destination")), dst) ==
                              0) return m;
    cr_assert_fail("no mount to %s", dst);
    return NULL;
}

Test(inspect, privileged_start_failed)
{
    ct_record r = {0};
    json_t *d, *m;

    inspect_file("docker-inspect/captured-dockerd-20.10_privileged-start-failed.json", 1, &r);
    expect_str(r.kind, "container.inspect");
    expect_str(r.container, "588ea21da7fe6e293f22eab6defe542f9a9b8508ef92970ca8ff4996dacd4db9");
    expect_str(r.name, "priv-try"); /* without the leading '/' */
    expect_str(r.image, "localhost/mini:1");
    cr_expect_eq(r.ts_ns, 1795588694796851895LL); /* never started: Created */
    cr_assert_not_null(r.facts);
    expect_str(r.facts->state, "created");
    expect_str(r.facts->image_id,
               "sha256:f320d0f32c63a0168a3c03f107e06d9d26d861b6ae3bdc95bda2b9b9c40fe904");
    cr_expect_eq(r.facts->privileged, 1);
    cr_expect_eq(r.facts->has_exit_code, 1); /* the failed start's 128 counts */
    cr_expect_eq(r.facts->exit_code, 128);
    cr_expect_eq(r.facts->started_ns, 0); /* Go zero time */
    cr_expect_eq(r.facts->died_ns, 0);
    d = details_of(r.facts);
    m = mount_to(d, "/host-run");
    expect_str(json_string_value(json_object_get(m, "source")), "/var/run");
    expect_str(json_string_value(json_object_get(m, "type")), "bind");
    cr_expect(json_is_true(json_object_get(m, "rw")));
    cr_expect(json_is_true(json_object_get(m, "sensitive")), "/var/run holds docker.sock");
    json_decref(d);
    ct_record_release(&r);
}

Test(inspect, podman_privileged_root_mount)
{
    ct_record r = {0};
    json_t *d, *m;

    inspect_file("docker-inspect/captured-podman-4.3_privileged-rootmount.json", 1, &r);
    expect_str(r.container, MINER_ID);
    expect_str(r.name, "miner");
    cr_expect_eq(r.ts_ns, 1795588716366455531LL); /* running: StartedAt */
    expect_str(r.facts->state, "running");
    cr_expect_eq(r.facts->privileged, 1);
    cr_expect_eq(r.facts->has_exit_code, 0);
    d = details_of(r.facts);
    m = mount_to(d, "/host");
    expect_str(json_string_value(json_object_get(m, "source")), "/");
    cr_expect(json_is_false(json_object_get(m, "rw")));
    cr_expect(json_is_true(json_object_get(m, "sensitive")));
    cr_expect_eq(json_array_size(json_object_get(d, "cap_add")), 0);
    json_decref(d);
    ct_record_release(&r);
}

Test(inspect, sparse_mock_with_empty_strings)
{
    ct_record r = {0};

    inspect_file("docker-inspect/telegraf_sparse_inspect_exited_137.json", 1, &r);
    expect_str(r.container, "123456789");
    expect_str(r.name, NULL);                     /* "" */
    expect_str(r.image, NULL);                    /* "" in Config.Image and Image */
    cr_expect_eq(r.ts_ns, 1704070800000000000LL); /* FinishedAt 2024-01-01T01:00:00Z */
    expect_str(r.facts->state, "exited");
    cr_expect_eq(r.facts->has_exit_code, 1);
    cr_expect_eq(r.facts->exit_code, 137);
    cr_expect_eq(r.facts->created_ns, 0);
    cr_expect_eq(r.facts->privileged, CT_PRIV_UNKNOWN); /* HostConfig is null */
    ct_record_release(&r);
}

Test(inspect, running_with_stale_exit_code_has_none)
{
    ct_record r = {0};
    json_t *d, *m;

    /* Running=true, yet ExitCode 9 and a FinishedAt */
    inspect_file("docker-inspect/moby-api-v1.24_container_inspect_example.json", 1, &r);
    expect_str(r.name, "boring_euclid");
    expect_str(r.image, "ubuntu");
    cr_expect_eq(r.ts_ns, 1420559252072697474LL);
    cr_expect_eq(r.facts->has_exit_code, 0);
    cr_expect_eq(r.facts->privileged, 0);
    d = details_of(r.facts);
    m = mount_to(d, "/data");
    expect_str(json_string_value(json_object_get(m, "type")), "volume"); /* has a Name */
    cr_expect(json_is_false(json_object_get(m, "rw")));
    cr_expect(json_is_false(json_object_get(m, "sensitive")));
    json_decref(d);
    ct_record_release(&r);
}

Test(inspect, created_never_started_has_no_exit_code)
{
    ct_record r = {0};

    inspect_file("docker-inspect/docker-java_inspect_1_22_created.json", 1, &r);
    expect_str(r.name, "drunk_golick");
    expect_str(r.image, "busybox");
    cr_expect_eq(r.ts_ns, 1455662451465045919LL);
    expect_str(r.facts->state, "created");
    cr_expect_eq(r.facts->has_exit_code, 0);
    ct_record_release(&r);
}

Test(inspect, docker_1_6_volumes_and_no_status)
{
    ct_record r = {0};
    json_t *d, *m;

    inspect_file("docker-inspect/docker-java_inspect_full_2015.json", 1, &r);
    expect_str(r.name, "desperate_babbage");
    expect_str(r.image, "jenkinsci/workflow-demo");
    cr_expect_eq(r.ts_ns, 1430308543464717907LL);
    expect_str(r.facts->state, "running"); /* from Running, no State.Status */
    d = details_of(r.facts);
    m = mount_to(d, "/foo/bar/myvol");
    expect_str(json_string_value(json_object_get(m, "source")), "/path1");
    cr_expect(json_is_true(json_object_get(m, "rw")));
    m = mount_to(d, "/bar/foo/myvol2");
    expect_str(json_string_value(json_object_get(m, "source")), "/path2");
    cr_expect(json_is_false(json_object_get(m, "rw")));
    json_decref(d);
    ct_record_release(&r);
}

Test(inspect, mount_destination_object_and_named_volume)
{
    ct_record r = {0};
    json_t *d, *m;

    inspect_file("docker-inspect/docker-java_inspect_full_1_26a.json", 1, &r);
    expect_str(r.image, "postgres:latest");
    cr_expect_eq(r.ts_ns, 1527669432308001081LL);
    d = details_of(r.facts);
    m = mount_to(d, "/var/lib/postgresql/data"); /* Destination {"path": ...} */
    expect_str(json_string_value(json_object_get(m, "type")), "volume");
    cr_expect(json_is_false(json_object_get(m, "sensitive")), "volumes live in /var/lib/docker");
    json_decref(d);
    ct_record_release(&r);
}

Test(inspect, docker_sock_bind_and_named_volume)
{
    ct_record r = {0};
    json_t *d, *m;

    /* Running, FinishedAt before StartedAt (restarted): ts is StartedAt */
    inspect_file("docker-inspect/watchtower_container_running.json", 1, &r);
    expect_str(r.name, "portainer");
    cr_expect_eq(r.ts_ns, 1555195104498745809LL);
    d = details_of(r.facts);
    m = mount_to(d, "/var/run/docker.sock");
    expect_str(json_string_value(json_object_get(m, "type")), "bind");
    cr_expect(json_is_true(json_object_get(m, "sensitive")));
    m = mount_to(d, "/data");
    expect_str(json_string_value(json_object_get(m, "type")), "volume");
    cr_expect(json_is_false(json_object_get(m, "sensitive")));
    json_decref(d);
    ct_record_release(&r);
}

Test(inspect, cap_add_labels_user)
{
    ct_record r = {0};
    json_t *d;

    inspect_file("docker-inspect/watchtower_container_net_supplier.json", 1, &r);
    expect_str(r.name, "wt-contnet-producer-1");
    expect_str(r.image, "qmcgaw/gluetun");
    cr_expect_eq(r.ts_ns, 1690296915193430103LL);
    d = details_of(r.facts);
    cr_expect_eq(json_array_size(json_object_get(d, "cap_add")), 1);
    expect_str(json_string_value(json_array_get(json_object_get(d, "cap_add"), 0)), "NET_ADMIN");
    expect_str(json_string_value(
                   json_object_get(json_object_get(d, "labels"), "com.docker.compose.project")),
               "wt-contnet");
    json_decref(d);
    ct_record_release(&r);

    inspect_file("docker-inspect/spotify_containerInfo_1_24.json", 1, &r);
    d = details_of(r.facts);
    expect_str(json_string_value(json_object_get(d, "user")), "daemon");
    json_decref(d);
    ct_record_release(&r);
}

/* The catalog facts the issue names beside mounts and capabilities: ports,
 * restart count, host namespaces, read-only root fs, OOM. */
Test(inspect, ports_restarts_namespaces_readonly_oom)
{
    ct_record r = {0};
    json_t *d, *ports;
    size_t len;
    char *buf, *edited;
    json_t *v;
    ct_error err = {0};

    inspect_file("docker-inspect/watchtower_container_net_supplier.json", 1, &r);
    d = details_of(r.facts);
    /* PortBindings is {}: the ports come from NetworkSettings.Ports */
    ports = json_object_get(d, "ports");
    cr_assert_eq(json_array_size(ports), 4);
    expect_str(json_string_value(json_array_get(ports, 0)), "8000/tcp");
    expect_str(json_string_value(json_array_get(ports, 2)), "8388/udp");
    expect_str(json_string_value(json_object_get(d, "network_mode")), "wt-contnet_default");
    expect_str(json_string_value(json_object_get(d, "ipc_mode")), "private");
    cr_expect(json_is_false(json_object_get(d, "readonly_rootfs")));
    cr_expect(json_is_false(json_object_get(d, "oom_killed")));
    cr_expect_eq(json_integer_value(json_object_get(d, "restart_count")), 0);
    json_decref(d);
    ct_record_release(&r);

    inspect_file("docker-inspect/moby-api-v1.24_container_inspect_example.json", 1, &r);
    d = details_of(r.facts);
    cr_expect_eq(json_integer_value(json_object_get(d, "restart_count")), 1);
    expect_str(json_string_value(json_object_get(d, "network_mode")), "bridge");
    json_decref(d);
    ct_record_release(&r);

    /* no fixture has a read-only root, an OOM kill or the host's network
     * and IPC: the dockerd capture with those four fields changed */
    buf = fixture_read("docker-inspect/captured-dockerd-20.10_exited-143.json", &len);
    v = json_of(buf, len);
    if (json_is_array(v)) {
        json_t *one = json_incref(json_array_get(v, 0));

        json_decref(v);
        v = one;
    }
    cr_assert(json_is_object(v));
    json_object_set_new(json_object_get(v, "HostConfig"), "ReadonlyRootfs", json_true());
    json_object_set_new(json_object_get(v, "HostConfig"), "NetworkMode", json_string("host"));
    json_object_set_new(json_object_get(v, "HostConfig"), "IpcMode", json_string("host"));
    json_object_set_new(json_object_get(v, "State"), "OOMKilled", json_true());
    edited = json_dumps(v, JSON_COMPACT);
    cr_assert_not_null(edited);
    cr_assert_eq(pu_inspect_parse_at(v, edited, strlen(edited), 1, &r, &err), CT_OK, "%s", err.msg);
    d = details_of(r.facts);
    cr_expect(json_is_true(json_object_get(d, "readonly_rootfs")));
    cr_expect(json_is_true(json_object_get(d, "oom_killed")));
    expect_str(json_string_value(json_object_get(d, "network_mode")), "host");
    expect_str(json_string_value(json_object_get(d, "ipc_mode")), "host");
    json_decref(d);
    ct_record_release(&r);
    free(edited);
    json_decref(v);
    free(buf);
}

Test(inspect, exec_inspect_object)
{
    ct_record r = {0};

    inspect_file("docker-exec/captured-dockerd-20.10_exec-inspect.json", 42, &r);
    expect_str(r.kind, "exec.inspect");
    expect_str(r.container, WEB_ID); /* ContainerID */
    cr_expect_eq(r.ts_ns, 42);       /* no time of its own: when it was read */
    cr_expect_null(r.facts);
    ct_record_release(&r);
}

Test(inspect, public_parser_uses_now)
{
    size_t len, olen;
    char *buf = fixture_read("docker-exec/captured-dockerd-20.10_exec-inspect.json", &len);
    const char *s = trimmed(buf, len, &olen);
    json_t *v = json_of(s, olen);
    ct_record r = {0};
    ct_error err = {0};
    int64_t before = ct_time_now_ns(), after;

    cr_assert_eq(ct_inspect_parse(v, s, olen, &r, &err), CT_OK, "%s", err.msg);
    after = ct_time_now_ns();
    cr_expect(r.ts_ns >= before && r.ts_ns <= after);
    json_decref(v);
    ct_record_release(&r);
    free(buf);
}

/* docker inspect prints an array, the API an object: one record each, with
 * the object's own bytes as raw either way. */
Test(inspect, array_and_object_give_the_same_record)
{
    size_t len, olen;
    char *buf = fixture_read("docker-inspect/watchtower_container_stopped.json", &len);
    const char *obj = trimmed(buf, len, &olen);
    size_t alen = olen + 8;
    char *arr = malloc(alen + 1);
    collected a = {0}, o = {0};

    cr_assert_not_null(arr);
    memcpy(arr, "[\n  ", 4);
    memcpy(arr + 4, obj, olen);
    memcpy(arr + 4 + olen, "\n]\n ", 4);
    arr[alen] = '\0';
    ingest_auto(&o, buf, len);
    ingest_auto(&a, arr, alen);
    cr_assert_eq(o.n, 1);
    cr_assert_eq(a.n, 1);
    cr_expect_eq(o.n_rej + a.n_rej, 0);
    expect_raw(&o.recs[0], obj, olen);
    expect_raw(&a.recs[0], obj, olen);
    expect_str(a.recs[0].container,
               "ae8964ba86c7cd7522cf84e09781343d88e0e3543281c747d88b27e246578b65");
    cr_expect_eq(a.recs[0].ts_ns, o.recs[0].ts_ns);
    cr_expect_eq(a.recs[0].facts->exit_code, 1);
    expect_str(a.recs[0].facts->state, "exited");
    collected_free(&a);
    collected_free(&o);
    free(arr);
    free(buf);
}

static const struct {
    const char *name, *json;
} bad_inspect[] = {
    {"array", "[]"},
    {"no Id", "{\"Name\":\"/x\",\"State\":{}}"},
    {"Id not a string", "{\"Id\":5,\"State\":{}}"},
    {"no State, Config or HostConfig", "{\"Id\":\"abc\"}"},
    {"State not an object", "{\"Id\":\"abc\",\"State\":\"running\"}"},
    {"Created not a string", "{\"Id\":\"abc\",\"State\":{},\"Created\":1}"},
    {"StartedAt not RFC 3339", "{\"Id\":\"abc\",\"State\":{\"StartedAt\":\"yesterday\"}}"},
    {"exec without ProcessConfig", "{\"ID\":\"e1\",\"ContainerID\":\"c1\"}"},
};

Test(inspect, rejects_bad_objects)
{
    for (size_t i = 0; i < sizeof(bad_inspect) / sizeof(bad_inspect[0]); i++) {
        const char *s = bad_inspect[i].json;
        json_t *obj = json_of(s, strlen(s));
        ct_record r = {0};
        ct_error err = {0};
        ct_status rc = ct_inspect_parse(obj, s, strlen(s), &r, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %d", bad_inspect[i].name, (int)rc);
        cr_expect(err.msg[0] != '\0', "%s: no reason", bad_inspect[i].name);
        cr_expect(r.kind == NULL && r.raw == NULL && r.facts == NULL, "%s: output touched",
                  bad_inspect[i].name);
        json_decref(obj);
    }
}
