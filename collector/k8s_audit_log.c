/*
 * collector/k8s_audit_log.c - `ctrail serve --k8s-audit-log PATH`.
 *
 * kube-apiserver's log backend (--audit-log-path, --audit-log-format=json,
 * the default) writes one audit.k8s.io Event per line and rotates by
 * renaming the file (audit-2024-01-01T00-00-00.000.log) and starting a new
 * one.  The file tail (tail.h) follows that, truncation too, and commits
 * each read's records with the file position as the cursor
 * "k8s_audit:<path>" in one transaction, so every line is stored once
 * across restarts; an event that also came by the webhook is dropped by
 * its auditID|stage key.
 *
 * Every non-blank line must be one Event (ct_k8s_audit_parse, raw = the
 * line's bytes); anything else is rejected and logged, and the lines
 * around it are kept.  Lines may be as long as the store's largest record
 * (16 MiB: RequestResponse events carry whole objects); a longer one is
 * cut by the tail and rejected.
 */
#include <stdio.h>
#include <string.h>

#include "ctrail/ingest.h"
#include "ctrail/k8s.h"
#include "ctrail/tail.h"

#define AUDIT_MAX_LINE (16u << 20)

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

static ct_status audit_parse(void *ctx, ct_tail_file *file, const ct_tail_line *lines, size_t n,
                             ct_tail_out *out, ct_error *err)
{
    (void)ctx;
    (void)file;
    for (size_t i = 0; i < n; i++) {
        const ct_tail_line *l = &lines[i];
        json_error_t jerr;
        json_t *obj;
        ct_record rec = {0};
        ct_error perr = {0};
        ct_status rc;
        char reason[300];

        if (blank(l->p, l->len))
            continue;
        if (l->flags & CT_TAIL_CUT) {
            (void)snprintf(reason, sizeof(reason),
                           "audit event of %llu bytes is over the %u-byte line limit",
                           (unsigned long long)l->full_len, AUDIT_MAX_LINE);
            ct_tail_reject(out, l, reason);
            continue;
        }
        obj = json_loadb(l->p, l->len, JSON_ALLOW_NUL, &jerr);
        if (obj == NULL) {
            (void)snprintf(reason, sizeof(reason), "not json: %s", jerr.text);
            ct_tail_reject(out, l, reason);
            continue;
        }
        rc = ct_k8s_audit_parse(obj, l->p, l->len, &rec, &perr);
        json_decref(obj);
        if (rc == CT_ERR_NOMEM) {
            *err = perr;
            return rc;
        }
        if (rc != CT_OK) {
            ct_tail_reject(out, l, perr.msg);
            continue;
        }
        rc = ct_tail_emit(out, &rec, err);
        ct_record_release(&rec);
        if (rc != CT_OK)
            return rc;
    }
    return CT_OK;
}

ct_status ct_k8s_audit_log_start(ct_serve *sv, const char *path, ct_error *err)
{
    ct_tail_opts o;

    ct_tail_opts_init(&o);
    o.path = path;
    o.cursor_prefix = "k8s_audit";
    o.ready_kind = "k8s_audit_log";
    o.parse = audit_parse;
    o.max_line = AUDIT_MAX_LINE;
    return ct_tail_start(sv, &o, NULL, err);
}
