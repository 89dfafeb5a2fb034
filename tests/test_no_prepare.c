/* no_prepare (the mode for PgBouncer in transaction mode) against a plain
 * server: unnamed statements only, parameter types still learnt and checked,
 * nothing left prepared on the server, out of memory everywhere. PgBouncer
 * itself is in spec/servers/pgbouncer_spec.lua. */
#include "t.h"
#include "tide.h"

static tide_error *err;
static char url[1024];

/* No startup options in this mode: the caller's own IntervalStyle stands in
 * for the ALTER ROLE a PgBouncer setup needs. */
static const char *np_url(void)
{
    const char *u = t_url();
    snprintf(url, sizeof url, "%s%soptions=-c%%20IntervalStyle%%3Diso_8601", u, strchr(u, '?') ? "&" : "?");
    return url;
}

static tide_conn *np_conn(int cache)
{
    tide_conn_options o;
    tide_conn_options_init(&o);
    o.conninfo = np_url();
    o.no_prepare = 1;
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

static int64_t first_int(tide_result *r)
{
    int64_t v = -1;
    size_t len;
    const char *s = tide_result_text(r, 0, 0, &len);
    tide_decode_int(s, len, &v, NULL);
    return v;
}

T_CASE(statements_are_unnamed_and_types_learnt)
{
    tide_conn *c = np_conn(0);
    T_REQUIRE(c);
    for (int i = 0; i < 3; i++) {
        tide_value v[3] = {{.kind = TIDE_KIND_FLOAT, .as.f = 2.0},
                           {.kind = TIDE_KIND_JSON, .as.s = {"[1,2,3]", 7}},
                           {.kind = TIDE_KIND_TEXT, .as.s = {"a\\101", 5}}};
        tide_result *r;
        /* an integral float fits int, a list becomes an array, a string
         * goes to bytea byte for byte: all from the learnt types */
        T_REQUIRE(tide_conn_query(c, "SELECT $1::int + cardinality($2::int[]) + length($3::bytea)", 3, v, 0, &r,
                                  err) == TIDE_OK);
        T_EQ_INT(first_int(r), 2 + 3 + 5);
        tide_result_free(r);
    }
    T_EQ_INT(tide_conn_cached_statements(c), 1);
    tide_result *r;
    T_REQUIRE(tide_conn_query(c, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, TIDE_QUERY_PREPARE, &r,
                              err) == TIDE_OK);
    T_EQ_INT(first_int(r), 0); /* nothing named on the server */
    tide_result_free(r);
    tide_conn_free(c);
}

T_CASE(client_side_checks_stay)
{
    tide_conn *c = np_conn(0);
    T_REQUIRE(c);
    tide_value half = {.kind = TIDE_KIND_FLOAT, .as.f = 3.5};
    tide_result *r = NULL;
    T_CHECK(tide_conn_query(c, "SELECT $1::int", 1, &half, 0, &r, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    T_CHECK(tide_conn_query(c, "SELECT $1::int, $2::int", 1, &half, 0, &r, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    /* an error while learning leaves the connection usable */
    T_CHECK(tide_conn_query(c, "SELECT nonsense($1)", 1, &half, 0, &r, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_DATABASE);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "42883");
    tide_value one = {.kind = TIDE_KIND_INT, .as.i = 1};
    T_REQUIRE(tide_conn_query(c, "SELECT $1::int + 1", 1, &one, 0, &r, err) == TIDE_OK);
    T_EQ_INT(first_int(r), 2);
    tide_result_free(r);
    /* an error at execution, in a transaction, then rollback */
    T_REQUIRE(tide_conn_query(c, "BEGIN", 0, NULL, 0, NULL, err) == TIDE_OK);
    tide_value zero = {.kind = TIDE_KIND_INT, .as.i = 0};
    T_CHECK(tide_conn_query(c, "SELECT 1 / $1::int", 1, &zero, 0, &r, err) == TIDE_ERROR);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_INERROR);
    T_REQUIRE(tide_conn_query(c, "ROLLBACK", 0, NULL, 0, NULL, err) == TIDE_OK);
    T_REQUIRE(tide_conn_query(c, "SELECT 1 / $1::int", 1, &one, 0, &r, err) == TIDE_OK);
    tide_result_free(r);
    tide_conn_free(c);
}

T_CASE(evictions_send_nothing)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = np_url();
    o.no_prepare = 1;
    o.max_size = 1;
    o.stmt_cache_size = 2;
    tide_pool *p = tide_pool_new(&o, err);
    T_REQUIRE(p);
    int64_t s0 = tide_pool_statements(p);
    char sql[64];
    for (int i = 0; i < 6; i++) {
        tide_value v = {.kind = TIDE_KIND_INT, .as.i = i};
        tide_result *r;
        snprintf(sql, sizeof sql, "SELECT $1::int + %d", i);
        T_REQUIRE(tide_pool_query(p, sql, 1, &v, 0, &r, err) == TIDE_OK);
        T_EQ_INT(first_int(r), 2 * i);
        tide_result_free(r);
    }
    /* learn and run each: no DEALLOCATE for the four evicted */
    T_EQ_INT(tide_pool_statements(p) - s0, 12);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_EQ_INT(tide_conn_cached_statements(c), 2);
    tide_pool_release(p, c);
    tide_pool_free(p);
}

T_CASE(pool_counts_one_round_trip_per_statement)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = np_url();
    o.no_prepare = 1;
    o.max_size = 1;
    tide_pool *p = tide_pool_new(&o, err);
    T_REQUIRE(p);
    tide_value v = {.kind = TIDE_KIND_INT, .as.i = 7};
    tide_result *r;
    int64_t s0 = tide_pool_statements(p);
    T_REQUIRE(tide_pool_query(p, "SELECT $1::bigint", 1, &v, 0, &r, err) == TIDE_OK);
    tide_result_free(r);
    T_EQ_INT(tide_pool_statements(p) - s0, 2); /* learn, then run */
    s0 = tide_pool_statements(p);
    for (int i = 0; i < 5; i++) {
        T_REQUIRE(tide_pool_query(p, "SELECT $1::bigint", 1, &v, 0, &r, err) == TIDE_OK);
        T_EQ_INT(first_int(r), 7);
        tide_result_free(r);
    }
    T_EQ_INT(tide_pool_statements(p) - s0, 5);
    tide_pool_free(p);
}

T_CASE(session_settings_are_checked)
{
    tide_conn_options o;
    tide_conn_options_init(&o);
    o.conninfo = t_url(); /* the server's IntervalStyle: postgres */
    o.no_prepare = 1;
    tide_conn *c = tide_conn_new(&o, err);
    T_REQUIRE(c);
    T_CHECK(tide_conn_connect(c, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_CONNECTION_FAILURE);
    T_CHECK(strstr(tide_error_message(err), "IntervalStyle") != NULL);
    tide_conn_free(c);
    o.statement_timeout_ms = 1000;
    T_CHECK(tide_conn_new(&o, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
}

static int oom_scenario(void)
{
    tide_conn *c = np_conn(0);
    if (!c)
        return -1;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        tide_value v[2] = {{.kind = TIDE_KIND_INT, .as.i = i}, {.kind = TIDE_KIND_JSON, .as.s = {"[1,2,3]", 7}}};
        tide_result *r;
        if (tide_conn_query(c, "SELECT $1::int, $2::int[]", 2, v, 0, &r, err) != TIDE_OK)
            rc = -1;
        else
            tide_result_free(r);
    }
    tide_conn_free(c);
    return rc;
}

T_CASE(out_of_memory_everywhere)
{
    int failures, successes;
    t_oom_sweep(oom_scenario, &err, 400, &failures, &successes);
    T_CHECK(failures > 5);
    T_CHECK(successes >= 1);
}

int main(void)
{
    err = tide_error_new();
    T_RUN(statements_are_unnamed_and_types_learnt);
    T_RUN(client_side_checks_stay);
    T_RUN(evictions_send_nothing);
    T_RUN(pool_counts_one_round_trip_per_statement);
    T_RUN(session_settings_are_checked);
    T_RUN(out_of_memory_everywhere);
    tide_error_free(err);
    return t_done();
}
