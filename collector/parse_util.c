/*
 * collector/parse_util.c - small helpers shared by the source parsers.
 *
 * Nothing here knows a source format; the format-specific detectors live
 * beside their parsers (syslog.c, auditd.c) and are only declared in
 * parse_util.h.
 */
#include "parse_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pu_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *pu_str_nonempty(const json_t *obj, const char *key)
{
    const char *s = pu_str(obj, key);

    return s != NULL && s[0] != '\0' ? s : NULL;
}

json_t *pu_obj(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_object(v) ? v : NULL;
}

int pu_dup_field(const json_t *obj, const char *key, char **ret)
{
    const char *s = pu_str_nonempty(obj, key);

    *ret = NULL;
    if (s == NULL)
        return 0;
    *ret = ct_strdup(s);
    return *ret == NULL ? -1 : 0;
}

char *pu_printf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = malloc((size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    (void)vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static int is_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Ids are lowercase; upper-case hex runs (auditd proctitle=, a2=) are
 * payload encodings, and "sha256:<hex>" is an image digest, not a
 * container. */
const char *pu_find_cid(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t start, run;

        if (!is_lower_hex((unsigned char)s[i])) {
            i++;
            continue;
        }
        start = i;
        while (i < len && is_lower_hex((unsigned char)s[i]))
            i++;
        run = i - start;
        if (run != PU_CID_LEN)
            continue;
        if (start >= 7 && memcmp(s + start - 7, "sha256:", 7) == 0)
            continue;
        if ((i < len && ((s[i] >= 'A' && s[i] <= 'F') || (s[i] >= 'g' && s[i] <= 'z'))) ||
            (start > 0 && ((s[start - 1] >= 'A' && s[start - 1] <= 'F') ||
                           (s[start - 1] >= 'g' && s[start - 1] <= 'z'))))
            continue; /* part of a longer word, not an id */
        return s + start;
    }
    return NULL;
}

int pu_set_cid(ct_record *rec, const char *s, size_t len)
{
    const char *cid = pu_find_cid(s, len);

    if (cid == NULL)
        return 0;
    rec->container = ct_strndup(cid, PU_CID_LEN);
    return rec->container == NULL ? -1 : 0;
}

int pu_set_raw_json(ct_record *rec, const json_t *obj, const char *raw, size_t len)
{
    if (raw == NULL) {
        rec->raw = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
        if (rec->raw == NULL)
            return -1;
        rec->raw_len = strlen(rec->raw);
        return 0;
    }
    rec->raw = ct_strndup(raw, len);
    if (rec->raw == NULL)
        return -1;
    rec->raw_len = len;
    return 0;
}

ct_status pu_oom(ct_error *err)
{
    return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
}
