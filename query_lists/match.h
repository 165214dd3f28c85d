/* query_lists/match.h — every query a caption contains, fast.
 *
 * A caption contains a query when the query's words appear in it as consecutive words, both
 * normalized by query_lists/normalize.h. The matcher hashes every query's word sequence
 * (XXH3-64 of the normalized text) into one open-addressing table; each of its proper prefixes
 * (first 1..k-1 words) is entered too, flagged "prefix", so that a scan from each caption word
 * extends its n-gram only while some query continues it. A caption of w words costs about w to
 * 2w table probes. Matching compares 64-bit hashes only: a false match needs a 64-bit collision
 * (about 3e-5 expected over 10^9 captions against 5*10^5 queries).
 * Memory: 16 bytes a slot (hash, id, flags), 2 slots for each query and each proper prefix that
 * is not itself a query (load 0.5), in whole 64-byte lines, and in whole 2 MiB pages from 2 MiB
 * on: about 32 to 64 bytes a query while a list has no more such prefixes than queries (42 on the
 * 500,000 queries of bench/match.sh).
 * Thread safety: build once; then qmatcher_find may run from any number of threads.
 */
#ifndef CC_QMATCH_H
#define CC_QMATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "query_lists/querylist.h"

typedef struct qmatcher qmatcher;

/* Builds a matcher for every query of ql (ids are ql's). CC_E_NOMEM. */
cc_status qmatcher_build(const query_list *ql, qmatcher **out);
void qmatcher_free(qmatcher *m); /* accepts NULL */

/* The ids of the queries the n bytes at caption contain, each once, ascending, into ids (at most
 * cap; the return value is the number found, which may exceed cap: then the cap smallest were
 * written). Only the first 4096 bytes of a caption are read (a word across that edge is cut
 * there). Allocates nothing; uses about 20 KB of stack. */
size_t qmatcher_find(const qmatcher *m, const char *caption, size_t n, uint32_t *ids, size_t cap);

/* Bytes of memory the matcher holds. */
size_t qmatcher_bytes(const qmatcher *m);

#endif
