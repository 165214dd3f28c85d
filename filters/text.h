/* filters/text.h — caption normalization and text rules, each rejection with a named reason.
 *
 * Normalization (text_normalize): HTML entities are already decoded by the extractor. Invalid
 * UTF-8 is repaired — each invalid byte becomes U+FFFD and is counted —, control and invisible
 * characters are removed, every run of Unicode whitespace becomes one ASCII space, and the ends
 * are trimmed. Case is kept (the matcher folds). A caption is a "word" list split on spaces.
 *
 * Rules (text_check), in order; the first failing decides the reason:
 *   empty            nothing left after normalization
 *   bad_utf8         more than max_invalid_frac of the characters were invalid bytes
 *   too_short        fewer than min_chars characters (code points)      default 6 (> 5, DataComp)
 *   too_long         more than max_chars characters                      default 1000
 *   too_few_words    fewer than min_words words                          default 3 (> 2, DataComp)
 *   url              the caption is a bare URL or domain (http://…, www.…, a.b/c)
 *   filename         the caption is a file name (IMG_1234.jpg, DSC00042, photo-1.png, …)
 *   digits           only digits and punctuation
 *   boilerplate      only generic words (image, photo, logo, icon, spacer, placeholder,
 *                    thumbnail, banner, picture, click here, …) with numbers and punctuation
 *   repeated         one token repeated (every word the same, case-folded, ≥ 2 words)
 *   blocklist        contains a blocklisted word or phrase (whole words, case-insensitive)
 *   not_english      english_only set and CLD2 reliably identifies another language
 * The boilerplate rules (url, filename, digits, boilerplate, repeated) run only when boilerplate
 * is set; they look at the whole caption, so "a photo of a red image" passes.
 *
 * Thread safety: text_check and text_normalize are reentrant; a blocklist is read-only after
 * loading and may be shared between threads.
 */
#ifndef CC_TEXT_H
#define CC_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"

typedef enum text_reason {
    TEXT_OK = 0,
    TEXT_R_EMPTY,
    TEXT_R_BAD_UTF8,
    TEXT_R_TOO_SHORT,
    TEXT_R_TOO_LONG,
    TEXT_R_TOO_FEW_WORDS,
    TEXT_R_URL,
    TEXT_R_FILENAME,
    TEXT_R_DIGITS,
    TEXT_R_BOILERPLATE,
    TEXT_R_REPEATED,
    TEXT_R_BLOCKLIST,
    TEXT_R_NOT_ENGLISH,
    TEXT_R_COUNT
} text_reason;

/* Stable snake_case name ("ok", "too_short", ...); "unknown" when out of range. */
const char *text_reason_name(text_reason r);

typedef struct text_blocklist text_blocklist;

/* Loads a blocklist: UTF-8 text, one word or phrase per line (up to 8 words), '#' starts a
 * comment line, blank lines ignored; matched case-folded on whole words. A word is a run of
 * letters and digits (cc_utf8_is_word, apostrophes inside kept), so "x-rated" is the phrase
 * "x rated" and the entry "foo" matches "foo-bar". At most 1,000,000 entries, 64 MiB, lines of
 * 1024 bytes, words of 128 bytes (folded); duplicates count once. CC_E_NOTFOUND / CC_E_IO /
 * CC_E_FORMAT (with the line number) / CC_E_LIMIT. */
cc_status text_blocklist_load(const char *path, text_blocklist **out);
/* An empty list, then entries added one at a time (CC_E_INVAL for an empty entry). */
cc_status text_blocklist_new(text_blocklist **out);
cc_status text_blocklist_add(text_blocklist *bl, const char *entry);
size_t text_blocklist_count(const text_blocklist *bl);
void text_blocklist_free(text_blocklist *bl); /* accepts NULL */

typedef struct text_rules {
    size_t min_chars; /* 6 */
    size_t max_chars; /* 1000 */
    size_t min_words; /* 3 */
    double max_invalid_frac; /* 0.1 */
    int boilerplate; /* 1 */
    int english_only; /* 0 */
    const text_blocklist *blocklist; /* NULL = none; not owned */
} text_rules;

void text_rules_default(text_rules *r);

typedef struct text_result {
    text_reason reason;
    char message[128]; /* detail for a rejection ("blocked word 'foo'"), "" when accepted */
    size_t chars, words; /* of the normalized caption */
    size_t invalid; /* invalid bytes replaced */
    const char *text; /* the normalized caption (NUL-terminated, inside the caller's cc_buf) */
    size_t len;
} text_result;

/* Normalizes the n bytes at in into *out (reset first; NUL-terminated, the NUL not counted in
 * out->len). *invalid (may be NULL) receives the number of invalid bytes replaced. May
 * reallocate out; CC_E_LIMIT past out's maximum. */
cc_status text_normalize(const char *in, size_t n, cc_buf *out, size_t *invalid);

/* Normalizes then checks a caption. norm is the caller's scratch buffer that receives the
 * normalized text (res->text points into it). Returns CC_OK whether accepted or not (see
 * res->reason); CC_E_LIMIT / CC_E_NOMEM from the buffer. */
cc_status text_check(const text_rules *r, const char *in, size_t n, cc_buf *norm, text_result *res);

/* Language identification through CLD2 (libcld2). Returns 1 when CLD2 reliably says English,
 * 0 when it reliably says another language (*lang, if not NULL, gets its ISO code, e.g. "fr"),
 * -1 when unreliable or unknown (short captions often are). Thread-safe. */
int text_lang_is_english(const char *s, size_t n, const char **lang);

#endif
