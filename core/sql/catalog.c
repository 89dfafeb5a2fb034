/* The catalog: building one (by the schema's DDL walk, by the JSON reader)
 * and looking things up in it. */
#include <string.h>
#include "tcat.h"

tide_catalog *tcat_new(void)
{
    tide_catalog *c = tutil_calloc(1, sizeof *c);
    if (c)
        tutil_arena_init(&c->arena);
    return c;
}

void tide_catalog_free(tide_catalog *c)
{
    if (!c)
        return;
    tutil_arena_free(&c->arena);
    tutil_free(c, sizeof *c);
}

char *tcat_str(tide_catalog *c, const char *s)
{
    if (!s)
        return NULL;
    char *copy = tutil_arena_strdup(&c->arena, s);
    if (!copy)
        c->oom = 1;
    return copy;
}

char **tcat_strs(tide_catalog *c, const char *const *list, int n)
{
    if (!list || n <= 0)
        return NULL;
    char **out = tutil_arena_alloc(&c->arena, (size_t)n * sizeof *out);
    if (!out) {
        c->oom = 1;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        out[i] = tcat_str(c, list[i]);
    return out;
}

/* Appends a zeroed item of size `size` to a list of pointers. */
static void *push(tide_catalog *c, void ***items, int *n, int *cap, size_t size)
{
    void *item = tutil_arena_alloc(&c->arena, size);
    if (!item || tutil_arena_grow(&c->arena, (void **)items, cap, *n + 1, sizeof(void *))) {
        c->oom = 1;
        return NULL;
    }
    (*items)[(*n)++] = item;
    return item;
}

tcat_table *tcat_add_table(tide_catalog *c, const char *schema, const char *name, char kind)
{
    tcat_table *t = push(c, (void ***)&c->tables, &c->ntables, &c->tables_cap, sizeof *t);
    if (t) {
        t->schema = tcat_str(c, schema);
        t->name = tcat_str(c, name);
        t->kind = kind;
        t->with_data = 1;
    }
    return t;
}

tcat_column *tcat_add_column(tide_catalog *c, tcat_table *t, const char *name, const char *type)
{
    tcat_column *col = push(c, (void ***)&t->cols, &t->ncols, &t->cols_cap, sizeof *col);
    if (col) {
        col->name = tcat_str(c, name);
        col->type = tcat_str(c, type ? type : "");
    }
    return col;
}

tcat_constraint *tcat_add_constraint(tide_catalog *c, tcat_table *t, char kind, const char *name)
{
    tcat_constraint *k = push(c, (void ***)&t->cons, &t->ncons, &t->cons_cap, sizeof *k);
    if (k) {
        k->kind = kind;
        k->name = tcat_str(c, name);
        k->on_delete = k->on_update = 'a';
    }
    return k;
}

tcat_index *tcat_add_index(tide_catalog *c, tcat_table *t, const char *name, int nparts)
{
    tcat_index *ix = push(c, (void ***)&t->idx, &t->nidx, &t->idx_cap, sizeof *ix);
    if (ix) {
        ix->name = tcat_str(c, name);
        ix->parts = tutil_arena_alloc(&c->arena, (size_t)(nparts > 0 ? nparts : 1) * sizeof *ix->parts);
        if (!ix->parts)
            c->oom = 1;
        else
            ix->nparts = nparts;
    }
    return ix;
}

tcat_policy *tcat_add_policy(tide_catalog *c, tcat_table *t, const char *name)
{
    tcat_policy *p = push(c, (void ***)&t->pols, &t->npols, &t->pols_cap, sizeof *p);
    if (p) {
        p->name = tcat_str(c, name);
        p->permissive = 1;
    }
    return p;
}

tcat_trigger *tcat_add_trigger(tide_catalog *c, tcat_table *t, const char *name)
{
    tcat_trigger *g = push(c, (void ***)&t->trigs, &t->ntrigs, &t->trigs_cap, sizeof *g);
    if (g)
        g->name = tcat_str(c, name);
    return g;
}

tcat_function *tcat_add_function(tide_catalog *c, const char *schema, const char *name)
{
    tcat_function *f = push(c, (void ***)&c->funcs, &c->nfuncs, &c->funcs_cap, sizeof *f);
    if (f) {
        f->schema = tcat_str(c, schema);
        f->name = tcat_str(c, name);
        f->volatility = 'v';
    }
    return f;
}

tcat_enum *tcat_add_enum(tide_catalog *c, const char *schema, const char *name)
{
    tcat_enum *e = push(c, (void ***)&c->enums, &c->nenums, &c->enums_cap, sizeof *e);
    if (e) {
        e->schema = tcat_str(c, schema);
        e->name = tcat_str(c, name);
    }
    return e;
}

tcat_sequence *tcat_add_sequence(tide_catalog *c, const char *schema, const char *name)
{
    tcat_sequence *q = push(c, (void ***)&c->seqs, &c->nseqs, &c->seqs_cap, sizeof *q);
    if (q) {
        q->schema = tcat_str(c, schema);
        q->name = tcat_str(c, name);
        q->increment = q->cache = q->min = q->start = 1;
        q->max = INT64_MAX;
    }
    return q;
}

void tcat_add_schema(tide_catalog *c, const char *schema)
{
    for (int i = 0; i < c->nschemas; i++)
        if (!strcmp(c->schemas[i], schema))
            return;
    if (tutil_arena_grow(&c->arena, (void **)&c->schemas, &c->schemas_cap, c->nschemas + 1, sizeof(char *))) {
        c->oom = 1;
        return;
    }
    char *s = tcat_str(c, schema);
    if (s)
        c->schemas[c->nschemas++] = s;
}

int tcat_same_schema(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

tcat_table *tcat_find_table(const tide_catalog *c, const char *schema, const char *name)
{
    for (int i = 0; c && name && i < c->ntables; i++)
        if (!strcmp(c->tables[i]->name, name) && tcat_same_schema(c->tables[i]->schema, schema))
            return c->tables[i];
    return NULL;
}

tcat_column *tcat_find_column(const tcat_table *t, const char *name)
{
    for (int i = 0; t && name && i < t->ncols; i++)
        if (!strcmp(t->cols[i]->name, name))
            return t->cols[i];
    return NULL;
}

char tcat_action(tide_action a)
{
    switch (a) {
    case TIDE_ACTION_RESTRICT: return 'r';
    case TIDE_ACTION_CASCADE: return 'c';
    case TIDE_ACTION_SET_NULL: return 'n';
    case TIDE_ACTION_SET_DEFAULT: return 'd';
    default: return 'a';
    }
}

/* PostgreSQL's reserved words (the ones a column or type name might hit):
 * quote_ident quotes them. */
static const char *const reserved[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
    "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
    "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
    "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
    "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
    "session_user", "some", "symmetric", "table", "then", "to", "trailing", "true", "union", "unique", "user",
    "using", "variadic", "when", "where", "window", "with",
};

void tcat_quote_if_needed(tutil_buf *b, const char *name)
{
    int safe = (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_';
    for (const char *p = name; safe && *p; p++)
        safe = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    for (size_t i = 0; safe && i < sizeof reserved / sizeof reserved[0]; i++)
        safe = strcmp(name, reserved[i]) != 0;
    if (safe) {
        tutil_buf_adds(b, name);
        return;
    }
    tsql_postgres.quote_ident(b, name);
}

static void precision(tutil_buf *b, const tide_field *f)
{
    if (f->precision >= 0)
        tutil_buf_addf(b, "(%d)", f->precision);
}

void tcat_type(tutil_buf *b, const tide_field *f)
{
    switch (f->type) {
    case TIDE_T_SMALLINT: case TIDE_T_SMALLSERIAL: tutil_buf_adds(b, "smallint"); break;
    case TIDE_T_INTEGER: case TIDE_T_SERIAL: tutil_buf_adds(b, "integer"); break;
    case TIDE_T_BIGINT: case TIDE_T_BIGSERIAL: tutil_buf_adds(b, "bigint"); break;
    case TIDE_T_REAL: tutil_buf_adds(b, "real"); break;
    case TIDE_T_DOUBLE: tutil_buf_adds(b, "double precision"); break;
    case TIDE_T_NUMERIC:
        tutil_buf_adds(b, "numeric");
        if (f->precision >= 0)
            tutil_buf_addf(b, "(%d,%d)", f->precision, f->scale >= 0 ? f->scale : 0);
        break;
    case TIDE_T_TEXT: tutil_buf_adds(b, "text"); break;
    case TIDE_T_VARCHAR:
        tutil_buf_adds(b, "character varying");
        if (f->length > 0)
            tutil_buf_addf(b, "(%d)", f->length);
        break;
    case TIDE_T_CHAR: tutil_buf_addf(b, "character(%d)", f->length > 0 ? f->length : 1); break;
    case TIDE_T_BOOLEAN: tutil_buf_adds(b, "boolean"); break;
    case TIDE_T_BYTEA: tutil_buf_adds(b, "bytea"); break;
    case TIDE_T_UUID: tutil_buf_adds(b, "uuid"); break;
    case TIDE_T_DATE: tutil_buf_adds(b, "date"); break;
    case TIDE_T_TIME: case TIDE_T_TIMETZ:
        tutil_buf_adds(b, "time");
        precision(b, f);
        tutil_buf_adds(b, f->type == TIDE_T_TIMETZ ? " with time zone" : " without time zone");
        break;
    case TIDE_T_TIMESTAMP: case TIDE_T_TIMESTAMPTZ:
        tutil_buf_adds(b, "timestamp");
        precision(b, f);
        tutil_buf_adds(b, f->type == TIDE_T_TIMESTAMPTZ ? " with time zone" : " without time zone");
        break;
    case TIDE_T_INTERVAL:
        tutil_buf_adds(b, "interval");
        precision(b, f);
        break;
    case TIDE_T_JSON: tutil_buf_adds(b, "json"); break;
    case TIDE_T_JSONB: tutil_buf_adds(b, "jsonb"); break;
    case TIDE_T_INET: tutil_buf_adds(b, "inet"); break;
    case TIDE_T_CIDR: tutil_buf_adds(b, "cidr"); break;
    case TIDE_T_TSVECTOR: tutil_buf_adds(b, "tsvector"); break;
    case TIDE_T_ENUM:
        if (f->enum_ref && f->enum_ref->pg_schema) {
            tcat_quote_if_needed(b, f->enum_ref->pg_schema);
            tutil_buf_addc(b, '.');
        }
        tcat_quote_if_needed(b, f->enum_ref ? f->enum_ref->name : f->type_name);
        break;
    case TIDE_T_CUSTOM: tutil_buf_adds(b, f->type_name); break;
    default: break;
    }
    /* the server keeps no dimensions: int[][] is int[] */
    if (f->array_dims)
        tutil_buf_adds(b, "[]");
}

int tide_catalog_from_schema(const tide_schema *s, tide_catalog **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (!s || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_catalog_from_schema: no schema or no place for the result");
        return TIDE_MISUSE;
    }
    if (!s->finished) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_catalog_from_schema: the schema is not finished");
        return TIDE_MISUSE;
    }
    tide_catalog *c = tcat_new();
    if (!c || tsql_schema_walk(s, NULL, c) != TIDE_OK || c->oom) {
        tide_catalog_free(c);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    *out = c;
    return TIDE_OK;
}

void tcat_function_sql(tutil_buf *b, const tsql_dialect *d, const tcat_function *f, int replace)
{
    tutil_buf_adds(b, replace ? "CREATE OR REPLACE FUNCTION " : "CREATE FUNCTION ");
    tsql_qualified(b, d, f->schema, f->name);
    tutil_buf_addc(b, '(');
    tutil_buf_adds(b, f->args ? f->args : "");
    tutil_buf_adds(b, ") RETURNS ");
    tutil_buf_adds(b, f->returns);
    tutil_buf_adds(b, " LANGUAGE ");
    tcat_quote_if_needed(b, f->language);
    if (f->volatility == 's')
        tutil_buf_adds(b, " STABLE");
    else if (f->volatility == 'i')
        tutil_buf_adds(b, " IMMUTABLE");
    tutil_buf_adds(b, " AS ");
    d->quote_literal(b, f->body ? f->body : "");
}

void tcat_drop_function_sql(tutil_buf *b, const tsql_dialect *d, const tcat_function *f)
{
    tutil_buf_adds(b, "DROP FUNCTION ");
    tsql_qualified(b, d, f->schema, f->name);
    tutil_buf_addc(b, '(');
    tutil_buf_adds(b, f->args ? f->args : "");
    tutil_buf_addc(b, ')');
}

void tcat_trigger_sql(tutil_buf *b, const tsql_dialect *d, const tcat_table *t, const tcat_trigger *g)
{
    static const struct { int bit; const char *word; } events[] = {
        {TIDE_TRIGGER_INSERT, "INSERT"}, {TIDE_TRIGGER_UPDATE, "UPDATE"},
        {TIDE_TRIGGER_DELETE, "DELETE"}, {TIDE_TRIGGER_TRUNCATE, "TRUNCATE"},
    };
    tutil_buf_adds(b, "CREATE TRIGGER ");
    d->quote_ident(b, g->name);
    tutil_buf_adds(b, g->type & TCAT_TRIGGER_INSTEAD ? " INSTEAD OF" : g->type & TCAT_TRIGGER_BEFORE ? " BEFORE" : " AFTER");
    int first = 1;
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (g->type & events[i].bit) {
            tutil_buf_adds(b, first ? " " : " OR ");
            tutil_buf_adds(b, events[i].word);
            first = 0;
        }
    tutil_buf_adds(b, " ON ");
    tsql_qualified(b, d, t->schema, t->name);
    tutil_buf_adds(b, g->type & TCAT_TRIGGER_ROW ? " FOR EACH ROW" : " FOR EACH STATEMENT");
    if (g->when) {
        tutil_buf_adds(b, " WHEN (");
        tutil_buf_adds(b, g->when);
        tutil_buf_addc(b, ')');
    }
    tutil_buf_adds(b, " EXECUTE FUNCTION ");
    tsql_qualified(b, d, g->func_schema, g->func_name);
    tutil_buf_adds(b, "()");
}

void tcat_drop_trigger_sql(tutil_buf *b, const tsql_dialect *d, const tcat_table *t, const tcat_trigger *g)
{
    tutil_buf_adds(b, "DROP TRIGGER ");
    d->quote_ident(b, g->name);
    tutil_buf_adds(b, " ON ");
    tsql_qualified(b, d, t->schema, t->name);
}
