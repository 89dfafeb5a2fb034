/* W7 streaming, the baseline: libpq's single-row mode. One query for
 * ITERATIONS rows of w7_rows; each row's fields read as it arrives, so the
 * client never holds more than one row.
 *
 *   w7_libpq_single URL ITERATIONS RUNS      (protocol: see bench.h)
 *
 * Prints "# check N" (the sum of id + n + length(label); at is only checked
 * to be there: tide writes timestamps in ISO 8601, libpq gives the server's
 * text) and "# maxrss_kb N". */
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "bench_pq.h"

static const char *SQL = "select id, n, label, at from w7_rows where id <= $1 order by id";

typedef struct ctx {
    PGconn *pg;
    long long check;
} ctx;

static int run(void *p, long iterations)
{
    ctx *c = p;
    char limit[32];
    snprintf(limit, sizeof limit, "%ld", iterations);
    const char *params[1] = {limit};
    if (!PQsendQueryPrepared(c->pg, "w7", 1, params, NULL, NULL, 0) || !PQsetSingleRowMode(c->pg)) {
        fprintf(stderr, "w7_libpq_single: send: %s", PQerrorMessage(c->pg));
        return 1;
    }
    long long sum = 0;
    long rows = 0;
    PGresult *r;
    int failed = 0;
    while ((r = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            if (PQgetisnull(r, 0, 3)) {
                fprintf(stderr, "w7_libpq_single: a row without at\n");
                failed = 1;
            }
            sum += strtoll(PQgetvalue(r, 0, 0), NULL, 10) + strtol(PQgetvalue(r, 0, 1), NULL, 10) +
                   PQgetlength(r, 0, 2);
            rows++;
        } else if (st != PGRES_TUPLES_OK) {
            fprintf(stderr, "w7_libpq_single: %s", PQerrorMessage(c->pg));
            failed = 1;
        }
        PQclear(r);
    }
    if (failed)
        return 1;
    if (rows != iterations) {
        fprintf(stderr, "w7_libpq_single: %ld rows, %ld expected\n", rows, iterations);
        return 1;
    }
    c->check = sum;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.pg = bench_pq_connect("w7_libpq_single", a.url);
    if (!c.pg || bench_pq_prepare("w7_libpq_single", c.pg, "w7", SQL))
        return 1;
    if (bench_main_loop(&a, run, &c))
        return 1;
    printf("# check %lld\n", c.check);
    bench_print_maxrss();
    PQfinish(c.pg);
    return 0;
}
