/* W4 bulk insert through tide's C API: one INSERT ... SELECT * FROM
 * unnest($1::int[], $2::text[], $3::timestamptz[]) run by tide_pool_query,
 * the three columns bound as array literals in TEXT parameters (tide sends
 * TEXT as it is, after checking it is valid UTF-8).
 *
 *   w4_tide URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * ITERATIONS is the number of rows (50,000), ops/s rows per second. The rows
 * are built before the timing (w4.h), and the three literal buffers are
 * allocated once; timed: writing the three array literals from the rows
 * (labels and times quoted, '"' and '\' escaped), the query, and its row
 * count checked. Before every run (untimed): TRUNCATE w4_rows RESTART
 * IDENTITY. */
#include "bench.h"
#include "tide/pool.h"
#include "w4.h"

#define PROG "w4_tide"
#define SQL "insert into w4_rows (n, label, at) select * from unnest($1::int[], $2::text[], $3::timestamptz[])"

typedef struct ctx {
    tide_pool *pool;
    tide_error *err;
    w4_row *rows;
    char *ns, *labels, *ats;
} ctx;

static int setup(void *p, long iterations)
{
    ctx *c = p;
    tide_result *r = NULL;
    if (tide_pool_query(c->pool, W4_SETUP, 0, NULL, 0, &r, c->err) != TIDE_OK) {
        fprintf(stderr, PROG ": setup: %s\n", tide_error_message(c->err));
        return 1;
    }
    tide_result_free(r);
    return 0;
}

static char *put_int(char *o, int v)
{
    char tmp[12];
    int n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *o++ = '-';
    while (n)
        *o++ = tmp[--n];
    return o;
}

static char *put_quoted(char *o, const char *s, size_t len)
{
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            *o++ = '\\';
        *o++ = s[i];
    }
    *o++ = '"';
    return o;
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    char *n = c->ns, *l = c->labels, *t = c->ats;
    *n++ = '{', *l++ = '{', *t++ = '{';
    for (long i = 0; i < iterations; i++) {
        const w4_row *row = &c->rows[i];
        if (i)
            *n++ = ',', *l++ = ',', *t++ = ',';
        n = put_int(n, row->n);
        l = put_quoted(l, row->label, (size_t)row->label_len);
        t = put_quoted(t, row->at, strlen(row->at));
    }
    *n++ = '}', *l++ = '}', *t++ = '}';
    tide_value params[3] = {
        {.kind = TIDE_KIND_TEXT, .as.s = {c->ns, (size_t)(n - c->ns)}},
        {.kind = TIDE_KIND_TEXT, .as.s = {c->labels, (size_t)(l - c->labels)}},
        {.kind = TIDE_KIND_TEXT, .as.s = {c->ats, (size_t)(t - c->ats)}},
    };
    tide_result *r = NULL;
    if (tide_pool_query(c->pool, SQL, 3, params, 0, &r, c->err) != TIDE_OK) {
        fprintf(stderr, PROG ": %s\n", tide_error_message(c->err));
        return 1;
    }
    int ok = tide_result_affected(r) == iterations;
    if (!ok)
        fprintf(stderr, PROG ": %lld rows inserted\n", (long long)tide_result_affected(r));
    tide_result_free(r);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.err = tide_error_new();
    c.rows = w4_rows_new(a.iterations);
    size_t cap = (size_t)a.iterations * 100 + 16;
    c.ns = malloc(cap), c.labels = malloc(cap), c.ats = malloc(cap);
    if (!c.rows || !c.ns || !c.labels || !c.ats)
        return 1;
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
    char check[64];
    if (rc == 0 && (rc = w4_check(PROG, a.url, check, sizeof check)) == 0)
        printf("# check %s\n", check);
    tide_pool_free(c.pool);
    tide_error_free(c.err);
    free(c.ns), free(c.labels), free(c.ats);
    w4_rows_free(c.rows);
    return rc;
}
