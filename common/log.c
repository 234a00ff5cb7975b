/*
 * common/log.c - stderr logging with a level threshold.
 */
#include "ctrail/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static ct_log_level log_level = CT_LOG_INFO; /* set once by main() */

void ct_log_set_level(ct_log_level level)
{
    log_level = level;
}

ct_log_level ct_log_get_level(void)
{
    return log_level;
}

void ct_log(ct_log_level level, const char *component, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[1024];
    struct timespec now;
    struct tm tm;
    va_list ap;
    int n;

    if (level > log_level)
        return;
    (void)clock_gettime(CLOCK_REALTIME, &now);
    (void)gmtime_r(&now.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, now.tv_nsec / 1000000, names[level], component);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_start(ap, fmt);
    (void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* one fputs per line, so lines from threads do not interleave */
    (void)fprintf(stderr, "%s\n", line);
}
