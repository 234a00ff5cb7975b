/*
 * common/error.c - filling ct_error.
 */
#include "ctrail/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ct_status ct_error_set(ct_error *err, ct_status code, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (err == NULL)
        return code;
    err->code = code;
    err->sys_errno = sys_errno;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (sys_errno != 0) {
        n = strlen(err->msg);
        (void)snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(sys_errno));
    }
    return code;
}

void ct_error_prefix(ct_error *err, const char *fmt, ...)
{
    char prefix[128], old[sizeof(err->msg)];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* truncation is fine: the message is for people */
    size_t n = strlen(prefix);
    if (n > sizeof(err->msg) - 3)
        n = sizeof(err->msg) - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    n += 2;
    size_t rest = strnlen(old, sizeof(old) - 1);
    if (rest > sizeof(err->msg) - 1 - n)
        rest = sizeof(err->msg) - 1 - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
}

const char *ct_status_str(ct_status code)
{
    static const char *const names[] = {
        "CT_OK",          "CT_ERR_INVALID",  "CT_ERR_IO",       "CT_ERR_NOMEM",
        "CT_ERR_PARSE",   "CT_ERR_CORRUPT",  "CT_ERR_NOTFOUND", "CT_ERR_DB",
        "CT_ERR_LOCKED",  "CT_ERR_AMBIGUOUS", "CT_ERR_DUPLICATE", "CT_ERR_TOOBIG",
    };
    if ((size_t)code < sizeof(names) / sizeof(names[0]))
        return names[code];
    return "CT_ERR_UNKNOWN";
}
