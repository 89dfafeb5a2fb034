/* W1 point lookup, the baseline: hand-written libpq with a prepared statement.
 *
 *   w1_libpq URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * Prepares once (PQprepare), then per lookup: PQexecPrepared with the key as
 * a text parameter, checks the status and row count, reads every field with
 * PQgetvalue/PQgetlength, converts id to an integer and checks it. */
#include <errno.h>
#include <libpq-fe.h>
#include <string.h>
#include "bench.h"

#define W1_USERS 10000
#define W1_SQL "select id, email, name, created_at from users where id = $1"

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
        int64_t key = bench_rng_key(&rng, W1_USERS);
        char kbuf[24];
        snprintf(kbuf, sizeof kbuf, "%lld", (long long)key);
        const char *values[1] = {kbuf};
        PGresult *r = PQexecPrepared(c->pg, "w1", 1, values, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "w1_libpq: %s", PQerrorMessage(c->pg));
            PQclear(r);
            return 1;
        }
        if (PQntuples(r) != 1) {
            fprintf(stderr, "w1_libpq: user %lld: %d rows\n", (long long)key, PQntuples(r));
            PQclear(r);
            return 1;
        }
        const char *id_s = PQgetvalue(r, 0, 0);
        const char *email = PQgetvalue(r, 0, 1);
        const char *name = PQgetvalue(r, 0, 2);
        const char *created_at = PQgetvalue(r, 0, 3);
        int email_len = PQgetlength(r, 0, 1), name_len = PQgetlength(r, 0, 2);
        char *end;
        errno = 0;
        long long id = strtoll(id_s, &end, 10);
        if (errno || *end || id != key || !email[0] || !name[0] || !created_at[0]) {
            fprintf(stderr, "w1_libpq: user %lld: unexpected row (id %s)\n", (long long)key, id_s);
            PQclear(r);
            return 1;
        }
        check += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
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
        fprintf(stderr, "w1_libpq: connect: %s", PQerrorMessage(c.pg));
        return 1;
    }
    PGresult *r = PQprepare(c.pg, "w1", W1_SQL, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "w1_libpq: prepare: %s", PQerrorMessage(c.pg));
        return 1;
    }
    PQclear(r);
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    PQfinish(c.pg);
    return rc;
}
