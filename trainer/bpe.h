/* trainer/bpe.h — the byte-level BPE tokenizer of the bundled CLIP trainer.
 *
 * CLIP's scheme (Radford et al. 2021, openai/CLIP simple_tokenizer.py), trained on our captions:
 *   - Cleanup (bpe_clean): HTML entities &amp; &lt; &gt; &quot; &#39; &#NN; unescaped once,
 *     lower-case (ASCII and the Latin-1/Latin Extended-A letters UTF-8 spells in two bytes),
 *     every run of whitespace (ASCII and U+00A0) collapsed to one space, trimmed.
 *   - Pre-tokenization splits the cleaned text into words the way CLIP's regex does: runs of
 *     letters (any byte >= 0x80 counts as a letter), single digits, runs of other non-space
 *     characters; the contractions 's 't 're 've 'm 'll 'd are words of their own. Merges never
 *     cross a word boundary.
 *   - Base vocabulary: 512 byte tokens, 256 for a byte inside a word (ids 0..255 = the byte) and
 *     256 for a byte ending a word (ids 256..511 = 256 + byte; CLIP's "</w>" suffix). Then one
 *     token per merge, in merge order (ids 512..512+merges-1), then <start_of_text> and
 *     <end_of_text> (the last two ids). vocab = 514 + merges.
 *   - Encoding applies merges by rank (lowest rank first) within each word, as CLIP does.
 *
 * Training (bpe_trainer_*): counts words of the cleaned texts, then repeatedly merges the most
 * frequent adjacent pair (ties broken by the smaller pair of ids, so training is deterministic)
 * until vocab tokens exist or no pair occurs twice. Memory is bounded by max_words distinct
 * words (the rarest are dropped first when it fills; documented in docs/TOKENIZER.md).
 *
 * File format (bpe_save/bpe_load), little-endian:
 *   magic "CCBPE\0\0\1" (8 bytes), u32 version (1), u32 header size (32),
 *   u32 vocab, u32 merges, u32 context (default context length), u32 reserved (0),
 *   then merges × (u32 left id, u32 right id), then u64 XXH3-64 of everything before it.
 *   Readers check magic, version, header size, that each merge's ids are below its own id,
 *   vocab == 514 + merges, and the checksum, and say what to do on mismatch.
 *
 * Threads: a trained or loaded bpe is immutable; bpe_encode may be called from many threads at
 * once on one bpe. A bpe_trainer belongs to one thread.
 */
#ifndef CC_BPE_H
#define CC_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"

#define BPE_BYTES 512 /* base byte tokens: 256 in-word + 256 word-final */
#define BPE_MAX_VOCAB 1048576 /* largest vocab bpe_load accepts */
#define BPE_CONTEXT_DEFAULT 77 /* CLIP's context length */

typedef struct bpe bpe;
typedef struct bpe_trainer bpe_trainer;

/* Writes the cleaned form of text (len bytes, UTF-8; invalid bytes kept as they are) to out
 * (cleared first). CC_E_NOMEM. Reentrant. */
cc_status bpe_clean(const char *text, size_t len, cc_buf *out);

/* Training. max_words: distinct words kept while counting (0 = 4,000,000). */
cc_status bpe_trainer_new(uint64_t max_words, bpe_trainer **out);
void bpe_trainer_free(bpe_trainer *t); /* accepts NULL */
/* Cleans and counts one text. CC_E_NOMEM. */
cc_status bpe_trainer_add(bpe_trainer *t, const char *text, size_t len);
/* Number of texts added and of distinct words held. */
uint64_t bpe_trainer_texts(const bpe_trainer *t);
uint64_t bpe_trainer_words(const bpe_trainer *t);
/* Learns merges until the vocabulary has vocab tokens (vocab >= 514, <= BPE_MAX_VOCAB) or no
 * pair occurs at least twice; *out gets the tokenizer (caller frees with bpe_free), with the
 * given default context length (>= 3). The trainer may be freed afterwards. CC_E_INVAL,
 * CC_E_NOMEM. */
cc_status bpe_trainer_finish(bpe_trainer *t, uint32_t vocab, uint32_t context, bpe **out);

/* Files (format above). bpe_save writes atomically (temp file, fsync, rename). bpe_load:
 * CC_E_IO, CC_E_FORMAT (bad magic/layout, message says which), CC_E_VERSION, CC_E_CHECKSUM,
 * CC_E_NOMEM. */
cc_status bpe_save(const bpe *b, const char *path);
cc_status bpe_load(const char *path, bpe **out);
/* The same checks on a file's bytes already in memory (data, n; path names it in messages). */
cc_status bpe_load_mem(const char *path, const void *data, size_t n, bpe **out);
void bpe_free(bpe *b); /* accepts NULL */

uint32_t bpe_vocab(const bpe *b); /* 514 + merges */
uint32_t bpe_merges(const bpe *b);
uint32_t bpe_context(const bpe *b); /* the default context length saved with it */
int32_t bpe_sot(const bpe *b); /* <start_of_text> id = vocab - 2 */
int32_t bpe_eot(const bpe *b); /* <end_of_text> id = vocab - 1 */

/* Encodes text as CLIP feeds it to the text encoder: out[0] = SOT, the tokens of the cleaned
 * text, EOT, then zeros up to ctx (ctx >= 3). Text longer than ctx - 2 tokens is truncated and
 * out[ctx-1] = EOT (CLIP's truncate=True). *n_out (may be NULL) gets the index of the EOT token
 * + 1, i.e. the used length. CC_E_INVAL (ctx < 3), CC_E_NOMEM. Thread-safe on one bpe. */
cc_status bpe_encode(const bpe *b, const char *text, size_t len, int32_t *out, uint32_t ctx,
                     uint32_t *n_out);

/* Encodes without SOT/EOT/padding/truncation: the cleaned text's tokens appended to *toks
 * (a growing array the caller frees; *n and *cap track it). CC_E_NOMEM. */
cc_status bpe_encode_raw(const bpe *b, const char *text, size_t len, int32_t **toks, size_t *n,
                         size_t *cap);

/* Appends the text of tokens to out (word-final tokens end with a space, except at the end; SOT,
 * EOT and padding zeros after EOT are skipped). Decoding an encoding gives back the cleaned text.
 * CC_E_INVAL (an id >= vocab), CC_E_NOMEM. */
cc_status bpe_decode(const bpe *b, const int32_t *toks, size_t n, cc_buf *out);

#endif
