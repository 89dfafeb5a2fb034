/* "tide.conn": one connection checked out of a pool, for transactions.
 * Released by conn:release(), __close or __gc (a connection left
 * mid-transaction is rolled back by the pool). */
#include <string.h>
#include "tlua.h"

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
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_query_async(L, NULL, c->conn, sql, params.n, params.v, 0, tlua_finish_rows, mode);
    tide_result *res = NULL;
    if (tide_conn_query(c->conn, sql, params.n, params.v, 0, &res, c->err) != TIDE_OK)
        return tlua_raise(L, c->err);
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
}
