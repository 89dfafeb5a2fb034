/* W1 point lookup through tide's C API.
 *
 *   w1_tide URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * A tide_pool with max_size 1; per lookup one tide_pool_query with a
 * TIDE_KIND_INT parameter (tide prepares and caches the statement itself),
 * then every field read with tide_result_text and id decoded with
 * tide_decode_int. */
#include <string.h>
#include "bench.h"
#include "tide/pool.h"

#define W1_USERS 10000
#define W1_SQL "select id, email, name, created_at from users where id = $1"

typedef struct ctx {
    tide_pool *pool;
    tide_error *err;
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
        tide_value param = {.kind = TIDE_KIND_INT, .type = 0, .as.i = key};
        tide_result *r = NULL;
        if (tide_pool_query(c->pool, W1_SQL, 1, &param, 0, &r, c->err) != TIDE_OK) {
            fprintf(stderr, "w1_tide: %s\n", tide_error_message(c->err));
            return 1;
        }
        if (tide_result_rows(r) != 1) {
            fprintf(stderr, "w1_tide: user %lld: %d rows\n", (long long)key, tide_result_rows(r));
            tide_result_free(r);
            return 1;
        }
        size_t id_len, email_len, name_len, created_len;
        const char *id_s = tide_result_text(r, 0, 0, &id_len);
        const char *email = tide_result_text(r, 0, 1, &email_len);
        const char *name = tide_result_text(r, 0, 2, &name_len);
        const char *created_at = tide_result_text(r, 0, 3, &created_len);
        int64_t id;
        if (tide_decode_int(id_s, id_len, &id, c->err) != TIDE_OK || id != key || !email_len || !name_len ||
            !created_len || !email[0] || !name[0] || !created_at[0]) {
            fprintf(stderr, "w1_tide: user %lld: unexpected row (id %s)\n", (long long)key, id_s);
            tide_result_free(r);
            return 1;
        }
        check += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
        tide_result_free(r);
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
        fprintf(stderr, "w1_tide: connect: %s\n", tide_error_message(c.err));
        return 1;
    }
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    tide_pool_free(c.pool);
    tide_error_free(c.err);
    return rc;
}
