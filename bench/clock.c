/* benchclock: a monotonic wall clock for the Lua tool programs (standard Lua
 * has none finer than a second). CPU time comes from os.clock().
 *
 *   local clock = require "benchclock"
 *   local t = clock.now()      -- seconds, CLOCK_MONOTONIC, as a float
 *   local kb = clock.maxrss()  -- this process's peak resident set, KB */
#include <lauxlib.h>
#include <lua.h>
#include <sys/resource.h>
#include <time.h>

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

static int l_maxrss(lua_State *L)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    lua_pushinteger(L, (lua_Integer)ru.ru_maxrss);
    return 1;
}

__attribute__((visibility("default"))) int luaopen_benchclock(lua_State *L)
{
    static const luaL_Reg fns[] = {{"now", l_now}, {"maxrss", l_maxrss}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
