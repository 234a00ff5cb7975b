/*
 * collector/curl_lazy.h - libcurl, loaded when the first engine client
 * starts (private to collector/engine_http.c).
 *
 * libcurl brings some thirty shared libraries (TLS, Kerberos, LDAP, SSH,
 * ...) that the dynamic loader maps and relocates at every start of every
 * command: they were two thirds of the start-up of `ctrail timeline`, a
 * command that never talks to an engine.  Only serve's Docker collector
 * needs libcurl, so it is dlopen()ed then, and the few functions used are
 * reached through this table.  Include it instead of <curl/curl.h>; the
 * names below stand for the table's entries.
 */
#ifndef CTRAIL_CURL_LAZY_H
#define CTRAIL_CURL_LAZY_H

/* curl's type-checking wrappers are macros of the same names */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "ctrail/error.h"

typedef struct ct_curl_api {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *m);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *p);
    CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int mask, int *running);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
} ct_curl_api;

/* Filled by ct_curl_load; all NULL before. */
extern ct_curl_api ct_curl;

/* Load libcurl once (thread-safe; later calls return the first result). */
ct_status ct_curl_load(ct_error *err);

/* curl.h defines some of these as macros calling themselves */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init ct_curl.global_init
#define curl_global_cleanup ct_curl.global_cleanup
#define curl_easy_init ct_curl.easy_init
#define curl_easy_cleanup ct_curl.easy_cleanup
#define curl_easy_setopt ct_curl.easy_setopt
#define curl_easy_getinfo ct_curl.easy_getinfo
#define curl_easy_strerror ct_curl.easy_strerror
#define curl_multi_init ct_curl.multi_init
#define curl_multi_cleanup ct_curl.multi_cleanup
#define curl_multi_setopt ct_curl.multi_setopt
#define curl_multi_add_handle ct_curl.multi_add_handle
#define curl_multi_remove_handle ct_curl.multi_remove_handle
#define curl_multi_assign ct_curl.multi_assign
#define curl_multi_socket_action ct_curl.multi_socket_action
#define curl_multi_info_read ct_curl.multi_info_read

#endif
