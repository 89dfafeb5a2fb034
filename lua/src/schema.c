/* "tide.schema": a finished tide_schema built from the description that
 * tide.schema (Lua) collects. The whole conversion is here, in one pass. */
#include <string.h>
#include "tlua.h"

#define TLUA_SCHEMA "tide.schema"

typedef struct tlua_schema {
    tide_schema *schema;
    tide_error *err;   /* owned here, so a raise mid-build cannot leak it */
} tlua_schema;

/* ---- reading the description ----------------------------------------------- */

static const char *opt_str(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the string stays alive: the description table holds it */
    return s;
}

static int opt_int(lua_State *L, int t, const char *key, int def)
{
    lua_getfield(L, t, key);
    int v = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

/* An integer option: 1 and *out when present. */
static int opt_int64(lua_State *L, int t, const char *key, int64_t *out)
{
    lua_getfield(L, t, key);
    int present = lua_isinteger(L, -1);
    if (present)
        *out = (int64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return present;
}

/* -1 when absent, else 0 or 1. */
static int opt_tristate(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    int v = lua_isnil(L, -1) ? -1 : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A name from a fixed list, or an error naming the nearest. */
static int pick(lua_State *L, const char *what, const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(value, names[i]))
            return i;
    const char *near = tide_nearest(value, names, n);
    return luaL_error(L, "unknown %s '%s'%s%s%s", what, value, near ? "; did you mean '" : "", near ? near : "",
                      near ? "'?" : "");
}

static int raise_err(lua_State *L, tide_error *err)
{
    tlua_push_error(L, err);
    return lua_error(L);
}

/* The strings of a Lua list as a C array, in a userdata left on the stack. */
static const char **str_list(lua_State *L, int t, const char *key, int *n)
{
    *n = 0;
    if (lua_getfield(L, t, key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_pushnil(L); /* keep the stack shape: one slot */
        return NULL;
    }
    int len = (int)lua_rawlen(L, -1);
    const char **out = lua_newuserdatauv(L, (size_t)(len ? len : 1) * sizeof(char *), 0);
    for (int i = 0; i < len; i++) {
        lua_rawgeti(L, -2, i + 1);
        out[i] = lua_tostring(L, -1); /* anchored by the list */
        lua_pop(L, 1);
        if (!out[i])
            luaL_error(L, "%s: item %d is not a string", key, i + 1);
    }
    lua_remove(L, -2); /* the list; the userdata stays */
    *n = len;
    return out;
}

static void add_fields(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    static const char *const defaults[] = {"none", "literal", "now", "uuid", "sql", "client", "nextval"};
    static const char *const identities[] = {"none", "always", "by_default"};
    lua_getfield(L, mt, "fields");
    int ft = lua_gettop(L);
    for (lua_Integer i = 1; lua_rawgeti(L, ft, i) == LUA_TTABLE; i++) {
        int f = lua_gettop(L);
        tide_field_def d;
        tide_field_def_init(&d);
        d.name = opt_str(L, f, "name");
        d.column = opt_str(L, f, "column");
        const char *type = opt_str(L, f, "type");
        d.type = tide_type_from_name(type);
        d.type_name = opt_str(L, f, "type_name");
        d.length = opt_int(L, f, "length", 0);
        d.precision = opt_int(L, f, "precision", -1);
        d.scale = opt_int(L, f, "scale", -1);
        d.array_dims = opt_int(L, f, "array_dims", 0);
        d.nullable = opt_bool(L, f, "nullable");
        d.primary = opt_bool(L, f, "primary");
        d.unique = opt_bool(L, f, "unique");
        const char *identity = opt_str(L, f, "identity");
        d.identity = identity ? (tide_identity)pick(L, "identity", identity, identities, 3) : TIDE_IDENTITY_NONE;
        const char *dk = opt_str(L, f, "default_kind");
        d.default_kind = dk ? (tide_default_kind)pick(L, "default", dk, defaults, 7) : TIDE_DEFAULT_NONE;
        d.default_value = opt_str(L, f, "default_value");
        d.updated_at = opt_bool(L, f, "updated_at");
        d.generated = opt_str(L, f, "generated");
        d.check = opt_str(L, f, "check");
        d.omit = opt_bool(L, f, "omit");
        d.renamed_from = opt_str(L, f, "renamed_from");
        if (tide_model_add_field(m, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static tide_action action(lua_State *L, const char *name)
{
    static const char *const names[] = {"no_action", "restrict", "cascade", "set_null", "set_default"};
    if (!name)
        return TIDE_ACTION_DEFAULT;
    return (tide_action)(pick(L, "referential action", name, names, 5) + TIDE_ACTION_NO_ACTION);
}

static void add_relations(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    static const char *const kinds[] = {"belongs_to", "has_one", "has_many", "many_to_many"};
    lua_getfield(L, mt, "relations");
    int rt = lua_gettop(L);
    for (lua_Integer i = 1; lua_rawgeti(L, rt, i) == LUA_TTABLE; i++) {
        int r = lua_gettop(L);
        tide_relation_def d;
        tide_relation_def_init(&d);
        d.name = opt_str(L, r, "name");
        const char *kind = opt_str(L, r, "kind");
        d.kind = (tide_relation_kind)(pick(L, "relation kind", kind ? kind : "?", kinds, 4) + TIDE_REL_BELONGS_TO);
        d.target = opt_str(L, r, "target");
        int nf = 0, nr = 0;
        d.fields = str_list(L, r, "fields", &nf);
        d.references = str_list(L, r, "references", &nr);
        if (d.references && nr != nf)
            luaL_error(L, "%s.%s: %d fields but %d references", tide_model_name(m), d.name ? d.name : "?", nf, nr);
        d.nfields = nf;
        d.inverse = opt_str(L, r, "inverse");
        d.through = opt_str(L, r, "through");
        d.join_table = opt_str(L, r, "join_table");
        d.on_delete = action(L, opt_str(L, r, "on_delete"));
        d.on_update = action(L, opt_str(L, r, "on_update"));
        d.constraint_name = opt_str(L, r, "constraint");
        if (tide_model_add_relation(m, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_settop(L, r - 1);
    }
    lua_pop(L, 2);
}

static void add_indexes(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    static const char *const kinds[] = {"plain", "unique", "primary"};
    static const char *const methods[] = {"btree", "hash", "gin", "gist", "brin"};
    static const char *const nulls[] = {"default", "first", "last"};
    lua_getfield(L, mt, "indexes");
    int it = lua_gettop(L);
    for (lua_Integer i = 1; lua_rawgeti(L, it, i) == LUA_TTABLE; i++) {
        int x = lua_gettop(L);
        tide_index_def d;
        tide_index_def_init(&d);
        const char *kind = opt_str(L, x, "kind");
        d.kind = (tide_index_kind)pick(L, "index kind", kind ? kind : "plain", kinds, 3);
        d.name = opt_str(L, x, "name");
        const char *using = opt_str(L, x, "using");
        d.method = using ? (tide_index_method)pick(L, "index method", using, methods, 5) : TIDE_INDEX_BTREE;
        d.where = opt_str(L, x, "where");
        d.nulls_not_distinct = opt_bool(L, x, "nulls_not_distinct");
        lua_getfield(L, x, "parts");
        int pt = lua_gettop(L);
        int n = (int)lua_rawlen(L, pt);
        tide_index_part *parts = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *parts, 0);
        for (int k = 0; k < n; k++) {
            lua_rawgeti(L, pt, k + 1);
            int p = lua_gettop(L);
            parts[k].field = opt_str(L, p, "field");
            parts[k].expression = opt_str(L, p, "expression");
            parts[k].descending = opt_bool(L, p, "desc");
            const char *nl = opt_str(L, p, "nulls");
            parts[k].nulls = nl ? pick(L, "nulls order", nl, nulls, 3) : 0;
            lua_pop(L, 1);
        }
        d.parts = parts;
        d.nparts = n;
        if (tide_model_add_index(m, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_settop(L, x - 1);
    }
    lua_pop(L, 2);
}

static void add_checks(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    lua_getfield(L, mt, "checks");
    int ct = lua_gettop(L);
    for (lua_Integer i = 1; lua_rawgeti(L, ct, i) == LUA_TTABLE; i++) {
        int c = lua_gettop(L);
        if (tide_model_add_check(m, opt_str(L, c, "name"), opt_str(L, c, "expression"), err) != TIDE_OK)
            raise_err(L, err);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static void add_policies(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    lua_getfield(L, mt, "policies");
    int pt = lua_gettop(L);
    for (lua_Integer i = 1; lua_type(L, pt) == LUA_TTABLE && lua_rawgeti(L, pt, i) == LUA_TTABLE; i++) {
        int x = lua_gettop(L);
        tide_policy_def d;
        tide_policy_def_init(&d);
        d.name = opt_str(L, x, "name");
        d.command = opt_str(L, x, "command");
        d.using_expr = opt_str(L, x, "using");
        d.check = opt_str(L, x, "check");
        d.restrictive = opt_tristate(L, x, "permissive") == 0;
        d.roles = str_list(L, x, "roles", &d.nroles);
        if (tide_model_add_policy(m, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_settop(L, x - 1);
    }
    lua_settop(L, pt - 1);
}

/* kind, sql, with_data; rls, force_rls */
static void set_kind(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    static const char *const kinds[] = {"table", "view", "materialized_view"};
    const char *kind = opt_str(L, mt, "kind");
    int k = kind ? pick(L, "model kind", kind, kinds, 3) : 0;
    if (k) {
        tide_view_def v;
        tide_view_def_init(&v);
        v.kind = k == 1 ? TIDE_MODEL_VIEW : TIDE_MODEL_MATERIALIZED_VIEW;
        v.sql = opt_str(L, mt, "sql");
        v.with_data = opt_tristate(L, mt, "with_data") != 0;
        if (tide_model_set_view(m, &v, err) != TIDE_OK)
            raise_err(L, err);
    }
    int rls = opt_tristate(L, mt, "rls"), force = opt_tristate(L, mt, "force_rls");
    if ((rls >= 0 || force >= 0) && tide_model_set_rls(m, rls < 0 ? 1 : rls, force > 0, err) != TIDE_OK)
        raise_err(L, err);
}

static void add_sequences(lua_State *L, tide_schema *s, int desc, tide_error *err)
{
    lua_getfield(L, desc, "sequences");
    int st = lua_gettop(L);
    for (lua_Integer i = 1; lua_type(L, st) == LUA_TTABLE && lua_rawgeti(L, st, i) == LUA_TTABLE; i++) {
        int x = lua_gettop(L);
        tide_sequence_def d;
        tide_sequence_def_init(&d);
        d.name = opt_str(L, x, "name");
        d.pg_schema = opt_str(L, x, "pg_schema");
        d.has_start = opt_int64(L, x, "start", &d.start);
        d.has_min = opt_int64(L, x, "min", &d.min_value);
        d.has_max = opt_int64(L, x, "max", &d.max_value);
        opt_int64(L, x, "increment", &d.increment);
        opt_int64(L, x, "cache", &d.cache);
        d.cycle = opt_bool(L, x, "cycle");
        if (tide_schema_add_sequence(s, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_settop(L, x - 1);
    }
    lua_settop(L, st - 1);
}

static void add_functions(lua_State *L, tide_schema *s, int desc, tide_error *err)
{
    lua_getfield(L, desc, "functions");
    int ft = lua_gettop(L);
    for (lua_Integer i = 1; lua_type(L, ft) == LUA_TTABLE && lua_rawgeti(L, ft, i) == LUA_TTABLE; i++) {
        int x = lua_gettop(L);
        tide_function_def d;
        tide_function_def_init(&d);
        d.name = opt_str(L, x, "name");
        d.pg_schema = opt_str(L, x, "pg_schema");
        d.args = opt_str(L, x, "args");
        d.returns = opt_str(L, x, "returns");
        d.language = opt_str(L, x, "language");
        d.body = opt_str(L, x, "body");
        d.volatility = opt_str(L, x, "volatility");
        if (tide_schema_add_function(s, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_settop(L, x - 1);
    }
    lua_settop(L, ft - 1);
}

static void add_triggers(lua_State *L, tide_model *m, int mt, tide_error *err)
{
    lua_getfield(L, mt, "triggers");
    int tt = lua_gettop(L);
    for (lua_Integer i = 1; lua_type(L, tt) == LUA_TTABLE && lua_rawgeti(L, tt, i) == LUA_TTABLE; i++) {
        int x = lua_gettop(L);
        tide_trigger_def d;
        tide_trigger_def_init(&d);
        d.name = opt_str(L, x, "name");
        d.timing = opt_str(L, x, "timing");
        d.events = opt_int(L, x, "events", 0);
        d.for_each_row = opt_bool(L, x, "for_each_row");
        d.function = opt_str(L, x, "function");
        d.when = opt_str(L, x, "when");
        if (tide_model_add_trigger(m, &d, err) != TIDE_OK)
            raise_err(L, err);
        lua_settop(L, x - 1);
    }
    lua_settop(L, tt - 1);
}

/* core.schema_build(description) -> tide.schema userdata (finished) */
static int l_schema_build(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    tlua_schema *ud = lua_newuserdatauv(L, sizeof *ud, 0);
    ud->schema = NULL;
    ud->err = NULL;
    luaL_setmetatable(L, TLUA_SCHEMA);
    tide_error *err = ud->err = tide_error_new();
    if (!err)
        return luaL_error(L, "out of memory");
    ud->schema = tide_schema_new(err);
    if (!ud->schema)
        return raise_err(L, err);
    tide_schema *s = ud->schema;

    lua_getfield(L, 1, "enums");
    int et = lua_gettop(L);
    for (lua_Integer i = 1; lua_rawgeti(L, et, i) == LUA_TTABLE; i++) {
        int e = lua_gettop(L);
        int n;
        const char **values = str_list(L, e, "values", &n);
        if (tide_schema_add_enum(s, opt_str(L, e, "name"), opt_str(L, e, "pg_schema"), values, n, err) != TIDE_OK)
            return raise_err(L, err);
        int npairs;
        const char **pairs = str_list(L, e, "value_renames", &npairs);
        const char *renamed_from = opt_str(L, e, "renamed_from");
        if ((renamed_from || npairs) &&
            tide_schema_set_enum_renames(s, opt_str(L, e, "name"), renamed_from, pairs, npairs / 2, err) != TIDE_OK)
            return raise_err(L, err);
        lua_settop(L, e - 1);
    }
    lua_settop(L, 2);
    add_sequences(L, s, 1, err);
    add_functions(L, s, 1, err);

    lua_getfield(L, 1, "models");
    int mt = lua_gettop(L);
    for (lua_Integer i = 1; lua_rawgeti(L, mt, i) == LUA_TTABLE; i++) {
        int m = lua_gettop(L);
        tide_model *model = tide_schema_add_model(s, opt_str(L, m, "name"), opt_str(L, m, "table"),
                                                  opt_str(L, m, "pg_schema"), err);
        if (!model)
            return raise_err(L, err);
        add_fields(L, model, m, err);
        add_relations(L, model, m, err);
        add_indexes(L, model, m, err);
        add_checks(L, model, m, err);
        add_policies(L, model, m, err);
        add_triggers(L, model, m, err);
        set_kind(L, model, m, err);
        const char *was = opt_str(L, m, "renamed_from");
        if (was && tide_model_set_renamed_from(model, was, err) != TIDE_OK)
            return raise_err(L, err);
        const char *sd = opt_str(L, m, "soft_delete");
        if (sd && tide_model_set_soft_delete(model, sd, err) != TIDE_OK)
            return raise_err(L, err);
        lua_settop(L, m - 1);
    }
    lua_settop(L, 2);
    if (tide_schema_finish(s, err) != TIDE_OK)
        return raise_err(L, err);
    return 1;
}

static tlua_schema *check_schema(lua_State *L)
{
    tlua_schema *ud = luaL_checkudata(L, 1, TLUA_SCHEMA);
    if (!ud->schema)
        luaL_error(L, "the schema was freed");
    return ud;
}

/* schema:ddl() -> { "CREATE TYPE ...", "CREATE TABLE ...", ... } */
static int l_ddl(lua_State *L)
{
    tlua_schema *ud = check_schema(L);
    tide_ddl *ddl = NULL;
    if (tide_schema_ddl(ud->schema, &ddl, ud->err) != TIDE_OK)
        return raise_err(L, ud->err);
    int n = tide_ddl_count(ddl);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, tide_ddl_statement(ddl, i)); /* cannot fail short of OOM */
        lua_rawseti(L, -2, i + 1);
    }
    tide_ddl_free(ddl);
    return 1;
}

/* A list of field names: the relation's key fields on one side. */
static void push_names(lua_State *L, const tide_relation *r, int n,
                       const tide_field *(*field)(const tide_relation *, int))
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, tide_field_name(field(r, i)));
        lua_rawseti(L, -2, i + 1);
    }
}

/* schema:relation(model, name) -> { kind =, target =, keys =, target_keys =,
 * key =, target_key =, through = } or nil. keys are the fields of model
 * whose values identify the related rows, target_keys the target's fields
 * matched with them (several for a composite key, in order); key and
 * target_key name the one field of a single-field key. */
static int l_relation(lua_State *L)
{
    static const char *const kinds[] = {"?", "belongs_to", "has_one", "has_many", "many_to_many"};
    tlua_schema *ud = check_schema(L);
    const tide_model *m = tide_schema_model(ud->schema, luaL_checkstring(L, 2));
    const tide_relation *r = m ? tide_model_relation(m, luaL_checkstring(L, 3)) : NULL;
    if (!r)
        return 0;
    lua_createtable(L, 0, 7);
    lua_pushstring(L, kinds[tide_relation_kind_of(r)]);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, tide_model_name(tide_relation_target(r)));
    lua_setfield(L, -2, "target");
    int n = tide_relation_key_count(r), nt = tide_relation_target_key_count(r);
    push_names(L, r, n, tide_relation_key_field);
    lua_setfield(L, -2, "keys");
    push_names(L, r, nt, tide_relation_target_key_field);
    lua_setfield(L, -2, "target_keys");
    if (n == 1) {
        lua_pushstring(L, tide_field_name(tide_relation_key_field(r, 0)));
        lua_setfield(L, -2, "key");
    }
    if (nt == 1) {
        lua_pushstring(L, tide_field_name(tide_relation_target_key_field(r, 0)));
        lua_setfield(L, -2, "target_key");
    }
    lua_pushboolean(L, tide_relation_through(r) != NULL);
    lua_setfield(L, -2, "through");
    return 1;
}

/* schema:refresh_sql(model, concurrently) -> "REFRESH MATERIALIZED VIEW ..." */
static int l_refresh_sql(lua_State *L)
{
    tlua_schema *ud = check_schema(L);
    const char *name = luaL_checkstring(L, 2);
    tide_ddl *ddl = NULL;
    if (tide_schema_refresh_sql(ud->schema, name, lua_toboolean(L, 3), &ddl, ud->err) != TIDE_OK)
        return raise_err(L, ud->err);
    lua_pushstring(L, tide_ddl_statement(ddl, 0));
    tide_ddl_free(ddl);
    return 1;
}

/* ---- catalogs and diffs ------------------------------------------------------ */

/* A catalog from a schema userdata or catalog JSON at idx; NULL with err set. */
static tide_catalog *catalog_at(lua_State *L, int idx, tide_error *err)
{
    tide_catalog *c = NULL;
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *json = lua_tolstring(L, idx, &len);
        tide_catalog_from_json(json, len, &c, err);
    } else {
        tlua_schema *ud = luaL_checkudata(L, idx, TLUA_SCHEMA); /* checked by the caller */
        tide_catalog_from_schema(ud->schema, &c, err);
    }
    return c;
}

/* schema:snapshot() -> the catalog JSON of what the schema creates */
static int l_snapshot(lua_State *L)
{
    tlua_schema *ud = check_schema(L);
    tide_catalog *c = NULL;
    char *json = NULL;
    size_t len = 0;
    int rc = tide_catalog_from_schema(ud->schema, &c, ud->err);
    if (rc == TIDE_OK)
        rc = tide_catalog_to_json(c, &json, &len, ud->err);
    tide_catalog_free(c);
    if (rc != TIDE_OK)
        return raise_err(L, ud->err);
    lua_pushlstring(L, json, len); /* may raise on OOM: json would leak, as any OOM-raise here */
    tide_catalog_json_free(json);
    return 1;
}

static void push_list(lua_State *L, int n, const char *(*get)(const tide_diff *, int, int), const tide_diff *d, int i)
{
    lua_createtable(L, n, 0);
    for (int k = 0; k < n; k++) {
        lua_pushstring(L, get(d, i, k));
        lua_rawseti(L, -2, k + 1);
    }
}

/* core.diff(from, to) -> { { kind =, summary =, destructive =, irreversible =,
 * may_fail =, table =, pg_schema =, up = {sql...}, down = {sql...} }, ... };
 * from and to are each a schema or catalog JSON ("{}": an empty database) */
static int l_diff(lua_State *L)
{
    for (int i = 1; i <= 2; i++) {
        tlua_schema *ud = luaL_testudata(L, i, TLUA_SCHEMA);
        luaL_argexpected(L, lua_type(L, i) == LUA_TSTRING || (ud && ud->schema), i, "schema or catalog JSON");
    }
    tide_error *err = tide_error_new();
    if (!err)
        return luaL_error(L, "out of memory");
    tide_catalog *from = catalog_at(L, 1, err), *to = from ? catalog_at(L, 2, err) : NULL;
    tide_diff *d = NULL;
    if (from && to)
        tide_diff_new(from, to, &d, err);
    tide_catalog_free(from);
    tide_catalog_free(to);
    if (!d) {
        lua_pushfstring(L, "diff: %s", tide_error_message(err));
        tide_error_free(err);
        return lua_error(L);
    }
    tide_error_free(err);
    int n = tide_diff_count(d);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        int flags = tide_diff_flags(d, i);
        lua_createtable(L, 0, 9);
        lua_pushstring(L, tide_step_kind_name(tide_diff_kind(d, i)));
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, tide_diff_summary(d, i));
        lua_setfield(L, -2, "summary");
        lua_pushboolean(L, flags & TIDE_STEP_DESTRUCTIVE);
        lua_setfield(L, -2, "destructive");
        lua_pushboolean(L, flags & TIDE_STEP_IRREVERSIBLE);
        lua_setfield(L, -2, "irreversible");
        lua_pushboolean(L, flags & TIDE_STEP_MAY_FAIL);
        lua_setfield(L, -2, "may_fail");
        const char *ns = NULL, *table = tide_diff_table(d, i, &ns);
        lua_pushstring(L, table);
        lua_setfield(L, -2, "table");
        lua_pushstring(L, ns);
        lua_setfield(L, -2, "pg_schema");
        push_list(L, tide_diff_sql_count(d, i), tide_diff_sql, d, i);
        lua_setfield(L, -2, "up");
        push_list(L, tide_diff_down_count(d, i), tide_diff_down, d, i);
        lua_setfield(L, -2, "down");
        lua_rawseti(L, -2, i + 1);
    }
    tide_diff_free(d);
    return 1;
}

static int l_introspect_sql(lua_State *L)
{
    lua_pushstring(L, tide_introspect_sql());
    return 1;
}

static int l_gc(lua_State *L)
{
    tlua_schema *ud = luaL_checkudata(L, 1, TLUA_SCHEMA);
    tide_schema_free(ud->schema);
    tide_error_free(ud->err);
    ud->schema = NULL;
    ud->err = NULL;
    return 0;
}

tide_schema *tlua_check_schema(lua_State *L, int idx)
{
    tlua_schema *ud = luaL_checkudata(L, idx, TLUA_SCHEMA);
    if (!ud->schema)
        luaL_error(L, "the schema was freed");
    return ud->schema;
}

void tlua_open_schema(lua_State *L)
{
    static const luaL_Reg methods[] = {{"ddl", l_ddl}, {"relation", l_relation}, {"refresh_sql", l_refresh_sql},
                                           {"snapshot", l_snapshot}, {NULL, NULL}};
    if (luaL_newmetatable(L, TLUA_SCHEMA)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_schema_build);
    lua_setfield(L, -2, "schema_build");
    /* core.trigger_events: a trigger's events as the core's bits */
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, TIDE_TRIGGER_INSERT);
    lua_setfield(L, -2, "insert");
    lua_pushinteger(L, TIDE_TRIGGER_UPDATE);
    lua_setfield(L, -2, "update");
    lua_pushinteger(L, TIDE_TRIGGER_DELETE);
    lua_setfield(L, -2, "delete");
    lua_pushinteger(L, TIDE_TRIGGER_TRUNCATE);
    lua_setfield(L, -2, "truncate");
    lua_setfield(L, -2, "trigger_events");
    lua_pushcfunction(L, l_diff);
    lua_setfield(L, -2, "diff");
    lua_pushcfunction(L, l_introspect_sql);
    lua_setfield(L, -2, "introspect_sql");
}
