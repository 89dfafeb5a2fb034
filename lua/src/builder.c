/* The SQL-like builder's way into the core:
 *   core.builder_run(target, schema, tree, mode) -> rows | row | count, nested
 *   core.builder_compile(schema, tree) -> sql, values, placeholders, nested
 * tree is the statement's description as tide/builder.lua builds it (its
 * grammar is in tide/sql.h): one conversion function turns it into a
 * tide_desc, where strings, numbers and booleans are leaves and only what
 * stands under the key "v" is a value. The core compiles it or finds it by
 * shape; values are bound in placeholder order and the query runs on the
 * target exactly as a model query does (a coroutine yields on its wait). */
#include <string.h>
#include "tlua.h"

#define TLUA_BUILDER_NODE "__tide_node" /* a metatable field marking builder nodes */

enum { MODE_ROWS, MODE_ONE, MODE_EXEC };
/* as deep as the core's canonical walk goes for a builder tree */
#define MAX_DEPTH 200

/* A table under "v" is a value unless it is one of the builder's own nodes
 * (an output column or a field to set may be called "v"). */
static int is_node(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    int marked = lua_getfield(L, -1, TLUA_BUILDER_NODE) == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 2);
    return marked;
}

/* keep: the stack index of a table receiving each value's Lua value by slot
 * (for to_sql and prepare), or 0 */
static tide_node convert(lua_State *L, qstate *q, int idx, int value, int depth, int keep)
{
    idx = lua_absindex(L, idx);
    if (depth > MAX_DEPTH)
        luaL_error(L, "the query is nested more than %d levels deep", MAX_DEPTH);
    luaL_checkstack(L, 6, "query nesting");
    int slot, t = lua_type(L, idx);
    if (t == LUA_TTABLE && (!value || is_node(L, idx))) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (n > 0) {
            tide_node arr = tide_desc_array(q->desc);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                tide_node child = convert(L, q, -1, 0, depth + 1, keep);
                lua_pop(L, 1);
                tide_desc_push(q->desc, arr, child);
            }
            return arr;
        }
        tide_node obj = tide_desc_object(q->desc);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "builder: a %s key in the query's description", luaL_typename(L, -2));
            size_t klen;
            const char *k = lua_tolstring(L, -2, &klen);
            tide_node child = convert(L, q, -1, klen == 1 && k[0] == 'v', depth + 1, keep);
            lua_pop(L, 1);
            tide_desc_set(q->desc, obj, k, klen, child);
        }
        return obj;
    }
    slot = tlua_new_slot(L, q);
    tide_value *v = &q->values[slot];
    switch (t) {
    case LUA_TSTRING:
    case LUA_TNUMBER:
    case LUA_TBOOLEAN:
        tlua_scalar(L, idx, v);
        break;
    case LUA_TTABLE:
        /* a value: a list binds as an array, anything else as JSON */
        if (tlua_has_metatable(L, idx, TLUA_VALUES) && tlua_push_array_literal(L, idx)) {
            v->kind = TIDE_KIND_TEXT;
        } else {
            tlua_json_push(L, idx);
            v->kind = TIDE_KIND_JSON;
        }
        v->as.s.ptr = lua_tolstring(L, -1, &v->as.s.len);
        lua_rawseti(L, q->anchor, ++q->nanchored); /* alive until the call returns */
        break;
    default:
        if (!tlua_is_null(L, idx))
            luaL_error(L, "cannot use a %s as a value in a query", luaL_typename(L, idx));
        v->kind = TIDE_KIND_NULL;
    }
    if (keep && value) {
        lua_pushvalue(L, idx);
        lua_rawseti(L, keep, slot + 1);
    }
    return tide_desc_leaf(q->desc, slot);
}

/* The tree at idx, compiled (or found by shape); raises on a refusal. */
static const tide_compiled *compile(lua_State *L, qstate *q, tide_schema *schema, int idx, int keep)
{
    if (q->pending) {
        tide_result_free(q->pending);
        q->pending = NULL;
    }
    tlua_begin_walk(L, q, 0); /* the builder passes its own keep down */
    tide_node root = convert(L, q, idx, 0, 0, keep);
    const tide_compiled *comp;
    if (tide_builder_query(schema, q->desc, root, q->values, q->nvalues, &comp, q->err) != TIDE_OK)
        tlua_raise(L, q->err);
    return comp;
}

static int push_results(lua_State *L, tide_result *res, int ctx)
{
    int mode = ctx & 15;
    if (mode == MODE_EXEC) {
        int64_t n = tide_result_affected(res);
        lua_pushinteger(L, n < 0 ? 0 : (lua_Integer)n);
        return 1;
    }
    tlua_push_result(L, res, mode == MODE_ONE ? TLUA_ONE : TLUA_ROWS);
    lua_pushboolean(L, ctx >> 4);
    return 2;
}

static int finish_builder(lua_State *L, tlua_wait *w)
{
    tlua_wait_failed(L, w);
    return push_results(L, w->res, (int)w->ctx);
}

/* core.builder_run(target, schema, tree, mode [, timeout in seconds]) */
static int l_builder_run(lua_State *L)
{
    static const char *const modes[] = {"rows", "one", "exec", NULL};
    tide_schema *schema = tlua_check_schema(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int mode = luaL_checkoption(L, 4, "rows", modes);
    int flags = TIDE_QUERY_PREPARE | tlua_timeout_flags(L, 5);
    lua_settop(L, 4);
    qstate *q = tlua_qstate(L);
    const tide_compiled *comp = compile(L, q, schema, 3, 0);
    int np = tide_compiled_nparams(comp);
    tlua_grow_values(L, &q->params, &q->pcap, np ? np : 1);
    for (int i = 0; i < np; i++) {
        if (tide_compiled_is_placeholder(comp, i))
            return luaL_error(L, "the query has placeholders (tide.placeholder): prepare() it, then pass their values");
        q->params[i] = q->values[tide_compiled_slot(q->desc, i)];
    }
    tide_pool *pool;
    tide_conn *conn;
    tlua_target(L, 1, &pool, &conn);
    flags = tlua_deadline(L, 1, flags);
    const char *sql = tide_compiled_sql(comp);
    int ctx = mode | (tide_compiled_nested(comp) << 4);
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_query_async(L, pool, conn, sql, np, q->params, flags, finish_builder, ctx);
    tide_result *res = NULL;
    int rc = pool ? tide_pool_query(pool, sql, np, q->params, flags, &res, q->err)
                  : tide_conn_query(conn, sql, np, q->params, flags, &res, q->err);
    if (rc != TIDE_OK)
        return tlua_raise(L, q->err);
    q->pending = res;
    int n = push_results(L, res, ctx);
    q->pending = NULL;
    tide_result_free(res);
    return n;
}

/* core.builder_compile(schema, tree) -> sql, values, placeholders, nested:
 * values[i] is the Lua value bound to $i; placeholders[i] the name of a
 * named placeholder at $i (values[i] is then nil). */
static int l_builder_compile(lua_State *L)
{
    tide_schema *schema = tlua_check_schema(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_newtable(L); /* 3: values by slot */
    qstate *q = tlua_qstate(L);
    const tide_compiled *comp = compile(L, q, schema, 2, 3);
    int np = tide_compiled_nparams(comp);
    lua_pushstring(L, tide_compiled_sql(comp));
    lua_createtable(L, np, 0);
    lua_newtable(L);
    int values = lua_gettop(L) - 1, phs = values + 1;
    for (int i = 0; i < np; i++) {
        lua_rawgeti(L, 3, tide_compiled_slot(q->desc, i) + 1);
        lua_rawseti(L, tide_compiled_is_placeholder(comp, i) ? phs : values, i + 1);
    }
    lua_pushboolean(L, tide_compiled_nested(comp));
    return 4;
}

void tlua_open_builder(lua_State *L)
{
    lua_pushcfunction(L, l_builder_run);
    lua_setfield(L, -2, "builder_run");
    lua_pushcfunction(L, l_builder_compile);
    lua_setfield(L, -2, "builder_compile");
    lua_pushliteral(L, TLUA_BUILDER_NODE);
    lua_setfield(L, -2, "builder_node_key");
}
