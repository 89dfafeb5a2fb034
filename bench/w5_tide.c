/* W5 transaction through tide's C API.
 *
 *   w5_tide URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * Per transaction: tide_pool_acquire, then four tide_conn_query calls on the
 * connection: BEGIN, the UPDATE (TIDE_KIND_INT key, TEXT name; one row
 * affected, checked), the INSERT ... RETURNING id (one row, id decoded and
 * checked), COMMIT (command tag checked), then tide_pool_release. tide
 * prepares and caches the UPDATE and INSERT itself; BEGIN and COMMIT have no
 * parameters, so they go through the simple protocol, as the Lua layer
 * sends them. (The C API has no transaction helper yet.) Before every run
 * (untimed): the posts a run inserted are deleted (w5.h). */
#include <string.h>
#include "bench.h"
#include "tide/pool.h"
#include "w5.h"

#define PROG "w5_tide"
#define SQL_UPDATE "update users set name = $2 where id = $1"
#define SQL_INSERT "insert into posts (author_id, title, body, created_at) values ($1, $2, $3, $4) returning id"

typedef struct ctx {
    tide_pool *pool;
    tide_error *err;
    uint64_t check;
} ctx;

static int query(ctx *c, tide_conn *conn, const char *sql, int n, const tide_value *params, tide_result **out)
{
    if (tide_conn_query(conn, sql, n, params, 0, out, c->err) != TIDE_OK) {
        fprintf(stderr, PROG ": %s: %s\n", sql, tide_error_message(c->err));
        return 1;
    }
    return 0;
}

static int setup(void *p, long iterations)
{
    ctx *c = p;
    tide_result *r = NULL;
    if (tide_pool_query(c->pool, W5_SETUP, 0, NULL, 0, &r, c->err) != TIDE_OK) {
        fprintf(stderr, PROG ": setup: %s\n", tide_error_message(c->err));
        return 1;
    }
    tide_result_free(r);
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
        tide_conn *conn;
        if (tide_pool_acquire(c->pool, &conn, c->err) != TIDE_OK) {
            fprintf(stderr, PROG ": acquire: %s\n", tide_error_message(c->err));
            return 1;
        }
        tide_result *r = NULL;
        int ok = 0, updated = 0, inserted = 0, committed = 0;
        tide_value up[2] = {{.kind = TIDE_KIND_INT, .as.i = key},
                            {.kind = TIDE_KIND_TEXT, .as.s = {name, (size_t)name_len}}};
        tide_value ip[4] = {{.kind = TIDE_KIND_INT, .as.i = key},
                            {.kind = TIDE_KIND_TEXT, .as.s = {title, (size_t)title_len}},
                            {.kind = TIDE_KIND_TEXT, .as.s = {W5_BODY, sizeof W5_BODY - 1}},
                            {.kind = TIDE_KIND_TEXT, .as.s = {W5_CREATED_AT, sizeof W5_CREATED_AT - 1}}};
        if (query(c, conn, "BEGIN", 0, NULL, &r))
            goto done;
        tide_result_free(r);
        if (query(c, conn, SQL_UPDATE, 2, up, &r))
            goto done;
        updated = tide_result_affected(r) == 1;
        tide_result_free(r);
        if (query(c, conn, SQL_INSERT, 4, ip, &r))
            goto done;
        if (tide_result_rows(r) == 1) {
            size_t len;
            const char *s = tide_result_text(r, 0, 0, &len);
            int64_t id;
            inserted = tide_decode_int(s, len, &id, c->err) == TIDE_OK && id > 0;
        }
        tide_result_free(r);
        if (query(c, conn, "COMMIT", 0, NULL, &r))
            goto done;
        committed = tide_result_command(r) && strcmp(tide_result_command(r), "COMMIT") == 0;
        tide_result_free(r);
        ok = updated && inserted && committed;
        if (!ok)
            fprintf(stderr, PROG ": transaction %ld (user %lld) did not do its work\n", i, (long long)key);
    done:
        tide_pool_release(c->pool, conn);
        if (!ok)
            return 1;
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
