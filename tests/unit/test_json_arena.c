/*
 * Unit tests for collector/json_arena.c: jansson values bump-allocated from
 * a region dropped whole, beside values that malloc made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "json_arena.h"

static const char *doc = "{\"Id\":\"4f1c\",\"Config\":{\"Labels\":{\"a\":\"1\",\"b\":\"2\"},"
                         "\"Env\":[\"PATH=/bin\",\"HOME=/root\"]},\"State\":{\"Pid\":42,"
                         "\"Running\":true,\"ExitCode\":0.5}}";

/* Parsed in the arena, reset, parsed again: the same value every round,
 * and one copied out before a reset outlives it. */
Test(json_arena, values_survive_until_the_reset_and_copies_beyond)
{
    json_arena *a = json_arena_new();
    json_t *want = json_loads(doc, 0, NULL), *kept = NULL;

    cr_assert_not_null(a, "the arena allocator is not installed");
    cr_assert_not_null(want);
    for (int round = 0; round < 200; round++) {
        json_arena *was = json_arena_enter(a);
        json_t *v[16];

        cr_assert_null(was);
        for (int i = 0; i < 16; i++)
            v[i] = json_loads(doc, 0, NULL);
        cr_assert_eq(json_arena_enter(was), a);
        for (int i = 0; i < 16; i++) {
            cr_assert(json_equal(v[i], want), "round %d value %d", round, i);
            if (i % 2)
                json_decref(v[i]); /* a no-op in the arena, and harmless */
        }
        if (round == 100)
            kept = json_deep_copy(v[0]); /* made outside: malloc */
        cr_assert_eq(json_arena_spilled(a), 0);
        json_arena_reset(a);
    }
    cr_assert(json_equal(kept, want));
    json_decref(kept);
    json_decref(want);
    json_arena_free(a);
}

/* What does not fit the region goes to malloc, and the arena says so:
 * those values must then be freed with json_decref (LeakSanitizer and a
 * double free would tell otherwise). */
Test(json_arena, what_does_not_fit_spills_to_malloc)
{
    json_arena *a = json_arena_new();
    size_t n = (size_t)65 << 20;
    char *big = malloc(n);
    json_t *s, *small;

    cr_assert_not_null(a);
    cr_assert_not_null(big);
    memset(big, 'x', n);
    json_arena_enter(a);
    small = json_string("in the arena");
    s = json_stringn(big, n);
    json_arena_enter(NULL);
    cr_assert_not_null(s);
    cr_assert_eq(json_string_length(s), n);
    cr_assert_eq(json_arena_spilled(a), 1);
    cr_assert_str_eq(json_string_value(small), "in the arena");
    json_decref(s);
    json_decref(small);
    json_arena_reset(a);
    cr_assert_eq(json_arena_spilled(a), 0);
    free(big);
    json_arena_free(a);
}

/* Two arenas and malloc at once: each value comes from where its thread
 * was when it was made, and freeing any of them anywhere is right. */
Test(json_arena, arenas_and_malloc_side_by_side)
{
    json_arena *a = json_arena_new(), *b = json_arena_new();
    json_t *in_a, *in_b, *plain;
    char *text;

    cr_assert_not_null(a);
    cr_assert_not_null(b);
    json_arena_enter(a);
    in_a = json_pack("{s:s, s:[i,i]}", "k", "a", "l", 1, 2);
    json_arena_enter(b);
    in_b = json_pack("{s:s}", "k", "b");
    json_arena_enter(NULL);
    plain = json_pack("{s:o, s:o}", "a", json_incref(in_a), "b", json_incref(in_b));
    text = json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(text, "{\"a\":{\"k\":\"a\",\"l\":[1,2]},\"b\":{\"k\":\"b\"}}");
    free(text); /* json_dumps' text is plain free()'s */
    json_decref(plain);
    json_arena_reset(a);
    json_arena_reset(b);
    json_arena_free(a);
    json_arena_free(b);
}
