/* Batches (tide_conn_batch): several statements in one round trip, atomic or
 * each on its own, against the real server: results in order, failures
 * that leave nothing written, values refused before anything runs, more
 * statements than the cache holds, a pipeline larger than the socket
 * buffers, a plan gone stale, transaction poolers' unnamed statements, the
 * loop, and out of memory at every allocation. */
#include "t.h"
#include "tide.h"

static tide_error *err;

static tide_conn *conn_with(int cache, int no_prepare)
{
    static char url[1024];
    tide_conn_options o;
    tide_conn_options_init(&o);
    const char *u = t_url();
    if (no_prepare) /* the caller's IntervalStyle stands in for a pooler's ALTER ROLE */
        snprintf(url, sizeof url, "%s%soptions=-c%%20IntervalStyle%%3Diso_8601", u, strchr(u, '?') ? "&" : "?");
    o.conninfo = no_prepare ? url : u;
    o.no_prepare = no_prepare;
    if (cache)
        o.stmt_cache_size = cache;
    tide_conn *c = tide_conn_new(&o, err);
    if (c && tide_conn_connect(c, err) != TIDE_OK) {
        printf("  connect: %s\n", tide_error_message(err));
        tide_conn_free(c);
        return NULL;
    }
    return c;
}

static int64_t int_at(tide_result *r, int row, int col)
{
    int64_t v = -1;
    size_t len;
    const char *s = tide_result_text(r, row, col, &len);
    if (s)
        tide_decode_int(s, len, &v, NULL);
    return v;
}

static int64_t scalar(tide_conn *c, const char *sql)
{
    tide_result *r = NULL;
    if (tide_conn_query(c, sql, 0, NULL, 0, &r, err) != TIDE_OK) {
        printf("  %s: %s\n", sql, tide_error_message(err));
        return -1;
    }
    int64_t v = int_at(r, 0, 0);
    tide_result_free(r);
    return v;
}

static int exec(tide_conn *c, const char *sql)
{
    return tide_conn_query(c, sql, 0, NULL, 0, NULL, err);
}

#define INT(x) {.kind = TIDE_KIND_INT, .as.i = (x)}
#define TXT(str) {.kind = TIDE_KIND_TEXT, .as.s = {(str), sizeof(str) - 1}}

static const char *INSERT = "INSERT INTO bt(id, name) VALUES ($1, $2) RETURNING id * 10";

static tide_conn *fresh(int cache, int no_prepare)
{
    tide_conn *c = conn_with(cache, no_prepare);
    if (c && exec(c, "CREATE TEMP TABLE IF NOT EXISTS bt(id int PRIMARY KEY, name text NOT NULL); TRUNCATE bt") !=
                 TIDE_OK) {
        tide_conn_free(c);
        return NULL;
    }
    return c;
}

T_CASE(results_come_back_in_order)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    tide_value a[] = {INT(1), TXT("one")}, b[] = {INT(2), TXT("two")}, s[] = {INT(41)};
    tide_stmt st[] = {{INSERT, 2, a}, {"SELECT $1::int + 1, 'x'", 1, s}, {INSERT, 2, b},
                      {"UPDATE bt SET name = upper(name)", 0, NULL}, {"SELECT count(*) FROM bt", 0, NULL}};
    for (int round = 0; round < 2; round++) { /* the second: every text prepared already */
        if (round)
            T_REQUIRE(exec(c, "TRUNCATE bt") == TIDE_OK);
        tide_batch *bt = NULL;
        T_REQUIRE(tide_conn_batch(c, 5, st, 0, &bt, err) == TIDE_OK);
        T_EQ_INT(tide_batch_count(bt), 5);
        T_EQ_INT(tide_batch_failed(bt), -1);
        tide_result *r[5];
        for (int i = 0; i < 5; i++)
            T_REQUIRE((r[i] = tide_batch_take(bt, i, err)) != NULL);
        T_EQ_INT(int_at(r[0], 0, 0), 10);
        T_EQ_INT(int_at(r[1], 0, 0), 42);
        T_EQ_INT(int_at(r[2], 0, 0), 20);
        T_EQ_INT(tide_result_affected(r[3]), 2);
        T_EQ_INT(int_at(r[4], 0, 0), 2);
        T_CHECK(tide_batch_take(bt, 0, err) == NULL); /* taken already */
        T_EQ_INT(tide_error_code(err), TIDE_E_MISUSE);
        for (int i = 0; i < 5; i++)
            tide_result_free(r[i]);
        tide_batch_free(bt);
    }
    T_EQ_INT(tide_conn_cached_statements(c), 4); /* INSERT once */
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt WHERE name IN ('ONE', 'TWO')"), 2);
    tide_conn_free(c);
}

/* Statement 2 of 3 violates the primary key. */
static int conflicting(tide_conn *c, int flags, tide_batch **bt)
{
    tide_value a[] = {INT(1), TXT("a")}, dup[] = {INT(1), TXT("again")}, b[] = {INT(2), TXT("b")};
    tide_stmt st[] = {{INSERT, 2, a}, {INSERT, 2, dup}, {INSERT, 2, b}};
    return tide_conn_batch(c, 3, st, flags, bt, err);
}

T_CASE(atomic_failure_writes_nothing)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    tide_batch *bt = NULL;
    T_CHECK(conflicting(c, 0, &bt) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    T_REQUIRE(bt);
    T_EQ_INT(tide_batch_failed(bt), 1);
    T_CHECK(tide_batch_take(bt, 0, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_TRANSACTION_ROLLED_BACK);
    T_CHECK(tide_batch_take(bt, 1, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_CONSTRAINT), "bt_pkey");
    T_CHECK(tide_batch_take(bt, 2, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_TRANSACTION_ROLLED_BACK);
    tide_batch_free(bt);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_IDLE);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt"), 0);
    tide_conn_free(c);
}

T_CASE(each_statement_on_its_own)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    tide_batch *bt = NULL;
    T_CHECK(conflicting(c, TIDE_BATCH_EACH, &bt) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    T_REQUIRE(bt);
    T_EQ_INT(tide_batch_failed(bt), 1);
    tide_result *r0 = tide_batch_take(bt, 0, err), *r2 = tide_batch_take(bt, 2, err);
    T_REQUIRE(r0 && r2);
    T_EQ_INT(int_at(r0, 0, 0), 10);
    T_EQ_INT(int_at(r2, 0, 0), 20);
    T_CHECK(tide_batch_take(bt, 1, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    tide_result_free(r0);
    tide_result_free(r2);
    tide_batch_free(bt);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt"), 2);
    tide_conn_free(c);
}

T_CASE(refused_before_anything_runs)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    tide_value a[] = {INT(1), TXT("a")}, half[] = {{.kind = TIDE_KIND_FLOAT, .as.f = 3.5}, TXT("b")};
    /* a value that does not fit its parameter */
    tide_stmt st[] = {{INSERT, 2, a}, {INSERT, 2, half}};
    tide_batch *bt = NULL;
    T_CHECK(tide_conn_batch(c, 2, st, TIDE_BATCH_EACH, &bt, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    T_CHECK(strstr(tide_error_message(err), "statement 2: parameter $1") != NULL);
    T_EQ_INT(tide_batch_failed(bt), 1);
    T_CHECK(tide_batch_take(bt, 0, err) == NULL);
    T_CHECK(strstr(tide_error_message(err), "not run") != NULL);
    tide_batch_free(bt);
    /* a text the server cannot prepare (among new ones) */
    tide_stmt bad[] = {{INSERT, 2, a}, {"SELEC 1", 0, NULL}, {"SELECT $1::int", 1, a}};
    T_CHECK(tide_conn_batch(c, 3, bad, 0, &bt, err) == TIDE_ERROR);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "42601");
    T_EQ_INT(tide_batch_failed(bt), 1);
    tide_batch_free(bt);
    /* the wrong number of values */
    tide_stmt few[] = {{INSERT, 1, a}};
    T_CHECK(tide_conn_batch(c, 1, few, 0, &bt, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    tide_batch_free(bt);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt"), 0);
    /* and the connection goes on */
    tide_stmt good[] = {{INSERT, 2, a}, {"SELECT $1::int", 1, a}};
    T_CHECK(tide_conn_batch(c, 2, good, 0, NULL, err) == TIDE_OK);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt"), 1);
    tide_conn_free(c);
}

T_CASE(only_a_finished_batch_is_taken)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    tide_value a[] = {INT(1)};
    tide_stmt st[] = {{"SELECT pg_sleep(0.05), $1::int", 1, a}};
    T_EQ_INT(tide_conn_batch_start(c, 1, st, 0, err), TIDE_PENDING);
    /* running: neither taken nor replaced by a second start */
    T_CHECK(tide_conn_take_batch(c) == NULL);
    T_EQ_INT(tide_conn_batch_start(c, 1, st, 0, err), TIDE_MISUSE);
    tide_batch *bt = NULL;
    T_EQ_INT(tide_conn_wait(c, -1, err), TIDE_OK);
    T_REQUIRE(bt = tide_conn_take_batch(c));
    T_EQ_INT(tide_batch_failed(bt), -1);
    tide_result *r = tide_batch_take(bt, 0, err);
    T_REQUIRE(r);
    T_EQ_INT(int_at(r, 0, 1), 1);
    tide_result_free(r);
    tide_batch_free(bt);
    T_CHECK(tide_conn_take_batch(c) == NULL); /* taken once */
    tide_conn_free(c);
}

T_CASE(more_statements_than_the_cache_holds)
{
    tide_conn *c = fresh(2, 0);
    T_REQUIRE(c);
    enum { N = 7 };
    char sql[N][64];
    tide_value v[N];
    tide_stmt st[N];
    for (int i = 0; i < N; i++) {
        snprintf(sql[i], sizeof sql[i], "SELECT $1::int * %d", i + 2);
        v[i] = (tide_value)INT(i);
        st[i] = (tide_stmt){sql[i], 1, &v[i]};
    }
    for (int round = 0; round < 2; round++) {
        tide_batch *bt = NULL;
        T_REQUIRE(tide_conn_batch(c, N, st, 0, &bt, err) == TIDE_OK);
        for (int i = 0; i < N; i++) {
            tide_result *r = tide_batch_take(bt, i, err);
            T_REQUIRE(r);
            T_EQ_INT(int_at(r, 0, 0), i * (i + 2));
            tide_result_free(r);
        }
        tide_batch_free(bt);
    }
    /* back to its size once a new statement comes, and nothing lost on the server */
    T_EQ_INT(scalar(c, "SELECT count(*) FROM pg_prepared_statements"), N);
    tide_value one = INT(1);
    T_REQUIRE(tide_conn_query(c, "SELECT $1::int", 1, &one, 0, NULL, err) == TIDE_OK);
    T_EQ_INT(tide_conn_cached_statements(c), 2);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM pg_prepared_statements"), 2);
    tide_conn_free(c);
}

T_CASE(a_pipeline_larger_than_the_socket_buffers)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    enum { N = 20000 };
    tide_value *v = calloc(2 * N, sizeof *v);
    tide_stmt *st = calloc(N, sizeof *st);
    T_REQUIRE(v && st);
    static const char name[] = "a name long enough to make the pipeline a few megabytes in both directions";
    for (int i = 0; i < N; i++) {
        v[2 * i] = (tide_value)INT(i);
        v[2 * i + 1] = (tide_value){.kind = TIDE_KIND_TEXT, .as.s = {name, sizeof name - 1}};
        st[i] = (tide_stmt){INSERT, 2, &v[2 * i]};
    }
    tide_batch *bt = NULL;
    T_REQUIRE(tide_conn_batch(c, N, st, 0, &bt, err) == TIDE_OK);
    tide_result *r = tide_batch_take(bt, N - 1, err);
    T_REQUIRE(r);
    T_EQ_INT(int_at(r, 0, 0), (N - 1) * 10);
    tide_result_free(r);
    tide_batch_free(bt);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt"), N);
    free(v);
    free(st);
    tide_conn_free(c);
}

T_CASE(a_stale_plan_is_prepared_again)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    T_REQUIRE(exec(c, "INSERT INTO bt VALUES (1, 'a')") == TIDE_OK);
    tide_value one = INT(1);
    tide_stmt st[] = {{"SELECT * FROM bt WHERE id = $1", 1, &one}, {"SELECT 2", 0, NULL}};
    T_REQUIRE(tide_conn_batch(c, 2, st, 0, NULL, err) == TIDE_OK);
    T_REQUIRE(exec(c, "ALTER TABLE bt ADD COLUMN extra int DEFAULT 7") == TIDE_OK);
    tide_batch *bt = NULL;
    T_REQUIRE(tide_conn_batch(c, 2, st, 0, &bt, err) == TIDE_OK);
    tide_result *r = tide_batch_take(bt, 0, err);
    T_REQUIRE(r);
    T_EQ_INT(tide_result_cols(r), 3);
    T_EQ_INT(int_at(r, 0, 2), 7);
    tide_result_free(r);
    tide_batch_free(bt);
    /* inside a transaction it is reported (nothing may run twice), then
     * prepared again the next time */
    T_REQUIRE(exec(c, "ALTER TABLE bt DROP COLUMN extra") == TIDE_OK);
    T_REQUIRE(exec(c, "BEGIN") == TIDE_OK);
    T_CHECK(tide_conn_batch(c, 2, st, 0, NULL, err) == TIDE_ERROR);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "0A000");
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_INERROR);
    T_REQUIRE(exec(c, "ROLLBACK") == TIDE_OK);
    T_CHECK(tide_conn_batch(c, 2, st, 0, NULL, err) == TIDE_OK);
    tide_conn_free(c);
}

T_CASE(inside_a_transaction)
{
    tide_conn *c = fresh(0, 0);
    T_REQUIRE(c);
    T_REQUIRE(exec(c, "BEGIN") == TIDE_OK);
    tide_value a[] = {INT(5), TXT("five")};
    tide_stmt st[] = {{INSERT, 2, a}};
    T_REQUIRE(tide_conn_batch(c, 1, st, 0, NULL, err) == TIDE_OK);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_INTRANS); /* the batch did not end it */
    T_REQUIRE(exec(c, "ROLLBACK") == TIDE_OK);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM bt"), 0);
    T_REQUIRE(exec(c, "BEGIN") == TIDE_OK);
    T_CHECK(conflicting(c, 0, NULL) == TIDE_ERROR);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_INERROR);
    T_REQUIRE(exec(c, "ROLLBACK") == TIDE_OK);
    tide_conn_free(c);
}

T_CASE(unnamed_statements_behind_a_pooler)
{
    tide_conn *c = fresh(0, 1);
    T_REQUIRE(c);
    tide_value a[] = {INT(1), TXT("a")}, f = {.kind = TIDE_KIND_FLOAT, .as.f = 2.0};
    tide_stmt st[] = {{INSERT, 2, a}, {"SELECT $1::int + 1", 1, &f}, {"SELECT count(*) FROM bt", 0, NULL}};
    for (int round = 0; round < 2; round++) {
        if (round)
            T_REQUIRE(exec(c, "TRUNCATE bt") == TIDE_OK);
        tide_batch *bt = NULL;
        T_REQUIRE(tide_conn_batch(c, 3, st, 0, &bt, err) == TIDE_OK);
        tide_result *r = tide_batch_take(bt, 1, err);
        T_REQUIRE(r);
        T_EQ_INT(int_at(r, 0, 0), 3); /* 2.0 fit the int the server said it takes */
        tide_result_free(r);
        T_REQUIRE((r = tide_batch_take(bt, 2, err)) != NULL);
        T_EQ_INT(int_at(r, 0, 0), 1);
        tide_result_free(r);
        tide_batch_free(bt);
    }
    T_EQ_INT(scalar(c, "SELECT count(*) FROM pg_prepared_statements"), 0);
    tide_conn_free(c);
}

T_CASE(through_the_pool)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = t_url();
    o.max_size = 1;
    tide_pool *p = tide_pool_new(&o, err);
    T_REQUIRE(p);
    tide_value v = INT(20);
    tide_stmt st[] = {{"SELECT $1::int + 1", 1, &v}, {"SELECT $1::int + 2", 1, &v}};
    int64_t before = tide_pool_statements(p);
    tide_batch *bt = NULL;
    T_REQUIRE(tide_pool_batch(p, 2, st, 0, &bt, err) == TIDE_OK);
    tide_result *r = tide_batch_take(bt, 1, err);
    T_REQUIRE(r);
    T_EQ_INT(int_at(r, 0, 0), 22);
    tide_result_free(r);
    tide_batch_free(bt);
    /* first time: two Parse+Describe, then two Executes */
    T_EQ_INT(tide_pool_statements(p) - before, 6);
    before = tide_pool_statements(p);
    T_REQUIRE(tide_pool_batch(p, 2, st, 0, NULL, err) == TIDE_OK);
    T_EQ_INT(tide_pool_statements(p) - before, 2);
    tide_pool_free(p);
}

typedef struct got {
    int calls;
    int rc;
    int64_t v;
} got;

static void on_batch(void *ud, tide_batch *b, const tide_error *e)
{
    got *g = ud;
    g->calls++;
    g->rc = e ? tide_error_code(e) : 0;
    tide_result *r = tide_batch_take(b, tide_batch_count(b) - 1, err);
    if (r)
        g->v = int_at(r, 0, 0);
    tide_result_free(r);
    tide_batch_free(b);
}

T_CASE(on_the_loop)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = t_url();
    o.max_size = 2;
    tide_pool *p = tide_pool_new(&o, err);
    tide_loop *l = tide_loop_new(err);
    T_REQUIRE(p && l);
    enum { N = 8 };
    got g[N] = {{0}};
    for (int i = 0; i < N; i++) {
        char sql[64]; /* copied by the loop: this buffer is gone before it runs */
        snprintf(sql, sizeof sql, "SELECT $1::int + %d", i % 3);
        tide_value v = INT(100 * i);
        tide_stmt st[] = {{"SELECT 1", 0, NULL}, {sql, 1, &v}};
        T_REQUIRE(tide_loop_batch(l, p, 2, st, 0, on_batch, &g[i], NULL, err) == TIDE_OK);
    }
    while (tide_loop_pending(l) > 0)
        tide_loop_poll(l, 1000);
    for (int i = 0; i < N; i++) {
        T_EQ_INT(g[i].calls, 1);
        T_EQ_INT(g[i].rc, 0);
        T_EQ_INT(g[i].v, 100 * i + i % 3);
    }
    /* on a held connection, failing */
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    got f = {0};
    tide_stmt bad[] = {{"SELECT 1/0", 0, NULL}, {"SELECT 2", 0, NULL}};
    T_REQUIRE(tide_loop_conn_batch(l, c, 2, bad, 0, on_batch, &f, NULL, err) == TIDE_OK);
    while (tide_loop_pending(l) > 0)
        tide_loop_poll(l, 1000);
    T_EQ_INT(f.calls, 1);
    T_EQ_INT(f.rc, TIDE_E_DATABASE);
    T_EQ_INT(f.v, 0); /* rolled back with it */
    tide_pool_release(p, c);
    tide_loop_free(l);
    tide_pool_free(p);
}

static int oom_scenario(void)
{
    tide_conn *c = conn_with(2, 0);
    if (!c)
        return -1;
    int rc = 0;
    for (int round = 0; round < 2 && rc == 0; round++) {
        tide_value v[] = {INT(round), {.kind = TIDE_KIND_JSON, .as.s = {"[1,2,3]", 7}}};
        tide_stmt st[] = {{"SELECT $1::int, $2::int[]", 2, v}, {"SELECT 1/$1::int", 1, v}, {"SELECT 3", 0, NULL}};
        tide_batch *bt = NULL;
        int brc = tide_conn_batch(c, 3, st, TIDE_BATCH_EACH, &bt, err);
        /* round 0 divides by zero: that failure is the expected one */
        if (!bt || (brc != TIDE_OK && tide_batch_failed(bt) != 1))
            rc = -1;
        for (int i = 0; bt && i < 3; i++)
            tide_result_free(tide_batch_take(bt, i, err));
        tide_batch_free(bt);
    }
    tide_conn_free(c);
    return rc;
}

T_CASE(out_of_memory_everywhere)
{
    int failures, successes;
    t_oom_sweep(oom_scenario, &err, 600, &failures, &successes);
    T_CHECK(failures > 5);
    T_CHECK(successes >= 1);
}

int main(void)
{
    err = tide_error_new();
    T_RUN(results_come_back_in_order);
    T_RUN(atomic_failure_writes_nothing);
    T_RUN(each_statement_on_its_own);
    T_RUN(refused_before_anything_runs);
    T_RUN(only_a_finished_batch_is_taken);
    T_RUN(more_statements_than_the_cache_holds);
    T_RUN(a_pipeline_larger_than_the_socket_buffers);
    T_RUN(a_stale_plan_is_prepared_again);
    T_RUN(inside_a_transaction);
    T_RUN(unnamed_statements_behind_a_pooler);
    T_RUN(through_the_pool);
    T_RUN(on_the_loop);
    T_RUN(out_of_memory_everywhere);
    tide_error_free(err);
    return t_done();
}
