/*
 * collector/cid_prefix.c - short container ids (12 hex) in log lines.
 *
 * `docker ps` and most tools print the first 12 hex digits of an id, and
 * so do the lines that mention them ("container 3f2a9c1b7d4e exited").
 * Such a token keys the line to a container only when the catalog knows
 * exactly one container with that prefix: 12 hex digits alone are too
 * common (hashes, addresses) to be trusted otherwise.  A token must be a
 * whole word (no letter, digit or '_' right before or after it: "docker-"
 * and "/" are fine) and hold at least one of a-f, so a 12-digit number is
 * not looked up; at most four tokens per line are.
 *
 * Lookups go to the catalog through a read-only store handle; answers are
 * cached, hits for good (an id never changes), misses for a few seconds (a
 * container may be catalogued just after its first log line).
 */
#include <stdlib.h>
#include <string.h>

#include "ctrail/catalog.h"
#include "ctrail/ingest.h"
#include "ctrail/time.h"

#define SHORT_LEN       12
#define CACHE_SLOTS     256
#define MISS_TTL_NS     (2LL * 1000000000LL)
#define MAX_TOKENS_LINE 4 /* lookups per line at most */

typedef struct slot {
    char key[SHORT_LEN];
    int used;
    char *id;        /* owned: the full id, NULL for a miss */
    int64_t miss_ns; /* when the miss was seen */
} slot;

struct ct_cid_cache {
    ct_store *reader; /* borrowed */
    slot slots[CACHE_SLOTS];
};

ct_cid_cache *ct_cid_cache_new(ct_store *reader)
{
    ct_cid_cache *c = calloc(1, sizeof(*c));

    if (c != NULL)
        c->reader = reader;
    return c;
}

void ct_cid_cache_free(ct_cid_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        free(c->slots[i].id);
    free(c);
}

static int is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

/* Characters that may not touch a short id: more of a hex/word run. */
static int is_word(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '_';
}

static unsigned slot_of(const char *key)
{
    unsigned h = 2166136261u;

    for (int i = 0; i < SHORT_LEN; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h % CACHE_SLOTS;
}

/* The full id for key, or NULL; -1 when memory runs out. */
static int lookup(ct_cid_cache *c, const char *key, const char **ret_id, int64_t now_ns)
{
    slot *s = &c->slots[slot_of(key)];
    char ref[SHORT_LEN + 1];
    char *id = NULL;
    ct_error err = {0};

    if (s->used && memcmp(s->key, key, SHORT_LEN) == 0 &&
        (s->id != NULL || now_ns - s->miss_ns < MISS_TTL_NS)) {
        *ret_id = s->id;
        return 0;
    }
    memcpy(ref, key, SHORT_LEN);
    ref[SHORT_LEN] = '\0';
    /* not found, ambiguous, or a read error: the line stays unkeyed */
    if (c->reader != NULL && ct_catalog_resolve(c->reader, ref, &id, &err) == CT_OK &&
        strncmp(id, ref, SHORT_LEN) != 0) {
        free(id); /* a container *named* like the token: not an id mention */
        id = NULL;
    }
    free(s->id);
    memcpy(s->key, key, SHORT_LEN);
    s->used = 1;
    s->id = id;
    s->miss_ns = now_ns;
    *ret_id = id;
    return 0;
}

int ct_cid_cache_key(ct_cid_cache *c, ct_record *rec, const char *s, size_t len)
{
    int64_t now = 0;
    int tried = 0;

    if (c == NULL || rec->container != NULL || len < SHORT_LEN)
        return 0;
    for (size_t i = 0; i + SHORT_LEN <= len && tried < MAX_TOKENS_LINE; i++) {
        const char *id = NULL;
        size_t j = 0;
        int letter = 0;

        if (!is_hex(s[i]) || (i > 0 && is_word(s[i - 1])))
            continue;
        while (j < SHORT_LEN && i + j < len && is_hex(s[i + j])) {
            letter |= s[i + j] >= 'a';
            j++;
        }
        if (j < SHORT_LEN || (i + j < len && is_word(s[i + j])) || !letter) {
            i += j; /* past this run */
            continue;
        }
        tried++;
        if (now == 0)
            now = ct_time_now_ns();
        if (lookup(c, s + i, &id, now) != 0)
            return -1;
        if (id != NULL) {
            rec->container = ct_strdup(id);
            return rec->container == NULL ? -1 : 0;
        }
        i += j;
    }
    return 0;
}
