/* A C host that embeds Lua and shares one tide pool between its C code and
 * its Lua scripts.
 *
 *   host DATABASE_URL script.lua
 *
 * The host creates the pool, uses it from C, hands it to Lua as the global
 * `db`, runs the script, then uses the pool from C again. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include "tide.h"
#include "tide/lua.h"

static int count_visits(tide_pool *pool, tide_error *err, long long *out)
{
    tide_result *res;
    if (tide_pool_query(pool, "SELECT count(*) FROM embed_visits", 0, NULL, 0, &res, err) != TIDE_OK)
        return -1;
    int64_t n = 0;
    size_t len;
    const char *s = tide_result_text(res, 0, 0, &len);
    tide_decode_int(s, len, &n, NULL);
    tide_result_free(res);
    *out = (long long)n;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DATABASE_URL script.lua\n", argv[0]);
        return 2;
    }
    tide_error *err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = argv[1];
    o.max_size = 4;
    tide_pool *pool = tide_pool_new(&o, err);
    if (!pool) {
        fprintf(stderr, "host: %s: %s\n", tide_error_code_name(tide_error_code(err)), tide_error_message(err));
        tide_error_free(err);
        return 1;
    }

    /* C uses the pool... */
    tide_value who = {.kind = TIDE_KIND_TEXT, .as.s = {"c-host", 6}};
    int rc = tide_pool_query(pool, "CREATE TABLE IF NOT EXISTS embed_visits (who text NOT NULL)", 0, NULL, 0,
                             NULL, err);
    if (rc == TIDE_OK)
        rc = tide_pool_query(pool, "INSERT INTO embed_visits (who) VALUES ($1)", 1, &who, 0, NULL, err);

    /* ...and so does Lua, through the same pool. */
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    tide_lua_open(L);
    tide_lua_push_db(L, pool);
    lua_setglobal(L, "db");
    if (rc == TIDE_OK && luaL_dofile(L, argv[2]) != LUA_OK) {
        fprintf(stderr, "host: script failed: %s\n", luaL_tolstring(L, -1, NULL));
        rc = -1;
    }
    lua_close(L); /* the pool is the host's: Lua does not free it */

    long long n = 0;
    if (rc == TIDE_OK && count_visits(pool, err, &n) == 0)
        printf("host: %lld visits recorded (C and Lua shared one pool of %d)\n", n,
               tide_pool_count_of(pool, TIDE_POOL_OPEN));
    else if (rc == TIDE_OK)
        rc = -1;
    if (rc != TIDE_OK && tide_error_code(err) != TIDE_E_NONE)
        fprintf(stderr, "host: %s: %s\n", tide_error_code_name(tide_error_code(err)), tide_error_message(err));
    tide_pool_query(pool, "DROP TABLE IF EXISTS embed_visits", 0, NULL, 0, NULL, NULL);
    tide_pool_free(pool);
    tide_error_free(err);
    return rc == TIDE_OK && n == 2 ? 0 : 1;
}
