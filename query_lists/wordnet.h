/* query_lists/wordnet.h — queries from WordNet's database files.
 *
 * Reads DIR/data.noun, data.verb, data.adj and data.adv (Debian's wordnet-base installs them in
 * /usr/share/wordnet) in the WordNet 3.0 data-file format (wndb(5WN)): license lines start with
 * two spaces; each synset line is "offset lex_filenum ss_type w_cnt(2 hex digits) word lex_id
 * ... p_cnt ... | gloss". Every word of every synset becomes a query: underscores become spaces,
 * adjective markers "(a)", "(p)", "(ip)" are dropped, then the list normalizes it. Provenance is
 * the synset id: ss_type letter + the 8-digit offset ("n02084071"). Source QSRC_WORDNET.
 */
#ifndef CC_WORDNET_H
#define CC_WORDNET_H

#include <stdint.h>

#include "common/status.h"
#include "query_lists/querylist.h"

typedef struct wordnet_stats {
    uint64_t synsets, lemmas; /* read */
    uint64_t added, merged, skipped; /* as query_list_add said */
} wordnet_stats;

/* Adds every lemma of the four data files under dir to ql. A missing file is CC_E_NOTFOUND
 * naming it ("install wordnet-base"); a malformed line CC_E_FORMAT with file and line number.
 * Files are read with a size bound (64 MiB each). stats may be NULL. */
cc_status wordnet_load(const char *dir, query_list *ql, wordnet_stats *stats);

#endif
