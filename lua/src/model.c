/* core.model_query(target, schema, model, op, args): a model client call.
 * The argument table becomes a description tree and a value array (one
 * function, to_desc), the core compiles it or finds it by shape, and the
 * values are bound in placeholder order. target is a db (its pool) or a
 * connection (a transaction's). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tlua.h"

#define TLUA_QSTATE "tide.qstate"               /* the metatable */
#define TLUA_QSTATE_KEY "tide.qstate.instance"  /* the one per lua_State */

static int qstate_gc(lua_State *L)
{
    qstate *q = luaL_checkudata(L, 1, TLUA_QSTATE);
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    tide_desc_free(q->desc);
    tide_error_free(q->err);
    tide_result_free(q->pending);
    if (q->values)
        f(ud, q->values, (size_t)q->cap * sizeof *q->values, 0);
    if (q->params)
        f(ud, q->params, (size_t)q->pcap * sizeof *q->params, 0);
    if (q->key)
        f(ud, q->key, q->keycap, 0);
    memset(q, 0, sizeof *q);
    return 0;
}

/* One per lua_State, kept in the registry and reused by every call. */
qstate *tlua_qstate(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, TLUA_QSTATE_KEY) == LUA_TUSERDATA) {
        qstate *q = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return q;
    }
    lua_pop(L, 1);
    qstate *q = lua_newuserdatauv(L, sizeof *q, 0);
    memset(q, 0, sizeof *q);
    luaL_setmetatable(L, TLUA_QSTATE);
    lua_setfield(L, LUA_REGISTRYINDEX, TLUA_QSTATE_KEY);
    q->err = tide_error_new();
    q->desc = tide_desc_new(q->err);
    if (!q->err || !q->desc)
        luaL_error(L, "out of memory");
    return q;
}

tide_value *tlua_grow_values(lua_State *L, tide_value **arr, int *cap, int need)
{
    if (need <= *cap)
        return *arr;
    int ncap = *cap ? *cap * 2 : 32;
    while (ncap < need)
        ncap *= 2;
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    tide_value *p = f(ud, *arr, (size_t)*cap * sizeof *p, (size_t)ncap * sizeof *p);
    if (!p)
        luaL_error(L, "out of memory");
    *arr = p;
    *cap = ncap;
    return p;
}

int tlua_new_slot(lua_State *L, qstate *q)
{
    tlua_grow_values(L, &q->values, &q->cap, q->nvalues + 1);
    q->values[q->nvalues].type = 0;
    return q->nvalues++;
}

/* Keys whose empty table is an empty list of values, not an empty object. */
static int list_key(const char *k)
{
    return k && (!strcmp(k, "in") || !strcmp(k, "in_") || !strcmp(k, "not_in") || !strcmp(k, "has_some") ||
                 !strcmp(k, "has_every"));
}

int tlua_has_metatable(lua_State *L, int idx, const char *name)
{
    int marked = 0;
    if (lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, name);
        marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    return marked;
}

static int is_array_marked(lua_State *L, int idx)
{
    return tlua_has_metatable(L, idx, TLUA_ARRAY) || tlua_has_metatable(L, idx, TLUA_VALUES);
}

/* A sequence of scalars (or a marked/empty list where a list belongs) is one
 * value: a JSON array, bound as an array parameter. */
static int is_value_list(lua_State *L, int idx, const char *key)
{
    if (tide_desc_option_key(key))
        return 0; /* a list of names: by = { "a", "b" } */
    if (tlua_has_metatable(L, idx, TLUA_VALUES))
        return 1;
    if (is_array_marked(L, idx)) {
        /* tide.array{...}: one value, unless it is a list of tables (a list
         * of conditions, say) */
        int first = lua_rawgeti(L, idx, 1);
        lua_pop(L, 1);
        return first != LUA_TTABLE;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n == 0) {
        lua_pushnil(L);
        int empty = !lua_next(L, idx);
        if (!empty)
            lua_pop(L, 2);
        return empty && (list_key(key) || is_array_marked(L, idx));
    }
    for (lua_Integer i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, idx, i);
        lua_pop(L, 1);
        if (t == LUA_TTABLE)
            return 0;
    }
    return 1;
}

/* A create_many column of scalars straight to a PostgreSQL array literal
 * ({1,2,NULL}, {"a","b\"c"}): the JSON detour (encode, then parse again in
 * the encoder) is most of bulk insert's per-row cost. 0 when the column
 * holds tables (json values), which keep the JSON route. */
int tlua_push_array_literal(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, idx, i);
        lua_pop(L, 1);
        if (t == LUA_TTABLE)
            return 0;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '{');
    for (lua_Integer i = 1; i <= n; i++) {
        char num[64];
        const char *s = NULL;
        size_t len = 0;
        int quote = 0;
        int t = lua_rawgeti(L, idx, i);
        if (t == LUA_TNUMBER) {
            if (lua_isinteger(L, -1)) {
                len = tide_encode_int((int64_t)lua_tointeger(L, -1), num);
            } else {
                double d = lua_tonumber(L, -1);
                len = (size_t)(isnan(d) ? snprintf(num, sizeof num, "NaN")
                               : isinf(d) ? snprintf(num, sizeof num, d > 0 ? "Infinity" : "-Infinity")
                                          : snprintf(num, sizeof num, "%.17g", d));
            }
            s = num;
        } else if (t == LUA_TBOOLEAN) {
            s = lua_toboolean(L, -1) ? "t" : "f";
            len = 1;
        } else if (t == LUA_TSTRING) {
            s = lua_tolstring(L, -1, &len); /* stays alive: the table holds it */
            quote = 1;
        } else {
            s = "NULL"; /* nil, tide.null */
            len = 4;
        }
        lua_pop(L, 1); /* balanced before every buffer operation */
        if (i > 1)
            luaL_addchar(&b, ',');
        if (!quote) {
            luaL_addlstring(&b, s, len);
            continue;
        }
        luaL_addchar(&b, '"');
        for (size_t k = 0; k < len; k++) {
            if (s[k] == '"' || s[k] == '\\')
                luaL_addchar(&b, '\\');
            luaL_addchar(&b, s[k]);
        }
        luaL_addchar(&b, '"');
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    return 1;
}

/* In data, a table is an atomic update ({ increment = 1 }, one of five
 * keys) or else one value: a json field's object. */
static int lua_next_nonempty(lua_State *L, int idx)
{
    lua_pushnil(L);
    if (!lua_next(L, idx))
        return 0;
    lua_pop(L, 2);
    return 1;
}

static int is_atomic_update(lua_State *L, int idx)
{
    static const char *const ops[] = {"set", "increment", "decrement", "multiply", "divide"};
    int n = 0, atomic = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (int i = 0; i < 5; i++)
                atomic |= !strcmp(lua_tostring(L, -1), ops[i]);
    }
    return n == 1 && atomic;
}

static tide_node to_desc_in(lua_State *L, qstate *q, int idx, const char *key, int depth, int data_value);

/* A new value leaf for the value at idx (its Lua value kept, when asked). */
static tide_node value_leaf(lua_State *L, qstate *q, int idx, int slot)
{
    if (q->keep) {
        lua_pushvalue(L, idx);
        lua_rawseti(L, q->keep, slot + 1);
    }
    return tide_desc_leaf(q->desc, slot);
}

static tide_node to_desc(lua_State *L, qstate *q, int idx, const char *key, int depth)
{
    return to_desc_in(L, q, idx, key, depth, 0);
}

static tide_node to_desc_in(lua_State *L, qstate *q, int idx, const char *key, int depth, int data_value)
{
    idx = lua_absindex(L, idx);
    if (depth > 60)
        luaL_error(L, "the query is nested too deeply");
    luaL_checkstack(L, 6, "query nesting");
    int slot;
    if (lua_type(L, idx) != LUA_TTABLE) {
        tide_value v;
        if (lua_isnil(L, idx) || !tlua_scalar(L, idx, &v))
            luaL_error(L, "%s%s%s: cannot use a %s in a query", key ? "'" : "", key ? key : "", key ? "'" : "",
                       luaL_typename(L, idx));
        slot = tlua_new_slot(L, q);
        q->values[slot] = v;
        return value_leaf(L, q, idx, slot);
    }
    if (tlua_has_metatable(L, idx, TLUA_VALUES) && tlua_push_array_literal(L, idx)) {
        /* a text parameter the server reads as the column's array type */
        slot = tlua_new_slot(L, q);
        q->values[slot].kind = TIDE_KIND_TEXT;
        q->values[slot].as.s.ptr = lua_tolstring(L, -1, &q->values[slot].as.s.len);
        lua_rawseti(L, q->anchor, ++q->nanchored);
        return value_leaf(L, q, idx, slot);
    }
    if (is_value_list(L, idx, key) || (data_value == 1 && lua_rawlen(L, idx) == 0 && !is_atomic_update(L, idx) &&
                                       !tlua_has_metatable(L, idx, TLUA_ARRAY) && lua_next_nonempty(L, idx))) {
        tlua_json_push(L, idx);
        slot = tlua_new_slot(L, q);
        q->values[slot].kind = TIDE_KIND_JSON;
        q->values[slot].as.s.ptr = lua_tolstring(L, -1, &q->values[slot].as.s.len);
        lua_rawseti(L, q->anchor, ++q->nanchored); /* alive until the call returns */
        return value_leaf(L, q, idx, slot);
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n > 0) {
        tide_node arr = tide_desc_array(q->desc);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            tide_node child = to_desc(L, q, -1, key, depth + 1);
            /* the element stays referenced by the table */
            lua_pop(L, 1);
            tide_desc_push(q->desc, arr, child);
        }
        return arr;
    }
    tide_node obj = tide_desc_object(q->desc);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s%s%s: a table mixes a list with named entries, or has a %s key", key ? "'" : "",
                       key ? key : "", key ? "'" : "", luaL_typename(L, -2));
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        if (depth == 0 && k[0] == 't' && !strcmp(k, "timeout")) {
            /* the statement's deadline, not part of the query: taken here,
             * on the walk the arguments get anyway */
            q->timeout = tlua_timeout_flags(L, -1);
            lua_pop(L, 1);
            continue;
        }
        /* data_value: 2 marks a data object (data, create, update of the
         * query itself), whose field values (1) may be json objects */
        int child_dv = data_value ? 1 /* a data field's value, or the operand of its set */
                     : (depth == 0 && (!strcmp(k, "data") || !strcmp(k, "create") || !strcmp(k, "update"))) ? 2 : 0;
        tide_node child = to_desc_in(L, q, -1, k, depth + 1, child_dv);
        lua_pop(L, 1); /* the value; the key stays for lua_next */
        tide_desc_set(q->desc, obj, k, klen, child);
    }
    return obj;
}

/* A unique violation from a model query also names the model and its fields:
 * the server's detail reads "Key (col, col2)=(...) already exists", and
 * the columns map back to field names through the schema. */
static int raise_query_error(lua_State *L, tide_schema *schema, const char *model, tide_error *err)
{
    tlua_push_statement_error(L, err);
    if (tide_error_code(err) != TIDE_E_UNIQUE_VIOLATION)
        return lua_error(L);
    lua_pushstring(L, model);
    lua_setfield(L, -2, "model");
    const tide_model *m = tide_schema_model(schema, model);
    const char *col;
    size_t len;
    if (!m || !tide_error_key_column(err, 0, &col, &len))
        return lua_error(L);
    lua_newtable(L);
    for (int i = 0; tide_error_key_column(err, i, &col, &len); i++) {
        const tide_field *f = tide_model_field_by_column(m, col, len);
        if (f)
            lua_pushstring(L, tide_field_name(f));
        else
            lua_pushlstring(L, col, len); /* an expression index: its text */
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "fields");
    return lua_error(L);
}

static const char *const op_names[] = {"find_many", "find_first", "find_unique", "count", "create",
                                       "update", "update_many", "delete", "delete_many", "create_many",
                                       "create_many_and_return", "upsert", "link", "unlink", "aggregate",
                                       "group_by", "update_many_and_return", NULL};

static int push_model_result(lua_State *L, tide_result *res, int kind)
{
    switch (kind) {
    case TIDE_RESULT_ROWS:
        return tlua_push_result(L, res, TLUA_ROWS);
    case TIDE_RESULT_ONE:
        return tlua_push_result(L, res, TLUA_ONE);
    case TIDE_RESULT_COUNT: {
        int64_t v = 0;
        size_t len;
        const char *s = tide_result_text(res, 0, 0, &len);
        tide_decode_int(s, len, &v, NULL);
        lua_pushinteger(L, (lua_Integer)v);
        return 1;
    }
    default:
        lua_pushinteger(L, (lua_Integer)(tide_result_affected(res) < 0 ? 0 : tide_result_affected(res)));
        return 1;
    }
}

/* After a yield: the schema and model are still at 2 and 3. */
static int finish_model(lua_State *L, tlua_wait *w)
{
    if (!w->res) {
        if (!w->err)
            return luaL_error(L, "out of memory");
        return raise_query_error(L, tlua_check_schema(L, 2), lua_tostring(L, 3), w->err);
    }
    return push_model_result(L, w->res, (int)w->ctx);
}

void tlua_target(lua_State *L, int idx, tide_pool **pool, tide_conn **conn)
{
    *pool = NULL;
    *conn = NULL;
    if (lua_type(L, idx) == LUA_TTABLE) { /* a db: its pool */
        lua_getfield(L, idx, "_pool");
        tlua_pool *p = luaL_checkudata(L, -1, TLUA_POOL);
        if (!p->pool)
            luaL_error(L, "the pool is closed");
        *pool = p->pool;
    } else {
        tlua_conn *c = luaL_checkudata(L, idx, TLUA_CONN);
        if (!c->pool)
            luaL_error(L, "the connection was released");
        *conn = c->conn;
    }
}

/* A new description in q: its anchor table pushed (it keeps the walk's
 * strings alive), keep: the stack index of a table taking the values by slot
 * (to_sql), or 0. Every walk starts here, so that a walk that raised leaves
 * nothing behind for the next. */
void tlua_begin_walk(lua_State *L, qstate *q, int keep)
{
    tide_desc_reset(q->desc);
    q->nvalues = 0;
    lua_newtable(L);
    q->anchor = lua_gettop(L);
    q->nanchored = 0;
    q->keep = keep;
    q->timeout = 0;
}

/* core.model_query(target, schema, model, op, args): args.timeout (seconds)
 * is the statement's deadline */
static int l_model_query(lua_State *L)
{
    tide_schema *schema = tlua_check_schema(L, 2);
    const char *model = luaL_checkstring(L, 3);
    int op = luaL_checkoption(L, 4, NULL, op_names) + TIDE_OP_FIND_MANY;
    if (!lua_isnoneornil(L, 5))
        luaL_checktype(L, 5, LUA_TTABLE);
    else {
        lua_settop(L, 4);
        lua_newtable(L);
    }
    lua_settop(L, 5);
    qstate *q = tlua_qstate(L);
    if (q->pending) {
        tide_result_free(q->pending);
        q->pending = NULL;
    }
    tlua_begin_walk(L, q, 0);
    tide_node root = to_desc(L, q, 5, NULL, 0);
    int flags = TIDE_QUERY_PREPARE | q->timeout;

    const tide_compiled *comp;
    if (tide_model_query(schema, model, (tide_op)op, q->desc, root, q->values, q->nvalues, &comp, q->err) !=
        TIDE_OK)
        return tlua_raise(L, q->err);
    int np = tide_compiled_nparams(comp);
    tlua_grow_values(L, &q->params, &q->pcap, np ? np : 1);
    for (int i = 0; i < np; i++)
        q->params[i] = q->values[tide_compiled_slot(q->desc, i)];

    tide_pool *pool;
    tide_conn *conn;
    tlua_target(L, 1, &pool, &conn);
    flags = tlua_deadline(L, 1, flags);
    const char *sql = tide_compiled_sql(comp);
    if (lua_isyieldable(L) && tlua_should_yield(L))
        return tlua_query_async(L, pool, conn, sql, np, q->params, flags, finish_model,
                                tide_compiled_result(comp));
    tide_result *res = NULL;
    int rc = pool ? tide_pool_query(pool, sql, np, q->params, flags, &res, q->err)
                  : tide_conn_query(conn, sql, np, q->params, flags, &res, q->err);
    if (rc != TIDE_OK)
        return raise_query_error(L, schema, model, q->err);
    q->pending = res;
    int n = push_model_result(L, res, tide_compiled_result(comp));
    q->pending = NULL;
    tide_result_free(res);
    return n;
}

/* core.model_sql(schema, model, op, args) -> sql, nparams, values (no
 * database): values[i] is the Lua value bound to $i, as given (a list or a
 * table stays one), so that the raw query functions bind it as the model
 * query would (streaming runs the SQL inside DECLARE CURSOR). */
static int l_model_sql(lua_State *L)
{
    tide_schema *schema = tlua_check_schema(L, 1);
    const char *model = luaL_checkstring(L, 2);
    int op = luaL_checkoption(L, 3, NULL, op_names) + TIDE_OP_FIND_MANY;
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 4);
    lua_newtable(L); /* 5: values by slot */
    qstate *q = tlua_qstate(L);
    tlua_begin_walk(L, q, 5);
    tide_node root = to_desc(L, q, 4, NULL, 0);
    q->keep = 0;
    if (q->timeout)
        return luaL_error(L, "timeout: for statements that run once (streamed rows and to_sql take none)");
    const tide_compiled *comp;
    if (tide_model_query(schema, model, (tide_op)op, q->desc, root, q->values, q->nvalues, &comp, q->err) !=
        TIDE_OK)
        return tlua_raise(L, q->err);
    int np = tide_compiled_nparams(comp);
    lua_pushstring(L, tide_compiled_sql(comp));
    lua_pushinteger(L, np);
    lua_createtable(L, np, 0);
    for (int i = 0; i < np; i++) {
        lua_rawgeti(L, 5, tide_compiled_slot(q->desc, i) + 1);
        lua_rawseti(L, -2, i + 1);
    }
    return 3;
}

/* core.model_batch(target, schema, list [, links]): list[i] = { model, op,
 * args }. Every query is compiled, then all are sent in one round trip as
 * one atomic batch (one snapshot of the data); returns their results in
 * order, each as core.model_query gives it. The include loader sends its
 * levels so, with links[i] = { parent index, relation name, many, key
 * field } for each child level: its rows are put under the rows of the
 * parent level whose key reads the same as their "__parent" column (the
 * texts compared as the server wrote them; the column itself left out). */

/* The results being turned into Lua values: freed by __gc if that raises. */
typedef struct results {
    int n;
    tide_result *r[];
} results;

static void free_results(results *rs)
{
    for (int i = 0; i < rs->n; i++) {
        tide_result_free(rs->r[i]);
        rs->r[i] = NULL;
    }
}

static int results_gc(lua_State *L)
{
    free_results(lua_touserdata(L, 1));
    return 0;
}

static int column_named(const tide_result *r, const char *name)
{
    for (int c = 0; c < tide_result_cols(r); c++)
        if (!strcmp(tide_result_col_name(r, c), name))
            return c;
    return -1;
}

/* A parent key as a Lua value: an integer when the key is one (no string
 * to make and hash), else its text; both sides of a level alike. */
static void push_key(lua_State *L, const tide_result *r, int row, int col, int as_int)
{
    size_t len;
    const char *k = tide_result_text(r, row, col, &len);
    tlua_push_value(L, as_int ? TIDE_KIND_INT : TIDE_KIND_TEXT, k, len);
}

/* Puts the rows of child level i (a list at index crows) under the rows of
 * its parent level (at index prows: a list, or one row for kind ONE). */
static void stitch_level(lua_State *L, const results *rs, int i, int p, int pkind, int prows, int crows,
                         const char *name, int many, const char *key)
{
    const tide_result *pr = rs->r[p], *cr = rs->r[i];
    int kc = column_named(pr, key), cc = column_named(cr, "__parent");
    if (kc < 0 || cc < 0)
        luaL_error(L, "include %s: the key columns are missing", name);
    int as_int = tide_result_col_kind(pr, kc) == TIDE_KIND_INT && tide_result_col_kind(cr, cc) == TIDE_KIND_INT;
    int np = pkind == TIDE_RESULT_ONE ? 1 : tide_result_rows(pr);
    if (lua_isnil(L, prows))
        np = 0;
    lua_createtable(L, 0, np); /* key -> the group of children */
    int map = lua_gettop(L);
    luaL_getmetatable(L, TLUA_ARRAY);
    int amt = lua_gettop(L);
    lua_pushstring(L, name);
    int field = lua_gettop(L);
    for (int r = 0; r < np; r++) {
        if (pkind == TIDE_RESULT_ONE)
            lua_pushvalue(L, prows);
        else
            lua_rawgeti(L, prows, r + 1);
        if (tide_result_is_null(pr, r, kc)) { /* references nothing */
            if (many) {
                lua_pushvalue(L, field);
                lua_createtable(L, 0, 0);
                lua_pushvalue(L, amt);
                lua_setmetatable(L, -2);
                lua_rawset(L, -3);
            }
            lua_pop(L, 1);
            continue;
        }
        push_key(L, pr, r, kc, as_int);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, map) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_createtable(L, 1, 0);
            lua_pushvalue(L, amt);
            lua_setmetatable(L, -2);
            lua_pushvalue(L, -2); /* the key */
            lua_pushvalue(L, -2);
            lua_rawset(L, map);
        }
        if (many) { /* row[name] = group */
            lua_pushvalue(L, field);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    int nc = tide_result_rows(cr);
    for (int r = 0; r < nc && np > 0; r++) {
        if (tide_result_is_null(cr, r, cc))
            continue;
        push_key(L, cr, r, cc, as_int);
        if (lua_rawget(L, map) == LUA_TTABLE) {
            lua_rawgeti(L, crows, r + 1);
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        }
        lua_pop(L, 1);
    }
    if (!many) { /* has_one, belongs_to: the first (only) one */
        for (int r = 0; r < np; r++) {
            if (tide_result_is_null(pr, r, kc))
                continue;
            if (pkind == TIDE_RESULT_ONE)
                lua_pushvalue(L, prows);
            else
                lua_rawgeti(L, prows, r + 1);
            lua_pushvalue(L, field);
            push_key(L, pr, r, kc, as_int);
            lua_rawget(L, map);
            lua_rawgeti(L, -1, 1);
            lua_remove(L, -2);
            lua_rawset(L, -3);
            lua_pop(L, 1);
        }
    }
    lua_settop(L, map - 1);
}

static int push_model_batch(lua_State *L, tlua_held *h, const int *kinds, int links)
{
    int failed = tide_batch_failed(h->b);
    if (failed >= 0) {
        tide_batch_take(h->b, failed, h->err);
        lua_rawgeti(L, 3, failed + 1);
        lua_rawgeti(L, -1, 1);
        return raise_query_error(L, tlua_check_schema(L, 2), lua_tostring(L, -1), h->err);
    }
    int n = tide_batch_count(h->b);
    results *rs = lua_newuserdatauv(L, sizeof *rs + (size_t)n * sizeof rs->r[0], 0);
    rs->n = 0;
    if (luaL_newmetatable(L, "tide.model_results")) {
        lua_pushcfunction(L, results_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    for (int i = 0; i < n; i++) {
        rs->r[rs->n++] = tide_batch_take(h->b, i, h->err);
        if (!rs->r[i])
            return tlua_raise_statement(L, h->err);
    }
    lua_createtable(L, n, 0);
    int out = lua_gettop(L);
    for (int i = 0; i < n; i++) {
        int child = links && lua_rawgeti(L, links, i + 1) == LUA_TTABLE;
        lua_pop(L, links ? 1 : 0);
        if (child)
            tlua_push_result(L, rs->r[i], TLUA_ROWS | TLUA_NO_PARENT);
        else
            push_model_result(L, rs->r[i], kinds[i]);
        lua_rawseti(L, out, i + 1);
    }
    for (int i = 0; links && i < n; i++) {
        if (lua_rawgeti(L, links, i + 1) != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        int link = lua_gettop(L);
        lua_rawgeti(L, link, 1);
        int p = (int)lua_tointeger(L, -1) - 1;
        lua_getfield(L, link, "name");
        lua_getfield(L, link, "key");
        lua_getfield(L, link, "many");
        const char *name = lua_tostring(L, link + 2), *key = lua_tostring(L, link + 3);
        if (p < 0 || p >= i || !name || !key)
            return luaL_error(L, "model_batch: link %d: expected { parent, name =, key =, many = }", i + 1);
        lua_rawgeti(L, out, p + 1);
        lua_rawgeti(L, out, i + 1);
        stitch_level(L, rs, i, p, kinds[p], link + 5, link + 6, name, lua_toboolean(L, link + 4), key);
        lua_settop(L, link - 1);
    }
    free_results(rs);
    return 1;
}

static int finish_model_batch(lua_State *L, tlua_wait *w)
{
    const int *kinds = lua_touserdata(L, (int)w->ctx);
    return push_model_batch(L, tlua_hold_batch(L, w), kinds, lua_istable(L, 4) ? 4 : 0);
}

static int l_model_batch(lua_State *L)
{
    tide_schema *schema = tlua_check_schema(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int flags = 0;
    lua_settop(L, 4);
    tide_pool *pool;
    tide_conn *conn;
    tlua_target(L, 1, &pool, &conn);
    lua_settop(L, 4);
    int n = (int)luaL_len(L, 3);
    if (n < 1)
        return luaL_argerror(L, 3, "no queries");
    /* 5: result kinds; 6: statements; 7: their texts and values, kept */
    int *kinds = lua_newuserdatauv(L, (size_t)n * sizeof *kinds, 0);
    tide_stmt *st = lua_newuserdatauv(L, (size_t)n * sizeof *st, 0);
    lua_newtable(L);
    int keep = lua_gettop(L), nkeep = 0;
    qstate *q = tlua_qstate(L);
    if (q->pending) {
        tide_result_free(q->pending);
        q->pending = NULL;
    }
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 3, i + 1);
        int item = lua_gettop(L);
        luaL_checktype(L, item, LUA_TTABLE);
        lua_rawgeti(L, item, 1);
        const char *model = luaL_checkstring(L, -1);
        lua_rawgeti(L, item, 2);
        int op = luaL_checkoption(L, -1, NULL, op_names) + TIDE_OP_FIND_MANY;
        lua_rawgeti(L, item, 3);
        int args = lua_gettop(L);
        tlua_begin_walk(L, q, 0); /* its anchor: kept below with its values */
        tide_node root = to_desc(L, q, args, NULL, 0);
        if (!flags)
            flags = q->timeout; /* the batch's deadline: the first level's that has one */
        const tide_compiled *comp;
        if (tide_model_query(schema, model, (tide_op)op, q->desc, root, q->values, q->nvalues, &comp, q->err) !=
            TIDE_OK)
            return tlua_raise(L, q->err);
        int np = tide_compiled_nparams(comp);
        tide_value *vals = lua_newuserdatauv(L, (size_t)(np ? np : 1) * sizeof *vals, 0);
        for (int k = 0; k < np; k++)
            vals[k] = q->values[tide_compiled_slot(q->desc, k)];
        lua_rawseti(L, keep, ++nkeep);          /* the values */
        lua_pushvalue(L, q->anchor);
        lua_rawseti(L, keep, ++nkeep);          /* what they point into */
        lua_pushvalue(L, args);
        lua_rawseti(L, keep, ++nkeep);
        lua_pushstring(L, tide_compiled_sql(comp)); /* the cache may drop it meanwhile */
        st[i] = (tide_stmt){lua_tostring(L, -1), np, vals};
        lua_rawseti(L, keep, ++nkeep);
        kinds[i] = tide_compiled_result(comp);
        lua_settop(L, keep);
    }
    return tlua_batch(L, pool, conn, n, st, tlua_deadline(L, 1, flags), finish_model_batch, 5);
}

static int l_cache_stats(lua_State *L)
{
    long compiled, hits;
    tide_schema_cache_stats(tlua_check_schema(L, 1), &compiled, &hits);
    lua_pushinteger(L, compiled);
    lua_pushinteger(L, hits);
    return 2;
}

void tlua_open_model(lua_State *L)
{
    if (luaL_newmetatable(L, TLUA_QSTATE)) {
        lua_pushcfunction(L, qstate_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_model_query);
    lua_setfield(L, -2, "model_query");
    lua_pushcfunction(L, l_model_sql);
    lua_setfield(L, -2, "model_sql");
    lua_pushcfunction(L, l_model_batch);
    lua_setfield(L, -2, "model_batch");
    lua_pushcfunction(L, l_cache_stats);
    lua_setfield(L, -2, "cache_stats");
}
