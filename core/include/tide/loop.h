/* tide_loop: queries that never block the caller.
 *
 * A loop holds operations in flight — a query on a pool (acquire, run,
 * release), a query on a connection the caller holds, or an acquire — and
 * advances them all whenever tide_loop_poll() is called. Each operation
 * ends with its callback, called from inside tide_loop_poll() on the thread
 * that polls, exactly once, unless it is cancelled first.
 *
 * Driving it:
 *   - a game tick calls tide_loop_poll(loop, 0) once per frame;
 *   - a plain loop calls tide_loop_poll(loop, -1) (waits for the next result);
 *   - an epoll/libuv host asks tide_loop_fds() for the sockets and what to
 *     wait for, and tide_loop_timeout() for the next deadline, waits on them
 *     with everything else it watches, then calls tide_loop_poll(loop, 0).
 *     The set changes as operations start and end: ask again after each poll.
 *
 * A loop belongs to one thread at a time. Several threads share a pool by
 * each driving a loop of their own; a connection released on one thread is
 * handed to a loop waiting on another, which wakes (its wake-up descriptor
 * is among tide_loop_fds()).
 *
 * Nothing here blocks: acquiring waits in the pool's queue (first come,
 * first served, with threads blocked in tide_pool_acquire), new connections
 * are opened and idle ones pinged as steps of the operation, and a
 * connection given back mid-transaction is rolled back by the loop before
 * the pool sees it. */
#ifndef TIDE_LOOP_H
#define TIDE_LOOP_H

#include "tide/common.h"
#include "tide/error.h"
#include "tide/value.h"
#include "tide/result.h"
#include "tide/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_loop tide_loop;
typedef struct tide_job tide_job;
struct tide_pool;

/* A query's end: res on success (the callback owns it: tide_result_free),
 * or NULL and err (valid only during the call). */
typedef void (*tide_query_cb)(void *ud, tide_result *res, const tide_error *err);
/* An acquire's end: conn on success (give it back with tide_loop_release or
 * tide_pool_release), or NULL and err. */
typedef void (*tide_acquire_cb)(void *ud, tide_conn *conn, const tide_error *err);

TIDE_API tide_loop *tide_loop_new(tide_error *err);
/* Cancels every operation (no callbacks), gives back the connections they
 * hold (closing any with a statement in flight), then frees the loop. */
TIDE_API void tide_loop_free(tide_loop *loop);

/* Submits work. sql and params are copied as needed: the caller may free
 * them when the call returns. op (may be NULL) receives a handle valid until
 * the callback has been called or the operation cancelled. A submission that
 * fails at once returns TIDE_ERROR/TIDE_MISUSE and calls no callback. */
TIDE_API int tide_loop_query(tide_loop *loop, struct tide_pool *pool, const char *sql, int nparams,
                             const tide_value *params, int flags, tide_query_cb cb, void *ud, tide_job **op,
                             tide_error *err);
/* On a connection the caller holds (a transaction): one operation at a time. */
TIDE_API int tide_loop_conn_query(tide_loop *loop, tide_conn *conn, const char *sql, int nparams,
                                  const tide_value *params, int flags, tide_query_cb cb, void *ud, tide_job **op,
                                  tide_error *err);
/* A batch's end (see tide_conn_batch): b holds each statement's outcome
 * (the callback owns it: tide_batch_free); err is the first failure, NULL
 * when every statement succeeded. b is NULL when the batch never ran (no
 * connection came, or its time ran out): err says why. */
typedef void (*tide_batch_cb)(void *ud, tide_batch *b, const tide_error *err);
TIDE_API int tide_loop_batch(tide_loop *loop, struct tide_pool *pool, int n, const tide_stmt *stmts, int flags,
                             tide_batch_cb cb, void *ud, tide_job **op, tide_error *err);
TIDE_API int tide_loop_conn_batch(tide_loop *loop, tide_conn *conn, int n, const tide_stmt *stmts, int flags,
                                  tide_batch_cb cb, void *ud, tide_job **op, tide_error *err);
TIDE_API int tide_loop_acquire(tide_loop *loop, struct tide_pool *pool, tide_acquire_cb cb, void *ud,
                               tide_job **op, tide_error *err);
/* Calls cb(ud) from poll once ms milliseconds have passed (a coroutine's
 * sleep, a retry's backoff). */
typedef void (*tide_timer_cb)(void *ud);
TIDE_API int tide_loop_timer(tide_loop *loop, int ms, tide_timer_cb cb, void *ud, tide_job **job, tide_error *err);

/* Notifications (LISTEN/NOTIFY) on a connection the caller holds and has
 * run LISTEN on: each one that arrives is passed to cb(ud, channel, payload,
 * pid) from poll, until the job is cancelled. If the connection is lost,
 * cb is called once with channel NULL and the job ends. The connection may
 * still run queries meanwhile (more LISTENs): notifications that arrive
 * during them are delivered at the next poll. */
typedef void (*tide_notify_cb)(void *ud, const char *channel, const char *payload, int pid);
TIDE_API int tide_loop_listen(tide_loop *loop, tide_conn *conn, tide_notify_cb cb, void *ud, tide_job **job,
                              tide_error *err);

/* Gives a held connection back to its pool without blocking: one left
 * mid-transaction or with session state is cleaned up by the loop first;
 * one with an operation in flight has it cancelled. */
TIDE_API void tide_loop_release(tide_loop *loop, tide_conn *conn);
/* Its callback will not be called. A query already sent runs to its end in
 * the background and its connection goes back to the pool. */
TIDE_API void tide_loop_cancel(tide_loop *loop, tide_job *op);

/* Advances everything; calls the callbacks of what finished. Waits up to
 * timeout_ms for at least one callback when none is ready (even when nothing
 * is in flight: a tick host sleeps in it); with timeout_ms < 0 it waits
 * without limit, but returns at once when nothing is in flight. Returns the
 * number of callbacks called, or TIDE_MISUSE when called from inside a
 * callback. */
TIDE_API int tide_loop_poll(tide_loop *loop, int timeout_ms);
/* Operations not yet ended (callbacks not yet called), cleanups included,
 * plus one while a prepare is requested. */
TIDE_API int tide_loop_pending(const tide_loop *loop);

/* A function the next poll calls first, before it looks at anything, once
 * tide_loop_request_prepare has asked for it: the place to submit work
 * gathered since the last poll (lookups merged into one statement). A poll
 * with a prepare requested does not wait first. */
TIDE_API void tide_loop_set_prepare(tide_loop *loop, void (*fn)(void *ud), void *ud);
TIDE_API void tide_loop_request_prepare(tide_loop *loop);

typedef struct tide_pollfd {
    int fd;
    int events;   /* TIDE_WANT_READ | TIDE_WANT_WRITE */
} tide_pollfd;
/* Fills up to max descriptors to wait on; returns how many there are (call
 * again with more room when that exceeds max). */
TIDE_API int tide_loop_fds(tide_loop *loop, tide_pollfd *fds, int max);
/* Milliseconds until the loop must be polled even if no descriptor is
 * ready (a connect or acquire deadline): -1 none, 0 now. */
TIDE_API int tide_loop_timeout(const tide_loop *loop);

#ifdef __cplusplus
}
#endif
#endif
