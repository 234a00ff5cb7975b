/*
 * collector/json_arena.c - bump-allocated jansson values (json_arena.h).
 */
/* MAP_NORESERVE and madvise: _DEFAULT_SOURCE comes from the build */
#include "json_arena.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define REGION ((size_t)64 << 20) /* reserved per arena; touched as used */
#define KEEP ((size_t)4 << 20)    /* what a reset leaves resident */
#define SLOTS 16                  /* arenas alive at once */
#define ALIGN 16

struct json_arena {
    char *base;
    size_t used, high; /* bytes handed out; the most since the last reset */
    int spilled;
    int slot;
};

/* Where the live arenas are, for free() to tell their memory: read by any
 * thread that frees a jansson value, written when an arena comes or goes. */
static _Atomic uintptr_t slots[SLOTS];
static _Thread_local json_arena *current;

static int in_arena(const void *p)
{
    uintptr_t a = (uintptr_t)p;

    for (int i = 0; i < SLOTS; i++) {
        uintptr_t b = atomic_load_explicit(&slots[i], memory_order_relaxed);

        if (b != 0 && a >= b && a < b + REGION)
            return 1;
    }
    return 0;
}

static void *arena_malloc(size_t n)
{
    json_arena *a = current;
    size_t at;

    if (a == NULL)
        return malloc(n);
    at = (a->used + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
    if (n > REGION - at) {
        a->spilled = 1;
        return malloc(n);
    }
    a->used = at + n;
    if (a->used > a->high)
        a->high = a->used;
    UNPOISON(a->base + at, n);
    return a->base + at;
}

static void arena_free(void *p)
{
    if (p != NULL && !in_arena(p))
        free(p);
}

/* Before main: no jansson value exists yet that another free would have
 * to release (and this free releases those too). */
__attribute__((constructor)) static void arena_install(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

json_arena *json_arena_new(void)
{
    json_malloc_t m;
    json_free_t f;
    json_arena *a;

    json_get_alloc_funcs(&m, &f);
    if (m != arena_malloc || f != arena_free)
        return NULL;
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return NULL;
    a->base = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (a->base == MAP_FAILED) {
        free(a);
        return NULL;
    }
    POISON(a->base, REGION);
    for (a->slot = 0; a->slot < SLOTS; a->slot++) {
        uintptr_t none = 0;

        if (atomic_compare_exchange_strong(&slots[a->slot], &none, (uintptr_t)a->base))
            return a;
    }
    munmap(a->base, REGION);
    free(a);
    return NULL;
}

void json_arena_free(json_arena *a)
{
    if (a == NULL)
        return;
    atomic_store(&slots[a->slot], 0);
    UNPOISON(a->base, REGION);
    munmap(a->base, REGION);
    free(a);
}

void json_arena_reset(json_arena *a)
{
    if (a->high > KEEP)
        (void)madvise(a->base + KEEP, a->high - KEEP, MADV_DONTNEED);
    POISON(a->base, a->high);
    a->used = a->high = 0;
    a->spilled = 0;
}

json_arena *json_arena_enter(json_arena *a)
{
    json_arena *was = current;

    current = a;
    return was;
}

int json_arena_spilled(const json_arena *a)
{
    return a->spilled;
}
