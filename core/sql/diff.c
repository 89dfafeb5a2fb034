/* tide_diff: the steps from one catalog to another.
 *
 * Objects are matched by name; a name that vanished is matched to a new one
 * only through a rename hint (renamed_from), never by likeness, except for
 * constraints and indexes of a matched table: those keep their old names
 * when their table or columns are renamed (PostgreSQL renames neither), so
 * an unmatched one whose definition equals an unmatched old one is renamed
 * rather than dropped and made again.
 *
 * Steps are collected in any order, each with a phase, and sorted by phase
 * (stably) at the end. The phases make an order that runs: renames first,
 * then what must go before its dependents change (views, policies, foreign
 * keys, indexes and constraints that changed), then tables and columns,
 * then drops, then what depends on them (constraints, indexes, foreign
 * keys, views, policies). The down migration runs each step's inverse in
 * the reverse order, which runs for the same reason.
 *
 * Expressions (defaults, checks, index conditions, policies) are compared
 * as written when both catalogs come from tide. When one was read from a
 * server, which prints expressions its own way ("(price > (0)::numeric)"),
 * they are compared after a normalisation that drops blanks, parentheses,
 * casts and identifier quotes, and a view's query is not compared at all
 * (the server rewrites it entirely). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tcat.h"

enum {
    P_SCHEMA, P_ENUM, P_SEQUENCE, P_CREATE_FUNCTION, P_RENAME_TABLE, P_RENAME_COLUMN, P_DROP_VIEW_INDEX,
    P_DROP_VIEW, P_DROP_POLICY, P_DROP_TRIGGER, P_REPLACE_FUNCTION, P_DROP_FK, P_DROP_INDEX, P_CREATE_TABLE,
    P_ADD_COLUMN, P_DROP_DEFAULT, P_ALTER_TYPE, P_ALTER_COLUMN, P_DROP_COLUMN, P_DROP_TABLE, P_DROP_FUNCTION,
    P_REWRITE_ENUM, P_DROP_TYPE, P_ADD_CONSTRAINT, P_ADD_FK, P_CREATE_VIEW, P_CREATE_VIEW_INDEX, P_RLS,
    P_CREATE_POLICY, P_CREATE_TRIGGER
};

typedef struct step {
    tide_step_kind kind;
    int flags, phase, seq;
    char *summary;
    char *schema, *table;
    char **up, **down;
    int nup, upcap, ndown, downcap;
} step;

struct tide_diff {
    tutil_arena arena;
    step **steps;
    int n, cap;
};

typedef struct dctx {
    const tide_catalog *from, *to;
    tide_diff *d;
    const tsql_dialect *dl;
    int loose;                  /* one side is from a server */
    tutil_buf b;
    int oom;
    step *cur;
    /* matched pairs: from_tables[i] is the to-table matched with to->tables[i] (or NULL) */
    tcat_table **match;
    char *from_matched;         /* per from table: matched */
} dctx;

static const char *const kind_names[TIDE_STEP_COUNT_] = {
    [TIDE_STEP_CREATE_SCHEMA] = "create_schema", [TIDE_STEP_CREATE_ENUM] = "create_enum",
    [TIDE_STEP_DROP_ENUM] = "drop_enum", [TIDE_STEP_RENAME_ENUM] = "rename_enum",
    [TIDE_STEP_ADD_ENUM_VALUE] = "add_enum_value", [TIDE_STEP_RENAME_ENUM_VALUE] = "rename_enum_value",
    [TIDE_STEP_REWRITE_ENUM] = "rewrite_enum", [TIDE_STEP_CREATE_SEQUENCE] = "create_sequence",
    [TIDE_STEP_DROP_SEQUENCE] = "drop_sequence", [TIDE_STEP_ALTER_SEQUENCE] = "alter_sequence",
    [TIDE_STEP_CREATE_TABLE] = "create_table", [TIDE_STEP_DROP_TABLE] = "drop_table",
    [TIDE_STEP_RENAME_TABLE] = "rename_table", [TIDE_STEP_ADD_COLUMN] = "add_column",
    [TIDE_STEP_DROP_COLUMN] = "drop_column", [TIDE_STEP_RENAME_COLUMN] = "rename_column",
    [TIDE_STEP_ALTER_COLUMN_TYPE] = "alter_column_type", [TIDE_STEP_SET_NOT_NULL] = "set_not_null",
    [TIDE_STEP_DROP_NOT_NULL] = "drop_not_null", [TIDE_STEP_SET_DEFAULT] = "set_default",
    [TIDE_STEP_DROP_DEFAULT] = "drop_default", [TIDE_STEP_ADD_CONSTRAINT] = "add_constraint",
    [TIDE_STEP_DROP_CONSTRAINT] = "drop_constraint", [TIDE_STEP_RENAME_CONSTRAINT] = "rename_constraint",
    [TIDE_STEP_CREATE_INDEX] = "create_index", [TIDE_STEP_DROP_INDEX] = "drop_index",
    [TIDE_STEP_RENAME_INDEX] = "rename_index", [TIDE_STEP_CREATE_VIEW] = "create_view",
    [TIDE_STEP_DROP_VIEW] = "drop_view", [TIDE_STEP_SET_RLS] = "set_rls",
    [TIDE_STEP_ALTER_IDENTITY] = "alter_identity", [TIDE_STEP_CREATE_POLICY] = "create_policy",
    [TIDE_STEP_DROP_POLICY] = "drop_policy", [TIDE_STEP_CREATE_FUNCTION] = "create_function",
    [TIDE_STEP_DROP_FUNCTION] = "drop_function", [TIDE_STEP_REPLACE_FUNCTION] = "replace_function",
    [TIDE_STEP_CREATE_TRIGGER] = "create_trigger", [TIDE_STEP_DROP_TRIGGER] = "drop_trigger",
};

const char *tide_step_kind_name(tide_step_kind k)
{
    return k > 0 && k < TIDE_STEP_COUNT_ && kind_names[k] ? kind_names[k] : "unknown";
}

/* ---- building steps ------------------------------------------------------------ */

static char *dstr(dctx *c, const char *s)
{
    if (!s)
        return NULL;
    char *copy = tutil_arena_strdup(&c->d->arena, s);
    if (!copy)
        c->oom = 1;
    return copy;
}

static step *begin(dctx *c, tide_step_kind kind, int phase, int flags, const char *schema, const char *table,
                   const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static step *begin(dctx *c, tide_step_kind kind, int phase, int flags, const char *schema, const char *table,
                   const char *fmt, ...)
{
    tide_diff *d = c->d;
    step *s = tutil_arena_alloc(&d->arena, sizeof *s);
    if (!s || tutil_arena_grow(&d->arena, (void **)&d->steps, &d->cap, d->n + 1, sizeof s)) {
        c->oom = 1;
        c->cur = NULL;
        return NULL;
    }
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s->kind = kind;
    s->phase = phase;
    s->flags = flags;
    s->seq = d->n;
    s->summary = dstr(c, text);
    s->schema = dstr(c, schema);
    s->table = dstr(c, table);
    d->steps[d->n++] = s;
    c->cur = s;
    return s;
}

/* Ends the statement in c->b: into the current step's up (down = 0) or
 * down list. */
static void end_sql(dctx *c, int down)
{
    step *s = c->cur;
    if (c->b.broken)
        c->oom = 1;
    if (s && !c->oom) {
        char ***list = down ? &s->down : &s->up;
        int *n = down ? &s->ndown : &s->nup, *cap = down ? &s->downcap : &s->upcap;
        char *text = dstr(c, tutil_buf_str(&c->b));
        if (text && !tutil_arena_grow(&c->d->arena, (void **)list, cap, *n + 1, sizeof(char *)))
            (*list)[(*n)++] = text;
        else
            c->oom = 1;
    }
    tutil_buf_reset(&c->b);
}

static void up(dctx *c) { end_sql(c, 0); }
static void down(dctx *c) { end_sql(c, 1); }

static void w(dctx *c, const char *text) { tutil_buf_adds(&c->b, text); }
static void id(dctx *c, const char *name) { c->dl->quote_ident(&c->b, name); }
static void lit(dctx *c, const char *text) { c->dl->quote_literal(&c->b, text); }

static void qname(dctx *c, const char *schema, const char *name)
{
    tsql_qualified(&c->b, c->dl, schema, name);
}

static void alter_table(dctx *c, const char *schema, const char *name)
{
    w(c, "ALTER TABLE ");
    qname(c, schema, name);
    w(c, " ");
}

/* "app.users" or "users", for summaries */
static const char *label(char buf[160], const char *schema, const char *name)
{
    if (schema)
        snprintf(buf, 160, "%s.%s", schema, name);
    else
        snprintf(buf, 160, "%s", name);
    return buf;
}

/* ---- comparing ------------------------------------------------------------------- */

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Lower case, without blanks, parentheses, identifier quotes and casts;
 * string literals kept as they are except that a quoted number or boolean
 * loses its quotes ('5' and 5 are the same default). */
static void normalise(tutil_buf *out, const char *s)
{
    for (const char *p = s; p && *p;) {
        if (*p == '\'') {
            const char *q = p + 1;
            while (*q && !(*q == '\'' && q[1] != '\''))
                q += *q == '\'' ? 2 : 1;
            size_t n = (size_t)(q - p - 1);
            int plain = n > 0;
            for (size_t i = 0; i < n && plain; i++)
                plain = (p[1 + i] >= '0' && p[1 + i] <= '9') || p[1 + i] == '.' || p[1 + i] == '-';
            if (plain || (n == 4 && !strncmp(p + 1, "true", 4)) || (n == 5 && !strncmp(p + 1, "false", 5)))
                tutil_buf_add(out, p + 1, n);
            else
                tutil_buf_add(out, p, n + 2);
            p = *q ? q + 1 : q;
            continue;
        }
        if (p[0] == ':' && p[1] == ':') {
            p += 2;
            /* the type: words (some types are several), a modifier, [] */
            for (int words = 0;; words++) {
                while (*p == ' ')
                    p++;
                const char *start = p;
                while (*p == '"' || *p == '.' || *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9'))
                    p++;
                size_t n = (size_t)(p - start);
                if (!n)
                    break;
                if (words > 0 && !(n == 7 && !strncmp(start, "varying", 7)) &&
                    !(n == 9 && !strncmp(start, "precision", 9)) && !(n == 4 && !strncmp(start, "with", 4)) &&
                    !(n == 7 && !strncmp(start, "without", 7)) && !(n == 4 && !strncmp(start, "time", 4)) &&
                    !(n == 4 && !strncmp(start, "zone", 4))) {
                    p = start;
                    break;
                }
                const char *q = p;
                while (*q == ' ')
                    q++;
                if (!(*q >= 'a' && *q <= 'z'))
                    break;
            }
            if (*p == '(') {
                while (*p && *p != ')')
                    p++;
                if (*p)
                    p++;
            }
            while (p[0] == '[' && p[1] == ']')
                p += 2;
            continue;
        }
        char ch = *p++;
        if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '(' || ch == ')' || ch == '"')
            continue;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        tutil_buf_addc(out, ch);
    }
}

static int same_expr(dctx *c, const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    if (!strcmp(a, b))
        return 1;
    if (!c->loose)
        return 0;
    tutil_buf x, y;
    tutil_buf_init(&x);
    tutil_buf_init(&y);
    normalise(&x, a);
    normalise(&y, b);
    int same = x.len == y.len && !memcmp(tutil_buf_str(&x), tutil_buf_str(&y), x.len);
    if (x.broken || y.broken)
        c->oom = 1;
    tutil_buf_free(&x);
    tutil_buf_free(&y);
    return same;
}

/* The to-side spelling of a from-side enum type name, through enum renames. */
static const tcat_enum *enum_renamed_to(dctx *c, const char *from_schema, const char *from_name)
{
    for (int i = 0; i < c->to->nenums; i++) {
        const tcat_enum *e = c->to->enums[i];
        if (e->renamed_from && !strcmp(e->renamed_from, from_name) && tcat_same_schema(e->schema, from_schema))
            return e;
    }
    return NULL;
}

static void type_key(tutil_buf *out, const char *t)
{
    for (const char *p = t; p && *p; p++) {
        char ch = *p;
        if (ch == '"' || ch == ' ')
            continue;
        tutil_buf_addc(out, (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch));
    }
}

static int same_type(dctx *c, const char *from_type, const char *to_type)
{
    if (same_str(from_type, to_type))
        return 1;
    tutil_buf x, y;
    tutil_buf_init(&x);
    tutil_buf_init(&y);
    /* an enum renamed: its old spelling stands for the new one */
    for (int i = 0; i < c->from->nenums; i++) {
        const tcat_enum *e = c->from->enums[i];
        const tcat_enum *r = enum_renamed_to(c, e->schema, e->name);
        if (!r)
            continue;
        tutil_buf old;
        tutil_buf_init(&old);
        if (e->schema) {
            tcat_quote_if_needed(&old, e->schema);
            tutil_buf_addc(&old, '.');
        }
        tcat_quote_if_needed(&old, e->name);
        size_t n = old.len;
        if (!strncmp(from_type, tutil_buf_str(&old), n) && (!from_type[n] || from_type[n] == '[')) {
            if (r->schema) {
                tcat_quote_if_needed(&x, r->schema);
                tutil_buf_addc(&x, '.');
            }
            tcat_quote_if_needed(&x, r->name);
            tutil_buf_adds(&x, from_type + n);
            tutil_buf_free(&old);
            break;
        }
        tutil_buf_free(&old);
    }
    tutil_buf t;
    tutil_buf_init(&t);
    type_key(&t, x.len ? tutil_buf_str(&x) : from_type);
    type_key(&y, to_type);
    int same = t.len == y.len && !memcmp(tutil_buf_str(&t), tutil_buf_str(&y), t.len);
    if (x.broken || y.broken || t.broken)
        c->oom = 1;
    tutil_buf_free(&x);
    tutil_buf_free(&y);
    tutil_buf_free(&t);
    return same;
}

/* The to-side name of a from-side table (through renames), or NULL when it
 * is gone. */
static const tcat_table *matched_to(dctx *c, const tcat_table *ft)
{
    for (int i = 0; i < c->to->ntables; i++)
        if (c->match[i] == ft)
            return c->to->tables[i];
    return NULL;
}

/* A from-side column's name on the to side (through a rename). */
static const char *column_to(const tcat_table *tt, const char *from_col)
{
    for (int i = 0; tt && i < tt->ncols; i++)
        if (tt->cols[i]->renamed_from && !strcmp(tt->cols[i]->renamed_from, from_col) &&
            !tcat_find_column(tt, from_col))
            return tt->cols[i]->name;
    return from_col;
}

static int same_cols(char *const *a, int na, const tcat_table *ft, const tcat_table *tt, char *const *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(ft ? column_to(tt, a[i]) : a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* A from-side foreign key's referenced table, as the to side names it. */
static int same_ref(dctx *c, const tcat_constraint *f, const tcat_constraint *t)
{
    const tcat_table *fref = tcat_find_table(c->from, f->ref_schema, f->ref_table);
    const tcat_table *tref = fref ? matched_to(c, fref) : NULL;
    if (tref)
        return same_str(tref->name, t->ref_table) && tcat_same_schema(tref->schema, t->ref_schema) &&
               same_cols(f->ref_cols, f->ncols, fref, tref, t->ref_cols, t->ncols);
    return same_str(f->ref_table, t->ref_table) && tcat_same_schema(f->ref_schema, t->ref_schema) &&
           same_cols(f->ref_cols, f->ncols, NULL, NULL, t->ref_cols, t->ncols);
}

static int same_constraint(dctx *c, const tcat_table *ft, const tcat_constraint *f, const tcat_table *tt,
                           const tcat_constraint *t)
{
    /* a check's columns are what the server found in its expression: not compared */
    if (f->kind != t->kind || (t->kind != 'c' && !same_cols(f->cols, f->ncols, ft, tt, t->cols, t->ncols)))
        return 0;
    switch (t->kind) {
    case 'c': return same_expr(c, f->expr, t->expr);
    case 'u': return f->nulls_not_distinct == t->nulls_not_distinct;
    case 'f': return f->on_delete == t->on_delete && f->on_update == t->on_update && same_ref(c, f, t);
    default: return 1;
    }
}

static int norm_nulls(const tcat_part *p)
{
    if (p->desc && p->nulls == 1)
        return 0;
    if (!p->desc && p->nulls == 2)
        return 0;
    return p->nulls;
}

static int same_index(dctx *c, const tcat_table *ft, const tcat_index *f, const tcat_table *tt, const tcat_index *t)
{
    if (f->unique != t->unique || !same_str(f->method, t->method) || f->nparts != t->nparts ||
        f->nulls_not_distinct != t->nulls_not_distinct || !same_expr(c, f->where, t->where))
        return 0;
    for (int i = 0; i < f->nparts; i++) {
        const tcat_part *a = &f->parts[i], *b = &t->parts[i];
        if (a->desc != b->desc || norm_nulls(a) != norm_nulls(b) || !a->column != !b->column)
            return 0;
        if (a->column ? strcmp(column_to(tt, a->column), b->column) != 0 : !same_expr(c, a->expr, b->expr))
            return 0;
    }
    (void)ft;
    return 1;
}

static int same_roles(const tcat_policy *a, const tcat_policy *b)
{
    if (a->nroles != b->nroles)
        return 0;
    for (int i = 0; i < a->nroles; i++)
        if (strcmp(a->roles[i], b->roles[i]) != 0)
            return 0;
    return 1;
}

static int same_policy(dctx *c, const tcat_policy *a, const tcat_policy *b)
{
    return same_str(a->command, b->command) && a->permissive == b->permissive && same_roles(a, b) &&
           same_expr(c, a->using_expr, b->using_expr) && same_expr(c, a->check, b->check);
}

/* ---- writing objects ---------------------------------------------------------------- */

static void column_def(dctx *c, const tcat_column *col)
{
    id(c, col->name);
    w(c, " ");
    if (col->serial && !strcmp(col->type, "integer"))
        w(c, "serial");
    else if (col->serial && !strcmp(col->type, "bigint"))
        w(c, "bigserial");
    else if (col->serial && !strcmp(col->type, "smallint"))
        w(c, "smallserial");
    else
        w(c, col->type);
    if (col->identity == 'a')
        w(c, " GENERATED ALWAYS AS IDENTITY");
    else if (col->identity == 'd')
        w(c, " GENERATED BY DEFAULT AS IDENTITY");
    if (col->generated) {
        w(c, " GENERATED ALWAYS AS (");
        w(c, col->generated);
        w(c, ") STORED");
    }
    if (col->not_null)
        w(c, " NOT NULL");
    if (col->default_expr && !col->serial && !col->generated) {
        w(c, " DEFAULT (");
        w(c, col->default_expr);
        w(c, ")");
    }
}

static void col_list(dctx *c, char *const *cols, int n)
{
    w(c, "(");
    for (int i = 0; i < n; i++) {
        if (i)
            w(c, ", ");
        id(c, cols[i]);
    }
    w(c, ")");
}

static const char *action_sql(char a)
{
    switch (a) {
    case 'r': return "RESTRICT";
    case 'c': return "CASCADE";
    case 'n': return "SET NULL";
    case 'd': return "SET DEFAULT";
    default: return NULL;
    }
}

static void constraint_def(dctx *c, const tcat_constraint *k)
{
    w(c, "CONSTRAINT ");
    id(c, k->name);
    switch (k->kind) {
    case 'p':
        w(c, " PRIMARY KEY ");
        col_list(c, k->cols, k->ncols);
        break;
    case 'u':
        w(c, k->nulls_not_distinct ? " UNIQUE NULLS NOT DISTINCT " : " UNIQUE ");
        col_list(c, k->cols, k->ncols);
        break;
    case 'c':
        w(c, " CHECK (");
        w(c, k->expr ? k->expr : "true");
        w(c, ")");
        break;
    case 'f':
        w(c, " FOREIGN KEY ");
        col_list(c, k->cols, k->ncols);
        w(c, " REFERENCES ");
        qname(c, k->ref_schema, k->ref_table);
        w(c, " ");
        col_list(c, k->ref_cols, k->ncols);
        if (action_sql(k->on_delete)) {
            w(c, " ON DELETE ");
            w(c, action_sql(k->on_delete));
        }
        if (action_sql(k->on_update)) {
            w(c, " ON UPDATE ");
            w(c, action_sql(k->on_update));
        }
        break;
    }
}

static void create_table_sql(dctx *c, const tcat_table *t)
{
    w(c, "CREATE TABLE ");
    qname(c, t->schema, t->name);
    w(c, " (");
    int first = 1;
    for (int i = 0; i < t->ncols; i++) {
        w(c, first ? "\n    " : ",\n    ");
        first = 0;
        column_def(c, t->cols[i]);
    }
    for (int i = 0; i < t->ncons; i++) {
        if (t->cons[i]->kind == 'f')
            continue;
        w(c, first ? "\n    " : ",\n    ");
        first = 0;
        constraint_def(c, t->cons[i]);
    }
    w(c, "\n)");
}

static void drop_table_sql(dctx *c, const tcat_table *t)
{
    w(c, "DROP TABLE ");
    qname(c, t->schema, t->name);
}

static void create_index_sql(dctx *c, const tcat_table *t, const tcat_index *x)
{
    w(c, x->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    id(c, x->name);
    w(c, " ON ");
    qname(c, t->schema, t->name);
    if (x->method && strcmp(x->method, "btree") != 0) {
        w(c, " USING ");
        w(c, x->method);
    }
    w(c, " (");
    for (int i = 0; i < x->nparts; i++) {
        const tcat_part *p = &x->parts[i];
        if (i)
            w(c, ", ");
        if (p->column) {
            id(c, p->column);
        } else {
            w(c, "(");
            w(c, p->expr ? p->expr : "");
            w(c, ")");
        }
        if (p->desc)
            w(c, " DESC");
        if (norm_nulls(p) == 1)
            w(c, " NULLS FIRST");
        else if (norm_nulls(p) == 2)
            w(c, " NULLS LAST");
    }
    w(c, ")");
    if (x->unique && x->nulls_not_distinct)
        w(c, " NULLS NOT DISTINCT");
    if (x->where) {
        w(c, " WHERE (");
        w(c, x->where);
        w(c, ")");
    }
}

static void drop_index_sql(dctx *c, const tcat_table *t, const tcat_index *x)
{
    w(c, "DROP INDEX ");
    qname(c, t->schema, x->name);
}

static void create_view_sql(dctx *c, const tcat_table *t)
{
    w(c, t->kind == 'm' ? "CREATE MATERIALIZED VIEW " : "CREATE VIEW ");
    qname(c, t->schema, t->name);
    w(c, " AS ");
    w(c, t->view_sql ? t->view_sql : "SELECT");
    if (t->kind == 'm' && !t->with_data)
        w(c, "\nWITH NO DATA");
}

static void drop_view_sql(dctx *c, const tcat_table *t)
{
    w(c, t->kind == 'm' ? "DROP MATERIALIZED VIEW " : "DROP VIEW ");
    qname(c, t->schema, t->name);
}

static void role_sql(dctx *c, const char *name)
{
    static const char *const keywords[][2] = {
        {"public", "PUBLIC"}, {"current_user", "CURRENT_USER"},
        {"current_role", "CURRENT_ROLE"}, {"session_user", "SESSION_USER"},
    };
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (!strcmp(name, keywords[i][0])) {
            w(c, keywords[i][1]);
            return;
        }
    id(c, name);
}

static void create_policy_sql(dctx *c, const tcat_table *t, const tcat_policy *p)
{
    w(c, "CREATE POLICY ");
    id(c, p->name);
    w(c, " ON ");
    qname(c, t->schema, t->name);
    if (!p->permissive)
        w(c, " AS RESTRICTIVE");
    w(c, " FOR ");
    w(c, p->command ? p->command : "ALL");
    for (int k = 0; k < p->nroles; k++) {
        w(c, k ? ", " : " TO ");
        role_sql(c, p->roles[k]);
    }
    if (p->using_expr) {
        w(c, " USING (");
        w(c, p->using_expr);
        w(c, ")");
    }
    if (p->check) {
        w(c, " WITH CHECK (");
        w(c, p->check);
        w(c, ")");
    }
}

static void drop_policy_sql(dctx *c, const tcat_table *t, const tcat_policy *p)
{
    w(c, "DROP POLICY ");
    id(c, p->name);
    w(c, " ON ");
    qname(c, t->schema, t->name);
}

static void create_enum_sql(dctx *c, const char *schema, const char *name, char *const *values, int n)
{
    w(c, "CREATE TYPE ");
    qname(c, schema, name);
    w(c, " AS ENUM (");
    for (int i = 0; i < n; i++) {
        if (i)
            w(c, ", ");
        lit(c, values[i]);
    }
    w(c, ")");
}

static void sequence_options(dctx *c, const tcat_sequence *q)
{
    tutil_buf_addf(&c->b, " INCREMENT BY %lld MINVALUE %lld MAXVALUE %lld START WITH %lld CACHE %lld%s",
                   (long long)q->increment, (long long)q->min, (long long)q->max, (long long)q->start,
                   (long long)q->cache, q->cycle ? " CYCLE" : " NO CYCLE");
}

/* ---- enums ----------------------------------------------------------------------------- */

static int has_value(char *const *values, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(values[i], v))
            return 1;
    return 0;
}

static int enum_type_of(const tcat_column *col, const tcat_enum *e)
{
    tutil_buf t;
    tutil_buf_init(&t);
    if (e->schema) {
        tcat_quote_if_needed(&t, e->schema);
        tutil_buf_addc(&t, '.');
    }
    tcat_quote_if_needed(&t, e->name);
    size_t n = t.len;
    int is = !strncmp(col->type, tutil_buf_str(&t), n) && (!col->type[n] || !strcmp(col->type + n, "[]"));
    tutil_buf_free(&t);
    return is;
}

/* The type made again with `values`: renamed aside, created anew, every
 * column of `cols_from` (a catalog whose tables hold the columns as they
 * are at that point) cast over through text, the old type dropped. */
static void enum_rewrite(dctx *c, const tcat_enum *e, char *const *values, int n, const tide_catalog *cols_from,
                         int is_down)
{
    char old[80];
    snprintf(old, sizeof old, "%.50s__tide_old", e->name);
    w(c, "ALTER TYPE ");
    qname(c, e->schema, e->name);
    w(c, " RENAME TO ");
    id(c, old);
    end_sql(c, is_down);
    create_enum_sql(c, e->schema, e->name, values, n);
    end_sql(c, is_down);
    for (int i = 0; i < cols_from->ntables; i++) {
        const tcat_table *t = cols_from->tables[i];
        if (t->kind != 't')
            continue;
        for (int k = 0; k < t->ncols; k++) {
            const tcat_column *col = t->cols[k];
            if (!enum_type_of(col, e))
                continue;
            if (col->default_expr) {
                alter_table(c, t->schema, t->name);
                w(c, "ALTER COLUMN ");
                id(c, col->name);
                w(c, " DROP DEFAULT");
                end_sql(c, is_down);
            }
            alter_table(c, t->schema, t->name);
            w(c, "ALTER COLUMN ");
            id(c, col->name);
            w(c, " TYPE ");
            w(c, col->type);
            w(c, " USING ");
            id(c, col->name);
            w(c, strstr(col->type, "[]") ? "::text[]::" : "::text::");
            w(c, col->type);
            end_sql(c, is_down);
            if (col->default_expr) {
                alter_table(c, t->schema, t->name);
                w(c, "ALTER COLUMN ");
                id(c, col->name);
                w(c, " SET DEFAULT (");
                w(c, col->default_expr);
                w(c, ")");
                end_sql(c, is_down);
            }
        }
    }
    w(c, "DROP TYPE ");
    qname(c, e->schema, old);
    end_sql(c, is_down);
}

static void diff_enums(dctx *c)
{
    char lb[160];
    for (int i = 0; i < c->to->nenums; i++) {
        const tcat_enum *t = c->to->enums[i];
        const tcat_enum *f = NULL;
        for (int k = 0; k < c->from->nenums && !f; k++)
            if (!strcmp(c->from->enums[k]->name, t->name) && tcat_same_schema(c->from->enums[k]->schema, t->schema))
                f = c->from->enums[k];
        for (int k = 0; k < c->from->nenums && !f && t->renamed_from; k++)
            if (!strcmp(c->from->enums[k]->name, t->renamed_from) &&
                tcat_same_schema(c->from->enums[k]->schema, t->schema))
                f = c->from->enums[k];
        if (!f) {
            begin(c, TIDE_STEP_CREATE_ENUM, P_ENUM, 0, NULL, NULL, "create enum %s", label(lb, t->schema, t->name));
            create_enum_sql(c, t->schema, t->name, t->values, t->nvalues);
            up(c);
            w(c, "DROP TYPE ");
            qname(c, t->schema, t->name);
            down(c);
            continue;
        }
        if (strcmp(f->name, t->name) != 0) {
            begin(c, TIDE_STEP_RENAME_ENUM, P_ENUM, 0, NULL, NULL, "rename enum %s to %s",
                  label(lb, f->schema, f->name), t->name);
            w(c, "ALTER TYPE ");
            qname(c, f->schema, f->name);
            w(c, " RENAME TO ");
            id(c, t->name);
            up(c);
            w(c, "ALTER TYPE ");
            qname(c, t->schema, t->name);
            w(c, " RENAME TO ");
            id(c, f->name);
            down(c);
        }
        /* the from values, as renamed */
        char *vals[256];
        int nv = 0;
        for (int k = 0; k < f->nvalues && nv < 256; k++)
            vals[nv++] = f->values[k];
        for (int r = 0; r < t->nvalue_renames; r++) {
            char *nw = t->value_renames[2 * r], *old = t->value_renames[2 * r + 1];
            if (!has_value(vals, nv, old) || has_value(vals, nv, nw))
                continue;
            for (int k = 0; k < nv; k++)
                if (!strcmp(vals[k], old))
                    vals[k] = nw;
            begin(c, TIDE_STEP_RENAME_ENUM_VALUE, P_ENUM, 0, NULL, NULL, "rename value '%s' of enum %s to '%s'", old,
                  t->name, nw);
            w(c, "ALTER TYPE ");
            qname(c, t->schema, t->name);
            w(c, " RENAME VALUE ");
            lit(c, old);
            w(c, " TO ");
            lit(c, nw);
            up(c);
            w(c, "ALTER TYPE ");
            qname(c, t->schema, t->name);
            w(c, " RENAME VALUE ");
            lit(c, nw);
            w(c, " TO ");
            lit(c, old);
            down(c);
        }
        int removed = 0;
        for (int k = 0; k < nv; k++)
            removed |= !has_value(t->values, t->nvalues, vals[k]);
        /* the kept values in the same order? */
        int ordered = 1, last = -1;
        for (int k = 0; k < t->nvalues && ordered; k++)
            for (int j = 0; j < nv; j++)
                if (!strcmp(vals[j], t->values[k])) {
                    ordered = j > last;
                    last = j;
                }
        if (removed || !ordered) {
            char gone[300] = "";
            for (int k = 0; k < nv; k++)
                if (!has_value(t->values, t->nvalues, vals[k]) && strlen(gone) + strlen(vals[k]) < 280) {
                    strcat(gone, *gone ? ", " : "");
                    strcat(gone, vals[k]);
                }
            begin(c, TIDE_STEP_REWRITE_ENUM, P_REWRITE_ENUM, TIDE_STEP_DESTRUCTIVE | TIDE_STEP_MAY_FAIL, NULL, NULL,
                  "rewrite enum %s%s%s%s", t->name, removed ? " without " : " (values reordered)", gone,
                  removed ? " (fails if rows still use them)" : "");
            enum_rewrite(c, t, t->values, t->nvalues, c->to, 0);
            enum_rewrite(c, t, vals, nv, c->to, 1);
            continue;
        }
        for (int k = 0; k < t->nvalues; k++) {
            if (has_value(vals, nv, t->values[k]))
                continue;
            begin(c, TIDE_STEP_ADD_ENUM_VALUE, P_ENUM, 0, NULL, NULL, "add value '%s' to enum %s", t->values[k],
                  t->name);
            w(c, "ALTER TYPE ");
            qname(c, t->schema, t->name);
            w(c, " ADD VALUE ");
            lit(c, t->values[k]);
            /* placed after the value before it, or before the first */
            if (k > 0) {
                w(c, " AFTER ");
                lit(c, t->values[k - 1]);
            } else if (nv > 0) {
                w(c, " BEFORE ");
                lit(c, vals[0]);
            }
            up(c);
            /* PostgreSQL cannot drop an enum value: the inverse makes the
             * type again without it */
            tcat_enum shrunk = *t;
            enum_rewrite(c, &shrunk, vals, nv, c->to, 1);
            /* vals gains the value, so later AFTERs find it */
            if (nv < 256) {
                int pos = 0;
                for (int j = 0; k > 0 && j < nv; j++)
                    if (!strcmp(vals[j], t->values[k - 1]))
                        pos = j + 1;
                memmove(vals + pos + 1, vals + pos, (size_t)(nv - pos) * sizeof *vals);
                vals[pos] = t->values[k];
                nv++;
            }
        }
    }
    for (int k = 0; k < c->from->nenums; k++) {
        const tcat_enum *f = c->from->enums[k];
        int kept = 0;
        for (int i = 0; i < c->to->nenums && !kept; i++) {
            const tcat_enum *t = c->to->enums[i];
            kept = tcat_same_schema(t->schema, f->schema) &&
                   (!strcmp(t->name, f->name) || (t->renamed_from && !strcmp(t->renamed_from, f->name)));
        }
        if (kept)
            continue;
        begin(c, TIDE_STEP_DROP_ENUM, P_DROP_TYPE, 0, NULL, NULL, "drop enum %s", label(lb, f->schema, f->name));
        w(c, "DROP TYPE ");
        qname(c, f->schema, f->name);
        up(c);
        create_enum_sql(c, f->schema, f->name, f->values, f->nvalues);
        down(c);
    }
}

/* ---- sequences -------------------------------------------------------------------------- */

static void diff_sequences(dctx *c)
{
    char lb[160];
    for (int i = 0; i < c->to->nseqs; i++) {
        const tcat_sequence *t = c->to->seqs[i], *f = NULL;
        for (int k = 0; k < c->from->nseqs && !f; k++)
            if (!strcmp(c->from->seqs[k]->name, t->name) && tcat_same_schema(c->from->seqs[k]->schema, t->schema))
                f = c->from->seqs[k];
        if (!f) {
            begin(c, TIDE_STEP_CREATE_SEQUENCE, P_SEQUENCE, 0, NULL, NULL, "create sequence %s",
                  label(lb, t->schema, t->name));
            w(c, "CREATE SEQUENCE ");
            qname(c, t->schema, t->name);
            sequence_options(c, t);
            up(c);
            w(c, "DROP SEQUENCE ");
            qname(c, t->schema, t->name);
            down(c);
        } else if (f->increment != t->increment || f->min != t->min || f->max != t->max || f->start != t->start ||
                   f->cache != t->cache || f->cycle != t->cycle) {
            begin(c, TIDE_STEP_ALTER_SEQUENCE, P_SEQUENCE, TIDE_STEP_MAY_FAIL, NULL, NULL, "alter sequence %s",
                  label(lb, t->schema, t->name));
            w(c, "ALTER SEQUENCE ");
            qname(c, t->schema, t->name);
            sequence_options(c, t);
            up(c);
            w(c, "ALTER SEQUENCE ");
            qname(c, f->schema, f->name);
            sequence_options(c, f);
            down(c);
        }
    }
    for (int k = 0; k < c->from->nseqs; k++) {
        const tcat_sequence *f = c->from->seqs[k];
        int kept = 0;
        for (int i = 0; i < c->to->nseqs && !kept; i++)
            kept = !strcmp(c->to->seqs[i]->name, f->name) && tcat_same_schema(c->to->seqs[i]->schema, f->schema);
        if (kept)
            continue;
        begin(c, TIDE_STEP_DROP_SEQUENCE, P_DROP_TYPE, TIDE_STEP_DESTRUCTIVE | TIDE_STEP_IRREVERSIBLE, NULL, NULL,
              "drop sequence %s (its current value is lost)", label(lb, f->schema, f->name));
        w(c, "DROP SEQUENCE ");
        qname(c, f->schema, f->name);
        up(c);
        w(c, "CREATE SEQUENCE ");
        qname(c, f->schema, f->name);
        sequence_options(c, f);
        down(c);
    }
}

/* ---- tables ------------------------------------------------------------------------------- */

static void add_constraint_step(dctx *c, const tcat_table *t, const tcat_constraint *k, int flags)
{
    char lb[160];
    const char *what = k->kind == 'f' ? "foreign key" : k->kind == 'p' ? "primary key" : k->kind == 'u' ? "unique"
                                                                                                          : "check";
    begin(c, TIDE_STEP_ADD_CONSTRAINT, k->kind == 'f' ? P_ADD_FK : P_ADD_CONSTRAINT,
          flags | (k->kind == 'p' ? 0 : TIDE_STEP_MAY_FAIL), t->schema, t->name, "add %s %s on %s", what, k->name,
          label(lb, t->schema, t->name));
    alter_table(c, t->schema, t->name);
    w(c, "ADD ");
    constraint_def(c, k);
    up(c);
    alter_table(c, t->schema, t->name);
    w(c, "DROP CONSTRAINT ");
    id(c, k->name);
    down(c);
}

static void drop_constraint_step(dctx *c, const tcat_table *t, const tcat_constraint *k)
{
    char lb[160];
    begin(c, TIDE_STEP_DROP_CONSTRAINT, k->kind == 'f' ? P_DROP_FK : P_DROP_INDEX, 0, t->schema, t->name,
          "drop constraint %s on %s", k->name, label(lb, t->schema, t->name));
    alter_table(c, t->schema, t->name);
    w(c, "DROP CONSTRAINT ");
    id(c, k->name);
    up(c);
    alter_table(c, t->schema, t->name);
    w(c, "ADD ");
    constraint_def(c, k);
    down(c);
}

static void create_index_step(dctx *c, const tcat_table *t, const tcat_index *x)
{
    char lb[160];
    begin(c, TIDE_STEP_CREATE_INDEX, t->kind == 'm' ? P_CREATE_VIEW_INDEX : P_ADD_CONSTRAINT,
          x->unique ? TIDE_STEP_MAY_FAIL : 0, t->schema, t->name, "create index %s on %s", x->name,
          label(lb, t->schema, t->name));
    create_index_sql(c, t, x);
    up(c);
    drop_index_sql(c, t, x);
    down(c);
}

static void drop_index_step(dctx *c, const tcat_table *t, const tcat_index *x)
{
    char lb[160];
    begin(c, TIDE_STEP_DROP_INDEX, t->kind == 'm' ? P_DROP_VIEW_INDEX : P_DROP_INDEX, 0, t->schema, t->name,
          "drop index %s on %s", x->name, label(lb, t->schema, t->name));
    drop_index_sql(c, t, x);
    up(c);
    create_index_sql(c, t, x);
    down(c);
}

static void create_policy_step(dctx *c, const tcat_table *t, const tcat_policy *p)
{
    char lb[160];
    begin(c, TIDE_STEP_CREATE_POLICY, P_CREATE_POLICY, 0, t->schema, t->name, "create policy %s on %s", p->name,
          label(lb, t->schema, t->name));
    create_policy_sql(c, t, p);
    up(c);
    drop_policy_sql(c, t, p);
    down(c);
}

static void drop_policy_step(dctx *c, const tcat_table *t, const tcat_policy *p)
{
    char lb[160];
    begin(c, TIDE_STEP_DROP_POLICY, P_DROP_POLICY, 0, t->schema, t->name, "drop policy %s on %s", p->name,
          label(lb, t->schema, t->name));
    drop_policy_sql(c, t, p);
    up(c);
    create_policy_sql(c, t, p);
    down(c);
}

static void rls_sql(dctx *c, const tcat_table *t, int from_rls, int from_force, int rls, int force, int is_down)
{
    if (from_rls != rls) {
        alter_table(c, t->schema, t->name);
        w(c, rls ? "ENABLE ROW LEVEL SECURITY" : "DISABLE ROW LEVEL SECURITY");
        end_sql(c, is_down);
    }
    if (from_force != force) {
        alter_table(c, t->schema, t->name);
        w(c, force ? "FORCE ROW LEVEL SECURITY" : "NO FORCE ROW LEVEL SECURITY");
        end_sql(c, is_down);
    }
}

static void rls_step(dctx *c, const tcat_table *t, int from_rls, int from_force, int to_rls, int to_force)
{
    char lb[160];
    if (from_rls == to_rls && from_force == to_force)
        return;
    begin(c, TIDE_STEP_SET_RLS, P_RLS, 0, t->schema, t->name, "%s row-level security on %s%s",
          to_rls ? "enable" : "disable", label(lb, t->schema, t->name), to_force ? " (forced)" : "");
    rls_sql(c, t, from_rls, from_force, to_rls, to_force, 0);
    rls_sql(c, t, to_rls, to_force, from_rls, from_force, 1);
}

/* ---- functions and triggers ---------------------------------------------------- */

static const tcat_function *find_function(const tide_catalog *cat, const char *schema, const char *name)
{
    for (int i = 0; i < cat->nfuncs; i++)
        if (!strcmp(cat->funcs[i]->name, name) && tcat_same_schema(cat->funcs[i]->schema, schema))
            return cat->funcs[i];
    return NULL;
}

/* Arguments, result and language: what CREATE OR REPLACE cannot change. */
static int same_signature(dctx *c, const tcat_function *a, const tcat_function *b)
{
    return same_expr(c, a->args, b->args) && same_expr(c, a->returns, b->returns) &&
           same_str(a->language, b->language);
}

/* A function both sides hold whose signature changes: it is dropped and
 * made again, and so are the triggers that execute it. */
static int function_remade(dctx *c, const char *schema, const char *name)
{
    const tcat_function *f = find_function(c->from, schema, name), *t = find_function(c->to, schema, name);
    return f && t && !same_signature(c, f, t);
}

static void function_sql(dctx *c, const tcat_function *f, int replace, int is_down)
{
    tcat_function_sql(&c->b, c->dl, f, replace);
    end_sql(c, is_down);
}

static void drop_function_sql(dctx *c, const tcat_function *f, int is_down)
{
    tcat_drop_function_sql(&c->b, c->dl, f);
    end_sql(c, is_down);
}

static void diff_functions(dctx *c)
{
    char lb[160];
    for (int i = 0; i < c->to->nfuncs; i++) {
        const tcat_function *t = c->to->funcs[i];
        const tcat_function *f = find_function(c->from, t->schema, t->name);
        if (!f) {
            begin(c, TIDE_STEP_CREATE_FUNCTION, P_CREATE_FUNCTION, 0, t->schema, NULL, "create function %s",
                  label(lb, t->schema, t->name));
            function_sql(c, t, 0, 0);
            drop_function_sql(c, t, 1);
        } else if (!same_signature(c, f, t)) {
            begin(c, TIDE_STEP_REPLACE_FUNCTION, P_REPLACE_FUNCTION, 0, t->schema, NULL,
                  "make function %s again (new arguments or result)", label(lb, t->schema, t->name));
            drop_function_sql(c, f, 0);
            function_sql(c, t, 0, 0);
            drop_function_sql(c, t, 1);
            function_sql(c, f, 0, 1);
        } else if (strcmp(f->body, t->body) != 0 || f->volatility != t->volatility) {
            begin(c, TIDE_STEP_REPLACE_FUNCTION, P_CREATE_FUNCTION, 0, t->schema, NULL, "replace function %s",
                  label(lb, t->schema, t->name));
            function_sql(c, t, 1, 0);
            function_sql(c, f, 1, 1);
        }
    }
    for (int k = 0; k < c->from->nfuncs; k++) {
        const tcat_function *f = c->from->funcs[k];
        if (find_function(c->to, f->schema, f->name))
            continue;
        begin(c, TIDE_STEP_DROP_FUNCTION, P_DROP_FUNCTION, 0, f->schema, NULL, "drop function %s",
              label(lb, f->schema, f->name));
        drop_function_sql(c, f, 0);
        function_sql(c, f, 0, 1);
    }
}

static void create_trigger_step(dctx *c, const tcat_table *t, const tcat_trigger *g)
{
    char lb[160];
    begin(c, TIDE_STEP_CREATE_TRIGGER, P_CREATE_TRIGGER, 0, t->schema, t->name, "create trigger %s on %s", g->name,
          label(lb, t->schema, t->name));
    tcat_trigger_sql(&c->b, c->dl, t, g);
    up(c);
    tcat_drop_trigger_sql(&c->b, c->dl, t, g);
    down(c);
}

static void drop_trigger_step(dctx *c, const tcat_table *t, const tcat_trigger *g)
{
    char lb[160];
    begin(c, TIDE_STEP_DROP_TRIGGER, P_DROP_TRIGGER, 0, t->schema, t->name, "drop trigger %s on %s", g->name,
          label(lb, t->schema, t->name));
    tcat_drop_trigger_sql(&c->b, c->dl, t, g);
    up(c);
    tcat_trigger_sql(&c->b, c->dl, t, g);
    down(c);
}

static int same_trigger(dctx *c, const tcat_trigger *a, const tcat_trigger *b)
{
    return a->type == b->type && same_str(a->func_name, b->func_name) &&
           tcat_same_schema(a->func_schema, b->func_schema) && same_expr(c, a->when, b->when) &&
           !function_remade(c, b->func_schema, b->func_name);
}

static void diff_triggers(dctx *c, const tcat_table *ft, const tcat_table *tt)
{
    for (int i = 0; i < tt->ntrigs; i++) {
        const tcat_trigger *g = tt->trigs[i];
        const tcat_trigger *f = NULL;
        for (int k = 0; k < ft->ntrigs && !f; k++)
            if (!strcmp(ft->trigs[k]->name, g->name))
                f = ft->trigs[k];
        if (f && same_trigger(c, f, g))
            continue;
        if (f)
            drop_trigger_step(c, tt, f);
        create_trigger_step(c, tt, g);
    }
    for (int k = 0; k < ft->ntrigs; k++) {
        int kept = 0;
        for (int i = 0; i < tt->ntrigs && !kept; i++)
            kept = !strcmp(ft->trigs[k]->name, tt->trigs[i]->name);
        if (!kept)
            drop_trigger_step(c, tt, ft->trigs[k]);
    }
}

static void create_table_steps(dctx *c, const tcat_table *t)
{
    char lb[160];
    if (t->kind != 't') {
        begin(c, TIDE_STEP_CREATE_VIEW, P_CREATE_VIEW, 0, t->schema, NULL, "create %s %s",
              t->kind == 'm' ? "materialized view" : "view", label(lb, t->schema, t->name));
        create_view_sql(c, t);
        up(c);
        drop_view_sql(c, t);
        down(c);
        for (int i = 0; i < t->nidx; i++)
            create_index_step(c, t, t->idx[i]);
        for (int i = 0; i < t->ntrigs; i++)
            create_trigger_step(c, t, t->trigs[i]);
        return;
    }
    begin(c, TIDE_STEP_CREATE_TABLE, P_CREATE_TABLE, 0, t->schema, NULL, "create table %s",
          label(lb, t->schema, t->name));
    create_table_sql(c, t);
    up(c);
    drop_table_sql(c, t);
    down(c);
    for (int i = 0; i < t->ncons; i++)
        if (t->cons[i]->kind == 'f')
            add_constraint_step(c, t, t->cons[i], 0);
    for (int i = 0; i < t->nidx; i++)
        create_index_step(c, t, t->idx[i]);
    rls_step(c, t, 0, 0, t->rls, t->force_rls);
    for (int i = 0; i < t->npols; i++)
        create_policy_step(c, t, t->pols[i]);
    for (int i = 0; i < t->ntrigs; i++)
        create_trigger_step(c, t, t->trigs[i]);
}

static void drop_table_steps(dctx *c, const tcat_table *t)
{
    char lb[160];
    for (int i = 0; i < t->ntrigs; i++)
        drop_trigger_step(c, t, t->trigs[i]);
    if (t->kind != 't') {
        for (int i = 0; i < t->nidx; i++)
            drop_index_step(c, t, t->idx[i]);
        begin(c, TIDE_STEP_DROP_VIEW, P_DROP_VIEW, 0, t->schema, NULL, "drop %s %s",
              t->kind == 'm' ? "materialized view" : "view", label(lb, t->schema, t->name));
        drop_view_sql(c, t);
        up(c);
        create_view_sql(c, t);
        down(c);
        return;
    }
    /* its foreign keys, indexes, policies and triggers apart, so the
     * inverse makes them again */
    for (int i = 0; i < t->npols; i++)
        drop_policy_step(c, t, t->pols[i]);
    rls_step(c, t, t->rls, t->force_rls, 0, 0);
    for (int i = 0; i < t->ncons; i++)
        if (t->cons[i]->kind == 'f')
            drop_constraint_step(c, t, t->cons[i]);
    for (int i = 0; i < t->nidx; i++)
        drop_index_step(c, t, t->idx[i]);
    begin(c, TIDE_STEP_DROP_TABLE, P_DROP_TABLE, TIDE_STEP_DESTRUCTIVE | TIDE_STEP_IRREVERSIBLE, t->schema, t->name,
          "drop table %s", label(lb, t->schema, t->name));
    drop_table_sql(c, t);
    up(c);
    create_table_sql(c, t);
    down(c);
}

/* Types a column can change to without losing or refusing a value. */
static int widening(const char *from, const char *to)
{
    static const char *const ladder[][2] = {
        {"smallint", "integer"}, {"smallint", "bigint"}, {"integer", "bigint"}, {"smallint", "numeric"},
        {"integer", "numeric"}, {"bigint", "numeric"}, {"real", "double precision"},
        {"character varying", "text"}, {"character", "text"}, {"timestamp without time zone", "timestamp with time zone"},
    };
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++)
        if (!strcmp(from, ladder[i][0]) && !strcmp(to, ladder[i][1]))
            return 1;
    int n1, n2;
    if (sscanf(from, "character varying(%d)", &n1) == 1) {
        if (!strcmp(to, "text") || !strcmp(to, "character varying"))
            return 1;
        if (sscanf(to, "character varying(%d)", &n2) == 1)
            return n2 >= n1;
    }
    int p1, s1, p2, s2;
    if (sscanf(from, "numeric(%d,%d)", &p1, &s1) == 2) {
        if (!strcmp(to, "numeric"))
            return 1;
        if (sscanf(to, "numeric(%d,%d)", &p2, &s2) == 2)
            return s2 >= s1 && p2 - s2 >= p1 - s1;
    }
    return 0;
}

static void alter_type_sql(dctx *c, const tcat_table *t, const char *col, const char *type, int using)
{
    alter_table(c, t->schema, t->name);
    w(c, "ALTER COLUMN ");
    id(c, col);
    w(c, " TYPE ");
    w(c, type);
    if (using) {
        w(c, " USING ");
        id(c, col);
        w(c, "::");
        w(c, type);
    }
}

static void set_default_sql(dctx *c, const tcat_table *t, const char *col, const char *expr)
{
    alter_table(c, t->schema, t->name);
    w(c, "ALTER COLUMN ");
    id(c, col);
    if (expr) {
        w(c, " SET DEFAULT (");
        w(c, expr);
        w(c, ")");
    } else {
        w(c, " DROP DEFAULT");
    }
}

static void identity_sql(dctx *c, const tcat_table *t, const char *col, char from, char to)
{
    alter_table(c, t->schema, t->name);
    w(c, "ALTER COLUMN ");
    id(c, col);
    if (!to)
        w(c, " DROP IDENTITY");
    else if (!from)
        w(c, to == 'a' ? " ADD GENERATED ALWAYS AS IDENTITY" : " ADD GENERATED BY DEFAULT AS IDENTITY");
    else
        w(c, to == 'a' ? " SET GENERATED ALWAYS" : " SET GENERATED BY DEFAULT");
}

static void add_column_step(dctx *c, const tcat_table *t, const tcat_column *col)
{
    char lb[160];
    int fails = col->not_null && !col->default_expr && !col->serial && !col->identity && !col->generated;
    begin(c, TIDE_STEP_ADD_COLUMN, P_ADD_COLUMN, fails ? TIDE_STEP_MAY_FAIL : 0, t->schema, t->name,
          "add column %s.%s%s", label(lb, t->schema, t->name), col->name,
          fails ? " (NOT NULL without a default: fails if the table has rows)" : "");
    alter_table(c, t->schema, t->name);
    w(c, "ADD COLUMN ");
    column_def(c, col);
    up(c);
    alter_table(c, t->schema, t->name);
    w(c, "DROP COLUMN ");
    id(c, col->name);
    down(c);
}

static void drop_column_step(dctx *c, const tcat_table *t, const char *table_name, const tcat_column *col)
{
    char lb[160];
    begin(c, TIDE_STEP_DROP_COLUMN, P_DROP_COLUMN, TIDE_STEP_DESTRUCTIVE | TIDE_STEP_IRREVERSIBLE, t->schema,
          table_name, "drop column %s.%s", label(lb, t->schema, table_name), col->name);
    alter_table(c, t->schema, table_name);
    w(c, "DROP COLUMN ");
    id(c, col->name);
    up(c);
    alter_table(c, t->schema, table_name);
    w(c, "ADD COLUMN ");
    column_def(c, col);
    down(c);
}

static void diff_columns(dctx *c, const tcat_table *ft, const tcat_table *tt)
{
    char lb[160];
    char *used = tutil_calloc((size_t)(ft->ncols ? ft->ncols : 1), 1);
    if (!used) {
        c->oom = 1;
        return;
    }
    for (int i = 0; i < tt->ncols; i++) {
        const tcat_column *t = tt->cols[i], *f = NULL;
        int fi = -1;
        for (int k = 0; k < ft->ncols && !f; k++)
            if (!used[k] && !strcmp(ft->cols[k]->name, t->name))
                f = ft->cols[fi = k];
        for (int k = 0; k < ft->ncols && !f && t->renamed_from; k++)
            if (!used[k] && !strcmp(ft->cols[k]->name, t->renamed_from) && !tcat_find_column(tt, t->renamed_from))
                f = ft->cols[fi = k];
        if (!f) {
            add_column_step(c, tt, t);
            continue;
        }
        used[fi] = 1;
        if (strcmp(f->name, t->name) != 0) {
            begin(c, TIDE_STEP_RENAME_COLUMN, P_RENAME_COLUMN, 0, tt->schema, tt->name, "rename column %s.%s to %s",
                  label(lb, tt->schema, tt->name), f->name, t->name);
            alter_table(c, tt->schema, tt->name);
            w(c, "RENAME COLUMN ");
            id(c, f->name);
            w(c, " TO ");
            id(c, t->name);
            up(c);
            alter_table(c, tt->schema, tt->name);
            w(c, "RENAME COLUMN ");
            id(c, t->name);
            w(c, " TO ");
            id(c, f->name);
            down(c);
        }
        if (!same_expr(c, f->generated, t->generated)) {
            /* a generated column cannot change its expression in place */
            drop_column_step(c, tt, tt->name, f);
            add_column_step(c, tt, t);
            continue;
        }
        int type_changed = !same_type(c, f->type, t->type);
        const char *fdef = f->serial ? NULL : f->default_expr, *tdef = t->serial ? NULL : t->default_expr;
        int default_changed = !same_expr(c, fdef, tdef);
        if (type_changed && fdef) {
            /* an old default may not cast to the new type: off first */
            begin(c, TIDE_STEP_DROP_DEFAULT, P_DROP_DEFAULT, 0, tt->schema, tt->name, "drop default of %s.%s",
                  label(lb, tt->schema, tt->name), t->name);
            set_default_sql(c, tt, t->name, NULL);
            up(c);
            set_default_sql(c, tt, t->name, fdef);
            down(c);
            fdef = NULL;
            default_changed = tdef != NULL;
        }
        if (type_changed) {
            int wide = widening(f->type, t->type);
            begin(c, TIDE_STEP_ALTER_COLUMN_TYPE, P_ALTER_TYPE,
                  wide ? 0 : TIDE_STEP_DESTRUCTIVE | TIDE_STEP_IRREVERSIBLE | TIDE_STEP_MAY_FAIL, tt->schema, tt->name,
                  "change type of %s.%s from %s to %s%s", label(lb, tt->schema, tt->name), t->name, f->type, t->type,
                  wide ? "" : " (values may not fit)");
            alter_type_sql(c, tt, t->name, t->type, !wide);
            up(c);
            alter_type_sql(c, tt, t->name, f->type, !widening(t->type, f->type));
            down(c);
        }
        if (f->identity != t->identity) {
            begin(c, TIDE_STEP_ALTER_IDENTITY, P_ALTER_COLUMN, 0, tt->schema, tt->name, "%s identity of %s.%s",
                  t->identity ? (f->identity ? "change" : "add") : "drop", label(lb, tt->schema, tt->name), t->name);
            identity_sql(c, tt, t->name, f->identity, t->identity);
            up(c);
            identity_sql(c, tt, t->name, t->identity, f->identity);
            down(c);
        }
        if (default_changed) {
            begin(c, tdef ? TIDE_STEP_SET_DEFAULT : TIDE_STEP_DROP_DEFAULT, tdef ? P_ALTER_COLUMN : P_DROP_DEFAULT, 0,
                  tt->schema, tt->name, "%s default of %s.%s", tdef ? "set" : "drop", label(lb, tt->schema, tt->name),
                  t->name);
            set_default_sql(c, tt, t->name, tdef);
            up(c);
            set_default_sql(c, tt, t->name, fdef);
            down(c);
        }
        if (f->not_null != t->not_null) {
            begin(c, t->not_null ? TIDE_STEP_SET_NOT_NULL : TIDE_STEP_DROP_NOT_NULL, P_ALTER_COLUMN,
                  t->not_null ? TIDE_STEP_MAY_FAIL : 0, tt->schema, tt->name, "%s.%s %s",
                  label(lb, tt->schema, tt->name), t->name,
                  t->not_null ? "becomes NOT NULL (fails if rows hold NULL)" : "becomes nullable");
            alter_table(c, tt->schema, tt->name);
            w(c, "ALTER COLUMN ");
            id(c, t->name);
            w(c, t->not_null ? " SET NOT NULL" : " DROP NOT NULL");
            up(c);
            alter_table(c, tt->schema, tt->name);
            w(c, "ALTER COLUMN ");
            id(c, t->name);
            w(c, t->not_null ? " DROP NOT NULL" : " SET NOT NULL");
            down(c);
        }
    }
    for (int k = 0; k < ft->ncols; k++)
        if (!used[k])
            drop_column_step(c, tt, tt->name, ft->cols[k]);
    tutil_free(used, (size_t)(ft->ncols ? ft->ncols : 1));
}

static void rename_step(dctx *c, tide_step_kind kind, const tcat_table *t, const char *old, const char *nw)
{
    char lb[160];
    int index = kind == TIDE_STEP_RENAME_INDEX;
    begin(c, kind, P_RENAME_COLUMN, 0, t->schema, t->name, "rename %s %s on %s to %s",
          index ? "index" : "constraint", old, label(lb, t->schema, t->name), nw);
    for (int pass = 0; pass < 2; pass++) {
        const char *a = pass ? nw : old, *b = pass ? old : nw;
        if (index) {
            w(c, "ALTER INDEX ");
            qname(c, t->schema, a);
            w(c, " RENAME");
        } else {
            alter_table(c, t->schema, t->name);
            w(c, "RENAME CONSTRAINT ");
            id(c, a);
        }
        w(c, " TO ");
        id(c, b);
        end_sql(c, pass);
    }
}

static void diff_table(dctx *c, const tcat_table *ft, const tcat_table *tt)
{
    char lb[160], lb2[160];
    if (strcmp(ft->name, tt->name) != 0) {
        begin(c, TIDE_STEP_RENAME_TABLE, P_RENAME_TABLE, 0, tt->schema, NULL, "rename %s %s to %s",
              tt->kind == 't' ? "table" : "view", label(lb, ft->schema, ft->name), label(lb2, tt->schema, tt->name));
        w(c, tt->kind == 't' ? "ALTER TABLE " : tt->kind == 'm' ? "ALTER MATERIALIZED VIEW " : "ALTER VIEW ");
        qname(c, ft->schema, ft->name);
        w(c, " RENAME TO ");
        id(c, tt->name);
        up(c);
        w(c, tt->kind == 't' ? "ALTER TABLE " : tt->kind == 'm' ? "ALTER MATERIALIZED VIEW " : "ALTER VIEW ");
        qname(c, tt->schema, tt->name);
        w(c, " RENAME TO ");
        id(c, ft->name);
        down(c);
    }
    if (tt->kind != 't') {
        int changed = ft->kind != tt->kind || (!c->loose && !same_str(ft->view_sql, tt->view_sql));
        if (changed) {
            tcat_table renamed = *ft;
            renamed.name = tt->name;
            drop_table_steps(c, &renamed);
            create_table_steps(c, tt);
            return;
        }
    } else {
        diff_columns(c, ft, tt);
    }
    /* constraints: same name and definition, or renamed to a same definition */
    char *fused = tutil_calloc((size_t)ft->ncons + (size_t)ft->nidx + (size_t)ft->npols + 1, 1);
    char *tused = tutil_calloc((size_t)tt->ncons + (size_t)tt->nidx + 1, 1);
    if (!fused || !tused) {
        tutil_free(fused, (size_t)ft->ncons + (size_t)ft->nidx + (size_t)ft->npols + 1);
        tutil_free(tused, (size_t)tt->ncons + (size_t)tt->nidx + 1);
        c->oom = 1;
        return;
    }
    for (int i = 0; i < tt->ncons; i++)
        for (int k = 0; k < ft->ncons && !tused[i]; k++)
            if (!fused[k] && same_str(ft->cons[k]->name, tt->cons[i]->name) &&
                same_constraint(c, ft, ft->cons[k], tt, tt->cons[i]))
                fused[k] = tused[i] = 1;
    for (int i = 0; i < tt->ncons; i++)
        for (int k = 0; k < ft->ncons && !tused[i]; k++)
            if (!fused[k] && same_constraint(c, ft, ft->cons[k], tt, tt->cons[i])) {
                fused[k] = tused[i] = 1;
                rename_step(c, TIDE_STEP_RENAME_CONSTRAINT, tt, ft->cons[k]->name, tt->cons[i]->name);
            }
    for (int k = 0; k < ft->ncons; k++)
        if (!fused[k])
            drop_constraint_step(c, tt, ft->cons[k]);
    for (int i = 0; i < tt->ncons; i++)
        if (!tused[i])
            add_constraint_step(c, tt, tt->cons[i], 0);
    char *fx = fused + ft->ncons, *tx = tused + tt->ncons;
    for (int i = 0; i < tt->nidx; i++)
        for (int k = 0; k < ft->nidx && !tx[i]; k++)
            if (!fx[k] && same_str(ft->idx[k]->name, tt->idx[i]->name) && same_index(c, ft, ft->idx[k], tt, tt->idx[i]))
                fx[k] = tx[i] = 1;
    for (int i = 0; i < tt->nidx; i++)
        for (int k = 0; k < ft->nidx && !tx[i]; k++)
            if (!fx[k] && same_index(c, ft, ft->idx[k], tt, tt->idx[i])) {
                fx[k] = tx[i] = 1;
                rename_step(c, TIDE_STEP_RENAME_INDEX, tt, ft->idx[k]->name, tt->idx[i]->name);
            }
    for (int k = 0; k < ft->nidx; k++)
        if (!fx[k]) {
            tcat_table at = *tt;
            at.kind = ft->kind;
            drop_index_step(c, &at, ft->idx[k]);
        }
    for (int i = 0; i < tt->nidx; i++)
        if (!tx[i])
            create_index_step(c, tt, tt->idx[i]);
    if (tt->kind == 't') {
        char *fp = fx + ft->nidx;
        for (int i = 0; i < tt->npols; i++) {
            const tcat_policy *p = tt->pols[i];
            int found = 0;
            for (int k = 0; k < ft->npols && !found; k++)
                if (!fp[k] && !strcmp(ft->pols[k]->name, p->name)) {
                    fp[k] = 1;
                    found = 1;
                    if (!same_policy(c, ft->pols[k], p)) {
                        drop_policy_step(c, tt, ft->pols[k]);
                        create_policy_step(c, tt, p);
                    }
                }
            if (!found)
                create_policy_step(c, tt, p);
        }
        for (int k = 0; k < ft->npols; k++)
            if (!fp[k])
                drop_policy_step(c, tt, ft->pols[k]);
        rls_step(c, tt, ft->rls, ft->force_rls, tt->rls, tt->force_rls);
    }
    diff_triggers(c, ft, tt);
    tutil_free(fused, (size_t)ft->ncons + (size_t)ft->nidx + (size_t)ft->npols + 1);
    tutil_free(tused, (size_t)tt->ncons + (size_t)tt->nidx + 1);
}

static void diff_tables(dctx *c)
{
    for (int i = 0; i < c->to->ntables; i++) {
        const tcat_table *t = c->to->tables[i];
        tcat_table *f = NULL;
        int fi = -1;
        for (int k = 0; k < c->from->ntables && !f; k++)
            if (!c->from_matched[k] && !strcmp(c->from->tables[k]->name, t->name) &&
                tcat_same_schema(c->from->tables[k]->schema, t->schema))
                f = c->from->tables[fi = k];
        for (int k = 0; k < c->from->ntables && !f && t->renamed_from; k++)
            if (!c->from_matched[k] && !strcmp(c->from->tables[k]->name, t->renamed_from) &&
                tcat_same_schema(c->from->tables[k]->schema, t->schema) &&
                !tcat_find_table(c->to, t->schema, t->renamed_from))
                f = c->from->tables[fi = k];
        /* a table and a view of one name are not the same thing */
        if (f && (f->kind == 't') != (t->kind == 't'))
            f = NULL;
        if (f) {
            c->from_matched[fi] = 1;
            c->match[i] = f;
        }
    }
    for (int i = 0; i < c->to->ntables; i++) {
        if (c->match[i])
            diff_table(c, c->match[i], c->to->tables[i]);
        else
            create_table_steps(c, c->to->tables[i]);
    }
    for (int k = 0; k < c->from->ntables; k++)
        if (!c->from_matched[k])
            drop_table_steps(c, c->from->tables[k]);
}

static void diff_schemas(dctx *c)
{
    for (int i = 0; i < c->to->nschemas; i++) {
        int found = 0;
        for (int k = 0; k < c->from->nschemas && !found; k++)
            found = !strcmp(c->from->schemas[k], c->to->schemas[i]);
        if (found)
            continue;
        begin(c, TIDE_STEP_CREATE_SCHEMA, P_SCHEMA, 0, NULL, NULL, "create schema %s", c->to->schemas[i]);
        w(c, "CREATE SCHEMA IF NOT EXISTS ");
        id(c, c->to->schemas[i]);
        up(c);
        /* the schema stays on the way down: other objects may live there */
    }
}

static int by_phase(const void *a, const void *b)
{
    const step *x = *(step *const *)a, *y = *(step *const *)b;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int tide_diff_new(const tide_catalog *from, const tide_catalog *to, tide_diff **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (!from || !to || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_diff_new: two catalogs and a place for the result are needed");
        return TIDE_MISUSE;
    }
    tide_diff *d = tutil_calloc(1, sizeof *d);
    if (!d) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    tutil_arena_init(&d->arena);
    dctx c = {.from = from, .to = to, .d = d, .dl = &tsql_postgres, .loose = from->from_server || to->from_server};
    tutil_buf_init(&c.b);
    c.match = tutil_arena_alloc(&d->arena, (size_t)(to->ntables + 1) * sizeof *c.match);
    c.from_matched = tutil_arena_alloc(&d->arena, (size_t)from->ntables + 1);
    if (!c.match || !c.from_matched)
        c.oom = 1;
    if (!c.oom) {
        diff_schemas(&c);
        diff_enums(&c);
        diff_sequences(&c);
        diff_functions(&c);
        diff_tables(&c);
    }
    tutil_buf_free(&c.b);
    if (c.oom) {
        tide_diff_free(d);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    if (d->n > 1)
        qsort(d->steps, (size_t)d->n, sizeof *d->steps, by_phase);
    *out = d;
    return TIDE_OK;
}

void tide_diff_free(tide_diff *d)
{
    if (!d)
        return;
    tutil_arena_free(&d->arena);
    tutil_free(d, sizeof *d);
}

static const step *at(const tide_diff *d, int i)
{
    return d && i >= 0 && i < d->n ? d->steps[i] : NULL;
}

int tide_diff_count(const tide_diff *d) { return d ? d->n : 0; }
tide_step_kind tide_diff_kind(const tide_diff *d, int i) { return at(d, i) ? at(d, i)->kind : 0; }
int tide_diff_flags(const tide_diff *d, int i) { return at(d, i) ? at(d, i)->flags : 0; }
const char *tide_diff_summary(const tide_diff *d, int i) { return at(d, i) ? at(d, i)->summary : NULL; }

const char *tide_diff_table(const tide_diff *d, int i, const char **pg_schema)
{
    const step *s = at(d, i);
    if (pg_schema)
        *pg_schema = s ? s->schema : NULL;
    return s ? s->table : NULL;
}

int tide_diff_sql_count(const tide_diff *d, int i) { return at(d, i) ? at(d, i)->nup : 0; }
int tide_diff_down_count(const tide_diff *d, int i) { return at(d, i) ? at(d, i)->ndown : 0; }

const char *tide_diff_sql(const tide_diff *d, int i, int k)
{
    const step *s = at(d, i);
    return s && k >= 0 && k < s->nup ? s->up[k] : NULL;
}

const char *tide_diff_down(const tide_diff *d, int i, int k)
{
    const step *s = at(d, i);
    return s && k >= 0 && k < s->ndown ? s->down[k] : NULL;
}
