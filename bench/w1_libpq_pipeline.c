/* W1 point lookups, pipelined by hand with libpq: the reference for what
 * tide's batches could reach.
 *
 *   w1_libpq_pipeline URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * The statement prepared once; per group of BENCH_GROUP lookups
 * (environment, default 10): PQenterPipelineMode, PQsendQueryPrepared for
 * each key (text parameter), PQpipelineSync, then every result read
 * (blocking: a group is small enough for the socket buffers), checked as
 * w1_libpq.c checks it, and PQexitPipelineMode. ops are lookups. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "bench_pq.h"

#define PROG "w1_libpq_pipeline"
#define W1_USERS 10000
#define W1_SQL "select id, email, name, created_at from users where id = $1"
#define MAX_GROUP 1000

typedef struct ctx {
    PGconn *pg;
    int group;
    uint64_t check;
} ctx;

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    static int64_t keys[MAX_GROUP];
    for (long done = 0; done < iterations;) {
        int n = iterations - done < c->group ? (int)(iterations - done) : c->group;
        if (!PQenterPipelineMode(c->pg))
            goto fail;
        for (int k = 0; k < n; k++) {
            keys[k] = bench_rng_key(&rng, W1_USERS);
            char kbuf[24];
            snprintf(kbuf, sizeof kbuf, "%lld", (long long)keys[k]);
            const char *values[1] = {kbuf};
            if (!PQsendQueryPrepared(c->pg, "w1", 1, values, NULL, NULL, 0))
                goto fail;
        }
        if (!PQpipelineSync(c->pg))
            goto fail;
        for (int k = 0; k < n; k++) {
            PGresult *r = PQgetResult(c->pg);
            if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
                PQclear(r);
                goto fail;
            }
            const char *id_s = PQgetvalue(r, 0, 0);
            const char *email = PQgetvalue(r, 0, 1), *name = PQgetvalue(r, 0, 2);
            const char *created_at = PQgetvalue(r, 0, 3);
            int email_len = PQgetlength(r, 0, 1), name_len = PQgetlength(r, 0, 2);
            char *end;
            errno = 0;
            long long id = strtoll(id_s, &end, 10);
            if (errno || *end || id != keys[k] || !email[0] || !name[0] || !created_at[0]) {
                fprintf(stderr, PROG ": user %lld: unexpected row (id %s)\n", (long long)keys[k], id_s);
                PQclear(r);
                return 1;
            }
            check += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
            PQclear(r);
            if ((r = PQgetResult(c->pg)) != NULL) { /* the end of this query's results */
                PQclear(r);
                goto fail;
            }
        }
        PGresult *s = PQgetResult(c->pg);
        int synced = PQresultStatus(s) == PGRES_PIPELINE_SYNC;
        PQclear(s);
        if (!synced || !PQexitPipelineMode(c->pg))
            goto fail;
        done += n;
    }
    c->check = check;
    return 0;
fail:
    fprintf(stderr, PROG ": %s", PQerrorMessage(c->pg));
    return 1;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    const char *g = getenv("BENCH_GROUP");
    c.group = g && atoi(g) > 0 ? atoi(g) : 10;
    if (c.group > MAX_GROUP)
        c.group = MAX_GROUP;
    if (!(c.pg = bench_pq_connect(PROG, a.url)) || bench_pq_prepare(PROG, c.pg, "w1", W1_SQL))
        return 1;
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    PQfinish(c.pg);
    return rc;
}
