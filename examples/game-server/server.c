/* A game server's skeleton: a fixed 20 Hz tick running Lua gameplay scripts
 * that load and save player state through tide's model client, without the
 * tick ever waiting on the database.
 *
 *   game-server DATABASE_URL game.lua SECONDS [slow]
 *
 * One thread does everything. Each tick it calls the script's tick(frame);
 * the script starts coroutines (tide.spawn) whose queries yield. Between
 * ticks the host waits for the next tick's time inside tide_pool_poll, which
 * advances the queries and resumes the coroutines whose results came in, so
 * the database's answers are picked up as soon as they arrive while the tick
 * keeps its schedule. With "slow", every save takes 200 ms on the server
 * (a trigger calls pg_sleep), far longer than a tick.
 *
 * At the end it prints how late the ticks started (p50, p99, max, in ms)
 * and what the script got done. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tide.h"
#include "tide/lua.h"

#define TICK_NS 50000000L /* 20 Hz */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Calls game.<name>(arg); 0 when it ran without error. */
static int call(lua_State *L, const char *name, lua_Integer arg)
{
    lua_getglobal(L, "game");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    lua_pushinteger(L, arg);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "game.%s: %s\n", name, luaL_tolstring(L, -1, NULL));
        lua_pop(L, 2);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DATABASE_URL game.lua SECONDS [slow]\n", argv[0]);
        return 2;
    }
    int seconds = atoi(argv[3]);
    int slow = argc > 4 && strcmp(argv[4], "slow") == 0;

    tide_error *err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = argv[1];
    o.max_size = 8;
    tide_pool *pool = tide_pool_new(&o, err);
    if (!pool) {
        fprintf(stderr, "server: %s\n", tide_error_message(err));
        return 1;
    }

    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    tide_lua_open(L);
    tide_lua_push_db(L, pool); /* Lua's coroutines queue on the pool's own loop */
    lua_setglobal(L, "db");
    if (luaL_dofile(L, argv[2]) != LUA_OK) {
        fprintf(stderr, "server: %s\n", luaL_tolstring(L, -1, NULL));
        return 1;
    }
    lua_setglobal(L, "game");
    if (call(L, "setup", slow) != 0) /* blocking: the main chunk cannot yield */
        return 1;

    int ticks = seconds * 20;
    int64_t *late = calloc((size_t)ticks, sizeof *late);
    int64_t start = now_ns() + TICK_NS;
    int failed = 0;
    for (int frame = 0; frame < ticks; frame++) {
        int64_t due = start + (int64_t)frame * TICK_NS;
        /* wait for the tick's time, answering the database meanwhile */
        for (;;) {
            int64_t left = due - now_ns();
            if (left < 1000000) { /* under poll's millisecond: sleep it off */
                struct timespec ts = {due / 1000000000L, due % 1000000000L};
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
                    ;
                break;
            }
            tide_pool_poll(pool, (int)(left / 1000000));
        }
        late[frame] = now_ns() - due;
        if (getenv("GAME_TRACE") && late[frame] > 500000) fprintf(stderr, "frame %d late %.3f ms\n", frame, late[frame] / 1e6);
        if (call(L, "tick", frame) != 0)
            failed = 1;
    }
    /* let what is in flight finish (not timed) */
    int64_t until = now_ns() + 5000000000L;
    while (tide_loop_pending(tide_pool_loop(pool)) > 0 && now_ns() < until)
        tide_pool_poll(pool, 100);
    if (call(L, "report", 0) != 0)
        failed = 1;

    qsort(late, (size_t)ticks, sizeof *late, cmp_i64);
    printf("ticks %d late_p50_ms %.3f late_p99_ms %.3f late_max_ms %.3f\n", ticks, late[ticks / 2] / 1e6,
           late[ticks * 99 / 100] / 1e6, late[ticks - 1] / 1e6);
    free(late);
    lua_close(L);
    tide_pool_free(pool);
    tide_error_free(err);
    return failed;
}
