/* Threads that each own a lua_State and a tide_loop share one pool: each
 * runs 50 Lua tasks whose queries yield, and drives its own loop from C.
 * With 4 threads over 3 connections, connections released on one thread
 * are handed to loops waiting on the others. */
#include <lauxlib.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "tide.h"
#include "tide/lua.h"

#define THREADS 4
#define TASKS 50

static tide_pool *pool;

static const char *script =
    "local tide = require 'tide'\n"
    "local db, id = ...\n"
    "sum = 0\n"
    "for i = 1, 50 do\n"
    "  tide.spawn(function()\n"
    "    local v = db:one('select $1::int + $2::int as v', id * 1000, i).v\n"
    "    sum = sum + v\n"
    "  end)\n"
    "end\n";

static void *worker(void *arg)
{
    long id = (long)arg;
    long *result = malloc(sizeof *result);
    *result = -1;
    tide_error *err = tide_error_new();
    tide_loop *loop = tide_loop_new(err);
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    tide_lua_open(L);
    tide_lua_set_loop(L, loop); /* this thread's own, before the db */
    if (luaL_loadstring(L, script) != LUA_OK)
        goto out;
    tide_lua_push_db(L, pool);
    lua_pushinteger(L, id);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        fprintf(stderr, "thread %ld: %s\n", id, luaL_tolstring(L, -1, NULL));
        goto out;
    }
    while (tide_loop_pending(loop) > 0)
        if (tide_loop_poll(loop, 1000) < 0)
            goto out;
    lua_getglobal(L, "sum");
    *result = (long)lua_tointeger(L, -1);
out:
    lua_close(L);
    tide_loop_free(loop);
    tide_error_free(err);
    return result;
}

int main(void)
{
    const char *url = getenv("TIDE_TEST_URL");
    if (!url) {
        fprintf(stderr, "TIDE_TEST_URL is not set\n");
        return 1;
    }
    tide_error *err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = url;
    o.max_size = 3;
    pool = tide_pool_new(&o, err);
    if (!pool) {
        fprintf(stderr, "pool: %s\n", tide_error_message(err));
        return 1;
    }
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(i + 1));
    int failed = 0;
    for (long i = 0; i < THREADS; i++) {
        long *r;
        pthread_join(th[i], (void **)&r);
        long want = (i + 1) * 1000 * TASKS + TASKS * (TASKS + 1) / 2;
        printf("thread %ld: sum %ld (want %ld)\n", i + 1, *r, want);
        failed |= *r != want;
        free(r);
    }
    int in_use = tide_pool_count_of(pool, TIDE_POOL_IN_USE);
    printf("in use after: %d, opened: %d\n", in_use, tide_pool_count_of(pool, TIDE_POOL_OPENED));
    failed |= in_use != 0 || tide_pool_count_of(pool, TIDE_POOL_OPENED) > 3;
    tide_pool_free(pool);
    tide_error_free(err);
    printf(failed ? "FAILED\n" : "ok\n");
    return failed;
}
