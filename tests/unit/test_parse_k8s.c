/*
 * tests/unit/test_parse_k8s.c - ct_k8s_audit_parse and the audit shapes
 * ct_ingest_buffer unpacks: single Events (v1, v1beta1, no apiVersion),
 * JSON-lines logs, EventList documents, AKS Event Hub batches (events as
 * JSON strings) and a pretty-printed event behind a UTF-8 BOM.
 *
 * Expected values were read by hand from the fixtures (k8s-audit/).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/record.h"

#include "parse_helpers.h"

/* One-event fixture through the single-item parser; raw = the file's
 * value bytes. */
static void audit_file(const char *fixture, ct_record *rec)
{
    size_t len, vlen;
    char *buf = fixture_read(fixture, &len);
    const char *v = trimmed(buf, len, &vlen);
    json_t *obj = json_of(v, vlen);
    ct_error err = {0};

    cr_assert_eq(ct_k8s_audit_parse(obj, v, vlen, rec, &err), CT_OK, "%s: %s", fixture, err.msg);
    cr_assert_eq(rec->source, CT_SRC_K8S_AUDIT);
    expect_raw(rec, v, vlen);
    cr_expect_null(rec->facts, "audit events carry no container facts");
    cr_expect_null(rec->container);
    json_decref(obj);
    free(buf);
}

Test(k8s_audit, v1beta1_pod_create_takes_pod_from_response)
{
    ct_record r = {0};

    audit_file("k8s-audit/falco-psp/privileged.json", &r);
    expect_str(r.kind, "create pods");
    cr_expect_eq(r.ts_ns, 1540476552581541000LL); /* stageTimestamp, not timestamp */
    expect_str(r.user, "system:serviceaccount:kube-system:replicaset-controller");
    expect_str(r.pod_ns, "default");
    expect_str(r.pod_name, "nginx-deployment-5cdcc99dbf-rgw6z"); /* generateName: response */
    expect_str(r.pod_uid, "8c845395-d85f-11e8-88b6-080027728ac4");
    expect_str(r.dedup, "a362d22b-db3c-4590-9505-23782f12925f|ResponseComplete");
    ct_record_release(&r);
}

/* Two fixture files are byte-identical (SOURCES.md, same sha256): the same
 * event seen twice must get the same dedup key. */
Test(k8s_audit, identical_files_share_the_dedup_key)
{
    ct_record a = {0}, b = {0};

    audit_file("k8s-audit/falco-psp/privileged.json", &a);
    audit_file("k8s-audit/falco-k8s_audit/create_nginx_pod_privileged.json", &b);
    cr_assert(a.dedup != NULL && b.dedup != NULL);
    expect_str(a.dedup, b.dedup);
    ct_record_release(&a);
    ct_record_release(&b);
}

Test(k8s_audit, exec_without_api_version)
{
    ct_record r = {0};

    audit_file("k8s-audit/falco-k8s_audit/exec_pod.json", &r);
    expect_str(r.kind, "create pods/exec");
    cr_expect_eq(r.ts_ns, 1540561114902914000LL);
    expect_str(r.user, "minikube-user");
    expect_str(r.pod_ns, "default");
    expect_str(r.pod_name, "nginx-deployment-7998647bdf-phvq7");
    expect_str(r.pod_uid, NULL); /* the response of exec is a Status */
    expect_str(r.dedup, "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6|ResponseStarted");
    ct_record_release(&r);
}

Test(k8s_audit, gke_converted_exec)
{
    ct_record r = {0};

    audit_file("k8s-audit/gke-bridge/exec_pod.json", &r);
    expect_str(r.kind, "create pods/exec");
    cr_expect_eq(r.ts_ns, 1578704479410800000LL);
    expect_str(r.user, "mark.stemm@sysdig.com");
    expect_str(r.pod_name, "hostnetwork-deployment-5dc5447c47-6ssdf");
    ct_record_release(&r);
}

Test(k8s_audit, non_pod_resource_names_no_pod)
{
    ct_record r = {0};

    audit_file("k8s-audit/falco-k8s_audit/create_clusterrolebinding.json", &r);
    expect_str(r.kind, "create clusterrolebindings");
    expect_str(r.user, "minikube-user");
    expect_str(r.pod_ns, NULL);
    expect_str(r.pod_name, NULL);
    expect_str(r.dedup, "e040d0ab-473c-442c-9707-88553173e962|ResponseComplete");
    ct_record_release(&r);
}

Test(k8s_audit, fal_01_003_kind_zero_is_rejected)
{
    size_t len;
    char *buf = fixture_read("k8s-audit/falco-k8s_audit/fal_01_003.json", &len);
    json_t *obj = json_of(buf, len);
    ct_record r = {0};
    ct_error err = {0};
    collected a = {0}, k = {0};

    cr_expect_eq(ct_k8s_audit_parse(obj, buf, len, &r, &err), CT_ERR_PARSE);
    cr_expect(strstr(err.msg, "kind") != NULL, "reason: %s", err.msg);
    cr_expect_null(r.raw);

    ingest_auto(&a, buf, len); /* detection: not an audit event at all */
    cr_expect_eq(a.n, 0);
    cr_assert_eq(a.n_rej, 1);
    cr_expect_eq(a.rej[0].where, 1);
    ingest_fmt(&k, buf, len, CT_FMT_K8S_AUDIT, 0); /* forced: the parser says why */
    cr_expect_eq(k.n, 0);
    cr_assert_eq(k.n_rej, 1);
    cr_expect_eq(k.rej[0].where, 1);
    cr_expect(strstr(k.rej[0].reason, "kind") != NULL, "reason: %s", k.rej[0].reason);
    collected_free(&a);
    collected_free(&k);
    json_decref(obj);
    free(buf);
}

Test(k8s_audit, json_lines_log_with_timestamp_only)
{
    size_t len, llen;
    char *buf = fixture_read("k8s-audit/audit2rbac_demo.log", &len);
    collected c = {0};
    const char *line;

    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 37);
    cr_expect_eq(c.n_rej, 0);
    for (unsigned i = 0; i < c.n; i++) {
        line = line_of(buf, len, i + 1, &llen);
        expect_raw(&c.recs[i], line, llen);
        cr_expect_eq(c.recs[i].source, CT_SRC_K8S_AUDIT);
    }
    /* v1 converted from v1beta1: only "timestamp" */
    cr_expect_eq(c.recs[0].ts_ns, 1505159705000000000LL);
    expect_str(c.recs[0].kind, "list pods");
    expect_str(c.recs[0].user, "system:admin");
    expect_str(c.recs[0].pod_ns, "default");
    expect_str(c.recs[0].pod_name, NULL); /* a list names no pod */
    expect_str(c.recs[0].dedup, "033d17af-082d-4b24-aa22-627752e83d71|ResponseComplete");
    collected_free(&c);
    free(buf);
}

/* AKS: each records[].properties.log is an Event as a JSON string; raw is
 * that string's decoded content, and the line numbers of the batch. */
Test(k8s_audit, aks_event_hub_batch)
{
    size_t len;
    char *buf = fixture_read("k8s-audit/aks_eventhub_records.json", &len);
    json_t *batch = json_of(buf, len), *recs = json_object_get(batch, "records");
    collected c = {0};

    ingest_auto(&c, buf, len);
    cr_assert_eq(json_array_size(recs), 22);
    cr_assert_eq(c.n, 22);
    cr_expect_eq(c.n_rej, 0);
    for (size_t i = 0; i < c.n; i++) {
        json_t *log =
            json_object_get(json_object_get(json_array_get(recs, i), "properties"), "log");
        size_t slen;
        const char *s = trimmed(json_string_value(log), json_string_length(log), &slen);

        expect_raw(&c.recs[i], s, slen);
        cr_expect_eq(c.recs[i].source, CT_SRC_K8S_AUDIT);
    }
    cr_expect_eq(c.recs[0].ts_ns, 1588695397663647000LL);
    expect_str(c.recs[0].kind, "get"); /* non-resource URL: no objectRef */
    expect_str(c.recs[0].user, "system:serviceaccount:kube-system:resourcequota-controller");
    expect_str(c.recs[0].dedup, "55ffceaa-b7c3-478e-98c6-e509cd2f0dd7|ResponseComplete");
    expect_str(c.recs[2].kind, "create configmaps");
    expect_str(c.recs[2].user, "aksService");
    expect_str(c.recs[3].kind, "get nodes");
    collected_free(&c);
    json_decref(batch);
    free(buf);
}

/* Hand-made batch for the edges: whitespace around the event string, a
 * record without properties.log, a log that is not JSON, an event with
 * bytes after it.  Every bad record is rejected at the batch's line. */
Test(k8s_audit, aks_batch_bad_records)
{
    const char *s =
        "{\"records\": [\n"
        "{\"properties\": {\"log\": \"  {\\\"kind\\\":\\\"Event\\\",\\\"verb\\\":\\\"get\\\","
        "\\\"stage\\\":\\\"ResponseComplete\\\",\\\"auditID\\\":\\\"a-1\\\","
        "\\\"stageTimestamp\\\":\\\"2020-05-05T16:16:37Z\\\"}\\n \"}},\n"
        "{\"properties\": {}},\n"
        "{\"properties\": {\"log\": \"not json\"}},\n"
        "{\"properties\": {\"log\": \"{\\\"kind\\\":\\\"Event\\\",\\\"verb\\\":\\\"get\\\","
        "\\\"stage\\\":\\\"ResponseComplete\\\",\\\"auditID\\\":\\\"a-2\\\","
        "\\\"stageTimestamp\\\":\\\"2020-05-05T16:16:37Z\\\"} {}\"}}\n"
        "]}\n";
    const char *ev = "{\"kind\":\"Event\",\"verb\":\"get\",\"stage\":\"ResponseComplete\","
                     "\"auditID\":\"a-1\",\"stageTimestamp\":\"2020-05-05T16:16:37Z\"}";
    collected c = {0};

    ingest_str(&c, s);
    cr_assert_eq(c.n, 1);
    expect_raw(&c.recs[0], ev, strlen(ev)); /* the string's content, trimmed */
    expect_str(c.recs[0].dedup, "a-1|ResponseComplete");
    cr_expect_eq(c.recs[0].ts_ns, 1588695397000000000LL);
    cr_assert_eq(c.n_rej, 3);
    for (size_t i = 0; i < c.n_rej; i++)
        cr_expect_eq(c.rej[i].where, 1, "batch records are reported at the batch's line");
    collected_free(&c);
}

Test(k8s_audit, pretty_event_behind_bom)
{
    size_t len, vlen;
    char *buf = fixture_read("k8s-audit/aks_single_event_pretty_bom.json", &len);
    const char *v;
    collected c = {0};

    cr_assert(len > 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0, "fixture lost its BOM");
    v = trimmed(buf + 3, len - 3, &vlen);
    ingest_auto(&c, buf, len);
    cr_assert_eq(c.n, 1);
    cr_expect_eq(c.n_rej, 0);
    expect_raw(&c.recs[0], v, vlen); /* no BOM in raw, all lines of the event */
    expect_str(c.recs[0].kind, "update controllerrevisions");
    cr_expect_eq(c.recs[0].ts_ns, 1588977165320565000LL);
    expect_str(c.recs[0].user, "system:serviceaccount:kube-system:daemon-set-controller");
    expect_str(c.recs[0].dedup, "71749feb-8e92-43e6-a72f-af6171f811ee|ResponseComplete");
    collected_free(&c);
    free(buf);
}

/* kubectl get --raw style EventList, audit.k8s.io/v1: items keep their own
 * bytes; a bad item is rejected at its line and the others are kept. */
static const char eventlist_v1[] =
    "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[\n"
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
    "\"auditID\":\"11111111-0000-0000-0000-000000000001\",\"stage\":\"ResponseComplete\","
    "\"verb\":\"delete\",\"user\":{\"username\":\"alice\"},\"objectRef\":{\"resource\":\"pods\","
    "\"namespace\":\"prod\",\"name\":\"web-0\",\"uid\":\"u-1\"},"
    "\"requestReceivedTimestamp\":\"2024-05-01T10:00:00.000000Z\","
    "\"stageTimestamp\":\"2024-05-01T10:00:00.250000Z\"},\n"
    "  {\"kind\":\"Event\",\"verb\":\"get\"},\n"
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\","
    "\"auditID\":\"11111111-0000-0000-0000-000000000002\",\"stage\":\"ResponseStarted\","
    "\"verb\":\"create\",\"user\":{\"username\":\"bob\"},\"objectRef\":{\"resource\":\"pods\","
    "\"namespace\":\"prod\",\"name\":\"web-0\",\"subresource\":\"exec\"},"
    "\"stageTimestamp\":\"2024-05-01T10:00:01Z\"}\n"
    "]}\n";

Test(k8s_audit, eventlist_v1_items)
{
    collected c = {0};
    const char *item1 = strstr(eventlist_v1, "{\"kind\":\"Event\",\"apiVersion\"");
    const char *item3 = strstr(item1 + 1, "{\"kind\":\"Event\",\"apiVersion\"");

    ingest_str(&c, eventlist_v1);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.n_rej, 1);
    cr_expect_eq(c.rej[0].where, 3, "bad item is on line 3, got %llu",
                 (unsigned long long)c.rej[0].where);
    expect_raw(&c.recs[0], item1, (size_t)(strstr(item1, "},\n") + 1 - item1));
    expect_raw(&c.recs[1], item3, (size_t)(strstr(item3, "}\n]") + 1 - item3));
    expect_str(c.recs[0].kind, "delete pods");
    cr_expect_eq(c.recs[0].ts_ns, 1714557600250000000LL);
    expect_str(c.recs[0].user, "alice");
    expect_str(c.recs[0].pod_ns, "prod");
    expect_str(c.recs[0].pod_name, "web-0");
    expect_str(c.recs[0].pod_uid, "u-1");
    expect_str(c.recs[1].kind, "create pods/exec");
    cr_expect_eq(c.recs[1].ts_ns, 1714557601000000000LL);
    expect_str(c.recs[1].dedup, "11111111-0000-0000-0000-000000000002|ResponseStarted");
    collected_free(&c);
}

/* v1beta1 EventList, pretty-printed: the items have only "timestamp". */
static const char eventlist_v1beta1[] =
    "{\n"
    "  \"kind\": \"EventList\",\n"
    "  \"apiVersion\": \"audit.k8s.io/v1beta1\",\n"
    "  \"items\": [\n"
    "    {\n"
    "      \"kind\": \"Event\",\n"
    "      \"apiVersion\": \"audit.k8s.io/v1beta1\",\n"
    "      \"metadata\": {\"creationTimestamp\": \"2018-10-25T14:09:12Z\"},\n"
    "      \"timestamp\": \"2018-10-25T14:09:12Z\",\n"
    "      \"auditID\": \"22222222-0000-0000-0000-000000000001\",\n"
    "      \"stage\": \"ResponseComplete\",\n"
    "      \"verb\": \"list\",\n"
    "      \"user\": {\"username\": \"minikube-user\"},\n"
    "      \"objectRef\": {\"resource\": \"secrets\", \"namespace\": \"kube-system\"}\n"
    "    },\n"
    "    {\n"
    "      \"kind\": \"Event\",\n"
    "      \"metadata\": {\"creationTimestamp\": \"2018-10-25T14:09:13Z\"},\n"
    "      \"auditID\": \"22222222-0000-0000-0000-000000000002\",\n"
    "      \"stage\": \"ResponseComplete\",\n"
    "      \"verb\": \"get\",\n"
    "      \"user\": {\"username\": \"minikube-user\"}\n"
    "    }\n"
    "  ]\n"
    "}\n";

Test(k8s_audit, eventlist_v1beta1_pretty)
{
    collected c = {0};
    const char *item1 = strstr(eventlist_v1beta1, "{\n      \"kind\": \"Event\"");
    const char *item2 = strstr(item1 + 1, "{\n      \"kind\": \"Event\"");

    ingest_str(&c, eventlist_v1beta1);
    cr_assert_eq(c.n, 2);
    cr_expect_eq(c.n_rej, 0);
    expect_raw(&c.recs[0], item1, (size_t)(strstr(item1, "\n    }") + 6 - item1));
    expect_raw(&c.recs[1], item2, (size_t)(strstr(item2, "\n    }") + 6 - item2));
    expect_str(c.recs[0].kind, "list secrets");
    cr_expect_eq(c.recs[0].ts_ns, 1540476552000000000LL); /* timestamp */
    cr_expect_eq(c.recs[1].ts_ns, 1540476553000000000LL); /* metadata.creationTimestamp */
    expect_str(c.recs[1].kind, "get");
    collected_free(&c);
}

Test(k8s_audit, eventlist_items_with_bad_time_are_rejected_at_their_line)
{
    const char *s = "{\"kind\":\"EventList\",\"items\":[\n"
                    "{\"kind\":\"Event\",\"verb\":\"get\",\"stage\":\"ResponseComplete\","
                    "\"stageTimestamp\":\"yesterday\"},\n"
                    "{\"kind\":\"Event\",\"verb\":\"get\",\"stage\":\"ResponseComplete\","
                    "\"stageTimestamp\":\"2024-05-01T10:00:00Z\"}]}";
    collected c = {0};

    ingest_str(&c, s);
    cr_assert_eq(c.n, 1);
    cr_assert_eq(c.n_rej, 1);
    cr_expect_eq(c.rej[0].where, 2);
    expect_str(c.recs[0].dedup, NULL); /* no auditID: raw bytes are the key */
    collected_free(&c);
}

static const struct {
    const char *name, *json;
} bad_audit[] = {
    {"array", "[]"},
    {"kind not a string", "{\"kind\":0,\"verb\":\"get\",\"stage\":\"ResponseComplete\"}"},
    {"kind not Event", "{\"kind\":\"Pod\",\"verb\":\"get\",\"stage\":\"ResponseComplete\","
                       "\"stageTimestamp\":\"2024-05-01T10:00:00Z\"}"},
    {"no verb", "{\"kind\":\"Event\",\"stage\":\"ResponseComplete\","
                "\"stageTimestamp\":\"2024-05-01T10:00:00Z\"}"},
    {"no stage", "{\"kind\":\"Event\",\"verb\":\"get\","
                 "\"stageTimestamp\":\"2024-05-01T10:00:00Z\"}"},
    {"objectRef not an object",
     "{\"verb\":\"get\",\"stage\":\"ResponseComplete\","
     "\"objectRef\":\"pods\",\"stageTimestamp\":\"2024-05-01T10:00:00Z\"}"},
    {"user not an object", "{\"verb\":\"get\",\"stage\":\"ResponseComplete\",\"user\":\"bob\","
                           "\"stageTimestamp\":\"2024-05-01T10:00:00Z\"}"},
    {"bad time", "{\"verb\":\"get\",\"stage\":\"ResponseComplete\","
                 "\"stageTimestamp\":\"yesterday\"}"},
    {"time not a string", "{\"verb\":\"get\",\"stage\":\"ResponseComplete\","
                          "\"stageTimestamp\":1714557600}"},
    {"no time at all", "{\"verb\":\"get\",\"stage\":\"ResponseComplete\"}"},
};

Test(k8s_audit, rejects_bad_events)
{
    for (size_t i = 0; i < sizeof(bad_audit) / sizeof(bad_audit[0]); i++) {
        const char *s = bad_audit[i].json;
        json_t *obj = json_of(s, strlen(s));
        ct_record r = {0};
        ct_error err = {0};
        ct_status rc = ct_k8s_audit_parse(obj, s, strlen(s), &r, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %d", bad_audit[i].name, (int)rc);
        cr_expect(err.msg[0] != '\0', "%s: no reason", bad_audit[i].name);
        cr_expect(r.kind == NULL && r.raw == NULL, "%s: output touched", bad_audit[i].name);
        json_decref(obj);
    }
}
