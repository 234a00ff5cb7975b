/*
 * ctrail/time.h - event times: int64 nanoseconds since the Unix epoch, UTC.
 *
 * The representable range is 1678..2261; anything outside is an error, so a
 * never-started container's "0001-01-01T00:00:00Z" must be caught by the
 * caller (ct_time_is_zero_go()) before it is parsed.
 */
#ifndef CTRAIL_TIME_H
#define CTRAIL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"

#define CT_TIME_BUF 64 /* "2026-11-25T10:39:02.123456789Z" and a NUL, with room */

/* Wall clock now, in ns. */
int64_t ct_time_now_ns(void);

/* Parse RFC 3339: "YYYY-MM-DD[T ]hh:mm:ss[.frac](Z|+hh:mm|+hhmm|+hh)".
 * Up to 9 fractional digits count; more are accepted and truncated.  A
 * missing offset means UTC.  s need not be NUL-terminated.  On error
 * *ret_ns is untouched. */
ct_status ct_time_parse_rfc3339(const char *s, size_t len, int64_t *ret_ns, ct_error *err);

/* Like ct_time_parse_rfc3339, but also report how many bytes were used, so
 * callers can parse a time at the start of a log line.  Stops at the first
 * byte that cannot continue the time. */
ct_status ct_time_parse_rfc3339_prefix(const char *s, size_t len, int64_t *ret_ns,
                                       size_t *ret_used, ct_error *err);

/* True when s is Go's zero time ("0001-01-01T00:00:00Z", any fraction). */
int ct_time_is_zero_go(const char *s);

/* Parse a command-line time: RFC 3339, unix seconds with an optional
 * fraction ("1795588683.244"), or a duration before now_ns ("90s", "10m",
 * "2h", "3d", "1h30m").  On error *ret_ns is untouched. */
ct_status ct_time_parse_arg(const char *s, int64_t now_ns, int64_t *ret_ns, ct_error *err);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t ct_time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Format ns as RFC 3339 UTC with 9 fractional digits into buf (returned). */
char *ct_time_format(int64_t ns, char buf[CT_TIME_BUF]);

#endif
