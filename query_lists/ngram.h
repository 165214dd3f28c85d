/* query_lists/ngram.h — (internal) bounded n-gram counters with lossy-counting pruning.
 *
 * One table counts unigrams and bigrams together, keyed by the n-gram's text (a bigram is "a b":
 * its two words joined by one space; words never contain a space, so the texts never collide).
 * Both kinds share one memory bound and one prune floor, so the three counts that go into a PMI
 * carry the same error bound. A bigram whose word was dropped has a true count <= floor (a word
 * occurs at least as often as its bigrams); wiki.c skips such bigrams.
 *
 * Layout: an arena of records [count u64][delta u32][len u16][kind u8][pad][text, padded to 8],
 * and an open-addressing index of 8-byte slots {tag = high 32 bits of XXH3-64, offset / 8 + 1},
 * probed linearly from fastrange(low 32 bits). Memory: the index takes at most a fifth of
 * max_memory and the arena the rest; both grow by doubling up to those bounds (a doubling of
 * the index briefly holds the old and the new one).
 *
 * Pruning (Manku & Motwani's lossy counting, triggered by memory instead of by buckets): each
 * record keeps delta, the floor when it was inserted. When the arena or the index is full, the
 * floor is raised to the smallest value that frees at least a quarter of the arena and every
 * record with count + delta <= floor is dropped. Guarantee, for every n-gram: the kept count is
 * at most its true count and at least true count - floor; an n-gram whose true count exceeds the
 * final floor is present. Not thread-safe.
 */
#ifndef CC_NGRAM_H
#define CC_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define NGRAM_MIN_MEMORY ((size_t)64 * 1024)
#define NGRAM_MAX_KEY 1024 /* longest key in bytes */

enum { NGRAM_UNI = 0, NGRAM_BI = 1 };

typedef struct ngram_table ngram_table;

/* An empty table bounded by max_memory bytes (>= NGRAM_MIN_MEMORY, else CC_E_INVAL). */
cc_status ngram_new(size_t max_memory, ngram_table **out);
void ngram_free(ngram_table *t); /* accepts NULL */

/* Adds 1 to the count of the len-byte key (1 <= len <= NGRAM_MAX_KEY) of kind NGRAM_UNI or
 * NGRAM_BI, pruning first when full. CC_E_NOMEM, CC_E_INVAL (bad length). */
cc_status ngram_add(ngram_table *t, const char *key, size_t len, int kind);

/* The same as ngram_add on each key in order (same counts, same prunes), faster on tables larger
 * than the CPU caches: each group of 32 keys is hashed and its index slots and records are
 * prefetched before the adds, so that their cache misses overlap (about 2x at 20M keys). */
typedef struct ngram_key {
    const char *p;
    size_t len;
    int kind;
} ngram_key;
cc_status ngram_add_many(ngram_table *t, const ngram_key *keys, size_t n);

/* The kept count of key, 0 when absent. */
uint64_t ngram_get(const ngram_table *t, const char *key, size_t len);

uint64_t ngram_floor(const ngram_table *t); /* 0 while every count is exact */
uint64_t ngram_distinct(const ngram_table *t, int kind);
uint64_t ngram_prunes(const ngram_table *t);

/* Iterates the records in insertion order (survivors of prunes keep their order): start with
 * *pos = 0; returns 0 at the end. key points into the table until the next ngram_add. */
int ngram_next(const ngram_table *t, size_t *pos, const char **key, size_t *len, int *kind,
               uint64_t *count);

#endif
