/*
 * query/auth.h - bearer tokens and roles of the HTTP API (private).
 *
 * A token file (`ctrail serve --tokens FILE`) names each token, gives it a
 * role and stores only its SHA-256, so the file is no secret:
 *
 *   # NAME      ROLE    HASH
 *   alice       read    sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b
 *   apiserver   ingest  sha256:...
 *   ops         admin   sha256:...
 *
 * One entry a line, fields separated by blanks, '#' starts a comment line.
 * NAME is [A-Za-z0-9._@-]{1,64} and unique; ROLE is read (queries), ingest
 * (writes: the Kubernetes audit webhook) or admin (everything: verify,
 * export, rules, and what read and ingest may do).  `ctrail token-hash`
 * prints the hash of a token, or makes a new token with --new.
 */
#ifndef CTRAIL_AUTH_H
#define CTRAIL_AUTH_H

#include <stddef.h>

#include "ctrail/error.h"

typedef enum ct_role {
    CT_ROLE_NONE = 0,   /* a route anyone may call (health, the web page) */
    CT_ROLE_READ = 1,
    CT_ROLE_INGEST = 2,
    CT_ROLE_ADMIN = 3,
} ct_role;

typedef struct ct_auth ct_auth;

#define CT_TOKEN_HASH_BUF 72 /* "sha256:" + 64 hex + NUL */
#define CT_TOKEN_FILE_MAX (1u << 20)

/* Parse a token file's text.  CT_ERR_PARSE with "line N: reason" for any
 * bad line (nothing is half-loaded).  On success the caller owns *ret:
 * ct_auth_free() it. */
ct_status ct_auth_parse(const char *text, size_t len, ct_auth **ret, ct_error *err);
/* Read and parse path (at most CT_TOKEN_FILE_MAX bytes); messages start
 * with the path. */
ct_status ct_auth_load(const char *path, ct_auth **ret, ct_error *err);
void ct_auth_free(ct_auth *a);
size_t ct_auth_count(const ct_auth *a);

/* The name of the entry whose hash is the hash of token, and its role;
 * NULL when none.  Every entry is compared, in constant time
 * (sodium_memcmp), whatever matches.  The name is borrowed from a. */
const char *ct_auth_check(const ct_auth *a, const char *token, size_t len, ct_role *ret_role);

/* The token of an Authorization header value "Bearer TOKEN" (scheme case
 * insensitive): 0 with *tok and *len set, or -1. */
int ct_auth_bearer(const char *header, const char **tok, size_t *len);

/* Whether a caller with role have may call a route that needs need. */
int ct_role_allows(ct_role have, ct_role need);
/* Static name ("read"); ct_role_parse is its inverse (-1 when unknown). */
const char *ct_role_name(ct_role r);
int ct_role_parse(const char *s, size_t len, ct_role *ret);

/* "sha256:HEX" of token into buf (returned). */
char *ct_token_hash(const char *token, size_t len, char buf[CT_TOKEN_HASH_BUF]);

/* Whether a numeric address (as evhttp reports a peer) is loopback:
 * 127.0.0.0/8, ::1, ::ffff:127.x.y.z. */
int ct_addr_is_loopback(const char *addr);

#endif
