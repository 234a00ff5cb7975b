/*
 * query/output.c - records and containers as JSON lines and table text.
 *
 * The raw payload is evidence: a one-line JSON object goes out exactly as it
 * came in (spliced after the envelope that jansson serialised), so
 * `ctrail events -o json | jq .raw` shows the original bytes' content and a
 * byte comparison of the raw span holds.  Payloads that span lines are
 * re-serialised compactly to keep one record per line (`-o raw` prints the
 * exact bytes).  Log lines become JSON strings; a line that is not valid
 * UTF-8 is shown with U+FFFD for each bad byte and carried exactly in
 * raw_base64.  An audited pods/exec request also gets exec_command, the
 * command its requestURI carries, decoded (the raw stays as it came).
 */
#include "ctrail/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctrail/ingest.h"
#include "ctrail/k8s.h"
#include "ctrail/time.h"

static json_t *str_or_null(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;

    return j != NULL ? j : json_null();
}

static int raw_is_json(const ct_record *rec)
{
    return (rec->source == CT_SRC_DOCKER || rec->source == CT_SRC_INSPECT ||
            rec->source == CT_SRC_K8S_AUDIT || rec->source == CT_SRC_CONTAINER_LOG) &&
           rec->raw_len > 0;
}

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* A JSON string for a log line: exact when valid UTF-8, else lossy. */
static json_t *text_json(const char *raw, size_t len, int *ret_lossy)
{
    json_t *j = json_stringn(raw, len);
    char *fixed;
    size_t o = 0;

    *ret_lossy = 0;
    if (j != NULL)
        return j;
    fixed = malloc(len * 3 + 1);
    if (fixed == NULL)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t l = utf8_seq((const unsigned char *)raw + i, len - i);

        if (l == 0) {
            memcpy(fixed + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(fixed + o, raw + i, l);
            o += l;
            i += l;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    *ret_lossy = 1;
    return j;
}

/* An audited pods/exec request: its command (from the requestURI) is shown
 * as a field of its own, exec_command. */
static int is_exec(const ct_record *rec)
{
    size_t n = rec->kind != NULL ? strlen(rec->kind) : 0;

    return rec->source == CT_SRC_K8S_AUDIT && n >= 9 && strcmp(rec->kind + n - 9, "pods/exec") == 0;
}

/* Owned, or NULL when the request names no command. */
static char *exec_command(const ct_record *rec)
{
    json_t *o = json_loadb(rec->raw, rec->raw_len, 0, NULL);
    json_t *uri = json_object_get(o, "requestURI");
    char *cmd = json_is_string(uri) ? ct_k8s_exec_command(json_string_value(uri)) : NULL;

    json_decref(o);
    return cmd;
}

/* header bytes may be anything: json_stringn refuses invalid UTF-8 */
static json_t *span_or_null(const ct_syslog_span *sp)
{
    json_t *v = sp->p != NULL ? json_stringn(sp->p, sp->len) : NULL;

    return v != NULL ? v : json_null();
}

/* A syslog message's header fields beyond the envelope's host, read again
 * from its raw bytes: facility, severity, app, pid, msgid. */
static void syslog_fields(const ct_record *rec, json_t *o)
{
    ct_syslog_header h;
    const char *fac, *sev;

    if (rec->raw == NULL || ct_syslog_header_parse(rec->raw, rec->raw_len, &h, NULL) != CT_OK)
        return;
    fac = ct_syslog_facility_name(h.facility);
    sev = ct_syslog_severity_name(h.severity);
    json_object_set_new(o, "facility", str_or_null(fac));
    json_object_set_new(o, "severity", str_or_null(sev));
    json_object_set_new(o, "app", span_or_null(&h.app));
    json_object_set_new(o, "pid", span_or_null(&h.pid));
    if (h.msgid.p != NULL)
        json_object_set_new(o, "msgid", span_or_null(&h.msgid));
}

static json_t *envelope(const ct_record *rec)
{
    char ts[CT_TIME_BUF], its[CT_TIME_BUF];
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "ts", json_string(ct_time_format(rec->ts_ns, ts)));
    json_object_set_new(o, "ingest_ts", json_string(ct_time_format(rec->ingest_ns, its)));
    json_object_set_new(o, "source", json_string(ct_source_name(rec->source)));
    json_object_set_new(o, "kind", str_or_null(rec->kind));
    json_object_set_new(o, "container", str_or_null(rec->container));
    json_object_set_new(o, "name", str_or_null(rec->name));
    json_object_set_new(o, "image", str_or_null(rec->image));
    json_object_set_new(o, "pod", str_or_null(rec->pod_name));
    json_object_set_new(o, "namespace", str_or_null(rec->pod_ns));
    json_object_set_new(o, "pod_uid", str_or_null(rec->pod_uid));
    json_object_set_new(o, "user", str_or_null(rec->user));
    json_object_set_new(o, "host", str_or_null(rec->host));
    if (rec->source == CT_SRC_SYSLOG)
        syslog_fields(rec, o);
    if (is_exec(rec)) {
        char *cmd = exec_command(rec);

        if (cmd != NULL)
            json_object_set_new(o, "exec_command", json_string(cmd));
        free(cmd);
    }
    return o;
}

char *ct_record_json_line(const ct_record *rec, size_t *ret_len)
{
    json_t *o = envelope(rec), *parsed = NULL;
    char *head = NULL, *out = NULL, *compact = NULL;
    const char *raw = rec->raw != NULL ? rec->raw : "";
    size_t raw_len = rec->raw_len, hl;

    if (o == NULL)
        return NULL;
    if (raw_is_json(rec) && memchr(raw, '\n', raw_len) != NULL) {
        parsed = json_loadb(raw, raw_len, 0, NULL);
        compact = parsed != NULL ? json_dumps(parsed, JSON_COMPACT) : NULL;
        json_decref(parsed);
        if (compact != NULL)
            raw = compact, raw_len = strlen(compact);
    }
    if (!raw_is_json(rec) || (memchr(raw, '\n', raw_len) != NULL)) {
        int lossy = 0;
        json_t *t = text_json(raw, raw_len, &lossy);

        json_object_set_new(o, "raw", t != NULL ? t : json_null());
        if (lossy) {
            size_t b64 = sodium_base64_encoded_len(raw_len, sodium_base64_VARIANT_ORIGINAL);
            char *enc = malloc(b64);

            if (enc != NULL) {
                sodium_bin2base64(enc, b64, (const unsigned char *)raw, raw_len,
                                  sodium_base64_VARIANT_ORIGINAL);
                json_object_set_new(o, "raw_base64", json_string(enc));
                free(enc);
            }
        }
        out = json_dumps(o, JSON_COMPACT);
        if (out != NULL && ret_len != NULL)
            *ret_len = strlen(out);
        goto done;
    }
    head = json_dumps(o, JSON_COMPACT);
    if (head == NULL)
        goto done;
    hl = strlen(head); /* "{...}": drop the '}' and splice ,"raw":RAW} */
    out = malloc(hl + raw_len + 16);
    if (out != NULL) {
        size_t n = hl - 1;

        memcpy(out, head, n);
        memcpy(out + n, ",\"raw\":", 7);
        n += 7;
        memcpy(out + n, raw, raw_len);
        n += raw_len;
        out[n++] = '}';
        out[n] = '\0';
        if (ret_len != NULL)
            *ret_len = n;
    }
done:
    free(head);
    free(compact);
    json_decref(o);
    return out;
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);

    if (path2 != NULL)
        v = json_object_get(v, path2);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void add(char *buf, size_t cap, const char *label, const char *v)
{
    size_t n = strlen(buf);

    if (v == NULL || v[0] == '\0' || n >= cap - 1)
        return;
    (void)snprintf(buf + n, cap - n, "%s%s%s", n ? " " : "", label, v);
}

static void summarize_json(const ct_record *rec, json_t *o, char *buf, size_t cap)
{
    json_t *attrs = json_object_get(json_object_get(o, "Actor"), "Attributes");
    char num[32];

    switch (rec->source) {
    case CT_SRC_DOCKER: {
        const char *action = jstr(o, "Action", NULL);
        const char *colon = action != NULL ? strchr(action, ':') : NULL;

        add(buf, cap, "name=", jstr(attrs, "name", NULL));
        add(buf, cap, "image=", jstr(attrs, "image", NULL));
        add(buf, cap, "exitCode=", jstr(attrs, "exitCode", NULL));
        add(buf, cap, "signal=", jstr(attrs, "signal", NULL));
        add(buf, cap, "cmd=", colon != NULL ? colon + 2 : NULL);
        break;
    }
    case CT_SRC_INSPECT: {
        json_t *state = json_object_get(o, "State");
        json_t *priv = json_object_get(json_object_get(o, "HostConfig"), "Privileged");

        add(buf, cap, "state=", jstr(state, "Status", NULL));
        if (json_is_integer(json_object_get(state, "ExitCode"))) {
            (void)snprintf(num, sizeof(num), "%lld",
                           (long long)json_integer_value(json_object_get(state, "ExitCode")));
            add(buf, cap, "exit=", num);
        }
        if (json_is_true(priv))
            add(buf, cap, "", "PRIVILEGED");
        add(buf, cap, "image=", jstr(o, "Config", "Image"));
        add(buf, cap, "path=", jstr(o, "Path", NULL));
        add(buf, cap, "exec_user=", jstr(o, "ProcessConfig", "user"));
        add(buf, cap, "entrypoint=", jstr(o, "ProcessConfig", "entrypoint"));
        break;
    }
    case CT_SRC_K8S_AUDIT: {
        char *cmd = is_exec(rec) && jstr(o, "requestURI", NULL) != NULL
                        ? ct_k8s_exec_command(jstr(o, "requestURI", NULL))
                        : NULL;

        add(buf, cap, "user=", jstr(o, "user", "username"));
        add(buf, cap, "as=", jstr(o, "impersonatedUser", "username"));
        add(buf, cap, "", jstr(o, "verb", NULL));
        add(buf, cap, "exec_command=", cmd);
        add(buf, cap, "", jstr(o, "requestURI", NULL));
        free(cmd);
        if (json_is_integer(json_object_get(json_object_get(o, "responseStatus"), "code"))) {
            (void)snprintf(num, sizeof(num), "%lld",
                           (long long)json_integer_value(
                               json_object_get(json_object_get(o, "responseStatus"), "code")));
            add(buf, cap, "code=", num);
        }
        add(buf, cap, "stage=", jstr(o, "stage", NULL));
        break;
    }
    case CT_SRC_CONTAINER_LOG:
        add(buf, cap, "", jstr(o, "log", NULL));
        break;
    default:
        break;
    }
}

char *ct_record_summary(const ct_record *rec)
{
    char buf[512] = "";
    size_t n;

    if (raw_is_json(rec)) {
        json_t *o = json_loadb(rec->raw, rec->raw_len, 0, NULL);

        if (o != NULL)
            summarize_json(rec, o, buf, sizeof(buf));
        json_decref(o);
    }
    if (buf[0] == '\0' && rec->raw != NULL) {
        n = rec->raw_len < 200 ? rec->raw_len : 200;
        memcpy(buf, rec->raw, n);
        buf[n] = '\0';
    }
    for (char *p = buf; *p; p++) /* keep table rows on one line */
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return ct_strdup(buf);
}

static json_t *time_or_null(int64_t ns)
{
    char buf[CT_TIME_BUF];

    return ns != 0 ? json_string(ct_time_format(ns, buf)) : json_null();
}

json_t *ct_container_to_json(const ct_container *c)
{
    json_t *o = json_object(), *details;

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "id", str_or_null(c->id));
    json_object_set_new(o, "name", str_or_null(c->name));
    json_object_set_new(o, "image", str_or_null(c->image));
    json_object_set_new(o, "image_id", str_or_null(c->image_id));
    json_object_set_new(o, "state", str_or_null(c->state));
    json_object_set_new(o, "created", time_or_null(c->created_ns));
    json_object_set_new(o, "started", time_or_null(c->started_ns));
    json_object_set_new(o, "died", time_or_null(c->died_ns));
    json_object_set_new(o, "destroyed", time_or_null(c->destroyed_ns));
    json_object_set_new(o, "exit_code", c->has_exit_code ? json_integer(c->exit_code) : json_null());
    json_object_set_new(o, "privileged", c->privileged == CT_PRIV_UNKNOWN ? json_null()
                                                                          : json_boolean(c->privileged));
    json_object_set_new(o, "pod", str_or_null(c->pod_name));
    json_object_set_new(o, "namespace", str_or_null(c->pod_ns));
    json_object_set_new(o, "pod_uid", str_or_null(c->pod_uid));
    json_object_set_new(o, "first_seen", time_or_null(c->first_seen_ns));
    json_object_set_new(o, "last_seen", time_or_null(c->last_seen_ns));
    details = json_loads(c->details != NULL ? c->details : "{}", 0, NULL);
    json_object_set_new(o, "details", details != NULL ? details : json_object());
    return o;
}
