/*
 * tests/unit/test_k8s.c - the Kubernetes collector's helpers: the command
 * of a pods/exec request, and the pod <-> container facts that audited pod
 * objects carry.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/ingest.h"
#include "ctrail/k8s.h"
#include "ctrail/record.h"

static const struct {
    const char *uri, *want; /* want NULL: no command */
} exec_cases[] = {
    /* falco's exec_pod.json */
    {"/api/v1/namespaces/default/pods/nginx-deployment-7998647bdf-phvq7/exec?command=bash&"
     "container=nginx1&container=nginx1&stdin=true&stdout=true&tty=true",
     "bash"},
    /* kubectl exec POD -- sh -c 'cat /etc/shadow' (Go encodes ' ' as '+') */
    {"/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&"
     "container=c&stdout=true",
     "sh -c 'cat /etc/shadow'"},
    {"/api/v1/namespaces/ns/pods/p/exec?container=c&command=echo&command=it%27s&command=",
     "echo 'it'\\''s' ''"},
    {"/api/v1/namespaces/ns/pods/p/exec?command=a%2Bb&command=%zz&command=x%4", "a+b %zz x%4"},
    {"/api/v1/namespaces/ns/pods/p/exec?command=ls#command=rm", "ls"},
    /* GKE-converted events have no query */
    {"core/v1/namespaces/default/pods/hostnetwork-deployment-5dc5447c47-6ssdf/exec/x", NULL},
    {"/api/v1/namespaces/ns/pods/p/exec?container=c&commands=x&xcommand=y", NULL},
    {"", NULL},
};

Test(k8s, exec_command)
{
    for (size_t i = 0; i < sizeof(exec_cases) / sizeof(exec_cases[0]); i++) {
        char *got = ct_k8s_exec_command(exec_cases[i].uri);

        if (exec_cases[i].want == NULL)
            cr_expect_null(got, "%s: got '%s'", exec_cases[i].uri, got);
        else
            cr_expect(got != NULL && strcmp(got, exec_cases[i].want) == 0,
                      "%s: got '%s', want '%s'", exec_cases[i].uri, got ? got : "(null)",
                      exec_cases[i].want);
        free(got);
    }
    cr_expect_null(ct_k8s_exec_command(NULL));
}

static void parse(const char *text, ct_record *rec)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    ct_error err = {0};

    cr_assert_not_null(obj, "test input: %s", jerr.text);
    cr_assert_eq(ct_k8s_audit_parse(obj, text, strlen(text), rec, &err), CT_OK, "%s", err.msg);
    json_decref(obj);
}

#define CID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define CID2 "2222222222222222222222222222222222222222222222222222222222222222"

Test(k8s, pod_object_links_its_containers)
{
    ct_record rec = {0};
    const ct_facts *f;

    parse("{\"kind\":\"Event\",\"auditID\":\"a\",\"stage\":\"ResponseComplete\",\"verb\":\"get\","
          "\"stageTimestamp\":\"2024-01-01T00:00:00Z\",\"objectRef\":{\"resource\":\"pods\","
          "\"namespace\":\"ns\",\"name\":\"p\"},\"responseObject\":{\"kind\":\"Pod\","
          "\"metadata\":{\"uid\":\"u-1\"},\"status\":{\"containerStatuses\":[{\"name\":\"app\","
          "\"containerID\":\"containerd://" CID1 "\"},{\"name\":\"waiting\"}],"
          "\"initContainerStatuses\":[{\"name\":\"init\",\"containerID\":\"docker://" CID2
          "\"}]}}}",
          &rec);
    cr_assert_str_eq(rec.pod_ns, "ns");
    cr_assert_str_eq(rec.pod_name, "p");
    cr_assert_null(rec.container, "the audit record itself names no container");
    f = rec.facts;
    cr_assert_not_null(f);
    cr_expect_str_eq(f->id, CID1);
    cr_expect_str_eq(f->pod_ns, "ns");
    cr_expect_str_eq(f->pod_name, "p");
    cr_expect_str_eq(f->pod_uid, "u-1");
    cr_expect_str_eq(f->details, "{\"k8s\":{\"container\":\"app\",\"runtime\":\"containerd\"}}");
    f = f->next;
    cr_assert_not_null(f, "the init container is linked too");
    cr_expect_str_eq(f->id, CID2);
    cr_expect_null(f->next, "a status without containerID links nothing");
    ct_record_release(&rec);
}

Test(k8s, no_links_without_a_pod_object)
{
    ct_record rec = {0};

    /* pods/exec answers with a Status, not the pod */
    parse(
        "{\"kind\":\"Event\",\"auditID\":\"b\",\"stage\":\"ResponseComplete\",\"verb\":\"create\","
        "\"stageTimestamp\":\"2024-01-01T00:00:00Z\",\"objectRef\":{\"resource\":\"pods\","
        "\"namespace\":\"ns\",\"name\":\"p\",\"subresource\":\"exec\"},"
        "\"responseObject\":{\"kind\":\"Status\",\"status\":\"Success\"}}",
        &rec);
    cr_expect_null(rec.facts);
    ct_record_release(&rec);
    /* a configmap that happens to hold containerStatuses */
    parse("{\"kind\":\"Event\",\"auditID\":\"c\",\"stage\":\"ResponseComplete\",\"verb\":\"get\","
          "\"stageTimestamp\":\"2024-01-01T00:00:00Z\",\"objectRef\":{\"resource\":\"configmaps\","
          "\"namespace\":\"ns\",\"name\":\"p\"},\"responseObject\":{\"status\":{"
          "\"containerStatuses\":[{\"containerID\":\"docker://" CID1 "\"}]}}}",
          &rec);
    cr_expect_null(rec.facts);
    ct_record_release(&rec);
}

/* --- entity keys: posted when sealed, found by scans, old blocks too --- */

#include <stdio.h>
#include <unistd.h>

#include "ctrail/store.h"

static const char *const audit_lines[] = {
    "{\"kind\":\"Event\",\"auditID\":\"k1\",\"stage\":\"ResponseComplete\",\"verb\":\"delete\","
    "\"user\":{\"username\":\"system:admin\"},\"impersonatedUser\":{\"username\":\"bob\"},"
    "\"sourceIPs\":[\"10.0.0.7\",\"192.168.1.2\"],\"responseStatus\":{\"code\":403},"
    "\"stageTimestamp\":\"2024-01-01T00:00:01Z\",\"objectRef\":{\"resource\":\"secrets\","
    "\"namespace\":\"kube-system\",\"name\":\"token\"}}",
    "{\"kind\":\"Event\",\"auditID\":\"k2\",\"stage\":\"ResponseStarted\",\"verb\":\"create\","
    "\"user\":{\"username\":\"alice\"},\"sourceIPs\":[\"10.0.0.8\"],"
    "\"responseStatus\":{\"code\":101},\"stageTimestamp\":\"2024-01-01T00:00:02Z\","
    "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"shop\",\"name\":\"web\","
    "\"subresource\":\"exec\"}}",
};

typedef struct keyset {
    char keys[32][64];
    size_t n;
} keyset;

static void keep_key(void *ctx, const char *key, size_t len)
{
    keyset *k = ctx;

    cr_assert_lt(k->n, 32);
    snprintf(k->keys[k->n++], 64, "%.*s", (int)len, key);
}

static int has_key(const keyset *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->keys[i], key) == 0)
            return 1;
    return 0;
}

Test(k8s, record_keys)
{
    keyset k = {0};
    static const char *const want[] = {"u:bob",         "v:delete",   "r:secrets",
                                       "n:kube-system", "o:token",    "a:10.0.0.7",
                                       "a:192.168.1.2", "x:403"};

    ct_ingest_record_keys(CT_SRC_K8S_AUDIT, audit_lines[0], strlen(audit_lines[0]), keep_key, &k);
    cr_expect_eq(k.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect(has_key(&k, want[i]), "no key %s", want[i]);
    memset(&k, 0, sizeof(k));
    ct_ingest_record_keys(CT_SRC_K8S_AUDIT, audit_lines[1], strlen(audit_lines[1]), keep_key, &k);
    cr_expect(has_key(&k, "r:pods") && has_key(&k, "r:pods/exec") && has_key(&k, "o:web"));
    memset(&k, 0, sizeof(k));
    ct_ingest_record_keys(CT_SRC_DOCKER, audit_lines[0], strlen(audit_lines[0]), keep_key, &k);
    cr_expect_eq(k.n, 0, "only audit events have further keys");
    ct_ingest_record_keys(CT_SRC_K8S_AUDIT, "{not json", 9, keep_key, &k);
    cr_expect_eq(k.n, 0);
}

static void keys_into(void *ctx, const char *key, size_t len)
{
    cr_assert(len >= 3 && key[1] == ':');
    cr_assert_eq(ct_record_add_key(ctx, key[0], key + 2, len - 2), 0);
}

/* Two audit events into a block.  with_callback: the writer computes the
 * records' further keys with ct_ingest_record_keys; else the records carry
 * them (rec.keys), as the parsers hand them over. */
static void store_lines(const char *dir, int with_callback, int64_t shift_s)
{
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};
    ct_record recs[2] = {{0}};
    ct_append_result res = {0};

    ct_store_opts_init(&o);
    o.dedup_key = ct_ingest_dedup_key;
    o.record_keys = with_callback ? ct_ingest_record_keys : NULL;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "open: %s", err.msg);
    for (int i = 0; i < 2; i++) {
        json_t *obj = json_loads(audit_lines[i], 0, NULL);

        cr_assert_eq(ct_k8s_audit_parse(obj, audit_lines[i], strlen(audit_lines[i]), &recs[i],
                                        &err),
                     CT_OK, "%s", err.msg);
        json_decref(obj);
        recs[i].ts_ns += shift_s * 1000000000LL;
        free(recs[i].dedup); /* the shifted copies are new events */
        recs[i].dedup = NULL;
        if (with_callback) {
            free(recs[i].keys);
            recs[i].keys = NULL;
            recs[i].keys_len = 0;
        } else if (recs[i].keys == NULL) {
            ct_ingest_record_keys(recs[i].source, recs[i].raw, recs[i].raw_len, keys_into,
                                  &recs[i]);
        }
    }
    cr_assert_eq(ct_store_append(s, recs, 2, &res, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(res.accepted, 2);
    ct_record_release(&recs[0]);
    ct_record_release(&recs[1]);
    cr_assert_eq(ct_store_close(s, &err), CT_OK, "close (seals): %s", err.msg);
}

static ct_status count_rec(void *ctx, const ct_record *rec, ct_error *err)
{
    (void)rec;
    (void)err;
    (*(size_t *)ctx)++;
    return CT_OK;
}

static size_t count(ct_store *s, const char *user, const char *const *keys, size_t n_keys)
{
    ct_filter f;
    ct_error err = {0};
    size_t n = 0;

    ct_filter_init(&f);
    f.user = user;
    f.all_keys = keys;
    f.n_all_keys = n_keys;
    f.record_keys = ct_ingest_record_keys;
    cr_assert_eq(ct_store_scan(s, &f, count_rec, &n, &err), CT_OK, "%s", err.msg);
    return n;
}

Test(k8s, keys_found_from_the_callback_and_from_the_records)
{
    char dir[] = "/tmp/ctrail-test-k8s-XXXXXX";
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};
    static const char *const del[] = {"v:delete"}, *const both[] = {"v:create", "r:pods/exec"},
                             *const none[] = {"v:create", "x:403"}, *const ip[] = {"a:10.0.0.7"};
    char cmd[64];

    cr_assert_not_null(mkdtemp(dir));
    store_lines(dir, 1, 0);   /* block 1: keys computed by the writer */
    store_lines(dir, 0, 100); /* block 2: keys carried by the records */
    ct_store_opts_init(&o);
    o.read_only = 1;
    cr_assert_eq(ct_store_open(dir, &o, &s, &err), CT_OK, "%s", err.msg);
    cr_expect_eq(count(s, NULL, del, 1), 2, "v:delete in both blocks");
    cr_expect_eq(count(s, NULL, both, 2), 2);
    cr_expect_eq(count(s, NULL, none, 2), 0, "every key must hold");
    cr_expect_eq(count(s, NULL, ip, 1), 2);
    cr_expect_eq(count(s, "bob", NULL, 0), 2, "the impersonated user, both blocks");
    cr_expect_eq(count(s, "system:admin", NULL, 0), 2);
    cr_expect_eq(count(s, "alice", del, 1), 0);
    cr_assert_eq(ct_store_close(s, &err), CT_OK);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}
