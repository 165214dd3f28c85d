/* filters/phash.h — 64-bit DCT perceptual hash and a near-duplicate index over it.
 *
 * pHash (as in the imagehash library and pHash.org): the image in luma (BT.601), area-resized to
 * 32 x 32, a 2-D DCT-II, the 8 x 8 block of lowest frequencies (DC included), each bit set when its
 * coefficient is greater than the median of the 64. Bit i (0 = most significant) is coefficient
 * (row i / 8, column i % 8). The luma (0.299 R + 0.587 G + 0.114 B) is resized on one channel, in
 * double, without rounding, with img_resize's per-axis rules (area when an axis shrinks, bilinear
 * when it grows); coefficients within 1e-9 x |DC| of the median count as equal to it, so a flat
 * picture hashes to 0x8000000000000000 whatever its size. Robust to re-encoding and rescaling (0-4
 * bits on real photos), to small crops (a 5% crop: 2-12 bits) and brightness; two different photos
 * are typically ~30 bits apart (22-38 over the test photos).
 *
 * The near-duplicate index answers "is there an entry within Hamming distance k?" by multi-index
 * hashing (Norouzi et al., 2012): the 64 bits are cut into 4 bands of 16; if two hashes are within
 * k, some band is within floor(k/4) of the other's (pigeonhole), so a query probes, in each band's
 * table, every 16-bit value within that radius and checks the full distance of the entries there.
 * A posting is 8 bytes: the entry's id and 32 more bits of its hash, which reject most candidates
 * without a random access to the entry. Memory: 16 bytes per entry (hash + value) plus 4 x 8 bytes
 * of postings, ~57 bytes per entry with growth slack and allocator overhead (measured at 1M
 * entries), plus 4 MiB of bucket heads. Speed (1M random entries, one core): k = 8 ~25k queries/s,
 * k = 4 ~170k/s, k = 12 ~3.5k/s (a query probes 4 x 1, 17, 137, 697 or 2517 buckets for
 * k / 4 = 0 .. 4).
 *
 * Thread safety: img_phash is reentrant. neardup_find may run on one index from many threads at
 * once while none modifies it; add, find_or_add and free need the index to themselves.
 */
#ifndef CC_PHASH_H
#define CC_PHASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "filters/image.h"

/* The pHash of an image (any size >= 1 x 1; 0 for NULL or an empty image). Deterministic across
 * runs and machines (IEEE double without contraction, as -std=c11 compiles). No allocation:
 * ~0.17 ms for 640 x 400 pixels, ~65 us for 256 x 256. */
uint64_t img_phash(const img_rgb *im);

/* Number of differing bits. */
static inline int phash_distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

typedef struct neardup_index neardup_index;

/* A new index for queries within distance k (0..16) holding at most max_entries entries.
 * CC_E_INVAL for k out of range or max_entries 0 or > 2^32 - 1, CC_E_NOMEM. */
cc_status neardup_new(int k, uint64_t max_entries, neardup_index **out);
void neardup_free(neardup_index *ix); /* accepts NULL */

/* Adds hash with a caller value (e.g. a record index). Duplicated hashes are kept as separate
 * entries. CC_E_LIMIT when full, CC_E_NOMEM. */
cc_status neardup_add(neardup_index *ix, uint64_t hash, uint64_t value);

/* Looks for an entry within distance k of hash. Returns 1 and fills *value and *distance (either
 * may be NULL) with the nearest such entry (lowest distance, then earliest added), 0 when none. */
int neardup_find(const neardup_index *ix, uint64_t hash, uint64_t *value, int *distance);

/* find, then add when nothing was found: returns 1 (duplicate, not added) or 0 (added);
 * negative cc_status on error. */
int neardup_find_or_add(neardup_index *ix, uint64_t hash, uint64_t value, uint64_t *dup_value,
                        int *distance);

uint64_t neardup_count(const neardup_index *ix);
int neardup_k(const neardup_index *ix);

/* Saves the entries to a file, written to path.tmp, fsynced, renamed over path, and the directory
 * fsynced. Layout, little-endian: "CCND", u16 version (1), u16 header size (20), u32 k,
 * u64 count, count x (u64 hash, u64 value) in insertion order, then the XXH3-64 (cc_hash64) of
 * all the bytes before it. CC_E_IO (path.tmp is removed), CC_E_LIMIT for a path too long.
 * Load rebuilds the index with max_entries as its limit and checks everything; on failure *out is
 * NULL: CC_E_NOTFOUND (no file), CC_E_FORMAT (bad magic, bad header, size not matching count:
 * truncated), CC_E_VERSION, CC_E_CHECKSUM, CC_E_LIMIT (more entries than max_entries), CC_E_INVAL
 * (bad max_entries), CC_E_IO, CC_E_NOMEM, with the reason in cc_errmsg(). */
cc_status neardup_save(const neardup_index *ix, const char *path);
cc_status neardup_load(const char *path, uint64_t max_entries, neardup_index **out);

#endif
