/* Queries that yield: inside a coroutine that can yield, a query is handed to
 * the lua_State's loop (tide/loop.h) and the coroutine yields tide.pending;
 * the loop's callback, run from tide.poll (or a C host's tide_loop_poll),
 * stores the result and hands the coroutine to the scheduler (tide's Lua
 * side: resume it, or the host's tide.on_ready), and the continuation turns
 * the result into Lua values. Where the caller cannot yield (the main chunk,
 * a __gc, require), queries block as before: that path is untouched.
 *
 * The waiting coroutine is found through a weak table, so one that is
 * abandoned (never resumed, collected) takes its wait object with it, whose
 * __gc cancels the work and gives back any connection it holds. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "tlua.h"

#define TLUA_STATE "tide.state"
#define TLUA_WAIT "tide.wait"
#define TLUA_LISTENER "tide.listener"

static const char state_key = 0;     /* registry: the tlua_state */
static const char waiting_key = 0;   /* registry: { [lightuserdata wait] = coroutine } (weak values) */
static const char scheduler_key = 0; /* registry: function(co) */
static const char pending_key = 0;   /* the value a waiting coroutine yields */
static const char flush_key = 0;     /* registry: function() run by the loop's prepare */

struct tlua_state {
    tide_loop *loop;
    int owned;           /* the loop is ours to free */
    int used;            /* something has waited on it: releases go through it too */
    int off;             /* tide.set_async(false): never yield */
    lua_State *main;
    lua_State *running;  /* the thread inside tide.poll, if any */
    tide_error *err;
};

static int state_gc(lua_State *L)
{
    tlua_state *S = lua_touserdata(L, 1);
    if (S->owned) {
        tide_loop_free(S->loop); /* cancels what is left: no callbacks */
        S->loop = NULL;
    } else if (S->loop) {
        tide_loop_set_prepare(S->loop, NULL, NULL); /* the host's loop outlives us */
    }
    tide_error_free(S->err);
    S->err = NULL;
    return 0;
}

tlua_state *tlua_state_of(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key) == LUA_TUSERDATA) {
        tlua_state *S = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return S;
    }
    lua_pop(L, 1);
    tlua_state *S = lua_newuserdatauv(L, sizeof *S, 0);
    memset(S, 0, sizeof *S);
    if (luaL_newmetatable(L, TLUA_STATE)) {
        lua_pushcfunction(L, state_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    S->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &waiting_key);
    S->err = tide_error_new();
    if (!S->err)
        luaL_error(L, "out of memory");
    return S;
}

void tlua_state_set_loop(lua_State *L, tide_loop *loop, int only_if_unset)
{
    tlua_state *S = tlua_state_of(L);
    if (S->loop && only_if_unset)
        return;
    if (S->owned)
        tide_loop_free(S->loop);
    S->loop = loop;
    S->owned = 0;
}

static tide_loop *loop_of(lua_State *L, tlua_state *S)
{
    if (!S->loop) {
        S->loop = tide_loop_new(S->err);
        if (!S->loop)
            tlua_raise(L, S->err);
        S->owned = 1;
    }
    return S->loop;
}

int tlua_should_yield(lua_State *L)
{
    return lua_isyieldable(L) && !tlua_state_of(L)->off;
}

/* ---- waiting ---------------------------------------------------------------- */

static int wait_gc(lua_State *L)
{
    tlua_wait *w = lua_touserdata(L, 1);
    if (w->job && w->S->loop)
        tide_loop_cancel(w->S->loop, w->job);
    w->job = NULL;
    if (w->conn) {
        tlua_release(w->S, w->pool, w->conn);
        w->conn = NULL;
    }
    tide_result_free(w->res);
    w->res = NULL;
    tide_batch_free(w->batch);
    w->batch = NULL;
    tide_error_free(w->err);
    w->err = NULL;
    return 0;
}

static tlua_wait *push_wait(lua_State *L, tlua_state *S, tlua_finish finish, lua_KContext ctx)
{
    tlua_wait *w = lua_newuserdatauv(L, sizeof *w, 0);
    memset(w, 0, sizeof *w);
    if (luaL_newmetatable(L, TLUA_WAIT)) {
        lua_pushcfunction(L, wait_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    w->S = S;
    w->finish = finish;
    w->ctx = ctx;
    return w;
}

/* Where the loop's callbacks run Lua: in the thread polling from Lua, or
 * the main thread when a C host polls. */
static lua_State *calling_state(tlua_state *S)
{
    return S->running ? S->running : S->main;
}

/* The loop's prepare: runs the Lua flush function (merged lookups). */
static void run_flush(void *ud)
{
    tlua_state *S = ud;
    lua_State *L = calling_state(S);
    if (!lua_checkstack(L, 2))
        return;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &flush_key) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        fprintf(stderr, "tide: flush: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

/* The work is over: find the coroutine and hand it to the scheduler. */
static void wake(tlua_wait *w)
{
    tlua_state *S = w->S;
    w->done = 1;
    w->job = NULL;
    lua_State *L = calling_state(S);
    if (!lua_checkstack(L, 4))
        return;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &waiting_key);
    if (lua_rawgetp(L, -1, w) != LUA_TTHREAD) {
        lua_pop(L, 2); /* abandoned: what it got is freed with it */
        return;
    }
    lua_pushnil(L);
    lua_rawsetp(L, -3, w);
    lua_remove(L, -2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &scheduler_key);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        /* the scheduler reports the coroutine's own errors; this is its own */
        fprintf(stderr, "tide: scheduler: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

static void keep_error(tlua_wait *w, const tide_error *err)
{
    if (!w->err)
        w->err = tide_error_new();
    if (w->err)
        tide_error_copy(w->err, err);
}

static void on_query(void *ud, tide_result *res, const tide_error *err)
{
    tlua_wait *w = ud;
    w->res = res;
    if (!res)
        keep_error(w, err);
    wake(w);
}

static void on_batch(void *ud, tide_batch *b, const tide_error *err)
{
    tlua_wait *w = ud;
    w->batch = b;
    if (!b)
        keep_error(w, err);
    wake(w);
}

static void on_acquire(void *ud, tide_conn *conn, const tide_error *err)
{
    tlua_wait *w = ud;
    w->conn = conn;
    if (!conn)
        keep_error(w, err);
    wake(w);
}

static void on_timer(void *ud)
{
    wake(ud);
}

static int k_wait(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    tlua_wait *w = lua_touserdata(L, (int)ctx);
    lua_settop(L, (int)ctx); /* whatever the resumer passed */
    if (!w->done) {
        /* resumed early (a host's scheduler): wait on */
        lua_rawgetp(L, LUA_REGISTRYINDEX, &pending_key);
        return lua_yieldk(L, 1, ctx, k_wait);
    }
    int n = w->finish(L, w); /* w stays on the stack, alive, meanwhile */
    tide_result_free(w->res);
    w->res = NULL;
    tide_batch_free(w->batch);
    w->batch = NULL;
    return n;
}

int tlua_wait_failed(lua_State *L, tlua_wait *w)
{
    if (w->res || w->conn)
        return 0;
    if (!w->err)
        return luaL_error(L, "out of memory");
    return tlua_raise_statement(L, w->err);
}

int tlua_finish_rows(lua_State *L, tlua_wait *w)
{
    tlua_wait_failed(L, w);
    return tlua_push_result(L, w->res, (int)w->ctx);
}

static int yield_on(lua_State *L, tlua_wait *w, int widx)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &waiting_key);
    lua_pushthread(L);
    lua_rawsetp(L, -2, w);
    lua_pop(L, 1);
    w->S->used = 1;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &pending_key);
    return lua_yieldk(L, 1, (lua_KContext)widx, k_wait);
}

int tlua_query_async(lua_State *L, tide_pool *pool, tide_conn *conn, const char *sql, int nparams,
                     const tide_value *params, int flags, tlua_finish finish, lua_KContext ctx)
{
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tlua_wait *w = push_wait(L, S, finish, ctx);
    int widx = lua_gettop(L);
    int rc = conn ? tide_loop_conn_query(loop, conn, sql, nparams, params, flags, on_query, w, &w->job, S->err)
                  : tide_loop_query(loop, pool, sql, nparams, params, flags, on_query, w, &w->job, S->err);
    if (rc != TIDE_OK)
        return tlua_raise(L, S->err);
    return yield_on(L, w, widx);
}

int tlua_batch_async(lua_State *L, tide_pool *pool, tide_conn *conn, int n, const tide_stmt *stmts, int flags,
                     tlua_finish finish, lua_KContext ctx)
{
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tlua_wait *w = push_wait(L, S, finish, ctx);
    int widx = lua_gettop(L);
    int rc = conn ? tide_loop_conn_batch(loop, conn, n, stmts, flags, on_batch, w, &w->job, S->err)
                  : tide_loop_batch(loop, pool, n, stmts, flags, on_batch, w, &w->job, S->err);
    if (rc != TIDE_OK)
        return tlua_raise(L, S->err);
    return yield_on(L, w, widx);
}

int tlua_batch(lua_State *L, tide_pool *pool, tide_conn *conn, int n, const tide_stmt *stmts, int flags,
               tlua_finish finish, lua_KContext ctx)
{
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_batch_async(L, pool, conn, n, stmts, flags, finish, ctx);
    tlua_state *S = tlua_state_of(L);
    tlua_wait *w = push_wait(L, S, finish, ctx); /* its __gc frees what finish does not take */
    if (pool)
        tide_pool_batch(pool, n, stmts, flags, &w->batch, S->err);
    else
        tide_conn_batch(conn, n, stmts, flags, &w->batch, S->err);
    if (!w->batch)
        keep_error(w, S->err);
    return finish(L, w);
}

int tlua_acquire_async(lua_State *L, tide_pool *pool, tlua_finish finish, lua_KContext ctx)
{
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tlua_wait *w = push_wait(L, S, finish, ctx);
    w->pool = pool;
    int widx = lua_gettop(L);
    if (tide_loop_acquire(loop, pool, on_acquire, w, &w->job, S->err) != TIDE_OK)
        return tlua_raise(L, S->err);
    return yield_on(L, w, widx);
}

static int finish_nothing(lua_State *L, tlua_wait *w)
{
    (void)L;
    (void)w;
    return 0;
}

/* core.sleep(seconds): yields until then inside a coroutine; blocks outside. */
static int l_sleep(lua_State *L)
{
    lua_Number t = luaL_checknumber(L, 1);
    int ms = t <= 0 ? 0 : t * 1000 > 2147483647.0 ? 2147483647 : (int)(t * 1000 + 0.5);
    if (!tlua_should_yield(L)) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
        return 0;
    }
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tlua_wait *w = push_wait(L, S, finish_nothing, 0);
    int widx = lua_gettop(L);
    if (tide_loop_timer(loop, ms, on_timer, w, &w->job, S->err) != TIDE_OK)
        return tlua_raise(L, S->err);
    return yield_on(L, w, widx);
}

void tlua_release(tlua_state *S, tide_pool *pool, tide_conn *conn)
{
    /* through the loop (no blocking rollback) once anything has waited on
     * it, so whoever waits also drives the cleanup */
    if (S && S->loop && S->used)
        tide_loop_release(S->loop, conn);
    else
        tide_pool_release(pool, conn);
}

/* ---- listeners ----------------------------------------------------------------- */

typedef struct tlua_listener {
    tlua_state *S;
    tide_job *job;
    int fn;  /* registry reference: fn(channel, payload, pid); fn(nil) when lost */
} tlua_listener;

static void on_note(void *ud, const char *channel, const char *payload, int pid)
{
    tlua_listener *li = ud;
    lua_State *L = calling_state(li->S);
    if (!lua_checkstack(L, 4))
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, li->fn);
    if (channel) {
        lua_pushstring(L, channel);
        lua_pushstring(L, payload ? payload : "");
        lua_pushinteger(L, pid);
    } else {
        li->job = NULL; /* the loop ends it */
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
    }
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        fprintf(stderr, "tide: listener: %s\n", luaL_tolstring(L, -1, NULL));
        lua_pop(L, 2);
    }
}

static int listener_close(lua_State *L)
{
    tlua_listener *li = luaL_checkudata(L, 1, TLUA_LISTENER);
    if (li->job && li->S->loop)
        tide_loop_cancel(li->S->loop, li->job);
    li->job = NULL;
    if (li->fn != LUA_NOREF)
        luaL_unref(L, LUA_REGISTRYINDEX, li->fn);
    li->fn = LUA_NOREF;
    return 0;
}

/* core.listen(conn, fn): fn(channel, payload, pid) for each notification
 * that arrives on conn (which has run LISTEN), from poll; fn(nil) once if
 * the connection is lost. Returns a listener with :close(). */
static int l_listen(lua_State *L)
{
    tlua_conn *c = luaL_checkudata(L, 1, TLUA_CONN);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!c->pool)
        return luaL_error(L, "the connection was released");
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tlua_listener *li = lua_newuserdatauv(L, sizeof *li, 0);
    li->S = S;
    li->job = NULL;
    li->fn = LUA_NOREF;
    if (luaL_newmetatable(L, TLUA_LISTENER)) {
        lua_pushcfunction(L, listener_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, listener_close);
        lua_setfield(L, -2, "__close");
        lua_newtable(L);
        lua_pushcfunction(L, listener_close);
        lua_setfield(L, -2, "close");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 2);
    li->fn = luaL_ref(L, LUA_REGISTRYINDEX);
    if (tide_loop_listen(loop, c->conn, on_note, li, &li->job, S->err) != TIDE_OK)
        return tlua_raise(L, S->err);
    return 1;
}

/* ---- tide.core functions ------------------------------------------------------ */

/* core.poll(timeout_seconds): runs what is due; waits up to the timeout
 * (nil: until something ends) when nothing is. Returns how many ended. */
static int l_poll(lua_State *L)
{
    tlua_state *S = tlua_state_of(L);
    int ms = -1;
    if (!lua_isnoneornil(L, 1)) {
        lua_Number t = luaL_checknumber(L, 1);
        ms = t <= 0 ? 0 : t * 1000 > 2147483647.0 ? 2147483647 : (int)(t * 1000 + 0.5);
    }
    if (!S->loop) {
        lua_pushinteger(L, 0);
        return 1;
    }
    lua_State *outer = S->running;
    S->running = L;
    int n = tide_loop_poll(S->loop, ms);
    S->running = outer;
    if (n == TIDE_MISUSE)
        return luaL_error(L, "tide.poll: called from inside a callback");
    lua_pushinteger(L, n);
    return 1;
}

static int l_pending(lua_State *L)
{
    tlua_state *S = tlua_state_of(L);
    lua_pushinteger(L, S->loop ? tide_loop_pending(S->loop) : 0);
    return 1;
}

/* core.fds() -> { {fd=, read=, write=}, ... }, timeout_seconds or nil */
static int l_fds(lua_State *L)
{
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tide_pollfd small[32];
    int n = tide_loop_fds(loop, small, 32);
    tide_pollfd *fds = small;
    if (n > 32) {
        fds = lua_newuserdatauv(L, (size_t)n * sizeof *fds, 0);
        n = tide_loop_fds(loop, fds, n);
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, fds[i].fd);
        lua_setfield(L, -2, "fd");
        lua_pushboolean(L, fds[i].events & TIDE_WANT_READ);
        lua_setfield(L, -2, "read");
        lua_pushboolean(L, fds[i].events & TIDE_WANT_WRITE);
        lua_setfield(L, -2, "write");
        lua_rawseti(L, -2, i + 1);
    }
    int t = tide_loop_timeout(loop);
    if (t < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, t / 1000.0);
    return 2;
}

static int set_hook(lua_State *L, const void *key)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    tlua_state_of(L);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
    return 0;
}

/* core.set_scheduler(fn): fn(co) when a coroutine's work is over. */
static int l_set_scheduler(lua_State *L)
{
    return set_hook(L, &scheduler_key);
}

/* core.now(): seconds on the monotonic clock (Lua has only whole seconds
 * of wall time), for loops that keep a rate. */
static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

/* core.set_flush(fn): fn() runs at the start of the next poll after
 * core.request_flush(). */
static int l_set_flush(lua_State *L)
{
    return set_hook(L, &flush_key);
}

static int l_request_flush(lua_State *L)
{
    tlua_state *S = tlua_state_of(L);
    tide_loop *loop = loop_of(L, S);
    tide_loop_set_prepare(loop, run_flush, S);
    tide_loop_request_prepare(loop);
    return 0;
}

/* core.will_yield(): whether a query made here would yield. */
static int l_will_yield(lua_State *L)
{
    lua_pushboolean(L, tlua_should_yield(L));
    return 1;
}

static int l_set_async(lua_State *L)
{
    tlua_state_of(L)->off = !lua_toboolean(L, 1);
    return 0;
}

void tlua_open_async(lua_State *L)
{
    tlua_state_of(L);
    /* a unique value for "waiting on tide": a table, so it prints as one */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &pending_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &pending_key);
    }
    lua_setfield(L, -2, "pending");
    static const luaL_Reg fns[] = {
        {"poll", l_poll},
        {"pending_count", l_pending},
        {"fds", l_fds},
        {"set_scheduler", l_set_scheduler},
        {"set_async", l_set_async},
        {"set_flush", l_set_flush},
        {"request_flush", l_request_flush},
        {"will_yield", l_will_yield},
        {"sleep", l_sleep},
        {"listen", l_listen},
        {"now", l_now},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
