/* Shared helpers for the bench tool programs (header-only).
 *
 * Every tool program follows one protocol, which bench/driver.lua relies on:
 *
 *   PROGRAM URL ITERATIONS RUNS
 *
 * It connects once, does one warm-up run of ITERATIONS operations, then RUNS
 * measured runs of ITERATIONS operations each, and prints one line per
 * measured run:
 *
 *   ops_per_sec cpu_us_per_op
 *
 * (wall-clock operations per second; client CPU, user + system, in
 * microseconds per operation).
 * Lines starting with '#' are comments; "# check N" (a sum over what was
 * read) is compared across the tools of a workload. Anything wrong: a
 * message on stderr and a non-zero exit. */
#ifndef TIDE_BENCH_H
#define TIDE_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* The random key sequence: a 64-bit LCG (Knuth's MMIX constants) with a fixed
 * seed, restarted for every run. bench/bench.lua computes the same numbers
 * with Lua's wrapping 64-bit integers. */
#define BENCH_SEED 20240601u

typedef struct bench_rng {
    uint64_t x;
} bench_rng;

static inline void bench_rng_init(bench_rng *r) { r->x = BENCH_SEED; }

/* A key in [1, n]. */
static inline int64_t bench_rng_key(bench_rng *r, int64_t n)
{
    r->x = r->x * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((r->x >> 33) % (uint64_t)n) + 1;
}

static inline double bench_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* This process's CPU time (user + system), in seconds. (Not the user part
 * alone: the kernel splits user from system by sampling at each tick, which
 * is too coarse for runs this short; the total is exact.) */
static inline double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

typedef struct bench_args {
    const char *url;
    long iterations;
    int runs;
} bench_args;

static inline void bench_parse_args(int argc, char **argv, bench_args *a)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s URL ITERATIONS RUNS\n", argv[0]);
        exit(2);
    }
    a->url = argv[1];
    a->iterations = strtol(argv[2], NULL, 10);
    a->runs = (int)strtol(argv[3], NULL, 10);
    if (a->iterations <= 0 || a->runs <= 0) {
        fprintf(stderr, "%s: ITERATIONS and RUNS must be positive\n", argv[0]);
        exit(2);
    }
}

/* Runs fn(ctx, iterations) once to warm up, then `runs` times measured,
 * printing a protocol line for each measured run. fn returns 0 on success.
 * setup (may be NULL) runs before every run, outside the timing: for a
 * workload that changes the data, it puts the data back (e.g. truncates the
 * table a bulk insert filled), so that every run does the same work. */
typedef int (*bench_fn)(void *ctx, long iterations);

static inline int bench_main_loop_setup(const bench_args *a, bench_fn setup, bench_fn fn, void *ctx)
{
    for (int r = -1; r < a->runs; r++) { /* r == -1: the warm-up */
        if (setup && setup(ctx, a->iterations) != 0)
            return 1;
        double w0 = bench_wall(), c0 = bench_cpu();
        if (fn(ctx, a->iterations) != 0)
            return 1;
        double w1 = bench_wall(), c1 = bench_cpu();
        if (r >= 0) {
            double n = (double)a->iterations;
            printf("%.1f %.3f\n", n / (w1 - w0), (c1 - c0) * 1e6 / n);
            fflush(stdout);
        }
    }
    return 0;
}

/* "# maxrss_kb N": the process's peak resident set so far (the streaming
 * workload compares it across row counts). */
static inline void bench_print_maxrss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("# maxrss_kb %ld\n", ru.ru_maxrss);
}

static inline int bench_main_loop(const bench_args *a, bench_fn fn, void *ctx)
{
    return bench_main_loop_setup(a, NULL, fn, ctx);
}

#endif
