/*
 * collector/syslog.c - one syslog message or syslog file line to a record.
 *
 * Shapes accepted (host-logs/ in the fixtures has each):
 *   RFC 5424   <PRI>VER TS HOST APP PROCID MSGID SD [MSG]   (TS may be "-")
 *   RFC 3164   <PRI>Mmm dd hh:mm:ss HOST TAG: MSG          (day space-padded)
 *              <PRI>Mmm dd hh:mm:ss TAG: MSG               (logger -u: no host)
 *              <PRI>RFC3339 HOST TAG: MSG                  (rsyslog forwarding)
 *   file line  Mmm d hh:mm:ss HOST TAG[PID]: MSG           (no PRI)
 *              RFC3339 HOST TAG: MSG
 * BSD stamps have no year and no zone: they are UTC, in the year of ref_ns
 * (the file's mtime, or the receive time), or the year before when that
 * would put them more than a day after ref_ns (December lines read in
 * January).  An RFC 5424 NILVALUE timestamp means the sender had no clock;
 * the receive time (ref_ns) stands in for it.  Any other line without a
 * time it can read is refused: a record's ts must come from the source.
 *
 * Only the envelope is extracted (ts, host, facility/severity); the
 * message stays in raw, byte for byte.  ct_syslog_header_parse() reads the
 * rest of the header (app, pid, msgid) again from a stored raw, for the
 * queries and output that show or filter by them.
 */
#include "ctrail/ingest.h"

#include <string.h>

#include "ctrail/time.h"
#include "parse_util.h"

#define NS_PER_SEC 1000000000LL
#define NS_PER_DAY (86400LL * NS_PER_SEC)

static const char *const facilities[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",       "lpr",
    "news",   "uucp",   "cron",     "authpriv", "ftp",  "ntp",          "security",
    "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
};
static const char *const severities[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

typedef struct bsd_stamp {
    unsigned mon, day; /* 1-based */
    int h, mi, s;
    int64_t frac_ns;
} bsd_stamp;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "<n>" with 1..3 digits: bytes used (0 when absent); *ret_pri = n. */
static size_t parse_pri(const char *s, size_t len, int *ret_pri)
{
    size_t i = 1;
    int v = 0;

    if (len < 3 || s[0] != '<')
        return 0;
    while (i < len && i <= 3 && is_digit(s[i]))
        v = v * 10 + (s[i++] - '0');
    if (i == 1 || i >= len || s[i] != '>')
        return 0;
    *ret_pri = v;
    return i + 1;
}

static int two_digits(const char *s, int *ret)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return 0;
    *ret = (s[0] - '0') * 10 + (s[1] - '0');
    return 1;
}

/* "Mmm dd hh:mm:ss[.frac]" followed by a space or the end: bytes used, or
 * 0 when s does not start with a BSD stamp. */
static size_t parse_bsd(const char *s, size_t len, bsd_stamp *b)
{
    const char *m;
    size_t i = 3;
    unsigned day = 0;
    int n = 0;

    if (len < 14)
        return 0;
    for (m = months; *m != '\0'; m += 3)
        if (memcmp(s, m, 3) == 0)
            break;
    if (*m == '\0' || s[3] != ' ')
        return 0;
    while (i < len && s[i] == ' ')
        i++;
    while (i < len && is_digit(s[i]) && n < 2)
        day = day * 10 + (unsigned)(s[i++] - '0'), n++;
    if (n == 0 || day < 1 || day > 31 || i + 9 > len || s[i] != ' ')
        return 0;
    i++;
    if (!two_digits(s + i, &b->h) || s[i + 2] != ':' || !two_digits(s + i + 3, &b->mi) ||
        s[i + 5] != ':' || !two_digits(s + i + 6, &b->s) || b->h > 23 || b->mi > 59 ||
        b->s > 60)
        return 0;
    i += 8;
    b->frac_ns = 0;
    if (i < len && s[i] == '.') {
        int64_t scale = 100000000;

        i++;
        if (i >= len || !is_digit(s[i]))
            return 0;
        for (; i < len && is_digit(s[i]); i++, scale /= 10)
            b->frac_ns += (s[i] - '0') * scale;
    }
    if (i < len && s[i] != ' ')
        return 0;
    b->mon = (unsigned)((m - months) / 3) + 1;
    b->day = day;
    return i;
}

static int64_t year_of(int64_t ns)
{
    int64_t days = ns / NS_PER_DAY - (ns % NS_PER_DAY < 0), era, y;
    unsigned doe, yoe, doy, mp;

    /* Howard Hinnant's civil_from_days, year only */
    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = (unsigned)(days - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    return y + (mp >= 10);
}

static int days_in_month(int64_t y, unsigned m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return mdays[m - 1] + (m == 2 && leap);
}

static int64_t bsd_at(const bsd_stamp *b, int64_t y)
{
    int s = b->s == 60 ? 59 : b->s; /* leap second folds onto :59 */

    return (ct_time_days_from_civil(y, b->mon, b->day) * 86400 + b->h * 3600LL + b->mi * 60LL +
            s) * NS_PER_SEC + b->frac_ns;
}

static ct_status bsd_to_ns(const bsd_stamp *b, int64_t ref_ns, int64_t *ret, ct_error *err)
{
    int64_t y = year_of(ref_ns);

    if (y < 1679 || y > 2261)
        return ct_error_set(err, CT_ERR_PARSE, 0, "reference time is out of range");
    if ((int)b->day <= days_in_month(y, b->mon) && bsd_at(b, y) <= ref_ns + NS_PER_DAY) {
        *ret = bsd_at(b, y);
        return CT_OK;
    }
    y--; /* the future, or Feb 29 of a common year: last year's */
    if ((int)b->day > days_in_month(y, b->mon))
        return ct_error_set(err, CT_ERR_PARSE, 0, "syslog date %.3s %u does not exist",
                            months + 3 * (b->mon - 1), b->day);
    *ret = bsd_at(b, y);
    return CT_OK;
}

/* Next space-delimited token at *off (skipping spaces): its start and
 * length, 0 length at the end. */
static size_t next_token(const char *s, size_t len, size_t *off, const char **ret)
{
    size_t i = *off, start;

    while (i < len && s[i] == ' ')
        i++;
    start = i;
    while (i < len && s[i] != ' ')
        i++;
    *ret = s + start;
    *off = i;
    return i - start;
}

/* Length of an RFC 5424 VERSION (1-3 digits then a space or the end) at
 * s, or 0. */
static size_t version_len(const char *s, size_t len)
{
    size_t v = 0;

    while (v < len && v < 4 && is_digit(s[v]))
        v++;
    return v >= 1 && v <= 3 && (v == len || s[v] == ' ') ? v : 0;
}

/* A header token, or no span for RFC 5424's NILVALUE "-". */
static void nil_or_span(const char *tok, size_t n, ct_syslog_span *ret)
{
    ret->p = n == 0 || (n == 1 && tok[0] == '-') ? NULL : tok;
    ret->len = ret->p != NULL ? n : 0;
}

/* RFC 5424 after "<PRI>": VER TS HOST APP PROCID MSGID SD [MSG]. */
static ct_status parse_5424(const char *s, size_t len, size_t off, int64_t ref_ns, int64_t *ts,
                            ct_syslog_header *h, ct_error *err)
{
    ct_syslog_span *fields[3] = {&h->app, &h->pid, &h->msgid};
    const char *tok;
    size_t n;
    int missing;

    (void)next_token(s, len, &off, &tok); /* VER, checked by the caller */
    n = next_token(s, len, &off, &tok);
    if (n == 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "rfc 5424 header is truncated (no timestamp)");
    if (n == 1 && tok[0] == '-') {
        *ts = ref_ns;
    } else if (ct_time_parse_rfc3339(tok, n, ts, err) != CT_OK) {
        return ct_error_set(err, CT_ERR_PARSE, 0, "rfc 5424 timestamp '%.*s' is not RFC 3339",
                            (int)(n > 40 ? 40 : n), tok);
    }
    n = next_token(s, len, &off, &tok);
    nil_or_span(tok, n, &h->host);
    missing = n == 0;
    for (int field = 0; field < 3; field++) { /* APP-NAME PROCID MSGID */
        n = next_token(s, len, &off, &tok);
        nil_or_span(tok, n, fields[field]);
        if (n == 0)
            missing = 1;
    }
    while (off < len && s[off] == ' ')
        off++;
    if (missing || off >= len)
        return ct_error_set(err, CT_ERR_PARSE, 0, "rfc 5424 header is truncated");
    if (s[off] == '-') {
        off++;
    } else if (s[off] == '[') {
        /* SD-ELEMENTs: [id k="v" ...]...; values escape '"', '\' and ']' */
        while (off < len && s[off] == '[') {
            int quoted = 0;

            for (off++; off < len; off++) {
                if (quoted && s[off] == '\\' && off + 1 < len)
                    off++;
                else if (s[off] == '"')
                    quoted = !quoted;
                else if (!quoted && s[off] == ']')
                    break;
            }
            if (off >= len)
                return ct_error_set(err, CT_ERR_PARSE, 0, "rfc 5424 structured data is not closed");
            off++;
        }
    } else {
        return ct_error_set(err, CT_ERR_PARSE, 0, "rfc 5424 structured data is malformed");
    }
    if (off < len && s[off] != ' ')
        return ct_error_set(err, CT_ERR_PARSE, 0, "rfc 5424 structured data is malformed");
    return CT_OK;
}

/* "TAG:" or "TAG[PID]:" (RFC 3164's TAG, BSD syslog files): the app name
 * and pid, when tok[0..n) is one. */
static void parse_tag(const char *tok, size_t n, ct_syslog_header *h)
{
    const char *open;
    size_t tl;

    if (n < 2 || tok[n - 1] != ':')
        return;
    n--;
    open = memchr(tok, '[', n);
    tl = open != NULL ? (size_t)(open - tok) : n;
    if (open != NULL && tok[n - 1] == ']' && n - tl > 2) {
        h->pid.p = open + 1;
        h->pid.len = n - tl - 2;
    }
    if (tl > 0) {
        h->app.p = tok;
        h->app.len = tl;
    }
}

/* A BSD or RFC 3339 stamp at s+off, then "HOST TAG..." or "TAG: ..." */
static ct_status parse_stamped(const char *s, size_t len, size_t off, int64_t ref_ns,
                               int64_t *ts, ct_syslog_header *h, ct_error *err)
{
    bsd_stamp b;
    size_t used = parse_bsd(s + off, len - off, &b), n;
    const char *tok;

    if (used > 0) {
        if (bsd_to_ns(&b, ref_ns, ts, err) != CT_OK)
            return CT_ERR_PARSE;
    } else if (ct_time_parse_rfc3339_prefix(s + off, len - off, ts, &used, NULL) != CT_OK ||
               (off + used < len && s[off + used] != ' ')) {
        return ct_error_set(err, CT_ERR_PARSE, 0, "syslog line has no timestamp");
    }
    off += used;
    n = next_token(s, len, &off, &tok);
    /* "tag:" or "tag[pid]:" right after the stamp is a tag, not a host; the
     * "--- last message repeated N times ---" line has neither */
    if (n == 0 || tok[n - 1] == ':' || memchr(tok, '[', n) != NULL ||
        (n == 3 && memcmp(tok, "---", 3) == 0)) {
        parse_tag(tok, n, h);
        return CT_OK;
    }
    h->host.p = tok;
    h->host.len = n;
    n = next_token(s, len, &off, &tok);
    parse_tag(tok, n, h);
    return CT_OK;
}

/* The header of one message: PRI, then RFC 5424 or a stamped line. */
static ct_status parse_header(const char *line, size_t len, int64_t ref_ns, int64_t *ts,
                              ct_syslog_header *h, ct_error *err)
{
    int pri = -1;
    size_t off;

    memset(h, 0, sizeof(*h));
    h->facility = h->severity = -1;
    if (line == NULL || len == 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "empty syslog line");
    off = parse_pri(line, len, &pri);
    if (off > 0 && pri > 191)
        return ct_error_set(err, CT_ERR_PARSE, 0, "syslog pri %d is out of range", pri);
    if (pri >= 0) {
        h->facility = pri >> 3;
        h->severity = pri & 7;
    }
    /* RFC 5424 has a version (1-3 digits) and a space after PRI; RFC 3164
     * has a stamp, which may be RFC 3339 and so also start with a digit */
    if (off > 0 && off < len && line[off] >= '1' && line[off] <= '9' &&
        version_len(line + off, len - off) > 0)
        return parse_5424(line, len, off, ref_ns, ts, h, err);
    return parse_stamped(line, len, off, ref_ns, ts, h, err);
}

ct_status ct_syslog_header_parse(const char *line, size_t len, ct_syslog_header *h,
                                 ct_error *err)
{
    int64_t ts;
    ct_syslog_header tmp;
    ct_status rc = parse_header(line, len, ct_time_now_ns(), &ts, &tmp, err);

    if (rc == CT_OK)
        *h = tmp;
    return rc;
}

const char *ct_syslog_facility_name(int facility)
{
    return facility >= 0 && facility < 24 ? facilities[facility] : NULL;
}

const char *ct_syslog_severity_name(int severity)
{
    return severity >= 0 && severity < 8 ? severities[severity] : NULL;
}

ct_status ct_syslog_parse(const char *line, size_t len, int64_t ref_ns, ct_record *rec,
                          ct_error *err)
{
    ct_record r = {0};
    ct_syslog_header h;
    ct_status rc;

    if (ref_ns == 0)
        ref_ns = ct_time_now_ns();
    rc = parse_header(line, len, ref_ns, &r.ts_ns, &h, err);
    if (rc != CT_OK)
        return rc;

    r.source = CT_SRC_SYSLOG;
    r.ingest_ns = ct_time_now_ns();
    if (h.facility >= 0)
        r.kind = pu_printf("syslog.%s.%s", facilities[h.facility], severities[h.severity]);
    else
        r.kind = ct_strdup("syslog.line");
    if (r.kind == NULL ||
        (h.host.p != NULL && (r.host = ct_strndup(h.host.p, h.host.len)) == NULL) ||
        pu_set_cid(&r, line, len) != 0 || (r.raw = ct_strndup(line, len)) == NULL) {
        ct_record_release(&r);
        return pu_oom(err);
    }
    r.raw_len = len;
    ct_record_move(rec, &r);
    return CT_OK;
}

int pu_syslog_detect(const char *line, size_t len)
{
    bsd_stamp b;
    int pri;
    size_t used = 0;
    int64_t ns;

    if (parse_pri(line, len, &pri) > 0 || parse_bsd(line, len, &b) > 0)
        return 1;
    return ct_time_parse_rfc3339_prefix(line, len, &ns, &used, NULL) == CT_OK &&
           used + 1 < len && line[used] == ' ' && line[used + 1] != ' ';
}
