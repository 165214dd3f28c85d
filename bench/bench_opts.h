/* bench/bench_opts.h — what the benchmark programs share: the numeric "--name N" options (a table
 * of names with their ranges, looked up and range-checked in one place), the repetition bound
 * and the median of repetitions. Static functions, included by each benchmark program (each is
 * one .c file). */
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

/* Most repetitions any benchmark takes (--reps). */
#define MAX_REPS 100

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n), 1 <= n <= MAX_REPS (v is not reordered). */
static double median(const double *v, size_t n)
{
    double s[MAX_REPS];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, bench_cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

#endif
