/* The loop (tide/loop.h) against a real server: queries in flight at once,
 * never blocking the poller, waiting in the pool's queue beside threads,
 * cleanup of dirty connections without blocking, cancellation, and
 * RELIABILITY's pool-exhausted scenario for loops. */
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "t.h"
#include "tide.h"

static tide_error *err;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static tide_pool *make_pool(int min, int max, int acquire_timeout_ms, int ping_idle_ms)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = t_url();
    o.min_size = min;
    o.max_size = max;
    o.acquire_timeout_ms = acquire_timeout_ms;
    o.ping_idle_ms = ping_idle_ms;
    tide_pool *p = tide_pool_new(&o, err);
    if (!p)
        printf("  pool: %s\n", tide_error_message(err));
    return p;
}

/* What a query's callback saw. */
typedef struct outcome {
    int called;
    int64_t value;      /* the first column of the first row, as an integer */
    int rows;
    tide_code code;
    char sqlstate[6];
    int64_t at_ms;
} outcome;

static void on_result(void *ud, tide_result *res, const tide_error *e)
{
    outcome *o = ud;
    o->called++;
    o->at_ms = now_ms();
    if (res) {
        o->rows = tide_result_rows(res);
        if (o->rows > 0 && !tide_result_is_null(res, 0, 0))
            o->value = strtoll(tide_result_text(res, 0, 0, NULL), NULL, 10);
        tide_result_free(res);
    } else {
        o->code = tide_error_code(e);
        const char *s = tide_error_get(e, TIDE_FIELD_SQLSTATE);
        snprintf(o->sqlstate, sizeof o->sqlstate, "%s", s ? s : "");
    }
}

typedef struct held {
    int called;
    tide_conn *conn;
    tide_code code;
} held;

static void on_conn(void *ud, tide_conn *c, const tide_error *e)
{
    held *h = ud;
    h->called++;
    h->conn = c;
    h->code = c ? TIDE_E_NONE : tide_error_code(e);
}

/* Polls until nothing is pending, or fails the case after ms. */
static int drain(tide_loop *l, int ms)
{
    int64_t until = now_ms() + ms;
    while (tide_loop_pending(l) > 0) {
        if (now_ms() > until)
            return -1;
        if (tide_loop_poll(l, 50) < 0)
            return -1;
    }
    return 0;
}

static tide_value int_value(int64_t i)
{
    tide_value v = {.kind = TIDE_KIND_INT};
    v.as.i = i;
    return v;
}

static int submit(tide_loop *l, tide_pool *p, const char *sql, outcome *o)
{
    return tide_loop_query(l, p, sql, 0, NULL, 0, on_result, o, NULL, err);
}

/* More queries than connections: all answered, each with its own value, and
 * the pool never opens more than its size. */
T_CASE(many_queries_few_connections)
{
    tide_pool *p = make_pool(0, 3, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    T_REQUIRE(l);
    enum { N = 40 };
    outcome o[N];
    memset(o, 0, sizeof o);
    for (int i = 0; i < N; i++) {
        tide_value v = int_value(i * 7);
        T_EQ_INT(tide_loop_query(l, p, "SELECT $1::int + 1", 1, &v, 0, on_result, &o[i], NULL, err), TIDE_OK);
    }
    T_CHECK(tide_pool_count_of(p, TIDE_POOL_OPEN) <= 3);
    T_EQ_INT(drain(l, 10000), 0);
    for (int i = 0; i < N; i++) {
        T_EQ_INT(o[i].called, 1);
        T_EQ_INT(o[i].value, i * 7 + 1);
    }
    T_CHECK(tide_pool_count_of(p, TIDE_POOL_OPENED) <= 3);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IN_USE), 0);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* Three slow queries on three connections take the time of one. */
T_CASE(queries_run_at_once)
{
    tide_pool *p = make_pool(3, 3, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o[3];
    memset(o, 0, sizeof o);
    int64_t t0 = now_ms();
    for (int i = 0; i < 3; i++)
        T_EQ_INT(submit(l, p, "SELECT 1 FROM pg_sleep(0.3)", &o[i]), TIDE_OK);
    T_EQ_INT(drain(l, 5000), 0);
    int64_t took = now_ms() - t0;
    for (int i = 0; i < 3; i++)
        T_EQ_INT(o[i].value, 1);
    T_CHECK(took >= 290 && took < 800);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* A frame's poll returns at once while a slow query is in flight. */
T_CASE(poll_never_blocks)
{
    tide_pool *p = make_pool(0, 2, 5000, 5000); /* the connect is part of it too */
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o = {0};
    T_EQ_INT(submit(l, p, "SELECT 42 FROM pg_sleep(0.3)", &o), TIDE_OK);
    int64_t worst = 0, frames = 0;
    while (!o.called && frames < 10000) {
        int64_t t = now_ms();
        T_CHECK(tide_loop_poll(l, 0) >= 0);
        int64_t d = now_ms() - t;
        if (d > worst)
            worst = d;
        frames++;
        msleep(5);
    }
    T_EQ_INT(o.value, 42);
    T_CHECK(frames > 20);
    T_CHECK(worst < 20);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* Pool exhausted: a loop's acquire ends with pool_timeout naming the size. */
T_CASE(acquire_times_out)
{
    tide_pool *p = make_pool(1, 1, 150, 5000);
    T_REQUIRE(p);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    tide_loop *l = tide_loop_new(err);
    outcome o = {0};
    int64_t t0 = now_ms();
    T_EQ_INT(submit(l, p, "SELECT 1", &o), TIDE_OK);
    T_EQ_INT(tide_loop_timeout(l) > 0 && tide_loop_timeout(l) <= 150, 1);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(o.called, 1);
    T_EQ_INT(o.code, TIDE_E_POOL_TIMEOUT);
    T_CHECK(o.at_ms - t0 >= 140 && o.at_ms - t0 < 1000);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 0);
    tide_pool_release(p, c);
    tide_loop_free(l);
    tide_pool_free(p);
}

static void *release_later(void *arg)
{
    void **a = arg;
    msleep(150);
    tide_pool_release(a[0], a[1]);
    return NULL;
}

/* A connection released by another thread is handed to the waiting loop,
 * which wakes at once (its wake-up descriptor), not at its next timer. */
T_CASE(handoff_from_another_thread)
{
    tide_pool *p = make_pool(1, 1, -1, 5000); /* no deadline to wake for */
    T_REQUIRE(p);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    tide_loop *l = tide_loop_new(err);
    outcome o = {0};
    T_EQ_INT(submit(l, p, "SELECT 7", &o), TIDE_OK);
    T_EQ_INT(tide_loop_timeout(l), -1);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 1);
    pthread_t th;
    void *args[2] = {p, c};
    int64_t t0 = now_ms();
    pthread_create(&th, NULL, release_later, args);
    int n = tide_loop_poll(l, 5000);
    int64_t took = now_ms() - t0;
    pthread_join(th, NULL);
    T_EQ_INT(n, 1);
    T_EQ_INT(o.value, 7);
    T_CHECK(took >= 140 && took < 1000);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* A transaction on a connection acquired through the loop; an error inside
 * it; a release mid-transaction is rolled back by the loop, and the session
 * state it set is reset, before anyone else gets the connection. */
T_CASE(transaction_and_dirty_release)
{
    tide_pool *p = make_pool(1, 1, 5000, 5000);
    T_REQUIRE(p);
    tide_conn *admin;
    T_REQUIRE(tide_pool_acquire(p, &admin, err) == TIDE_OK);
    T_REQUIRE(tide_conn_query(admin, "CREATE TABLE IF NOT EXISTS loop_tx (v int)", 0, NULL, 0, NULL, err) == TIDE_OK);
    T_REQUIRE(tide_conn_query(admin, "TRUNCATE loop_tx", 0, NULL, 0, NULL, err) == TIDE_OK);
    tide_pool_release(p, admin);

    tide_loop *l = tide_loop_new(err);
    held h = {0};
    T_EQ_INT(tide_loop_acquire(l, p, on_conn, &h, NULL, err), TIDE_OK);
    T_EQ_INT(drain(l, 3000), 0);
    T_REQUIRE(h.conn);
    const char *steps[] = {"BEGIN", "SET work_mem = '7MB'", "INSERT INTO loop_tx VALUES (1)"};
    for (int i = 0; i < 3; i++) {
        outcome o = {0};
        T_EQ_INT(tide_loop_conn_query(l, h.conn, steps[i], 0, NULL, 0, on_result, &o, NULL, err), TIDE_OK);
        T_EQ_INT(drain(l, 3000), 0);
        T_EQ_INT(o.called, 1);
        T_EQ_INT(o.code, TIDE_E_NONE);
    }
    /* one at a time on a held connection */
    outcome a = {0}, b = {0};
    T_EQ_INT(tide_loop_conn_query(l, h.conn, "SELECT 1", 0, NULL, 0, on_result, &a, NULL, err), TIDE_OK);
    T_EQ_INT(tide_loop_conn_query(l, h.conn, "SELECT 2", 0, NULL, 0, on_result, &b, NULL, err), TIDE_MISUSE);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(a.value, 1);
    T_EQ_INT(b.called, 0);

    tide_loop_release(l, h.conn); /* mid-transaction, with a SET */
    T_CHECK(tide_loop_pending(l) > 0);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IDLE), 1);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPENED), 1);

    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    T_EQ_INT(tide_conn_tx_status(c), TIDE_TX_IDLE);
    tide_result *r = NULL;
    T_REQUIRE(tide_conn_query(c, "SELECT count(*), current_setting('work_mem') FROM loop_tx", 0, NULL, 0, &r, err) ==
              TIDE_OK);
    T_EQ_STR(tide_result_text(r, 0, 0, NULL), "0");
    T_CHECK(strcmp(tide_result_text(r, 0, 1, NULL), "7MB") != 0);
    tide_result_free(r);
    tide_pool_release(p, c);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* Errors come back structured. */
T_CASE(database_error)
{
    tide_pool *p = make_pool(1, 1, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o = {0}, after = {0};
    T_EQ_INT(submit(l, p, "SELEC 1", &o), TIDE_OK);
    T_EQ_INT(submit(l, p, "SELECT 5", &after), TIDE_OK);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(o.code, TIDE_E_DATABASE);
    T_EQ_STR(o.sqlstate, "42601");
    T_EQ_INT(after.value, 5); /* the connection stayed good */
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPENED), 1);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* Cancelled work calls nothing and gives its connection back: before it
 * started, while waiting in the queue, and with its statement in flight. */
T_CASE(cancel)
{
    tide_pool *p = make_pool(1, 1, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o1 = {0}, o2 = {0}, o3 = {0};
    tide_job *j1, *j2;
    T_EQ_INT(tide_loop_query(l, p, "SELECT 1 FROM pg_sleep(0.1)", 0, NULL, 0, on_result, &o1, &j1, err), TIDE_OK);
    T_EQ_INT(tide_loop_query(l, p, "SELECT 2", 0, NULL, 0, on_result, &o2, &j2, err), TIDE_OK);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 1);
    tide_loop_cancel(l, j2); /* waiting: leaves the queue */
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 0);
    tide_loop_cancel(l, j1); /* in flight: runs out in the background */
    T_EQ_INT(submit(l, p, "SELECT 3", &o3), TIDE_OK);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(o1.called, 0);
    T_EQ_INT(o2.called, 0);
    T_EQ_INT(o3.value, 3);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IN_USE), 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPENED), 1);

    /* an acquire cancelled after it got its connection */
    held h = {0};
    tide_job *j;
    T_EQ_INT(tide_loop_acquire(l, p, on_conn, &h, &j, err), TIDE_OK);
    tide_loop_cancel(l, j);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(h.called, 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IDLE), 1);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* A held connection given back to the pool with a loop's query in flight:
 * the query fails (its callback says so) and the connection is closed. */
T_CASE(release_under_a_query)
{
    tide_pool *p = make_pool(1, 1, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    tide_conn *c;
    T_REQUIRE(tide_pool_acquire(p, &c, err) == TIDE_OK);
    outcome o = {0};
    T_EQ_INT(tide_loop_conn_query(l, c, "SELECT 1 FROM pg_sleep(0.2)", 0, NULL, 0, on_result, &o, NULL, err), TIDE_OK);
    tide_pool_release(p, c);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(o.called, 1);
    T_EQ_INT(o.code, TIDE_E_MISUSE);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_CLOSED), 1);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* Idle connections past ping_idle_ms are pinged as a step, not a wait. */
T_CASE(ping_as_a_step)
{
    tide_pool *p = make_pool(1, 1, 5000, 0); /* always ping */
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o = {0};
    int64_t before = tide_pool_statements(p);
    T_EQ_INT(submit(l, p, "SELECT 9", &o), TIDE_OK);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(o.value, 9);
    T_EQ_INT(tide_pool_statements(p) - before, 2); /* the ping and the query */
    tide_loop_free(l);
    tide_pool_free(p);
}

/* A server that is not there: the query fails with connection_failure. */
T_CASE(connect_failure)
{
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = "postgresql://nobody@127.0.0.1:1/none";
    o.min_size = 0;
    o.connect_timeout_ms = 2000;
    tide_pool *p = tide_pool_new(&o, err);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome r = {0};
    T_EQ_INT(submit(l, p, "SELECT 1", &r), TIDE_OK);
    T_EQ_INT(drain(l, 5000), 0);
    T_EQ_INT(r.code, TIDE_E_CONNECTION_FAILURE);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPEN), 0);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* A host that waits with its own poll(2) on tide_loop_fds. */
T_CASE(host_waits_on_fds)
{
    tide_pool *p = make_pool(0, 4, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o[4];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 4; i++) {
        tide_value v = int_value(i);
        T_EQ_INT(tide_loop_query(l, p, "SELECT $1::int FROM pg_sleep(0.05)", 1, &v, 0, on_result, &o[i], NULL, err),
                 TIDE_OK);
    }
    int done = 0, rounds = 0;
    while (done < 4 && rounds < 1000) {
        tide_pollfd fds[16];
        int n = tide_loop_fds(l, fds, 16);
        T_REQUIRE(n >= 1 && n <= 16);
        struct pollfd pf[16];
        for (int i = 0; i < n; i++)
            pf[i] = (struct pollfd){.fd = fds[i].fd,
                                    .events = (short)((fds[i].events & TIDE_WANT_READ ? POLLIN : 0) |
                                                      (fds[i].events & TIDE_WANT_WRITE ? POLLOUT : 0))};
        poll(pf, (nfds_t)n, tide_loop_timeout(l) < 0 ? 1000 : tide_loop_timeout(l));
        done += tide_loop_poll(l, 0);
        rounds++;
    }
    T_EQ_INT(done, 4);
    for (int i = 0; i < 4; i++)
        T_EQ_INT(o[i].value, i);
    T_EQ_INT(tide_loop_fds(l, NULL, 0), 1); /* only the wake-up descriptor left */
    tide_loop_free(l);
    tide_pool_free(p);
}

/* The pool's own loop, for a host with one thread. */
T_CASE(pool_submit_and_poll)
{
    tide_pool *p = make_pool(1, 2, 5000, 5000);
    T_REQUIRE(p);
    outcome o = {0};
    tide_value v = int_value(11);
    T_EQ_INT(tide_pool_submit(p, "SELECT $1::bigint * 2", 1, &v, 0, on_result, &o, err), TIDE_OK);
    int n = 0;
    for (int i = 0; i < 200 && !n; i++)
        n = tide_pool_poll(p, 20);
    T_EQ_INT(n, 1);
    T_EQ_INT(o.value, 22);
    /* freed with work in flight: no callback, nothing leaks */
    outcome late = {0};
    T_EQ_INT(tide_pool_submit(p, "SELECT pg_sleep(0.2)", 0, NULL, 0, on_result, &late, err), TIDE_OK);
    tide_pool_free(p);
    T_EQ_INT(late.called, 0);
}

/* Freeing a loop with every kind of work in flight. */
T_CASE(free_with_work_in_flight)
{
    tide_pool *p = make_pool(0, 2, 5000, 5000);
    T_REQUIRE(p);
    tide_loop *l = tide_loop_new(err);
    outcome o[5];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 5; i++)
        submit(l, p, "SELECT pg_sleep(0.05)", &o[i]); /* connecting, then waiting */
    held h = {0};
    tide_loop_acquire(l, p, on_conn, &h, NULL, err);
    tide_loop_poll(l, 0);
    tide_loop_free(l);
    for (int i = 0; i < 5; i++)
        T_EQ_INT(o[i].called, 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_IN_USE), 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_WAITING), 0);
    tide_pool_free(p);
}

/* A statement past its own deadline (TIDE_QUERY_TIMEOUT) is cancelled on
 * the server: it fails with 57014, and the connection is kept and works;
 * the loop goes on meanwhile. Then the same blocking. */
T_CASE(deadline_cancels_on_the_server)
{
    tide_pool *p = make_pool(1, 1, 5000, -1);
    tide_loop *l = tide_loop_new(err);
    T_REQUIRE(p && l);
    outcome pid0 = {0}, slow = {0}, pid1 = {0}, quick = {0};
    T_REQUIRE(tide_loop_query(l, p, "SELECT pg_backend_pid()", 0, NULL, 0, on_result, &pid0, NULL, err) == TIDE_OK);
    while (!pid0.called)
        tide_loop_poll(l, 1000);
    int64_t t0 = now_ms();
    T_REQUIRE(tide_loop_query(l, p, "SELECT pg_sleep(5)", 0, NULL, TIDE_QUERY_TIMEOUT(200), on_result, &slow, NULL,
                              err) == TIDE_OK);
    int polls = 0;
    while (!slow.called) {
        tide_loop_poll(l, 20); /* returns on time, whatever the query does */
        polls++;
    }
    int64_t took = now_ms() - t0;
    T_EQ_INT(slow.code, TIDE_E_QUERY_CANCELED);
    T_EQ_STR(slow.sqlstate, "57014");
    T_CHECK(took >= 190 && took < 1500);
    T_CHECK(polls >= 5);
    T_REQUIRE(tide_loop_query(l, p, "SELECT pg_backend_pid()", 0, NULL, 0, on_result, &pid1, NULL, err) == TIDE_OK);
    while (!pid1.called)
        tide_loop_poll(l, 1000);
    T_EQ_INT(pid1.value, pid0.value);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPENED), 1);
    /* a deadline that is not reached changes nothing */
    T_REQUIRE(tide_loop_query(l, p, "SELECT 7", 0, NULL, TIDE_QUERY_TIMEOUT(5000), on_result, &quick, NULL, err) ==
              TIDE_OK);
    while (!quick.called)
        tide_loop_poll(l, 1000);
    T_EQ_INT(quick.value, 7);
    /* blocking: the same, on the same connection */
    tide_result *r = NULL;
    T_CHECK(tide_pool_query(p, "SELECT pg_sleep(5)", 0, NULL, TIDE_QUERY_TIMEOUT(200), &r, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_QUERY_CANCELED);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_SQLSTATE), "57014");
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPENED), 1);
    tide_loop_free(l);
    tide_pool_free(p);
}

/* A statement on a held connection cancelled at its deadline calls back
 * only once the connection is free of it (the cancel delivered): the
 * callback's ROLLBACK on that connection is taken, every time. */
typedef struct rollback_after {
    tide_loop *l;
    tide_conn *conn;
    outcome stmt, rollback;
    int sent; /* what tide_loop_conn_query said to the ROLLBACK */
} rollback_after;

static void on_cancelled_then_rollback(void *ud, tide_result *res, const tide_error *e)
{
    rollback_after *r = ud;
    on_result(&r->stmt, res, e);
    tide_error *scratch = tide_error_new();
    r->sent = tide_loop_conn_query(r->l, r->conn, "ROLLBACK", 0, NULL, 0, on_result, &r->rollback, NULL, scratch);
    if (r->sent != TIDE_OK)
        printf("  ROLLBACK refused: %s\n", tide_error_message(scratch));
    tide_error_free(scratch);
}

T_CASE(deadline_on_a_held_connection_calls_back_when_it_is_free)
{
    tide_pool *p = make_pool(1, 1, 5000, -1);
    tide_loop *l = tide_loop_new(err);
    T_REQUIRE(p && l);
    held h = {0};
    T_EQ_INT(tide_loop_acquire(l, p, on_conn, &h, NULL, err), TIDE_OK);
    T_EQ_INT(drain(l, 3000), 0);
    T_REQUIRE(h.conn);
    for (int round = 0; round < 8; round++) {
        outcome begin = {0};
        T_EQ_INT(tide_loop_conn_query(l, h.conn, "BEGIN", 0, NULL, 0, on_result, &begin, NULL, err), TIDE_OK);
        T_EQ_INT(drain(l, 3000), 0);
        T_EQ_INT(begin.code, TIDE_E_NONE);
        rollback_after r = {.l = l, .conn = h.conn};
        T_REQUIRE(tide_loop_conn_query(l, h.conn, "SELECT pg_sleep(5)", 0, NULL, TIDE_QUERY_TIMEOUT(50),
                                       on_cancelled_then_rollback, &r, NULL, err) == TIDE_OK);
        T_EQ_INT(drain(l, 5000), 0);
        T_EQ_INT(r.stmt.called, 1);
        T_EQ_INT(r.stmt.code, TIDE_E_QUERY_CANCELED);
        T_EQ_INT(r.sent, TIDE_OK);
        T_EQ_INT(r.rollback.called, 1);
        T_EQ_INT(r.rollback.code, TIDE_E_NONE);
        T_EQ_INT(tide_conn_tx_status(h.conn), TIDE_TX_IDLE);
    }
    tide_loop_release(l, h.conn);
    T_EQ_INT(drain(l, 3000), 0);
    T_EQ_INT(tide_pool_count_of(p, TIDE_POOL_OPENED), 1);
    tide_loop_free(l);
    tide_pool_free(p);
}

int main(void)
{
    err = tide_error_new();
    T_RUN(many_queries_few_connections);
    T_RUN(queries_run_at_once);
    T_RUN(poll_never_blocks);
    T_RUN(acquire_times_out);
    T_RUN(handoff_from_another_thread);
    T_RUN(transaction_and_dirty_release);
    T_RUN(database_error);
    T_RUN(cancel);
    T_RUN(release_under_a_query);
    T_RUN(ping_as_a_step);
    T_RUN(connect_failure);
    T_RUN(host_waits_on_fds);
    T_RUN(pool_submit_and_poll);
    T_RUN(free_with_work_in_flight);
    T_RUN(deadline_cancels_on_the_server);
    T_RUN(deadline_on_a_held_connection_calls_back_when_it_is_free);
    tide_error_free(err);
    return t_done();
}
