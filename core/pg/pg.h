/* Private to core/pg: the connection and result structs the pool shares. */
#ifndef TIDE_PG_H
#define TIDE_PG_H

#include <libpq-fe.h>
#include "tide/conn.h"
#include "tide/pool.h"
#include "tide/result.h"
#include "tide/loop.h"
#include <pthread.h>
#include "util.h"

struct tide_result {
    PGresult *pg;
    int rows, cols;
    int64_t affected;
    tide_kind kinds[];
};

/* Takes ownership of r (cleared on failure too). */
tide_result *tpg_result_wrap(PGresult *r, tide_error *err);
/* Fills err from an error result (or from the connection when r is NULL). */
void tpg_error_from_result(tide_error *err, const PGresult *r, PGconn *pg);

int64_t tpg_now_ms(void);
int64_t tpg_now_us(void);   /* precise, for short intervals */

/* What a statement may leave behind in the session (see session.c). */
enum {
    TPG_FX_SESSION = 1,  /* SET, LISTEN, temp tables, advisory locks...: reset on release */
    TPG_FX_PREPARE = 2   /* the user's own PREPARE: DEALLOCATE ALL on release */
};
unsigned tpg_session_effects(const char *sql, size_t len);

/* A prepared statement in a connection's cache. */
typedef struct tpg_stmt {
    char *sql;
    size_t len;
    uint64_t hash;
    char name[24];
    int nparams;
    Oid *types;
    unsigned effects;
    int ready;                      /* prepared and described on the server */
    int pinned;                     /* held by a running batch: not evicted */
    unsigned mark;                  /* the batch that last looked at it */
    struct tpg_stmt *hnext;         /* hash chain */
    struct tpg_stmt *prev, *next;   /* LRU list, most recent first */
} tpg_stmt;

enum tpg_state {
    TPG_IDLE = 0,
    TPG_CONNECTING,
    TPG_DEALLOC,     /* dropping an evicted statement */
    TPG_PREPARE,
    TPG_DESCRIBE,
    TPG_EXEC,        /* a prepared statement's results */
    TPG_SIMPLE,      /* a simple-protocol query's results, or an unnamed statement's (no_prepare) */
    TPG_LEARN,       /* no_prepare: Parse and Describe of the unnamed statement, in a pipeline */
    TPG_BATCH,       /* a batch's pipeline (batch.c) */
    TPG_DONE
};

struct tide_conn {
    PGconn *pg;
    char **keywords, **values;  /* for PQconnectStartParams, NULL-terminated */
    size_t nparams_alloc;       /* slots in keywords and values */
    char *describe;
    char *password;             /* to scrub from messages; never printed */
    int connect_timeout_ms;
    int stmt_cache_size;
    int query_timeout_ms;
    int no_prepare;             /* behind a transaction pooler: unnamed statements only */

    enum tpg_state state;
    int wants;
    int broken;
    int64_t deadline_ms;        /* connect deadline */

    /* the query in flight */
    tpg_stmt *cur;
    int flags;
    int nparams;
    int retried;                /* re-prepared once after 0A000 */
    tide_value *saved;          /* params kept until the statement is prepared */
    int saved_cap;
    tutil_buf saved_text;
    tutil_buf enc;              /* encoded parameter values */
    const char **pvals;
    int *plens, *pfmts;
    size_t *poffs;
    int pcap;
    PGresult *last;             /* the result to hand out */
    PGresult *errres;           /* the first error result */
    tide_result *result;
    tide_batch *batch;          /* a batch in flight, or done and not yet taken */
    unsigned batch_serial;

    /* the statement cache */
    tpg_stmt **buckets;
    unsigned nbuckets;
    tpg_stmt *lru_head, *lru_tail;
    tpg_stmt *hot;              /* the statement last run, and the text pointer */
    const char *hot_sql;        /* it was run with: a repeat skips the hash */
    int ncached;
    unsigned next_id;
    char **pending_dealloc;     /* names of evicted statements still on the server */
    int npending, pending_cap;

    unsigned effects;           /* TPG_FX_* accumulated since acquire */

    /* owned by the pool */
    tide_pool *pool;
    struct tide_conn *pool_next;
    int checked_out;
    int64_t created_ms, idle_since_ms;
    int64_t released_us;        /* precise time of the last release */
    struct tide_job *op;         /* a loop's operation running on it */
    struct tide_job *listener;   /* a loop's listener on it (tide_loop_listen) */
};

/* Shared by conn.c and batch.c. */
int tpg_fail_broken(tide_conn *c, tide_error *err, const PGresult *r);
void tpg_conn_clear(tide_conn *c);   /* the last query's results, a batch's too */
void tpg_conn_scrub(const tide_conn *c, tide_error *err);
/* What is left to send goes out, what the socket holds comes in: TIDE_OK to
 * read results on, else what to return. */
int tpg_conn_pump(tide_conn *c, tide_error *err);
tpg_stmt *tpg_stmt_get(tide_conn *c, const char *sql, size_t len, tide_error *err);
int tpg_take_types(tpg_stmt *s, const PGresult *described, tide_error *err);
int tpg_push_pending(tide_conn *c, const char *name);
int tpg_grow_params(tide_conn *c, int n, tide_error *err);
int tpg_encode_params(tide_conn *c, const tpg_stmt *s, const tide_value *params, int n, int base, tide_error *err);
void tpg_point_params(tide_conn *c, int n);
/* The deadline of a statement sent with flags: its own
 * (TIDE_QUERY_TIMEOUT), else the connection's; -1 for none. */
int tpg_query_timeout(const tide_conn *c, int flags);
/* Batches (batch.c): a step of the one in flight; freeing one never taken. */
int tpg_batch_step(tide_conn *c, tide_error *err);
void tpg_batch_drop(tide_conn *c);
/* the connection is closed under a running batch: its statements are lost */
void tpg_batch_abandoned(tide_conn *c);

/* Counts one statement sent on a pooled connection (pool.c). */
void tpg_pool_count_statements(tide_pool *p, int n);

/* Someone waiting for a connection: a thread (on cond) or a loop (woken
 * through tpg_loop_wake, then looks with tpg_pool_waited). */
typedef struct tpg_waiter {
    pthread_cond_t cond;
    tide_conn *conn;           /* handed over by release */
    int slot;                  /* or: a slot to open a new connection in */
    struct tpg_waiter *next, *prev;
    int linked;                /* in the pool's queue */
    tide_loop *loop;           /* NULL for a thread */
} tpg_waiter;

/* The pool's side of the loop's acquire (pool.c). take: an idle connection
 * (unvetted) or a slot right away (TIDE_OK), or w queued (TIDE_PENDING).
 * waited: whether w was handed something (a connection comes checked out);
 * give_up unqueues it (a slot handed meanwhile goes back). */
int tpg_pool_take(tide_pool *p, tpg_waiter *w, tide_conn **c, int *slot, tide_error *err);
int tpg_pool_waited(tide_pool *p, tpg_waiter *w, int give_up, tide_conn **c, int *slot);
/* 0: fit to hand out; -1: drop it; 1: needs a ping first (only when !may_ping). */
int tpg_pool_vet(tide_pool *p, tide_conn *c, int may_ping);
void tpg_pool_checkout(tide_pool *p, tide_conn *c);
void tpg_pool_discard(tide_pool *p, tide_conn *c);   /* an unvetted idle one: its slot stays taken */
void tpg_pool_slot_failed(tide_pool *p);
void tpg_pool_opened(tide_pool *p, tide_conn *c);     /* a connection opened in a slot */
tide_conn *tpg_pool_conn_new(tide_pool *p, tide_error *err);
/* Backoff around connection attempts: may_connect says whether one may be
 * made now (else err says why, and the slot must be given back); connected
 * reports how it went (err: the failure). */
int tpg_pool_may_connect(tide_pool *p, tide_error *err);
void tpg_pool_connected(tide_pool *p, const tide_error *failure);
void tpg_pool_connect_dropped(tide_pool *p);   /* an attempt given up: no verdict */
int tpg_pool_query_timeout(const tide_pool *p);
int tpg_pool_acquire_timeout(const tide_pool *p);
int tpg_pool_timeout_error(tide_pool *p, tide_error *err);
/* Tells a loop that its waiter w was handed something (or that the pool is
 * closing), from any thread, under the pool's lock: the loop looks at it on
 * its next pass, and wakes if it is blocked in poll on another thread. */
void tpg_loop_handed(tide_loop *loop, tpg_waiter *w);
/* A held connection given back with a loop's query in flight (pool.c). */
void tpg_loop_detach(struct tide_job *op);
/* ... and a listener on a connection given back: it ends, silently. */
void tpg_loop_unlisten(struct tide_job *op);

/* Blocking helpers for the pool. */
int tpg_conn_reset_session(tide_conn *conn, tide_error *err);
/* The statement that resets what the session's statements may have left
 * (NULL: nothing to reset), and the bookkeeping once it has run. */
const char *tpg_conn_reset_sql(const tide_conn *conn);
void tpg_conn_reset_done(tide_conn *conn);
int tpg_conn_rollback(tide_conn *conn, tide_error *err);
int tpg_conn_ping(tide_conn *conn, int timeout_ms, tide_error *err);
/* An idle connection's socket is readable only if the server said something
 * (usually that it is going away): 0 when it still looks healthy. */
int tpg_conn_check_idle(tide_conn *conn);
void tpg_conn_clear_cache(tide_conn *conn);
/* Hands the notifications libpq has (reading what the socket holds first
 * when consume is set and no statement is in flight) to fn; the number
 * handed, or -1 when the connection is lost. */
int tpg_conn_notifies(tide_conn *conn, int consume, void (*fn)(void *ud, const char *channel, const char *payload,
                                                                int pid), void *ud);
/* Copies n parameters into dst, their strings' bytes into text (reset
 * first), so they outlive the caller's; -1 when out of memory. */
int tpg_params_copy(tide_value *dst, tutil_buf *text, const tide_value *src, int n);
/* Closes the socket of a connection that cannot be trusted any more (a
 * statement that never answered): it stays allocated, broken. */
void tpg_conn_abandon(tide_conn *conn);
int tpg_is_stale_plan(const PGresult *r);

#endif
