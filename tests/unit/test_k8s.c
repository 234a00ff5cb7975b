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
