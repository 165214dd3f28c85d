/* filters/phash.h — 64-bit DCT perceptual hash and a near-duplicate index over it.
 *
 * pHash (as in the imagehash library and pHash.org): the image in luma (BT.601), area-resized to
 * 32 x 32, a 2-D DCT-II, the 8 x 8 block of lowest frequencies (DC included), each bit set when its
 * coefficient is greater than the median of the 64. Bit i (0 = most significant) is coefficient
 * (row i / 8, column i % 8). Robust to re-encoding, rescaling and small crops; two different
 * photos are typically ~32 bits apart.
 *
 * The near-duplicate index answers "is there an entry within Hamming distance k?" by multi-index
 * hashing (Norouzi et al., 2012): the 64 bits are cut into 4 bands of 16; if two hashes are within
 * k, some band is within floor(k/4) of the other's (pigeonhole), so a query probes, in each band's
 * table, every 16-bit value within that radius and checks the full distance of the entries there.
 * Memory: 16 bytes per entry (hash + value) plus 4 x 4 bytes of band postings, ~36 bytes per entry
 * with growth slack, plus 4 MiB of bucket heads.
 */
#ifndef CC_PHASH_H
#define CC_PHASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "filters/image.h"

/* The pHash of an image (any size >= 1 x 1). Deterministic across runs and machines. */
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

/* Saves the entries to a file (magic "CCND", version, header size, k, count, entries, XXH3-64
 * checksum), written to path.tmp, fsynced and renamed. Load rebuilds the index and checks
 * everything: CC_E_FORMAT / CC_E_VERSION / CC_E_CHECKSUM / CC_E_IO with the reason. */
cc_status neardup_save(const neardup_index *ix, const char *path);
cc_status neardup_load(const char *path, uint64_t max_entries, neardup_index **out);

#endif
