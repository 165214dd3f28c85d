/* query_lists/normalize.h — the one normalization of query text and caption text.
 *
 * A query matches a caption when the query's words appear in the caption as consecutive words.
 * Both sides go through the same tokenizer, so "T-shirt" matches "t shirt" and "Rock'n'Roll!"
 * matches "rock n roll":
 *   - a word is a maximal run of word characters (cc_utf8_is_word: letters, digits, marks);
 *     every other character (space, punctuation, symbols, invalid UTF-8) separates words;
 *   - each word is case-folded (cc_utf8_fold);
 *   - the normalized text is the words joined by single ASCII spaces (no leading or trailing one).
 * Thread safety: reentrant.
 */
#ifndef CC_QN_NORMALIZE_H
#define CC_QN_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"

/* Most words a query may have; longer ones are refused by the list and never matched. */
#define QN_MAX_WORDS 16

/* Writes the normalized form of the n bytes at s into out (reset first; NUL-terminated, the NUL
 * not counted in out->len). *words (may be NULL) receives the word count. May reallocate out;
 * CC_E_LIMIT past out's maximum. */
cc_status qn_normalize(const char *s, size_t n, cc_buf *out, size_t *words);

/* Calls fn(ctx, word, len) for each normalized word of the n bytes at s, in order, without
 * allocating: word points into scratch (QN_WORD_MAX bytes), folded. A word longer than
 * QN_WORD_MAX - 1 bytes keeps only the characters that still fit when they come (a long
 * character near the end is dropped, a later shorter one may still fit; query_lists/match.c
 * does the same). Returns the number of words. */
#define QN_WORD_MAX 256
typedef void (*qn_word_fn)(void *ctx, const char *word, size_t len);
size_t qn_words(const char *s, size_t n, char scratch[QN_WORD_MAX], qn_word_fn fn, void *ctx);

#endif
