/* The model query compiler: a description tree (desc.c) and a schema in,
 * SQL with numbered placeholders out. Every name is checked against the
 * schema or a fixed list first; the first problem stops the compile with the
 * name that was wrong and the nearest valid one. Values are never read here
 * except for their kind (a table where a scalar belongs is refused) and the
 * text of options. */
#include <stdio.h>
#include <string.h>
#include "tquery.h"

#define ALIAS "t0"

typedef struct cc {
    const tide_schema *s;
    const tide_model *m;
    const tide_desc *d;
    const tide_value *values;
    const tsql_dialect *dia;
    tide_op op;
    tutil_buf *b;
    tide_error *err;
    int failed;
    int outer;          /* columns are read from the subquery "s" by field name */
    char alias[16];     /* the table alias columns are read from: t0, t1 ... */
    int depth;          /* relation filter nesting */
    int with_deleted;   /* soft-deleted rows are not filtered out */
    int inc;            /* include nesting: aliases i1, i2 ... */
    int parents;        /* _via parent subqueries: aliases p1, p2 ... */
} cc;

static const char *op_name(tide_op op)
{
    static const char *const names[] = {"?", "find_many", "find_first", "find_unique", "count", "create",
                                        "update", "update_many", "delete", "delete_many", "create_many",
                                        "create_many_and_return", "upsert", "link", "unlink", "aggregate",
                                        "group_by", "update_many_and_return"};
    return op >= TIDE_OP_FIND_MANY && op <= TIDE_OP_UPDATE_MANY_AND_RETURN ? names[op] : "?";
}

static void fail(cc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(cc *c, const char *fmt, ...)
{
    if (c->failed)
        return; /* the first problem is the one reported */
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->failed = 1;
    tutil_error_set(c->err, TIDE_E_INVALID_ARGUMENT, msg);
}

/* "; did you mean 'x'?" for name among the fixed list */
static const char *near_in(char *buf, size_t size, const char *name, const char *const *list, int n)
{
    const char *near = tide_nearest(name, list, n);
    if (!near)
        return "";
    snprintf(buf, size, "; did you mean '%s'?", near);
    return buf;
}

static const char *near_field(char *buf, size_t size, const tide_model *m, const char *name, int relations)
{
    const char *names[300];
    int n = 0;
    for (int i = 0; i < m->nfields && n < 300; i++)
        names[n++] = m->fields[i]->name;
    for (int i = 0; relations && i < m->nrelations && n < 300; i++)
        if (m->relations[i]->name)
            names[n++] = m->relations[i]->name;
    return near_in(buf, size, name, names, n);
}

static const tsql_node *node(const cc *c, tide_node n) { return &c->d->nodes[n]; }
static const tide_value *leaf_value(const cc *c, tide_node n) { return &c->values[node(c, n)->slot]; }

static void ident(cc *c, const char *name) { c->dia->quote_ident(c->b, name); }

static void column(cc *c, const tide_field *f)
{
    ident(c, c->outer ? "s" : c->alias);
    tutil_buf_addc(c->b, '.');
    ident(c, c->outer ? f->name : f->column);
}

static void placeholder(cc *c, tide_node n);
static void array_cast(cc *c, const tide_field *f);

/* The placeholder of a value written to or compared with field f. */
static void value_of(cc *c, const tide_field *f, tide_node n)
{
    placeholder(c, n);
    if (tsql_custom_array(f)) {
        tutil_buf_adds(c->b, "::text[]::");
        c->dia->type_name(c->b, f);
    }
}

static void placeholder(cc *c, tide_node n)
{
    int p = node(c, n)->param;
    if (p <= 0) {
        fail(c, "internal: a value without a placeholder");
        return;
    }
    c->dia->placeholder(c->b, p);
}

/* The text of an option leaf, or NULL (and a failure) when it is not text. */
static const char *option_text(cc *c, tide_node n, const char *what, char *buf, size_t size)
{
    if (node(c, n)->type != TSQL_LEAF || leaf_value(c, n)->kind != TIDE_KIND_TEXT) {
        fail(c, "%s: expected a name (a string)", what);
        return NULL;
    }
    const tide_value *v = leaf_value(c, n);
    size_t len = v->as.s.len < size - 1 ? v->as.s.len : size - 1;
    memcpy(buf, v->as.s.ptr, len);
    buf[len] = '\0';
    return buf;
}

static int is_text_field(const tide_field *f)
{
    return !f->array_dims && (f->type == TIDE_T_TEXT || f->type == TIDE_T_VARCHAR || f->type == TIDE_T_CHAR ||
                              f->type == TIDE_T_CUSTOM);
}

static int is_number_field(const tide_field *f)
{
    switch (f->type) {
    case TIDE_T_SMALLINT: case TIDE_T_INTEGER: case TIDE_T_BIGINT: case TIDE_T_SMALLSERIAL: case TIDE_T_SERIAL:
    case TIDE_T_BIGSERIAL: case TIDE_T_REAL: case TIDE_T_DOUBLE: case TIDE_T_NUMERIC:
        return !f->array_dims;
    default:
        return 0;
    }
}

/* A table (JSON leaf) is a value only for array and json fields. */
static int check_scalar(cc *c, const tide_field *f, tide_node n, const char *op)
{
    if (node(c, n)->type != TSQL_LEAF) {
        fail(c, "%s.%s: %s takes a value, not a table of options", c->m->name, f->name, op);
        return 0;
    }
    if (leaf_value(c, n)->kind == TIDE_KIND_JSON && !f->array_dims && f->type != TIDE_T_JSON &&
        f->type != TIDE_T_JSONB) {
        fail(c, "%s.%s: a table where a value of type %s is expected%s", c->m->name, f->name,
             tide_type_name(f->type), !strcmp(op, "equals") ? " (for operators use { equals = ... })" : "");
        return 0;
    }
    return 1;
}

/* ---- where ------------------------------------------------------------------ */

static void where_object(cc *c, tide_node obj);
static void order_by_relation(cc *c, const tide_relation *r, tide_node v, int *n);
static void order_by_aggregate(cc *c, const char *agg, tide_node v, int *n);
static void related_from(cc *c, const tide_relation *r, const char *outer_alias, const char *inner,
                         const char *join);
static void relation_filter(cc *c, const tide_relation *r, tide_node v);
static void json_path_like(cc *c, const tide_field *f, tide_node v, tide_node o, const char *op);
static void live_rows(cc *c, const tide_model *m, const char *alias, const char *prefix);
static void from(cc *c);
static void table_as(cc *c);
static int has_equality(cc *c, tide_node where, const tide_field *f);
/* pairs of a JSON object being written: json_build_object takes at most 100
 * arguments, so a longer object is jsonb_build_object chunks joined by || */
typedef struct jpairs {
    int n;
} jpairs;
enum { COUNT_COLUMNS, COUNT_OUTER, COUNT_JSON };
static void count_columns(cc *c, tide_node root, int mode, jpairs *jp);
static void json_key(cc *c, jpairs *jp, const char *name);

static const char *const filter_ops[] = {"equals", "not", "not_", "in", "in_", "not_in", "lt", "lte", "gt", "gte",
                                         "contains", "starts_with", "ends_with", "mode", "has", "has_some",
                                         "has_every", "is_empty", "search", "path"};

/* { _field = "other" }: a column of the same row instead of a value */
static const tide_field *field_ref(cc *c, tide_node v)
{
    char h[160], buf[80];
    if (node(c, v)->type != TSQL_OBJECT)
        return NULL;
    tide_node fr = tsql_child(c->d, v, "_field");
    if (fr < 0 || node(c, v)->count != 1)
        return NULL;
    const char *name = option_text(c, fr, "tide.field", buf, sizeof buf);
    if (!name)
        return NULL;
    const tide_field *f = tide_model_field(c->m, name);
    if (!f)
        fail(c, "tide.field: unknown field '%s' on %s%s", name, c->m->name, near_field(h, sizeof h, c->m, name, 0));
    return f;
}

static void compare(cc *c, const tide_field *f, tide_node v, const char *sqlop, int insensitive)
{
    const tide_field *other = field_ref(c, v);
    if (other || c->failed) {
        if (c->failed)
            return;
        if (insensitive && !is_text_field(other))
            return fail(c, "tide.field: mode = 'insensitive' compares text fields; %s.%s is %s", c->m->name,
                        other->name, tide_type_name(other->type));
        tutil_buf_adds(c->b, insensitive ? "lower(" : "");
        column(c, f);
        tutil_buf_addf(c->b, "%s %s %s", insensitive ? ")" : "", sqlop, insensitive ? "lower(" : "");
        column(c, other);
        tutil_buf_adds(c->b, insensitive ? ")" : "");
        return;
    }
    if (!check_scalar(c, f, v, "a comparison"))
        return;
    if (leaf_value(c, v)->kind == TIDE_KIND_NULL) {
        column(c, f);
        tutil_buf_adds(c->b, !strcmp(sqlop, "=") ? " IS NULL" : " IS NOT NULL");
        if (strcmp(sqlop, "=") && strcmp(sqlop, "<>"))
            fail(c, "%s.%s: cannot order-compare with null", c->m->name, f->name);
        return;
    }
    if (insensitive) {
        tutil_buf_adds(c->b, "lower(");
        column(c, f);
        tutil_buf_addf(c->b, ") %s lower(", sqlop);
        placeholder(c, v);
        tutil_buf_addc(c->b, ')');
        return;
    }
    column(c, f);
    tutil_buf_addf(c->b, " %s ", sqlop);
    value_of(c, f, v);
}

/* LIKE metacharacters in the value match literally: the escaping is done by
 * the server, so the value stays a parameter. */
static void like(cc *c, const tide_field *f, tide_node v, const char *op, int insensitive)
{
    if (!is_text_field(f)) {
        fail(c, "%s.%s: %s works on text fields, not %s", c->m->name, f->name, op, tide_type_name(f->type));
        return;
    }
    if (!check_scalar(c, f, v, op))
        return;
    if (leaf_value(c, v)->kind == TIDE_KIND_NULL) {
        fail(c, "%s.%s: %s takes a string, not null", c->m->name, f->name, op);
        return;
    }
    column(c, f);
    tutil_buf_adds(c->b, insensitive ? " ILIKE " : " LIKE ");
    if (strcmp(op, "starts_with"))
        tutil_buf_adds(c->b, "'%' || ");
    tutil_buf_adds(c->b, "replace(replace(replace(");
    placeholder(c, v);
    tutil_buf_adds(c->b, ", '\\', '\\\\'), '%', '\\%'), '_', '\\_')");
    if (strcmp(op, "ends_with"))
        tutil_buf_adds(c->b, " || '%'");
}

static void in_list(cc *c, const tide_field *f, tide_node v, int negate)
{
    if (node(c, v)->type != TSQL_LEAF || (leaf_value(c, v)->kind != TIDE_KIND_JSON)) {
        fail(c, "%s.%s: %s takes a list of values", c->m->name, f->name, negate ? "not_in" : "in");
        return;
    }
    /* one array parameter, whatever the length: {} matches nothing */
    column(c, f);
    tutil_buf_adds(c->b, negate ? " <> ALL(" : " = ANY(");
    placeholder(c, v);
    if (!f->array_dims && (f->type == TIDE_T_ENUM || f->type == TIDE_T_CUSTOM))
        array_cast(c, f); /* a list of them: the same unknown-OID case */
    tutil_buf_addc(c->b, ')');
}

/* has (an element), has_some, has_every (lists), is_empty (bool): arrays */
static void array_filter(cc *c, const tide_field *f, tide_node o, const char *op)
{
    if (!f->array_dims)
        return fail(c, "%s.%s: %s works on array fields", c->m->name, f->name, op);
    if (node(c, o)->type != TSQL_LEAF)
        return fail(c, "%s.%s: %s takes a value", c->m->name, f->name, op);
    const tide_value *v = leaf_value(c, o);
    if (!strcmp(op, "is_empty")) {
        if (v->kind != TIDE_KIND_BOOL)
            return fail(c, "%s.%s: is_empty takes true or false", c->m->name, f->name);
        /* the value is a parameter: NOT $n flips it in SQL */
        tutil_buf_adds(c->b, "(coalesce(cardinality(");
        column(c, f);
        tutil_buf_adds(c->b, "), 0) = 0) = ");
        placeholder(c, o);
        return;
    }
    if (!strcmp(op, "has")) {
        if (v->kind == TIDE_KIND_JSON || v->kind == TIDE_KIND_NULL)
            return fail(c, "%s.%s: has takes one value", c->m->name, f->name);
        placeholder(c, o);
        tutil_buf_adds(c->b, " = ANY(");
        column(c, f);
        tutil_buf_addc(c->b, ')');
        return;
    }
    if (v->kind != TIDE_KIND_JSON)
        return fail(c, "%s.%s: %s takes a list", c->m->name, f->name, op);
    column(c, f);
    tutil_buf_adds(c->b, !strcmp(op, "has_some") ? " && " : " @> ");
    value_of(c, f, o);
}

/* The json value at path: #> with the path bound as a text[] parameter (a
 * list of keys; array positions as strings), or one key. */
static int json_path(cc *c, const tide_field *f, tide_node v, int as_text)
{
    tide_node p = tsql_child(c->d, v, "path");
    if (node(c, p)->type != TSQL_LEAF ||
        (leaf_value(c, p)->kind != TIDE_KIND_JSON && leaf_value(c, p)->kind != TIDE_KIND_TEXT))
        return fail(c, "%s.%s: path is a list of keys (strings)", c->m->name, f->name), 0;
    column(c, f);
    tutil_buf_adds(c->b, as_text ? " #>> " : " #> ");
    if (leaf_value(c, p)->kind == TIDE_KIND_TEXT) {
        tutil_buf_adds(c->b, "ARRAY[");
        placeholder(c, p);
        tutil_buf_adds(c->b, "::text]");
    } else {
        placeholder(c, p);
        tutil_buf_adds(c->b, "::text[]");
    }
    return 1;
}

/* { path = {...}, equals = v } and the other comparisons, on the value at
 * path: compared as jsonb (equals/not) or as text (string filters). */
static void json_path_filter(cc *c, const tide_field *f, tide_node v)
{
    int n = 0;
    for (tide_node o = node(c, v)->first; o >= 0 && !c->failed; o = node(c, o)->next) {
        const char *op = tsql_key(c->d, o);
        if (!strcmp(op, "path"))
            continue;
        if (n++)
            tutil_buf_adds(c->b, " AND ");
        if (!strcmp(op, "equals") || !strcmp(op, "not") || !strcmp(op, "not_")) {
            if (node(c, o)->type != TSQL_LEAF)
                return fail(c, "%s.%s: %s takes a value", c->m->name, f->name, op);
            tutil_buf_addc(c->b, '(');
            if (!json_path(c, f, v, 0))
                return;
            tutil_buf_adds(c->b, f->type == TIDE_T_JSONB ? ")" : ")::jsonb");
            tutil_buf_adds(c->b, !strcmp(op, "equals") ? " = " : " IS DISTINCT FROM ");
            tide_kind k = leaf_value(c, o)->kind;
            if (k == TIDE_KIND_NULL) {
                tutil_buf_adds(c->b, "'null'::jsonb"); /* JSON's null */
                continue;
            }
            if (k == TIDE_KIND_JSON) {
                placeholder(c, o);
                tutil_buf_adds(c->b, "::jsonb");
                continue;
            }
            /* the value as the JSON scalar of its kind */
            tutil_buf_adds(c->b, "to_jsonb(");
            placeholder(c, o);
            tutil_buf_adds(c->b, k == TIDE_KIND_BOOL ? "::boolean)" : k == TIDE_KIND_TEXT ? "::text)" : "::numeric)");
        } else if (!strcmp(op, "contains") || !strcmp(op, "starts_with") || !strcmp(op, "ends_with")) {
            json_path_like(c, f, v, o, op);
        } else if (!strcmp(op, "lt") || !strcmp(op, "lte") || !strcmp(op, "gt") || !strcmp(op, "gte")) {
            const char *sym = !strcmp(op, "lt") ? "<" : !strcmp(op, "lte") ? "<=" : !strcmp(op, "gt") ? ">" : ">=";
            tutil_buf_adds(c->b, "(");
            if (!json_path(c, f, v, 1))
                return;
            tutil_buf_adds(c->b, ")::numeric ");
            tutil_buf_adds(c->b, sym);
            tutil_buf_adds(c->b, " ");
            placeholder(c, o);
        } else {
            static const char *const json_ops[] = {"path", "equals", "not", "contains", "starts_with", "ends_with",
                                                   "lt", "lte", "gt", "gte"};
            char h[160];
            return fail(c, "unknown json filter '%s' on %s.%s%s", op, c->m->name, f->name,
                        near_in(h, sizeof h, op, json_ops, 10));
        }
    }
    if (n == 0)
        fail(c, "%s.%s: path needs a comparison (equals, contains ...)", c->m->name, f->name);
}

static void json_path_like(cc *c, const tide_field *f, tide_node v, tide_node o, const char *op)
{
    if (node(c, o)->type != TSQL_LEAF || leaf_value(c, o)->kind != TIDE_KIND_TEXT)
        return fail(c, "%s.%s: %s takes a string", c->m->name, f->name, op);
    tutil_buf_addc(c->b, '(');
    if (!json_path(c, f, v, 1))
        return;
    tutil_buf_adds(c->b, ") LIKE ");
    if (strcmp(op, "starts_with"))
        tutil_buf_adds(c->b, "'%' || ");
    tutil_buf_adds(c->b, "replace(replace(replace(");
    placeholder(c, o);
    tutil_buf_adds(c->b, ", '\\', '\\\\'), '%', '\\%'), '_', '\\_')");
    if (strcmp(op, "ends_with"))
        tutil_buf_adds(c->b, " || '%'");
}

static void field_filter(cc *c, const tide_field *f, tide_node v)
{
    char h[160], buf[64];
    if (node(c, v)->type == TSQL_LEAF || (node(c, v)->type == TSQL_OBJECT && tsql_child(c->d, v, "_field") >= 0 &&
                                          node(c, v)->count == 1)) {
        compare(c, f, v, "=", 0); /* a value, or tide.field */
        return;
    }
    if (node(c, v)->type != TSQL_OBJECT) {
        fail(c, "%s.%s: expected a value or a table of operators", c->m->name, f->name);
        return;
    }
    int insensitive = 0;
    tide_node mode = tsql_child(c->d, v, "mode");
    if (mode >= 0) {
        const char *t = option_text(c, mode, "mode", buf, sizeof buf);
        if (!t)
            return;
        if (!strcmp(t, "insensitive"))
            insensitive = 1;
        else if (strcmp(t, "default"))
            return fail(c, "%s.%s: unknown mode '%s'; it is 'insensitive' or 'default'", c->m->name, f->name, t);
        if (insensitive && !is_text_field(f))
            return fail(c, "%s.%s: mode = 'insensitive' works on text fields", c->m->name, f->name);
    }
    if (tsql_child(c->d, v, "path") >= 0 && (f->type == TIDE_T_JSON || f->type == TIDE_T_JSONB) &&
        !f->array_dims) {
        json_path_filter(c, f, v);
        return;
    }
    int n = 0;
    for (tide_node o = node(c, v)->first; o >= 0 && !c->failed; o = node(c, o)->next) {
        const char *op = tsql_key(c->d, o);
        if (!strcmp(op, "mode"))
            continue;
        if (n++)
            tutil_buf_adds(c->b, " AND ");
        if (!strcmp(op, "equals")) compare(c, f, o, "=", insensitive);
        else if (!strcmp(op, "lt")) compare(c, f, o, "<", 0);
        else if (!strcmp(op, "lte")) compare(c, f, o, "<=", 0);
        else if (!strcmp(op, "gt")) compare(c, f, o, ">", 0);
        else if (!strcmp(op, "gte")) compare(c, f, o, ">=", 0);
        /* in is a Lua keyword: in_ spares writing ["in"] */
        else if (!strcmp(op, "in") || !strcmp(op, "in_")) in_list(c, f, o, 0);
        else if (!strcmp(op, "not_in")) in_list(c, f, o, 1);
        else if ((!strcmp(op, "contains") || !strcmp(op, "starts_with") || !strcmp(op, "ends_with")) &&
                 f->type == TIDE_T_JSONB && !f->array_dims && tsql_child(c->d, v, "path") >= 0)
            json_path_like(c, f, v, o, op);
        else if (!strcmp(op, "contains") || !strcmp(op, "starts_with") || !strcmp(op, "ends_with"))
            like(c, f, o, op, insensitive);
        else if (!strcmp(op, "has") || !strcmp(op, "has_some") || !strcmp(op, "has_every") ||
                 !strcmp(op, "is_empty"))
            array_filter(c, f, o, op);
        else if (!strcmp(op, "search")) {
            if (f->type != TIDE_T_TSVECTOR)
                return fail(c, "%s.%s: search works on a tsvector field", c->m->name, f->name);
            if (!check_scalar(c, f, o, "search") || leaf_value(c, o)->kind != TIDE_KIND_TEXT)
                return fail(c, "%s.%s: search takes a string", c->m->name, f->name);
            column(c, f);
            tutil_buf_adds(c->b, " @@ websearch_to_tsquery(");
            placeholder(c, o);
            tutil_buf_addc(c->b, ')');
        } else if (!strcmp(op, "path")) {
            n--; /* read with its comparison below */
            if (f->type != TIDE_T_JSON && f->type != TIDE_T_JSONB)
                return fail(c, "%s.%s: path works on json fields", c->m->name, f->name);
            continue;
        }
        else if (!strcmp(op, "not") || !strcmp(op, "not_")) { /* not_: not is a Lua keyword */
            if (node(c, o)->type == TSQL_LEAF ||
                (node(c, o)->type == TSQL_OBJECT && tsql_child(c->d, o, "_field") >= 0 && node(c, o)->count == 1)) {
                compare(c, f, o, "<>", insensitive);
            } else {
                tutil_buf_adds(c->b, "NOT (");
                field_filter(c, f, o);
                tutil_buf_addc(c->b, ')');
            }
        } else {
            fail(c, "unknown filter '%s' on %s.%s%s", op, c->m->name, f->name,
                 near_in(h, sizeof h, op, filter_ops, (int)(sizeof filter_ops / sizeof filter_ops[0])));
        }
    }
    if (n == 0)
        tutil_buf_adds(c->b, "TRUE");
}

/* AND / OR / NOT take one condition object or a list of them. */
static void logical(cc *c, const char *key, tide_node v)
{
    int is_or = !strcmp(key, "OR"), is_not = !strcmp(key, "NOT");
    const char *join = is_or ? " OR " : " AND ";
    const tide_value *lv = node(c, v)->type == TSQL_LEAF ? leaf_value(c, v) : NULL;
    int empty_list = lv && lv->kind == TIDE_KIND_JSON && lv->as.s.len == 2 &&
                     (!memcmp(lv->as.s.ptr, "[]", 2) || !memcmp(lv->as.s.ptr, "{}", 2));
    if ((node(c, v)->type == TSQL_OBJECT && node(c, v)->count == 0) || empty_list) {
        /* {} is the empty list Lua cannot tell from an empty table: OR of
         * nothing matches nothing, AND and NOT of nothing constrain nothing */
        tutil_buf_adds(c->b, is_or ? "FALSE" : "TRUE");
        return;
    }
    if (node(c, v)->type == TSQL_OBJECT) {
        tutil_buf_adds(c->b, is_not ? "NOT (" : "(");
        where_object(c, v);
        tutil_buf_addc(c->b, ')');
        return;
    }
    if (node(c, v)->type != TSQL_ARRAY) {
        fail(c, "%s takes a condition or a list of conditions", key);
        return;
    }
    if (node(c, v)->count == 0) {
        /* OR of nothing is false; AND and NOT of nothing constrain nothing */
        tutil_buf_adds(c->b, is_or ? "FALSE" : "TRUE");
        return;
    }
    tutil_buf_addc(c->b, '(');
    int i = 0;
    for (tide_node e = node(c, v)->first; e >= 0 && !c->failed; e = node(c, e)->next) {
        if (node(c, e)->type != TSQL_OBJECT)
            return fail(c, "%s: each item is a condition table", key);
        if (i++)
            tutil_buf_adds(c->b, join);
        tutil_buf_adds(c->b, is_not ? "NOT (" : "(");
        where_object(c, e);
        tutil_buf_addc(c->b, ')');
    }
    tutil_buf_addc(c->b, ')');
}

/* ---- relation filters ------------------------------------------------------
 * some / every / none on lists, is / is_not on single relations: correlated
 * EXISTS subqueries with the next alias (t1, t2, ...). */

/* "a"."x" = "b"."y" AND ... for n column pairs: a key of several fields
 * matches part for part (a NULL part matches nothing, as in SQL) */
static void equal_columns(cc *c, const char *a, const char *const *acols, const char *b, const char *const *bcols,
                          int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            tutil_buf_adds(c->b, " AND ");
        ident(c, a);
        tutil_buf_addc(c->b, '.');
        ident(c, acols[i]);
        tutil_buf_adds(c->b, " = ");
        ident(c, b);
        tutil_buf_addc(c->b, '.');
        ident(c, bcols[i]);
    }
}

/* The columns of n key fields, for equal_columns. */
enum { MAX_KEY = 32 };

static int key_columns(cc *c, tide_field *const *fields, int n, const char **out)
{
    if (n > MAX_KEY)
        return fail(c, "a key of %d fields: at most %d are supported", n, MAX_KEY), 0;
    for (int i = 0; i < n; i++)
        out[i] = fields[i]->column;
    return 1;
}

/* "<target> AS inner [JOIN join table AS jn ON ...] WHERE <link to outer>
 * [AND inner is not soft-deleted]": the rows of r related to the outer row */
static void related_from(cc *c, const tide_relation *r, const char *outer_alias, const char *inner,
                         const char *join)
{
    const tide_model *target = r->target;
    const char *outer_cols[MAX_KEY], *inner_cols[MAX_KEY];
    tsql_table(c->b, c->dia, target);
    tutil_buf_adds(c->b, " AS ");
    ident(c, inner);
    if (r->kind == TIDE_REL_MANY_TO_MANY) {
        const char *join_outer[MAX_KEY], *join_inner[MAX_KEY];
        int nout = 1, nin = 1;
        tutil_buf_adds(c->b, " JOIN ");
        if (r->through) {
            nout = r->through_from->nfields;
            nin = r->through_to->nfields;
            if (!key_columns(c, r->through_from->fields, nout, join_outer) ||
                !key_columns(c, r->through_from->refs, nout, outer_cols) ||
                !key_columns(c, r->through_to->fields, nin, join_inner) ||
                !key_columns(c, r->through_to->refs, nin, inner_cols))
                return;
            tsql_table(c->b, c->dia, r->through);
        } else {
            tsql_join_table(c->b, c->dia, r);
            join_outer[0] = r->join_from;
            join_inner[0] = r->join_to;
            outer_cols[0] = r->model->pk[0]->column;
            inner_cols[0] = target->pk[0]->column;
        }
        tutil_buf_adds(c->b, " AS ");
        ident(c, join);
        tutil_buf_adds(c->b, " ON ");
        equal_columns(c, join, join_inner, inner, inner_cols, nin);
        tutil_buf_adds(c->b, " WHERE ");
        equal_columns(c, join, join_outer, outer_alias, outer_cols, nout);
    } else {
        /* belongs_to: the outer row holds the key; has_one/has_many: the inner */
        int n = r->nfields;
        if (!key_columns(c, r->kind == TIDE_REL_BELONGS_TO ? r->fields : r->refs, n, outer_cols) ||
            !key_columns(c, r->kind == TIDE_REL_BELONGS_TO ? r->refs : r->fields, n, inner_cols))
            return;
        tutil_buf_adds(c->b, " WHERE ");
        equal_columns(c, inner, inner_cols, outer_alias, outer_cols, n);
    }
    live_rows(c, target, inner, " AND ");
}

/* prefix + a condition on the related rows (target, seen as alias inner) +
 * ")": the compile context moves into the subquery and back. */
static void related_where(cc *c, const tide_model *target, const char *inner, tide_node where, const char *prefix)
{
    const tide_model *outer_model = c->m;
    char outer_alias[16];
    memcpy(outer_alias, c->alias, sizeof outer_alias);
    tutil_buf_adds(c->b, prefix);
    c->m = target;
    memcpy(c->alias, inner, sizeof c->alias);
    c->depth++;
    where_object(c, where);
    c->depth--;
    memcpy(c->alias, outer_alias, sizeof c->alias);
    c->m = outer_model;
    tutil_buf_addc(c->b, ')');
}

/* _count = { select = { posts = true | { where = ... } } } or _count = true
 * (every list relation): a correlated count per relation, named
 * "_count.<relation>". In the per-parent window of an include (outer) the
 * count is read back from the subquery by that name. */
static void count_columns(cc *c, tide_node root, int mode, jpairs *jp)
{
    int counted = 0;
    char h[160];
    tide_node cn = tsql_child(c->d, root, "_count");
    if (cn < 0)
        return;
    tide_node sel = -1;
    int all = 0;
    if (node(c, cn)->type == TSQL_LEAF && leaf_value(c, cn)->kind == TIDE_KIND_BOOL)
        all = leaf_value(c, cn)->as.b;
    else if (node(c, cn)->type == TSQL_OBJECT && (sel = tsql_child(c->d, cn, "select")) >= 0 &&
             node(c, sel)->type == TSQL_OBJECT && node(c, cn)->count == 1)
        ;
    else
        return fail(c, "_count: true, or { select = { relation = true, ... } }");
    for (int i = 0; i < c->m->nrelations && !c->failed; i++) {
        const tide_relation *r = c->m->relations[i];
        if (!r->name || (r->kind != TIDE_REL_HAS_MANY && r->kind != TIDE_REL_MANY_TO_MANY))
            continue;
        tide_node rn = sel >= 0 ? tsql_child(c->d, sel, r->name) : -1;
        if (!all && rn < 0)
            continue;
        tide_node where = -1;
        if (rn >= 0) {
            if (node(c, rn)->type == TSQL_LEAF) {
                if (leaf_value(c, rn)->kind != TIDE_KIND_BOOL || !leaf_value(c, rn)->as.b)
                    continue;
            } else if (node(c, rn)->type == TSQL_OBJECT) {
                where = tsql_child(c->d, rn, "where");
                if (where < 0 || node(c, rn)->count != 1 || node(c, where)->type != TSQL_OBJECT)
                    return fail(c, "_count %s: true or { where = { ... } }", r->name);
            }
        }
        char alias[160];
        snprintf(alias, sizeof alias, "_count.%s", r->name);
        if (mode == COUNT_JSON) {
            /* '_count', json_build_object('posts', (SELECT count(*) ...), ...) */
            if (!counted) {
                json_key(c, jp, "_count");
                tutil_buf_adds(c->b, "json_build_object(");
            } else if (counted == 50) {
                return fail(c, "_count: at most 50 relations in one included row");
            } else {
                tutil_buf_adds(c->b, ", ");
            }
            c->dia->quote_literal(c->b, r->name);
            tutil_buf_adds(c->b, ", ");
        } else {
            tutil_buf_adds(c->b, ", ");
        }
        counted++;
        if (mode == COUNT_OUTER) {
            ident(c, "s");
            tutil_buf_addc(c->b, '.');
            ident(c, alias);
            continue;
        }
        char inner[16], join[16], outer_alias[16];
        memcpy(outer_alias, c->alias, sizeof outer_alias);
        snprintf(inner, sizeof inner, "c%d", c->depth + 1);
        snprintf(join, sizeof join, "cj%d", c->depth + 1);
        tutil_buf_adds(c->b, "(SELECT count(*) FROM ");
        related_from(c, r, outer_alias, inner, join);
        if (where >= 0 && node(c, where)->count > 0)
            related_where(c, r->target, inner, where, " AND (");
        tutil_buf_addc(c->b, ')');
        if (mode == COUNT_COLUMNS) {
            tutil_buf_adds(c->b, " AS ");
            ident(c, alias);
        }
    }
    if (mode == COUNT_JSON && counted)
        tutil_buf_addc(c->b, ')');
    if (sel >= 0) /* every name must be a list relation */
        for (tide_node k = node(c, sel)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
            const tide_relation *r = tide_model_relation(c->m, tsql_key(c->d, k));
            if (!r || (r->kind != TIDE_REL_HAS_MANY && r->kind != TIDE_REL_MANY_TO_MANY))
                fail(c, "_count: '%s' is not a list relation of %s%s", tsql_key(c->d, k), c->m->name,
                     near_field(h, sizeof h, c->m, tsql_key(c->d, k), 1));
        }
}

static void relation_filter(cc *c, const tide_relation *r, tide_node v)
{
    char h[160];
    static const char *const list_ops[] = {"some", "every", "none"};
    static const char *const one_ops[] = {"is", "is_not"};
    int many = r->kind == TIDE_REL_HAS_MANY || r->kind == TIDE_REL_MANY_TO_MANY;
    if (node(c, v)->type != TSQL_OBJECT || node(c, v)->count != 1)
        return fail(c, "where %s.%s: expected { %s = { ... } }", c->m->name, r->name, many ? "some | every | none"
                                                                                          : "is | is_not");
    if (c->depth >= 8)
        return fail(c, "where: relation filters nest at most 8 deep");
    tide_node o = node(c, v)->first;
    const char *op = tsql_key(c->d, o);
    int ok = 0;
    for (int i = 0; i < (many ? 3 : 2); i++)
        ok |= !strcmp(op, many ? list_ops[i] : one_ops[i]);
    if (!ok)
        return fail(c, "where %s.%s: unknown relation filter '%s'%s", c->m->name, r->name, op,
                    many ? near_in(h, sizeof h, op, list_ops, 3) : near_in(h, sizeof h, op, one_ops, 2));
    int is_null = node(c, o)->type == TSQL_LEAF && leaf_value(c, o)->kind == TIDE_KIND_NULL;
    if (!is_null && node(c, o)->type != TSQL_OBJECT)
        return fail(c, "where %s.%s: %s takes a condition table%s", c->m->name, r->name, op, many ? "" : " or null");
    if (is_null && many)
        return fail(c, "where %s.%s: %s takes a condition table", c->m->name, r->name, op);

    int negate = !strcmp(op, "none") || !strcmp(op, "every") || (!strcmp(op, "is_not") && !is_null) ||
                 (!strcmp(op, "is") && is_null);
    tutil_buf_adds(c->b, negate ? "NOT EXISTS (SELECT 1 FROM " : "EXISTS (SELECT 1 FROM ");
    char outer_alias[16], inner[16], join[16];
    memcpy(outer_alias, c->alias, sizeof outer_alias);
    snprintf(inner, sizeof inner, "t%d", c->depth + 1);
    snprintf(join, sizeof join, "j%d", c->depth + 1);
    related_from(c, r, outer_alias, inner, join);
    if (!is_null && node(c, o)->count > 0)
        related_where(c, r->target, inner, o, !strcmp(op, "every") ? " AND NOT (" : " AND (");
    tutil_buf_addc(c->b, ')');
}

static void where_object(cc *c, tide_node obj)
{
    char h[160];
    int n = 0;
    for (tide_node k = node(c, obj)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        if (n++)
            tutil_buf_adds(c->b, " AND ");
        if (!strcmp(key, "AND") || !strcmp(key, "OR") || !strcmp(key, "NOT")) {
            logical(c, key, k);
            continue;
        }
        const tide_field *f = tide_model_field(c->m, key);
        if (!f) {
            const tide_relation *r = tide_model_relation(c->m, key);
            if (r) {
                relation_filter(c, r, k);
                continue;
            }
            return fail(c, "unknown field '%s' on %s%s", key, c->m->name, near_field(h, sizeof h, c->m, key, 1));
        }
        tutil_buf_addc(c->b, '(');
        field_filter(c, f, k);
        tutil_buf_addc(c->b, ')');
    }
    if (n == 0)
        tutil_buf_adds(c->b, "TRUE");
}

/* " AND <alias>.deleted_at IS NULL" for a soft-deleting model (m at alias) */
static void live_rows(cc *c, const tide_model *m, const char *alias, const char *prefix)
{
    if (!m->soft_delete || c->with_deleted)
        return;
    tutil_buf_adds(c->b, prefix);
    ident(c, alias);
    tutil_buf_addc(c->b, '.');
    ident(c, m->soft_delete->column);
    tutil_buf_adds(c->b, " IS NULL");
}

static int where_clause(cc *c, tide_node root)
{
    tide_node w = tsql_child(c->d, root, "where");
    int user = w >= 0;
    if (user && node(c, w)->type != TSQL_OBJECT)
        return fail(c, "where: expected a table of conditions"), 0;
    if (user && node(c, w)->count == 0)
        user = 0;
    int live = c->m->soft_delete && !c->with_deleted;
    if (!user && !live)
        return 0;
    tutil_buf_adds(c->b, " WHERE ");
    if (user) {
        tutil_buf_addc(c->b, '(');
        where_object(c, w);
        tutil_buf_addc(c->b, ')');
    }
    live_rows(c, c->m, c->alias, user ? " AND " : "");
    return 1;
}

/* find_unique, update and delete must name one row: equality on the primary
 * key, a unique field, or every field of a unique index. */
static int has_equality(cc *c, tide_node where, const tide_field *f)
{
    tide_node v = tsql_child(c->d, where, f->name);
    if (v < 0)
        return 0;
    if (node(c, v)->type == TSQL_LEAF)
        return leaf_value(c, v)->kind != TIDE_KIND_NULL;
    if (node(c, v)->type == TSQL_OBJECT) {
        tide_node e = tsql_child(c->d, v, "equals");
        return e >= 0 && node(c, e)->type == TSQL_LEAF && leaf_value(c, e)->kind != TIDE_KIND_NULL &&
               tsql_child(c->d, v, "mode") < 0;
    }
    return 0;
}

static void require_unique(cc *c, tide_node root)
{
    const tide_model *m = c->m;
    tide_node w = tsql_child(c->d, root, "where");
    if (w >= 0 && node(c, w)->type == TSQL_OBJECT) {
        int all = 1;
        for (int i = 0; i < m->npk; i++)
            all &= has_equality(c, w, m->pk[i]);
        if (all && m->npk)
            return;
        for (int i = 0; i < m->nfields; i++)
            if (m->fields[i]->unique && has_equality(c, w, m->fields[i]))
                return;
        for (int i = 0; i < m->nindexes; i++) {
            const tsch_index *ix = m->indexes[i];
            if (ix->kind != TIDE_INDEX_UNIQUE || ix->where)
                continue;
            int every = 1;
            for (int k = 0; k < ix->nparts; k++)
                every &= ix->part_fields[k] && has_equality(c, w, ix->part_fields[k]);
            if (every)
                return;
        }
    }
    char names[300] = "";
    for (int i = 0; i < m->npk; i++) {
        strncat(names, i ? "+" : "", sizeof names - strlen(names) - 1);
        strncat(names, m->pk[i]->name, sizeof names - strlen(names) - 1);
    }
    for (int i = 0; i < m->nfields; i++)
        if (m->fields[i]->unique && !m->fields[i]->primary) {
            strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, m->fields[i]->name, sizeof names - strlen(names) - 1);
        }
    fail(c, "%s needs where to name one %s by a unique key (%s)", op_name(c->op), m->name, names);
}

/* ---- select ------------------------------------------------------------------ */

static int flag_set(cc *c, tide_node obj, const char *name)
{
    tide_node v = tsql_child(c->d, obj, name);
    if (v < 0)
        return 0;
    if (node(c, v)->type != TSQL_LEAF || leaf_value(c, v)->kind != TIDE_KIND_BOOL) {
        fail(c, "%s.%s: select and omit take true or false", c->m->name, name);
        return 0;
    }
    return leaf_value(c, v)->as.b;
}

static void check_names(cc *c, tide_node obj, const char *what)
{
    char h[160];
    for (tide_node k = node(c, obj)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        if (tide_model_field(c->m, key))
            continue;
        if (tide_model_relation(c->m, key))
            return fail(c, "%s: relation '%s' of %s: name relations in include", what, key, c->m->name);
        return fail(c, "%s: unknown field '%s' on %s%s", what, key, c->m->name,
                    near_field(h, sizeof h, c->m, key, 1));
    }
}

/* select and omit of root, checked; 0 on a problem */
static int select_omit(cc *c, tide_node root, tide_node *sel, tide_node *om)
{
    *sel = root >= 0 ? tsql_child(c->d, root, "select") : -1;
    *om = root >= 0 ? tsql_child(c->d, root, "omit") : -1;
    if (*sel >= 0 && *om >= 0)
        return fail(c, "%s: select and omit cannot be used together", op_name(c->op)), 0;
    if (*sel >= 0 && node(c, *sel)->type != TSQL_OBJECT)
        return fail(c, "select: expected a table such as { id = true }"), 0;
    if (*om >= 0 && node(c, *om)->type != TSQL_OBJECT)
        return fail(c, "omit: expected a table such as { password = true }"), 0;
    if (*sel >= 0)
        check_names(c, *sel, "select");
    if (*om >= 0)
        check_names(c, *om, "omit");
    return !c->failed;
}

static int field_taken(cc *c, tide_node sel, tide_node om, const tide_field *f)
{
    return sel >= 0 ? flag_set(c, sel, f->name) : !f->omit && !(om >= 0 && flag_set(c, om, f->name));
}

static void select_list(cc *c, tide_node root)
{
    tide_node sel, om;
    if (!select_omit(c, root, &sel, &om))
        return;
    int n = 0;
    for (int i = 0; i < c->m->nfields && !c->failed; i++) {
        const tide_field *f = c->m->fields[i];
        if (!field_taken(c, sel, om, f))
            continue;
        if (n++)
            tutil_buf_adds(c->b, ", ");
        column(c, f);
        if (!c->outer) {
            if (tsql_custom_array(f))
                tutil_buf_adds(c->b, "::text[]");
            tutil_buf_adds(c->b, " AS ");
            ident(c, f->name);
        }
    }
    if (n == 0 && !c->failed)
        fail(c, "%s: select picks no field of %s", op_name(c->op), c->m->name);
}

/* ---- order_by, take, skip ------------------------------------------------------------ */

/* order_by = { posts = { _count = "desc" } } (a list relation's size) or
 * { author = { name = "asc" } } (a field of a single relation) */
static void order_by_relation(cc *c, const tide_relation *r, tide_node v, int *n)
{
    char h[160], buf[32];
    if (node(c, v)->type != TSQL_OBJECT || node(c, v)->count != 1)
        return fail(c, "order_by %s: expected { _count = 'asc' } or { field = 'asc' }", r->name);
    tide_node o = node(c, v)->first;
    const char *key = tsql_key(c->d, o);
    const char *dir = option_text(c, o, "order_by", buf, sizeof buf);
    if (!dir)
        return;
    if (strcmp(dir, "asc") && strcmp(dir, "desc"))
        return fail(c, "order_by %s: sort is 'asc' or 'desc', got '%s'", r->name, dir);
    int many = r->kind == TIDE_REL_HAS_MANY || r->kind == TIDE_REL_MANY_TO_MANY;
    const tide_field *f = NULL;
    if (strcmp(key, "_count")) {
        if (many)
            return fail(c, "order_by %s: a list orders by { _count = 'asc' | 'desc' }", r->name);
        f = tide_model_field(r->target, key);
        if (!f)
            return fail(c, "order_by %s: unknown field '%s' on %s%s", r->name, key, r->target->name,
                        near_field(h, sizeof h, r->target, key, 0));
    } else if (!many) {
        return fail(c, "order_by %s: _count is for list relations", r->name);
    }
    tutil_buf_adds(c->b, (*n)++ ? ", " : " ORDER BY ");
    char inner[16], join[16];
    snprintf(inner, sizeof inner, "o%d", *n);
    snprintf(join, sizeof join, "oj%d", *n);
    tutil_buf_adds(c->b, "(SELECT ");
    if (f) {
        ident(c, inner);
        tutil_buf_addc(c->b, '.');
        ident(c, f->column);
    } else {
        tutil_buf_adds(c->b, "count(*)");
    }
    tutil_buf_adds(c->b, " FROM ");
    related_from(c, r, c->alias, inner, join);
    tutil_buf_adds(c->b, strcmp(dir, "desc") ? ") ASC" : ") DESC");
}

static void order_item(cc *c, tide_node obj, int *n)
{
    char h[160], buf[32];
    if (node(c, obj)->type != TSQL_OBJECT)
        return fail(c, "order_by: expected { field = 'asc' } or a list of them");
    if (node(c, obj)->count > 1)
        return fail(c, "order_by with several fields: use a list, { { a = 'asc' }, { b = 'desc' } }, "
                       "so that their order is kept");
    for (tide_node k = node(c, obj)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        const tide_field *f = tide_model_field(c->m, key);
        const tide_relation *rel = f ? NULL : tide_model_relation(c->m, key);
        if (rel) {
            order_by_relation(c, rel, k, n);
            continue;
        }
        if (!f && c->op == TIDE_OP_GROUP_BY && key[0] == '_') {
            order_by_aggregate(c, key, k, n); /* { _sum = { views = "desc" } }, { _count = "desc" } */
            continue;
        }
        if (!f)
            return fail(c, "order_by: unknown field '%s' on %s%s", key, c->m->name,
                        near_field(h, sizeof h, c->m, key, 1));
        const char *sort = NULL, *nulls = NULL;
        char nbuf[32];
        if (node(c, k)->type == TSQL_LEAF) {
            sort = option_text(c, k, "order_by", buf, sizeof buf);
        } else if (node(c, k)->type == TSQL_OBJECT) {
            for (tide_node o = node(c, k)->first; o >= 0 && !c->failed; o = node(c, o)->next) {
                const char *ok = tsql_key(c->d, o);
                static const char *const opts[] = {"sort", "nulls"};
                if (!strcmp(ok, "sort"))
                    sort = option_text(c, o, "order_by sort", buf, sizeof buf);
                else if (!strcmp(ok, "nulls"))
                    nulls = option_text(c, o, "order_by nulls", nbuf, sizeof nbuf);
                else
                    return fail(c, "order_by: unknown option '%s'%s", ok, near_in(h, sizeof h, ok, opts, 2));
            }
        }
        if (c->failed)
            return;
        static const char *const dirs[] = {"asc", "desc"};
        static const char *const nulls_opts[] = {"first", "last"};
        if (!sort || (strcmp(sort, "asc") && strcmp(sort, "desc")))
            return fail(c, "order_by %s: sort is 'asc' or 'desc', got '%s'%s", key, sort ? sort : "?",
                        sort ? near_in(h, sizeof h, sort, dirs, 2) : "");
        if (nulls && strcmp(nulls, "first") && strcmp(nulls, "last"))
            return fail(c, "order_by %s: nulls is 'first' or 'last', got '%s'%s", key, nulls,
                        near_in(h, sizeof h, nulls, nulls_opts, 2));
        tutil_buf_adds(c->b, (*n)++ ? ", " : " ORDER BY ");
        column(c, f);
        tutil_buf_adds(c->b, strcmp(sort, "desc") ? " ASC" : " DESC");
        if (nulls)
            tutil_buf_adds(c->b, strcmp(nulls, "first") ? " NULLS LAST" : " NULLS FIRST");
    }
}

/* ORDER BY from order_by, after n items already written; the items now */
static int order_by_after(cc *c, tide_node root, int n)
{
    tide_node o = tsql_child(c->d, root, "order_by");
    if (o < 0)
        return n;
    if (node(c, o)->type == TSQL_ARRAY) {
        for (tide_node e = node(c, o)->first; e >= 0 && !c->failed; e = node(c, e)->next)
            order_item(c, e, &n);
    } else {
        order_item(c, o, &n);
    }
    return n;
}

static void order_by(cc *c, tide_node root)
{
    order_by_after(c, root, 0);
}

static void take_skip(cc *c, tide_node root, int first_only)
{
    tide_node take = tsql_child(c->d, root, "take"), skip = tsql_child(c->d, root, "skip");
    /* the kind is part of the shape, so this holds for cache hits too */
    if (take >= 0 && (node(c, take)->type != TSQL_LEAF ||
                      (leaf_value(c, take)->kind != TIDE_KIND_INT && leaf_value(c, take)->kind != TIDE_KIND_FLOAT)))
        return fail(c, "take: expected a number");
    if (skip >= 0 && (node(c, skip)->type != TSQL_LEAF ||
                      (leaf_value(c, skip)->kind != TIDE_KIND_INT && leaf_value(c, skip)->kind != TIDE_KIND_FLOAT)))
        return fail(c, "skip: expected a number");
    if (first_only) {
        tutil_buf_adds(c->b, " LIMIT 1");
    } else if (take >= 0) {
        tutil_buf_adds(c->b, " LIMIT ");
        placeholder(c, take);
    }
    if (skip >= 0) {
        tutil_buf_adds(c->b, " OFFSET ");
        placeholder(c, skip);
    }
}

/* ---- data -------------------------------------------------------------------- */

static const tide_field *data_field(cc *c, const char *key)
{
    char h[160];
    const tide_field *f = tide_model_field(c->m, key);
    if (!f) {
        if (tide_model_relation(c->m, key))
            fail(c, "data: nested writes ('%s' of %s) are not supported yet", key, c->m->name);
        else
            fail(c, "data: unknown field '%s' on %s%s", key, c->m->name, near_field(h, sizeof h, c->m, key, 1));
        return NULL;
    }
    if (f->generated) {
        fail(c, "data: %s.%s is generated by the database and cannot be written", c->m->name, f->name);
        return NULL;
    }
    return f;
}

static tide_node data_node(cc *c, tide_node root)
{
    tide_node data = tsql_child(c->d, root, "data");
    if (data < 0 || node(c, data)->type != TSQL_OBJECT) {
        fail(c, "%s: data = { field = value, ... } is required", op_name(c->op));
        return -1;
    }
    return data;
}

/* " (col, ...) VALUES ($n, ...)" for the fields of data (not empty) */
static void insert_values(cc *c, tide_node data, const char *what)
{
    tutil_buf_adds(c->b, " (");
    int n = 0;
    for (tide_node k = node(c, data)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const tide_field *f = data_field(c, tsql_key(c->d, k));
        if (!f || !check_scalar(c, f, k, what))
            return;
        if (n++)
            tutil_buf_adds(c->b, ", ");
        ident(c, f->column);
    }
    tutil_buf_adds(c->b, ") VALUES (");
    n = 0;
    for (tide_node k = node(c, data)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        if (n++)
            tutil_buf_adds(c->b, ", ");
        value_of(c, data_field(c, tsql_key(c->d, k)), k);
    }
    tutil_buf_addc(c->b, ')');
}

static void insert(cc *c, tide_node root)
{
    tide_node data = data_node(c, root);
    if (data < 0)
        return;
    tutil_buf_adds(c->b, "INSERT INTO ");
    table_as(c);
    if (node(c, data)->count == 0)
        tutil_buf_adds(c->b, " DEFAULT VALUES");
    else
        insert_values(c, data, "data");
    tutil_buf_adds(c->b, " RETURNING ");
    select_list(c, root);
}

static void set_list(cc *c, tide_node data)
{
    char h[160];
    static const char *const atomic[] = {"set", "increment", "decrement", "multiply", "divide"};
    int n = 0;
    for (tide_node k = node(c, data)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const tide_field *f = data_field(c, tsql_key(c->d, k));
        if (!f)
            return;
        tutil_buf_adds(c->b, n++ ? ", " : " SET ");
        ident(c, f->column);
        tutil_buf_adds(c->b, " = ");
        if (node(c, k)->type == TSQL_LEAF) {
            if (!check_scalar(c, f, k, "data"))
                return;
            value_of(c, f, k);
            continue;
        }
        if (node(c, k)->type != TSQL_OBJECT || node(c, k)->count != 1)
            return fail(c, "data %s.%s: a value, or one of { set | increment | decrement | multiply | divide = v }",
                        c->m->name, f->name);
        tide_node o = node(c, k)->first;
        const char *op = tsql_key(c->d, o);
        if (!strcmp(op, "set")) {
            if (!check_scalar(c, f, o, "set"))
                return;
            value_of(c, f, o);
            continue;
        }
        const char *sym = !strcmp(op, "increment") ? "+" : !strcmp(op, "decrement") ? "-"
                        : !strcmp(op, "multiply") ? "*" : !strcmp(op, "divide") ? "/" : NULL;
        if (!sym)
            return fail(c, "data %s.%s: unknown update '%s'%s", c->m->name, f->name, op,
                        near_in(h, sizeof h, op, atomic, 5));
        if (!is_number_field(f))
            return fail(c, "data %s.%s: %s works on number fields, not %s", c->m->name, f->name, op,
                        tide_type_name(f->type));
        if (node(c, o)->type != TSQL_LEAF || leaf_value(c, o)->kind == TIDE_KIND_NULL ||
            leaf_value(c, o)->kind == TIDE_KIND_JSON)
            return fail(c, "data %s.%s: %s takes a number", c->m->name, f->name, op);
        column(c, f); /* qualified: ON CONFLICT DO UPDATE would find it ambiguous */
        tutil_buf_addf(c->b, " %s ", sym);
        placeholder(c, o);
    }
    /* auto-updated timestamps the caller did not set */
    for (int i = 0; i < c->m->nfields && !c->failed; i++) {
        const tide_field *f = c->m->fields[i];
        if (f->updated_at && tsql_child(c->d, data, f->name) < 0) {
            tutil_buf_adds(c->b, n++ ? ", " : " SET ");
            ident(c, f->column);
            tutil_buf_adds(c->b, " = now()");
        }
    }
    if (n == 0)
        fail(c, "%s: data sets nothing", op_name(c->op));
}

/* ---- create_many and upsert ------------------------------------------------- */

/* "::type[]" after a parameter holding a list of f's values (for unnest).
 * The array type of an enum or a custom type has no OID tide knows, so its
 * values go as text[] and the server casts them; serial columns take their
 * integer type. */
static void array_cast(cc *c, const tide_field *f)
{
    tutil_buf_adds(c->b, "::");
    if (f->type == TIDE_T_ENUM || f->type == TIDE_T_CUSTOM)
        tutil_buf_adds(c->b, "text[]::");
    tide_field tmp = *f;
    if (tmp.type == TIDE_T_SMALLSERIAL) tmp.type = TIDE_T_SMALLINT;
    if (tmp.type == TIDE_T_SERIAL) tmp.type = TIDE_T_INTEGER;
    if (tmp.type == TIDE_T_BIGSERIAL) tmp.type = TIDE_T_BIGINT;
    c->dia->type_name(c->b, &tmp);
    tutil_buf_adds(c->b, "[]");
}

/* INSERT ... SELECT * FROM unnest($1::type[], ...): one parameter per
 * column whatever the number of rows (BENCH.md: 0.5-0.6 of COPY, and no
 * 65,535-parameter ceiling). The client groups rows by the fields they set. */
static void insert_many(cc *c, tide_node root)
{
    tide_node cols = tsql_child(c->d, root, "columns");
    if (cols < 0 || node(c, cols)->type != TSQL_OBJECT || node(c, cols)->count == 0)
        return fail(c, "%s: data = { { field = value, ... }, ... } is required", op_name(c->op));
    tutil_buf_adds(c->b, "INSERT INTO ");
    table_as(c);
    tutil_buf_adds(c->b, " (");
    int n = 0;
    for (tide_node k = node(c, cols)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const tide_field *f = data_field(c, tsql_key(c->d, k));
        if (!f)
            return;
        if (f->array_dims)
            return fail(c, "%s: %s.%s is an array field: create it with create", op_name(c->op), c->m->name,
                        f->name);
        if (n++)
            tutil_buf_adds(c->b, ", ");
        ident(c, f->column);
    }
    tutil_buf_adds(c->b, ") SELECT * FROM unnest(");
    n = 0;
    for (tide_node k = node(c, cols)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const tide_field *f = tide_model_field(c->m, tsql_key(c->d, k));
        /* a list of values (JSON), or an array literal the client wrote */
        if (node(c, k)->type != TSQL_LEAF ||
            (leaf_value(c, k)->kind != TIDE_KIND_JSON && leaf_value(c, k)->kind != TIDE_KIND_TEXT))
            return fail(c, "%s: internal: a column of values expected", op_name(c->op));
        if (n++)
            tutil_buf_adds(c->b, ", ");
        placeholder(c, k);
        array_cast(c, f);
    }
    tutil_buf_addc(c->b, ')');
    tide_node skip = tsql_child(c->d, root, "skip_duplicates");
    if (skip >= 0) {
        if (node(c, skip)->type != TSQL_LEAF || leaf_value(c, skip)->kind != TIDE_KIND_BOOL)
            return fail(c, "skip_duplicates: true or false");
        if (leaf_value(c, skip)->as.b)
            tutil_buf_adds(c->b, " ON CONFLICT DO NOTHING");
    }
    if (c->op == TIDE_OP_CREATE_MANY_AND_RETURN) {
        tutil_buf_adds(c->b, " RETURNING ");
        select_list(c, root);
    }
}

/* The unique key that where names: the fields for ON CONFLICT. */
static int conflict_target(cc *c, tide_node where, const tide_field **out, int max)
{
    const tide_model *m = c->m;
    int all = m->npk > 0;
    for (int i = 0; i < m->npk; i++)
        all &= has_equality(c, where, m->pk[i]);
    if (all && m->npk <= max) {
        for (int i = 0; i < m->npk; i++)
            out[i] = m->pk[i];
        return m->npk;
    }
    for (int i = 0; i < m->nfields; i++)
        if (m->fields[i]->unique && has_equality(c, where, m->fields[i])) {
            out[0] = m->fields[i];
            return 1;
        }
    for (int i = 0; i < m->nindexes; i++) {
        const tsch_index *ix = m->indexes[i];
        if (ix->kind != TIDE_INDEX_UNIQUE || ix->where || ix->nparts > max)
            continue;
        int every = 1;
        for (int k = 0; k < ix->nparts; k++)
            every &= ix->part_fields[k] && has_equality(c, where, ix->part_fields[k]);
        if (every) {
            for (int k = 0; k < ix->nparts; k++)
                out[k] = ix->part_fields[k];
            return ix->nparts;
        }
    }
    return 0;
}

/* INSERT (create) ON CONFLICT (the unique key in where) DO UPDATE SET
 * (update) RETURNING: one statement, atomic. */
static void upsert(cc *c, tide_node root)
{
    require_unique(c, root);
    tide_node where = tsql_child(c->d, root, "where");
    tide_node create = tsql_child(c->d, root, "create"), update = tsql_child(c->d, root, "update");
    if (c->failed)
        return;
    if (create < 0 || node(c, create)->type != TSQL_OBJECT)
        return fail(c, "upsert: create = { field = value, ... } is required");
    if (update < 0 || node(c, update)->type != TSQL_OBJECT)
        return fail(c, "upsert: update = { field = value, ... } is required (it may be empty)");
    const tide_field *key[16];
    int nkey = conflict_target(c, where, key, 16);
    if (node(c, create)->count == 0)
        return fail(c, "upsert: create sets nothing");
    tutil_buf_adds(c->b, "INSERT INTO ");
    table_as(c);
    insert_values(c, create, "create");
    tutil_buf_adds(c->b, " ON CONFLICT (");
    for (int i = 0; i < nkey; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        ident(c, key[i]->column);
    }
    tutil_buf_adds(c->b, ") DO UPDATE");
    if (node(c, update)->count == 0) {
        /* nothing to change: touch the key so that RETURNING has the row */
        tutil_buf_adds(c->b, " SET ");
        ident(c, key[0]->column);
        tutil_buf_adds(c->b, " = EXCLUDED.");
        ident(c, key[0]->column);
    } else {
        set_list(c, update);
    }
    /* only the row where names is updated (and the where values are bound) */
    where_clause(c, root);
    tutil_buf_adds(c->b, " RETURNING ");
    select_list(c, root);
}

/* ---- aggregate and group_by ---------------------------------------------------
 * Each aggregate is a column named "<function>.<field>" ("_count" for a row
 * count); the client folds the dots into nested tables. */

static const char *const agg_names[] = {"_count", "_sum", "_avg", "_min", "_max"};

static int agg_number_only(const char *agg)
{
    return !strcmp(agg, "_sum") || !strcmp(agg, "_avg");
}

static void agg_expr(cc *c, const char *agg, const tide_field *f)
{
    if (!strcmp(agg, "_count")) {
        tutil_buf_adds(c->b, "count(");
        if (f)
            column(c, f);
        else
            tutil_buf_addc(c->b, '*');
        tutil_buf_addc(c->b, ')');
        return;
    }
    tutil_buf_adds(c->b, agg + 1); /* sum, avg, min, max */
    tutil_buf_addc(c->b, '(');
    column(c, f);
    tutil_buf_addc(c->b, ')');
    /* an average of numbers reads as a number; numeric stays exact */
    if (!strcmp(agg, "_avg") && f->type != TIDE_T_NUMERIC)
        tutil_buf_adds(c->b, "::float8");
}

static void agg_alias(cc *c, const char *agg, const tide_field *f)
{
    char alias[160];
    snprintf(alias, sizeof alias, f ? "%s.%s" : "%s", agg, f ? f->name : "");
    tutil_buf_adds(c->b, " AS ");
    ident(c, alias);
}

/* The aggregate columns; returns how many were written. */
static int aggregates(cc *c, tide_node root, int n)
{
    char h[160];
    for (int a = 0; a < 5 && !c->failed; a++) {
        tide_node an = tsql_child(c->d, root, agg_names[a]);
        if (an < 0)
            continue;
        if (a == 0 && node(c, an)->type == TSQL_LEAF) { /* _count = true */
            if (leaf_value(c, an)->kind != TIDE_KIND_BOOL)
                return fail(c, "_count: true, or { field = true }"), n;
            if (!leaf_value(c, an)->as.b)
                continue;
            tutil_buf_adds(c->b, n++ ? ", " : "");
            agg_expr(c, "_count", NULL);
            agg_alias(c, "_count", NULL);
            continue;
        }
        if (node(c, an)->type != TSQL_OBJECT)
            return fail(c, "%s: expected { field = true, ... }", agg_names[a]), n;
        for (tide_node k = node(c, an)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
            const char *key = tsql_key(c->d, k);
            const tide_field *f = tide_model_field(c->m, key);
            if (!f)
                return fail(c, "%s: unknown field '%s' on %s%s", agg_names[a], key, c->m->name,
                            near_field(h, sizeof h, c->m, key, 0)), n;
            if (agg_number_only(agg_names[a]) && !is_number_field(f))
                return fail(c, "%s: %s.%s is %s, not a number", agg_names[a], c->m->name, f->name,
                            tide_type_name(f->type)), n;
            if (node(c, k)->type != TSQL_LEAF || leaf_value(c, k)->kind != TIDE_KIND_BOOL)
                return fail(c, "%s.%s: true or false", agg_names[a], key), n;
            if (!leaf_value(c, k)->as.b)
                continue;
            tutil_buf_adds(c->b, n++ ? ", " : "");
            agg_expr(c, agg_names[a], f);
            agg_alias(c, agg_names[a], f);
        }
    }
    return n;
}

/* having = { field = { _avg = { gt = 10 } } } or a plain filter on a by-field */
static void having(cc *c, tide_node root)
{
    char h[160];
    tide_node hv = tsql_child(c->d, root, "having");
    if (hv < 0)
        return;
    if (node(c, hv)->type != TSQL_OBJECT)
        return fail(c, "having: expected a table of conditions");
    tutil_buf_adds(c->b, " HAVING ");
    int n = 0;
    for (tide_node k = node(c, hv)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        const tide_field *f = tide_model_field(c->m, key);
        if (!f)
            return fail(c, "having: unknown field '%s' on %s%s", key, c->m->name, near_field(h, sizeof h, c->m, key, 0));
        if (n++)
            tutil_buf_adds(c->b, " AND ");
        if (node(c, k)->type != TSQL_OBJECT) {
            tutil_buf_addc(c->b, '(');
            field_filter(c, f, k);
            tutil_buf_addc(c->b, ')');
            continue;
        }
        int m = 0;
        for (tide_node a = node(c, k)->first; a >= 0 && !c->failed; a = node(c, a)->next) {
            const char *agg = tsql_key(c->d, a);
            int known = 0;
            for (int i = 0; i < 5; i++)
                known |= !strcmp(agg, agg_names[i]);
            /* no filter starts with '_': a misspelt aggregate, named as one */
            if (!known && agg[0] == '_')
                return fail(c, "having %s.%s: unknown aggregate '%s'%s", c->m->name, f->name, agg,
                            near_in(h, sizeof h, agg, agg_names, 5));
            if (m++)
                tutil_buf_adds(c->b, " AND ");
            if (!known) { /* a plain operator on the by-field */
                tutil_buf_addc(c->b, '(');
                field_filter(c, f, k);
                tutil_buf_addc(c->b, ')');
                break;
            }
            if (agg_number_only(agg) && !is_number_field(f))
                return fail(c, "having %s.%s: %s needs a number field", c->m->name, f->name, agg);
            if (node(c, a)->type != TSQL_OBJECT)
                return fail(c, "having %s.%s.%s: expected { gt = ..., ... }", c->m->name, f->name, agg);
            int p = 0;
            for (tide_node o = node(c, a)->first; o >= 0 && !c->failed; o = node(c, o)->next) {
                const char *op = tsql_key(c->d, o);
                static const char *const cmp[] = {"equals", "not", "lt", "lte", "gt", "gte"};
                static const char *const sql[] = {"=", "<>", "<", "<=", ">", ">="};
                int i = 0;
                while (i < 6 && strcmp(op, cmp[i]))
                    i++;
                if (i == 6)
                    return fail(c, "having: unknown filter '%s'%s", op, near_in(h, sizeof h, op, cmp, 6));
                if (node(c, o)->type != TSQL_LEAF || leaf_value(c, o)->kind == TIDE_KIND_NULL ||
                    leaf_value(c, o)->kind == TIDE_KIND_JSON)
                    return fail(c, "having: %s takes a value", op);
                if (p++)
                    tutil_buf_adds(c->b, " AND ");
                agg_expr(c, agg, f);
                tutil_buf_addf(c->b, " %s ", sql[i]);
                placeholder(c, o);
            }
        }
    }
}

static void aggregate(cc *c, tide_node root)
{
    int paged = tsql_child(c->d, root, "take") >= 0 || tsql_child(c->d, root, "skip") >= 0 ||
                tsql_child(c->d, root, "order_by") >= 0;
    tutil_buf_adds(c->b, "SELECT ");
    int n = aggregates(c, root, 0);
    if (!n && !c->failed)
        return fail(c, "aggregate: ask for at least one of _count, _sum, _avg, _min, _max");
    if (!paged) {
        from(c);
        where_clause(c, root);
        return;
    }
    /* over a window of rows: aggregate a subquery of the table's own rows,
     * so that the aggregates read their columns by column name (a field
     * stored under another name, or omitted from results, is there too) */
    tutil_buf_adds(c->b, " FROM (SELECT ");
    ident(c, ALIAS);
    tutil_buf_adds(c->b, ".*");
    from(c);
    where_clause(c, root);
    order_by(c, root);
    take_skip(c, root, 0);
    tutil_buf_adds(c->b, ") AS ");
    ident(c, "t0");
}

static void group_by(cc *c, tide_node root)
{
    char h[160], buf[80];
    tide_node by = tsql_child(c->d, root, "by");
    if (by < 0)
        return fail(c, "group_by: by = { fields } is required");
    tide_node list = by;
    const tide_field *fields[64];
    int nby = 0;
    if (node(c, by)->type == TSQL_LEAF) {
        const char *name = option_text(c, by, "by", buf, sizeof buf);
        if (!name)
            return;
        if (!(fields[nby++] = tide_model_field(c->m, name)))
            return fail(c, "group_by: unknown field '%s' on %s%s", name, c->m->name, near_field(h, sizeof h, c->m, name, 0));
    } else if (node(c, list)->type == TSQL_ARRAY) {
        for (tide_node e = node(c, list)->first; e >= 0 && !c->failed && nby < 64; e = node(c, e)->next) {
            const char *name = option_text(c, e, "by", buf, sizeof buf);
            if (!name)
                return;
            if (!(fields[nby++] = tide_model_field(c->m, name)))
                return fail(c, "group_by: unknown field '%s' on %s%s", name, c->m->name,
                            near_field(h, sizeof h, c->m, name, 0));
        }
    } else {
        return fail(c, "group_by: by is a field name or a list of them");
    }
    tutil_buf_adds(c->b, "SELECT ");
    for (int i = 0; i < nby; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        column(c, fields[i]);
        tutil_buf_adds(c->b, " AS ");
        ident(c, fields[i]->name);
    }
    aggregates(c, root, nby);
    from(c);
    where_clause(c, root);
    tutil_buf_adds(c->b, " GROUP BY ");
    for (int i = 0; i < nby; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        column(c, fields[i]);
    }
    having(c, root);
    order_by(c, root);
    take_skip(c, root, 0);
}

/* group_by's order_by on an aggregate: { _sum = { views = "desc" } }, or
 * { _count = "desc" } for the rows of each group */
static void order_by_aggregate(cc *c, const char *agg, tide_node v, int *n)
{
    char h[160], buf[32];
    int known = 0;
    for (int i = 0; i < 5; i++)
        known |= !strcmp(agg, agg_names[i]);
    if (!known)
        return fail(c, "order_by: unknown aggregate '%s'%s", agg, near_in(h, sizeof h, agg, agg_names, 5));
    const tide_field *f = NULL;
    tide_node dirn = v;
    if (node(c, v)->type == TSQL_OBJECT) {
        if (node(c, v)->count != 1)
            return fail(c, "order_by %s: one field, { field = 'asc' | 'desc' }", agg);
        dirn = node(c, v)->first;
        const char *name = tsql_key(c->d, dirn);
        if (!(f = tide_model_field(c->m, name)))
            return fail(c, "order_by %s: unknown field '%s' on %s%s", agg, name, c->m->name,
                        near_field(h, sizeof h, c->m, name, 0));
        if (agg_number_only(agg) && !is_number_field(f))
            return fail(c, "order_by %s: %s.%s is not a number", agg, c->m->name, f->name);
    } else if (strcmp(agg, "_count")) {
        return fail(c, "order_by %s: expected { field = 'asc' | 'desc' }", agg);
    }
    const char *dir = option_text(c, dirn, "order_by", buf, sizeof buf);
    if (!dir)
        return;
    if (strcmp(dir, "asc") && strcmp(dir, "desc"))
        return fail(c, "order_by %s: sort is 'asc' or 'desc', got '%s'", agg, dir);
    tutil_buf_adds(c->b, (*n)++ ? ", " : " ORDER BY ");
    agg_expr(c, agg, f);
    tutil_buf_adds(c->b, strcmp(dir, "desc") ? " ASC" : " DESC");
}

/* ---- implicit many_to_many links (nested writes) ----------------------------- */

static void link(cc *c, tide_node root)
{
    char h[160], buf[80];
    tide_node rn = tsql_child(c->d, root, "_relation");
    tide_node from = tsql_child(c->d, root, "from"), to = tsql_child(c->d, root, "to");
    const char *name = rn >= 0 ? option_text(c, rn, "_relation", buf, sizeof buf) : NULL;
    if (!name)
        return fail(c, "%s: _relation is required", op_name(c->op));
    const tide_relation *r = tide_model_relation(c->m, name);
    if (!r)
        return fail(c, "%s: unknown relation '%s' on %s%s", op_name(c->op), name, c->m->name,
                    near_field(h, sizeof h, c->m, name, 1));
    if (r->kind != TIDE_REL_MANY_TO_MANY || r->through)
        return fail(c, "%s: %s.%s is not an implicit many_to_many", op_name(c->op), c->m->name, name);
    if (from < 0 || node(c, from)->type != TSQL_LEAF || (c->op == TIDE_OP_LINK && to < 0) ||
        (to >= 0 && node(c, to)->type != TSQL_LEAF))
        return fail(c, "%s: from and to keys are required", op_name(c->op));
    if (c->op == TIDE_OP_LINK) {
        tutil_buf_adds(c->b, "INSERT INTO ");
        tsql_join_table(c->b, c->dia, r);
        tutil_buf_adds(c->b, " (");
        ident(c, r->join_from);
        tutil_buf_adds(c->b, ", ");
        ident(c, r->join_to);
        tutil_buf_adds(c->b, ") VALUES (");
        placeholder(c, from);
        tutil_buf_adds(c->b, ", ");
        placeholder(c, to);
        tutil_buf_adds(c->b, ") ON CONFLICT DO NOTHING");
        return;
    }
    tutil_buf_adds(c->b, "DELETE FROM ");
    tsql_join_table(c->b, c->dia, r);
    tutil_buf_adds(c->b, " WHERE ");
    ident(c, r->join_from);
    tutil_buf_adds(c->b, " = ");
    placeholder(c, from);
    if (to >= 0) {
        tutil_buf_adds(c->b, " AND ");
        ident(c, r->join_to);
        tutil_buf_adds(c->b, " = ");
        placeholder(c, to);
    }
}

/* ---- relation loading: _via -------------------------------------------------
 *
 * A child query for an include: _via = { model = parent, relation = name,
 * keys = ... } selects the related rows of all the parents at once, each
 * with its parent's key beside it. With take/skip, row_number() per parent
 * keeps the limit per parent.
 *
 * A key of one field: keys is the list of the parents' values, matched with
 * = ANY($n), and each row's parent key comes back as "__parent". A key of n
 * fields: keys is a list of n lists, list i holding part i of every parent's
 * key, matched as rows, (a, b) IN (SELECT * FROM unnest($x::t[], $y::u[])),
 * and the parent key comes back as "__parent_1" ... "__parent_n". One
 * parameter per key field, whatever the number of parents.
 *
 * Instead of keys, _via may give the parent level's own condition: parent =
 * { where = ..., _via = <the parent's own _via> }. The parent key is then
 * matched against a subquery over the parent's table, so the child query
 * needs nothing from the parent's result and every level of an include can
 * be sent at once (the loader pipelines them). The subquery must select a
 * superset of the parents actually loaded (children of rows that are not
 * there are simply not stitched), which holds when the parent level has no
 * take, skip, cursor or distinct: the loader only uses it then. Not for
 * relations through a join table. */

typedef struct via {
    tide_node keys;
    tide_node pcond;                   /* or the parent level's condition (_via parent) */
    const tide_relation *r;
    int n;                             /* parts of the parent key */
    int joined;                        /* a join table or model, as "j" */
    const char *parent[MAX_KEY];       /* the parent key's columns: on "j" when joined, else on the child */
    const tide_field *typed[MAX_KEY];  /* ... and fields of their types */
    int nlink;                         /* joined: column pairs linking "j" to the child */
    const char *join_col[MAX_KEY], *child_col[MAX_KEY];
} via;

static void parent_part(cc *c, const via *v, int i)
{
    ident(c, v->joined ? "j" : c->alias);
    tutil_buf_addc(c->b, '.');
    ident(c, v->parent[i]);
}

static void parent_parts(cc *c, const via *v)
{
    for (int i = 0; i < v->n; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        parent_part(c, v, i);
    }
}

/* "__parent", or "__parent_<i+1>" for a part of a composite key */
static void parent_name(cc *c, const via *v, int i)
{
    char name[32];
    if (v->n == 1)
        snprintf(name, sizeof name, "__parent");
    else
        snprintf(name, sizeof name, "__parent_%d", i + 1);
    ident(c, name);
}

/* the parent key's columns named for the client (as = 1), or read back from
 * the subquery "s" by those names (as = 0) */
static void parent_columns(cc *c, const via *v, int as)
{
    for (int i = 0; i < v->n; i++) {
        tutil_buf_adds(c->b, ", ");
        if (as) {
            parent_part(c, v, i);
            tutil_buf_adds(c->b, " AS ");
        } else {
            ident(c, "s");
            tutil_buf_addc(c->b, '.');
        }
        parent_name(c, v, i);
    }
}

static int resolve_via(cc *c, tide_node vn, via *v)
{
    char h[160], mbuf[80], rbuf[80];
    memset(v, 0, sizeof *v);
    if (node(c, vn)->type != TSQL_OBJECT)
        return fail(c, "_via: expected { model =, relation =, keys = }"), 0;
    tide_node mn = tsql_child(c->d, vn, "model"), rn = tsql_child(c->d, vn, "relation");
    v->keys = tsql_child(c->d, vn, "keys");
    v->pcond = tsql_child(c->d, vn, "parent");
    if (mn < 0 || rn < 0 || (v->keys < 0) == (v->pcond < 0))
        return fail(c, "_via: expected { model =, relation =, keys = } or { model =, relation =, parent = }"), 0;
    const char *mname = option_text(c, mn, "_via model", mbuf, sizeof mbuf);
    const char *rname = option_text(c, rn, "_via relation", rbuf, sizeof rbuf);
    if (!mname || !rname)
        return 0;
    const tide_model *pm = tide_schema_model(c->s, mname);
    if (!pm)
        return fail(c, "include: unknown model '%s'", mname), 0;
    const tide_relation *r = tide_model_relation(pm, rname);
    if (!r)
        return fail(c, "include: unknown relation '%s' on %s%s", rname, pm->name, near_field(h, sizeof h, pm, rname, 1)), 0;
    if (r->target != c->m)
        return fail(c, "include: %s.%s leads to %s, not %s", pm->name, rname, r->target->name, c->m->name), 0;
    v->r = r;
    tide_field *const *parent, *const *join = NULL, *const *child = NULL;
    if (r->kind == TIDE_REL_MANY_TO_MANY && r->through) {
        v->joined = 1;
        v->n = r->through_from->nfields;
        parent = r->through_from->fields;
        v->nlink = r->through_to->nfields;
        join = r->through_to->fields;
        child = r->through_to->refs;
    } else if (r->kind == TIDE_REL_MANY_TO_MANY) {
        /* implicit: single-field keys on both sides, columns by name */
        v->joined = 1;
        v->n = v->nlink = 1;
        v->parent[0] = r->join_from;
        v->typed[0] = r->model->pk[0];
        v->join_col[0] = r->join_to;
        v->child_col[0] = c->m->pk[0]->column;
        return 1;
    } else {
        /* belongs_to: the child is referenced; has_one/has_many: it holds the key */
        v->n = r->nfields;
        parent = r->kind == TIDE_REL_BELONGS_TO ? r->refs : r->fields;
    }
    if (v->n > MAX_KEY || v->nlink > MAX_KEY)
        return fail(c, "include: %s.%s: a key of more than %d fields", pm->name, rname, MAX_KEY), 0;
    for (int i = 0; i < v->n; i++) {
        v->parent[i] = parent[i]->column;
        v->typed[i] = parent[i];
    }
    for (int i = 0; i < v->nlink; i++) {
        v->join_col[i] = join[i]->column;
        v->child_col[i] = child[i]->column;
    }
    return 1;
}

static void via_from(cc *c, const via *v)
{
    from(c);
    if (!v->joined)
        return;
    tutil_buf_adds(c->b, " JOIN ");
    if (v->r->through)
        tsql_table(c->b, c->dia, v->r->through);
    else
        tsql_join_table(c->b, c->dia, v->r);
    tutil_buf_adds(c->b, " AS ");
    ident(c, "j");
    tutil_buf_adds(c->b, " ON ");
    equal_columns(c, "j", v->join_col, c->alias, v->child_col, v->nlink);
}

static void parent_select(cc *c, const via *v, int named);

/* The parent key matched against the parent level's rows (_via parent). */
static void via_parent(cc *c, const via *v)
{
    tutil_buf_addc(c->b, '(');
    parent_parts(c, v);
    tutil_buf_adds(c->b, ") IN (");
    parent_select(c, v, 0);
    tutil_buf_addc(c->b, ')');
}

/* SELECT <the parent's key fields> FROM <the parent's table> AS pN WHERE
 * <its where> AND <its own _via>, compiled in the parent's context; named:
 * the key columns named as the child's parent columns ("__parent"...). */
static void parent_select(cc *c, const via *v, int named)
{
    const tide_relation *r = v->r;
    const tide_model *pm = r->model, *child = c->m;
    char alias[16], saved[16];
    snprintf(alias, sizeof alias, "p%d", ++c->parents);
    tutil_buf_adds(c->b, "SELECT ");
    for (int i = 0; i < v->n; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        ident(c, alias);
        tutil_buf_addc(c->b, '.');
        ident(c, tide_relation_key_field(r, i)->column);
        if (named) {
            tutil_buf_adds(c->b, " AS ");
            parent_name(c, v, i);
        }
    }
    tutil_buf_adds(c->b, " FROM ");
    tsql_table(c->b, c->dia, pm);
    tutil_buf_adds(c->b, " AS ");
    ident(c, alias);
    memcpy(saved, c->alias, sizeof saved);
    memcpy(c->alias, alias, sizeof c->alias);
    c->m = pm;
    const char *sep = " WHERE ";
    tide_node w = tsql_child(c->d, v->pcond, "where");
    if (w >= 0 && node(c, w)->type != TSQL_OBJECT)
        fail(c, "_via parent where: expected a table of conditions");
    else if (w >= 0 && node(c, w)->count > 0) {
        tutil_buf_adds(c->b, sep);
        tutil_buf_addc(c->b, '(');
        where_object(c, w);
        tutil_buf_addc(c->b, ')');
        sep = " AND ";
    }
    /* soft-deleted parents are not filtered out here: a superset is enough,
     * and the parent level may have asked for them (with_deleted) */
    tide_node gv = tsql_child(c->d, v->pcond, "_via");
    if (gv >= 0) {
        via g;
        if (resolve_via(c, gv, &g) && !c->failed) {
            if (g.keys >= 0 || g.joined)
                fail(c, "_via parent: its own _via must give a parent too, not through a join table");
            else {
                tutil_buf_adds(c->b, sep);
                via_parent(c, &g);
            }
        }
    }
    c->m = child;
    memcpy(c->alias, saved, sizeof c->alias);
}

static void via_rest(cc *c, tide_node root);

/* unnest($1::t[], ...): the keys, one array per part, typed */
static void unnest_keys(cc *c, const via *v)
{
    tutil_buf_adds(c->b, "unnest(");
    if (v->n == 1) {
        placeholder(c, v->keys);
        array_cast(c, v->typed[0]);
    } else {
        int i = 0;
        for (tide_node k = node(c, v->keys)->first; k >= 0; k = node(c, k)->next, i++) {
            if (i)
                tutil_buf_adds(c->b, ", ");
            placeholder(c, k);
            array_cast(c, v->typed[i]);
        }
    }
    tutil_buf_addc(c->b, ')');
}

static void via_where(cc *c, tide_node root, const via *v)
{
    tutil_buf_adds(c->b, " WHERE ");
    if (v->pcond >= 0) {
        via_parent(c, v);
    } else if (v->n == 1) {
        parent_part(c, v, 0);
        tutil_buf_adds(c->b, " = ANY(");
        placeholder(c, v->keys);
        tutil_buf_addc(c->b, ')');
    } else {
        tutil_buf_addc(c->b, '(');
        parent_parts(c, v);
        tutil_buf_adds(c->b, ") IN (SELECT * FROM ");
        unnest_keys(c, v);
        tutil_buf_addc(c->b, ')');
    }
    via_rest(c, root);
}

/* After the parent key's condition: the level's own where, and live rows. */
static void via_rest(cc *c, tide_node root)
{
    tide_node w = tsql_child(c->d, root, "where");
    if (w >= 0) {
        if (node(c, w)->type != TSQL_OBJECT)
            return fail(c, "where: expected a table of conditions");
        if (node(c, w)->count > 0) {
            tutil_buf_adds(c->b, " AND (");
            where_object(c, w);
            tutil_buf_addc(c->b, ')');
        }
    }
    live_rows(c, c->m, c->alias, " AND ");
}

/* The parents' keys as a row source with the parent columns' names: the
 * keys unnested, or the parent level's rows (_via parent). */
static void key_source(cc *c, const via *v)
{
    if (v->pcond >= 0) {
        parent_select(c, v, 1);
        return;
    }
    tutil_buf_adds(c->b, "SELECT * FROM ");
    unnest_keys(c, v);
    tutil_buf_adds(c->b, " AS ");
    ident(c, "k");
    tutil_buf_addc(c->b, '(');
    for (int i = 0; i < v->n; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        parent_name(c, v, i);
    }
    tutil_buf_addc(c->b, ')');
}

/* " ORDER BY" the level's order, or its key (a view without one: the
 * server's order) */
static void level_order(cc *c, tide_node root)
{
    if (tsql_child(c->d, root, "order_by") >= 0) {
        order_by(c, root);
    } else if (c->m->npk > 0) {
        tutil_buf_adds(c->b, " ORDER BY ");
        for (int i = 0; i < c->m->npk; i++) {
            if (i)
                tutil_buf_adds(c->b, ", ");
            column(c, c->m->pk[i]);
        }
    }
}

/* A limit per parent, without a join table: each parent key LATERAL-joined
 * to its own first rows, so the server reads only those (an index on the
 * key and the order stops early; measured on W3's comments: half the
 * server time of a row_number() over every child row). __rn carries each
 * parent's order through the join. */
static void find_via_lateral(cc *c, tide_node root, const via *v)
{
    tutil_buf_adds(c->b, "SELECT ");
    c->outer = 1;
    select_list(c, root);
    count_columns(c, root, COUNT_OUTER, NULL);
    c->outer = 0;
    for (int i = 0; i < v->n; i++) {
        tutil_buf_adds(c->b, ", ");
        ident(c, "pk");
        tutil_buf_addc(c->b, '.');
        parent_name(c, v, i);
    }
    tutil_buf_adds(c->b, " FROM (");
    key_source(c, v);
    tutil_buf_adds(c->b, ") AS ");
    ident(c, "pk");
    tutil_buf_adds(c->b, " CROSS JOIN LATERAL (SELECT ");
    select_list(c, root);
    count_columns(c, root, COUNT_COLUMNS, NULL);
    tutil_buf_adds(c->b, ", row_number() OVER (");
    level_order(c, root);
    tutil_buf_adds(c->b, ") AS \"__rn\"");
    from(c);
    tutil_buf_adds(c->b, " WHERE ");
    for (int i = 0; i < v->n; i++) {
        if (i)
            tutil_buf_adds(c->b, " AND ");
        parent_part(c, v, i);
        tutil_buf_adds(c->b, " = ");
        ident(c, "pk");
        tutil_buf_addc(c->b, '.');
        parent_name(c, v, i);
    }
    via_rest(c, root);
    level_order(c, root);
    take_skip(c, root, 0);
    tutil_buf_adds(c->b, ") AS ");
    ident(c, "s");
    tutil_buf_adds(c->b, " ORDER BY ");
    for (int i = 0; i < v->n; i++) {
        ident(c, "pk");
        tutil_buf_addc(c->b, '.');
        parent_name(c, v, i);
        tutil_buf_adds(c->b, ", ");
    }
    tutil_buf_adds(c->b, "\"s\".\"__rn\"");
}

/* keys: one list of values, or one per part of a composite key; or parent */
static int via_keys_ok(cc *c, const via *v)
{
    if (v->pcond >= 0) {
        if (node(c, v->pcond)->type != TSQL_OBJECT)
            return fail(c, "_via parent: expected { where =, _via = }"), 0;
        for (tide_node k = node(c, v->pcond)->first; k >= 0; k = node(c, k)->next) {
            const char *key = tsql_key(c->d, k);
            if (strcmp(key, "where") && strcmp(key, "_via"))
                return fail(c, "_via parent: unknown option '%s' (it takes where and _via)", key), 0;
        }
        if (v->joined)
            return fail(c, "_via parent: not for a relation through a join table"), 0;
        return 1;
    }
    const tsql_node *k = node(c, v->keys);
    if (v->n == 1) {
        if (k->type != TSQL_LEAF || leaf_value(c, v->keys)->kind != TIDE_KIND_JSON)
            return fail(c, "_via keys: expected a list of values"), 0;
        return 1;
    }
    int ok = k->type == TSQL_ARRAY && k->count == v->n;
    for (tide_node e = ok ? k->first : -1; e >= 0; e = node(c, e)->next)
        ok &= node(c, e)->type == TSQL_LEAF &&
              (leaf_value(c, e)->kind == TIDE_KIND_JSON || leaf_value(c, e)->kind == TIDE_KIND_TEXT);
    if (!ok)
        return fail(c, "_via keys: expected %d lists of values, one per key field", v->n), 0;
    return 1;
}

static void find_via(cc *c, tide_node root, tide_node vn)
{
    via v;
    if (!resolve_via(c, vn, &v) || !via_keys_ok(c, &v))
        return;
    tide_node take = tsql_child(c->d, root, "take"), skip = tsql_child(c->d, root, "skip");
    if (take < 0 && skip < 0) {
        tutil_buf_adds(c->b, "SELECT ");
        select_list(c, root);
        count_columns(c, root, COUNT_COLUMNS, NULL);
        parent_columns(c, &v, 1);
        via_from(c, &v);
        via_where(c, root, &v);
        order_by(c, root);
        return;
    }
    if (!v.joined) {
        find_via_lateral(c, root, &v);
        return;
    }
    /* a limit per parent, through a join table */
    tutil_buf_adds(c->b, "SELECT ");
    c->outer = 1;
    select_list(c, root);
    count_columns(c, root, COUNT_OUTER, NULL);
    c->outer = 0;
    parent_columns(c, &v, 0);
    tutil_buf_adds(c->b, " FROM (SELECT ");
    select_list(c, root);
    count_columns(c, root, COUNT_COLUMNS, NULL);
    parent_columns(c, &v, 1);
    tutil_buf_adds(c->b, ", row_number() OVER (PARTITION BY ");
    parent_parts(c, &v);
    level_order(c, root);
    tutil_buf_adds(c->b, ") AS \"__rn\"");
    via_from(c, &v);
    via_where(c, root, &v);
    tutil_buf_adds(c->b, ") AS \"s\" WHERE ");
    if (skip >= 0) {
        tutil_buf_adds(c->b, "\"s\".\"__rn\" > ");
        placeholder(c, skip);
    }
    if (take >= 0) {
        tutil_buf_adds(c->b, skip >= 0 ? " AND \"s\".\"__rn\" <= " : "\"s\".\"__rn\" <= ");
        placeholder(c, take);
        if (skip >= 0) {
            tutil_buf_adds(c->b, " + ");
            placeholder(c, skip);
        }
    }
    tutil_buf_adds(c->b, " ORDER BY ");
    for (int i = 0; i < v.n; i++) {
        ident(c, "s");
        tutil_buf_addc(c->b, '.');
        parent_name(c, &v, i);
        tutil_buf_adds(c->b, ", ");
    }
    tutil_buf_adds(c->b, "\"s\".\"__rn\"");
}

/* ---- include in one statement ------------------------------------------------
 *
 * include = { posts = { ... } } on a find: each relation becomes a column
 * holding JSON, a correlated subquery over the related rows (a lateral
 * reference to the outer row): a list is json_agg of one json_build_object
 * per row ('[]' for none), a single relation one object or NULL. Nested
 * includes and _count nest inside the objects; where, select, omit,
 * order_by, take, skip and with_deleted shape each level as they shape a
 * query. The client (the "join" strategy) decodes the JSON into rows. A
 * subquery in the select list runs after ORDER BY and LIMIT, so only the
 * rows returned pay for their relations. */

enum { MAX_INCLUDE_DEPTH = 16 };

static void json_key(cc *c, jpairs *jp, const char *name)
{
    if (jp->n && jp->n % 50 == 0)
        tutil_buf_adds(c->b, ") || jsonb_build_object(");
    else if (jp->n)
        tutil_buf_adds(c->b, ", ");
    jp->n++;
    c->dia->quote_literal(c->b, name);
    tutil_buf_adds(c->b, ", ");
}

/* A field's value in JSON, where its JSON form would differ from how tide
 * reads the column: numeric stays exact (text, as tide reads it); an array
 * of enums or custom types is a list of texts (as text[], which is how the
 * select list reads it). */
static void json_field(cc *c, const tide_field *f)
{
    column(c, f);
    if (f->type == TIDE_T_NUMERIC)
        tutil_buf_adds(c->b, f->array_dims ? "::text[]" : "::text");
    else if (tsql_custom_array(f))
        tutil_buf_adds(c->b, "::text[]");
}

/* include's entry for r: 1 with *args (-1 for true), 0 to leave it out */
static int include_args(cc *c, const tide_relation *r, tide_node v, tide_node *args)
{
    char h[160];
    static const char *const opts[] = {"where", "select", "omit", "include", "order_by", "take", "skip", "_count",
                                       "with_deleted"};
    *args = -1;
    if (node(c, v)->type == TSQL_LEAF && leaf_value(c, v)->kind == TIDE_KIND_BOOL)
        return leaf_value(c, v)->as.b;
    if (node(c, v)->type != TSQL_OBJECT)
        return fail(c, "include %s: true, false or a table of options", r->name), 0;
    for (tide_node k = node(c, v)->first; k >= 0; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        int ok = 0;
        for (int i = 0; i < 9; i++)
            ok |= !strcmp(key, opts[i]);
        if (!ok)
            return fail(c, "include %s: unknown option '%s'%s", r->name, key, near_in(h, sizeof h, key, opts, 9)), 0;
    }
    int many = r->kind == TIDE_REL_HAS_MANY || r->kind == TIDE_REL_MANY_TO_MANY;
    if (!many && (tsql_child(c->d, v, "take") >= 0 || tsql_child(c->d, v, "skip") >= 0 ||
                  tsql_child(c->d, v, "order_by") >= 0))
        return fail(c, "include %s: take, skip and order_by apply to lists; %s is a %s", r->name, r->name,
                    r->kind == TIDE_REL_BELONGS_TO ? "belongs_to" : "has_one"), 0;
    tide_node wd = tsql_child(c->d, v, "with_deleted");
    if (wd >= 0 && (node(c, wd)->type != TSQL_LEAF || leaf_value(c, wd)->kind != TIDE_KIND_BOOL))
        return fail(c, "include %s: with_deleted: true or false", r->name), 0;
    if (wd >= 0 && !r->target->soft_delete)
        return fail(c, "include %s: with_deleted: %s has no soft delete", r->name, r->target->name), 0;
    tide_node w = tsql_child(c->d, v, "where");
    if (w >= 0 && node(c, w)->type != TSQL_OBJECT)
        return fail(c, "include %s: where: expected a table of conditions", r->name), 0;
    *args = v;
    return 1;
}

static void json_object(cc *c, tide_node args);

/* the JSON of r's rows related to the row at c->alias (of c->m) */
static void include_value(cc *c, const tide_relation *r, tide_node args)
{
    if (c->inc >= MAX_INCLUDE_DEPTH)
        return fail(c, "include: relations nest at most %d deep", MAX_INCLUDE_DEPTH);
    const tide_model *outer_model = c->m;
    char outer_alias[16], inner[16], join[16], rows[16];
    memcpy(outer_alias, c->alias, sizeof outer_alias);
    int outer_deleted = c->with_deleted;
    c->inc++;
    snprintf(inner, sizeof inner, "i%d", c->inc);
    snprintf(join, sizeof join, "ij%d", c->inc);
    snprintf(rows, sizeof rows, "r%d", c->inc);
    tide_node wd = args >= 0 ? tsql_child(c->d, args, "with_deleted") : -1;
    c->with_deleted = wd >= 0 && leaf_value(c, wd)->as.b; /* each level has its own */
    tide_node where = args >= 0 ? tsql_child(c->d, args, "where") : -1;
    tide_node take = args >= 0 ? tsql_child(c->d, args, "take") : -1;
    tide_node skip = args >= 0 ? tsql_child(c->d, args, "skip") : -1;
    int many = r->kind == TIDE_REL_HAS_MANY || r->kind == TIDE_REL_MANY_TO_MANY;
    int paged = take >= 0 || skip >= 0;
    const tide_model *target = r->target;

    tutil_buf_adds(c->b, "(SELECT ");
    if (many && paged)
        tutil_buf_adds(c->b, "coalesce(json_agg(");
    /* the rows' objects and order, seen from inside (target as inner) */
    c->m = target;
    memcpy(c->alias, inner, sizeof c->alias);
    if (many && paged) {
        ident(c, rows);
        tutil_buf_adds(c->b, ".\"j\" ORDER BY ");
        ident(c, rows);
        tutil_buf_adds(c->b, ".\"n\"), '[]'::json) FROM (SELECT ");
    } else if (many) {
        tutil_buf_adds(c->b, "coalesce(json_agg(");
    }
    json_object(c, args);
    if (many && !paged) {
        if (args >= 0)
            order_by(c, args); /* inside the aggregate: " ORDER BY ..." */
        tutil_buf_adds(c->b, "), '[]'::json)");
    } else if (many) {
        /* a window numbers the rows in their order; LIMIT keeps a page */
        tutil_buf_adds(c->b, " AS \"j\", row_number() OVER (");
        int ordered = tsql_child(c->d, args, "order_by") >= 0;
        if (ordered) {
            order_by(c, args);
        } else if (target->npk > 0) {
            tutil_buf_adds(c->b, "ORDER BY ");
            for (int i = 0; i < target->npk; i++) {
                if (i)
                    tutil_buf_adds(c->b, ", ");
                column(c, target->pk[i]);
            }
        }
        tutil_buf_adds(c->b, ") AS \"n\"");
    }
    tutil_buf_adds(c->b, " FROM ");
    related_from(c, r, outer_alias, inner, join);
    if (where >= 0 && node(c, where)->count > 0) {
        tutil_buf_adds(c->b, " AND (");
        c->depth++; /* relation filters in it take the next aliases */
        where_object(c, where);
        c->depth--;
        tutil_buf_addc(c->b, ')');
    }
    if (!many) {
        tutil_buf_adds(c->b, " LIMIT 1");
    } else if (paged) {
        if (tsql_child(c->d, args, "order_by") >= 0) {
            order_by(c, args);
        } else if (target->npk > 0) {
            tutil_buf_adds(c->b, " ORDER BY ");
            for (int i = 0; i < target->npk; i++) {
                if (i)
                    tutil_buf_adds(c->b, ", ");
                column(c, target->pk[i]);
            }
        }
        take_skip(c, args, 0);
        tutil_buf_adds(c->b, ") AS ");
        ident(c, rows);
    }
    tutil_buf_addc(c->b, ')');
    c->m = outer_model;
    memcpy(c->alias, outer_alias, sizeof c->alias);
    c->with_deleted = outer_deleted;
    c->inc--;
}

/* The entries of include = { name = true | { ... } } of the row at c->alias:
 * as columns ", (json) AS "name"" (jp NULL), or as pairs of an object. */
static void include_entries(cc *c, tide_node inc, jpairs *jp)
{
    char h[160];
    if (node(c, inc)->type != TSQL_OBJECT)
        return fail(c, "include: expected { relation = true | { ... } }");
    for (tide_node k = node(c, inc)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        const tide_relation *r = tide_model_relation(c->m, key);
        if (!r && !strcmp(key, "_count"))
            return fail(c, "include: _count is an option of the query (_count = ...), not a relation");
        if (!r)
            return fail(c, "include: unknown relation '%s' on %s%s", key, c->m->name,
                        near_field(h, sizeof h, c->m, key, 1));
        tide_node args;
        if (!include_args(c, r, k, &args))
            continue;
        if (jp)
            json_key(c, jp, r->name);
        else
            tutil_buf_adds(c->b, ", ");
        include_value(c, r, args);
        if (!jp) {
            tutil_buf_adds(c->b, " AS ");
            ident(c, r->name);
        }
    }
}

/* json_build_object('field', value, ..., 'relation', (...), '_count', ...)
 * for the row of c->m at c->alias, shaped by args (-1: every field not
 * omitted by the schema) */
static void json_object(cc *c, tide_node args)
{
    tide_node sel, om;
    if (!select_omit(c, args, &sel, &om))
        return;
    tide_node inc = args >= 0 ? tsql_child(c->d, args, "include") : -1;
    tide_node cnt = args >= 0 ? tsql_child(c->d, args, "_count") : -1;
    /* an upper bound on the pairs decides between one json_build_object
     * and chunks of jsonb_build_object */
    int bound = (cnt >= 0) + (inc >= 0 && node(c, inc)->type == TSQL_OBJECT ? node(c, inc)->count : 0);
    for (int i = 0; i < c->m->nfields && !c->failed; i++)
        bound += field_taken(c, sel, om, c->m->fields[i]);
    jpairs jp = {0};
    tutil_buf_adds(c->b, bound > 50 ? "(jsonb_build_object(" : "json_build_object(");
    for (int i = 0; i < c->m->nfields && !c->failed; i++) {
        const tide_field *f = c->m->fields[i];
        if (!field_taken(c, sel, om, f))
            continue;
        json_key(c, &jp, f->name);
        json_field(c, f);
    }
    if (inc >= 0)
        include_entries(c, inc, &jp);
    if (cnt >= 0)
        count_columns(c, args, COUNT_JSON, &jp);
    if (jp.n == 0 && !c->failed)
        fail(c, "include: select picks nothing of %s", c->m->name);
    tutil_buf_adds(c->b, bound > 50 ? "))" : ")");
}

/* ---- statements ------------------------------------------------------------ */

static void check_options(cc *c, tide_node root, const char *const *allowed, int n)
{
    char h[160];
    for (tide_node k = node(c, root)->first; k >= 0 && !c->failed; k = node(c, k)->next) {
        const char *key = tsql_key(c->d, k);
        int ok = 0;
        for (int i = 0; i < n; i++)
            ok |= !strcmp(key, allowed[i]);
        if (!ok) {
            if (!strcmp(key, "include"))
                return fail(c, "%s does not take include", op_name(c->op));
            return fail(c, "%s: unknown option '%s'%s", op_name(c->op), key, near_in(h, sizeof h, key, allowed, n));
        }
    }
}

/* the model's table as "t0", for every statement on it */
static void table_as(cc *c)
{
    tsql_table(c->b, c->dia, c->m);
    tutil_buf_adds(c->b, " AS ");
    ident(c, ALIAS);
}

static void from(cc *c)
{
    tutil_buf_adds(c->b, " FROM ");
    table_as(c);
}

/* The fields of distinct = "f" or { "f", "g" }; returns how many. */
static int distinct_fields(cc *c, tide_node root, const tide_field **out, int max)
{
    char h[160], buf[80];
    tide_node dn = tsql_child(c->d, root, "distinct");
    if (dn < 0)
        return 0;
    int n = 0;
    for (tide_node e = node(c, dn)->type == TSQL_ARRAY ? node(c, dn)->first : dn; e >= 0 && n < max;
         e = node(c, dn)->type == TSQL_ARRAY ? node(c, e)->next : -1) {
        const char *name = option_text(c, e, "distinct", buf, sizeof buf);
        if (!name)
            return 0;
        if (!(out[n++] = tide_model_field(c->m, name)))
            return fail(c, "distinct: unknown field '%s' on %s%s", name, c->m->name,
                        near_field(h, sizeof h, c->m, name, 0)), 0;
    }
    return n;
}

/* cursor = { id = 7 }: rows from that one on, in the query's order. The
 * order must be on fields in one direction (the primary key when none is
 * given); the cursor must name a unique key. The key's fields that the
 * order leaves out follow it, in the same direction, so that rows which tie
 * on the order still have one place before or after the cursor's row: they
 * go into the row comparison and, through *tail, into ORDER BY. */
typedef struct order_tail {
    const tide_field *fields[32]; /* the primary key's and a unique key's */
    int n, desc;
} order_tail;

static void cursor_clause(cc *c, tide_node root, int has_where, order_tail *tail)
{
    char buf[32];
    tide_node cur = tsql_child(c->d, root, "cursor");
    tail->n = 0;
    if (cur < 0)
        return;
    if (node(c, cur)->type != TSQL_OBJECT)
        return fail(c, "cursor: expected { unique_field = value }");
    const tide_model *m = c->m;
    const tide_field *key[16];
    int nkey = 0, unique = m->npk > 0 && m->npk <= 16;
    for (int i = 0; i < m->npk && unique; i++)
        unique &= has_equality(c, cur, m->pk[i]);
    for (int i = 0; unique && i < m->npk; i++)
        key[nkey++] = m->pk[i];
    for (int i = 0; i < m->nfields && !unique; i++)
        if (m->fields[i]->unique && has_equality(c, cur, m->fields[i])) {
            unique = 1;
            key[nkey++] = m->fields[i];
        }
    if (!unique)
        return fail(c, "cursor: name one %s by a unique key", m->name);
    const tide_field *fields[32];
    int nf = 0, desc = -1;
    tide_node o = tsql_child(c->d, root, "order_by");
    if (o >= 0) {
        for (tide_node e = node(c, o)->type == TSQL_ARRAY ? node(c, o)->first : o; e >= 0 && nf < 16;
             e = node(c, o)->type == TSQL_ARRAY ? node(c, e)->next : -1) {
            if (node(c, e)->type != TSQL_OBJECT || node(c, e)->count != 1)
                return fail(c, "cursor: order_by items are { field = 'asc' | 'desc' }");
            tide_node k = node(c, e)->first;
            const tide_field *f = tide_model_field(m, tsql_key(c->d, k));
            const char *dir = node(c, k)->type == TSQL_LEAF ? option_text(c, k, "order_by", buf, sizeof buf) : NULL;
            if (!f || !dir)
                return fail(c, "cursor: order_by items are { field = 'asc' | 'desc' } on fields of %s", m->name);
            int d = !strcmp(dir, "desc");
            if (desc >= 0 && d != desc)
                return fail(c, "cursor: every order_by field must sort the same way");
            desc = d;
            fields[nf++] = f;
        }
    } else { /* the primary key's order */
        desc = 0;
        for (int i = 0; i < m->npk && nf < 16; i++)
            fields[nf++] = tail->fields[tail->n++] = m->pk[i];
    }
    for (int i = 0; i < nkey; i++) {
        int ordered = 0;
        for (int j = 0; j < nf; j++)
            ordered |= fields[j] == key[i];
        if (!ordered)
            fields[nf++] = tail->fields[tail->n++] = key[i];
    }
    tail->desc = desc;
    tutil_buf_adds(c->b, has_where ? " AND (" : " WHERE (");
    for (int i = 0; i < nf; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        column(c, fields[i]);
    }
    tutil_buf_adds(c->b, desc ? ") <= (SELECT " : ") >= (SELECT ");
    char saved[16];
    memcpy(saved, c->alias, sizeof saved);
    memcpy(c->alias, "cur", 4);
    for (int i = 0; i < nf; i++) {
        if (i)
            tutil_buf_adds(c->b, ", ");
        column(c, fields[i]);
    }
    tutil_buf_adds(c->b, " FROM ");
    tsql_table(c->b, c->dia, m);
    tutil_buf_adds(c->b, " AS ");
    ident(c, "cur");
    tutil_buf_adds(c->b, " WHERE ");
    where_object(c, cur);
    memcpy(c->alias, saved, sizeof c->alias);
    tutil_buf_addc(c->b, ')');
}

static void find(cc *c, tide_node root)
{
    const tide_field *dist[16];
    int nd = distinct_fields(c, root, dist, 16);
    tutil_buf_adds(c->b, "SELECT ");
    if (nd) {
        tutil_buf_adds(c->b, "DISTINCT ON (");
        for (int i = 0; i < nd; i++) {
            if (i)
                tutil_buf_adds(c->b, ", ");
            column(c, dist[i]);
        }
        tutil_buf_adds(c->b, ") ");
    }
    select_list(c, root);
    count_columns(c, root, COUNT_COLUMNS, NULL);
    tide_node inc = tsql_child(c->d, root, "include");
    if (inc >= 0)
        include_entries(c, inc, NULL);
    from(c);
    int has_where = where_clause(c, root);
    order_tail tail;
    cursor_clause(c, root, has_where, &tail);
    /* DISTINCT ON needs its fields first in ORDER BY */
    for (int i = 0; i < nd; i++) {
        tutil_buf_adds(c->b, i ? ", " : " ORDER BY ");
        column(c, dist[i]);
    }
    int n = order_by_after(c, root, nd);
    for (int i = 0; i < tail.n; i++) {
        tutil_buf_adds(c->b, n++ ? ", " : " ORDER BY ");
        column(c, tail.fields[i]);
        tutil_buf_adds(c->b, tail.desc ? " DESC" : " ASC");
    }
    take_skip(c, root, c->op != TIDE_OP_FIND_MANY);
}

/* delete and delete_many of a soft-deleting model: mark the rows */
static void soft_delete(cc *c, tide_node root)
{
    tutil_buf_adds(c->b, "UPDATE ");
    table_as(c);
    tutil_buf_adds(c->b, " SET ");
    ident(c, c->m->soft_delete->column);
    tutil_buf_adds(c->b, " = now()");
    int saved = c->with_deleted;
    c->with_deleted = 0; /* what is already deleted stays as it was */
    where_clause(c, root);
    c->with_deleted = saved;
}

static tide_shape_result compile(cc *c, tide_node root)
{
    /* views are read-only: refused here, before any SQL exists */
    if (c->m->kind != TIDE_MODEL_TABLE && c->op != TIDE_OP_FIND_MANY && c->op != TIDE_OP_FIND_FIRST &&
        c->op != TIDE_OP_FIND_UNIQUE && c->op != TIDE_OP_COUNT && c->op != TIDE_OP_AGGREGATE &&
        c->op != TIDE_OP_GROUP_BY)
        return fail(c, "%s is a %s: it is read-only", c->m->name,
                    c->m->kind == TIDE_MODEL_VIEW ? "view" : "materialized view"), 0;
    tide_node wd = tsql_child(c->d, root, "with_deleted");
    if (wd >= 0) {
        if (node(c, wd)->type != TSQL_LEAF || leaf_value(c, wd)->kind != TIDE_KIND_BOOL)
            return fail(c, "with_deleted: true or false"), 0;
        if (!c->m->soft_delete)
            return fail(c, "with_deleted: %s has no soft delete", c->m->name), 0;
        c->with_deleted = leaf_value(c, wd)->as.b;
    }
#define OPTIONS(...)                                                           \
    do {                                                                       \
        static const char *const o_[] = {__VA_ARGS__};                         \
        check_options(c, root, o_, (int)(sizeof o_ / sizeof o_[0]));           \
    } while (0)
    switch (c->op) {
    case TIDE_OP_FIND_MANY:
    case TIDE_OP_FIND_FIRST:
    case TIDE_OP_FIND_UNIQUE:
        if (c->op == TIDE_OP_FIND_MANY) {
            OPTIONS("where", "select", "omit", "order_by", "take", "skip", "_via", "with_deleted", "_count",
                    "cursor", "distinct", "include");
            tide_node vn = tsql_child(c->d, root, "_via");
            if (vn >= 0 && tsql_child(c->d, root, "include") >= 0)
                return fail(c, "_via loads one level: it takes no include"), 0;
            if (vn >= 0) {
                find_via(c, root, vn);
                return TIDE_RESULT_ROWS;
            }
        }
        else if (c->op == TIDE_OP_FIND_FIRST)
            OPTIONS("where", "select", "omit", "order_by", "skip", "with_deleted", "_count", "cursor", "distinct",
                    "include");
        else
            OPTIONS("where", "select", "omit", "with_deleted", "_count", "include");
        if (c->op == TIDE_OP_FIND_UNIQUE)
            require_unique(c, root);
        find(c, root);
        return c->op == TIDE_OP_FIND_MANY ? TIDE_RESULT_ROWS : TIDE_RESULT_ONE;
    case TIDE_OP_COUNT: {
        OPTIONS("where", "take", "skip", "with_deleted");
        int paged = tsql_child(c->d, root, "take") >= 0 || tsql_child(c->d, root, "skip") >= 0;
        tutil_buf_adds(c->b, paged ? "SELECT count(*) AS \"count\" FROM (SELECT 1" : "SELECT count(*) AS \"count\"");
        from(c);
        where_clause(c, root);
        take_skip(c, root, 0);
        if (paged)
            tutil_buf_adds(c->b, ") AS \"c\"");
        return TIDE_RESULT_COUNT;
    }
    case TIDE_OP_CREATE:
        OPTIONS("data", "select", "omit");
        insert(c, root);
        return TIDE_RESULT_ONE;
    case TIDE_OP_UPDATE:
    case TIDE_OP_UPDATE_MANY:
    case TIDE_OP_UPDATE_MANY_AND_RETURN: {
        if (c->op == TIDE_OP_UPDATE_MANY)
            OPTIONS("where", "data", "with_deleted");
        else
            OPTIONS("where", "data", "select", "omit", "with_deleted");
        if (c->op == TIDE_OP_UPDATE)
            require_unique(c, root);
        tide_node data = data_node(c, root);
        if (data < 0)
            return 0;
        tutil_buf_adds(c->b, "UPDATE ");
        table_as(c);
        set_list(c, data);
        where_clause(c, root);
        if (c->op == TIDE_OP_UPDATE_MANY)
            return TIDE_RESULT_AFFECTED;
        tutil_buf_adds(c->b, " RETURNING ");
        select_list(c, root);
        return c->op == TIDE_OP_UPDATE ? TIDE_RESULT_ONE : TIDE_RESULT_ROWS;
    }
    case TIDE_OP_CREATE_MANY:
    case TIDE_OP_CREATE_MANY_AND_RETURN:
        if (c->op == TIDE_OP_CREATE_MANY)
            OPTIONS("columns", "skip_duplicates");
        else
            OPTIONS("columns", "skip_duplicates", "select", "omit");
        insert_many(c, root);
        return c->op == TIDE_OP_CREATE_MANY ? TIDE_RESULT_AFFECTED : TIDE_RESULT_ROWS;
    case TIDE_OP_UPSERT:
        OPTIONS("where", "create", "update", "select", "omit");
        upsert(c, root);
        return TIDE_RESULT_ONE;
    case TIDE_OP_AGGREGATE:
        OPTIONS("where", "_count", "_sum", "_avg", "_min", "_max", "order_by", "take", "skip", "with_deleted");
        aggregate(c, root);
        return TIDE_RESULT_ONE;
    case TIDE_OP_GROUP_BY:
        OPTIONS("by", "where", "having", "_count", "_sum", "_avg", "_min", "_max", "order_by", "take", "skip",
                "with_deleted");
        group_by(c, root);
        return TIDE_RESULT_ROWS;
    case TIDE_OP_LINK:
    case TIDE_OP_UNLINK:
        OPTIONS("_relation", "from", "to");
        link(c, root);
        return TIDE_RESULT_AFFECTED;
    case TIDE_OP_DELETE:
    case TIDE_OP_DELETE_MANY:
        if (c->op == TIDE_OP_DELETE) {
            OPTIONS("where", "select", "omit");
            require_unique(c, root);
        } else {
            OPTIONS("where");
        }
        if (c->m->soft_delete) {
            soft_delete(c, root);
        } else {
            tutil_buf_adds(c->b, "DELETE");
            from(c);
            where_clause(c, root);
        }
        if (c->op == TIDE_OP_DELETE) {
            tutil_buf_adds(c->b, " RETURNING ");
            select_list(c, root);
            return TIDE_RESULT_ONE;
        }
        return TIDE_RESULT_AFFECTED;
    default:
        fail(c, "unknown operation %d", (int)c->op);
        return 0;
    }
#undef OPTIONS
}

int tsql_compile(const tide_schema *s, const tide_model *m, tide_op op, const tide_desc *d, tide_node root,
                 const tide_value *values, tutil_arena *arena, tide_compiled **out, tide_error *err)
{
    tutil_buf b;
    tutil_buf_init(&b);
    cc c = {s, m, d, values, &tsql_postgres, op, &b, err, 0, 0, ALIAS, 0, 0, 0, 0};
    tide_shape_result result = compile(&c, root);
    if (c.failed) {
        tutil_buf_free(&b);
        return TIDE_ERROR;
    }
    tide_compiled *comp = b.broken ? NULL : tutil_arena_alloc(arena, sizeof *comp);
    char *sql = comp ? tutil_arena_strdup(arena, tutil_buf_str(&b)) : NULL;
    tutil_buf_free(&b);
    if (!sql) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    comp->sql = sql;
    comp->nparams = d->norder;
    comp->result = result;
    *out = comp;
    return TIDE_OK;
}

const char *tide_compiled_sql(const tide_compiled *c) { return c ? c->sql : NULL; }
int tide_compiled_nparams(const tide_compiled *c) { return c ? c->nparams : 0; }
tide_shape_result tide_compiled_result(const tide_compiled *c) { return c ? c->result : TIDE_RESULT_ROWS; }
