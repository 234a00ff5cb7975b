/*
 * common/time.c - parsing and formatting event times.
 *
 * Sources disagree on time formats (RFC 3339 with 0..9 fractional digits,
 * "+0400" or "+04:00" offsets, unix seconds, nanosecond integers); every
 * collector turns them into int64 ns through these functions so that one
 * record's ts means the same thing as another's.
 */
#include "ctrail/time.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL
#define MIN_YEAR   1678 /* int64 ns covers 1677-09-21 .. 2262-04-11 */
#define MAX_YEAR   2261

int64_t ct_time_now_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Howard Hinnant's days_from_civil, exact for the whole range we accept. */
int64_t ct_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t len, size_t off, size_t n, int *ret)
{
    int v = 0;

    if (off + n > len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[off + i]))
            return 0;
        v = v * 10 + (s[off + i] - '0');
    }
    *ret = v;
    return 1;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

ct_status ct_time_parse_rfc3339_prefix(const char *s, size_t len, int64_t *ret_ns,
                                       size_t *ret_used, ct_error *err)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac = 0, ns;
    size_t off = 19;

    if (!digits(s, len, 0, 4, &y) || len < 19 || s[4] != '-' || !digits(s, len, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, len, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, len, 11, 2, &h) || s[13] != ':' || !digits(s, len, 14, 2, &mi) ||
        s[16] != ':' || !digits(s, len, 17, 2, &sec))
        return ct_error_set(err, CT_ERR_PARSE, 0, "not an RFC 3339 time");
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 ||
        mi > 59 || sec > 60)
        return ct_error_set(err, CT_ERR_PARSE, 0, "RFC 3339 time has a field out of range");
    if (y < MIN_YEAR || y > MAX_YEAR)
        return ct_error_set(err, CT_ERR_PARSE, 0, "year %d is out of range", y);
    if (sec == 60) /* leap second: fold onto the next second's start */
        sec = 59, frac = NS_PER_SEC - 1;
    if (off < len && (s[off] == '.' || s[off] == ',')) {
        int n = 0;

        off++;
        frac = 0;
        while (off < len && isdigit((unsigned char)s[off])) {
            if (n < 9)
                frac = frac * 10 + (s[off] - '0'), n++;
            off++;
        }
        if (n == 0)
            return ct_error_set(err, CT_ERR_PARSE, 0, "RFC 3339 fraction has no digits");
        for (; n < 9; n++)
            frac *= 10;
    }
    if (off < len && (s[off] == 'Z' || s[off] == 'z')) {
        off++;
    } else if (off < len && (s[off] == '+' || s[off] == '-')) {
        int sign = s[off] == '-' ? -1 : 1;

        if (!digits(s, len, off + 1, 2, &oh))
            return ct_error_set(err, CT_ERR_PARSE, 0, "RFC 3339 offset is malformed");
        off += 3;
        if (off < len && s[off] == ':') {
            if (!digits(s, len, off + 1, 2, &om))
                return ct_error_set(err, CT_ERR_PARSE, 0, "RFC 3339 offset is malformed");
            off += 3;
        } else if (digits(s, len, off, 2, &om)) {
            off += 2;
        }
        if (oh > 23 || om > 59)
            return ct_error_set(err, CT_ERR_PARSE, 0, "RFC 3339 offset is out of range");
        oh *= sign;
        om *= sign;
    }
    ns = (ct_time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL +
          mi * 60LL + sec - oh * 3600LL - om * 60LL);
    if (ns > INT64_MAX / NS_PER_SEC - 1 || ns < INT64_MIN / NS_PER_SEC + 1)
        return ct_error_set(err, CT_ERR_PARSE, 0, "time is out of range");
    *ret_ns = ns * NS_PER_SEC + frac;
    if (ret_used != NULL)
        *ret_used = off;
    return CT_OK;
}

ct_status ct_time_parse_rfc3339(const char *s, size_t len, int64_t *ret_ns, ct_error *err)
{
    size_t used = 0;
    int64_t ns;
    ct_status rc = ct_time_parse_rfc3339_prefix(s, len, &ns, &used, err);

    if (rc != CT_OK)
        return rc;
    if (used != len)
        return ct_error_set(err, CT_ERR_PARSE, 0, "trailing bytes after RFC 3339 time");
    *ret_ns = ns;
    return CT_OK;
}

int ct_time_is_zero_go(const char *s)
{
    return s != NULL && strncmp(s, "0001-01-01T00:00:00", 19) == 0;
}

/* "1795588683" or "1795588683.244071492" */
static int parse_unix(const char *s, int64_t *ret_ns)
{
    int64_t sec = 0, frac = 0;
    int n = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (sec > (INT64_MAX / NS_PER_SEC - 10) / 10)
            return 0;
        sec = sec * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++)
            if (n < 9)
                frac = frac * 10 + (*p - '0'), n++;
        for (; n < 9; n++)
            frac *= 10;
    }
    if (*p != '\0')
        return 0;
    *ret_ns = sec * NS_PER_SEC + frac;
    return 1;
}

/* "90s", "10m", "2h", "3d", "1h30m", "500ms" */
static int parse_duration(const char *s, int64_t *ret_ns)
{
    int64_t total = 0;
    const char *p = s;

    if (*p == '\0')
        return 0;
    while (*p != '\0') {
        int64_t v = 0, unit;

        if (!isdigit((unsigned char)*p))
            return 0;
        for (; isdigit((unsigned char)*p); p++) {
            if (v > INT64_MAX / 100)
                return 0;
            v = v * 10 + (*p - '0');
        }
        if (strncmp(p, "ms", 2) == 0)
            unit = 1000000LL, p += 2;
        else if (*p == 's')
            unit = NS_PER_SEC, p++;
        else if (*p == 'm')
            unit = 60 * NS_PER_SEC, p++;
        else if (*p == 'h')
            unit = 3600 * NS_PER_SEC, p++;
        else if (*p == 'd')
            unit = 86400 * NS_PER_SEC, p++;
        else if (*p == 'w')
            unit = 7 * 86400 * NS_PER_SEC, p++;
        else
            return 0;
        if (v > (INT64_MAX - total) / unit)
            return 0;
        total += v * unit;
    }
    *ret_ns = total;
    return 1;
}

ct_status ct_time_parse_arg(const char *s, int64_t now_ns, int64_t *ret_ns, ct_error *err)
{
    int64_t v = 0; /* gcc -O2 cannot see that a parse which succeeded set it */

    if (s == NULL || *s == '\0')
        return ct_error_set(err, CT_ERR_INVALID, 0, "empty time");
    if (parse_unix(s, &v)) {
        *ret_ns = v;
        return CT_OK;
    }
    if (parse_duration(s, &v)) {
        *ret_ns = now_ns - v;
        return CT_OK;
    }
    if (ct_time_parse_rfc3339(s, strlen(s), &v, NULL) == CT_OK) {
        *ret_ns = v;
        return CT_OK;
    }
    return ct_error_set(err, CT_ERR_INVALID, 0,
                        "bad time '%s' (want RFC 3339, unix seconds, or a duration like 10m)",
                        s);
}

char *ct_time_format(int64_t ns, char buf[CT_TIME_BUF])
{
    int64_t sec = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
    time_t t;
    struct tm tm;

    if (frac < 0)
        frac += NS_PER_SEC, sec--;
    t = (time_t)sec;
    (void)gmtime_r(&t, &tm);
    (void)snprintf(buf, CT_TIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
    return buf;
}
