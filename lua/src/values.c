/* Values between Lua and the core: parameters in, rows out, errors, JSON.
 * All conversion of Lua values to parameters happens in tlua_params_collect. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tlua.h"

/* ---- tide.null ------------------------------------------------------------- */

void tlua_push_null(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, TLUA_NULL);
}

int tlua_is_null(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA && lua_type(L, idx) != LUA_TUSERDATA)
        return 0;
    tlua_push_null(L);
    int eq = lua_rawequal(L, idx < 0 ? idx - 1 : idx, -1);
    lua_pop(L, 1);
    return eq;
}

/* ---- errors ---------------------------------------------------------------- */

static const struct { const char *name; tide_error_field f; } error_fields[] = {
    {"sqlstate", TIDE_FIELD_SQLSTATE}, {"message", TIDE_FIELD_MESSAGE},     {"detail", TIDE_FIELD_DETAIL},
    {"hint", TIDE_FIELD_HINT},         {"constraint", TIDE_FIELD_CONSTRAINT}, {"schema", TIDE_FIELD_SCHEMA},
    {"table", TIDE_FIELD_TABLE},       {"column", TIDE_FIELD_COLUMN},       {"datatype", TIDE_FIELD_DATATYPE},
};

void tlua_push_error(lua_State *L, const tide_error *err)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, tide_error_code_name(tide_error_code(err)));
    lua_setfield(L, -2, "code");
    for (size_t i = 0; i < sizeof error_fields / sizeof error_fields[0]; i++) {
        const char *v = tide_error_get(err, error_fields[i].f);
        if (v) {
            lua_pushstring(L, v);
            lua_setfield(L, -2, error_fields[i].name);
        }
    }
    luaL_setmetatable(L, TLUA_ERROR);
}

int tlua_raise(lua_State *L, const tide_error *err)
{
    tlua_push_error(L, err);
    return lua_error(L);
}

/* "tide: unique_violation: duplicate key ... (SQLSTATE 23505)" + detail */
static int error_tostring(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "tide: ");
    lua_getfield(L, 1, "code");
    const char *code = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (code) {
        luaL_addstring(&b, code);
        luaL_addstring(&b, ": ");
    }
    lua_getfield(L, 1, "message");
    const char *msg = lua_tostring(L, -1);
    lua_pop(L, 1);
    luaL_addstring(&b, msg ? msg : "(no message)");
    lua_getfield(L, 1, "sqlstate");
    const char *st = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (st) {
        luaL_addstring(&b, " (SQLSTATE ");
        luaL_addstring(&b, st);
        luaL_addstring(&b, ")");
    }
    lua_getfield(L, 1, "detail");
    const char *detail = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (detail) {
        luaL_addstring(&b, "\nDETAIL: ");
        luaL_addstring(&b, detail);
    }
    lua_getfield(L, 1, "hint");
    const char *hint = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (hint) {
        luaL_addstring(&b, "\nHINT: ");
        luaL_addstring(&b, hint);
    }
    luaL_pushresult(&b);
    return 1;
}

/* ---- a byte buffer for JSON, owned by a userdata ------------------------------
 * luaL_Buffer cannot be used while the encoder walks tables on the stack; this
 * one lives at a fixed stack slot and its __gc frees it if an error unwinds. */

#define TLUA_JBUF "tide.jbuf"

typedef struct jbuf {
    char *data;
    size_t len, cap;
    lua_State *L;
} jbuf;

static int jbuf_gc(lua_State *L)
{
    jbuf *b = luaL_checkudata(L, 1, TLUA_JBUF);
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    if (b->data)
        f(ud, b->data, b->cap, 0);
    b->data = NULL;
    b->cap = b->len = 0;
    return 0;
}

static void jbuf_gc_at(lua_State *L, int idx)
{
    lua_pushcfunction(L, jbuf_gc);
    lua_pushvalue(L, idx < 0 ? idx - 1 : idx);
    lua_call(L, 1, 0);
}

static jbuf *jbuf_new(lua_State *L)
{
    jbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->data = NULL;
    b->len = b->cap = 0;
    b->L = L;
    luaL_setmetatable(L, TLUA_JBUF);
    return b;
}

static void jbuf_add(jbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n)
            cap *= 2;
        void *ud;
        lua_Alloc f = lua_getallocf(b->L, &ud);
        char *p = f(ud, b->data, b->cap, cap);
        if (!p)
            luaL_error(b->L, "out of memory");
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void jbuf_adds(jbuf *b, const char *s) { jbuf_add(b, s, strlen(s)); }
static void jbuf_addc(jbuf *b, char c) { jbuf_add(b, &c, 1); }

/* ---- JSON encoding --------------------------------------------------------- */

static void json_string(jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    jbuf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': jbuf_adds(b, "\\\""); break;
        case '\\': jbuf_adds(b, "\\\\"); break;
        case '\n': jbuf_adds(b, "\\n"); break;
        case '\r': jbuf_adds(b, "\\r"); break;
        case '\t': jbuf_adds(b, "\\t"); break;
        case '\b': jbuf_adds(b, "\\b"); break;
        case '\f': jbuf_adds(b, "\\f"); break;
        default:
            if (c < 0x20) {
                char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                jbuf_adds(b, e);
            } else {
                jbuf_addc(b, (char)c);
            }
        }
    }
    jbuf_addc(b, '"');
}

/* The shortest "%.Ng" that reads back as the same double. */
static int format_double(char *out, size_t size, double d)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    return n;
}

/* A table is a JSON array when its keys are exactly 1..n (n >= 1), or when it
 * is empty and marked with tide.array. */
static int table_array_length(lua_State *L, int idx, lua_Integer *len)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    lua_Integer count = 0;
    int only_ints = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (!lua_isinteger(L, -1)) {
            only_ints = 0;
        } else {
            lua_Integer k = lua_tointeger(L, -1);
            if (k < 1 || k > n)
                only_ints = 0;
        }
    }
    *len = n;
    if (count == 0) {
        int marked = 0;
        if (lua_getmetatable(L, idx)) {
            luaL_getmetatable(L, TLUA_ARRAY);
            marked = lua_rawequal(L, -1, -2);
            luaL_getmetatable(L, TLUA_VALUES);
            marked |= lua_rawequal(L, -1, -3);
            lua_pop(L, 3);
        }
        return marked;
    }
    return only_ints && count == n;
}

static void json_encode(lua_State *L, int idx, jbuf *b, int depth)
{
    idx = lua_absindex(L, idx);
    if (depth > 100)
        luaL_error(L, "cannot encode as JSON: nested more than 100 levels (a cycle?)");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        jbuf_adds(b, "null");
        return;
    case LUA_TBOOLEAN:
        jbuf_adds(b, lua_toboolean(L, idx) ? "true" : "false");
        return;
    case LUA_TNUMBER: {
        char num[64];
        if (lua_isinteger(L, idx)) {
            tide_encode_int((int64_t)lua_tointeger(L, idx), num);
        } else {
            double d = lua_tonumber(L, idx);
            if (isnan(d) || isinf(d))
                luaL_error(L, "cannot encode %s as JSON (it has no JSON spelling)",
                           isnan(d) ? "NaN" : d > 0 ? "infinity" : "-infinity");
            format_double(num, sizeof num, d);
        }
        jbuf_adds(b, num);
        return;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        json_string(b, s, n);
        return;
    }
    case LUA_TTABLE:
        break;
    default:
        if (tlua_is_null(L, idx)) {
            jbuf_adds(b, "null");
            return;
        }
        luaL_error(L, "cannot encode a %s as JSON", luaL_typename(L, idx));
        return;
    }
    luaL_checkstack(L, 4, "JSON nesting");
    lua_Integer n;
    if (table_array_length(L, idx, &n)) {
        jbuf_addc(b, '[');
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                jbuf_addc(b, ',');
            lua_rawgeti(L, idx, i);
            json_encode(L, -1, b, depth + 1);
            lua_pop(L, 1);
        }
        jbuf_addc(b, ']');
        return;
    }
    jbuf_addc(b, '{');
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "cannot encode a table with %s keys as JSON (object keys must be strings)",
                       luaL_typename(L, -2));
        if (!first)
            jbuf_addc(b, ',');
        first = 0;
        size_t kn;
        const char *k = lua_tolstring(L, -2, &kn);
        json_string(b, k, kn);
        jbuf_addc(b, ':');
        json_encode(L, -1, b, depth + 1);
        lua_pop(L, 1);
    }
    jbuf_addc(b, '}');
}

/* Pushes the JSON text of the value at idx as a Lua string. */
void tlua_json_push(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    jbuf *b = jbuf_new(L);
    json_encode(L, idx, b, 0);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    jbuf_gc_at(L, -2);
    lua_remove(L, -2);
}

/* ---- parameters ------------------------------------------------------------ */

int tlua_param(lua_State *L, int idx, tide_value *v)
{
    if (tlua_scalar(L, idx, v))
        return 0;
    if (lua_type(L, idx) != LUA_TTABLE)
        return -1;
    tlua_json_push(L, idx);
    v->kind = TIDE_KIND_JSON;
    v->as.s.ptr = lua_tolstring(L, -1, &v->as.s.len);
    return 1;
}

void tlua_params_collect(lua_State *L, int first, int last, tlua_params *p)
{
    int n = last - first + 1;
    if (n < 0)
        n = 0;
    p->n = n;
    p->v = n <= TLUA_INLINE_PARAMS ? p->inline_ : lua_newuserdatauv(L, (size_t)n * sizeof(tide_value), 0);
    for (int i = 0; i < n; i++) {
        int idx = first + i;
        /* a table's JSON text stays on the stack until the call returns */
        if (tlua_param(L, idx, &p->v[i]) < 0)
            luaL_argerror(L, idx, lua_pushfstring(L, "cannot bind a %s as a parameter", luaL_typename(L, idx)));
    }
}

/* ---- results --------------------------------------------------------------- */

/* Builds Lua tables from the core's walk over json and array values. */
typedef struct builder {
    lua_State *L;
    int depth;
    struct { int is_array; lua_Integer n; } level[600];
} builder;

static void add_to_parent(builder *b)
{
    if (b->depth == 0)
        return; /* the top value stays on the stack */
    lua_State *L = b->L;
    if (b->level[b->depth - 1].is_array)
        lua_rawseti(L, -2, ++b->level[b->depth - 1].n);
    else
        lua_rawset(L, -3); /* key below the value */
}

static int v_begin(builder *b, int is_array)
{
    if (b->depth >= (int)(sizeof b->level / sizeof b->level[0]))
        return 1;
    luaL_checkstack(b->L, 3, "decoding a nested value");
    lua_newtable(b->L);
    b->level[b->depth].is_array = is_array;
    b->level[b->depth].n = 0;
    b->depth++;
    return 0;
}

static int v_end(builder *b)
{
    b->depth--;
    if (b->level[b->depth].is_array && b->level[b->depth].n == 0)
        luaL_setmetatable(b->L, TLUA_ARRAY); /* [] stays [] when written back */
    add_to_parent(b);
    return 0;
}

static int v_begin_array(void *ud) { return v_begin(ud, 1); }
static int v_begin_object(void *ud) { return v_begin(ud, 0); }
static int v_end_any(void *ud) { return v_end(ud); }

static int v_key(void *ud, const char *s, size_t n)
{
    lua_pushlstring(((builder *)ud)->L, s, n);
    return 0;
}

static int v_scalar(void *ud, tide_kind kind, const char *s, size_t n)
{
    builder *b = ud;
    if (kind == TIDE_KIND_NULL)
        tlua_push_null(b->L); /* keeps array positions and object keys */
    else
        tlua_push_value(b->L, kind, s, n);
    add_to_parent(b);
    return 0;
}

static const tide_visitor lua_visitor = {
    v_begin_array, v_end_any, v_begin_object, v_key, v_end_any, v_scalar,
};

static void push_structured(lua_State *L, tide_kind kind, unsigned elem_type, const char *s, size_t n)
{
    builder *b = lua_newuserdatauv(L, sizeof *b, 0); /* too big for the C stack */
    int at = lua_gettop(L);
    b->L = L;
    b->depth = 0;
    tide_error *err = tide_error_new();
    if (!err)
        luaL_error(L, "out of memory");
    int rc = kind == TIDE_KIND_JSON ? tide_decode_json(s, n, &lua_visitor, b, err)
                                    : tide_decode_array(elem_type, s, n, &lua_visitor, b, err);
    if (rc != TIDE_OK) {
        lua_settop(L, at - 1);
        tlua_push_error(L, err);
        tide_error_free(err);
        lua_error(L);
    }
    tide_error_free(err);
    lua_remove(L, at); /* the builder; the value is on top */
}

void tlua_push_value(lua_State *L, tide_kind kind, const char *s, size_t len)
{
    switch (kind) {
    case TIDE_KIND_INT: {
        int64_t i;
        if (tide_decode_int(s, len, &i, NULL) == TIDE_OK)
            lua_pushinteger(L, (lua_Integer)i);
        else
            lua_pushlstring(L, s, len);
        return;
    }
    case TIDE_KIND_FLOAT: {
        double d;
        if (tide_decode_float(s, len, &d, NULL) == TIDE_OK)
            lua_pushnumber(L, d);
        else
            lua_pushlstring(L, s, len);
        return;
    }
    case TIDE_KIND_BOOL:
        lua_pushboolean(L, len > 0 && (s[0] == 't' || s[0] == 'T'));
        return;
    case TIDE_KIND_BYTEA: {
        luaL_Buffer b;
        char *out = luaL_buffinitsize(L, &b, len ? len : 1);
        size_t n = 0;
        if (tide_decode_bytea(s, len, out, &n, NULL) != TIDE_OK)
            n = 0;
        luaL_pushresultsize(&b, n);
        return;
    }
    case TIDE_KIND_DATE:
    case TIDE_KIND_TIME:
    case TIDE_KIND_TIMESTAMP:
    case TIDE_KIND_TIMESTAMPTZ:
    case TIDE_KIND_INTERVAL: {
        char out[TIDE_DATETIME_MAX];
        size_t n;
        if (tide_decode_datetime(kind, s, len, out, &n, NULL) == TIDE_OK)
            lua_pushlstring(L, out, n);
        else
            lua_pushlstring(L, s, len);
        return;
    }
    case TIDE_KIND_JSON:
        push_structured(L, kind, 0, s, len);
        return;
    default:
        lua_pushlstring(L, s, len);
    }
}

static void push_cell(lua_State *L, const tide_result *res, int row, int col)
{
    size_t len;
    const char *s = tide_result_text(res, row, col, &len);
    tide_kind k = tide_result_col_kind(res, col);
    if (k == TIDE_KIND_ARRAY)
        push_structured(L, k, tide_array_element_type(tide_result_col_type(res, col)), s, len);
    else
        tlua_push_value(L, k, s, len);
}

/* Pushes the rows (TLUA_ROWS), the first row or nil (TLUA_ONE), or the
 * affected count and command tag (TLUA_EXEC). The caller frees res. */
int tlua_push_result(lua_State *L, tide_result *res, int mode)
{
    if (mode == TLUA_EXEC) {
        int64_t n = tide_result_affected(res);
        lua_pushinteger(L, n < 0 ? 0 : (lua_Integer)n);
        lua_pushstring(L, tide_result_command(res));
        return 2;
    }
    int skip = mode & TLUA_NO_PARENT;
    mode &= ~TLUA_NO_PARENT;
    int rows = tide_result_rows(res), cols = tide_result_cols(res);
    if (mode == TLUA_ONE && rows > 1)
        rows = 1;
    luaL_checkstack(L, cols + 5, "too many columns");
    /* column names once per result, reused for every row (nil: left out);
     * the strings come from the last result's when they are the same, which
     * costs a comparison instead of hashing each name (a statement run
     * again, a batch of one statement) */
    static const char last_names_key = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &last_names_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, cols, 0);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &last_names_key);
    }
    int last = lua_gettop(L);
    int names = last + 1;
    for (int c = 0; c < cols; c++) {
        const char *name = tide_result_col_name(res, c);
        const char *had = lua_rawgeti(L, last, c + 1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!had || strcmp(had, name) != 0) {
            lua_pop(L, 1);
            lua_pushstring(L, name);
            lua_pushvalue(L, -1);
            lua_rawseti(L, last, c + 1);
        }
        if (skip && !strncmp(name, "__parent", 8)) {
            lua_pop(L, 1);
            lua_pushnil(L);
        }
    }
    if (mode == TLUA_ONE && rows == 0) {
        lua_settop(L, last - 1);
        lua_pushnil(L);
        return 1;
    }
    if (mode == TLUA_ROWS)
        lua_createtable(L, rows, 0);
    for (int r = 0; r < rows; r++) {
        lua_createtable(L, 0, cols);
        for (int c = 0; c < cols; c++) {
            if (tide_result_is_null(res, r, c) || (skip && lua_isnil(L, names + c)))
                continue; /* NULL is absent */
            lua_pushvalue(L, names + c);
            push_cell(L, res, r, c);
            lua_rawset(L, -3);
        }
        if (mode == TLUA_ROWS)
            lua_rawseti(L, -2, r + 1);
    }
    lua_replace(L, last); /* the result over the names' table */
    lua_settop(L, last);
    return 1;
}

/* The timeout in seconds at idx as whole milliseconds (at least 1), or 0
 * when it is not one: a number above 0 and at most 8388 (the most a
 * statement's flags hold). The one rule for every timeout in tide. */
static int timeout_ms(lua_State *L, int idx)
{
    lua_Number s = lua_tonumber(L, idx);
    if (lua_type(L, idx) != LUA_TNUMBER || !(s > 0) || s > 8388.0)
        return 0;
    int ms = (int)(s * 1000.0 + 0.5);
    return ms < 1 ? 1 : ms;
}

/* Pushes what is wrong with the timeout at idx. */
static const char *timeout_problem(lua_State *L, int idx)
{
    const char *msg = lua_pushfstring(L, "timeout: a number of seconds, more than 0 and at most 8388, expected "
                                      "(got %s)", luaL_tolstring(L, idx, NULL));
    lua_remove(L, -2); /* luaL_tolstring's string */
    return msg;
}

int tlua_timeout_flags(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    int ms = timeout_ms(L, idx);
    if (!ms)
        return luaL_error(L, "%s", timeout_problem(L, idx));
    return TIDE_QUERY_TIMEOUT(ms);
}

/* ---- functions ------------------------------------------------------------- */

/* core.timeout_ms(seconds) -> milliseconds, or nil and what is wrong */
static int l_timeout_ms(lua_State *L)
{
    int ms = timeout_ms(L, 1);
    if (ms) {
        lua_pushinteger(L, ms);
        return 1;
    }
    lua_pushnil(L);
    timeout_problem(L, 1);
    return 2;
}

static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    tlua_json_push(L, 1);
    return 1;
}

static int l_json_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    push_structured(L, TIDE_KIND_JSON, 0, s, n);
    return 1;
}

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "tide.null");
    return 1;
}

void tlua_open_values(lua_State *L)
{
    /* tide.null: a unique userdata, so it can never collide with user data;
     * one per lua_State, however often the module is opened */
    if (lua_getfield(L, LUA_REGISTRYINDEX, TLUA_NULL) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newuserdatauv(L, 0, 0);
        lua_createtable(L, 0, 2);
        lua_pushcfunction(L, null_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "tide.null");
        lua_setfield(L, -2, "__name");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, TLUA_NULL);
    }
    lua_setfield(L, -2, "null");

    luaL_newmetatable(L, TLUA_ARRAY);
    lua_setfield(L, -2, "array_mt");
    luaL_newmetatable(L, TLUA_VALUES);
    lua_setfield(L, -2, "values_mt");

    luaL_newmetatable(L, TLUA_JBUF);
    lua_pushcfunction(L, jbuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newmetatable(L, TLUA_ERROR);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setfield(L, -2, "error_mt");

    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "json_encode");
    lua_pushcfunction(L, l_timeout_ms);
    lua_setfield(L, -2, "timeout_ms");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
}
