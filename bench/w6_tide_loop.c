/* W6 through tide's C API: each wave of 1,000 lookups submitted at once with
 * tide_loop_query on a pool of 8 connections, then tide_loop_poll until every
 * callback has run.
 *
 *   w6_tide_loop URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * One tide_loop (tide_loop_new) on a pool with max_size 8; per lookup one
 * tide_loop_query with a TIDE_KIND_INT parameter (tide prepares and caches the
 * statement on each connection). The callback reads every field with
 * tide_result_text and decodes id with tide_decode_int, as w1_tide.c does,
 * and checks it against the key that lookup was submitted with. */
#include <string.h>
#include "bench.h"
#include "tide/loop.h"
#include "tide/pool.h"
#include "w6.h"

typedef struct ctx ctx;
typedef struct lookup {
    ctx *c;
    int64_t key;
} lookup;

struct ctx {
    tide_pool *pool;
    tide_loop *loop;
    tide_error *err;
    lookup wave[W6_WAVE];
    long done;
    uint64_t sum, check;
};

static void on_row(void *ud, tide_result *r, const tide_error *err)
{
    lookup *l = ud;
    ctx *c = l->c;
    if (!r) {
        fprintf(stderr, "w6_tide_loop: user %lld: %s\n", (long long)l->key, tide_error_message(err));
        exit(1);
    }
    if (tide_result_rows(r) != 1) {
        fprintf(stderr, "w6_tide_loop: user %lld: %d rows\n", (long long)l->key, tide_result_rows(r));
        exit(1);
    }
    size_t id_len, email_len, name_len, created_len;
    const char *id_s = tide_result_text(r, 0, 0, &id_len);
    const char *email = tide_result_text(r, 0, 1, &email_len);
    const char *name = tide_result_text(r, 0, 2, &name_len);
    const char *created_at = tide_result_text(r, 0, 3, &created_len);
    int64_t id;
    if (tide_decode_int(id_s, id_len, &id, c->err) != TIDE_OK || id != l->key || !email_len || !name_len ||
        !created_len || !email[0] || !name[0] || !created_at[0]) {
        fprintf(stderr, "w6_tide_loop: user %lld: unexpected row (id %s)\n", (long long)l->key, id_s);
        exit(1);
    }
    c->sum += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
    c->done++;
    tide_result_free(r);
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    c->sum = 0;
    c->done = 0;
    for (long sent = 0; sent < iterations;) {
        int wave = iterations - sent < W6_WAVE ? (int)(iterations - sent) : W6_WAVE;
        for (int j = 0; j < wave; j++) {
            lookup *l = &c->wave[j];
            l->c = c;
            l->key = bench_rng_key(&rng, W6_USERS);
            tide_value param = {.kind = TIDE_KIND_INT, .type = 0, .as.i = l->key};
            if (tide_loop_query(c->loop, c->pool, W6_SQL, 1, &param, 0, on_row, l, NULL, c->err) != TIDE_OK) {
                fprintf(stderr, "w6_tide_loop: submit: %s\n", tide_error_message(c->err));
                return 1;
            }
        }
        sent += wave;
        while (c->done < sent) {
            if (tide_loop_poll(c->loop, -1) < 0) {
                fprintf(stderr, "w6_tide_loop: poll failed\n");
                return 1;
            }
        }
    }
    c->check = c->sum;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    static ctx c;
    c.err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = a.url;
    o.min_size = 1;
    o.max_size = 8;
    c.pool = tide_pool_new(&o, c.err);
    if (!c.pool) {
        fprintf(stderr, "w6_tide_loop: connect: %s\n", tide_error_message(c.err));
        return 1;
    }
    c.loop = tide_loop_new(c.err);
    if (!c.loop) {
        fprintf(stderr, "w6_tide_loop: %s\n", tide_error_message(c.err));
        return 1;
    }
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    tide_loop_free(c.loop);
    tide_pool_free(c.pool);
    tide_error_free(c.err);
    return rc;
}
