/* W2 list with join, the baseline: hand-written libpq with a prepared statement.
 *
 *   w2_libpq URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * Prepares once (PQprepare), then per operation: PQexecPrepared with a random
 * author's id as a text parameter, checks the status, and for each of the (up
 * to) 20 rows reads id, title, created_at and the author's name, converts id
 * to an integer and checks the name is there. */
#include <errno.h>
#include <libpq-fe.h>
#include <string.h>
#include "bench.h"

#define W2_USERS 10000
#define W2_SQL                                                                               \
    "select p.id, p.title, p.created_at, u.name from posts p join users u on u.id = p.author_id " \
    "where p.author_id = $1 and p.published order by p.created_at desc limit 20"

typedef struct ctx {
    PGconn *pg;
    uint64_t check;
} ctx;

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    for (long i = 0; i < iterations; i++) {
        int64_t key = bench_rng_key(&rng, W2_USERS);
        char kbuf[24];
        snprintf(kbuf, sizeof kbuf, "%lld", (long long)key);
        const char *values[1] = {kbuf};
        PGresult *r = PQexecPrepared(c->pg, "w2", 1, values, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "w2_libpq: %s", PQerrorMessage(c->pg));
            PQclear(r);
            return 1;
        }
        int n = PQntuples(r);
        check += (uint64_t)n;
        for (int row = 0; row < n; row++) {
            const char *id_s = PQgetvalue(r, row, 0);
            const char *created_at = PQgetvalue(r, row, 2);
            int title_len = PQgetlength(r, row, 1), name_len = PQgetlength(r, row, 3);
            char *end;
            errno = 0;
            long long id = strtoll(id_s, &end, 10);
            if (errno || *end || id <= 0 || !created_at[0] || name_len == 0) {
                fprintf(stderr, "w2_libpq: author %lld: unexpected row (id %s)\n", (long long)key, id_s);
                PQclear(r);
                return 1;
            }
            check += (uint64_t)id + (uint64_t)title_len + (uint64_t)name_len;
        }
        PQclear(r);
    }
    c->check = check;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.pg = PQconnectdb(a.url);
    if (PQstatus(c.pg) != CONNECTION_OK) {
        fprintf(stderr, "w2_libpq: connect: %s", PQerrorMessage(c.pg));
        return 1;
    }
    PGresult *r = PQprepare(c.pg, "w2", W2_SQL, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "w2_libpq: prepare: %s", PQerrorMessage(c.pg));
        return 1;
    }
    PQclear(r);
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    PQfinish(c.pg);
    return rc;
}
