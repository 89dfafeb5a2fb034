/* The pool and connections against a real server: ../shared/RELIABILITY.md
 * pool scenarios 1, 2, 9, 12, 13, 14, 17 and 18, plus threads and errors. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "t.h"
#include "tide.h"

static tide_error *err;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static tide_pool *make_pool(int min, int max, void (*tweak)(tide_pool_options *))
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = t_url();
    o.min_size = min;
    o.max_size = max;
    if (tweak)
        tweak(&o);
    tide_pool *p = tide_pool_new(&o, err);
    if (!p)
        printf("  pool: %s\n", tide_error_message(err));
    return p;
}

/* A connection of its own, outside any pool, for killing and inspecting. */
static tide_conn *admin(void)
{
    tide_conn_options o;
    tide_conn_options_init(&o);
    o.conninfo = t_url();
    tide_conn *c = tide_conn_new(&o, err);
    if (c && tide_conn_connect(c, err) != TIDE_OK) {
        tide_conn_free(c);
        return NULL;
    }
    return c;
}

/* Runs sql with up to one int parameter; the first column of the first row
 * as an integer, or -1 (NULL, no row, error). */
static int64_t scalar(tide_conn *c, const char *sql, int64_t *param)
{
    tide_value v = {.kind = TIDE_KIND_INT};
    if (param)
        v.as.i = *param;
    tide_result *r;
    if (tide_conn_query(c, sql, param ? 1 : 0, param ? &v : NULL, 0, &r, err) != TIDE_OK)
        return -1;
    int64_t out = -1;
    if (tide_result_rows(r) > 0 && !tide_result_is_null(r, 0, 0)) {
        size_t len;
        const char *s = tide_result_text(r, 0, 0, &len);
        if (tide_decode_int(s, len, &out, NULL) != TIDE_OK)
            out = -2;
    }
    tide_result_free(r);
    return out;
}

static void terminate(tide_conn *adm, int pid)
{
    int64_t p = pid;
    scalar(adm, "SELECT pg_terminate_backend($1::int)::int", &p);
    /* wait until the backend is really gone */
    for (int i = 0; i < 200; i++) {
        if (scalar(adm, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", &p) == 0)
            return;
        msleep(10);
    }
}

T_CASE(query_round_trip)
{
    tide_pool *p = make_pool(1, 2, NULL);
    T_REQUIRE(p);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPEN), 1);
    tide_value v[2] = {{.kind = TIDE_KIND_INT, .as.i = 40}, {.kind = TIDE_KIND_TEXT, .as.s = {"two", 3}}};
    tide_result *r;
    T_REQUIRE(tide_pool_query(p, "SELECT $1::int + 2 AS n, $2 AS s, NULL::text AS z", 2, v, 0, &r, err) == TIDE_OK);
    T_EQ_INT(tide_result_rows(r), 1);
    T_EQ_INT(tide_result_cols(r), 3);
    T_EQ_STR(tide_result_col_name(r, 0), "n");
    T_EQ_INT(tide_result_col_kind(r, 0), TIDE_KIND_INT);
    T_EQ_STR(tide_result_text(r, 0, 0, NULL), "42");
    T_EQ_STR(tide_result_text(r, 0, 1, NULL), "two");
    T_CHECK(tide_result_is_null(r, 0, 2));
    T_CHECK(!tide_result_is_null(r, 0, 1));
    tide_result_free(r);
    T_REQUIRE(tide_pool_query(p, "CREATE TEMP TABLE rt (x int); INSERT INTO rt VALUES (1), (2)", 0, NULL, 0, &r,
                              err) == TIDE_OK);
    T_EQ_INT(tide_result_affected(r), 2); /* the last command's count */
    T_EQ_STR(tide_result_command(r), "INSERT 0 2");
    tide_result_free(r);
    tide_pool_free(p);
}

T_CASE(errors_are_structured)
{
    tide_conn *c = admin();
    T_REQUIRE(c);
    T_REQUIRE(scalar(c, "CREATE TEMP TABLE parent (id int PRIMARY KEY);"
                        "CREATE TEMP TABLE e (id int PRIMARY KEY, email text UNIQUE NOT NULL,"
                        " n int CHECK (n > 0), p int REFERENCES parent(id))", NULL) == -1);
    T_EQ_INT(tide_error_code(err), TIDE_E_NONE);
    T_REQUIRE(scalar(c, "INSERT INTO e VALUES (1, 'a@x', 1, NULL)", NULL) == -1);
    tide_value dup[2] = {{.kind = TIDE_KIND_INT, .as.i = 2}, {.kind = TIDE_KIND_TEXT, .as.s = {"a@x", 3}}};
    T_CHECK(tide_conn_query(c, "INSERT INTO e (id, email) VALUES ($1, $2)", 2, dup, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    T_EQ_STR(tide_error_code_name(tide_error_code(err)), "unique_violation");
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "23505");
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_CONSTRAINT), "e_email_key");
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_TABLE), "e");
    T_CHECK(strstr(tide_error_get(err, TIDE_FIELD_DETAIL), "(email)=(a@x)") != NULL);

    T_CHECK(tide_conn_query(c, "INSERT INTO e (id) VALUES (3)", 0, NULL, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_NOT_NULL_VIOLATION);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_COLUMN), "email");
    T_CHECK(tide_conn_query(c, "INSERT INTO e VALUES (4, 'b', -1, NULL)", 0, NULL, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_CHECK_VIOLATION);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_CONSTRAINT), "e_n_check");
    T_CHECK(tide_conn_query(c, "INSERT INTO e VALUES (5, 'c', 1, 99)", 0, NULL, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_FOREIGN_KEY_VIOLATION);
    T_CHECK(tide_conn_query(c, "SELEC 1", 0, NULL, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_DATABASE);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "42601");
    /* the connection is still usable after every one of them */
    T_EQ_INT(scalar(c, "SELECT 1", NULL), 1);
    tide_conn_free(c);
}

T_CASE(no_password_in_errors)
{
    const char *bad[] = {
        "postgresql://u:s3cretpw@127.0.0.1:1/db?bogus=s3cretpw",
        "host=127.0.0.1 password=s3cretpw port=notaport",
        "postgresql://u:s3cretpw@127.0.0.1:1/db", /* refused connection */
        "password='s3cretpw", /* unterminated quote */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tide_pool_options o;
        tide_pool_options_init(&o);
        o.conninfo = bad[i];
        o.connect_timeout_ms = 2000;
        tide_pool *p = tide_pool_new(&o, err);
        T_CHECK(p == NULL);
        tide_pool_free(p);
        const char *m = tide_error_message(err);
        if (strstr(m, "s3cretpw"))
            T_FAILF("password in message for case %zu: %s", i, m);
        T_CHECK(*m != '\0');
    }
    /* describe never shows it either */
    tide_conn_options co;
    tide_conn_options_init(&co);
    co.conninfo = "postgresql://u:s3cretpw@db.example:5433/app";
    tide_conn *c = tide_conn_new(&co, err);
    T_REQUIRE(c);
    T_EQ_STR(tide_conn_describe(c), "postgresql://u@db.example:5433/app");
    tide_conn_free(c);
}

T_CASE(refused_connection_is_connection_failure)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = "postgresql://tide@127.0.0.1:1/postgres";
    o.connect_timeout_ms = 2000;
    T_CHECK(tide_pool_new(&o, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_CONNECTION_FAILURE);
}

/* Scenario 1: idle connections killed; the next acquire notices. */
T_CASE(killed_idle_connections_are_replaced)
{
    tide_pool *p = make_pool(2, 2, NULL);
    tide_conn *adm = admin();
    T_REQUIRE(p && adm);
    tide_conn *a, *b;
    T_REQUIRE(tide_pool_acquire(p, &a, err) == TIDE_OK);
    T_REQUIRE(tide_pool_acquire(p, &b, err) == TIDE_OK);
    int pa = tide_conn_backend_pid(a), pb = tide_conn_backend_pid(b);
    tide_pool_release(p, a);
    tide_pool_release(p, b);
    terminate(adm, pa);
    terminate(adm, pb);
    for (int i = 0; i < 4; i++) {
        tide_conn *c;
        T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
        int pid = tide_conn_backend_pid(c);
        T_CHECK(pid != pa && pid != pb);
        T_EQ_INT(scalar(c, "SELECT 7", NULL), 7);
        tide_pool_release(p, c);
    }
    T_CHECK(tide_pool_count_of(p, TIDE_POOL_OPEN) <= 2);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IN_USE), 0);
    tide_conn_free(adm);
    tide_pool_free(p);
}

/* Scenario 2: killed mid-query: connection_failure, destroyed, not retried. */
T_CASE(killed_mid_query)
{
    tide_pool *p = make_pool(1, 1, NULL);
    tide_conn *adm = admin();
    T_REQUIRE(p && adm);
    T_REQUIRE(scalar(adm, "CREATE TABLE IF NOT EXISTS kmq (n int)", NULL) == -1);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    int pid = tide_conn_backend_pid(c);
    T_REQUIRE(tide_conn_query_start(c, "INSERT INTO kmq SELECT 1 FROM pg_sleep(5)", 0, NULL, 0, err) ==
              TIDE_PENDING);
    msleep(200);
    int64_t t0 = now_ms();
    terminate(adm, pid);
    T_CHECK(tide_conn_wait(c, 10000, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_CONNECTION_FAILURE);
    T_CHECK(now_ms() - t0 < 3000);
    T_CHECK(tide_conn_is_broken(c));
    tide_pool_release(p, c);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_CLOSED), 1);
    T_EQ_INT(scalar(adm, "SELECT count(*) FROM kmq", NULL), 0); /* nothing ran twice, or at all */
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_CHECK(tide_conn_backend_pid(c) != pid);
    tide_pool_release(p, c);
    scalar(adm, "DROP TABLE kmq", NULL);
    tide_conn_free(adm);
    tide_pool_free(p);
}

/* Scenario 9: exhausted pool times out; waiters served in order; a waiter
 * that gives up leaks no slot. */
static void short_acquire(tide_pool_options *o) { o->acquire_timeout_ms = 300; }

T_CASE(acquire_timeout)
{
    tide_pool *p = make_pool(1, 1, short_acquire);
    T_REQUIRE(p);
    tide_conn *a, *b;
    T_REQUIRE(tide_pool_acquire(p, &a, err) == TIDE_OK);
    int64_t t0 = now_ms();
    T_CHECK(tide_pool_acquire(p, &b, err) == TIDE_ERROR);
    int64_t waited = now_ms() - t0;
    T_EQ_INT(tide_error_code(err), TIDE_E_POOL_TIMEOUT);
    T_CHECK(strstr(tide_error_message(err), "pool of 1") != NULL);
    T_CHECK(waited >= 280 && waited < 2000);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 0);
    tide_pool_release(p, a);
    /* the slot was not lost */
    T_REQUIRE(tide_pool_acquire(p, &b, err) == TIDE_OK);
    tide_pool_release(p, b);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPEN), 1);
    tide_pool_free(p);
}

typedef struct {
    tide_pool *pool;
    int id;
    int *order;
    int *next;
    pthread_mutex_t *mu;
    int ok;
} fifo_arg;

static void *fifo_waiter(void *ap)
{
    fifo_arg *a = ap;
    tide_error *e = tide_error_new();
    tide_conn *c;
    if (tide_pool_acquire(a->pool, &c, e) == TIDE_OK) {
        pthread_mutex_lock(a->mu);
        a->order[(*a->next)++] = a->id;
        pthread_mutex_unlock(a->mu);
        msleep(20);
        tide_pool_release(a->pool, c);
        a->ok = 1;
    }
    tide_error_free(e);
    return NULL;
}

static void long_acquire(tide_pool_options *o) { o->acquire_timeout_ms = 10000; }

T_CASE(waiters_are_served_in_order)
{
    tide_pool *p = make_pool(1, 1, long_acquire);
    T_REQUIRE(p);
    tide_conn *held;
    T_REQUIRE(tide_pool_acquire(p, &held, err) == TIDE_OK);
    enum { N = 5 };
    pthread_t th[N];
    fifo_arg args[N];
    int order[N] = {0}, next = 0;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    for (int i = 0; i < N; i++) {
        args[i] = (fifo_arg){p, i + 1, order, &next, &mu, 0};
        pthread_create(&th[i], NULL, fifo_waiter, &args[i]);
        /* each one in line before the next arrives */
        for (int k = 0; k < 200 && tide_pool_count_of(p, TIDE_POOL_WAITING) < i + 1; k++)
            msleep(5);
    }
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), N);
    tide_pool_release(p, held);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        T_CHECK(args[i].ok);
        T_EQ_INT(order[i], i + 1);
    }
    tide_pool_free(p);
}

/* Many threads share one pool. */
typedef struct {
    tide_pool *pool;
    int failures;
    int64_t sum;
} hammer_arg;

static void *hammer(void *ap)
{
    hammer_arg *a = ap;
    tide_error *e = tide_error_new();
    for (int i = 0; i < 300; i++) {
        tide_value v = {.kind = TIDE_KIND_INT, .as.i = i};
        tide_result *r;
        if (tide_pool_query(a->pool, "SELECT $1::int8 * 2", 1, &v, 0, &r, e) != TIDE_OK) {
            a->failures++;
            continue;
        }
        int64_t n;
        size_t len;
        const char *s = tide_result_text(r, 0, 0, &len);
        if (tide_decode_int(s, len, &n, NULL) == TIDE_OK)
            a->sum += n;
        tide_result_free(r);
    }
    tide_error_free(e);
    return NULL;
}

T_CASE(threads_share_a_pool)
{
    tide_pool *p = make_pool(0, 3, long_acquire);
    T_REQUIRE(p);
    enum { N = 8 };
    pthread_t th[N];
    hammer_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (hammer_arg){p, 0, 0};
        pthread_create(&th[i], NULL, hammer, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        T_EQ_INT(a[i].failures, 0);
        T_EQ_INT(a[i].sum, 299 * 300); /* 2 * sum(0..299) */
    }
    T_CHECK(tide_pool_count_of(p, TIDE_POOL_OPEN) <= 3);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IN_USE), 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 0);
    tide_pool_free(p);
}

/* Scenario 12: recycled by max lifetime and idle timeout, silently; never
 * closed under its user. */
static void short_lifetime(tide_pool_options *o) { o->max_lifetime_ms = 300; }
static void short_idle(tide_pool_options *o) { o->idle_timeout_ms = 200; }

T_CASE(max_lifetime_and_idle_timeout)
{
    tide_pool *p = make_pool(1, 1, short_lifetime);
    T_REQUIRE(p);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    int pid = tide_conn_backend_pid(c);
    msleep(400); /* past its lifetime while in use: still works */
    T_EQ_INT(scalar(c, "SELECT 1", NULL), 1);
    tide_pool_release(p, c);
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_CHECK(tide_conn_backend_pid(c) != pid);
    T_EQ_INT(scalar(c, "SELECT 1", NULL), 1);
    tide_pool_release(p, c);
    tide_pool_free(p);

    p = make_pool(0, 2, short_idle);
    T_REQUIRE(p);
    tide_conn *a, *b;
    T_REQUIRE(tide_pool_acquire(p, &a, err) == TIDE_OK);
    T_REQUIRE(tide_pool_acquire(p, &b, err) == TIDE_OK);
    tide_pool_release(p, a);
    tide_pool_release(p, b);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IDLE), 2);
    msleep(300);
    T_REQUIRE(tide_pool_acquire(p, &a, err) == TIDE_OK); /* reaps both, opens one */
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPEN), 1);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_CLOSED), 2);
    tide_pool_release(p, a);
    tide_pool_free(p);
}

/* Scenario 13: returned mid-transaction, after an error, with a statement in
 * flight, or twice. */
T_CASE(dirty_returns_never_reach_the_next_user)
{
    tide_pool *p = make_pool(1, 1, NULL);
    tide_conn *adm = admin();
    T_REQUIRE(p && adm);
    scalar(adm, "CREATE TABLE IF NOT EXISTS dirty (n int)", NULL);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    int pid = tide_conn_backend_pid(c);
    scalar(c, "BEGIN", NULL);
    scalar(c, "INSERT INTO dirty VALUES (1)", NULL);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_INTRANS);
    tide_pool_release(p, c);
    tide_pool_release(p, c); /* twice: nothing happens */
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IN_USE), 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IDLE), 1);

    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_EQ_INT(tide_conn_backend_pid(c), pid); /* rolled back and kept */
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_IDLE);
    T_EQ_INT(scalar(c, "SELECT count(*) FROM dirty", NULL), 0);
    scalar(c, "BEGIN", NULL);
    T_CHECK(scalar(c, "SELECT 1/0", NULL) == -1);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_INERROR);
    tide_pool_release(p, c);

    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_IDLE);
    T_EQ_INT(scalar(c, "SELECT 2", NULL), 2);
    /* a statement still in flight: the connection is closed, not reused */
    T_REQUIRE(tide_conn_query_start(c, "SELECT pg_sleep(0.2)", 0, NULL, 0, err) == TIDE_PENDING);
    tide_pool_release(p, c);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPEN), 0);
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_CHECK(tide_conn_backend_pid(c) != pid);
    T_EQ_INT(scalar(c, "SELECT 3", NULL), 3);
    tide_pool_release(p, c);
    scalar(adm, "DROP TABLE dirty", NULL);
    tide_conn_free(adm);
    tide_pool_free(p);
}

/* Scenario 14: session state never reaches the next user. */
static int64_t count_of(tide_conn *c, const char *sql)
{
    return scalar(c, sql, NULL);
}

T_CASE(session_state_is_reset)
{
    tide_pool *p = make_pool(1, 1, NULL);
    tide_conn *adm = admin();
    T_REQUIRE(p && adm);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    int pid = tide_conn_backend_pid(c);
    int64_t x = 5;
    T_EQ_INT(scalar(c, "SELECT $1::int", &x), 5); /* tide's own cached statement */
    T_EQ_INT(tide_conn_cached_statements(c), 1);
    scalar(c, "SET search_path TO pg_catalog", NULL);
    scalar(c, "SET work_mem = '7MB'", NULL);
    scalar(c, "CREATE TEMP TABLE mine (x int)", NULL);
    scalar(c, "LISTEN leaky", NULL);
    scalar(c, "SELECT pg_advisory_lock(4242)", NULL);
    tide_pool_release(p, c);

    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_EQ_INT(tide_conn_backend_pid(c), pid);
    T_EQ_INT(count_of(c, "SELECT count(*) FROM pg_listening_channels()"), 0);
    T_EQ_INT(count_of(c, "SELECT count(*) FROM pg_class WHERE relname = 'mine' AND relpersistence = 't'"), 0);
    T_EQ_INT(count_of(c, "SELECT (current_setting('work_mem') = '4MB')::int"), 1);
    T_EQ_INT(count_of(c, "SELECT (current_setting('search_path') = '\"$user\", public')::int"), 1);
    T_EQ_INT(count_of(adm, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
    T_EQ_INT(tide_conn_cached_statements(c), 1); /* the cache survived the reset */
    T_EQ_INT(scalar(c, "SELECT $1::int", &x), 5);

    /* the user's own prepared statements are dropped, and tide's cache with them */
    scalar(c, "PREPARE mystmt AS SELECT 1", NULL);
    tide_pool_release(p, c);
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_EQ_INT(count_of(c, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'mystmt'"), 0);
    T_EQ_INT(scalar(c, "SELECT $1::int", &x), 5);
    tide_pool_release(p, c);
    tide_conn_free(adm);
    tide_pool_free(p);
}

/* Scenario 18: a statement invalidated by a schema change is prepared again. */
T_CASE(invalidated_statement_is_prepared_again)
{
    tide_conn *c = admin();
    T_REQUIRE(c);
    scalar(c, "DROP TABLE IF EXISTS inval; CREATE TABLE inval (a int); INSERT INTO inval VALUES (1)", NULL);
    int64_t one = 1;
    tide_result *r;
    tide_value v = {.kind = TIDE_KIND_INT, .as.i = one};
    T_REQUIRE(tide_conn_query(c, "SELECT * FROM inval WHERE a = $1", 1, &v, 0, &r, err) == TIDE_OK);
    T_EQ_INT(tide_result_cols(r), 1);
    tide_result_free(r);
    scalar(c, "ALTER TABLE inval ADD COLUMN b int DEFAULT 9", NULL);
    T_REQUIRE(tide_conn_query(c, "SELECT * FROM inval WHERE a = $1", 1, &v, 0, &r, err) == TIDE_OK);
    T_EQ_INT(tide_result_cols(r), 2);
    T_EQ_STR(tide_result_text(r, 0, 1, NULL), "9");
    tide_result_free(r);
    /* inside a transaction nothing can be retried: the error surfaces, the
     * entry is dropped, and the next use outside works */
    scalar(c, "ALTER TABLE inval ADD COLUMN c int DEFAULT 8", NULL);
    scalar(c, "BEGIN", NULL);
    T_CHECK(tide_conn_query(c, "SELECT * FROM inval WHERE a = $1", 1, &v, 0, &r, err) == TIDE_ERROR);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "0A000");
    scalar(c, "ROLLBACK", NULL);
    T_REQUIRE(tide_conn_query(c, "SELECT * FROM inval WHERE a = $1", 1, &v, 0, &r, err) == TIDE_OK);
    T_EQ_INT(tide_result_cols(r), 3);
    tide_result_free(r);
    scalar(c, "DROP TABLE inval", NULL);
    tide_conn_free(c);
}

static void small_cache(tide_pool_options *o) { o->stmt_cache_size = 4; }

T_CASE(statement_cache_is_bounded)
{
    tide_pool *p = make_pool(1, 1, small_cache);
    T_REQUIRE(p);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    char sql[64];
    for (int64_t i = 0; i < 12; i++) {
        snprintf(sql, sizeof sql, "SELECT $1::int + %d", (int)i);
        T_EQ_INT(scalar(c, sql, &i), i * 2);
    }
    T_EQ_INT(tide_conn_cached_statements(c), 4);
    /* evicted statements are deallocated on the server (at most one pending) */
    int64_t n = count_of(c, "SELECT count(*) FROM pg_prepared_statements");
    T_CHECK(n >= 4 && n <= 5);
    /* a cached one is reused, not prepared again */
    int64_t i = 11;
    snprintf(sql, sizeof sql, "SELECT $1::int + %d", 11);
    T_EQ_INT(scalar(c, sql, &i), 22);
    T_EQ_INT(tide_conn_cached_statements(c), 4);
    tide_pool_release(p, c);
    tide_pool_free(p);
}

T_CASE(parameters_are_checked)
{
    tide_conn *c = admin();
    T_REQUIRE(c);
    tide_value v = {.kind = TIDE_KIND_TEXT, .as.s = {"a\0b", 3}};
    T_CHECK(tide_conn_query(c, "SELECT $1::text", 1, &v, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    T_CHECK(strstr(tide_error_message(err), "NUL") != NULL);
    tide_value f = {.kind = TIDE_KIND_FLOAT, .as.f = 3.5};
    T_CHECK(tide_conn_query(c, "SELECT $1::int", 1, &f, 0, NULL, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    T_CHECK(tide_conn_query(c, "SELECT $1::int, $2::int", 1, &f, 0, NULL, err) == TIDE_ERROR);
    T_CHECK(strstr(tide_error_message(err), "takes 2 parameters") != NULL);
    /* bytea parameters take any bytes */
    tide_value b = {.kind = TIDE_KIND_TEXT, .as.s = {"\0\xff\x01", 3}};
    tide_result *r;
    T_REQUIRE(tide_conn_query(c, "SELECT length($1::bytea), $1::bytea", 1, &b, 0, &r, err) == TIDE_OK);
    T_EQ_STR(tide_result_text(r, 0, 0, NULL), "3");
    T_EQ_STR(tide_result_text(r, 0, 1, NULL), "\\x00ff01");
    tide_result_free(r);
    T_EQ_INT(scalar(c, "SELECT 1", NULL), 1);
    tide_conn_free(c);
}

/* Scenario 17 (file descriptors): connecting with none left fails cleanly. */
T_CASE(out_of_file_descriptors)
{
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    struct rlimit low = old;
    low.rlim_cur = 64;
    T_REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    int fds[64], n = 0;
    while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
        n++;
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = t_url();
    o.min_size = 1;
    tide_pool *p = tide_pool_new(&o, err);
    T_CHECK(p == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_CONNECTION_FAILURE);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    p = tide_pool_new(&o, err);
    T_CHECK(p != NULL);
    tide_pool_free(p);
}

/* Scenario 17 (memory): a failing allocator at every allocation in connect,
 * query and decode: a clean error, and every allocation freed. */

static int oom_scenario(void)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = t_url();
    tide_pool *p = tide_pool_new(&o, err);
    if (!p)
        return -1;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        tide_value v[2] = {{.kind = TIDE_KIND_INT, .as.i = i}, {.kind = TIDE_KIND_JSON, .as.s = {"[1,2,3]", 7}}};
        tide_result *r;
        if (tide_pool_query(p, "SELECT $1::int, $2::int[], '{\"a\":[1]}'::jsonb", 2, v, 0, &r, err) != TIDE_OK) {
            rc = -1;
            break;
        }
        tide_result_free(r);
    }
    tide_pool_free(p);
    return rc;
}

T_CASE(out_of_memory_everywhere)
{
    int failures, successes;
    t_oom_sweep(oom_scenario, &err, 400, &failures, &successes);
    T_CHECK(failures > 10);
    T_CHECK(successes >= 1);
}

int main(void)
{
    err = tide_error_new();
    T_RUN(query_round_trip);
    T_RUN(errors_are_structured);
    T_RUN(no_password_in_errors);
    T_RUN(refused_connection_is_connection_failure);
    T_RUN(killed_idle_connections_are_replaced);
    T_RUN(killed_mid_query);
    T_RUN(acquire_timeout);
    T_RUN(waiters_are_served_in_order);
    T_RUN(threads_share_a_pool);
    T_RUN(max_lifetime_and_idle_timeout);
    T_RUN(dirty_returns_never_reach_the_next_user);
    T_RUN(session_state_is_reset);
    T_RUN(invalidated_statement_is_prepared_again);
    T_RUN(statement_cache_is_bounded);
    T_RUN(parameters_are_checked);
    T_RUN(out_of_file_descriptors);
    T_RUN(out_of_memory_everywhere);
    tide_error_free(err);
    return t_done();
}
