/* tide_lua_newstate's heap (lua/src/alloc.c): a Lua program that makes,
 * grows, shrinks and frees blocks of every size class and across the
 * small/large boundary, then checks every value it kept; and blocks the
 * collector freed are made again from the free lists, not from malloc
 * (glibc's count of bytes in use stays put). */
#include <lauxlib.h>
#include <lualib.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "tide/lua.h"

static const char *churn =
    "local kept = {}\n"
    "for round = 1, 20 do\n"
    "  local t = {}\n"
    "  for n = 0, 600 do\n"                          /* strings of every length up to past the small limit */
    "    t[#t + 1] = ('%d:'):format(n) .. ('x'):rep(n)\n"
    "  end\n"
    "  local grow = {}\n"                            /* array and hash parts grown through the classes */
    "  for i = 1, 300 do grow[i] = i * round; grow['k' .. i] = -i end\n"
    "  for i = 1, 300 do grow['k' .. i] = nil end\n"  /* and shrunk by the rehash of new keys */
    "  for i = 1, 8 do grow['z' .. i] = i end\n"
    "  collectgarbage()\n"
    "  for i = 1, 300 do assert(grow[i] == i * round, 'array value lost') end\n"
    "  for i = 1, 8 do assert(grow['z' .. i] == i, 'hash value lost') end\n"
    "  for n = 0, 600 do assert(t[n + 1] == ('%d:'):format(n) .. ('x'):rep(n), 'string changed') end\n"
    "  kept[round] = t[round * 30]\n"
    "end\n"
    "collectgarbage()\n"
    "for round = 1, 20 do assert(kept[round] == ('%d:'):format(round * 30 - 1) .. ('x'):rep(round * 30 - 1)) end\n"
    "local b = {}\n"                                 /* luaL_Buffer: a block resized from small to large */
    "for i = 1, 2000 do b[i] = string.char(65 + i % 26) end\n"
    "local s = table.concat(b)\n"
    "assert(#s == 2000 and s:sub(1, 3) == 'BCD' and s:sub(-2) == 'XY', 'buffer contents')\n"
    "return collectgarbage('count')\n";

static const char *again =
    "for round = 1, 20 do local t = {} for i = 1, 2000 do t[i] = { i, tostring(i) } end end\n"
    "collectgarbage(); collectgarbage()\n"
    "return collectgarbage('count')\n";

static int run(lua_State *L, const char *chunk, const char *name, double *kb)
{
    if (luaL_loadbuffer(L, chunk, strlen(chunk), name) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        printf("FAIL %s: %s\n", name, lua_tostring(L, -1));
        return 1;
    }
    *kb = lua_tonumber(L, -1);
    lua_pop(L, 1);
    printf("ok   %s (%.0f KiB in use)\n", name, *kb);
    return 0;
}

int main(void)
{
    lua_State *L = tide_lua_newstate();
    if (!L) {
        printf("FAIL tide_lua_newstate: out of memory\n");
        return 1;
    }
    luaL_openlibs(L);
    int failed = 0;
    double kb;
    failed |= run(L, churn, "churn", &kb);
    failed |= run(L, churn, "churn again", &kb);
    failed |= run(L, again, "small tables", &kb);
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 5; i++)
        failed |= run(L, again, "small tables again", &kb);
    size_t after = mallinfo2().uordblks;
    /* five rounds of 40,000 tables and strings: over 10 MB unless reused */
    if (after > before + 1024 * 1024) {
        printf("FAIL freed blocks are not reused: malloc's bytes in use grew by %zu\n", after - before);
        failed = 1;
    }
    tide_lua_close(L);
    /* a state from luaL_newstate closes the same way */
    L = luaL_newstate();
    tide_lua_close(L);
    printf("%s\n", failed ? "lua_heap: FAILED" : "lua_heap: ok");
    return failed;
}
