/* W6 with libpq: the same pipelining as w6_libpq_pipeline.c, each wave split
 * round-robin over 8 connections (125 lookups each), all driven by one poll().
 *
 *   w6_libpq_pipeline8 URL ITERATIONS RUNS     (protocol: see bench.h) */
#define W6_CONNS 8
#define W6_PROG "w6_libpq_pipeline8"
#include "w6_libpq_pipeline.c"
