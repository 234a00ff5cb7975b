/*
 * ctrail/error.h - status codes and the error record every library call fills.
 *
 * Library code never exits, aborts or logs the errors it returns: it fills a
 * ct_error with a one-line, lowercase message and returns its status.  The
 * numbers are stable (they reach exit codes and logs): never renumber or
 * reuse one; retire a code by leaving a placeholder.
 */
#ifndef CTRAIL_ERROR_H
#define CTRAIL_ERROR_H

#include <stddef.h>

typedef enum ct_status {
    CT_OK = 0,
    CT_ERR_INVALID = 1,   /* bad argument or option */
    CT_ERR_IO = 2,        /* a system call failed; sys_errno says why */
    CT_ERR_NOMEM = 3,     /* allocation failed */
    CT_ERR_PARSE = 4,     /* input is not of the expected form */
    CT_ERR_CORRUPT = 5,   /* stored bytes fail a check */
    CT_ERR_NOTFOUND = 6,  /* no such container, file, key */
    CT_ERR_DB = 7,        /* SQLite said no */
    CT_ERR_LOCKED = 8,    /* another process holds the writer lock */
    CT_ERR_AMBIGUOUS = 9, /* a reference matches more than one thing */
    CT_ERR_DUPLICATE = 10, /* already stored; not an error to the user */
    CT_ERR_TOOBIG = 11,   /* input over a configured limit */
} ct_status;

typedef struct ct_error {
    ct_status code; /* CT_OK when nothing failed */
    int sys_errno;  /* errno at the failing call, else 0 */
    char msg[256];  /* "cannot open segment '/x/42.seg'" */
} ct_error;

/* Fill err (if not NULL) and return code.  A sys_errno other than 0 appends
 * ": strerror(sys_errno)" to the message; a message too long for msg is cut
 * as ct_msg_fit cuts it, before that suffix, so the reason is never lost. */
ct_status ct_error_set(ct_error *err, ct_status code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix err->msg with "CONTEXT: " (for callers adding where it happened);
 * what does not fit is cut from the end as ct_msg_fit cuts it. */
void ct_error_prefix(ct_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format a message into buf[0..cap) like snprintf, except that a text
 * longer than the buffer is cut visibly and safely: at a UTF-8 character
 * boundary (no half character, which JSON output would refuse), ending in
 * "...".  Returns 1 when it cut, 0 when the whole text fit (or cap is 0).
 * Use it wherever a message of unbounded parts (paths, peers' text, other
 * messages) goes into a fixed buffer. */
int ct_msg_fit(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Static name of a status ("CT_ERR_PARSE"); never NULL. */
const char *ct_status_str(ct_status code);

#endif
