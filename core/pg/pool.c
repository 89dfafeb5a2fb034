/* A thread-safe pool of connections.
 *
 * One mutex guards the lists and counters; network work (connecting, pinging,
 * rolling back, resetting) happens outside it, on a connection that no other
 * thread can see at that moment. Waiters queue in arrival order, and a
 * released connection (or a freed slot) is handed straight to the first of
 * them, so a newcomer cannot overtake someone already waiting. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "pg.h"

#define TPG_RECHECK_US 20

typedef tpg_waiter waiter;

struct tide_pool {
    pthread_mutex_t mu;
    tide_pool_options o;
    char *conninfo, *appname;
    tide_conn_options co;
    char *describe;
    tide_conn *idle;          /* most recently released first */
    int open, nidle, in_use, nwaiting;
    int opened, closed;
    waiter *wait_head, *wait_tail;
    int closing;
    int refs;                 /* 1 for the owner + 1 per checked-out connection */
    int64_t statements;       /* atomic */
    tide_loop *loop;          /* the pool's own loop (tide_pool_loop), made on first use */

    /* backoff after failed connection attempts */
    int failures;             /* in a row */
    int probing;              /* an attempt is under way while failing */
    int connect_failed;       /* ever */
    int64_t retry_at_ms;
    unsigned jitter;
    char last_failure[256];
};

void tpg_pool_count_statements(tide_pool *p, int n)
{
    __atomic_fetch_add(&p->statements, n, __ATOMIC_RELAXED);
}

int64_t tide_pool_statements(const tide_pool *p)
{
    return p ? __atomic_load_n(&p->statements, __ATOMIC_RELAXED) : 0;
}

void tide_pool_options_init(tide_pool_options *o)
{
    memset(o, 0, sizeof *o);
    o->min_size = 1;
    o->max_size = 10;
    o->acquire_timeout_ms = 30000;
    o->idle_timeout_ms = 600000;
    o->max_lifetime_ms = 1800000;
    o->ping_idle_ms = 5000;
    o->connect_timeout_ms = 10000;
    o->stmt_cache_size = 256;
}

static void pool_destroy(tide_pool *p)
{
    pthread_mutex_destroy(&p->mu);
    tutil_strfree(p->conninfo);
    tutil_strfree(p->appname);
    tutil_strfree(p->describe);
    tutil_free(p, sizeof *p);
}

/* Drops one reference; the last one frees the pool. Called unlocked. */
static void pool_unref(tide_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (last)
        pool_destroy(p);
}

static int expired(const tide_pool *p, const tide_conn *c, int64_t now)
{
    return p->o.max_lifetime_ms > 0 && now - c->created_ms >= p->o.max_lifetime_ms;
}

/* Takes idle connections that have outlived their welcome off the list
 * (locked); the caller closes them unlocked. */
static tide_conn *reap_locked(tide_pool *p, int64_t now)
{
    tide_conn *dead = NULL;
    tide_conn **pp = &p->idle;
    while (*pp) {
        tide_conn *c = *pp;
        int idle_too_long = p->o.idle_timeout_ms > 0 && now - c->idle_since_ms >= p->o.idle_timeout_ms &&
                            p->open > p->o.min_size;
        if (idle_too_long || expired(p, c, now) || p->closing) {
            *pp = c->pool_next;
            c->pool_next = dead;
            dead = c;
            p->nidle--;
            p->open--;
            p->closed++;
        } else {
            pp = &c->pool_next;
        }
    }
    return dead;
}

static void close_list(tide_conn *c)
{
    while (c) {
        tide_conn *n = c->pool_next;
        tide_conn_free(c);
        c = n;
    }
}

int tpg_pool_may_connect(tide_pool *p, tide_error *err)
{
    pthread_mutex_lock(&p->mu);
    int64_t now = tpg_now_ms();
    int ok = p->failures == 0 || (!p->probing && now >= p->retry_at_ms);
    if (ok && p->failures > 0)
        p->probing = 1; /* one attempt at a time until one succeeds */
    int64_t wait = p->retry_at_ms - now;
    pthread_mutex_unlock(&p->mu);
    if (!ok)
        tutil_error_setf(err, TIDE_E_CONNECTION_FAILURE,
                         "not connecting to %s for another %d ms after %d failed attempt%s: %s", p->describe,
                         wait > 0 ? (int)wait : 0, p->failures, p->failures == 1 ? "" : "s", p->last_failure);
    return ok;
}

void tpg_pool_connected(tide_pool *p, const tide_error *failure)
{
    pthread_mutex_lock(&p->mu);
    p->probing = 0;
    if (!failure) {
        p->failures = 0;
    } else {
        p->connect_failed++;
        p->failures++;
        /* 50 ms doubling up to 5 s; each between half and all of it */
        int64_t delay = 50LL << (p->failures < 7 ? p->failures - 1 : 7);
        if (delay > 5000)
            delay = 5000;
        p->jitter = p->jitter * 1103515245u + 12345u;
        delay = delay / 2 + (int64_t)((p->jitter >> 8) % (unsigned)(delay / 2 + 1));
        p->retry_at_ms = tpg_now_ms() + delay;
        snprintf(p->last_failure, sizeof p->last_failure, "%s", tide_error_message(failure));
    }
    pthread_mutex_unlock(&p->mu);
}

void tpg_pool_connect_dropped(tide_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->probing = 0;
    pthread_mutex_unlock(&p->mu);
}

int tpg_pool_query_timeout(const tide_pool *p)
{
    return p->co.query_timeout_ms;
}

static tide_conn *new_conn(tide_pool *p, tide_error *err)
{
    if (!tpg_pool_may_connect(p, err))
        return NULL;
    tide_conn *c = tide_conn_new(&p->co, err);
    if (c && tide_conn_connect(c, err) != TIDE_OK) {
        tide_conn_free(c);
        c = NULL;
    }
    tpg_pool_connected(p, c ? NULL : err);
    if (c)
        c->pool = p;
    return c;
}

tide_pool *tide_pool_new(const tide_pool_options *opts, tide_error *err)
{
    tide_pool_options defaults;
    if (!opts) {
        tide_pool_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->max_size < 1 || opts->min_size < 0 || opts->min_size > opts->max_size) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "pool size: need 0 <= min (%d) <= max (%d) and max >= 1",
                         opts->min_size, opts->max_size);
        return NULL;
    }
    tide_pool *p = tutil_calloc(1, sizeof *p);
    if (!p) {
        tutil_error_oom(err);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->refs = 1;
    p->o = *opts;
    p->conninfo = tutil_strdup(opts->conninfo ? opts->conninfo : "");
    p->appname = opts->application_name ? tutil_strdup(opts->application_name) : NULL;
    if (!p->conninfo || (opts->application_name && !p->appname)) {
        pool_destroy(p);
        tutil_error_oom(err);
        return NULL;
    }
    p->o.conninfo = p->conninfo;
    p->o.application_name = p->appname;
    tide_conn_options_init(&p->co);
    p->co.conninfo = p->conninfo;
    p->co.application_name = p->appname;
    p->co.connect_timeout_ms = opts->connect_timeout_ms;
    p->co.statement_timeout_ms = opts->statement_timeout_ms;
    p->co.stmt_cache_size = opts->stmt_cache_size;
    p->co.query_timeout_ms = opts->query_timeout_ms;
    p->jitter = (unsigned)tpg_now_us() ^ (unsigned)(uintptr_t)p;
    p->co.no_prepare = opts->no_prepare;

    /* A throwaway handle validates the conninfo and names the target. */
    tide_conn *probe = tide_conn_new(&p->co, err);
    if (!probe) {
        pool_destroy(p);
        return NULL;
    }
    p->describe = tutil_strdup(tide_conn_describe(probe));
    tide_conn_free(probe);
    if (!p->describe) {
        pool_destroy(p);
        tutil_error_oom(err);
        return NULL;
    }
    for (int i = 0; i < p->o.min_size; i++) {
        tide_conn *c = new_conn(p, err);
        if (!c) {
            close_list(p->idle);
            pool_destroy(p);
            return NULL;
        }
        c->idle_since_ms = tpg_now_ms();
        c->pool_next = p->idle;
        p->idle = c;
        p->nidle++;
        p->open++;
        p->opened++;
    }
    return p;
}

static void wake(waiter *w)
{
    if (w->loop)
        tpg_loop_handed(w->loop, w);
    else
        pthread_cond_signal(&w->cond);
}

void tide_pool_free(tide_pool *p)
{
    if (!p)
        return;
    /* its own loop first: that gives back what the loop's work holds */
    tide_loop_free(p->loop);
    p->loop = NULL;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    tide_conn *dead = reap_locked(p, tpg_now_ms());
    /* wake every waiter: they fail with misuse */
    for (waiter *w = p->wait_head; w; w = w->next)
        wake(w);
    pthread_mutex_unlock(&p->mu);
    close_list(dead);
    pool_unref(p);
}

/* Hands a slot (conn == NULL) or a connection to the first waiter. Locked. */
static int hand_to_waiter(tide_pool *p, tide_conn *c)
{
    waiter *w = p->wait_head;
    if (!w)
        return 0;
    p->wait_head = w->next;
    if (p->wait_head)
        p->wait_head->prev = NULL;
    else
        p->wait_tail = NULL;
    w->next = w->prev = NULL;
    w->linked = 0;
    if (c)
        w->conn = c;
    else
        w->slot = 1;
    wake(w);
    return 1;
}

static void unlink_waiter(tide_pool *p, waiter *w)
{
    if (!w->linked)
        return; /* already handed something and unlinked */
    if (w->prev) w->prev->next = w->next; else p->wait_head = w->next;
    if (w->next) w->next->prev = w->prev; else p->wait_tail = w->prev;
    w->next = w->prev = NULL;
    w->linked = 0;
}

static void abs_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Gives up a slot that was reserved for a connection that never came. Locked. */
static void drop_slot_locked(tide_pool *p)
{
    p->open--;
    if (p->wait_head && p->open < p->o.max_size) {
        p->open++;
        hand_to_waiter(p, NULL);
    }
}

/* Counts a connection out to its user. Locked. */
static void checkout_locked(tide_pool *p, tide_conn *c)
{
    c->checked_out = 1;
    p->in_use++;
    p->refs++;
}

/* What acquire can have without waiting: an idle connection (unvetted) or a
 * slot to open one in, unless someone is already waiting. Reaped connections
 * come back in *dead for the caller to close unlocked. Locked. */
static int take_locked(tide_pool *p, tide_conn **c, int *slot, tide_conn **dead)
{
    *c = NULL;
    *slot = 0;
    *dead = reap_locked(p, tpg_now_ms());
    if (*dead) {
        /* freed slots go to those already waiting first */
        while (p->wait_head && p->open < p->o.max_size) {
            p->open++;
            hand_to_waiter(p, NULL);
        }
    }
    if (p->wait_head)
        return 0;
    if (p->idle) {
        *c = p->idle;
        p->idle = (*c)->pool_next;
        p->nidle--;
        return 1;
    }
    if (p->open < p->o.max_size) {
        p->open++;
        *slot = 1;
        return 1;
    }
    return 0;
}

static void enqueue_locked(tide_pool *p, waiter *w)
{
    w->next = NULL;
    w->prev = p->wait_tail;
    if (p->wait_tail) p->wait_tail->next = w; else p->wait_head = w;
    p->wait_tail = w;
    w->linked = 1;
    p->nwaiting++;
}

static int pool_timeout(tide_pool *p, tide_error *err)
{
    pthread_mutex_lock(&p->mu);
    int max = p->o.max_size, in_use = p->in_use;
    pthread_mutex_unlock(&p->mu);
    tutil_error_setf(err, TIDE_E_POOL_TIMEOUT, "no connection became free within %d ms (pool of %d, %d in use)",
                     p->o.acquire_timeout_ms, max, in_use);
    return TIDE_ERROR;
}

int tide_pool_acquire(tide_pool *p, tide_conn **out, tide_error *err)
{
    if (!p || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "acquire: no pool");
        return TIDE_MISUSE;
    }
    *out = NULL;
    int64_t start = tpg_now_ms();
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->closing) {
            pthread_mutex_unlock(&p->mu);
            tutil_error_set(err, TIDE_E_MISUSE, "acquire: the pool is closed");
            return TIDE_MISUSE;
        }
        tide_conn *c, *dead;
        int slot;
        if (!take_locked(p, &c, &slot, &dead)) {
            if (dead) { /* close them, then look again */
                pthread_mutex_unlock(&p->mu);
                close_list(dead);
                continue;
            }
            waiter w = {.conn = NULL, .slot = 0, .next = NULL, .loop = NULL};
            pthread_cond_init(&w.cond, NULL);
            enqueue_locked(p, &w);
            int timeout = p->o.acquire_timeout_ms;
            int64_t left = timeout - (tpg_now_ms() - start);
            struct timespec ts;
            if (timeout >= 0)
                abs_deadline(&ts, (int)(left > 0 ? left : 0));
            while (!w.conn && !w.slot && !p->closing) {
                int rc = timeout >= 0 ? pthread_cond_timedwait(&w.cond, &p->mu, &ts)
                                      : pthread_cond_wait(&w.cond, &p->mu);
                if (rc == ETIMEDOUT)
                    break;
            }
            p->nwaiting--;
            unlink_waiter(p, &w);
            pthread_cond_destroy(&w.cond);
            c = w.conn;
            slot = w.slot;
            if (!c && !slot) {
                int closing = p->closing;
                pthread_mutex_unlock(&p->mu);
                if (closing) {
                    tutil_error_set(err, TIDE_E_MISUSE, "acquire: the pool was closed while waiting");
                    return TIDE_MISUSE;
                }
                return pool_timeout(p, err);
            }
            if (c) { /* handed over straight from release: already vetted */
                checkout_locked(p, c);
                pthread_mutex_unlock(&p->mu);
                *out = c;
                return TIDE_OK;
            }
        }
        pthread_mutex_unlock(&p->mu);
        close_list(dead);

        if (c) {
            if (tpg_pool_vet(p, c, 1) == 0) {
                pthread_mutex_lock(&p->mu);
                checkout_locked(p, c);
                pthread_mutex_unlock(&p->mu);
                *out = c;
                return TIDE_OK;
            }
            tpg_pool_discard(p, c); /* its slot is now ours to open a fresh connection in */
        }
        tide_conn *fresh = new_conn(p, err);
        if (!fresh) {
            tpg_pool_slot_failed(p);
            return TIDE_ERROR;
        }
        tpg_pool_opened(p, fresh);
        *out = fresh;
        return TIDE_OK;
    }
}

/* ---- for the loop (loop.c): acquire without blocking ---------------------- */

int tpg_pool_take(tide_pool *p, waiter *w, tide_conn **c, int *slot, tide_error *err)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->closing) {
            pthread_mutex_unlock(&p->mu);
            tutil_error_set(err, TIDE_E_MISUSE, "acquire: the pool is closed");
            return TIDE_MISUSE;
        }
        tide_conn *dead;
        int got = take_locked(p, c, slot, &dead);
        if (!got && !dead) {
            w->conn = NULL;
            w->slot = 0;
            w->next = NULL;
            enqueue_locked(p, w);
            p->refs++; /* a waiting loop keeps the pool alive */
        }
        pthread_mutex_unlock(&p->mu);
        close_list(dead);
        if (got)
            return TIDE_OK;
        if (!dead)
            return TIDE_PENDING;
    }
}

int tpg_pool_waited(tide_pool *p, waiter *w, int give_up, tide_conn **c, int *slot)
{
    pthread_mutex_lock(&p->mu);
    *c = w->conn;
    *slot = w->slot;
    int done = *c || *slot || p->closing || give_up;
    if (done) {
        p->nwaiting--;
        unlink_waiter(p, w);
        if (*c)
            checkout_locked(p, *c); /* handed over from release: already vetted */
        else if (*slot && give_up) {
            drop_slot_locked(p);
            *slot = 0;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (done)
        pool_unref(p);
    return done;
}

int tpg_pool_vet(tide_pool *p, tide_conn *c, int may_ping)
{
    int64_t now = tpg_now_ms();
    if (expired(p, c, now))
        return -1;
    /* The check is a system call. A connection given back less than
     * TPG_RECHECK_US ago (a loop of queries) skips it: a kill inside that
     * window is the same race as one just after the check. (HikariCP skips
     * its check for 500 ms; a coarse-clock tick of a few ms was too long:
     * a test killed and re-acquired within one.) */
    if (tpg_now_us() - c->released_us >= TPG_RECHECK_US && tpg_conn_check_idle(c) != 0)
        return -1;
    if (p->o.ping_idle_ms >= 0 && now - c->idle_since_ms >= p->o.ping_idle_ms) {
        if (!may_ping)
            return 1;
        int t = p->o.connect_timeout_ms > 0 ? p->o.connect_timeout_ms : 5000;
        if (tpg_conn_ping(c, t, NULL) != TIDE_OK)
            return -1;
    }
    return 0;
}

void tpg_pool_checkout(tide_pool *p, tide_conn *c)
{
    pthread_mutex_lock(&p->mu);
    checkout_locked(p, c);
    pthread_mutex_unlock(&p->mu);
}

void tpg_pool_discard(tide_pool *p, tide_conn *c)
{
    tide_conn_free(c);
    pthread_mutex_lock(&p->mu);
    p->closed++;
    pthread_mutex_unlock(&p->mu);
}

void tpg_pool_slot_failed(tide_pool *p)
{
    pthread_mutex_lock(&p->mu);
    drop_slot_locked(p);
    pthread_mutex_unlock(&p->mu);
}

void tpg_pool_opened(tide_pool *p, tide_conn *c)
{
    c->pool = p;
    pthread_mutex_lock(&p->mu);
    p->opened++;
    checkout_locked(p, c);
    pthread_mutex_unlock(&p->mu);
}

tide_conn *tpg_pool_conn_new(tide_pool *p, tide_error *err)
{
    return tide_conn_new(&p->co, err);
}

int tpg_pool_acquire_timeout(const tide_pool *p)
{
    return p->o.acquire_timeout_ms;
}

int tpg_pool_timeout_error(tide_pool *p, tide_error *err)
{
    return pool_timeout(p, err);
}

void tide_pool_release(tide_pool *p, tide_conn *c)
{
    if (!p || !c || c->pool != p)
        return;
    if (c->op)
        tpg_loop_detach(c->op); /* a loop's query on it: it fails now */
    if (c->listener)
        tpg_loop_unlisten(c->listener);
    pthread_mutex_lock(&p->mu);
    if (!c->checked_out) {
        pthread_mutex_unlock(&p->mu); /* released twice: nothing to do */
        return;
    }
    c->checked_out = 0;
    p->in_use--;
    int closing = p->closing;
    pthread_mutex_unlock(&p->mu);

    /* Clean it up for the next user, or decide to close it. */
    int keep = !closing && !tide_conn_is_broken(c);
    if (keep && c->state != TPG_IDLE) {
        if (c->state == TPG_DONE) {
            tide_result_free(tide_conn_take_result(c));
        } else {
            keep = 0; /* a statement in flight: closing is the only sure stop */
        }
    }
    if (keep) {
        tide_tx_status tx = tide_conn_tx_status(c);
        if (tx == TIDE_TX_INTRANS || tx == TIDE_TX_INERROR)
            keep = tpg_conn_rollback(c, NULL) == TIDE_OK;
        else if (tx != TIDE_TX_IDLE)
            keep = 0;
    }
    if (keep && c->effects)
        keep = tpg_conn_reset_session(c, NULL) == TIDE_OK;
    int64_t now = tpg_now_ms();
    if (keep && expired(p, c, now))
        keep = 0;

    if (keep)
        c->released_us = tpg_now_us();
    pthread_mutex_lock(&p->mu);
    if (keep && !p->closing) {
        c->idle_since_ms = now;
        /* straight to the first waiter (it counts itself in), else idle */
        if (!hand_to_waiter(p, c)) {
            c->pool_next = p->idle;
            p->idle = c;
            p->nidle++;
        }
        c = NULL;
    } else {
        p->closed++;
        p->open--;
        /* the slot is free: the first waiter may open a new connection */
        if (p->wait_head && p->open < p->o.max_size) {
            p->open++;
            hand_to_waiter(p, NULL);
        }
    }
    pthread_mutex_unlock(&p->mu);
    tide_conn_free(c);
    pool_unref(p);
}

int tide_pool_query(tide_pool *p, const char *sql, int nparams, const tide_value *params, int flags,
                    tide_result **out, tide_error *err)
{
    tide_conn *c;
    int rc = tide_pool_acquire(p, &c, err);
    if (rc != TIDE_OK)
        return rc;
    rc = tide_conn_query(c, sql, nparams, params, flags, out, err);
    tide_pool_release(p, c);
    return rc;
}

int tide_pool_batch(tide_pool *p, int n, const tide_stmt *stmts, int flags, tide_batch **out, tide_error *err)
{
    tide_conn *c;
    if (out)
        *out = NULL;
    int rc = tide_pool_acquire(p, &c, err);
    if (rc != TIDE_OK)
        return rc;
    rc = tide_conn_batch(c, n, stmts, flags, out, err);
    tide_pool_release(p, c);
    return rc;
}

int tide_pool_count_of(tide_pool *p, tide_pool_count which)
{
    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    int n = 0;
    switch (which) {
    case TIDE_POOL_OPEN: n = p->open; break;
    case TIDE_POOL_IDLE: n = p->nidle; break;
    case TIDE_POOL_IN_USE: n = p->in_use; break;
    case TIDE_POOL_WAITING: n = p->nwaiting; break;
    case TIDE_POOL_OPENED: n = p->opened; break;
    case TIDE_POOL_CLOSED: n = p->closed; break;
    case TIDE_POOL_CONNECT_FAILED: n = p->connect_failed; break;
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

const char *tide_pool_describe(const tide_pool *p)
{
    return p && p->describe ? p->describe : "postgresql://";
}

tide_loop *tide_pool_loop(tide_pool *p)
{
    if (!p)
        return NULL;
    /* threads that each push the pool into a lua_State of their own may
     * ask at once: one loop is made, under the lock; once made, it is
     * read without it (every host tick polls through here) */
    tide_loop *l = __atomic_load_n(&p->loop, __ATOMIC_ACQUIRE);
    if (l)
        return l;
    pthread_mutex_lock(&p->mu);
    if (!p->loop)
        __atomic_store_n(&p->loop, tide_loop_new(NULL), __ATOMIC_RELEASE);
    l = p->loop;
    pthread_mutex_unlock(&p->mu);
    return l;
}

int tide_pool_poll(tide_pool *p, int timeout_ms)
{
    tide_loop *l = tide_pool_loop(p);
    return l ? tide_loop_poll(l, timeout_ms) : TIDE_ERROR;
}

int tide_pool_submit(tide_pool *p, const char *sql, int nparams, const tide_value *params, int flags,
                     tide_query_cb cb, void *ud, tide_error *err)
{
    tide_loop *l = tide_pool_loop(p);
    if (!l) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    return tide_loop_query(l, p, sql, nparams, params, flags, cb, ud, NULL, err);
}
