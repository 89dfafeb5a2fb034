/* W1 point lookups, pipelined, through tide's C API.
 *
 *   w1_tide_batch URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * The lookups of W1 (same query, same key sequence, same checks) sent
 * BENCH_GROUP at a time (environment, default 10) with tide_pool_batch:
 * each group is one round trip. ops are lookups. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "tide/pool.h"

#define PROG "w1_tide_batch"
#define W1_USERS 10000
#define W1_SQL "select id, email, name, created_at from users where id = $1"

typedef struct ctx {
    tide_pool *pool;
    tide_error *err;
    int group;
    uint64_t check;
} ctx;

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    tide_value *keys = calloc((size_t)c->group, sizeof *keys);
    tide_stmt *st = calloc((size_t)c->group, sizeof *st);
    for (long done = 0; done < iterations;) {
        int n = iterations - done < c->group ? (int)(iterations - done) : c->group;
        for (int k = 0; k < n; k++) {
            keys[k] = (tide_value){.kind = TIDE_KIND_INT, .as.i = bench_rng_key(&rng, W1_USERS)};
            st[k] = (tide_stmt){W1_SQL, 1, &keys[k]};
        }
        tide_batch *b = NULL;
        if (tide_pool_batch(c->pool, n, st, 0, &b, c->err) != TIDE_OK) {
            fprintf(stderr, PROG ": %s\n", tide_error_message(c->err));
            tide_batch_free(b);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            tide_result *r = tide_batch_take(b, k, c->err);
            size_t id_len, email_len, name_len, created_len;
            const char *id_s = r && tide_result_rows(r) == 1 ? tide_result_text(r, 0, 0, &id_len) : NULL;
            int64_t id = -1;
            if (id_s) {
                const char *email = tide_result_text(r, 0, 1, &email_len);
                const char *name = tide_result_text(r, 0, 2, &name_len);
                const char *created_at = tide_result_text(r, 0, 3, &created_len);
                if (tide_decode_int(id_s, id_len, &id, c->err) != TIDE_OK || !email[0] || !name[0] ||
                    !created_at[0])
                    id = -1;
            }
            if (id != keys[k].as.i) {
                fprintf(stderr, PROG ": user %lld: unexpected result\n", (long long)keys[k].as.i);
                tide_result_free(r);
                tide_batch_free(b);
                return 1;
            }
            check += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
            tide_result_free(r);
        }
        tide_batch_free(b);
        done += n;
    }
    free(keys);
    free(st);
    c->check = check;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    const char *g = getenv("BENCH_GROUP");
    c.group = g && atoi(g) > 0 ? atoi(g) : 10;
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
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    tide_pool_free(c.pool);
    tide_error_free(c.err);
    return rc;
}
