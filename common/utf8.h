/* common/utf8.h — UTF-8 decoding, validation, simple case folding and character classes.
 *
 * Shared by filters/ (caption rules) and query_lists/ (query normalization), so that a query and
 * a caption are folded by the same code. Strict UTF-8 (RFC 3629): no overlongs, no surrogates,
 * nothing above U+10FFFF.
 *
 * Case folding is Unicode simple case folding restricted to the blocks captions mostly use:
 * ASCII, Latin-1 Supplement, Latin Extended-A, Greek and Coptic, Cyrillic (U+0400–U+04FF). Other
 * code points fold to themselves. Pure functions; thread-safe.
 */
#ifndef CC_UTF8_H
#define CC_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"

#define CC_UTF8_REPLACEMENT 0xFFFDu

/* Decodes one code point from the n > 0 bytes at p. Returns its length in bytes (1..4) and sets
 * *cp, or 0 for an invalid or truncated sequence (then *cp is unspecified; skip one byte). */
size_t cc_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);
/* Writes cp (<= U+10FFFF, not a surrogate) as UTF-8 into out; returns 1..4, or 0 if invalid. */
size_t cc_utf8_encode(uint32_t cp, uint8_t out[4]);
/* 1 when the n bytes at p are valid UTF-8. */
int cc_utf8_valid(const void *p, size_t n);

/* Simple case fold (see above). */
uint32_t cc_utf8_fold(uint32_t cp);
/* Unicode White_Space (tab, LF, VT, FF, CR, space, U+0085, U+00A0, U+1680, U+2000–U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000). */
int cc_utf8_is_space(uint32_t cp);
/* A letter, digit or mark for word splitting: ASCII alphanumerics, and every code point >= U+00C0
 * except U+00D7, U+00F7, spaces, General Punctuation (U+2000–U+206F), CJK Symbols and
 * Punctuation (U+3000–U+303F), halfwidth/fullwidth ASCII punctuation, and U+FFFD. ASCII '_' is
 * not a word character; apostrophes inside words are handled by callers. */
int cc_utf8_is_word(uint32_t cp);
/* C0 and C1 control characters (and DEL) other than whitespace, and invisible format characters
 * that would hide or split words: U+00AD soft hyphen, U+061C, U+180E, U+200B–U+200F (zero-width
 * space, joiners, directional marks), U+202A–U+202E, U+2060–U+2064, U+2066–U+206F, U+FEFF. */
int cc_utf8_is_control(uint32_t cp);

/* Appends the case-folded copy of the n bytes at s to out (invalid bytes become U+FFFD).
 * May reallocate out. */
cc_status cc_utf8_fold_str(const void *s, size_t n, cc_buf *out);

#endif
