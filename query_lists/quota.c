/* query_lists/quota.c — see quota.h. */
#include "query_lists/quota.h"

long quota_pick(const uint32_t *ids, const uint64_t *counts, size_t n, uint64_t cap)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] >= cap)
            continue;
        /* rarest first; among equals the lowest id, whatever order the ids came in */
        if (best < 0 || counts[i] < counts[best] ||
            (counts[i] == counts[best] && ids[i] < ids[best]))
            best = (long)i;
    }
    return best;
}
