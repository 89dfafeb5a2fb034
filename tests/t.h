/* A tiny test harness: each test file is one executable with named cases.
 *
 *   T_CASE(name) { T_CHECK(x == 1); T_EQ_STR(s, "a"); T_EQ_INT(n, 3); }
 *   int main(void) { T_RUN(name); ...; return t_done(); }
 *
 * It prints one line per case and a closing "N passed, N failed" line. */
#ifndef TIDE_T_H
#define TIDE_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "tide.h"

static int t_passed, t_failed, t_case_failed;
static const char *t_case_name;

#define T_CASE(name) static void t_case_##name(void)
#define T_RUN(name)                                                        \
    do {                                                                   \
        t_case_name = #name;                                               \
        t_case_failed = 0;                                                 \
        t_case_##name();                                                   \
        if (t_case_failed) { t_failed++; printf("FAIL %s\n", #name); }     \
        else { t_passed++; printf("ok   %s\n", #name); }                   \
        fflush(stdout);                                                    \
    } while (0)

#define T_FAILF(...)                                                       \
    do {                                                                   \
        printf("  %s:%d: [%s] ", __FILE__, __LINE__, t_case_name);         \
        printf(__VA_ARGS__);                                               \
        printf("\n");                                                      \
        t_case_failed = 1;                                                 \
    } while (0)

#define T_CHECK(cond) do { if (!(cond)) T_FAILF("check failed: %s", #cond); } while (0)
#define T_REQUIRE(cond) do { if (!(cond)) { T_FAILF("required: %s", #cond); return; } } while (0)
#define T_EQ_INT(a, b)                                                     \
    do {                                                                   \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);            \
        if (t_a_ != t_b_) T_FAILF("%s == %lld, expected %lld", #a, t_a_, t_b_); \
    } while (0)
#define T_EQ_STR(a, b)                                                     \
    do {                                                                   \
        const char *t_a_ = (a), *t_b_ = (b);                               \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                     \
            T_FAILF("%s == \"%s\", expected \"%s\"", #a, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
    } while (0)
#define T_EQ_MEM(a, alen, b, blen)                                         \
    do {                                                                   \
        if ((size_t)(alen) != (size_t)(blen) || memcmp((a), (b), (blen)) != 0) \
            T_FAILF("%s (%zu bytes) differs from %s (%zu bytes)", #a, (size_t)(alen), #b, (size_t)(blen)); \
    } while (0)

static int t_done(void)
{
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed ? 1 : (t_passed ? 0 : 1);
}

/* An allocator that fails the alloc_fail_at-th allocation and counts what is
 * live, for out-of-memory sweeps: install it with tide_set_allocator. */
static long alloc_count, alloc_live, alloc_fail_at;

__attribute__((unused)) static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        if (ptr)
            alloc_live--;
        free(ptr);
        return NULL;
    }
    if (++alloc_count == alloc_fail_at)
        return NULL;
    void *q = realloc(ptr, nsize);
    if (q && !ptr)
        alloc_live++;
    return q;
}

/* Out of memory at every allocation: scenario runs once per allocation it
 * makes, that one failing (up to limit runs). A run that fails must say so
 * in *errp (made anew for each run; the scenario reads it), and no run may
 * leak. Counts the runs that failed and those that succeeded. */
__attribute__((unused)) static void t_oom_sweep(int (*scenario)(void), tide_error **errp, long limit,
                                                int *failures, int *successes)
{
    tide_error_free(*errp);
    *failures = *successes = 0;
    for (alloc_fail_at = 1; alloc_fail_at < limit; alloc_fail_at++) {
        alloc_count = 0;
        alloc_live = 0;
        tide_set_allocator(failing_alloc, NULL);
        *errp = tide_error_new();
        int rc = *errp ? scenario() : -1;
        if (rc != 0 && *errp && tide_error_code(*errp) == TIDE_E_NONE)
            T_FAILF("failure %ld reported no error", alloc_fail_at);
        tide_error_free(*errp);
        tide_set_allocator(NULL, NULL);
        if (alloc_live != 0)
            T_FAILF("failing allocation %ld: %ld allocations leaked", alloc_fail_at, alloc_live);
        if (rc == 0)
            ++*successes;
        else
            ++*failures;
        if (alloc_count < alloc_fail_at)
            break; /* every allocation point has been failed once */
    }
    *errp = tide_error_new();
}

/* The test database URL, from the harness (scripts/with-pg.sh). */
static const char *t_url(void)
{
    const char *u = getenv("TIDE_TEST_URL");
    if (!u) u = getenv("DATABASE_URL");
    if (!u) { fprintf(stderr, "TIDE_TEST_URL is not set: run under scripts/with-pg.sh\n"); exit(1); }
    return u;
}

#endif
