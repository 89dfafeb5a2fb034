/* The SQL-like builder's way into the core:
 *   core.builder_run(target, schema, tree, mode) -> rows | row | count, nested
 *   core.builder_compile(schema, tree) -> sql, values, placeholders, nested
 * tree is the statement's description as tide/builder.lua builds it (its
 * grammar is in tide/sql.h): strings, numbers and booleans are leaves and
 * only what stands under the key "v" is a value. The key walk finds a
 * statement seen before by the tree's own key; a new one becomes a
 * tide_desc that the core compiles (or finds by shape). Values are bound in
 * placeholder order and the query runs on the target exactly as a model
 * query does (a coroutine yields on its wait). */
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

/* Whether the table at idx is walked as structure (or, under "v", is a value). */
static int is_structure(lua_State *L, int idx, int value)
{
    return lua_type(L, idx) == LUA_TTABLE && (!value || is_node(L, idx));
}

/* Each level holds at most 3 stack slots: room is made every 8 levels. */
static void check_depth(lua_State *L, int depth)
{
    if (depth > MAX_DEPTH)
        luaL_error(L, "the query is nested more than %d levels deep", MAX_DEPTH);
    if (depth % 8 == 0)
        luaL_checkstack(L, 8 * 3 + 4, "query nesting");
}

static const char *key_of(lua_State *L, size_t *len)
{
    if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "builder: a %s key in the query's description", luaL_typename(L, -2));
    return lua_tolstring(L, -2, len);
}

/* ---- the key walk ---------------------------------------------------------
 * A query is built anew for each call, so its tree is walked on every call.
 * This walk writes the tree into q->key in lua_next order (structure, names,
 * option texts, each value's kind: all the core's canonical walk reads) and
 * converts the values into q->values in the order it meets them. A key the
 * core knows gives the statement and each parameter's value index at once
 * (tide_compiled_find); only a new key builds a tide_desc (convert), whose
 * walk visits the same tables in the same order. */

static inline void key_grow(lua_State *L, qstate *q, size_t n)
{
    if (n > q->keycap - q->keylen) {
        size_t cap = q->keycap ? q->keycap * 2 : 512;
        while (cap - q->keylen < n)
            cap *= 2;
        void *ud;
        lua_Alloc f = lua_getallocf(L, &ud);
        char *k = f(ud, q->key, q->keycap, cap);
        if (!k)
            luaL_error(L, "out of memory");
        q->key = k;
        q->keycap = cap;
    }
}

static void key_char(lua_State *L, qstate *q, char c)
{
    key_grow(L, q, 1);
    q->key[q->keylen++] = c;
}

/* a name or an option's text, length first: no text imitates the structure */
static void key_text(lua_State *L, qstate *q, const char *s, size_t n)
{
    key_grow(L, q, sizeof n + n);
    memcpy(q->key + q->keylen, &n, sizeof n);
    memcpy(q->key + q->keylen + sizeof n, s, n);
    q->keylen += sizeof n + n;
}

/* The value at idx in a new slot: a list binds as an array, any other table
 * as JSON; keep (a stack index, or 0) receives its Lua value by slot. */
static int value_slot(lua_State *L, qstate *q, int idx, int keep)
{
    int slot = tlua_new_slot(L, q);
    tide_value *v = &q->values[slot];
    int pushed;
    if (lua_type(L, idx) == LUA_TTABLE && tlua_has_metatable(L, idx, TLUA_VALUES) &&
        tlua_push_array_literal(L, idx)) {
        /* a column's array as its literal: no JSON detour */
        v->kind = TIDE_KIND_TEXT;
        v->as.s.ptr = lua_tolstring(L, -1, &v->as.s.len);
        pushed = 1;
    } else if ((pushed = tlua_param(L, idx, v)) < 0) {
        luaL_error(L, "cannot use a %s as a value in a query", luaL_typename(L, idx));
    }
    if (pushed)
        lua_rawseti(L, q->anchor, ++q->nanchored); /* alive until the call returns */
    if (keep) {
        lua_pushvalue(L, idx);
        lua_rawseti(L, keep, slot + 1);
    }
    return slot;
}

static void key_walk(lua_State *L, qstate *q, int idx, int value, int depth, int keep)
{
    idx = lua_absindex(L, idx);
    check_depth(L, depth);
    if (is_structure(L, idx, value)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (n > 0) {
            key_char(L, q, '[');
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                key_walk(L, q, -1, 0, depth + 1, keep);
                lua_pop(L, 1);
            }
            key_char(L, q, ']');
            return;
        }
        key_char(L, q, '{');
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            size_t klen;
            const char *k = key_of(L, &klen);
            key_text(L, q, k, klen);
            key_walk(L, q, -1, klen == 1 && k[0] == 'v', depth + 1, keep);
            lua_pop(L, 1);
        }
        key_char(L, q, '}');
        return;
    }
    if (value) {
        int slot = value_slot(L, q, idx, keep); /* before reading q->values: it may move */
        key_char(L, q, tide_value_shape_kind(&q->values[slot]));
        return;
    }
    /* an option: a name, a kind, an alias, SQL text; its text is the shape */
    tide_value v;
    if (!tlua_scalar(L, idx, &v))
        luaL_error(L, "cannot use a %s as a value in a query", luaL_typename(L, idx));
    key_char(L, q, '\'');
    if (v.kind == TIDE_KIND_TEXT)
        key_text(L, q, v.as.s.ptr, v.as.s.len);
    else if (v.kind == TIDE_KIND_BOOL)
        key_char(L, q, v.as.b ? 't' : 'f');
    else
        key_char(L, q, tide_value_shape_kind(&v));
}

/* ---- the desc walk (a key the core does not know yet) ---------------------
 * The i-th value leaf takes slot i, which the key walk filled; options take
 * slots after the values. */
static tide_node convert(lua_State *L, qstate *q, int idx, int value, int depth)
{
    idx = lua_absindex(L, idx);
    check_depth(L, depth);
    if (is_structure(L, idx, value)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (n > 0) {
            tide_node arr = tide_desc_array(q->desc);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                tide_node child = convert(L, q, -1, 0, depth + 1);
                lua_pop(L, 1);
                tide_desc_push(q->desc, arr, child);
            }
            return arr;
        }
        tide_node obj = tide_desc_object(q->desc);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            size_t klen;
            const char *k = key_of(L, &klen);
            tide_node child = convert(L, q, -1, klen == 1 && k[0] == 'v', depth + 1);
            lua_pop(L, 1);
            tide_desc_set(q->desc, obj, k, klen, child);
        }
        return obj;
    }
    if (value)
        return tide_desc_leaf(q->desc, q->vnext++);
    int slot = tlua_new_slot(L, q);
    tlua_scalar(L, idx, &q->values[slot]); /* the key walk refused anything else */
    return tide_desc_leaf(q->desc, slot);
}

/* The tree at idx, compiled (or found by its key); raises on a refusal.
 * *map: parameter i takes q->values[(*map)[i]]. keep: see value_slot. */
static const tide_compiled *compile(lua_State *L, qstate *q, tide_schema *schema, int idx, int keep,
                                    const int **map)
{
    if (q->pending) {
        tide_result_free(q->pending);
        q->pending = NULL;
    }
    tlua_begin_walk(L, q, 0); /* the builder passes its own keep down */
    q->keylen = 0;
    key_walk(L, q, idx, 0, 0, keep);
    const tide_compiled *comp = tide_compiled_find(schema, q->key, q->keylen, map);
    if (comp)
        return comp;
    int nvalues = q->nvalues;
    q->vnext = 0;
    tide_desc_reset(q->desc);
    tide_node root = convert(L, q, idx, 0, 0);
    if (tide_builder_query(schema, q->desc, root, q->values, q->nvalues, &comp, q->err) != TIDE_OK)
        tlua_raise(L, q->err);
    int np = tide_compiled_nparams(comp);
    int *m = lua_newuserdatauv(L, (size_t)(np ? np : 1) * sizeof *m, 0); /* until the call returns */
    for (int i = 0; i < np; i++) {
        m[i] = tide_compiled_slot(q->desc, i);
        if (m[i] < 0 || m[i] >= nvalues)
            luaL_error(L, "builder: parameter %d is not one of the query's values", i + 1);
    }
    if (tide_compiled_remember(schema, q->key, q->keylen, comp, m, q->err) != TIDE_OK)
        tlua_raise(L, q->err);
    *map = m;
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
    const int *map;
    const tide_compiled *comp = compile(L, q, schema, 3, 0, &map);
    int np = tide_compiled_nparams(comp);
    tlua_grow_values(L, &q->params, &q->pcap, np ? np : 1);
    for (int i = 0; i < np; i++) {
        if (tide_compiled_is_placeholder(comp, i))
            return luaL_error(L, "the query has placeholders (tide.placeholder): prepare() it, then pass their values");
        q->params[i] = q->values[map[i]];
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
        return tlua_raise_statement(L, q->err);
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
    const int *map;
    const tide_compiled *comp = compile(L, q, schema, 2, 3, &map);
    int np = tide_compiled_nparams(comp);
    lua_pushstring(L, tide_compiled_sql(comp));
    lua_createtable(L, np, 0);
    lua_newtable(L);
    int values = lua_gettop(L) - 1, phs = values + 1;
    for (int i = 0; i < np; i++) {
        lua_rawgeti(L, 3, map[i] + 1);
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
