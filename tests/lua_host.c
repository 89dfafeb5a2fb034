/* A minimal C host for the conformance script: it owns a pool, opens tide
 * into its own lua_State, hands the pool to Lua as `db`, runs a script. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include "tide.h"
#include "tide/lua.h"

int main(int argc, char **argv)
{
    const char *url = getenv("TIDE_TEST_URL");
    if (argc < 2 || !url) {
        fprintf(stderr, "usage: TIDE_TEST_URL=... %s script.lua\n", argv[0]);
        return 2;
    }
    tide_error *err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = url;
    tide_pool *pool = tide_pool_new(&o, err);
    if (!pool) {
        fprintf(stderr, "lua_host: %s\n", tide_error_message(err));
        return 1;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    tide_lua_open(L);
    tide_lua_push_db(L, pool);
    lua_setglobal(L, "db");
    int rc = 0;
    if (luaL_loadfile(L, argv[1]) != LUA_OK) {
        rc = 1;
    } else {
        lua_pushstring(L, "embedded in C");
        rc = lua_pcall(L, 1, 0, 0) != LUA_OK;
    }
    if (rc)
        fprintf(stderr, "lua_host: %s\n", luaL_tolstring(L, -1, NULL));
    lua_close(L);
    tide_pool_free(pool);
    tide_error_free(err);
    return rc;
}
