/* W5 transaction in one round trip through tide's C API.
 *
 *   w5_tide_batch URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * Per transaction: one atomic tide_pool_batch of the UPDATE (TIDE_KIND_INT
 * key, TEXT name; one row affected, checked) and the INSERT ... RETURNING id
 * (one row, id decoded and checked). An atomic batch is one implicit
 * transaction, so no BEGIN or COMMIT is sent: the whole transaction is one
 * round trip. Before every run (untimed): the posts a run inserted are
 * deleted (w5.h). */
#include <string.h>
#include "bench.h"
#include "tide/pool.h"
#include "w5.h"

#define PROG "w5_tide_batch"
#define SQL_UPDATE "update users set name = $2 where id = $1"
#define SQL_INSERT "insert into posts (author_id, title, body, created_at) values ($1, $2, $3, $4) returning id"

typedef struct ctx {
    tide_pool *pool;
    tide_error *err;
    uint64_t check;
} ctx;

static int setup(void *p, long iterations)
{
    ctx *c = p;
    (void)iterations;
    if (tide_pool_query(c->pool, W5_SETUP, 0, NULL, 0, NULL, c->err) != TIDE_OK) {
        fprintf(stderr, PROG ": setup: %s\n", tide_error_message(c->err));
        return 1;
    }
    return 0;
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    for (long i = 1; i <= iterations; i++) {
        int64_t key = bench_rng_key(&rng, W5_USERS);
        char name[48], title[48];
        int name_len = snprintf(name, sizeof name, "w5 name %ld", i);
        int title_len = snprintf(title, sizeof title, "w5 post %ld", i);
        tide_value up[2] = {{.kind = TIDE_KIND_INT, .as.i = key},
                            {.kind = TIDE_KIND_TEXT, .as.s = {name, (size_t)name_len}}};
        tide_value ip[4] = {{.kind = TIDE_KIND_INT, .as.i = key},
                            {.kind = TIDE_KIND_TEXT, .as.s = {title, (size_t)title_len}},
                            {.kind = TIDE_KIND_TEXT, .as.s = {W5_BODY, sizeof W5_BODY - 1}},
                            {.kind = TIDE_KIND_TEXT, .as.s = {W5_CREATED_AT, sizeof W5_CREATED_AT - 1}}};
        tide_stmt st[2] = {{SQL_UPDATE, 2, up}, {SQL_INSERT, 4, ip}};
        tide_batch *b = NULL;
        if (tide_pool_batch(c->pool, 2, st, 0, &b, c->err) != TIDE_OK) {
            fprintf(stderr, PROG ": %s\n", tide_error_message(c->err));
            tide_batch_free(b);
            return 1;
        }
        tide_result *u = tide_batch_take(b, 0, c->err), *r = tide_batch_take(b, 1, c->err);
        int ok = u && r && tide_result_affected(u) == 1 && tide_result_rows(r) == 1;
        if (ok) {
            size_t len;
            const char *s = tide_result_text(r, 0, 0, &len);
            int64_t id;
            ok = tide_decode_int(s, len, &id, c->err) == TIDE_OK && id > 0;
        }
        tide_result_free(u);
        tide_result_free(r);
        tide_batch_free(b);
        if (!ok) {
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
    c.err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = a.url;
    o.min_size = 1;
    o.max_size = 1;
    c.pool = tide_pool_new(&o, c.err);
    if (!c.pool) {
        fprintf(stderr, PROG ": connect: %s\n", tide_error_message(c.err));
        return 1;
    }
    int rc = bench_main_loop_setup(&a, setup, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    tide_pool_free(c.pool);
    tide_error_free(c.err);
    return rc;
}
