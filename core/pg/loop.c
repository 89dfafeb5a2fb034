/* The loop: operations advanced by poll, never by waiting.
 *
 * An operation is a small state machine over a connection's own:
 *
 *   WAIT ──> CONNECT ──┐                  (a slot: open a connection)
 *     │                ├──> RUN ──> CLEAN ──> DONE
 *     └──> PING ───────┘                  (an idle one, idle too long)
 *
 * A query on a pool goes through all of them; a query on a held connection
 * is only RUN; an acquire ends where RUN would begin; a release is only
 * CLEAN (rollback, session reset, then back to the pool). The callback is
 * queued when the caller's part is over (a query's result is in) and called
 * from poll, while the operation may go on cleaning up; it is freed when
 * both are over.
 *
 * A poll's work must not grow with the number of operations waiting for a
 * connection (a thousand coroutines over a pool of eight): those wait on a
 * list of their own, sorted by deadline, and the pool hands them over by
 * pushing them onto the loop's "handed" stack, so a pass looks only at the
 * operations that hold a connection, the handed ones and the list's head. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "pg.h"

enum op_kind { K_QUERY, K_CONN_QUERY, K_ACQUIRE, K_RELEASE, K_TIMER, K_LISTEN };
enum op_state { S_WAIT, S_CONNECT, S_PING, S_RUN, S_CANCELING, S_CLEAN, S_DONE, S_TIMER, S_LISTEN };

/* A cancel request on its way to the server, from a thread of its own
 * (libpq 15's PQcancel connects and waits). Shared by the thread and the
 * job; the last to let go frees it. */
typedef struct tpg_cancel {
    PGcancel *cn;
    int fd;                  /* a copy of the loop's wake-up descriptor */
    int done;                /* atomic: delivered, or given up */
    int refs;                /* atomic */
} tpg_cancel;

struct tide_job {
    tide_loop *loop;
    enum op_kind kind;
    enum op_state state;
    tide_pool *pool;
    tide_conn *conn;
    tpg_waiter w;
    int64_t deadline_ms;     /* acquire deadline (WAIT); 0: none */
    int64_t due_ms;          /* the query's deadline (query_timeout_ms); 0: none */
    int timeout_ms;
    tpg_cancel *cancel;      /* sent at the deadline; the connection is kept until it is delivered */

    /* the query, copied when it cannot be sent at once */
    char *sql;
    size_t sql_size;
    tide_value *params;
    int nparams, flags;
    tutil_buf text;          /* the string parameters' bytes */
    tide_stmt *stmts;        /* a batch's statements (their texts in sql, values in params) */
    int nstmts;

    tide_query_cb qcb;
    tide_batch_cb bcb;
    tide_batch *batch;
    tide_acquire_cb acb;
    tide_timer_cb tcb;
    tide_notify_cb ncb;
    tide_conn *listened;     /* K_LISTEN: the connection it watches (not owned) */
    void *ud;
    tide_result *res;
    tide_error *err;         /* set when it failed */
    int queued;              /* in the ready queue: the callback is due */
    int ended;               /* the callback was called, or cancelled */
    int owns_conn;           /* a held connection given back mid-query: clean it after */
    int resetting;           /* the CLEAN statement in flight is the session reset */
    int waiting;             /* on the wait list (else the active one) */
    int on_handed;           /* on the handed stack: not freed until it leaves it */
    int delivering;          /* K_LISTEN inside its callbacks: not freed meanwhile */
    struct tide_job *prev, *next, *ready_next, *handed_next;
};

struct tide_loop {
    tide_job *head;          /* active: every job not waiting for a connection */
    tide_job *wait_head, *wait_tail; /* waiting, soonest deadline first */
    tide_job *ready_head, *ready_tail;
    int njobs;
    int nlisten;             /* listeners: in njobs, but not pending */

    pthread_mutex_t mu;      /* guards handed and thread */
    tide_job *handed;
    pthread_t thread;        /* the one that polls */
    int has_thread;

    void (*prepare)(void *ud);
    void *prepare_ud;
    int prepare_wanted;

    int wake_fd;
    int in_poll;
    tide_error *scratch;
    tide_error *oom;         /* reported when a failure cannot allocate its error */
    struct pollfd *pfds;
    tide_job **pops;
    int pcap;
};

/* ---- bookkeeping ----------------------------------------------------------- */

tide_loop *tide_loop_new(tide_error *err)
{
    tide_loop *l = tutil_calloc(1, sizeof *l);
    if (!l) {
        tutil_error_oom(err);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->scratch = tide_error_new();
    l->oom = tide_error_new();
    if (l->wake_fd < 0 || !l->scratch || !l->oom) {
        if (l->wake_fd < 0)
            tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "eventfd: %s", strerror(errno));
        else
            tutil_error_oom(err);
        tide_loop_free(l);
        return NULL;
    }
    tutil_error_oom(l->oom);
    return l;
}

void tpg_loop_handed(tide_loop *l, tpg_waiter *w)
{
    tide_job *op = (tide_job *)((char *)w - offsetof(tide_job, w));
    pthread_mutex_lock(&l->mu);
    if (!op->on_handed) {
        op->on_handed = 1;
        op->handed_next = l->handed;
        l->handed = op;
    }
    /* the polling thread itself looks at the stack before it blocks */
    int elsewhere = !l->has_thread || !pthread_equal(l->thread, pthread_self());
    pthread_mutex_unlock(&l->mu);
    if (elsewhere) {
        uint64_t one = 1;
        ssize_t n = write(l->wake_fd, &one, sizeof one);
        (void)n; /* EAGAIN: the counter is already non-zero, so it is awake */
    }
}

/* When a waiting job must be looked at even if nothing is handed to it. */
static int64_t wake_ms(const tide_job *op)
{
    int64_t a = op->deadline_ms, b = op->due_ms;
    if (!a)
        return b ? b : INT64_MAX;
    return b && b < a ? b : a;
}

static void list_unlink(tide_job *op)
{
    tide_loop *l = op->loop;
    tide_job **head = op->waiting ? &l->wait_head : &l->head;
    if (op->prev) op->prev->next = op->next; else *head = op->next;
    if (op->next) op->next->prev = op->prev;
    else if (op->waiting) l->wait_tail = op->prev;
    op->prev = op->next = NULL;
}

static void list_active(tide_job *op)
{
    tide_loop *l = op->loop;
    list_unlink(op);
    op->waiting = 0;
    op->next = l->head;
    if (l->head)
        l->head->prev = op;
    l->head = op;
}

/* Sorted by wake_ms, from the tail: a new job's deadline is usually the
 * latest, so this is one step. */
static void list_waiting(tide_job *op)
{
    tide_loop *l = op->loop;
    list_unlink(op);
    op->waiting = 1;
    int64_t t = wake_ms(op);
    tide_job *after = l->wait_tail;
    while (after && wake_ms(after) > t)
        after = after->prev;
    op->prev = after;
    op->next = after ? after->next : l->wait_head;
    if (op->next) op->next->prev = op; else l->wait_tail = op;
    if (after) after->next = op; else l->wait_head = op;
}

/* ---- cancel requests ---------------------------------------------------------- */

static void cancel_unref(tpg_cancel *k)
{
    if (__atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    PQfreeCancel(k->cn);
    if (k->fd >= 0)
        close(k->fd);
    tutil_free(k, sizeof *k);
}

static void *cancel_main(void *arg)
{
    tpg_cancel *k = arg;
    char buf[256];
    PQcancel(k->cn, buf, sizeof buf); /* failing is no worse than not sending it */
    __atomic_store_n(&k->done, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t n = write(k->fd, &one, sizeof one); /* the loop looks at its job again */
    (void)n;
    cancel_unref(k);
    return NULL;
}

/* Asks the server to cancel the statement in flight on c, without waiting. */
static tpg_cancel *cancel_start(tide_loop *l, tide_conn *c)
{
    tpg_cancel *k = tutil_calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->cn = c->pg ? PQgetCancel(c->pg) : NULL;
    k->fd = fcntl(l->wake_fd, F_DUPFD_CLOEXEC, 0);
    k->refs = 2;
    pthread_t t;
    pthread_attr_t a;
    int ok = k->cn && k->fd >= 0 && pthread_attr_init(&a) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&t, &a, cancel_main, k) == 0;
        pthread_attr_destroy(&a);
    }
    if (!ok) {
        k->refs = 1;
        cancel_unref(k);
        return NULL;
    }
    return k;
}

static int cancel_pending(const tide_job *op)
{
    return op->cancel && !__atomic_load_n(&op->cancel->done, __ATOMIC_ACQUIRE);
}

static void cancel_drop(tide_job *op)
{
    if (op->cancel)
        cancel_unref(op->cancel);
    op->cancel = NULL;
}

static void op_free(tide_job *op)
{
    tide_loop *l = op->loop;
    list_unlink(op);
    l->njobs--;
    if (op->kind == K_LISTEN)
        l->nlisten--;
    cancel_drop(op);
    tide_result_free(op->res);
    tide_batch_free(op->batch);
    tide_error_free(op->err);
    if (op->stmts)
        tutil_free(op->stmts, (size_t)op->nstmts * sizeof *op->stmts);
    if (op->sql)
        tutil_free(op->sql, op->sql_size);
    if (op->params)
        tutil_free(op->params, (size_t)op->nparams * sizeof *op->params);
    tutil_buf_free(&op->text);
    tutil_free(op, sizeof *op);
}

/* Freed once its callback is over and its connection is back. */
static void maybe_free(tide_job *op)
{
    if (op->ended && !op->queued && op->state == S_DONE && !op->on_handed && !op->delivering)
        op_free(op);
}

static tide_job *op_new(tide_loop *l, enum op_kind kind, tide_error *err)
{
    tide_job *op = tutil_calloc(1, sizeof *op);
    if (!op) {
        tutil_error_oom(err);
        return NULL;
    }
    op->loop = l;
    op->kind = kind;
    op->w.loop = l;
    tutil_buf_init(&op->text);
    op->next = l->head;
    if (l->head)
        l->head->prev = op;
    l->head = op;
    l->njobs++;
    return op;
}

/* The caller's part is over: queue the callback. */
static void finish(tide_job *op)
{
    if (op->ended || op->queued)
        return;
    tide_loop *l = op->loop;
    op->queued = 1;
    op->ready_next = NULL;
    if (l->ready_tail) l->ready_tail->ready_next = op; else l->ready_head = op;
    l->ready_tail = op;
}

/* Keeps the job's first error, for its callback. */
static void keep_error(tide_job *op, const tide_error *err)
{
    if (!op->err && !op->ended) {
        op->err = tide_error_new();
        if (op->err)
            tide_error_copy(op->err, err);
    }
}

static void fail(tide_job *op, const tide_error *err)
{
    keep_error(op, err);
    finish(op);
}

/* ---- the state machine ----------------------------------------------------- */

static void advance(tide_job *op);
static void start_acquire(tide_job *op);

static void start_clean(tide_job *op)
{
    tide_conn *c = op->conn;
    op->state = S_CLEAN;
    if (!c) {
        op->state = S_DONE;
        return;
    }
    c->op = op;
    if (c->state == TPG_DONE)
        tide_result_free(tide_conn_take_result(c));
    const char *sql = NULL;
    op->resetting = 0;
    if (!tide_conn_is_broken(c) && c->state == TPG_IDLE) {
        tide_tx_status tx = tide_conn_tx_status(c);
        if (tx == TIDE_TX_INTRANS || tx == TIDE_TX_INERROR) {
            sql = "ROLLBACK";
        } else if (tx == TIDE_TX_IDLE) {
            sql = tpg_conn_reset_sql(c);
            op->resetting = 1;
        }
    }
    if (sql && tide_conn_query_start(c, sql, 0, NULL, 0, op->loop->scratch) == TIDE_PENDING)
        return;
    /* clean, or past helping: the pool keeps or closes it */
    c->op = NULL;
    op->conn = NULL;
    op->state = S_DONE;
    tide_pool_release(c->pool, c);
}

static int copy_query(tide_job *op, const char *sql, int nparams, const tide_value *params, tide_error *err)
{
    op->sql_size = strlen(sql) + 1;
    op->sql = tutil_malloc(op->sql_size);
    if (!op->sql)
        goto oom;
    memcpy(op->sql, sql, op->sql_size);
    op->nparams = nparams;
    if (nparams > 0) {
        op->params = tutil_malloc((size_t)nparams * sizeof *op->params);
        if (!op->params || tpg_params_copy(op->params, &op->text, params, nparams) != 0)
            goto oom;
    }
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

/* A batch's texts go end to end in op->sql, its values in op->params. */
static int copy_batch(tide_job *op, int n, const tide_stmt *stmts, tide_error *err)
{
    size_t size = 0;
    int total = 0;
    for (int i = 0; i < n; i++) {
        size += strlen(stmts[i].sql) + 1;
        total += stmts[i].nparams;
    }
    op->stmts = tutil_malloc((size_t)n * sizeof *op->stmts);
    if (!op->stmts)
        goto oom;
    op->nstmts = n;
    op->sql_size = size;
    if (!(op->sql = tutil_malloc(size)))
        goto oom;
    if (total && !(op->params = tutil_malloc((size_t)total * sizeof *op->params)))
        goto oom;
    op->nparams = total;
    char *text = op->sql;
    for (int i = 0, base = 0; i < n; i++) {
        size_t len = strlen(stmts[i].sql) + 1;
        memcpy(text, stmts[i].sql, len);
        if (stmts[i].nparams)
            memcpy(op->params + base, stmts[i].params, (size_t)stmts[i].nparams * sizeof *op->params);
        op->stmts[i] = (tide_stmt){text, stmts[i].nparams, op->params ? op->params + base : NULL};
        text += len;
        base += stmts[i].nparams;
    }
    if (total && tpg_params_copy(op->params, &op->text, op->params, total) != 0)
        goto oom;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

/* Sends the job's query or batch on c. */
static int start_query(tide_job *op, tide_conn *c, tide_error *err)
{
    if (op->nstmts)
        return tide_conn_batch_start(c, op->nstmts, op->stmts, op->flags, err);
    return tide_conn_query_start(c, op->sql, op->nparams, op->params, op->flags, err);
}

/* The query or batch has ended on c (rc: how): takes its outcome. The
 * caller calls back (finish) once the connection is free of it: not while
 * a cancel is still on its way, or a callback that sends on a connection
 * it holds (a ROLLBACK) would find it busy. */
static void take_outcome(tide_job *op, tide_conn *c, int rc, tide_error *err)
{
    if (op->nstmts)
        op->batch = tide_conn_take_batch(c);
    else if (rc == TIDE_OK)
        op->res = tide_conn_take_result(c);
    if (rc != TIDE_OK)
        keep_error(op, err);
}

/* A connection is ours and checked out: begin the caller's part. */
static void start_run(tide_job *op)
{
    tide_conn *c = op->conn;
    if (op->ended) { /* cancelled while it came: straight back */
        op->kind = K_RELEASE;
        start_clean(op);
        return;
    }
    if (op->kind == K_ACQUIRE) {
        op->state = S_DONE;
        finish(op);
        return;
    }
    c->op = op;
    op->state = S_RUN;
    tide_error *err = op->loop->scratch;
    int rc = start_query(op, c, err);
    if (rc != TIDE_PENDING) {
        take_outcome(op, c, rc, err);
        finish(op);
        c->op = NULL;
        start_clean(op);
    }
}

static void start_connect(tide_job *op)
{
    tide_error *err = op->loop->scratch;
    if (!tpg_pool_may_connect(op->pool, err)) { /* backing off: fail fast */
        tpg_pool_slot_failed(op->pool);
        op->state = S_DONE;
        fail(op, err);
        return;
    }
    tide_conn *c = tpg_pool_conn_new(op->pool, err);
    if (c && tide_conn_connect_start(c, err) == TIDE_PENDING) {
        op->conn = c;
        c->op = op;
        op->state = S_CONNECT;
        return;
    }
    tide_conn_free(c);
    tpg_pool_connected(op->pool, err);
    tpg_pool_slot_failed(op->pool);
    op->state = S_DONE;
    fail(op, err);
}

/* A connection or a slot came from the pool. */
static void got(tide_job *op, tide_conn *c, int slot, int vetted)
{
    if (slot) {
        start_connect(op);
        return;
    }
    if (vetted) {
        op->conn = c;
        start_run(op);
        return;
    }
    int v = tpg_pool_vet(op->pool, c, 0);
    if (v < 0) {
        tpg_pool_discard(op->pool, c);
        start_connect(op); /* in the slot it leaves */
        return;
    }
    tpg_pool_checkout(op->pool, c);
    op->conn = c;
    if (v == 0) {
        start_run(op);
        return;
    }
    op->state = S_PING;
    if (tide_conn_query_start(c, "", 0, NULL, 0, op->loop->scratch) == TIDE_PENDING) {
        c->op = op;
        return;
    }
    op->conn = NULL;
    tide_pool_release(op->pool, c); /* broken: closed */
    start_acquire(op);
}

static void start_acquire(tide_job *op)
{
    tide_conn *c;
    int slot;
    tide_error *err = op->loop->scratch;
    int rc = tpg_pool_take(op->pool, &op->w, &c, &slot, err);
    if (rc == TIDE_OK) {
        got(op, c, slot, 0);
    } else if (rc == TIDE_PENDING) {
        op->state = S_WAIT;
        int t = tpg_pool_acquire_timeout(op->pool);
        op->deadline_ms = t >= 0 ? tpg_now_ms() + t : 0;
        list_waiting(op);
    } else {
        op->state = S_DONE;
        fail(op, err);
    }
}

/* The caller's part is over (its outcome taken): its callback, and the
 * connection cleaned up and given back, or left to its holder. */
static void run_over(tide_job *op)
{
    cancel_drop(op);
    op->conn->op = NULL;
    finish(op);
    if (op->kind == K_QUERY || op->owns_conn) {
        start_clean(op);
    } else {
        op->conn = NULL;
        op->state = S_DONE;
    }
}

static void advance(tide_job *op)
{
    tide_error *err = op->loop->scratch;
    tide_conn *c = op->conn;
    int rc;
    switch (op->state) {
    case S_WAIT: {
        int give_up = op->ended || (op->deadline_ms && tpg_now_ms() >= op->deadline_ms);
        int slot;
        if (!tpg_pool_waited(op->pool, &op->w, give_up, &c, &slot))
            return;
        list_active(op);
        if (c || slot) {
            got(op, c, slot, 1);
            return;
        }
        op->state = S_DONE;
        if (give_up && !op->ended)
            tpg_pool_timeout_error(op->pool, err);
        else
            tutil_error_set(err, TIDE_E_MISUSE, "acquire: the pool was closed while waiting");
        fail(op, err);
        return;
    }
    case S_CONNECT:
        rc = tide_conn_step(c, err);
        if (rc == TIDE_PENDING)
            return;
        c->op = NULL;
        tpg_pool_connected(op->pool, rc == TIDE_OK ? NULL : err);
        if (rc != TIDE_OK) {
            op->conn = NULL;
            tide_conn_free(c);
            tpg_pool_slot_failed(op->pool);
            op->state = S_DONE;
            fail(op, err);
            return;
        }
        tpg_pool_opened(op->pool, c);
        start_run(op);
        return;
    case S_PING:
        rc = tide_conn_step(c, err);
        if (rc == TIDE_PENDING)
            return;
        c->op = NULL;
        tide_result_free(tide_conn_take_result(c));
        if (rc != TIDE_OK) {
            /* gone while idle: give it back (closed), then ask again */
            op->conn = NULL;
            tide_pool_release(op->pool, c);
            start_acquire(op);
            return;
        }
        start_run(op);
        return;
    case S_RUN:
        rc = tide_conn_step(c, err);
        if (rc == TIDE_PENDING)
            return;
        take_outcome(op, c, rc, err);
        if (cancel_pending(op)) {
            /* not a statement more on this connection until the cancel has
             * reached the server: it would cancel that one instead */
            op->state = S_CANCELING;
            return;
        }
        run_over(op);
        return;
    case S_CANCELING:
        if (!cancel_pending(op))
            run_over(op);
        return;
    case S_CLEAN:
        rc = tide_conn_step(c, err);
        if (rc == TIDE_PENDING)
            return;
        tide_result_free(tide_conn_take_result(c));
        if (rc != TIDE_OK)
            c->broken = 1;          /* a cleanup that fails: close it */
        else if (op->resetting)
            tpg_conn_reset_done(c);
        start_clean(op);            /* next: the reset after a rollback, or back to the pool */
        return;
    case S_DONE:
    case S_TIMER:  /* the wait list's deadline ends it */
    case S_LISTEN: /* read by poll (listen_read) */
        return;
    }
}

/* ---- deadlines ------------------------------------------------------------- */

static int expirable(const tide_job *op)
{
    return op->due_ms && !op->ended && !op->queued && op->state != S_DONE && op->state != S_CLEAN;
}

static void set_due(tide_job *op, int timeout_ms)
{
    op->timeout_ms = timeout_ms;
    op->due_ms = timeout_ms > 0 ? tpg_now_ms() + timeout_ms : 0;
}

/* The query's time is up. First the server is asked to cancel it, from a
 * thread (the request is a connection of its own, which would block); the
 * statement then fails with the server's query_canceled and the connection
 * stays usable. If nothing answers within as long again (a server that does
 * not answer, nor answers the cancel), the connection is closed; the server
 * stops the statement when it next finds the client gone. */
static void expire(tide_job *op)
{
    tide_error *err = op->loop->scratch;
    tide_conn *c = op->conn;
    if (op->state == S_RUN && !op->cancel && !tide_conn_is_broken(c)) {
        op->cancel = cancel_start(op->loop, c);
        if (op->cancel) {
            op->due_ms = tpg_now_ms() + (op->timeout_ms > 0 ? op->timeout_ms : 1000);
            return;
        }
    }
    if (op->state == S_CANCELING) {
        /* the outcome is in, but the cancel is not delivered: it may come
         * late, to the next statement; this connection is not reused */
        tpg_conn_abandon(c);
        run_over(op);
        return;
    }
    tutil_error_setf(err, TIDE_E_QUERY_CANCELED, "no answer within %d ms: %s", op->timeout_ms,
                     op->state != S_RUN ? "gave up waiting for a connection"
                     : op->cancel       ? "nor to the cancel; the connection was closed"
                                        : "the connection was closed");
    switch (op->state) {
    case S_WAIT: {
        tide_conn *handed;
        int slot;
        tpg_pool_waited(op->pool, &op->w, 1, &handed, &slot); /* gives up its place */
        list_active(op);
        op->state = S_DONE;
        fail(op, err);
        if (handed) { /* handed over just now: straight back */
            op->conn = handed;
            start_clean(op);
        }
        return;
    }
    case S_CONNECT:
        c->op = NULL;
        tide_conn_free(c);
        op->conn = NULL;
        tpg_pool_connect_dropped(op->pool);
        tpg_pool_slot_failed(op->pool);
        op->state = S_DONE;
        fail(op, err);
        return;
    case S_PING:
    case S_RUN:
        cancel_drop(op);
        c->op = NULL;
        tpg_conn_abandon(c);
        fail(op, err);
        if (op->kind == K_QUERY || op->owns_conn) {
            start_clean(op); /* broken: the pool closes it */
        } else {
            op->conn = NULL; /* the holder's, broken: its later statements fail */
            op->state = S_DONE;
        }
        return;
    default:
        return;
    }
}

/* ---- submitting ------------------------------------------------------------ */

static int submit_check(tide_loop *l, const void *target, tide_error *err)
{
    if (!l || !target) {
        tutil_error_set(err, TIDE_E_MISUSE, "loop: no loop, pool or connection");
        return TIDE_MISUSE;
    }
    return TIDE_OK;
}

/* What a query or batch calls back when it ends: one of qcb and bcb. */
typedef struct callback {
    tide_query_cb qcb;
    tide_batch_cb bcb;
    void *ud;
} callback;

/* A query or batch on a pool: its texts and values copied, as it waits. */
static int submit_pool(tide_loop *l, tide_pool *pool, const char *sql, int nparams, const tide_value *params,
                       int n, const tide_stmt *stmts, int flags, callback cb, tide_job **out, tide_error *err)
{
    tide_job *op = op_new(l, K_QUERY, err);
    if (!op)
        return TIDE_ERROR;
    if ((stmts ? copy_batch(op, n, stmts, err) : copy_query(op, sql, nparams, params, err)) != TIDE_OK) {
        op->state = S_DONE;
        op->ended = 1;
        op_free(op);
        return TIDE_ERROR;
    }
    op->flags = flags;
    op->pool = pool;
    op->qcb = cb.qcb;
    op->bcb = cb.bcb;
    op->ud = cb.ud;
    set_due(op, TIDE_QUERY_TIMEOUT_OF(flags) ? TIDE_QUERY_TIMEOUT_OF(flags) : tpg_pool_query_timeout(pool));
    start_acquire(op);
    if (out)
        *out = op;
    return TIDE_OK;
}

/* A query or batch on a held connection: sent now, so nothing needs
 * copying (the connection keeps what it must). */
static int submit_conn(tide_loop *l, tide_conn *c, const char *sql, int nparams, const tide_value *params, int n,
                       const tide_stmt *stmts, int flags, callback cb, tide_job **out, tide_error *err)
{
    if (c->op) {
        tutil_error_set(err, TIDE_E_MISUSE, "another query is in flight on this connection");
        return TIDE_MISUSE;
    }
    int rc = stmts ? tide_conn_batch_start(c, n, stmts, flags, err)
                   : tide_conn_query_start(c, sql, nparams, params, flags, err);
    if (rc != TIDE_PENDING) {
        tide_batch_free(tide_conn_take_batch(c));
        return rc == TIDE_MISUSE ? TIDE_MISUSE : TIDE_ERROR;
    }
    tide_job *op = op_new(l, K_CONN_QUERY, err);
    if (!op) {
        c->broken = 1; /* a statement we cannot follow: the pool will close it */
        return TIDE_ERROR;
    }
    op->nstmts = stmts ? n : 0; /* marks a batch: nothing of it is copied */
    op->conn = c;
    op->pool = c->pool;
    op->qcb = cb.qcb;
    op->bcb = cb.bcb;
    op->ud = cb.ud;
    op->state = S_RUN;
    c->op = op;
    set_due(op, TIDE_QUERY_TIMEOUT_OF(flags) ? TIDE_QUERY_TIMEOUT_OF(flags) : c->query_timeout_ms);
    if (out)
        *out = op;
    return TIDE_OK;
}

int tide_loop_query(tide_loop *l, tide_pool *pool, const char *sql, int nparams, const tide_value *params, int flags,
                    tide_query_cb cb, void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, pool, err) != TIDE_OK || !sql || nparams < 0 || (nparams > 0 && !params)) {
        tutil_error_set(err, TIDE_E_MISUSE, "loop query: bad arguments");
        return TIDE_MISUSE;
    }
    return submit_pool(l, pool, sql, nparams, params, 0, NULL, flags, (callback){cb, NULL, ud}, out, err);
}

int tide_loop_conn_query(tide_loop *l, tide_conn *c, const char *sql, int nparams, const tide_value *params,
                         int flags, tide_query_cb cb, void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, c, err) != TIDE_OK)
        return TIDE_MISUSE;
    return submit_conn(l, c, sql, nparams, params, 0, NULL, flags, (callback){cb, NULL, ud}, out, err);
}

static int batch_args(int n, const tide_stmt *stmts, tide_error *err)
{
    for (int i = 0; stmts && i < n; i++)
        if (!stmts[i].sql || stmts[i].nparams < 0 || (stmts[i].nparams > 0 && !stmts[i].params))
            stmts = NULL;
    if (n >= 1 && stmts)
        return TIDE_OK;
    tutil_error_set(err, TIDE_E_MISUSE, "loop batch: bad arguments");
    return TIDE_MISUSE;
}

int tide_loop_batch(tide_loop *l, tide_pool *pool, int n, const tide_stmt *stmts, int flags, tide_batch_cb cb,
                    void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, pool, err) != TIDE_OK || batch_args(n, stmts, err) != TIDE_OK)
        return TIDE_MISUSE;
    return submit_pool(l, pool, NULL, 0, NULL, n, stmts, flags, (callback){NULL, cb, ud}, out, err);
}

int tide_loop_conn_batch(tide_loop *l, tide_conn *c, int n, const tide_stmt *stmts, int flags, tide_batch_cb cb,
                         void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, c, err) != TIDE_OK || batch_args(n, stmts, err) != TIDE_OK)
        return TIDE_MISUSE;
    return submit_conn(l, c, NULL, 0, NULL, n, stmts, flags, (callback){NULL, cb, ud}, out, err);
}

int tide_loop_timer(tide_loop *l, int ms, tide_timer_cb cb, void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, l, err) != TIDE_OK)
        return TIDE_MISUSE;
    tide_job *op = op_new(l, K_TIMER, err);
    if (!op)
        return TIDE_ERROR;
    op->tcb = cb;
    op->ud = ud;
    op->state = S_TIMER;
    op->deadline_ms = tpg_now_ms() + (ms > 0 ? ms : 0);
    list_waiting(op);
    if (out)
        *out = op;
    return TIDE_OK;
}

int tide_loop_listen(tide_loop *l, tide_conn *c, tide_notify_cb cb, void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, c, err) != TIDE_OK || !cb)
        return TIDE_MISUSE;
    tide_job *op = op_new(l, K_LISTEN, err);
    if (!op)
        return TIDE_ERROR;
    if (c->listener) {
        tutil_error_set(err, TIDE_E_MISUSE, "a listener is already reading this connection");
        op->state = S_DONE;
        op->ended = 1;
        op_free(op);
        return TIDE_MISUSE;
    }
    op->listened = c;
    c->listener = op;
    l->nlisten++;
    op->ncb = cb;
    op->ud = ud;
    op->state = S_LISTEN;
    if (out)
        *out = op;
    return TIDE_OK;
}

static void deliver_note(void *ud, const char *channel, const char *payload, int pid)
{
    tide_job *op = ud;
    if (!op->ended)
        op->ncb(op->ud, channel, payload, pid);
}

/* What a listening connection has: read when its socket is readable,
 * handed out on every pass (those that came in during a query). */
static int listen_read(tide_job *op, int readable)
{
    op->delivering++;
    int n = tpg_conn_notifies(op->listened, readable, deliver_note, op);
    op->delivering--;
    if (n >= 0)
        return n;
    /* lost: say so once, and end */
    if (!op->ended)
        op->ncb(op->ud, NULL, NULL, 0);
    op->ended = 1;
    op->state = S_DONE;
    if (op->listened)
        op->listened->listener = NULL;
    op->listened = NULL;
    return 1;
}

int tide_loop_acquire(tide_loop *l, tide_pool *pool, tide_acquire_cb cb, void *ud, tide_job **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (submit_check(l, pool, err) != TIDE_OK)
        return TIDE_MISUSE;
    tide_job *op = op_new(l, K_ACQUIRE, err);
    if (!op)
        return TIDE_ERROR;
    op->pool = pool;
    op->acb = cb;
    op->ud = ud;
    start_acquire(op);
    if (out)
        *out = op;
    return TIDE_OK;
}

void tide_loop_release(tide_loop *l, tide_conn *c)
{
    if (!c || !c->pool)
        return;
    if (c->op) {
        /* a query of the holder's in flight: its end no longer matters,
         * and the connection goes back once it is over */
        tide_job *op = c->op;
        op->owns_conn = 1;
        tide_loop_cancel(op->loop, op);
        return;
    }
    int clean = c->state == TPG_IDLE && !tide_conn_is_broken(c) && tide_conn_tx_status(c) == TIDE_TX_IDLE &&
                !tpg_conn_reset_sql(c);
    if (clean || !l) {
        tide_pool_release(c->pool, c);
        return;
    }
    tide_job *op = op_new(l, K_RELEASE, l->scratch);
    if (!op) {
        tide_pool_release(c->pool, c); /* blocking, but correct */
        return;
    }
    op->ended = 1; /* no callback */
    op->pool = c->pool;
    op->conn = c;
    start_clean(op);
    maybe_free(op);
}

void tide_loop_cancel(tide_loop *l, tide_job *op)
{
    if (!l || !op || op->ended)
        return;
    op->ended = 1;
    if (op->queued) {
        /* skipped and freed when the queue reaches it; a connection it got
         * goes back now */
        if (op->kind == K_ACQUIRE && op->conn) {
            op->kind = K_RELEASE;
            start_clean(op);
        }
        return;
    }
    switch (op->state) {
    case S_WAIT:
        advance(op); /* gives up its place (or what it was just handed) */
        break;
    case S_TIMER:
        list_active(op);
        op->state = S_DONE;
        break;
    case S_LISTEN:
        op->listened->listener = NULL;
        op->listened = NULL;
        op->state = S_DONE;
        break;
    case S_CONNECT:
        op->conn->op = NULL;
        tide_conn_free(op->conn);
        op->conn = NULL;
        tpg_pool_connect_dropped(op->pool);
        tpg_pool_slot_failed(op->pool);
        op->state = S_DONE;
        break;
    case S_PING:
        op->conn->op = NULL;
        tide_pool_release(op->pool, op->conn); /* mid-ping: closed */
        op->conn = NULL;
        op->state = S_DONE;
        break;
    default:
        break; /* RUN and CLEAN go on in the background */
    }
    maybe_free(op);
}

/* tide_pool_release of a held connection with a query of a loop's in
 * flight: the query fails, and forgets the connection the pool now owns. */
void tpg_loop_detach(tide_job *op)
{
    tide_error *err = op->loop->scratch;
    if (cancel_pending(op))
        op->conn->broken = 1; /* a cancel may still reach it: the pool closes it */
    cancel_drop(op);
    op->conn->op = NULL;
    op->conn = NULL;
    op->state = S_DONE;
    tutil_error_set(err, TIDE_E_MISUSE, "the connection was released while a query was in flight on it");
    fail(op, err);
    maybe_free(op);
}

void tpg_loop_unlisten(tide_job *op)
{
    op->listened->listener = NULL;
    op->listened = NULL;
    op->ended = 1;
    op->state = S_DONE;
    maybe_free(op);
}

/* ---- polling --------------------------------------------------------------- */

void tide_loop_set_prepare(tide_loop *l, void (*fn)(void *ud), void *ud)
{
    if (!l)
        return;
    l->prepare = fn;
    l->prepare_ud = ud;
}

void tide_loop_request_prepare(tide_loop *l)
{
    if (l)
        l->prepare_wanted = 1;
}

/* The descriptor a job waits on, and what for. */
static int job_socket(const tide_job *op, int *events)
{
    if (op->state == S_LISTEN) {
        *events = TIDE_WANT_READ;
        return tide_conn_socket(op->listened);
    }
    *events = tide_conn_wants(op->conn);
    return tide_conn_socket(op->conn);
}

static int wants_socket(const tide_job *op)
{
    if (op->state == S_LISTEN) /* only while nothing else reads it */
        return op->listened->state == TPG_IDLE && tide_conn_socket(op->listened) >= 0;
    return (op->state == S_CONNECT || op->state == S_PING || op->state == S_RUN || op->state == S_CLEAN) &&
           op->conn && tide_conn_wants(op->conn) != TIDE_WANT_NOTHING && tide_conn_socket(op->conn) >= 0;
}

int tide_loop_pending(const tide_loop *l)
{
    return l ? l->njobs - l->nlisten + (l->prepare_wanted && l->prepare) : 0;
}

int tide_loop_fds(tide_loop *l, tide_pollfd *fds, int max)
{
    if (!l)
        return 0;
    int n = 0;
    if (n < max)
        fds[n] = (tide_pollfd){.fd = l->wake_fd, .events = TIDE_WANT_READ};
    n++;
    for (tide_job *op = l->head; op; op = op->next) {
        if (!wants_socket(op))
            continue;
        if (n < max) {
            int ev;
            int fd = job_socket(op, &ev);
            fds[n] = (tide_pollfd){.fd = fd, .events = ev};
        }
        n++;
    }
    return n;
}

int tide_loop_timeout(const tide_loop *l)
{
    if (!l)
        return -1;
    if (l->ready_head || (l->prepare_wanted && l->prepare))
        return 0;
    int64_t now = tpg_now_ms(), best = -1;
    if (l->wait_head && wake_ms(l->wait_head) != INT64_MAX)
        best = wake_ms(l->wait_head);
    for (const tide_job *op = l->head; op; op = op->next) {
        int64_t d = 0;
        if (op->state == S_CONNECT && op->conn)
            d = op->conn->deadline_ms;
        if (d && (best < 0 || d < best))
            best = d;
        if (expirable(op) && (best < 0 || op->due_ms < best))
            best = op->due_ms;
    }
    if (best < 0)
        return -1;
    return best <= now ? 0 : (int)(best - now);
}

static int grow(tide_loop *l, int n)
{
    if (n <= l->pcap)
        return 0;
    int cap = l->pcap ? l->pcap : 16;
    while (cap < n)
        cap *= 2;
    struct pollfd *p = tutil_realloc(l->pfds, (size_t)l->pcap * sizeof *p, (size_t)cap * sizeof *p);
    if (!p)
        return -1;
    l->pfds = p;
    tide_job **o = tutil_realloc(l->pops, (size_t)l->pcap * sizeof *o, (size_t)cap * sizeof *o);
    if (!o)
        return -1;
    l->pops = o;
    l->pcap = cap;
    return 0;
}

/* Calls the callbacks that are due, in the order their work ended. */
static int dispatch(tide_loop *l)
{
    int called = 0;
    while (l->ready_head) {
        tide_job *op = l->ready_head;
        l->ready_head = op->ready_next;
        if (!l->ready_head)
            l->ready_tail = NULL;
        op->queued = 0;
        if (!op->ended) {
            op->ended = 1;
            const tide_error *err = op->err ? op->err : l->oom;
            int ok = !op->err && (op->kind != K_QUERY && op->kind != K_CONN_QUERY ? 1 : op->res || op->batch);
            if (op->nstmts) {
                tide_batch *b = op->batch;
                op->batch = NULL;
                if (op->bcb)
                    op->bcb(op->ud, b, ok ? NULL : err);
                else
                    tide_batch_free(b);
            } else if (op->kind == K_TIMER) {
                if (op->tcb)
                    op->tcb(op->ud);
            } else if (op->kind == K_ACQUIRE) {
                tide_conn *c = ok ? op->conn : NULL;
                op->conn = NULL;
                if (op->acb)
                    op->acb(op->ud, c, ok ? NULL : err);
                else if (c)
                    tide_pool_release(c->pool, c);
            } else {
                tide_result *r = ok ? op->res : NULL;
                op->res = NULL;
                if (op->qcb)
                    op->qcb(op->ud, r, ok ? NULL : err);
                else
                    tide_result_free(r);
            }
            called++;
        } else if (op->kind == K_ACQUIRE && op->conn) {
            /* cancelled after it got one */
            op->kind = K_RELEASE;
            start_clean(op);
        }
        maybe_free(op);
    }
    return called;
}

/* The waiting jobs that need a look: those the pool handed something (or
 * told it is closing), then those whose deadline has passed. */
static void look_at_waiting(tide_loop *l)
{
    pthread_mutex_lock(&l->mu);
    tide_job *h = l->handed;
    l->handed = NULL;
    pthread_mutex_unlock(&l->mu);
    while (h) {
        tide_job *op = h;
        h = op->handed_next;
        op->on_handed = 0;
        if (op->state == S_WAIT)
            advance(op);
        maybe_free(op);
    }
    int64_t now = tpg_now_ms();
    while (l->wait_head && wake_ms(l->wait_head) <= now) {
        tide_job *op = l->wait_head; /* leaves the list either way */
        if (op->state == S_TIMER) {
            list_active(op);
            op->state = S_DONE;
            finish(op);
        } else if (expirable(op) && now >= op->due_ms)
            expire(op);
        else
            advance(op);
        maybe_free(op);
    }
}

/* Notifications that came in while their connection ran a query. */
static int drain_listeners(tide_loop *l)
{
    if (!l->nlisten || grow(l, l->nlisten) != 0)
        return 0;
    /* a snapshot, held alive: a callback may cancel any of them */
    int k = 0;
    for (tide_job *op = l->head; op && k < l->pcap; op = op->next) {
        if (op->state == S_LISTEN) {
            op->delivering++;
            l->pops[k++] = op;
        }
    }
    int n = 0;
    for (int i = 0; i < k; i++) {
        tide_job *op = l->pops[i];
        if (op->state == S_LISTEN && !op->ended && op->listened->state == TPG_IDLE)
            n += listen_read(op, 0);
    }
    for (int i = 0; i < k; i++) {
        l->pops[i]->delivering--;
        maybe_free(l->pops[i]);
    }
    return n;
}

static int handed_pending(tide_loop *l)
{
    pthread_mutex_lock(&l->mu);
    int any = l->handed != NULL;
    pthread_mutex_unlock(&l->mu);
    return any;
}

int tide_loop_poll(tide_loop *l, int timeout_ms)
{
    if (!l)
        return TIDE_MISUSE;
    if (l->in_poll)
        return TIDE_MISUSE;
    l->in_poll = 1;
    pthread_mutex_lock(&l->mu);
    l->thread = pthread_self();
    l->has_thread = 1;
    pthread_mutex_unlock(&l->mu);
    /* the precise clock: the coarse one's few ms would overrun a frame */
    int64_t until = timeout_ms >= 0 ? tpg_now_us() + (int64_t)timeout_ms * 1000 : -1;
    int called = 0;
    for (;;) {
        if (l->prepare_wanted && l->prepare) {
            l->prepare_wanted = 0;
            l->prepare(l->prepare_ud);
        }
        look_at_waiting(l);
        called += dispatch(l);
        called += drain_listeners(l);
        /* nothing in flight: return, unless told how long to wait (a tick
         * host sleeps here; only the wake-up descriptor can end it early) */
        if (called > 0 || (!l->njobs && until < 0))
            break;
        int wait = handed_pending(l) ? 0 : tide_loop_timeout(l);
        if (until >= 0) {
            int64_t now_us = tpg_now_us();
            int left = until > now_us ? (int)((until - now_us + 999) / 1000) : 0;
            if (wait < 0 || left < wait)
                wait = left;
        }
        int n = 1;
        for (tide_job *op = l->head; op; op = op->next)
            n += wants_socket(op);
        if (grow(l, n) != 0)
            break;
        l->pfds[0] = (struct pollfd){.fd = l->wake_fd, .events = POLLIN};
        l->pops[0] = NULL;
        n = 1;
        for (tide_job *op = l->head; op; op = op->next) {
            if (!wants_socket(op))
                continue;
            int w;
            int fd = job_socket(op, &w);
            l->pfds[n] = (struct pollfd){.fd = fd,
                                         .events = (short)((w & TIDE_WANT_READ ? POLLIN : 0) |
                                                           (w & TIDE_WANT_WRITE ? POLLOUT : 0))};
            l->pops[n++] = op;
        }
        int r = poll(l->pfds, (nfds_t)n, wait);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && l->pfds[0].revents) {
            uint64_t v;
            ssize_t got = read(l->wake_fd, &v, sizeof v);
            (void)got;
        }
        /* the ready ones, held alive while a listener's callback runs */
        for (int i = 1; i < n && r > 0; i++)
            if (l->pfds[i].revents)
                l->pops[i]->delivering++;
        for (int i = 1; i < n && r > 0; i++) {
            if (!l->pfds[i].revents)
                continue;
            tide_job *op = l->pops[i];
            if (op->state == S_LISTEN && !op->ended)
                called += listen_read(op, 1);
            else if (op->state != S_LISTEN)
                advance(op);
        }
        for (int i = 1; i < n && r > 0; i++) {
            if (l->pfds[i].revents) {
                l->pops[i]->delivering--;
                maybe_free(l->pops[i]);
            }
        }
        /* deadlines of those holding a connection (a few: one per connection) */
        int64_t now = tpg_now_ms();
        for (tide_job *op = l->head, *next; op; op = next) {
            next = op->next;
            if (expirable(op) && now >= op->due_ms)
                expire(op);
            else if (op->state == S_CONNECT && op->conn && op->conn->deadline_ms && now >= op->conn->deadline_ms)
                advance(op);
            else if (op->state == S_CANCELING && !cancel_pending(op))
                advance(op);
            else
                continue;
            maybe_free(op);
        }
        if (until >= 0 && tpg_now_us() >= until) {
            look_at_waiting(l);
            called += dispatch(l);
            break;
        }
    }
    l->in_poll = 0;
    return called;
}

void tide_loop_free(tide_loop *l)
{
    if (!l)
        return;
    l->ready_head = l->ready_tail = NULL;
    pthread_mutex_lock(&l->mu);
    for (tide_job *op = l->handed; op; op = op->handed_next)
        op->on_handed = 0;
    l->handed = NULL;
    pthread_mutex_unlock(&l->mu);
    while (l->head || l->wait_head) {
        tide_job *op = l->wait_head ? l->wait_head : l->head;
        op->ended = 1; /* no callbacks */
        op->queued = 0;
        if (op->state == S_WAIT)
            advance(op); /* gives up its place, or what it was just handed */
        if (op->kind == K_LISTEN && op->listened)
            op->listened->listener = NULL;
        if (op->conn) {
            /* cleanup or a held connection's query cut short: the pool
             * closes a connection with a statement in flight */
            tide_conn *c = op->conn;
            c->op = NULL;
            op->conn = NULL;
            if (cancel_pending(op))
                c->broken = 1; /* a cancel may still reach it */
            if (op->kind == K_CONN_QUERY && !op->owns_conn) {
                /* the holder still has it; it is theirs to release */
            } else if (op->state == S_CONNECT) {
                tide_conn_free(c);
                tpg_pool_connect_dropped(op->pool);
                tpg_pool_slot_failed(op->pool);
            } else {
                tide_pool_release(c->pool, c);
            }
        }
        op->state = S_DONE;
        op->ended = 1;
        op_free(op);
    }
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    pthread_mutex_destroy(&l->mu);
    tide_error_free(l->scratch);
    tide_error_free(l->oom);
    if (l->pfds)
        tutil_free(l->pfds, (size_t)l->pcap * sizeof *l->pfds);
    if (l->pops)
        tutil_free(l->pops, (size_t)l->pcap * sizeof *l->pops);
    tutil_free(l, sizeof *l);
}
