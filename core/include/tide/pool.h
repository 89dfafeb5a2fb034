/* tide_pool: a thread-safe pool of connections to one server as one user.
 *
 * acquire hands out an idle connection (checked first: one whose server went
 * away is dropped, one idle longer than ping_idle_ms is pinged), or opens a
 * new one below max_size, or waits in line (first come, first served) up to
 * acquire_timeout_ms. release takes a connection back: one mid-transaction is
 * rolled back, one mid-statement or broken is closed, and one whose session
 * state may have changed (SET, LISTEN, temporary tables, advisory locks,
 * PREPARE ...) is reset before anyone else gets it. Releasing twice does
 * nothing. Connections past max_lifetime_ms, or idle past idle_timeout_ms
 * above min_size, are closed when they are next seen idle.
 *
 * When a connection attempt fails, the pool backs off: it makes no new
 * attempt for a while (50 ms, doubling up to 5 s, with jitter), and then one
 * at a time until one succeeds. Meanwhile an acquire that would have to
 * connect fails at once with the last attempt's error, so a server that is
 * down sees no storm of connects and callers no pile of waits. */
#ifndef TIDE_POOL_H
#define TIDE_POOL_H

#include "tide/common.h"
#include "tide/error.h"
#include "tide/conn.h"
#include "tide/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_pool tide_pool;

typedef struct tide_pool_options {
    const char *conninfo;      /* a postgresql:// URL or "key=value" string */
    int min_size;              /* opened by tide_pool_new and kept; default 1 */
    int max_size;              /* default 10 */
    int acquire_timeout_ms;    /* default 30000; < 0 waits forever */
    int idle_timeout_ms;       /* default 600000; 0 never */
    int max_lifetime_ms;       /* default 1800000; 0 never */
    int ping_idle_ms;          /* default 5000; 0 always ping, < 0 never */
    int connect_timeout_ms;    /* default 10000 */
    int statement_timeout_ms;  /* default 0: the server's */
    int stmt_cache_size;       /* per connection; default 256 */
    const char *application_name;
    int query_timeout_ms;      /* default 0: none (see tide_conn_options) */
    int no_prepare;            /* behind PgBouncer in transaction mode: see tide_conn_options */
} tide_pool_options;

TIDE_API void tide_pool_options_init(tide_pool_options *opts);

/* Opens min_size connections before returning. NULL on failure. */
TIDE_API tide_pool *tide_pool_new(const tide_pool_options *opts, tide_error *err);
/* Closes the idle connections now and each checked-out one when released. */
TIDE_API void tide_pool_free(tide_pool *pool);

/* Blocking acquire. TIDE_E_POOL_TIMEOUT when none came free in time. */
TIDE_API int tide_pool_acquire(tide_pool *pool, tide_conn **out, tide_error *err);
TIDE_API void tide_pool_release(tide_pool *pool, tide_conn *conn);

/* acquire, tide_conn_query, release. */
TIDE_API int tide_pool_query(tide_pool *pool, const char *sql, int nparams, const tide_value *params,
                             int flags, tide_result **out, tide_error *err);
/* A batch (see tide_conn_batch) on a connection of the pool. */
TIDE_API int tide_pool_batch(tide_pool *pool, int n, const tide_stmt *stmts, int flags, tide_batch **out,
                             tide_error *err);

typedef enum tide_pool_count {
    TIDE_POOL_OPEN = 0,   /* connections open, idle or in use */
    TIDE_POOL_IDLE,
    TIDE_POOL_IN_USE,
    TIDE_POOL_WAITING,    /* callers waiting in acquire */
    TIDE_POOL_OPENED,     /* connections opened since the pool was made */
    TIDE_POOL_CLOSED,     /* connections closed since the pool was made */
    TIDE_POOL_CONNECT_FAILED /* connection attempts that failed */
} tide_pool_count;
TIDE_API int tide_pool_count_of(tide_pool *pool, tide_pool_count which);
/* "postgresql://user@host:port/db", never the password. Valid until free. */
TIDE_API const char *tide_pool_describe(const tide_pool *pool);
/* Statements its connections have sent (each query, prepare, describe and
 * the pool's own rollbacks, resets and pings), for tests and monitoring. */
TIDE_API int64_t tide_pool_statements(const tide_pool *pool);

/* The pool's own loop (tide/loop.h), made on first use and freed with the
 * pool: for a host whose one thread both submits and polls. Threads that
 * share a pool each drive a tide_loop of their own instead. */
TIDE_API struct tide_loop *tide_pool_loop(tide_pool *pool);
/* tide_loop_poll on the pool's own loop. */
TIDE_API int tide_pool_poll(tide_pool *pool, int timeout_ms);
/* tide_loop_query on the pool's own loop: the callback runs from
 * tide_pool_poll. */
TIDE_API int tide_pool_submit(tide_pool *pool, const char *sql, int nparams, const tide_value *params, int flags,
                              tide_query_cb cb, void *ud, tide_error *err);

#ifdef __cplusplus
}
#endif
#endif
