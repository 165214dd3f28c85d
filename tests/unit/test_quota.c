/* tests/unit/test_quota.c — quota_pick: the rarest matched query with room wins, ties go to the
 * lowest id whatever the input order, full queries are skipped, -1 when none has room; checked on
 * hand cases and against a plain restatement of the rule over every permutation of small inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "query_lists/quota.h"

static void test_rarest_wins(void **state)
{
    (void)state;
    const uint32_t ids[] = {10, 20, 30};
    const uint64_t counts[] = {500, 7, 9000};
    assert_int_equal(quota_pick(ids, counts, 3, QUOTA_DEFAULT_CAP), 1);
    const uint64_t zero_last[] = {500, 7, 0};
    assert_int_equal(quota_pick(ids, zero_last, 3, QUOTA_DEFAULT_CAP), 2);
    /* one match: itself while it has room */
    assert_int_equal(quota_pick(ids, counts, 1, QUOTA_DEFAULT_CAP), 0);
}

static void test_ties_lowest_id(void **state)
{
    (void)state;
    const uint64_t counts[] = {5, 5, 5, 5};
    const uint32_t asc[] = {3, 8, 12, 40};
    const uint32_t desc[] = {40, 12, 8, 3};
    const uint32_t mixed[] = {12, 40, 3, 8};
    assert_int_equal(quota_pick(asc, counts, 4, 100), 0);
    assert_int_equal(quota_pick(desc, counts, 4, 100), 3);
    assert_int_equal(quota_pick(mixed, counts, 4, 100), 2);
    /* a tie among the rarest only; a lower id with more pairs loses */
    const uint32_t ids[] = {9, 1, 4, 6};
    const uint64_t c2[] = {2, 3, 2, 2};
    assert_int_equal(quota_pick(ids, c2, 4, 100), 2);
}

static void test_full_skipped(void **state)
{
    (void)state;
    const uint32_t ids[] = {1, 2, 3, 4};
    /* the rarest two are full (at and above the cap); 3 has room */
    const uint64_t counts[] = {100, 250, 99, 100};
    assert_int_equal(quota_pick(ids, counts, 4, 100), 2);
    /* at cap - 1 a query still takes one more */
    const uint64_t almost[] = {100, 100, 100, 99};
    assert_int_equal(quota_pick(ids, almost, 4, 100), 3);
    const uint64_t at_cap_minus_1[] = {19999, 19999};
    assert_int_equal(quota_pick(ids, at_cap_minus_1, 2, QUOTA_DEFAULT_CAP), 0);
    /* everything full */
    const uint64_t full[] = {100, 101, 5000, UINT64_MAX};
    assert_int_equal(quota_pick(ids, full, 4, 100), -1);
    const uint64_t at_cap[] = {QUOTA_DEFAULT_CAP, QUOTA_DEFAULT_CAP};
    assert_int_equal(quota_pick(ids, at_cap, 2, QUOTA_DEFAULT_CAP), -1);
}

static void test_empty_and_cap0(void **state)
{
    (void)state;
    const uint32_t ids[] = {1};
    const uint64_t counts[] = {0};
    assert_int_equal(quota_pick(ids, counts, 0, 100), -1);
    assert_int_equal(quota_pick(NULL, NULL, 0, QUOTA_DEFAULT_CAP), -1);
    /* cap 0: no query has room, not even an unused one */
    assert_int_equal(quota_pick(ids, counts, 1, 0), -1);
    /* cap 1: only the unused ones */
    const uint32_t two[] = {5, 2};
    const uint64_t c2[] = {0, 1};
    assert_int_equal(quota_pick(two, c2, 2, 1), 0);
}

/* A caption that matches 300 queries: the winner is found wherever it stands. */
static void test_many_matches(void **state)
{
    (void)state;
    uint32_t ids[300];
    uint64_t counts[300];
    for (size_t i = 0; i < 300; i++) {
        ids[i] = (uint32_t)(1000 + (i * 7919) % 300); /* a permutation of 1000..1299 */
        counts[i] = 10 + (i * 31) % 50;
    }
    /* the rarest count (10) is held by several; the lowest id among them must win */
    long best = -1;
    for (size_t i = 0; i < 300; i++)
        if (counts[i] == 10 && (best < 0 || ids[i] < ids[best]))
            best = (long)i;
    assert_true(best >= 0);
    assert_int_equal(quota_pick(ids, counts, 300, 100), best);
    /* fill every query with count 10: the next rarest (11) wins, again by lowest id */
    for (size_t i = 0; i < 300; i++)
        if (counts[i] == 10)
            counts[i] = 100;
    best = -1;
    for (size_t i = 0; i < 300; i++)
        if (counts[i] == 11 && (best < 0 || ids[i] < ids[best]))
            best = (long)i;
    assert_true(best >= 0);
    assert_int_equal(quota_pick(ids, counts, 300, 100), best);
    for (size_t i = 0; i < 300; i++)
        counts[i] = 100;
    assert_int_equal(quota_pick(ids, counts, 300, 100), -1);
}

/* The rule restated plainly: the (count, id) pair that sorts first among those with room. */
static long rule(const uint32_t *ids, const uint64_t *counts, size_t n, uint64_t cap)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] >= cap)
            continue;
        int better = 1;
        for (size_t j = 0; j < n && better; j++)
            if (j != i && counts[j] < cap &&
                (counts[j] < counts[i] || (counts[j] == counts[i] && ids[j] < ids[i])))
                better = 0;
        if (better) {
            assert_int_equal(best, -1); /* ids are distinct: exactly one winner */
            best = (long)i;
        }
    }
    return best;
}

/* Every order of every small input: counts in 0..3 around a cap of 2 or 3, distinct ids. */
static void test_all_orders(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t n = 1; n <= 5; n++) {
        size_t combos = 1;
        for (size_t i = 0; i < n; i++)
            combos *= 4;
        for (size_t code = 0; code < combos; code++) {
            uint64_t counts[5];
            uint32_t ids[5];
            size_t x = code;
            for (size_t i = 0; i < n; i++, x /= 4) {
                counts[i] = x % 4;
                ids[i] = (uint32_t)(7 * (n - i)); /* descending: the lowest id comes last */
            }
            for (uint64_t cap = 2; cap <= 3; cap++) {
                assert_int_equal(quota_pick(ids, counts, n, cap), rule(ids, counts, n, cap));
                checked++;
            }
            /* the same with the order reversed picks the same query */
            uint64_t rc[5];
            uint32_t rid[5];
            for (size_t i = 0; i < n; i++)
                rc[i] = counts[n - 1 - i], rid[i] = ids[n - 1 - i];
            long a = quota_pick(ids, counts, n, 3), b = quota_pick(rid, rc, n, 3);
            assert_int_equal(a < 0, b < 0);
            if (a >= 0)
                assert_int_equal(ids[a], rid[b]);
        }
    }
    assert_true(checked > 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rarest_wins),  cmocka_unit_test(test_ties_lowest_id),
        cmocka_unit_test(test_full_skipped), cmocka_unit_test(test_empty_and_cap0),
        cmocka_unit_test(test_many_matches), cmocka_unit_test(test_all_orders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
