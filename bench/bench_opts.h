/* bench/bench_opts.h — the numeric "--name N" options the benchmark programs share the parsing
 * of: a table of names with their ranges, looked up and range-checked in one place. Static
 * functions, included by each benchmark program (each is one .c file). */
#ifndef CC_BENCH_OPTS_H
#define CC_BENCH_OPTS_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_num {
    const char *name; /* "--reps" */
    uint64_t lo, hi; /* accepted range, inclusive */
    uint64_t *out;
} bench_num;

/* Sets the option named k of the n in nums from the decimal v. Returns 0, 1 when k is not in the
 * table (nothing printed), or -1 after printing "tool: k needs a number in lo..hi". */
static int bench_set_num(const char *tool, const bench_num *nums, size_t n, const char *k,
                         const char *v)
{
    size_t j = 0;
    while (j < n && strcmp(k, nums[j].name) != 0)
        j++;
    if (j == n)
        return 1;
    char *end;
    errno = 0;
    unsigned long long x = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
    if (*v < '0' || *v > '9' || errno || *end || x < nums[j].lo || x > nums[j].hi) {
        fprintf(stderr, "%s: %s needs a number in %" PRIu64 "..%" PRIu64 "\n", tool, k, nums[j].lo,
                nums[j].hi);
        return -1;
    }
    *nums[j].out = x;
    return 0;
}

#endif
