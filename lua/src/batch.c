/* core.batch(target, items, each [, timeout]): several statements in one round trip.
 *
 * items[i] = SQL text, or { sql, values... [, n = count] [, mode = "rows" |
 * "one" | "exec"] } (n defaults to the values the list holds, mode to rows).
 * Returns results, errors: results[i] as db:query/one/exec would give
 * (exec: the count only), errors nil or { [i] = error } (each statement on
 * its own). An atomic batch that fails raises its first error, with
 * `index` saying which statement it was. Inside a coroutine it yields. */
#include <string.h>
#include "tlua.h"

static const char *const modes[] = {"rows", "one", "exec", NULL};
static const int mode_of[] = {TLUA_ROWS, TLUA_ONE, TLUA_EXEC};

/* The statements, with their values converted; ctx keeps each item's mode
 * (in a userdata left at the top of the stack, so it survives a yield). */
typedef struct plan {
    int n, each;
    unsigned char modes[];
} plan;

static void raise_at(lua_State *L, const tide_error *err, int index)
{
    tlua_push_statement_error(L, err);
    lua_pushinteger(L, index);
    lua_setfield(L, -2, "index");
    lua_error(L);
}

typedef tlua_held held;

/* Pushes results, errors from the finished batch h->b. */
static int push_outcome(lua_State *L, held *h, const plan *pl)
{
    tide_batch *b = h->b;
    tide_error *scratch = h->err;
    int failed = tide_batch_failed(b);
    if (failed >= 0 && !pl->each) {
        tide_batch_take(b, failed, scratch);
        raise_at(L, scratch, failed + 1);
    }
    lua_createtable(L, pl->n, 0);
    int results = lua_gettop(L);
    int errors = 0;
    for (int i = 0; i < pl->n; i++) {
        tide_result *res = tide_batch_take(b, i, scratch);
        if (!res) {
            if (!errors) {
                lua_newtable(L);
                errors = lua_gettop(L);
            }
            tlua_push_statement_error(L, scratch);
            lua_rawseti(L, errors, i + 1);
            continue;
        }
        int top = lua_gettop(L);
        h->res = res; /* freed by __gc if building the rows raises */
        tlua_push_result(L, res, mode_of[pl->modes[i]]);
        h->res = NULL;
        tide_result_free(res);
        lua_settop(L, top + 1); /* exec: the count, not the tag */
        lua_rawseti(L, results, i + 1);
    }
    if (!errors)
        lua_pushnil(L);
    return 2;
}

static int held_gc(lua_State *L)
{
    held *h = lua_touserdata(L, 1);
    tide_batch_free(h->b);
    tide_result_free(h->res);
    tide_error_free(h->err);
    h->b = NULL;
    h->res = NULL;
    h->err = NULL;
    return 0;
}

held *tlua_hold_batch(lua_State *L, tlua_wait *w)
{
    held *h = lua_newuserdatauv(L, sizeof *h, 0);
    memset(h, 0, sizeof *h);
    if (luaL_newmetatable(L, "tide.batch_held")) {
        lua_pushcfunction(L, held_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    h->b = w->batch; /* the userdata's from here on */
    w->batch = NULL;
    h->err = tide_error_new();
    if (!h->err)
        luaL_error(L, "out of memory");
    if (!h->b) {
        if (!w->err)
            luaL_error(L, "out of memory");
        tlua_raise(L, w->err);
    }
    return h;
}

static int finish_batch(lua_State *L, tlua_wait *w)
{
    plan *pl = lua_touserdata(L, (int)w->ctx);
    return push_outcome(L, tlua_hold_batch(L, w), pl);
}

/* The item at the top of the stack: its parameter count (0 for SQL text). */
static int item_params(lua_State *L, int i)
{
    int t = lua_gettop(L);
    if (lua_type(L, t) == LUA_TSTRING)
        return 0;
    if (lua_type(L, t) != LUA_TTABLE)
        return luaL_error(L, "batch: statement %d is %s, not SQL text or a table", i, luaL_typename(L, t));
    int np;
    if (lua_getfield(L, t, "n") == LUA_TNIL)
        np = (int)lua_rawlen(L, t) - 1;
    else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 && lua_tointeger(L, -1) <= 65535)
        np = (int)lua_tointeger(L, -1);
    else
        return luaL_error(L, "batch: statement %d: n is the number of its values (a whole number)", i);
    lua_pop(L, 1);
    return np < 0 ? 0 : np;
}

static int item_mode(lua_State *L, int t, int i)
{
    if (lua_type(L, t) == LUA_TSTRING || lua_getfield(L, t, "mode") == LUA_TNIL)
        return 0;
    const char *m = lua_tostring(L, -1);
    for (int k = 0; m && modes[k]; k++)
        if (strcmp(m, modes[k]) == 0)
            return k;
    return luaL_error(L, "batch: statement %d: mode is 'rows', 'one' or 'exec'", i);
}

static int l_batch(lua_State *L)
{
    tide_pool *pool;
    tide_conn *conn;
    int flags = tlua_timeout_flags(L, 4);
    lua_settop(L, 3);
    luaL_checktype(L, 2, LUA_TTABLE);
    int each = lua_toboolean(L, 3);
    tlua_target(L, 1, &pool, &conn);
    lua_settop(L, 3); /* the db's pool stays referenced by the db */
    int n = (int)luaL_len(L, 2);
    if (n < 1)
        return luaL_argerror(L, 2, "a batch needs at least one statement");
    /* 4: the plan; 5: the statements; 6: values; 7: JSON texts kept alive */
    plan *pl = lua_newuserdatauv(L, sizeof *pl + (size_t)n, 0);
    pl->n = n;
    pl->each = each;
    tide_stmt *st = lua_newuserdatauv(L, (size_t)n * sizeof *st, 0);
    int total = 0;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        total += st[i].nparams = item_params(L, i + 1);
        lua_pop(L, 1);
    }
    tide_value *vals = lua_newuserdatauv(L, (size_t)(total ? total : 1) * sizeof *vals, 0);
    lua_newtable(L);
    int keep = lua_gettop(L), nkeep = 0;
    for (int i = 0, base = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        int t = lua_gettop(L);
        int np = st[i].nparams;
        pl->modes[i] = (unsigned char)item_mode(L, t, i + 1);
        const char *sql = lua_type(L, t) == LUA_TSTRING ? lua_tostring(L, t)
                          : lua_rawgeti(L, t, 1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!sql)
            return luaL_error(L, "batch: statement %d has no SQL text", i + 1);
        for (int k = 0; k < np; k++) {
            lua_rawgeti(L, t, k + 2);
            int r = tlua_param(L, -1, &vals[base + k]);
            if (r < 0)
                return luaL_error(L, "batch: statement %d, parameter $%d: cannot bind a %s", i + 1, k + 1,
                                  luaL_typename(L, -1));
            if (r > 0)
                lua_rawseti(L, keep, ++nkeep); /* the JSON text */
            lua_pop(L, 1);
        }
        st[i] = (tide_stmt){sql, np, np ? vals + base : NULL}; /* the text stays in items */
        base += np;
        lua_settop(L, keep);
    }
    flags |= each ? TIDE_BATCH_EACH : 0;
    return tlua_batch(L, pool, conn, n, st, tlua_deadline(L, 1, flags), finish_batch, 4);
}

void tlua_open_batch(lua_State *L)
{
    lua_pushcfunction(L, l_batch);
    lua_setfield(L, -2, "batch");
}
