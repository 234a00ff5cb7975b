/*
 * common/error.c - filling ct_error, and fitting messages into buffers.
 */
#include "ctrail/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CUT_MARK "..."

/* buf[0..cap) holds a text that was cut at cap - 1 bytes: end it with
 * CUT_MARK, dropping a UTF-8 character the cut went through (at most three
 * continuation bytes back, so bytes that are no UTF-8 are not eaten). */
static void mark_cut(char *buf, size_t cap)
{
    size_t keep;

    if (cap < sizeof(CUT_MARK))
        return; /* no room for the mark: snprintf's cut stands */
    keep = cap - sizeof(CUT_MARK);
    for (int i = 0; i < 3 && keep > 0 && ((unsigned char)buf[keep] & 0xC0) == 0x80; i++)
        keep--;
    memcpy(buf + keep, CUT_MARK, sizeof(CUT_MARK));
}

__attribute__((format(printf, 3, 0))) static int vfit(char *buf, size_t cap, const char *fmt,
                                                      va_list ap)
{
    int n;

    if (cap == 0)
        return 0;
    n = vsnprintf(buf, cap, fmt, ap);
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    if ((size_t)n < cap)
        return 0;
    mark_cut(buf, cap);
    return 1;
}

int ct_msg_fit(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int cut;

    va_start(ap, fmt);
    cut = vfit(buf, cap, fmt, ap);
    va_end(ap);
    return cut;
}

ct_status ct_error_set(ct_error *err, ct_status code, int sys_errno, const char *fmt, ...)
{
    char suffix[128] = "";
    size_t room = sizeof(err->msg);
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    err->sys_errno = sys_errno;
    if (sys_errno != 0) {
        (void)ct_msg_fit(suffix, sizeof(suffix), ": %s", strerror(sys_errno));
        room -= strlen(suffix); /* the reason is kept whole; the message gives way */
    }
    va_start(ap, fmt);
    (void)vfit(err->msg, room, fmt, ap);
    va_end(ap);
    memcpy(err->msg + strlen(err->msg), suffix, strlen(suffix) + 1);
    return code;
}

void ct_error_prefix(ct_error *err, const char *fmt, ...)
{
    char prefix[128], old[sizeof(err->msg)];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    (void)vfit(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    (void)ct_msg_fit(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
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
