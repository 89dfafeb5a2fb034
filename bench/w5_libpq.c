/* W5 transaction, the baseline: hand-written libpq, four prepared statements.
 *
 *   w5_libpq URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * Per transaction (one round trip each): BEGIN; UPDATE users SET name = $2
 * WHERE id = $1 (one row affected, checked); INSERT INTO posts (author_id,
 * title, body, created_at) VALUES (...) RETURNING id (one row, its id
 * parsed and checked); COMMIT (its command tag checked: COMMIT, not
 * ROLLBACK). Before every run (untimed): the posts a run inserted are
 * deleted (w5.h). */
#include <string.h>
#include "bench.h"
#include "bench_pq.h"
#include "w5.h"

#define PROG "w5_libpq"

typedef struct ctx {
    PGconn *pg;
    uint64_t check;
} ctx;

static int setup(void *p, long iterations)
{
    ctx *c = p;
    return bench_pq_exec(PROG, c->pg, W5_SETUP);
}

static PGresult *exec(ctx *c, const char *stmt, int n, const char *const *values, ExecStatusType want)
{
    PGresult *r = PQexecPrepared(c->pg, stmt, n, values, NULL, NULL, 0);
    if (PQresultStatus(r) != want) {
        fprintf(stderr, PROG ": %s: %s", stmt, PQerrorMessage(c->pg));
        PQclear(r);
        return NULL;
    }
    return r;
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    for (long i = 1; i <= iterations; i++) {
        int64_t key = bench_rng_key(&rng, W5_USERS);
        char kbuf[24], name[48], title[48];
        snprintf(kbuf, sizeof kbuf, "%lld", (long long)key);
        snprintf(name, sizeof name, "w5 name %ld", i);
        snprintf(title, sizeof title, "w5 post %ld", i);
        PGresult *r = exec(c, "w5_begin", 0, NULL, PGRES_COMMAND_OK);
        if (!r)
            return 1;
        PQclear(r);
        const char *uv[2] = {kbuf, name};
        if (!(r = exec(c, "w5_update", 2, uv, PGRES_COMMAND_OK)))
            return 1;
        int updated = strcmp(PQcmdTuples(r), "1") == 0;
        PQclear(r);
        const char *iv[4] = {kbuf, title, W5_BODY, W5_CREATED_AT};
        if (!(r = exec(c, "w5_insert", 4, iv, PGRES_TUPLES_OK)))
            return 1;
        int inserted = PQntuples(r) == 1 && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0;
        PQclear(r);
        if (!(r = exec(c, "w5_commit", 0, NULL, PGRES_COMMAND_OK)))
            return 1;
        int committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
        PQclear(r);
        if (!updated || !inserted || !committed) {
            fprintf(stderr, PROG ": transaction %ld (user %lld) did not do its work\n", i, (long long)key);
            return 1;
        }
        check += (uint64_t)key + 1;
    }
    c->check = check;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.pg = bench_pq_connect(PROG, a.url);
    if (!c.pg || bench_pq_prepare(PROG, c.pg, "w5_begin", "begin") ||
        bench_pq_prepare(PROG, c.pg, "w5_update", "update users set name = $2 where id = $1") ||
        bench_pq_prepare(PROG, c.pg, "w5_insert",
                         "insert into posts (author_id, title, body, created_at) values ($1, $2, $3, $4) returning id") ||
        bench_pq_prepare(PROG, c.pg, "w5_commit", "commit"))
        return 1;
    int rc = bench_main_loop_setup(&a, setup, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    PQfinish(c.pg);
    return rc;
}
