/*
 * ctrail/k8s.h - the Kubernetes audit collector.
 *
 * Audit events reach ctrail three ways, all parsed by ct_k8s_audit_parse
 * (ingest.h): `ctrail import`, the webhook POST /v1/k8s/audit of `ctrail
 * serve` (query/http_k8s.c), and the audit log files `ctrail serve
 * --k8s-audit-log PATH` follows.  The store drops an event it holds
 * already by its auditID and stage, so the webhook and the file may both
 * deliver it.  docs/kubernetes.md says how to point kube-apiserver at it.
 */
#ifndef CTRAIL_K8S_H
#define CTRAIL_K8S_H

#include <jansson.h>

#include "ctrail/error.h"
#include "ctrail/serve.h"
#include "ctrail/store.h"

/* The command of a pods/exec request, from the command= parameters of its
 * requestURI, URL-decoded and joined by spaces; an argument a shell would
 * split or expand is single-quoted ("sh -c 'cat /etc/shadow'").  NULL when
 * the URI has no command= (or memory runs out); else the caller owns the
 * result (free()). */
char *ct_k8s_exec_command(const char *request_uri);

/* The entity keys an audit Event is found by beyond its envelope (user,
 * pod): u:<impersonated user>, v:<verb>, r:<resource> and
 * r:<resource>/<subresource>, n:<namespace>, o:<object name> (for a create,
 * the name in the object), a:<each source IP>, x:<response code>.  Values
 * of 500 bytes or more are not keyed. */
void ct_k8s_audit_keys(const json_t *obj, ct_key_fn add, void *ctx);

/* `ctrail serve --k8s-audit-log PATH`: follow the JSON-lines audit log that
 * kube-apiserver writes with --audit-log-path (a path or a glob), through
 * the file tail (tail.h) with cursors "k8s_audit:<path>".  A file that
 * does not exist yet is waited for; only bad options or no memory fail. */
ct_status ct_k8s_audit_log_start(ct_serve *sv, const char *path, ct_error *err);

#endif
