/* tide for C programs that embed Lua 5.4: open tide's Lua modules into a
 * host's lua_State and share a pool between C code and Lua scripts.
 *
 *   lua_State *L = luaL_newstate();
 *   luaL_openlibs(L);
 *   tide_lua_open(L);                  -- require "tide" now works
 *   tide_pool *pool = tide_pool_new(&opts, err);
 *   tide_lua_push_db(L, pool);         -- a Lua `db` over the host's pool
 *   lua_setglobal(L, "db");
 *
 * The pool stays the host's: Lua never frees it. The host must keep it alive
 * until the lua_State is closed (or until no Lua value refers to it). */
#ifndef TIDE_LUA_H
#define TIDE_LUA_H

#include <lua.h>
#include "tide/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new lua_State, as luaL_newstate makes one, on tide's small-object heap:
 * blocks of up to 256 bytes (most rows, their fields and strings) come from
 * per-size free lists instead of malloc. What the tide command runs on; a
 * host may use it for its own states. Close it with tide_lua_close. NULL
 * when out of memory. */
TIDE_API lua_State *tide_lua_newstate(void);

/* Closes L (lua_close) and frees its heap when tide_lua_newstate made it. */
TIDE_API void tide_lua_close(lua_State *L);

/* Registers "tide", "tide.core" and tide's other modules in package.preload
 * (the Lua sources are compiled into the library). Returns 0. */
TIDE_API int tide_lua_open(lua_State *L);

/* The tide.core module itself, for hosts that register modules by hand. */
TIDE_API int luaopen_tide_core(lua_State *L);

/* Pushes a db object (what tide.connect returns) over a pool the host owns.
 * Unless the lua_State already has a loop, it gets the pool's own
 * (tide_pool_loop): Lua coroutines' queries then advance whenever the host
 * calls tide_pool_poll. */
TIDE_API void tide_lua_push_db(lua_State *L, tide_pool *pool);

/* The loop this lua_State's coroutines queue their queries on (tide/loop.h),
 * for a host that polls a loop of its own (one per thread that shares a
 * pool). It must outlive the lua_State. */
TIDE_API void tide_lua_set_loop(lua_State *L, tide_loop *loop);

#ifdef __cplusplus
}
#endif
#endif
