/*
 * query/auth.c - the token file, token checks and roles (see auth.h).
 *
 * Only hashes are kept.  A presented token is hashed once and compared
 * with every entry in constant time, so neither the comparison nor the
 * number of entries compared tells an attacker how close a guess was.
 */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "ctrail/record.h"

typedef struct auth_entry {
    char name[65];
    ct_role role;
    unsigned char hash[crypto_hash_sha256_BYTES];
} auth_entry;

struct ct_auth {
    auth_entry *v; /* owned */
    size_t n;
};

static const char *const role_names[] = {"none", "read", "ingest", "admin"};

const char *ct_role_name(ct_role r)
{
    return (unsigned)r < 4 ? role_names[r] : "none";
}

int ct_role_parse(const char *s, size_t len, ct_role *ret)
{
    for (unsigned i = 1; i < 4; i++)
        if (strlen(role_names[i]) == len && memcmp(s, role_names[i], len) == 0) {
            *ret = (ct_role)i;
            return 0;
        }
    return -1;
}

int ct_role_allows(ct_role have, ct_role need)
{
    return need == CT_ROLE_NONE || have == CT_ROLE_ADMIN || have == need;
}

char *ct_token_hash(const char *token, size_t len, char buf[CT_TOKEN_HASH_BUF])
{
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, (const unsigned char *)token, len);
    memcpy(buf, "sha256:", 7);
    sodium_bin2hex(buf + 7, CT_TOKEN_HASH_BUF - 7, h, sizeof(h));
    return buf;
}

static int name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("._@-", s[i]) == NULL)
            return 0;
    return 1;
}

/* Next blank-separated field of [*p, end); NULL at the end. */
static const char *field(const char **p, const char *end, size_t *len)
{
    const char *s = *p, *e;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    for (e = s; e < end && *e != ' ' && *e != '\t'; e++)
        ;
    *p = e;
    *len = (size_t)(e - s);
    return e > s ? s : NULL;
}

static ct_status parse_line(const char *p, const char *end, auth_entry *e, ct_error *err)
{
    size_t nl, rl, hl, xl, bin_len = 0;
    const char *name = field(&p, end, &nl), *role = field(&p, end, &rl);
    const char *hash = field(&p, end, &hl), *extra = field(&p, end, &xl);

    if (name == NULL || role == NULL || hash == NULL || extra != NULL)
        return ct_error_set(err, CT_ERR_PARSE, 0, "want NAME ROLE sha256:HEX");
    if (!name_ok(name, nl))
        return ct_error_set(err, CT_ERR_PARSE, 0,
                            "bad name '%.*s' (1 to 64 of A-Z a-z 0-9 . _ @ -)", (int)nl, name);
    if (ct_role_parse(role, rl, &e->role) != 0)
        return ct_error_set(err, CT_ERR_PARSE, 0, "unknown role '%.*s' (read, ingest, admin)",
                            (int)rl, role);
    if (hl != 7 + 2 * sizeof(e->hash) || strncasecmp(hash, "sha256:", 7) != 0 ||
        sodium_hex2bin(e->hash, sizeof(e->hash), hash + 7, hl - 7, NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof(e->hash))
        return ct_error_set(err, CT_ERR_PARSE, 0,
                            "bad hash for '%.*s': want sha256: and 64 hex digits (see ctrail "
                            "token-hash)",
                            (int)nl, name);
    memcpy(e->name, name, nl);
    e->name[nl] = '\0';
    return CT_OK;
}

ct_status ct_auth_parse(const char *text, size_t len, ct_auth **ret, ct_error *err)
{
    ct_auth *a = calloc(1, sizeof(*a));
    const char *p = text, *end = text + len;
    size_t cap = 0;
    unsigned line = 0;
    ct_status rc = CT_OK;

    if (a == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    while (p < end && rc == CT_OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *s = p;
        const char *stop = eol != NULL ? eol : end;
        auth_entry e;

        line++;
        p = eol != NULL ? eol + 1 : end;
        if (stop > s && stop[-1] == '\r')
            stop--;
        while (s < stop && (*s == ' ' || *s == '\t'))
            s++;
        if (s == stop || *s == '#')
            continue;
        if (memchr(s, '\0', (size_t)(stop - s)) != NULL) {
            rc = ct_error_set(err, CT_ERR_PARSE, 0, "line %u: NUL byte", line);
            break;
        }
        memset(&e, 0, sizeof(e));
        rc = parse_line(s, stop, &e, err);
        for (size_t i = 0; rc == CT_OK && i < a->n; i++) {
            if (strcmp(a->v[i].name, e.name) == 0)
                rc = ct_error_set(err, CT_ERR_PARSE, 0, "name '%s' given twice", e.name);
            else if (sodium_memcmp(a->v[i].hash, e.hash, sizeof(e.hash)) == 0)
                rc = ct_error_set(err, CT_ERR_PARSE, 0, "'%s' and '%s' have the same token",
                                  a->v[i].name, e.name);
        }
        if (rc == CT_OK && a->n == cap) {
            size_t c2 = cap ? cap * 2 : 8;
            auth_entry *v = realloc(a->v, c2 * sizeof(*v));

            if (v == NULL)
                rc = ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
            else
                a->v = v, cap = c2;
        }
        if (rc == CT_OK)
            a->v[a->n++] = e;
        else
            ct_error_prefix(err, "line %u", line);
    }
    if (rc == CT_OK && a->n == 0)
        rc = ct_error_set(err, CT_ERR_PARSE, 0, "no tokens (want lines NAME ROLE sha256:HEX)");
    if (rc != CT_OK) {
        ct_auth_free(a);
        return rc;
    }
    *ret = a;
    return CT_OK;
}

ct_status ct_auth_load(const char *path, ct_auth **ret, ct_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    ct_status rc;

    if (f == NULL)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot open token file '%s'", path);
    buf = malloc(CT_TOKEN_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    n = fread(buf, 1, CT_TOKEN_FILE_MAX + 1, f);
    if (ferror(f))
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot read token file '%s'", path);
    else if (n > CT_TOKEN_FILE_MAX)
        rc = ct_error_set(err, CT_ERR_TOOBIG, 0, "token file '%s' is over %u bytes", path,
                          CT_TOKEN_FILE_MAX);
    else if ((rc = ct_auth_parse(buf, n, ret, err)) != CT_OK)
        ct_error_prefix(err, "%s", path);
    sodium_memzero(buf, CT_TOKEN_FILE_MAX + 1);
    free(buf);
    fclose(f);
    return rc;
}

void ct_auth_free(ct_auth *a)
{
    if (a == NULL)
        return;
    free(a->v);
    free(a);
}

size_t ct_auth_count(const ct_auth *a)
{
    return a != NULL ? a->n : 0;
}

const char *ct_auth_check(const ct_auth *a, const char *token, size_t len, ct_role *ret_role)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    const auth_entry *found = NULL;

    crypto_hash_sha256(h, (const unsigned char *)token, len);
    for (size_t i = 0; i < a->n; i++) {
        int eq = sodium_memcmp(h, a->v[i].hash, sizeof(h)) == 0;

        if (eq) /* hashes are unique (ct_auth_parse): at most one */
            found = &a->v[i];
    }
    sodium_memzero(h, sizeof(h));
    if (found == NULL)
        return NULL;
    *ret_role = found->role;
    return found->name;
}

int ct_auth_bearer(const char *header, const char **tok, size_t *len)
{
    const char *t, *e;

    if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 ||
        (header[6] != ' ' && header[6] != '\t'))
        return -1;
    for (t = header + 7; *t == ' ' || *t == '\t'; t++)
        ;
    for (e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
    if (e == t)
        return -1;
    *tok = t;
    *len = (size_t)(e - t);
    return 0;
}

int ct_addr_is_loopback(const char *addr)
{
    if (addr == NULL)
        return 0;
    if (strncasecmp(addr, "::ffff:", 7) == 0)
        addr += 7;
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}
