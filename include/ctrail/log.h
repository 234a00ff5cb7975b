/*
 * ctrail/log.h - one line per message on stderr.
 *
 * Lowercase, no final period, prefixed by level and component:
 *   ct_log(CT_LOG_WARN, "docker", "reconnect in %d s: %s", s, err.msg);
 * The level is the process's one mutable global (set once from main()).
 */
#ifndef CTRAIL_LOG_H
#define CTRAIL_LOG_H

typedef enum ct_log_level {
    CT_LOG_ERROR = 0,
    CT_LOG_WARN = 1,
    CT_LOG_INFO = 2,
    CT_LOG_DEBUG = 3,
} ct_log_level;

void ct_log_set_level(ct_log_level level);
ct_log_level ct_log_get_level(void);
void ct_log(ct_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
