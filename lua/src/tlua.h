/* Private to the Lua binding (lua/src). */
#ifndef TIDE_TLUA_H
#define TIDE_TLUA_H

#include <lauxlib.h>
#include <lua.h>
#include "tide.h"

#define TLUA_POOL "tide.pool"
#define TLUA_CONN "tide.conn"
#define TLUA_ERROR "tide.error"
#define TLUA_NULL "tide.null"
#define TLUA_ARRAY "tide.array"   /* marks a table that encodes as a JSON array */
#define TLUA_VALUES "tide.values" /* a JSON array that is always one value (create_many's columns) */

typedef struct tlua_pool {
    tide_pool *pool;
    int owned;            /* freed by __gc/__close; 0 for a host's pool */
    tide_error *err;
    tide_result *pending; /* a result being turned into Lua values */
} tlua_pool;

typedef struct tlua_conn {
    tide_conn *conn;
    tide_pool *pool;      /* NULL once released */
    tide_error *err;
    tide_result *pending;
    int64_t deadline_ms;  /* its transaction's timeout (monotonic ms), 0: none */
    int timeout_ms;       /* that timeout, for the message */
    int capped;           /* the statement running has the time left as its deadline */
} tlua_conn;

/* Parameters: Lua values at stack indices first..last become tide_values.
 * Strings point into the Lua stack; tables are JSON-encoded into buffers
 * kept alive in a table at stack index `keep`. */
#define TLUA_INLINE_PARAMS 16
typedef struct tlua_params {
    tide_value inline_[TLUA_INLINE_PARAMS];
    tide_value *v;
    int n;
} tlua_params;
void tlua_params_collect(lua_State *L, int first, int last, tlua_params *p);
/* The Lua value at idx as one parameter: 0 for a scalar (pointing into the
 * Lua value); 1 for a table, encoded as JSON whose text is pushed (the
 * caller keeps it alive while v is used); -1 for what cannot be bound. */
int tlua_param(lua_State *L, int idx, tide_value *v);

int tlua_is_null(lua_State *L, int idx);
/* A scalar Lua value (nil or tide.null, boolean, number, string) as a
 * tide_value whose strings point into the Lua stack; 0 for anything else
 * (a table is for the caller to encode). Shared by raw parameters, model
 * queries and the builder. */
static inline int tlua_scalar(lua_State *L, int idx, tide_value *v)
{
    v->type = 0;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        v->kind = TIDE_KIND_NULL;
        return 1;
    case LUA_TBOOLEAN:
        v->kind = TIDE_KIND_BOOL;
        v->as.b = lua_toboolean(L, idx);
        return 1;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            v->kind = TIDE_KIND_INT;
            v->as.i = lua_tointeger(L, idx);
        } else {
            v->kind = TIDE_KIND_FLOAT;
            v->as.f = lua_tonumber(L, idx);
        }
        return 1;
    case LUA_TSTRING:
        v->kind = TIDE_KIND_TEXT;
        v->as.s.ptr = lua_tolstring(L, idx, &v->as.s.len);
        return 1;
    case LUA_TTABLE:
        return 0;
    default:
        if (!tlua_is_null(L, idx))
            return 0;
        v->kind = TIDE_KIND_NULL;
        return 1;
    }
}

/* An optional timeout in seconds at idx (nil or none: no deadline of its
 * own) as query flags (TIDE_QUERY_TIMEOUT); raises for anything else. */
int tlua_timeout_flags(lua_State *L, int idx);

/* How a result becomes Lua values. */
enum { TLUA_ROWS, TLUA_ONE, TLUA_EXEC };
#define TLUA_NO_PARENT 16 /* or'ed into a mode: the include loader's __parent columns stay out */
int tlua_push_result(lua_State *L, tide_result *res, int mode);
void tlua_push_value(lua_State *L, tide_kind kind, const char *s, size_t len);

/* Pushes the JSON text of the Lua value at idx. */
void tlua_json_push(lua_State *L, int idx);

/* Raises err as a structured error object. */
int tlua_raise(lua_State *L, const tide_error *err);
void tlua_push_error(lua_State *L, const tide_error *err);
void tlua_push_null(lua_State *L);

/* Metatables and functions, registered by luaopen_tide_core. */
void tlua_open_pool(lua_State *L);
void tlua_open_conn(lua_State *L);
void tlua_open_values(lua_State *L);
void tlua_open_schema(lua_State *L);
void tlua_open_model(lua_State *L);
tide_schema *tlua_check_schema(lua_State *L, int idx);
/* What a compiled query runs on: a db table's pool, or a tide.conn (a
 * transaction's); raises when it is closed or released. The db's pool is
 * left on the stack. */
void tlua_target(lua_State *L, int idx, tide_pool **pool, tide_conn **conn);
/* flags for a statement on the target at idx: on a connection whose
 * transaction has a timeout, the time left caps the statement's own
 * (TIDE_QUERY_TIMEOUT); with none left it raises transaction_timeout. */
int tlua_deadline(lua_State *L, int idx, int flags);
/* A statement's failure, as tlua_push_error pushes it, with the target at
 * stack index 1: a statement on a transaction's connection that the server
 * cancelled at the transaction's deadline failed because of the
 * transaction's timeout, and says transaction_timeout (detail: the
 * cancel's message). */
void tlua_push_statement_error(lua_State *L, const tide_error *err);
int tlua_raise_statement(lua_State *L, const tide_error *err);
tlua_pool *tlua_push_pool(lua_State *L, tide_pool *pool, int owned);
int tlua_run(lua_State *L, tide_conn *conn, tide_error *err, tide_result **pending, int mode);


/* Queries that yield (async.c). Inside a coroutine that can yield, the work
 * goes to the lua_State's loop and the coroutine yields tide.pending; once
 * resumed with the work done, finish(L, w) raises its error or pushes its
 * results (w->res, w->conn and w->ctx are there for it). */
typedef struct tlua_state tlua_state;
typedef struct tlua_wait tlua_wait;
typedef int (*tlua_finish)(lua_State *L, tlua_wait *w);
struct tlua_wait {
    tlua_state *S;
    tide_job *job;          /* in flight */
    int done;
    tide_result *res;
    tide_batch *batch;      /* a batch's outcome, until finish takes it */
    tide_error *err;
    tide_conn *conn;        /* an acquire's, until finish takes it */
    tide_pool *pool;
    tlua_finish finish;
    lua_KContext ctx;
};
tlua_state *tlua_state_of(lua_State *L);
void tlua_state_set_loop(lua_State *L, tide_loop *loop, int only_if_unset);
int tlua_should_yield(lua_State *L);
int tlua_query_async(lua_State *L, tide_pool *pool, tide_conn *conn, const char *sql, int nparams,
                     const tide_value *params, int flags, tlua_finish finish, lua_KContext ctx);
int tlua_batch_async(lua_State *L, tide_pool *pool, tide_conn *conn, int n, const tide_stmt *stmts, int flags,
                     tlua_finish finish, lua_KContext ctx);
/* A batch, yielding where it can, else blocking: finish gets its outcome
 * (w->batch, or w->err) either way. */
int tlua_batch(lua_State *L, tide_pool *pool, tide_conn *conn, int n, const tide_stmt *stmts, int flags,
               tlua_finish finish, lua_KContext ctx);
void tlua_open_batch(lua_State *L);
/* A batch's outcome held by a userdata whose __gc frees what is left, so a
 * raise while its results become Lua values loses nothing (batch.c).
 * tlua_hold_batch pushes one holding w's batch, or raises w's error. */
typedef struct tlua_held {
    tide_batch *b;
    tide_result *res;   /* being turned into Lua values */
    tide_error *err;
} tlua_held;
tlua_held *tlua_hold_batch(lua_State *L, tlua_wait *w);
int tlua_acquire_async(lua_State *L, tide_pool *pool, tlua_finish finish, lua_KContext ctx);
/* For finish functions: raises the work's error, if it failed. */
int tlua_wait_failed(lua_State *L, tlua_wait *w);
/* finish for rows: w->ctx is the TLUA_ROWS/ONE/EXEC mode. */
int tlua_finish_rows(lua_State *L, tlua_wait *w);
/* Gives a held connection back: through the loop once it has been used. */
void tlua_release(tlua_state *S, tide_pool *pool, tide_conn *conn);
void tlua_open_async(lua_State *L);

/* The query scratch state, one per lua_State (model.c): the description
 * tree, its value array, the parameters in placeholder order. Reused by
 * every model and builder query. */
typedef struct qstate {
    tide_desc *desc;
    tide_value *values;
    int nvalues, cap;
    tide_value *params;
    int pcap;
    tide_error *err;
    tide_result *pending;
    int anchor;     /* stack index of a table keeping JSON texts alive */
    int nanchored;
    int keep;       /* stack index of a table receiving each value's Lua value by slot, or 0 */
    int timeout;    /* the model query's own timeout = seconds, as query flags (0: none) */
    int vnext;      /* builder: the next value slot a desc walk takes (the key walk made them) */
    char *key;      /* builder: the tree's key in its walk's order (tide_compiled_find) */
    size_t keylen, keycap;
} qstate;
qstate *tlua_qstate(lua_State *L);
/* A new description in q, its anchor table pushed (model.c). */
void tlua_begin_walk(lua_State *L, qstate *q, int keep);
tide_value *tlua_grow_values(lua_State *L, tide_value **arr, int *cap, int need);
int tlua_new_slot(lua_State *L, qstate *q);
int tlua_has_metatable(lua_State *L, int idx, const char *name);
/* A list of scalars as a PostgreSQL array literal (pushed); 0 when it holds tables. */
int tlua_push_array_literal(lua_State *L, int idx);
void tlua_open_builder(lua_State *L);

#endif
