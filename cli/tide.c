/* The tide command: a Lua 5.4 interpreter with tide built in. The commands
 * themselves are in Lua (lua/tide/cli.lua); this only sets the stage. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include "tide/lua.h"

static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    luaL_openlibs(L);
    tide_lua_open(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "tide.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_call(L, 1, 1);
    return 1;
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = tide_lua_newstate(); /* lua/src/alloc.c */
    if (!L) {
        fprintf(stderr, "tide: cannot create a Lua state: out of memory\n");
        return 1;
    }
    lua_pushcfunction(L, traceback);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 1);
    int code = 1;
    if (status != LUA_OK)
        fprintf(stderr, "tide: %s\n", lua_tostring(L, -1));
    else
        code = (int)luaL_optinteger(L, -1, 0);
    tide_lua_close(L);
    return code;
}
