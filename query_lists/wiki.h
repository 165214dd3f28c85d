/* query_lists/wiki.h — queries from a MediaWiki XML export (a Wikipedia pages-articles dump).
 *
 * The dump is streamed once (libxml2's xmlTextReader over our own reader, so memory does not grow
 * with the dump): plain XML, or compressed with bzip2, gzip or zstd, told apart by magic bytes.
 * For each <page> in namespace 0 that is not a redirect, the title is kept and the text of the
 * last <revision> is stripped of wiki markup to plain words:
 *   removed:   comments <!-- -->, <ref>..</ref> and other tags (their text kept, except ref,
 *              math and gallery), templates {{..}} (nested),
 *              tables {| .. |}, [[File:..]], [[Image:..]], [[Category:..]] and interwiki links,
 *              behaviour switches __TOC__;
 *   replaced:  [[target|label]] -> label, [[target]] -> target, [url label] -> label,
 *              '''bold''' and ''italic'' -> text, == heading == -> heading; the XML
 *              reader decodes the XML's entities (&amp;lt; -> <), the stripper the wikitext's
 *              own character references (&nbsp; &ndash; &#233; ...).
 * The plain text is tokenized as query_lists/normalize.h does; unigrams and bigrams (two
 * consecutive words of the same sentence of a paragraph: wiki.c states the exact rule) are
 * counted.
 *
 * Counting is exact while the counters fit max_memory; past that, the table is pruned of its
 * lowest counts (lossy counting: each prune raises a floor, and every kept count is at most that
 * floor below its true value; wiki_stats says the final floor, 0 = exact).
 *
 * Queries added (with their Wikipedia counts):
 *   wiki_word    every word with count >= min_count
 *   wiki_bigram  every bigram with count >= bigram_min_count and PMI >= min_pmi, where
 *                PMI(a b) = ln( c(a b) * N / (c(a) * c(b)) ), N = number of words counted
 *   wiki_title   every article title; with a pageviews file, only titles with >= min_views
 *                views, and their views are their count
 */
#ifndef CC_WIKI_H
#define CC_WIKI_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"
#include "query_lists/querylist.h"

typedef struct wiki_opts {
    uint64_t min_count; /* 100 (CLIP: words occurring >= 100 times) */
    uint64_t bigram_min_count; /* 30 */
    double min_pmi; /* 5.0 */
    const char *pageviews; /* NULL; a Wikimedia pageviews file: "project title views bytes" per
                              line, e.g. "en.wikipedia Albert_Einstein 1234 0"; only project
                              "en" / "en.wikipedia" lines are read */
    uint64_t min_views; /* 0; with pageviews: titles with fewer views are dropped */
    size_t max_memory; /* 2 GiB: bound of the n-gram counters and the pageviews table (which
                          takes at most half) */
    uint64_t max_pages; /* 0 = all; stop after this many articles (for trials) */
    size_t max_page_bytes; /* 8 MiB: longer article texts are cut (counted in stats) */
} wiki_opts;

void wiki_opts_default(wiki_opts *o);

typedef struct wiki_stats {
    uint64_t pages, articles, redirects, other_ns, cut_pages;
    uint64_t words; /* N */
    uint64_t distinct_unigrams, distinct_bigrams; /* in the counters at the end */
    uint64_t prune_floor; /* 0 = counts exact */
    uint64_t words_added, bigrams_added, titles_added; /* new queries, as query_list_add said */
} wiki_stats;

/* Streams the dump at path into ql. CC_E_NOTFOUND / CC_E_IO for the file, CC_E_FORMAT for XML
 * that is not a MediaWiki export (the message says what was seen), CC_E_COMPRESS for a damaged
 * compressed stream, CC_E_LIMIT for a page text over libxml2's 10 MB text-node limit or a full
 * ql; stats may be NULL (filled with what was read, on failure too). o == NULL: the defaults.
 * Thread safety: reentrant (calls on different lists may run at once) once libxml2 is set up:
 * call xmlInitParser() on the main thread first, as libxml2 2.9 requires. */
cc_status wiki_build(const char *path, const wiki_opts *o, query_list *ql, wiki_stats *stats);

/* The markup stripper alone (for tests and tools): the plain text of the n bytes of wikitext at
 * in, appended to out (may reallocate; CC_E_LIMIT past its maximum). The plain text has one
 * paragraph per line ('\n' after a paragraph, heading, list item or table), runs of ASCII
 * whitespace collapsed to one space, no leading or trailing whitespace; it is never longer than
 * the input, and is valid UTF-8 when the input is. Linear time, no recursion; constructs left
 * open run to the end of the text. Reentrant. */
cc_status wiki_strip_markup(const char *in, size_t n, cc_buf *out);

#endif
