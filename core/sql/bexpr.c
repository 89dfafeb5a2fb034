/* The builder's expressions: columns, values, operators, logic, aggregates,
 * subqueries and SQL fragments. Every value is a placeholder; every name a
 * checked, quoted identifier; operator and function names come from fixed
 * lists here, never from the tree's text. */
#include <stdio.h>
#include <string.h>
#include "tbuild.h"

void tbuild_fail(bc *c, const char *fmt, ...)
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

const char *tbuild_opt(bc *c, tide_node obj, const char *key, char *buf, size_t size)
{
    tide_node n = tsql_child(c->d, obj, key);
    if (n < 0)
        return NULL;
    if (tbuild_node(c, n)->type != TSQL_LEAF || tbuild_leaf(c, n)->kind != TIDE_KIND_TEXT) {
        tbuild_fail(c, "builder: '%s' must be a name", key);
        return NULL;
    }
    const tide_value *v = tbuild_leaf(c, n);
    if (v->as.s.len >= size) {
        tbuild_fail(c, "builder: the %s '%.40s...' is longer than %zu bytes", key, v->as.s.ptr, size - 1);
        return NULL;
    }
    memcpy(buf, v->as.s.ptr, v->as.s.len);
    buf[v->as.s.len] = '\0';
    return buf;
}

const char *tbuild_kind(bc *c, tide_node obj, char *buf, size_t size)
{
    if (obj < 0 || tbuild_node(c, obj)->type != TSQL_OBJECT)
        return "";
    const char *k = tbuild_opt(c, obj, "k", buf, size);
    return k ? k : "";
}

tide_node tbuild_need(bc *c, tide_node obj, const char *key, const char *what)
{
    tide_node n = obj >= 0 ? tsql_child(c->d, obj, key) : -1;
    if (n < 0)
        tbuild_fail(c, "builder: %s without its '%s'", what, key);
    return n;
}

void tbuild_name(bc *c, const char *name, const char *what)
{
    size_t n = strlen(name);
    if (n == 0 || n > (size_t)c->dia->max_ident || !tutil_valid_text(name, n)) {
        tbuild_fail(c, "%s '%.70s' is not a valid name: 1 to %d bytes of UTF-8", what, name, c->dia->max_ident);
        return;
    }
    c->dia->quote_ident(c->b, name);
}

const tide_model *tbuild_model(bc *c, const char *name)
{
    const tide_model *m = tide_schema_model(c->s, name);
    if (m)
        return m;
    const char *names[300];
    int n = 0;
    for (int i = 0; i < c->s->nmodels && n < 300; i++)
        names[n++] = c->s->models[i]->name;
    const char *near = tide_nearest(name, names, n);
    tbuild_fail(c, "unknown model '%s'%s%s%s", name, near ? "; did you mean '" : "", near ? near : "",
                near ? "'?" : "");
    return NULL;
}

const tide_field *tbuild_field(bc *c, const tide_model *m, const char *name)
{
    const tide_field *f = tide_model_field(m, name);
    if (f)
        return f;
    const char *names[300];
    int n = 0;
    for (int i = 0; i < m->nfields && n < 300; i++)
        names[n++] = m->fields[i]->name;
    const char *near = tide_nearest(name, names, n);
    tbuild_fail(c, "unknown field '%s' on %s%s%s%s", name, m->name, near ? "; did you mean '" : "",
                near ? near : "", near ? "'?" : "");
    return NULL;
}

/* ---- leaves ---------------------------------------------------------------- */

static void placeholder(bc *c, tide_node leaf, int named)
{
    int p = tbuild_node(c, leaf)->param;
    if (tbuild_node(c, leaf)->type != TSQL_LEAF || p <= 0)
        return tbuild_fail(c, "builder: a value that is not a single value");
    if (named) {
        if (p > c->nph)
            return tbuild_fail(c, "internal: placeholder %d of %d", p, c->nph);
        c->ph[p - 1] = 1;
    }
    c->dia->placeholder(c->b, p);
}

/* A value bound for a field that is an array of an enum or custom type (the
 * client names it: { k = "val", v, m, f }): sent as text[], cast on. */
static void custom_array_value(bc *c, tide_node e)
{
    char mb[128], fb[128];
    if (tsql_child(c->d, e, "f") < 0)
        return;
    const char *mn = tbuild_opt(c, e, "m", mb, sizeof mb), *fn = tbuild_opt(c, e, "f", fb, sizeof fb);
    const tide_model *m = mn ? tbuild_model(c, mn) : NULL;
    const tide_field *f = m && fn ? tbuild_field(c, m, fn) : NULL;
    if (f && tsql_custom_array(f)) {
        tutil_buf_adds(c->b, "::text[]::");
        c->dia->type_name(c->b, f);
    }
}

/* { k = "col", m, f, a }: "alias"."column", the alias being the table's own
 * name unless the query gave it another (tide.alias). */
static void column(bc *c, tide_node e, int setop)
{
    char mb[128], fb[128], ab[128];
    const char *mn = tbuild_opt(c, e, "m", mb, sizeof mb);
    const char *fn = tbuild_opt(c, e, "f", fb, sizeof fb);
    const char *an = tbuild_opt(c, e, "a", ab, sizeof ab);
    if (!mn || !fn)
        return tbuild_fail(c, "builder: a column without its model and field");
    const tide_model *m = tbuild_model(c, mn);
    const tide_field *f = m ? tbuild_field(c, m, fn) : NULL;
    if (!f)
        return;
    if (setop) { /* the result's column, by the name a select of it gives */
        c->dia->quote_ident(c->b, f->name);
        return;
    }
    if (an)
        tbuild_name(c, an, "the alias");
    else
        c->dia->quote_ident(c->b, m->table);
    tutil_buf_addc(c->b, '.');
    c->dia->quote_ident(c->b, f->column);
}

/* { k = "ref", a, n }: a column of a subquery or a CTE, by name */
static void ref(bc *c, tide_node e, int setop)
{
    char ab[128], nb[128];
    const char *a = tbuild_opt(c, e, "a", ab, sizeof ab);
    const char *n = tbuild_opt(c, e, "n", nb, sizeof nb);
    if (!n)
        return tbuild_fail(c, "builder: a column reference without its name");
    if (a && !setop) {
        tbuild_name(c, a, "the subquery name");
        tutil_buf_addc(c->b, '.');
    }
    tbuild_name(c, n, "the column");
}

static void subquery(bc *c, tide_node e, const char *what)
{
    tide_node q = tbuild_need(c, e, "q", what);
    if (q < 0)
        return;
    tutil_buf_addc(c->b, '(');
    tbuild_query(c, q);
    tutil_buf_addc(c->b, ')');
}

/* ---- operators --------------------------------------------------------------- */

static const char *const cmp_names[] = {"eq", "ne", "gt", "gte", "lt", "lte", "like", "ilike", "not_like",
                                        "not_ilike", "contains", "contained", "overlaps"};
static const char *const cmp_sql[] = {" = ", " <> ", " > ", " >= ", " < ", " <= ", " LIKE ", " ILIKE ",
                                      " NOT LIKE ", " NOT ILIKE ", " @> ", " <@ ", " && "};

static void operand(bc *c, tide_node e, const char *key, const char *what)
{
    tide_node x = tbuild_need(c, e, key, what);
    if (x >= 0)
        tbuild_expr(c, x, 0);
}

static void cmp(bc *c, tide_node e)
{
    char ob[32];
    const char *o = tbuild_opt(c, e, "o", ob, sizeof ob);
    int n = (int)(sizeof cmp_names / sizeof cmp_names[0]);
    int i = 0;
    while (o && i < n && strcmp(o, cmp_names[i]))
        i++;
    if (!o || i == n) {
        char h[80] = "";
        const char *near = o ? tide_nearest(o, cmp_names, n) : NULL;
        if (near)
            snprintf(h, sizeof h, "; did you mean '%s'?", near);
        return tbuild_fail(c, "unknown operator '%s'%s", o ? o : "(none)", h);
    }
    operand(c, e, "l", "a comparison");
    tutil_buf_adds(c->b, cmp_sql[i]);
    operand(c, e, "r", "a comparison");
}

static void logic(bc *c, tide_node e, int is_and, int top)
{
    tide_node x = tbuild_need(c, e, "x", is_and ? "and_" : "or_");
    if (x < 0)
        return;
    if (tbuild_node(c, x)->type != TSQL_ARRAY) {
        /* an empty list arrives as an empty object */
        if (tbuild_node(c, x)->type == TSQL_OBJECT && tbuild_node(c, x)->count == 0) {
            tutil_buf_adds(c->b, is_and ? "TRUE" : "FALSE");
            return;
        }
        return tbuild_fail(c, "builder: %s takes a list of conditions", is_and ? "and_" : "or_");
    }
    int n = tbuild_node(c, x)->count;
    if (n == 1)
        return tbuild_expr(c, tbuild_node(c, x)->first, top);
    if (!top)
        tutil_buf_addc(c->b, '(');
    int i = 0;
    for (tide_node p = tbuild_node(c, x)->first; p >= 0 && !c->failed; p = tbuild_node(c, p)->next) {
        if (i++)
            tutil_buf_adds(c->b, is_and ? " AND " : " OR ");
        tbuild_expr(c, p, 0);
    }
    if (!top)
        tutil_buf_addc(c->b, ')');
}

/* { k = "in", e, r }: r a list (one array parameter, so any length binds as
 * one value and an empty list matches nothing), a placeholder, or a query */
static void in_list(bc *c, tide_node e, int negate)
{
    tide_node q = tsql_child(c->d, e, "q");
    operand(c, e, "e", negate ? "not_in_list" : "in_list");
    if (q >= 0) {
        tutil_buf_adds(c->b, negate ? " NOT IN " : " IN ");
        subquery(c, e, "in_list");
        return;
    }
    tide_node r = tbuild_need(c, e, "r", negate ? "not_in_list" : "in_list");
    if (r < 0)
        return;
    char kb[16];
    const char *k = tbuild_kind(c, r, kb, sizeof kb);
    if (!strcmp(k, "val")) {
        tide_node v = tbuild_need(c, r, "v", "a value");
        if (v < 0)
            return;
        if (tbuild_node(c, v)->type != TSQL_LEAF || tbuild_leaf(c, v)->kind != TIDE_KIND_JSON)
            return tbuild_fail(c, "%s takes a list of values", negate ? "not_in_list" : "in_list");
    } else if (strcmp(k, "ph")) {
        return tbuild_fail(c, "%s takes a list of values, a placeholder or a query", negate ? "not_in_list" : "in_list");
    }
    tutil_buf_adds(c->b, negate ? " <> ALL(" : " = ANY(");
    tbuild_expr(c, r, 0);
    tutil_buf_addc(c->b, ')');
}

static void aggregate(bc *c, tide_node e)
{
    static const char *const names[] = {"count", "count_distinct", "sum", "avg", "min", "max"};
    char fb[32];
    const char *f = tbuild_opt(c, e, "f", fb, sizeof fb);
    int i = 0;
    while (f && i < 6 && strcmp(f, names[i]))
        i++;
    if (!f || i == 6)
        return tbuild_fail(c, "unknown aggregate '%s'", f ? f : "(none)");
    tide_node x = tsql_child(c->d, e, "e");
    if (x < 0 && i != 0)
        return tbuild_fail(c, "%s takes a column or an expression", names[i]);
    tutil_buf_adds(c->b, i <= 1 ? "count" : names[i]);
    tutil_buf_addc(c->b, '(');
    if (i == 1)
        tutil_buf_adds(c->b, "DISTINCT ");
    if (x < 0)
        tutil_buf_addc(c->b, '*');
    else
        tbuild_expr(c, x, 0);
    tutil_buf_addc(c->b, ')');
}

/* The programmer's text, written as is (it is part of the shape, like any
 * name): tide.raw and the text between tide.sql's ? marks. */
static void raw_text(bc *c, tide_node obj, const char *key)
{
    tide_node t = tsql_child(c->d, obj, key);
    if (t < 0 || tbuild_node(c, t)->type != TSQL_LEAF || tbuild_leaf(c, t)->kind != TIDE_KIND_TEXT)
        return tbuild_fail(c, "builder: SQL text expected");
    const tide_value *v = tbuild_leaf(c, t);
    tutil_buf_add(c->b, v->as.s.ptr, v->as.s.len);
}

static void fragment(bc *c, tide_node e)
{
    tide_node p = tbuild_need(c, e, "p", "tide.sql");
    if (p < 0)
        return;
    if (tbuild_node(c, p)->type != TSQL_ARRAY)
        return tbuild_fail(c, "builder: tide.sql without its parts");
    for (tide_node x = tbuild_node(c, p)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
        if (tsql_child(c->d, x, "t") >= 0)
            raw_text(c, x, "t");
        else
            operand(c, x, "e", "tide.sql");
    }
}

static void excluded(bc *c, tide_node e)
{
    char mb[128], fb[128];
    const char *mn = tbuild_opt(c, e, "m", mb, sizeof mb);
    const char *fn = tbuild_opt(c, e, "f", fb, sizeof fb);
    const tide_model *m = mn ? tbuild_model(c, mn) : NULL;
    const tide_field *f = m && fn ? tbuild_field(c, m, fn) : NULL;
    if (!f)
        return tbuild_fail(c, "tide.excluded takes a model's field");
    tutil_buf_adds(c->b, "EXCLUDED.");
    c->dia->quote_ident(c->b, f->column);
}

static void expr_in(bc *c, tide_node e, int top, int setop)
{
    if (c->failed)
        return;
    if (e < 0 || tbuild_node(c, e)->type != TSQL_OBJECT)
        return tbuild_fail(c, "builder: an expression expected");
    char kb[24];
    const char *k = tbuild_kind(c, e, kb, sizeof kb);
    if (!strcmp(k, "col"))
        column(c, e, setop);
    else if (!strcmp(k, "val") || !strcmp(k, "ph")) {
        tide_node v = tbuild_need(c, e, "v", "a value");
        if (v >= 0)
            placeholder(c, v, k[0] == 'p');
        custom_array_value(c, e);
    } else if (!strcmp(k, "cmp"))
        cmp(c, e);
    else if (!strcmp(k, "and") || !strcmp(k, "or"))
        logic(c, e, k[0] == 'a', top);
    else if (!strcmp(k, "not")) {
        tutil_buf_adds(c->b, "NOT (");
        operand(c, e, "e", "not_");
        tutil_buf_addc(c->b, ')');
    } else if (!strcmp(k, "is_null") || !strcmp(k, "is_not_null")) {
        operand(c, e, "e", k);
        tutil_buf_adds(c->b, !strcmp(k, "is_not_null") ? " IS NOT NULL" : " IS NULL");
    } else if (!strcmp(k, "between") || !strcmp(k, "not_between")) {
        operand(c, e, "e", k);
        tutil_buf_adds(c->b, k[0] == 'n' ? " NOT BETWEEN " : " BETWEEN ");
        operand(c, e, "lo", k);
        tutil_buf_adds(c->b, " AND ");
        operand(c, e, "up", k);
    } else if (!strcmp(k, "in") || !strcmp(k, "not_in"))
        in_list(c, e, k[0] == 'n');
    else if (!strcmp(k, "exists") || !strcmp(k, "not_exists")) {
        tutil_buf_adds(c->b, k[0] == 'n' ? "NOT EXISTS " : "EXISTS ");
        subquery(c, e, k);
    } else if (!strcmp(k, "sub"))
        subquery(c, e, "a subquery");
    else if (!strcmp(k, "agg"))
        aggregate(c, e);
    else if (!strcmp(k, "sql")) {
        /* the programmer's text as an operand: parenthesised, so that its
         * own operators cannot bind with the ones around it */
        if (!top)
            tutil_buf_addc(c->b, '(');
        fragment(c, e);
        if (!top)
            tutil_buf_addc(c->b, ')');
    }
    else if (!strcmp(k, "raw"))
        raw_text(c, e, "t");
    else if (!strcmp(k, "ref"))
        ref(c, e, setop);
    else if (!strcmp(k, "name")) {
        char nb[128];
        const char *n = tbuild_opt(c, e, "n", nb, sizeof nb);
        if (n)
            tbuild_name(c, n, "the column");
    } else if (!strcmp(k, "excluded"))
        excluded(c, e);
    else if (!strcmp(k, "star"))
        tbuild_fail(c, "a whole table stands only in a select list");
    else if (!strcmp(k, "default"))
        tbuild_fail(c, "DEFAULT stands only in an insert's values");
    else
        tbuild_fail(c, "builder: unknown expression kind '%s'", k);
}

void tbuild_expr(bc *c, tide_node e, int top)
{
    expr_in(c, e, top, 0);
}

/* [e | { k = "asc"|"desc", e, nulls = "first"|"last" }] */
void tbuild_order_list(bc *c, tide_node list, int setop)
{
    if (tbuild_node(c, list)->type != TSQL_ARRAY)
        return tbuild_fail(c, "order_by: a list of columns or tide.asc/tide.desc");
    int i = 0;
    for (tide_node o = tbuild_node(c, list)->first; o >= 0 && !c->failed; o = tbuild_node(c, o)->next) {
        if (i++)
            tutil_buf_adds(c->b, ", ");
        char kb[16], nb[16];
        const char *k = tbuild_kind(c, o, kb, sizeof kb);
        int dir = !strcmp(k, "asc") ? 1 : !strcmp(k, "desc") ? 2 : 0;
        if (!dir) {
            expr_in(c, o, 1, setop);
            continue;
        }
        tide_node x = tbuild_need(c, o, "e", k);
        if (x < 0)
            return;
        expr_in(c, x, 1, setop);
        tutil_buf_adds(c->b, dir == 1 ? " ASC" : " DESC");
        const char *nulls = tbuild_opt(c, o, "nulls", nb, sizeof nb);
        if (nulls && !strcmp(nulls, "first"))
            tutil_buf_adds(c->b, " NULLS FIRST");
        else if (nulls && !strcmp(nulls, "last"))
            tutil_buf_adds(c->b, " NULLS LAST");
        else if (nulls)
            return tbuild_fail(c, "nulls: 'first' or 'last', not '%s'", nulls);
    }
}
