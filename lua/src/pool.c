/* "tide.pool": a pool, owned by Lua (tide.connect) or borrowed from a host. */
#include <limits.h>
#include <string.h>
#include "tlua.h"

/* Methods take the pool itself or a db table holding it as _pool, so that
 * db:query is this C function with no Lua wrapper in between (and argument
 * errors point at the caller's line). */
static tlua_pool *check_pool(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_getfield(L, 1, "_pool");
        lua_replace(L, 1);
    }
    /* the metatable is the methods' upvalue: no registry lookup per call */
    tlua_pool *p = lua_touserdata(L, 1);
    if (!p || !lua_getmetatable(L, 1) || !lua_rawequal(L, -1, lua_upvalueindex(1)))
        p = luaL_checkudata(L, 1, TLUA_POOL); /* raises the usual message */
    else
        lua_pop(L, 1);
    if (!p->pool)
        luaL_error(L, "the pool is closed");
    if (p->pending) { /* left over from a call that raised while building rows */
        tide_result_free(p->pending);
        p->pending = NULL;
    }
    return p;
}

tlua_pool *tlua_push_pool(lua_State *L, tide_pool *pool, int owned)
{
    /* created closed, then given its resources: __gc copes with either */
    tlua_pool *p = lua_newuserdatauv(L, sizeof *p, 0);
    memset(p, 0, sizeof *p);
    luaL_setmetatable(L, TLUA_POOL);
    p->err = tide_error_new();
    if (!p->err)
        luaL_error(L, "out of memory");
    p->pool = pool;
    p->owned = owned;
    return p;
}

static int opt_int(lua_State *L, int t, const char *name, int def)
{
    int type = lua_getfield(L, t, name);
    int v = def;
    if (type == LUA_TNUMBER) {
        lua_Integer i = lua_tointeger(L, -1);
        v = i > INT_MAX ? INT_MAX : i < INT_MIN ? INT_MIN : (int)i;
    }
    else if (type != LUA_TNIL)
        luaL_error(L, "option '%s' must be an integer", name);
    lua_pop(L, 1);
    return v;
}

/* core.connect(conninfo, { min_size=, max_size=, ... all in ms, no_prepare= }) */
static int l_connect(lua_State *L)
{
    const char *conninfo = luaL_checkstring(L, 1);
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = conninfo;
    if (lua_istable(L, 2)) {
        o.min_size = opt_int(L, 2, "min_size", o.min_size);
        o.max_size = opt_int(L, 2, "max_size", o.max_size);
        o.acquire_timeout_ms = opt_int(L, 2, "acquire_timeout_ms", o.acquire_timeout_ms);
        o.idle_timeout_ms = opt_int(L, 2, "idle_timeout_ms", o.idle_timeout_ms);
        o.max_lifetime_ms = opt_int(L, 2, "max_lifetime_ms", o.max_lifetime_ms);
        o.ping_idle_ms = opt_int(L, 2, "ping_idle_ms", o.ping_idle_ms);
        o.connect_timeout_ms = opt_int(L, 2, "connect_timeout_ms", o.connect_timeout_ms);
        o.statement_timeout_ms = opt_int(L, 2, "statement_timeout_ms", o.statement_timeout_ms);
        o.query_timeout_ms = opt_int(L, 2, "query_timeout_ms", o.query_timeout_ms);
        o.stmt_cache_size = opt_int(L, 2, "stmt_cache_size", o.stmt_cache_size);
        if (lua_getfield(L, 2, "application_name") == LUA_TSTRING)
            o.application_name = lua_tostring(L, -1);
        lua_getfield(L, 2, "no_prepare");
        o.no_prepare = lua_toboolean(L, -1);
    }
    tlua_pool *p = tlua_push_pool(L, NULL, 1);
    p->pool = tide_pool_new(&o, p->err);
    if (!p->pool)
        return tlua_raise(L, p->err);
    return 1;
}

/* db:timeout(seconds) gives a view of the db whose raw queries have that
 * deadline: its query flags, kept in the view under this key. */
static const char timeout_key = 0;

static int view_flags(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TTABLE)
        return 0;
    int flags = lua_rawgetp(L, 1, &timeout_key) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    return flags;
}

/* core.set_timeout(view, seconds) */
static int l_set_timeout(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushinteger(L, tlua_timeout_flags(L, 2));
    lua_rawsetp(L, 1, &timeout_key);
    return 0;
}

static int run_pooled(lua_State *L, int mode)
{
    int flags = view_flags(L);
    tlua_pool *p = check_pool(L);
    const char *sql = luaL_checkstring(L, 2);
    tlua_params params;
    tlua_params_collect(L, 3, lua_gettop(L), &params);
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_query_async(L, p->pool, NULL, sql, params.n, params.v, flags, tlua_finish_rows, mode);
    tide_result *res = NULL;
    if (tide_pool_query(p->pool, sql, params.n, params.v, flags, &res, p->err) != TIDE_OK)
        return tlua_raise(L, p->err);
    p->pending = res;
    int n = tlua_push_result(L, res, mode);
    p->pending = NULL;
    tide_result_free(res);
    return n;
}

static int l_query(lua_State *L) { return run_pooled(L, TLUA_ROWS); }
static int l_one(lua_State *L) { return run_pooled(L, TLUA_ONE); }
static int l_exec(lua_State *L) { return run_pooled(L, TLUA_EXEC); }

/* w->ctx: the conn's stack index * 2 + whether it is for session work */
static int finish_acquire(lua_State *L, tlua_wait *w)
{
    tlua_wait_failed(L, w);
    int idx = (int)(w->ctx / 2);
    tlua_conn *c = lua_touserdata(L, idx);
    c->conn = w->conn;
    c->pool = w->pool;
    w->conn = NULL;
    if (w->ctx & 1)
        tide_conn_mark_session(c->conn);
    lua_pushvalue(L, idx);
    return 1;
}

static int l_acquire(lua_State *L)
{
    tlua_pool *p = check_pool(L);
    int session = lua_toboolean(L, 2); /* read before anything is pushed */
    tlua_conn *c = lua_newuserdatauv(L, sizeof *c, 1);
    memset(c, 0, sizeof *c);
    luaL_setmetatable(L, TLUA_CONN);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1); /* the conn keeps its pool alive */
    c->err = tide_error_new();
    if (!c->err)
        return luaL_error(L, "out of memory");
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_acquire_async(L, p->pool, finish_acquire, (lua_KContext)lua_gettop(L) * 2 + (session != 0));
    tide_conn *conn;
    if (tide_pool_acquire(p->pool, &conn, p->err) != TIDE_OK)
        return tlua_raise(L, p->err);
    c->conn = conn;
    c->pool = p->pool;
    if (session)
        tide_conn_mark_session(conn); /* for session work: always reset at release */
    return 1;
}

static int l_stats(lua_State *L)
{
    tlua_pool *p = check_pool(L);
    static const struct { const char *name; tide_pool_count which; } counts[] = {
        {"open", TIDE_POOL_OPEN},       {"idle", TIDE_POOL_IDLE},     {"in_use", TIDE_POOL_IN_USE},
        {"waiting", TIDE_POOL_WAITING}, {"opened", TIDE_POOL_OPENED}, {"closed", TIDE_POOL_CLOSED},
        {"connect_failed", TIDE_POOL_CONNECT_FAILED},
    };
    lua_createtable(L, 0, 7);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        lua_pushinteger(L, tide_pool_count_of(p->pool, counts[i].which));
        lua_setfield(L, -2, counts[i].name);
    }
    lua_pushinteger(L, (lua_Integer)tide_pool_statements(p->pool));
    lua_setfield(L, -2, "statements");
    return 1;
}

static int l_close(lua_State *L)
{
    tlua_pool *p = luaL_checkudata(L, 1, TLUA_POOL);
    tide_result_free(p->pending);
    p->pending = NULL;
    if (p->pool && p->owned)
        tide_pool_free(p->pool);
    p->pool = NULL;
    tide_error_free(p->err);
    p->err = NULL;
    return 0;
}

static int l_tostring(lua_State *L)
{
    tlua_pool *p = luaL_checkudata(L, 1, TLUA_POOL);
    lua_pushfstring(L, "tide.pool(%s)", p->pool ? tide_pool_describe(p->pool) : "closed");
    return 1;
}

static int l_describe(lua_State *L)
{
    tlua_pool *p = check_pool(L);
    lua_pushstring(L, tide_pool_describe(p->pool));
    return 1;
}

void tlua_open_pool(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"query", l_query}, {"one", l_one},     {"exec", l_exec},         {"acquire", l_acquire},
        {"stats", l_stats}, {"close", l_close}, {"describe", l_describe}, {NULL, NULL},
    };
    if (luaL_newmetatable(L, TLUA_POOL)) {
        luaL_newlibtable(L, methods);
        lua_pushvalue(L, -2);
        luaL_setfuncs(L, methods, 1);
        lua_pushvalue(L, -1);
        lua_setfield(L, -4, "pool_methods"); /* the module table, for tide.db */
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    } else {
        lua_getfield(L, -1, "__index");
        lua_setfield(L, -3, "pool_methods");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_connect);
    lua_setfield(L, -2, "connect");
    lua_pushcfunction(L, l_set_timeout);
    lua_setfield(L, -2, "set_timeout");
}
