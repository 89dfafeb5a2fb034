/* benchclock: a monotonic wall clock for the Lua tool programs (standard Lua
 * has none finer than a second). CPU time comes from os.clock(); user() gives
 * the user-mode part of it, as getrusage counts it.
 *
 *   local clock = require "benchclock"
 *   local t = clock.now()   -- seconds, CLOCK_MONOTONIC, as a float
 *   local u = clock.user()  -- this process's user CPU seconds */
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

static int l_user(lua_State *L)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    lua_pushnumber(L, (lua_Number)ru.ru_utime.tv_sec + (lua_Number)ru.ru_utime.tv_usec * 1e-6);
    return 1;
}

__attribute__((visibility("default"))) int luaopen_benchclock(lua_State *L)
{
    static const luaL_Reg fns[] = {{"now", l_now}, {"user", l_user}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
