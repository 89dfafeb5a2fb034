/* tide_conn: one PostgreSQL connection.
 *
 * Every operation is a non-blocking state machine: a _start call begins it,
 * then tide_conn_step() advances it whenever the socket is ready in the way
 * tide_conn_wants() says, until it returns TIDE_OK (done) or TIDE_ERROR.
 * The blocking calls (tide_conn_connect, tide_conn_query) are thin loops over
 * those steps with poll(2).
 *
 * Statements with parameters (or with TIDE_QUERY_PREPARE) are prepared once
 * per connection and kept in a bounded cache keyed by SQL text; the
 * parameters' types are learnt from the server when a statement is prepared,
 * and values are encoded to fit them. Statements without parameters go
 * through the simple protocol, so they may hold several commands.
 *
 * A connection is used by one thread at a time. */
#ifndef TIDE_CONN_H
#define TIDE_CONN_H

#include "tide/common.h"
#include "tide/error.h"
#include "tide/value.h"
#include "tide/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_conn tide_conn;

typedef struct tide_conn_options {
    const char *conninfo;      /* a postgresql:// URL or "key=value" string */
    int connect_timeout_ms;    /* 0: libpq's default (wait forever) */
    int statement_timeout_ms;  /* 0: the server's default */
    int stmt_cache_size;       /* prepared statements kept (at least 1: the one in flight) */
    const char *application_name; /* NULL: "tide" */
    int query_timeout_ms;      /* 0: none. A query with no answer by then is
                                  cancelled; one still silent after as long
                                  again (a stopped server) is given up and the
                                  connection closed. A loop closes at once. */
    /* 1: the server is reached through a transaction-pooling proxy
     * (PgBouncer in transaction mode), where consecutive round trips may
     * land on different server connections. No named prepared statements:
     * each statement is one round trip (Parse, Bind, Execute of the unnamed
     * statement); a statement's parameter types are learnt once per
     * connection with a Parse and Describe of the unnamed statement in a
     * round trip of their own, and kept by SQL text. No startup options
     * either (PgBouncer refuses them): the server's DateStyle must be ISO
     * and IntervalStyle iso_8601 (set them on the database or role), and
     * statement_timeout_ms must be 0. */
    int no_prepare;
} tide_conn_options;

TIDE_API void tide_conn_options_init(tide_conn_options *opts);

/* A new, unconnected connection. The options are copied. NULL on failure
 * (err says why: an unparsable conninfo is reported without echoing it). */
TIDE_API tide_conn *tide_conn_new(const tide_conn_options *opts, tide_error *err);
/* Closes the socket (a transaction in progress is rolled back by the server). */
TIDE_API void tide_conn_free(tide_conn *conn);

/* Non-blocking operations. */
TIDE_API int tide_conn_connect_start(tide_conn *conn, tide_error *err);

enum tide_query_flags {
    TIDE_QUERY_PREPARE = 1  /* prepare and cache even without parameters */
};
/* A deadline of the statement's (or batch's) own, in milliseconds (1 to
 * 8388607), instead of the connection's query_timeout_ms: or it into the
 * flags of any query or batch call. Past it the statement is cancelled on
 * the server (it fails with TIDE_E_QUERY_CANCELED and the connection stays
 * usable); if not even the cancel is answered within as long again, the
 * connection is closed. */
#define TIDE_QUERY_TIMEOUT(ms) ((int)(((unsigned)(ms) & 0x7fffffu) << 8))
#define TIDE_QUERY_TIMEOUT_OF(flags) ((int)(((unsigned)(flags) >> 8) & 0x7fffffu))
TIDE_API int tide_conn_query_start(tide_conn *conn, const char *sql, int nparams,
                                   const tide_value *params, int flags, tide_error *err);
/* Advances the current operation: TIDE_OK when it has finished (take a
 * query's result with tide_conn_take_result), TIDE_PENDING to wait on the
 * socket, TIDE_ERROR when it failed. */
TIDE_API int tide_conn_step(tide_conn *conn, tide_error *err);
/* The socket to wait on (-1 when not connected) and what to wait for. */
TIDE_API int tide_conn_socket(const tide_conn *conn);
TIDE_API int tide_conn_wants(const tide_conn *conn);
/* The finished query's result; the caller owns it. NULL when there is none. */
TIDE_API tide_result *tide_conn_take_result(tide_conn *conn);
/* Batches: several statements sent in one round trip (libpq's pipeline
 * mode), their results read in order.
 *
 * By default a batch is atomic: outside a transaction its statements run in
 * one implicit transaction, so either all of them take effect or none does;
 * inside one, a failure aborts that transaction as any failed statement
 * would. With TIDE_BATCH_EACH every statement ends its own implicit
 * transaction (a Sync after each): one that fails leaves the others be.
 *
 * Every statement is prepared and cached like a query with parameters (so
 * each is one SQL command; the first time a text is seen on a connection,
 * its Parse and Describe go in one round trip before the batch runs). A
 * statement the server cannot prepare, or values that do not fit its
 * parameters, fail the batch before anything runs. */
typedef struct tide_stmt {
    const char *sql;
    int nparams;
    const tide_value *params;
} tide_stmt;
enum tide_batch_flags {
    TIDE_BATCH_EACH = 2     /* each statement its own transaction */
};
typedef struct tide_batch tide_batch;
/* Starts a batch of n statements (n >= 1). The texts and values are copied
 * as needed: the caller may free them when the call returns. Drive it with
 * tide_conn_step/tide_conn_wait; once that returns TIDE_OK (every statement
 * succeeded) or TIDE_ERROR (err: the first failure), take the outcome with
 * tide_conn_take_batch. */
TIDE_API int tide_conn_batch_start(tide_conn *conn, int n, const tide_stmt *stmts, int flags, tide_error *err);
/* The finished batch; the caller owns it (tide_batch_free). NULL when the
 * batch could not even start. */
TIDE_API tide_batch *tide_conn_take_batch(tide_conn *conn);
/* Blocking: starts, waits, takes. *out is set whenever a batch was started,
 * even when it failed (each statement's own outcome is in it). */
TIDE_API int tide_conn_batch(tide_conn *conn, int n, const tide_stmt *stmts, int flags, tide_batch **out,
                             tide_error *err);
TIDE_API int tide_batch_count(const tide_batch *b);
/* The index of the first statement that failed, -1 when none did. */
TIDE_API int tide_batch_failed(const tide_batch *b);
/* Statement i's result, handed to the caller (tide_result_free); NULL with
 * err set when it failed, did not run, or was rolled back with the rest of
 * an atomic batch (TIDE_E_TRANSACTION_ROLLED_BACK), or was taken already. */
TIDE_API tide_result *tide_batch_take(tide_batch *b, int i, tide_error *err);
TIDE_API void tide_batch_free(tide_batch *b);

/* Asks the server to cancel the statement in flight (blocking, short). */
TIDE_API int tide_conn_cancel(tide_conn *conn, tide_error *err);

/* Blocking forms. timeout_ms < 0 waits forever; on timeout the statement is
 * cancelled and TIDE_E_QUERY_CANCELED reported. */
TIDE_API int tide_conn_wait(tide_conn *conn, int timeout_ms, tide_error *err);
TIDE_API int tide_conn_connect(tide_conn *conn, tide_error *err);
TIDE_API int tide_conn_query(tide_conn *conn, const char *sql, int nparams, const tide_value *params,
                             int flags, tide_result **out, tide_error *err);

/* State. */
typedef enum tide_tx_status {
    TIDE_TX_IDLE = 0,   /* not in a transaction */
    TIDE_TX_ACTIVE,     /* a command is in progress */
    TIDE_TX_INTRANS,    /* idle in a transaction */
    TIDE_TX_INERROR,    /* idle in a failed transaction */
    TIDE_TX_UNKNOWN     /* the connection is bad */
} tide_tx_status;
TIDE_API tide_tx_status tide_conn_tx_status(const tide_conn *conn);
TIDE_API int tide_conn_is_broken(const tide_conn *conn);
TIDE_API int tide_conn_backend_pid(const tide_conn *conn);
/* The session may have been changed in ways tide cannot see (a server
 * function that runs SET, say): the pool resets it when it is released. */
TIDE_API void tide_conn_mark_session(tide_conn *conn);
/* Statements in the cache. */
TIDE_API int tide_conn_cached_statements(const tide_conn *conn);
/* "postgresql://user@host:port/db", never the password. Valid until free. */
TIDE_API const char *tide_conn_describe(const tide_conn *conn);

#ifdef __cplusplus
}
#endif
#endif
