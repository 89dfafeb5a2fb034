/* luaopen_tide_core and the entry points for C hosts (tide/lua.h). */
#ifdef TIDE_LUA_MODULE
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#endif
#include <string.h>
#include "tide/lua.h"
#include "tlua.h"

#ifdef TIDE_LUA_MODULE
/* Loaded by require, tide/core.so would be unloaded by lua_close, but the
 * pool's loop thread and a timeout's detached cancel thread run its code
 * (and libpq's) and may outlive the state: the module stays mapped until
 * the process ends. (Unloading it also left LeakSanitizer at exit scanning
 * the thread-local storage of libraries no longer there.) */
static void pin_module(void)
{
    Dl_info info;
    if (dladdr((void *)luaopen_tide_core, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}
#endif

int luaopen_tide_core(lua_State *L)
{
#ifdef TIDE_LUA_MODULE
    pin_module();
#endif
    lua_newtable(L);
    tlua_open_values(L);
    tlua_open_pool(L);
    tlua_open_conn(L);
    tlua_open_schema(L);
    tlua_open_model(L);
    tlua_open_builder(L);
    tlua_open_batch(L);
    tlua_open_async(L);
    lua_pushstring(L, tide_version());
    lua_setfield(L, -2, "version");
    return 1;
}

/* wraps a host's pool: tide.core.wrap is not exposed to scripts */
void tide_lua_set_loop(lua_State *L, tide_loop *loop)
{
    tlua_state_set_loop(L, loop, 0);
}

void tide_lua_push_db(lua_State *L, tide_pool *pool)
{
    /* a host with one thread polls the pool's own loop: Lua shares it,
     * unless the host gave this lua_State a loop of its own */
    tlua_state_set_loop(L, tide_pool_loop(pool), 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "tide");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "wrap");
    lua_remove(L, -2);
    tlua_push_pool(L, pool, 0);
    lua_call(L, 1, 1);
}

#ifdef TIDE_LUA_EMBEDDED
struct tlua_embedded { const char *name; const unsigned char *src; size_t len; };
extern const struct tlua_embedded tlua_embedded[];

static int load_embedded(lua_State *L)
{
    const struct tlua_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
    /* named like the file it came from: tide.cli -> tide/cli.lua */
    const char *path = luaL_gsub(L, m->name, ".", "/");
    const char *chunk = strchr(m->name, '.') ? lua_pushfstring(L, "@%s.lua", path)
                                             : lua_pushfstring(L, "@%s/init.lua", path);
    if (luaL_loadbuffer(L, (const char *)m->src, m->len, chunk) != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, 1); /* the module name, as require passes it */
    lua_call(L, 1, 1);
    return 1;
}
#endif

int tide_lua_open(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_tide_core);
    lua_setfield(L, -2, "tide.core");
#ifdef TIDE_LUA_EMBEDDED
    for (const struct tlua_embedded *m = tlua_embedded; m->name; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, m->name);
    }
#endif
    lua_pop(L, 1);
    return 0;
}
