/* query_lists/quota.h — which query a pair counts for (CLIP: at most 20K pairs per query).
 *
 * A pair whose caption matches several queries counts for exactly one of them: the matched query
 * with the fewest pairs so far that still has room (count < cap); ties go to the lowest id. The
 * record keeps every matched id. This is a pure function over counts: the coordinator (LMDB on
 * one host, Redis across hosts) supplies the counts and makes the reservation atomic.
 */
#ifndef CC_QUOTA_H
#define CC_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#define QUOTA_DEFAULT_CAP 20000

/* ids[0..n) are the matched query ids, counts[i] the pairs query ids[i] holds now. Returns the
 * index i of the query the pair counts for, or -1 when every matched query is full (or n == 0). */
long quota_pick(const uint32_t *ids, const uint64_t *counts, size_t n, uint64_t cap);

#endif
