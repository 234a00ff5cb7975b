/*
 * collector/auditd.c - one Linux audit record line to a record.
 *
 *   [node=HOST ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL):[ ]fields...
 *
 * One audit event spans several records sharing SECONDS.MILLIS:SERIAL,
 * possibly interleaved with other events' records; each line stays its own
 * record here (grouping is a query concern, and serials wrap).  TYPE is
 * kept as written, including "UNKNOWN[1329]".  The buffer layer gives each
 * line its dedup key, since two identical records can legitimately occur.
 */
#include "ctrail/ingest.h"

#include <string.h>

#include "ctrail/time.h"
#include "parse_util.h"

#define NS_PER_SEC 1000000000LL

typedef struct audit_head {
    const char *node, *type;
    size_t node_len, type_len;
    size_t msg_off; /* offset of "msg=audit(" */
} audit_head;

/* "[node=H ]type=T " then spaces: 1 and the parts, or 0. */
static int audit_header(const char *s, size_t len, audit_head *h)
{
    size_t off = 0;

    memset(h, 0, sizeof(*h));
    if (len >= 5 && memcmp(s, "node=", 5) == 0) {
        h->node = s + 5;
        while (5 + h->node_len < len && s[5 + h->node_len] != ' ')
            h->node_len++;
        off = 5 + h->node_len;
        while (off < len && s[off] == ' ')
            off++;
    }
    if (len - off < 5 || memcmp(s + off, "type=", 5) != 0)
        return 0;
    off += 5;
    h->type = s + off;
    while (off < len && s[off] != ' ')
        off++, h->type_len++;
    while (off < len && s[off] == ' ')
        off++;
    h->msg_off = off;
    return h->type_len > 0;
}

int pu_auditd_detect(const char *line, size_t len)
{
    audit_head h;

    return audit_header(line, len, &h) && len - h.msg_off >= 10 &&
           memcmp(line + h.msg_off, "msg=audit(", 10) == 0;
}

/* Digits at s[*off..], at most max of them: 1 and the value, or 0. */
static int audit_number(const char *s, size_t len, size_t *off, int max, int64_t *ret,
                        int *ret_ndigits)
{
    int64_t v = 0;
    int n = 0;

    while (*off < len && s[*off] >= '0' && s[*off] <= '9') {
        if (n == max)
            return 0;
        v = v * 10 + (s[*off] - '0');
        (*off)++;
        n++;
    }
    *ret = v;
    if (ret_ndigits != NULL)
        *ret_ndigits = n;
    return n > 0;
}

ct_status ct_auditd_parse(const char *line, size_t len, ct_record *rec, ct_error *err)
{
    ct_record r = {0};
    audit_head h;
    size_t off;
    int64_t sec, frac, serial;
    int nfrac;

    if (line == NULL || len == 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "empty audit line");
    if (!audit_header(line, len, &h))
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit line does not start with type=");
    if (h.type_len > 64 || h.node_len > 255)
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit %s is too long",
                            h.type_len > 64 ? "type" : "node name");
    off = h.msg_off;
    if (len - off < 10 || memcmp(line + off, "msg=audit(", 10) != 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit line has no msg=audit( stamp");
    off += 10;
    /* 11 digits of seconds reach year 5138; 9 of fraction are ns */
    if (!audit_number(line, len, &off, 11, &sec, NULL) || off >= len || line[off++] != '.' ||
        !audit_number(line, len, &off, 9, &frac, &nfrac) || off >= len ||
        line[off++] != ':' || !audit_number(line, len, &off, 20, &serial, NULL) ||
        off >= len || line[off] != ')')
        return ct_error_set(err, CT_ERR_PARSE, 0, "audit stamp is not SECONDS.MILLIS:SERIAL");
    for (; nfrac < 9; nfrac++)
        frac *= 10;
    (void)serial;

    r.source = CT_SRC_AUDITD;
    r.ingest_ns = ct_time_now_ns();
    r.ts_ns = sec * NS_PER_SEC + frac;
    r.kind = pu_printf("auditd.%.*s", (int)h.type_len, h.type);
    if (r.kind == NULL || (h.node_len > 0 && (r.host = ct_strndup(h.node, h.node_len)) == NULL) ||
        pu_set_cid(&r, line, len) != 0 || (r.raw = ct_strndup(line, len)) == NULL) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    r.raw_len = len;
    ct_record_move(rec, &r);
    return CT_OK;
}
