/*
 * collector/json_arena.h - jansson values allocated from a region that is
 * dropped whole (private to collector/json_ahead.c).
 *
 * Half of an import's CPU was malloc and free under jansson: every object,
 * key and string of a 6 KB inspect snapshot is an allocation, freed again
 * one by one on the other thread (contending for the parsing thread's
 * malloc arena).  A thread that enters an arena has its jansson
 * allocations bump-allocated from one reserved region; jansson's frees of
 * them do nothing, and a reset drops them all at once.
 *
 * jansson's allocator is process-wide: it is set once, at start-up, to
 * functions that use plain malloc and free unless the calling thread is
 * in an arena, and that tell an arena's memory by its address.  So values
 * made anywhere else, before or after, are untouched by this.
 */
#ifndef CTRAIL_JSON_ARENA_H
#define CTRAIL_JSON_ARENA_H

#include <stddef.h>

typedef struct json_arena json_arena;

/* A new arena (owned: json_arena_free), or NULL when the region cannot be
 * reserved or jansson's allocator is not this file's. */
json_arena *json_arena_new(void);
/* Free a (NULL is fine); no value from it may be in use. */
void json_arena_free(json_arena *a);
/* Drop every value allocated from a; their memory is reused. */
void json_arena_reset(json_arena *a);
/* Make a (or NULL: malloc) the calling thread's allocator for jansson;
 * returns the one it replaces. */
json_arena *json_arena_enter(json_arena *a);
/* Whether an allocation did not fit since the last reset and went to
 * malloc: the values must then be freed with json_decref. */
int json_arena_spilled(const json_arena *a);

#endif
