/* "tide.conn": one connection checked out of a pool, for transactions.
 * Released by conn:release(), __close or __gc (a connection left
 * mid-transaction is rolled back by the pool). */
#include <string.h>
#include <time.h>
#include "tlua.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static tlua_conn *timed_conn(lua_State *L, int idx)
{
    tlua_conn *c = lua_type(L, idx) == LUA_TUSERDATA ? luaL_testudata(L, idx, TLUA_CONN) : NULL;
    return c && c->deadline_ms ? c : NULL;
}

static void push_timeout_error(lua_State *L, tlua_conn *c, const char *what, const char *detail)
{
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "transaction_timeout");
    lua_setfield(L, -2, "code");
    lua_pushfstring(L, "the transaction ran past its timeout (%d ms): %s", c->timeout_ms, what);
    lua_setfield(L, -2, "message");
    if (detail) {
        lua_pushstring(L, detail);
        lua_setfield(L, -2, "detail");
    }
    luaL_setmetatable(L, TLUA_ERROR);
}

int tlua_deadline(lua_State *L, int idx, int flags)
{
    tlua_conn *c = timed_conn(L, idx);
    if (!c)
        return flags;
    int64_t left = c->deadline_ms - now_ms();
    if (left <= 0) {
        push_timeout_error(L, c, "no statement runs in it any more", NULL);
        return lua_error(L);
    }
    int own = TIDE_QUERY_TIMEOUT_OF(flags);
    c->capped = own == 0 || own > left;
    if (c->capped)
        flags = (flags & ~TIDE_QUERY_TIMEOUT(0x7fffff)) | TIDE_QUERY_TIMEOUT((int)left);
    return flags;
}

void tlua_push_statement_error(lua_State *L, const tide_error *err)
{
    tlua_conn *c = timed_conn(L, 1);
    if (c && c->capped && tide_error_code(err) == TIDE_E_QUERY_CANCELED)
        push_timeout_error(L, c, "the statement was cancelled", tide_error_message(err));
    else
        tlua_push_error(L, err);
}

int tlua_raise_statement(lua_State *L, const tide_error *err)
{
    tlua_push_statement_error(L, err);
    return lua_error(L);
}

/* core.set_deadline(conn, ms or nil): from now, the transaction on conn has
 * ms milliseconds (see tlua_deadline) */
static int l_set_deadline(lua_State *L)
{
    tlua_conn *c = luaL_checkudata(L, 1, TLUA_CONN);
    lua_Integer ms = luaL_optinteger(L, 2, 0);
    c->timeout_ms = ms > 0 && ms <= 0x7fffff ? (int)ms : 0;
    c->deadline_ms = c->timeout_ms ? now_ms() + c->timeout_ms : 0;
    c->capped = 0;
    return 0;
}

static tlua_conn *check_conn(lua_State *L)
{
    tlua_conn *c = luaL_checkudata(L, 1, TLUA_CONN);
    if (!c->pool)
        luaL_error(L, "the connection was released");
    if (c->pending) {
        tide_result_free(c->pending);
        c->pending = NULL;
    }
    return c;
}

static int run(lua_State *L, int mode)
{
    tlua_conn *c = check_conn(L);
    const char *sql = luaL_checkstring(L, 2);
    tlua_params params;
    tlua_params_collect(L, 3, lua_gettop(L), &params);
    int flags = tlua_deadline(L, 1, 0);
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_query_async(L, NULL, c->conn, sql, params.n, params.v, flags, tlua_finish_rows, mode);
    tide_result *res = NULL;
    if (tide_conn_query(c->conn, sql, params.n, params.v, flags, &res, c->err) != TIDE_OK)
        return tlua_raise_statement(L, c->err);
    c->pending = res;
    int n = tlua_push_result(L, res, mode);
    c->pending = NULL;
    tide_result_free(res);
    return n;
}

static int l_query(lua_State *L) { return run(L, TLUA_ROWS); }
static int l_one(lua_State *L) { return run(L, TLUA_ONE); }
static int l_exec(lua_State *L) { return run(L, TLUA_EXEC); }

static int l_release(lua_State *L)
{
    tlua_conn *c = luaL_checkudata(L, 1, TLUA_CONN);
    tide_result_free(c->pending);
    c->pending = NULL;
    if (c->pool)
        tlua_release(tlua_state_of(L), c->pool, c->conn);
    c->pool = NULL;
    c->conn = NULL;
    tide_error_free(c->err);
    c->err = NULL;
    return 0;
}

static int l_tx_status(lua_State *L)
{
    static const char *const names[] = {"idle", "active", "intrans", "inerror", "unknown"};
    tlua_conn *c = check_conn(L);
    lua_pushstring(L, names[tide_conn_tx_status(c->conn)]);
    return 1;
}

static int l_backend_pid(lua_State *L)
{
    tlua_conn *c = check_conn(L);
    lua_pushinteger(L, tide_conn_backend_pid(c->conn));
    return 1;
}

static int l_cached_statements(lua_State *L)
{
    tlua_conn *c = check_conn(L);
    lua_pushinteger(L, tide_conn_cached_statements(c->conn));
    return 1;
}

static int l_is_broken(lua_State *L)
{
    tlua_conn *c = luaL_checkudata(L, 1, TLUA_CONN);
    lua_pushboolean(L, !c->pool || tide_conn_is_broken(c->conn));
    return 1;
}

static int l_tostring(lua_State *L)
{
    tlua_conn *c = luaL_checkudata(L, 1, TLUA_CONN);
    lua_pushfstring(L, "tide.conn(%s)", c->pool ? tide_conn_describe(c->conn) : "released");
    return 1;
}

void tlua_open_conn(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"query", l_query},         {"one", l_one},
        {"exec", l_exec},           {"release", l_release},
        {"tx_status", l_tx_status}, {"backend_pid", l_backend_pid},
        {"is_broken", l_is_broken}, {"cached_statements", l_cached_statements},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, TLUA_CONN)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_release);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_release);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_set_deadline);
    lua_setfield(L, -2, "set_deadline");
}
