/* query_lists/querylist.h — a query list: normalized queries with their sources and counts,
 * built from several sources, merged, ranked, capped, saved as queries.tsv and loaded back.
 *
 * queries.tsv (UTF-8, one query per line after the header):
 *   # clipcrawl queries 1
 *   ID<TAB>QUERY<TAB>SOURCES<TAB>COUNT<TAB>PMI<TAB>PROVENANCE
 * ID: 0..n-1 in file order (the order of strength, strongest first). QUERY: normalized
 * (query_lists/normalize.h), never empty, no tab or newline. SOURCES: comma-separated names of
 * query_source ("wordnet,wiki_word"). COUNT: occurrences in the Wikipedia text (0 if not
 * counted), or page views for a title when a pageviews file was given (the larger of the two).
 * PMI: the bigram's pointwise mutual information, "-" when not a bigram. PROVENANCE: up to 200
 * bytes of source ids (WordNet synset ids like "n02084071", comma-separated; "-" if none).
 *
 * Strength (the order of ids, and what --max keeps): COUNT descending, then the number of
 * sources descending, then QUERY bytewise ascending — deterministic for the same inputs.
 * Not thread-safe while being built; a finished, loaded list is read-only and may be shared.
 */
#ifndef CC_QUERYLIST_H
#define CC_QUERYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef enum query_source {
    QSRC_WORDNET = 1u << 0, /* "wordnet": a lemma of a WordNet synset */
    QSRC_WIKI_WORD = 1u << 1, /* "wiki_word": a word with count >= min_count in Wikipedia */
    QSRC_WIKI_BIGRAM = 1u << 2, /* "wiki_bigram": a bigram with high PMI */
    QSRC_WIKI_TITLE = 1u << 3, /* "wiki_title": an article title (above the views threshold) */
    QSRC_USER = 1u << 4, /* "user": given by the user */
} query_source;

#define QSRC_COUNT 5
/* Name of one source bit ("wordnet", ...), NULL if not exactly one known bit. */
const char *query_source_name(uint32_t bit);

typedef struct query {
    const char *text; /* normalized; owned by the list */
    uint32_t sources; /* query_source bits */
    uint64_t count;
    double pmi; /* NAN when not a bigram */
    const char *provenance; /* "" when none; owned by the list */
} query;

typedef struct query_list query_list;

/* An empty list that holds at most max_queries distinct queries (memory follows use).
 * CC_E_INVAL above 2^32 - 2 (ids are 32-bit), CC_E_NOMEM. */
cc_status query_list_new(uint64_t max_queries, query_list **out);
void query_list_free(query_list *ql); /* accepts NULL */

/* Adds a query from any text: it is normalized first (empty or more than QN_MAX_WORDS words:
 * skipped, *added = 0). A query already present is merged: sources OR-ed, count = max, pmi kept
 * if set, provenance appended (comma-separated, capped at 200 bytes). *added (may be NULL) = 1
 * for a new query, 2 merged, 0 skipped. CC_E_LIMIT when full, CC_E_NOMEM.
 * provenance (may be NULL = none) is a comma-separated list of ids: ids already held are not
 * repeated, ids are kept whole (one that would pass 200 bytes is dropped; a first id longer than
 * 200 bytes alone is cut on a UTF-8 character boundary), empty ids and "-" are ignored.
 * CC_E_INVAL after finish or load, for source bits outside query_source, an infinite pmi, or
 * provenance that is not UTF-8 text free of control bytes (tab, newline). */
cc_status query_list_add(query_list *ql, const char *text, size_t len, uint32_t source,
                         uint64_t count, double pmi, const char *provenance, int *added);

/* Sorts by strength and keeps the first max (0 = all); ids become positions. Call once after
 * adding. */
void query_list_finish(query_list *ql, uint64_t max);

uint64_t query_list_count(const query_list *ql);
/* The query with this id (after finish or load), NULL if out of range. */
const query *query_list_get(const query_list *ql, uint64_t id);
/* The id of a query given as any text (normalized first), or -1. Before finish: the position
 * in the order of first adding. Allocates nothing; thread-safe on a finished list. */
int64_t query_list_find(const query_list *ql, const char *text, size_t len);

/* Writes queries.tsv to path (through PATH.tmp, fsync, rename, fsync of the folder).
 * CC_E_INVAL before finish, CC_E_IO, CC_E_LIMIT (path too long), CC_E_NOMEM. */
cc_status query_list_save(const query_list *ql, const char *path);
/* Loads a queries.tsv: header checked (CC_E_FORMAT "not a clipcrawl query list", CC_E_VERSION),
 * every line checked (CC_E_FORMAT naming the line), ids must be 0..n-1 in order; at most
 * max_queries (CC_E_LIMIT). Lines may end in CRLF; a line longer than 8192 bytes is CC_E_FORMAT,
 * a file over 1 GiB CC_E_LIMIT; CC_E_NOTFOUND, CC_E_IO for the file. The list is finished. */
cc_status query_list_load(const char *path, uint64_t max_queries, query_list **out);

#endif
