/* tide_schema_ddl: the statements that create a finished schema on an empty
 * database, in dependency order: pg schemas, enums, sequences (so a default
 * can draw from one), functions (defaults, checks and policies may call
 * them), tables, join tables, foreign keys, indexes, views in declaration
 * order (they may read the tables and the views before them) with a
 * materialized view's indexes, row-level security and policies (whose
 * expressions may read any of it), and last triggers. A view's query and a
 * policy's expressions are the programmer's text, written as given, like a
 * check's.
 *
 * Names. Every index and foreign key is written with a name. Where the
 * schema gives none, the name follows PostgreSQL's own rules
 * (makeObjectName: table_columns_label cut to 63 bytes by shortening the
 * longer part, at a character boundary; ChooseRelationName: label, label1,
 * label2, ... until free), so it is the name the server would have picked,
 * with two exceptions: an expression is called "expr" (the server sometimes
 * uses its function's name) and a unique index that is not a constraint
 * ends in "_key" (the server says "_idx"). Constraints the server names
 * itself (primary keys, unique constraints) and serial sequences are
 * predicted with the same rules, so no generated name can take theirs; when
 * a prediction needs a number, the constraint is written with that name, so
 * the prediction cannot be wrong. One set of taken names covers the whole
 * schema, all pg schemas together: stricter than the server, never looser. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "tcat.h"

struct tide_ddl {
    tutil_arena arena;          /* the statements */
    char **stmts;
    int count, cap;
};

typedef struct strlist {
    const char **items;
    int n, cap;
} strlist;

typedef struct ddl_ctx {
    const tide_schema *s;
    const tsql_dialect *d;
    tide_ddl *ddl;
    tutil_arena scratch;        /* name copies and lists, freed at the end */
    tutil_buf b;                /* the statement being written */
    int oom;
    strlist names;              /* relation and constraint names taken */
    const tide_relation **joins; /* one relation per distinct implicit join table */
    int njoins, joins_cap;
    tide_catalog *cat;          /* NULL, or where the objects are recorded */
    tcat_table *ct;             /* the table being recorded */
} ddl_ctx;

/* ---- writing ----------------------------------------------------------------- */

static void sql(ddl_ctx *c, const char *text)
{
    tutil_buf_adds(&c->b, text);
}

/* name is NULL only after an allocation failed, when nothing is kept. */
static void ident(ddl_ctx *c, const char *name)
{
    if (name)
        c->d->quote_ident(&c->b, name);
}

/* Ends the statement being written: a copy goes to the output. */
static void emit(ddl_ctx *c)
{
    if (c->b.broken)
        c->oom = 1;
    if (!c->oom && c->ddl) {
        tide_ddl *o = c->ddl;
        char *s = tutil_arena_alloc(&o->arena, c->b.len + 1);
        if (!s || tutil_arena_grow(&o->arena, (void **)&o->stmts, &o->cap, o->count + 1, sizeof *o->stmts)) {
            c->oom = 1;
        } else {
            memcpy(s, tutil_buf_str(&c->b), c->b.len + 1);
            o->stmts[o->count++] = s;
        }
    }
    tutil_buf_reset(&c->b);
}

/* ---- names ------------------------------------------------------------------- */

static int strlist_has(const strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s))
            return 1;
    return 0;
}

/* Adds s (not copied) to l. */
static void strlist_add(ddl_ctx *c, strlist *l, const char *s)
{
    if (!s || tutil_arena_grow(&c->scratch, (void **)&l->items, &l->cap, l->n + 1, sizeof *l->items)) {
        c->oom = 1;
        return;
    }
    l->items[l->n++] = s;
}

/* Marks name as taken: a copy, or NULL after an allocation failure. */
static const char *take(ddl_ctx *c, const char *name)
{
    char *copy = tutil_arena_strdup(&c->scratch, name);
    strlist_add(c, &c->names, copy);
    return copy;
}

/* n, moved back so that s[0..n) does not end inside a UTF-8 character. */
static size_t clip(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

#define NAME_BUF 256

/* PostgreSQL's makeObjectName: name1[_name2][_label] within max_ident
 * bytes, shortening the longer of name1 and name2 first. */
static void object_name(const ddl_ctx *c, char out[NAME_BUF], const char *name1, const char *name2,
                        const char *label)
{
    size_t overhead = (name2 ? 1 : 0) + (label ? strlen(label) + 1 : 0);
    size_t avail = (size_t)c->d->max_ident - overhead;
    size_t n1 = strlen(name1), n2 = name2 ? strlen(name2) : 0;
    while (n1 + n2 > avail) {
        if (n1 > n2)
            n1--;
        else
            n2--;
    }
    n1 = clip(name1, n1);
    size_t j = n1;
    memcpy(out, name1, n1);
    if (name2) {
        n2 = clip(name2, n2);
        out[j++] = '_';
        memcpy(out + j, name2, n2);
        j += n2;
    }
    if (label) {
        out[j++] = '_';
        memcpy(out + j, label, strlen(label));
        j += strlen(label);
    }
    out[j] = '\0';
}

/* PostgreSQL's ChooseRelationName over the names taken so far. *numbered
 * (optional) says whether the plain name was taken. */
static const char *choose(ddl_ctx *c, const char *name1, const char *name2, const char *label, int *numbered)
{
    char name[NAME_BUF], modlabel[32];
    snprintf(modlabel, sizeof modlabel, "%s", label);
    for (int pass = 1;; pass++) {
        object_name(c, name, name1, name2, modlabel);
        if (!strlist_has(&c->names, name))
            break;
        snprintf(modlabel, sizeof modlabel, "%s%d", label, pass);
    }
    if (numbered)
        *numbered = strcmp(modlabel, label) != 0;
    return take(c, name);
}

/* PostgreSQL's ChooseIndexNameAddition: column names joined by '_',
 * stopping once the name is long enough to be cut anyway. */
typedef struct addition {
    char s[NAME_BUF];
    size_t len;
} addition;

static void addition_add(addition *a, const char *name)
{
    if (a->len >= 64)
        return;
    if (a->len)
        a->s[a->len++] = '_';
    size_t n = strlen(name);
    if (n > 63)
        n = 63;
    memcpy(a->s + a->len, name, n);
    a->len += n;
    a->s[a->len] = '\0';
}

/* ---- reading the schema ------------------------------------------------------ */

static int is_serial(tide_type t)
{
    return t == TIDE_T_SMALLSERIAL || t == TIDE_T_SERIAL || t == TIDE_T_BIGSERIAL;
}

static const tsch_index *primary_index(const tide_model *m)
{
    for (int i = 0; i < m->nindexes; i++)
        if (m->indexes[i]->kind == TIDE_INDEX_PRIMARY)
            return m->indexes[i];
    return NULL;
}

/* A unique index that a table constraint can express: plain ascending
 * columns, btree, no condition. */
static int unique_constraint(const tsch_index *ix)
{
    if (ix->kind != TIDE_INDEX_UNIQUE || ix->method != TIDE_INDEX_BTREE || ix->where)
        return 0;
    for (int i = 0; i < ix->nparts; i++)
        if (!ix->part_fields[i] || ix->parts[i].descending || ix->parts[i].nulls)
            return 0;
    return 1;
}

static int same_fields(tide_field *const *a, int na, tide_field *const *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Whether PostgreSQL would fold this unnamed unique constraint into one
 * written before it in the same CREATE TABLE (it keeps one index per
 * column list): then it is left out, as the server would. */
static int folded(const tide_model *m, const tsch_index *ix)
{
    if (ix->name)
        return 0;
    if (!ix->nulls_not_distinct) {
        if (same_fields(ix->part_fields, ix->nparts, m->pk, m->npk))
            return 1;
        if (ix->nparts == 1 && ix->part_fields[0]->unique)
            return 1;
    }
    for (int i = 0; i < m->nindexes && m->indexes[i] != ix; i++) {
        const tsch_index *o = m->indexes[i];
        if (unique_constraint(o) && o->nulls_not_distinct == ix->nulls_not_distinct &&
            same_fields(o->part_fields, o->nparts, ix->part_fields, ix->nparts))
            return 1;
    }
    return 0;
}

static int same_join(const tide_relation *a, const tide_relation *b)
{
    const char *sa = tsql_join_schema(a), *sb = tsql_join_schema(b);
    return !strcmp(a->join_table, b->join_table) && (sa == sb || (sa && sb && !strcmp(sa, sb)));
}

static int implicit_join(const tide_relation *r)
{
    return r->kind == TIDE_REL_MANY_TO_MANY && !r->through && r->join_table && r->join_from && r->join_to &&
           r->target && r->model->npk == 1 && r->target->npk == 1;
}

/* The join table's two columns in table order: the side declared first,
 * or for a self relation the a_ column before the b_ one. */
static void join_columns(const tide_relation *r, const tide_model **m1, const char **c1, const tide_model **m2,
                         const char **c2)
{
    int swap = r->model == r->target ? strcmp(r->join_from, r->join_to) > 0 : r->target->index < r->model->index;
    *m1 = swap ? r->target : r->model;
    *c1 = swap ? r->join_to : r->join_from;
    *m2 = swap ? r->model : r->target;
    *c2 = swap ? r->join_from : r->join_to;
}

static int same_fk(const tide_relation *a, const tide_relation *b)
{
    return a->kind == TIDE_REL_BELONGS_TO && b->kind == TIDE_REL_BELONGS_TO && a->target == b->target &&
           a->fields && b->fields && a->refs && b->refs && same_fields(a->fields, a->nfields, b->fields, b->nfields) &&
           same_fields(a->refs, a->nfields, b->refs, b->nfields);
}

static const char *action_sql(tide_action a)
{
    switch (a) {
    case TIDE_ACTION_NO_ACTION: return "NO ACTION";
    case TIDE_ACTION_RESTRICT: return "RESTRICT";
    case TIDE_ACTION_CASCADE: return "CASCADE";
    case TIDE_ACTION_SET_NULL: return "SET NULL";
    case TIDE_ACTION_SET_DEFAULT: return "SET DEFAULT";
    default: return NULL;
    }
}

static const char *method_sql(tide_index_method m)
{
    switch (m) {
    case TIDE_INDEX_HASH: return "hash";
    case TIDE_INDEX_GIN: return "gin";
    case TIDE_INDEX_GIST: return "gist";
    case TIDE_INDEX_BRIN: return "brin";
    default: return NULL;
    }
}

/* ---- the statements ---------------------------------------------------------- */

static void column_list(ddl_ctx *c, tide_field *const *fields, int n)
{
    sql(c, "(");
    for (int i = 0; i < n; i++) {
        if (i)
            sql(c, ", ");
        ident(c, fields[i]->column);
    }
    sql(c, ")");
}

static void create_schema(ddl_ctx *c, strlist *done, const char *ns)
{
    if (!ns || strlist_has(done, ns))
        return;
    strlist_add(c, done, ns);
    if (c->cat)
        tcat_add_schema(c->cat, ns);
    sql(c, "CREATE SCHEMA IF NOT EXISTS ");
    ident(c, ns);
    emit(c);
}

static void create_schemas(ddl_ctx *c)
{
    strlist done = {0};
    const tide_schema *s = c->s;
    for (int i = 0; i < s->nsequences; i++)
        create_schema(c, &done, s->sequences[i]->pg_schema);
    for (int i = 0; i < s->nenums; i++)
        create_schema(c, &done, s->enums[i]->pg_schema);
    for (int i = 0; i < s->nfunctions; i++)
        create_schema(c, &done, s->functions[i]->pg_schema);
    for (int i = 0; i < s->nmodels; i++)
        create_schema(c, &done, s->models[i]->pg_schema);
}

static void create_enum(ddl_ctx *c, const tsch_enum *e)
{
    sql(c, "CREATE TYPE ");
    tsql_qualified(&c->b, c->d, e->pg_schema, e->name);
    sql(c, " AS ENUM (");
    for (int i = 0; i < e->nvalues; i++) {
        if (i)
            sql(c, ", ");
        c->d->quote_literal(&c->b, e->values[i]);
    }
    sql(c, ")");
    emit(c);
    if (c->cat) {
        tcat_enum *ce = tcat_add_enum(c->cat, e->pg_schema, e->name);
        if (ce) {
            ce->values = tcat_strs(c->cat, (const char *const *)e->values, e->nvalues);
            ce->nvalues = e->nvalues;
            ce->renamed_from = tcat_str(c->cat, e->renamed_from);
            ce->value_renames = tcat_strs(c->cat, (const char *const *)e->value_renames, 2 * e->nvalue_renames);
            ce->nvalue_renames = e->nvalue_renames;
        }
    }
}

static void create_sequence(ddl_ctx *c, const tsch_sequence *q)
{
    sql(c, "CREATE SEQUENCE ");
    tsql_qualified(&c->b, c->d, q->pg_schema, q->name);
    if (q->increment)
        tutil_buf_addf(&c->b, " INCREMENT BY %" PRId64, q->increment);
    if (q->has_min)
        tutil_buf_addf(&c->b, " MINVALUE %" PRId64, q->min_value);
    if (q->has_max)
        tutil_buf_addf(&c->b, " MAXVALUE %" PRId64, q->max_value);
    if (q->has_start)
        tutil_buf_addf(&c->b, " START WITH %" PRId64, q->start);
    if (q->cache)
        tutil_buf_addf(&c->b, " CACHE %" PRId64, q->cache);
    if (q->cycle)
        sql(c, " CYCLE");
    emit(c);
    if (c->cat) {
        tcat_sequence *cs = tcat_add_sequence(c->cat, q->pg_schema, q->name);
        if (cs) {
            /* PostgreSQL's defaults, as pg_sequence shows them */
            int up = q->increment >= 0;
            cs->increment = q->increment ? q->increment : 1;
            cs->min = q->has_min ? q->min_value : up ? 1 : INT64_MIN;
            cs->max = q->has_max ? q->max_value : up ? INT64_MAX : -1;
            cs->start = q->has_start ? q->start : up ? cs->min : cs->max;
            cs->cache = q->cache ? q->cache : 1;
            cs->cycle = q->cycle;
        }
    }
}

static void record_column(ddl_ctx *c, const tide_field *f, int in_pk);

static void column(ddl_ctx *c, const tide_field *f)
{
    ident(c, f->column);
    sql(c, " ");
    c->d->type_name(&c->b, f);
    if (f->identity == TIDE_IDENTITY_ALWAYS)
        sql(c, " GENERATED ALWAYS AS IDENTITY");
    else if (f->identity == TIDE_IDENTITY_BY_DEFAULT)
        sql(c, " GENERATED BY DEFAULT AS IDENTITY");
    if (f->generated) {
        sql(c, " GENERATED ALWAYS AS (");
        sql(c, f->generated);
        sql(c, ") STORED");
    }
    if (!f->nullable)
        sql(c, " NOT NULL");
    switch (f->default_kind) {
    case TIDE_DEFAULT_LITERAL:
        /* an unknown-typed literal coerces to the column's type, enums,
         * booleans, numbers and arrays included */
        if (f->default_value) {
            sql(c, " DEFAULT ");
            c->d->quote_literal(&c->b, f->default_value);
        }
        break;
    case TIDE_DEFAULT_NOW: sql(c, " DEFAULT now()"); break;
    case TIDE_DEFAULT_UUID: sql(c, " DEFAULT gen_random_uuid()"); break;
    case TIDE_DEFAULT_SQL:
        if (f->default_value) {
            sql(c, " DEFAULT (");
            sql(c, f->default_value);
            sql(c, ")");
        }
        break;
    case TIDE_DEFAULT_NEXTVAL:
        if (f->sequence_ref) {
            sql(c, " DEFAULT ");
            c->d->next_value(&c->b, f->sequence_ref->pg_schema, f->sequence_ref->name);
        }
        break;
    case TIDE_DEFAULT_CLIENT: break;
    case TIDE_DEFAULT_NONE:
        /* the client sets it on update; inserts take it from here */
        if (f->updated_at)
            sql(c, " DEFAULT now()");
        break;
    }
    if (f->check) {
        sql(c, " CHECK (");
        sql(c, f->check);
        sql(c, ")");
    }
}

/* CONSTRAINT "name" for a constraint PostgreSQL would otherwise name itself,
 * when the predicted name is not the plain one. Returns the name. */
static const char *implicit_name(ddl_ctx *c, const char *table, const char *cols, const char *label)
{
    int numbered;
    const char *name = choose(c, table, cols, label, &numbered);
    if (numbered) {
        sql(c, "CONSTRAINT ");
        ident(c, name);
        sql(c, " ");
    }
    return name;
}

/* ---- recording the catalog ---------------------------------------------------- */

static void record_column(ddl_ctx *c, const tide_field *f, int in_pk)
{
    if (!c->cat || !c->ct)
        return;
    tutil_buf t;
    tutil_buf_init(&t);
    tcat_type(&t, f);
    if (t.broken)
        c->oom = 1;
    tcat_column *col = tcat_add_column(c->cat, c->ct, f->column, tutil_buf_str(&t));
    tutil_buf_free(&t);
    if (!col)
        return;
    col->not_null = !f->nullable || in_pk;
    col->serial = is_serial(f->type);
    col->identity = f->identity == TIDE_IDENTITY_ALWAYS ? 'a' : f->identity == TIDE_IDENTITY_BY_DEFAULT ? 'd' : 0;
    col->generated = tcat_str(c->cat, f->generated);
    col->renamed_from = tcat_str(c->cat, f->renamed_from);
    tutil_buf d;
    tutil_buf_init(&d);
    switch (f->default_kind) {
    case TIDE_DEFAULT_LITERAL:
        if (f->default_value)
            c->d->quote_literal(&d, f->default_value);
        break;
    case TIDE_DEFAULT_NOW: tutil_buf_adds(&d, "now()"); break;
    case TIDE_DEFAULT_UUID: tutil_buf_adds(&d, "gen_random_uuid()"); break;
    case TIDE_DEFAULT_SQL:
        if (f->default_value)
            tutil_buf_adds(&d, f->default_value);
        break;
    case TIDE_DEFAULT_NEXTVAL:
        if (f->sequence_ref) {
            /* as the server prints it: the name quoted only where needed */
            tutil_buf q;
            tutil_buf_init(&q);
            if (f->sequence_ref->pg_schema) {
                tcat_quote_if_needed(&q, f->sequence_ref->pg_schema);
                tutil_buf_addc(&q, '.');
            }
            tcat_quote_if_needed(&q, f->sequence_ref->name);
            tutil_buf_adds(&d, "nextval(");
            c->d->quote_literal(&d, tutil_buf_str(&q));
            tutil_buf_adds(&d, "::regclass)");
            if (q.broken)
                d.broken = 1;
            tutil_buf_free(&q);
        }
        break;
    case TIDE_DEFAULT_CLIENT: break;
    case TIDE_DEFAULT_NONE:
        if (f->updated_at)
            tutil_buf_adds(&d, "now()");
        break;
    }
    if (d.broken)
        c->oom = 1;
    if (d.len)
        col->default_expr = tcat_str(c->cat, tutil_buf_str(&d));
    tutil_buf_free(&d);
}

static tcat_constraint *record_constraint(ddl_ctx *c, char kind, const char *name, tide_field *const *fields,
                                          int n)
{
    if (!c->cat || !c->ct)
        return NULL;
    tcat_constraint *k = tcat_add_constraint(c->cat, c->ct, kind, name);
    if (!k)
        return NULL;
    const char *cols[64];
    for (int i = 0; i < n && i < 64; i++)
        cols[i] = fields[i]->column;
    k->cols = tcat_strs(c->cat, cols, n < 64 ? n : 64);
    k->ncols = n < 64 ? n : 64;
    return k;
}

/* The name PostgreSQL gives an unnamed CHECK: table_column_check when its
 * expression reads one column, table_check otherwise. Which columns it
 * reads is guessed from the identifiers in its text. */
static void check_name(ddl_ctx *c, const tide_model *m, const char *expr, char out[NAME_BUF])
{
    const char *only = NULL;
    int count = 0;
    for (int i = 0; i < m->nfields; i++) {
        const char *col = m->fields[i]->column;
        size_t n = strlen(col);
        for (const char *p = strstr(expr, col); p; p = strstr(p + 1, col)) {
            int before = p > expr && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
                                      (p[-1] >= '0' && p[-1] <= '9'));
            char a = p[n];
            int after = a == '_' || (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z') || (a >= '0' && a <= '9');
            if (!before && !after) {
                if (only != col)
                    count++;
                only = col;
                break;
            }
        }
    }
    object_name(c, out, m->table, count == 1 ? only : NULL, "check");
}

static void record_check(ddl_ctx *c, const tide_model *m, const char *name, const char *expr)
{
    if (!c->cat || !c->ct)
        return;
    char predicted[NAME_BUF];
    if (!name) {
        check_name(c, m, expr, predicted);
        name = predicted;
    }
    tcat_constraint *k = tcat_add_constraint(c->cat, c->ct, 'c', name);
    if (k)
        k->expr = tcat_str(c->cat, expr);
}

static int in_pk(const tide_model *m, const tide_field *f)
{
    for (int i = 0; i < m->npk; i++)
        if (m->pk[i] == f)
            return 1;
    return 0;
}

static void create_table(ddl_ctx *c, const tide_model *m)
{
    if (c->cat) {
        c->ct = tcat_add_table(c->cat, m->pg_schema, m->table, 't');
        if (c->ct)
            c->ct->renamed_from = tcat_str(c->cat, m->renamed_from);
    }
    sql(c, "CREATE TABLE ");
    tsql_table(&c->b, c->d, m);
    sql(c, " (");
    for (int i = 0; i < m->nfields; i++) {
        sql(c, i ? ",\n    " : "\n    ");
        column(c, m->fields[i]);
        record_column(c, m->fields[i], in_pk(m, m->fields[i]));
    }
    /* the sequences PostgreSQL creates for serial and identity columns */
    for (int i = 0; i < m->nfields; i++)
        if (is_serial(m->fields[i]->type) || m->fields[i]->identity != TIDE_IDENTITY_NONE)
            choose(c, m->table, m->fields[i]->column, "seq", NULL);

    sql(c, ",\n    ");
    const tsch_index *pix = primary_index(m);
    const char *pkname;
    if (pix && pix->name) {
        sql(c, "CONSTRAINT ");
        ident(c, pix->name);
        sql(c, " ");
        pkname = pix->name;
    } else {
        pkname = implicit_name(c, m->table, NULL, "pkey");
    }
    sql(c, "PRIMARY KEY ");
    column_list(c, m->pk, m->npk);
    record_constraint(c, 'p', pkname, m->pk, m->npk);

    for (int i = 0; i < m->nfields; i++) {
        tide_field *f = m->fields[i];
        if (!f->unique || (m->npk == 1 && m->pk[0] == f))
            continue;
        sql(c, ",\n    ");
        record_constraint(c, 'u', implicit_name(c, m->table, f->column, "key"), &f, 1);
        sql(c, "UNIQUE ");
        column_list(c, &f, 1);
    }
    for (int i = 0; i < m->nindexes; i++) {
        const tsch_index *ix = m->indexes[i];
        if (!unique_constraint(ix) || folded(m, ix))
            continue;
        sql(c, ",\n    ");
        const char *uname = ix->name;
        if (ix->name) {
            sql(c, "CONSTRAINT ");
            ident(c, ix->name);
            sql(c, " ");
        } else {
            addition a = {.len = 0};
            for (int k = 0; k < ix->nparts; k++)
                addition_add(&a, ix->part_fields[k]->column);
            uname = implicit_name(c, m->table, a.s, "key");
        }
        sql(c, ix->nulls_not_distinct ? "UNIQUE NULLS NOT DISTINCT " : "UNIQUE ");
        column_list(c, ix->part_fields, ix->nparts);
        tcat_constraint *k = record_constraint(c, 'u', uname, ix->part_fields, ix->nparts);
        if (k)
            k->nulls_not_distinct = ix->nulls_not_distinct;
    }
    for (int i = 0; i < m->nfields; i++)
        if (m->fields[i]->check) {
            char name[NAME_BUF];
            object_name(c, name, m->table, m->fields[i]->column, "check");
            record_check(c, m, name, m->fields[i]->check);
        }
    for (int i = 0; i < m->nchecks; i++) {
        sql(c, ",\n    ");
        if (m->checks[i].name) {
            sql(c, "CONSTRAINT ");
            ident(c, m->checks[i].name);
            sql(c, " ");
        }
        sql(c, "CHECK (");
        sql(c, m->checks[i].expression);
        sql(c, ")");
        record_check(c, m, m->checks[i].name, m->checks[i].expression);
    }
    sql(c, "\n)");
    emit(c);
    c->ct = NULL;
}

/* A join column's type: the key's, with serial types as the integers they are. */
static void key_type(ddl_ctx *c, const tide_field *pk)
{
    tide_field k = *pk;
    if (k.type == TIDE_T_SMALLSERIAL)
        k.type = TIDE_T_SMALLINT;
    else if (k.type == TIDE_T_SERIAL)
        k.type = TIDE_T_INTEGER;
    else if (k.type == TIDE_T_BIGSERIAL)
        k.type = TIDE_T_BIGINT;
    c->d->type_name(&c->b, &k);
}

static void create_join_table(ddl_ctx *c, const tide_relation *r)
{
    const tide_model *m1, *m2;
    const char *c1, *c2;
    join_columns(r, &m1, &c1, &m2, &c2);
    if (c->cat) {
        c->ct = tcat_add_table(c->cat, tsql_join_schema(r), r->join_table, 't');
        tide_field k1 = *m1->pk[0], k2 = *m2->pk[0];
        k1.column = (char *)c1;
        k2.column = (char *)c2;
        k1.nullable = k2.nullable = 0;
        k1.default_kind = k2.default_kind = TIDE_DEFAULT_NONE;
        k1.identity = k2.identity = TIDE_IDENTITY_NONE;
        k1.generated = k2.generated = NULL;
        k1.updated_at = k2.updated_at = 0;
        k1.renamed_from = k2.renamed_from = NULL;
        for (int i = 0; i < 2; i++) {
            tide_field *k = i ? &k2 : &k1;
            k->type = k->type == TIDE_T_SMALLSERIAL ? TIDE_T_SMALLINT : k->type == TIDE_T_SERIAL ? TIDE_T_INTEGER
                    : k->type == TIDE_T_BIGSERIAL ? TIDE_T_BIGINT : k->type;
            record_column(c, k, 1);
        }
    }
    sql(c, "CREATE TABLE ");
    tsql_join_table(&c->b, c->d, r);
    sql(c, " (\n    ");
    ident(c, c1);
    sql(c, " ");
    key_type(c, m1->pk[0]);
    sql(c, " NOT NULL,\n    ");
    ident(c, c2);
    sql(c, " ");
    key_type(c, m2->pk[0]);
    sql(c, " NOT NULL,\n    ");
    const char *pkname = implicit_name(c, r->join_table, NULL, "pkey");
    sql(c, "PRIMARY KEY (");
    ident(c, c1);
    sql(c, ", ");
    ident(c, c2);
    sql(c, ")\n)");
    emit(c);
    tcat_table *jt = c->ct;
    if (jt) {
        tcat_constraint *k = tcat_add_constraint(c->cat, jt, 'p', pkname);
        const char *cols[2] = {c1, c2};
        if (k) {
            k->cols = tcat_strs(c->cat, cols, 2);
            k->ncols = 2;
        }
    }
    c->ct = NULL;

    /* the primary key serves lookups by the first column; this one the second */
    const char *ixname = choose(c, r->join_table, c2, "idx", NULL);
    if (jt) {
        tcat_index *ix = tcat_add_index(c->cat, jt, ixname, 1);
        if (ix) {
            ix->method = tcat_str(c->cat, "btree");
            ix->parts[0].column = tcat_str(c->cat, c2);
        }
    }
    sql(c, "CREATE INDEX ");
    ident(c, ixname);
    sql(c, " ON ");
    tsql_join_table(&c->b, c->d, r);
    sql(c, " (");
    ident(c, c2);
    sql(c, ")");
    emit(c);
}

static void foreign_key(ddl_ctx *c, const tide_relation *r, const char *name, tide_action on_delete,
                        tide_action on_update)
{
    const tide_model *m = r->model;
    sql(c, "ALTER TABLE ");
    tsql_table(&c->b, c->d, m);
    sql(c, " ADD CONSTRAINT ");
    if (!name) {
        addition a = {.len = 0};
        for (int i = 0; i < r->nfields; i++)
            addition_add(&a, r->fields[i]->column);
        name = choose(c, m->table, a.s, "fkey", NULL);
    }
    ident(c, name);
    if (c->cat) {
        c->ct = tcat_find_table(c->cat, m->pg_schema, m->table);
        tcat_constraint *k = record_constraint(c, 'f', name, r->fields, r->nfields);
        if (k) {
            const char *refs[64];
            for (int i = 0; i < k->ncols; i++)
                refs[i] = r->refs[i]->column;
            k->ref_schema = tcat_str(c->cat, r->target->pg_schema);
            k->ref_table = tcat_str(c->cat, r->target->table);
            k->ref_cols = tcat_strs(c->cat, refs, k->ncols);
            k->on_delete = tcat_action(on_delete);
            k->on_update = tcat_action(on_update);
        }
        c->ct = NULL;
    }
    sql(c, " FOREIGN KEY ");
    column_list(c, r->fields, r->nfields);
    sql(c, " REFERENCES ");
    tsql_table(&c->b, c->d, r->target);
    sql(c, " ");
    column_list(c, r->refs, r->nfields);
    if (action_sql(on_delete)) {
        sql(c, " ON DELETE ");
        sql(c, action_sql(on_delete));
    }
    if (action_sql(on_update)) {
        sql(c, " ON UPDATE ");
        sql(c, action_sql(on_update));
    }
    emit(c);
}

/* The belongs_to at position k of m, unless an earlier one declares the same
 * key (a field's references() next to a named belongs_to): then the first
 * is written once, with the name and actions either of them gives. */
static void model_foreign_key(ddl_ctx *c, const tide_model *m, int k)
{
    const tide_relation *r = m->relations[k];
    /* a view's belongs_to is for reading: PostgreSQL keeps foreign keys
     * between tables only */
    if (r->kind != TIDE_REL_BELONGS_TO || !r->target || !r->fields || !r->refs || m->kind != TIDE_MODEL_TABLE)
        return;
    for (int i = 0; i < k; i++)
        if (same_fk(m->relations[i], r))
            return;
    const char *name = r->constraint_name;
    tide_action del = r->on_delete, upd = r->on_update;
    for (int i = k + 1; i < m->nrelations; i++) {
        const tide_relation *o = m->relations[i];
        if (!same_fk(o, r))
            continue;
        if (!name)
            name = o->constraint_name;
        if (del == TIDE_ACTION_DEFAULT)
            del = o->on_delete;
        if (upd == TIDE_ACTION_DEFAULT)
            upd = o->on_update;
    }
    foreign_key(c, r, name, del, upd);
}

static void join_foreign_key(ddl_ctx *c, const tide_relation *r, const char *col, const tide_model *target)
{
    sql(c, "ALTER TABLE ");
    tsql_join_table(&c->b, c->d, r);
    sql(c, " ADD CONSTRAINT ");
    const char *name = choose(c, r->join_table, col, "fkey", NULL);
    ident(c, name);
    if (c->cat) {
        tcat_table *t = tcat_find_table(c->cat, tsql_join_schema(r), r->join_table);
        tcat_constraint *k = t ? tcat_add_constraint(c->cat, t, 'f', name) : NULL;
        if (k) {
            k->cols = tcat_strs(c->cat, &col, 1);
            k->ncols = 1;
            k->ref_schema = tcat_str(c->cat, target->pg_schema);
            k->ref_table = tcat_str(c->cat, target->table);
            k->ref_cols = tcat_strs(c->cat, (const char *const *)&target->pk[0]->column, 1);
            k->on_delete = 'c';
            k->on_update = 'a';
        }
    }
    sql(c, " FOREIGN KEY (");
    ident(c, col);
    sql(c, ") REFERENCES ");
    tsql_table(&c->b, c->d, target);
    sql(c, " ");
    column_list(c, target->pk, 1);
    sql(c, " ON DELETE CASCADE");
    emit(c);
}

static void create_index(ddl_ctx *c, const tide_model *m, const tsch_index *ix)
{
    int unique = ix->kind == TIDE_INDEX_UNIQUE;
    sql(c, unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    const char *name = ix->name;
    if (!name) {
        addition a = {.len = 0};
        for (int i = 0; i < ix->nparts; i++)
            addition_add(&a, ix->part_fields[i] ? ix->part_fields[i]->column : "expr");
        name = choose(c, m->table, a.s, unique ? "key" : "idx", NULL);
    }
    ident(c, name);
    tcat_table *t = c->cat ? tcat_find_table(c->cat, m->pg_schema, m->table) : NULL;
    tcat_index *ci = t ? tcat_add_index(c->cat, t, name, ix->nparts) : NULL;
    if (ci) {
        static const char *const methods[] = {"btree", "hash", "gin", "gist", "brin"};
        ci->unique = unique;
        ci->method = tcat_str(c->cat, methods[ix->method >= 0 && ix->method <= 4 ? ix->method : 0]);
        ci->where = tcat_str(c->cat, ix->where);
        ci->nulls_not_distinct = unique && ix->nulls_not_distinct;
        for (int i = 0; i < ix->nparts; i++) {
            ci->parts[i].column = ix->part_fields[i] ? tcat_str(c->cat, ix->part_fields[i]->column) : NULL;
            ci->parts[i].expr = ix->part_fields[i] ? NULL : tcat_str(c->cat, ix->parts[i].expression);
            ci->parts[i].desc = ix->parts[i].descending;
            ci->parts[i].nulls = ix->parts[i].nulls;
        }
    }
    sql(c, " ON ");
    tsql_table(&c->b, c->d, m);
    if (method_sql(ix->method)) {
        sql(c, " USING ");
        sql(c, method_sql(ix->method));
    }
    sql(c, " (");
    for (int i = 0; i < ix->nparts; i++) {
        const tide_index_part *p = &ix->parts[i];
        if (i)
            sql(c, ", ");
        if (ix->part_fields[i]) {
            ident(c, ix->part_fields[i]->column);
        } else {
            sql(c, "(");
            sql(c, p->expression);
            sql(c, ")");
        }
        if (p->descending)
            sql(c, " DESC");
        if (p->nulls == 1)
            sql(c, " NULLS FIRST");
        else if (p->nulls == 2)
            sql(c, " NULLS LAST");
    }
    sql(c, ")");
    if (unique && ix->nulls_not_distinct)
        sql(c, " NULLS NOT DISTINCT");
    if (ix->where) {
        sql(c, " WHERE (");
        sql(c, ix->where);
        sql(c, ")");
    }
    emit(c);
}

static void record_unique_index(ddl_ctx *c, const tide_model *m, const char *name, tide_field *const *fields, int n)
{
    tcat_table *t = c->cat ? tcat_find_table(c->cat, m->pg_schema, m->table) : NULL;
    tcat_index *ci = t ? tcat_add_index(c->cat, t, name, n) : NULL;
    if (!ci)
        return;
    ci->unique = 1;
    ci->method = tcat_str(c->cat, "btree");
    for (int i = 0; i < n; i++)
        ci->parts[i].column = tcat_str(c->cat, fields[i]->column);
}

/* A view as its query, given as is; a materialized view then gets its
 * indexes, a unique one on its primary key first (REFRESH ... CONCURRENTLY
 * needs one). */
static void create_view(ddl_ctx *c, const tide_model *m)
{
    int mat = m->kind == TIDE_MODEL_MATERIALIZED_VIEW;
    if (c->cat) {
        tcat_table *t = tcat_add_table(c->cat, m->pg_schema, m->table, mat ? 'm' : 'v');
        if (t) {
            t->view_sql = tcat_str(c->cat, m->view_sql);
            t->with_data = !mat || m->with_data;
            t->renamed_from = tcat_str(c->cat, m->renamed_from);
            for (int i = 0; i < m->nfields; i++)
                tcat_add_column(c->cat, t, m->fields[i]->column, "");
        }
    }
    sql(c, mat ? "CREATE MATERIALIZED VIEW " : "CREATE VIEW ");
    tsql_table(&c->b, c->d, m);
    sql(c, " AS ");
    sql(c, m->view_sql);
    if (mat && !m->with_data)
        sql(c, "\nWITH NO DATA"); /* on a line of its own: the query may end in a comment */
    emit(c);
    if (!mat)
        return;
    if (m->npk) {
        const tsch_index *pix = primary_index(m);
        sql(c, "CREATE UNIQUE INDEX ");
        const char *name = pix && pix->name ? pix->name : choose(c, m->table, NULL, "pkey", NULL);
        ident(c, name);
        record_unique_index(c, m, name, m->pk, m->npk);
        sql(c, " ON ");
        tsql_table(&c->b, c->d, m);
        sql(c, " ");
        column_list(c, m->pk, m->npk);
        emit(c);
    }
    for (int i = 0; i < m->nfields; i++) {
        tide_field *f = m->fields[i];
        if (!f->unique || (m->npk == 1 && m->pk[0] == f))
            continue;
        sql(c, "CREATE UNIQUE INDEX ");
        const char *name = choose(c, m->table, f->column, "key", NULL);
        ident(c, name);
        record_unique_index(c, m, name, &f, 1);
        sql(c, " ON ");
        tsql_table(&c->b, c->d, m);
        sql(c, " ");
        column_list(c, &f, 1);
        emit(c);
    }
    for (int i = 0; i < m->nindexes; i++)
        if (m->indexes[i]->kind != TIDE_INDEX_PRIMARY)
            create_index(c, m, m->indexes[i]);
}

/* A policy's role: a name, or one of the keywords that stand for roles. */
static void role(ddl_ctx *c, const char *name)
{
    static const char *const keywords[][2] = {
        {"public", "PUBLIC"}, {"current_user", "CURRENT_USER"},
        {"current_role", "CURRENT_ROLE"}, {"session_user", "SESSION_USER"},
    };
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (!strcmp(name, keywords[i][0])) {
            sql(c, keywords[i][1]);
            return;
        }
    ident(c, name);
}

static void row_security(ddl_ctx *c, const tide_model *m)
{
    if (!m->rls)
        return;
    tcat_table *t = c->cat ? tcat_find_table(c->cat, m->pg_schema, m->table) : NULL;
    if (t) {
        t->rls = 1;
        t->force_rls = m->force_rls;
    }
    sql(c, "ALTER TABLE ");
    tsql_table(&c->b, c->d, m);
    sql(c, " ENABLE ROW LEVEL SECURITY");
    emit(c);
    if (m->force_rls) {
        sql(c, "ALTER TABLE ");
        tsql_table(&c->b, c->d, m);
        sql(c, " FORCE ROW LEVEL SECURITY");
        emit(c);
    }
    for (int i = 0; i < m->npolicies; i++) {
        const tsch_policy *p = &m->policies[i];
        static const char *const commands[] = {"ALL", "SELECT", "INSERT", "UPDATE", "DELETE"};
        tcat_policy *cp = t ? tcat_add_policy(c->cat, t, p->name) : NULL;
        if (cp) {
            cp->command = tcat_str(c->cat, commands[p->cmd >= 0 && p->cmd < 5 ? p->cmd : 0]);
            cp->permissive = !p->restrictive;
            cp->using_expr = tcat_str(c->cat, p->using_expr);
            cp->check = tcat_str(c->cat, p->check);
            if (p->nroles) {
                cp->roles = tcat_strs(c->cat, (const char *const *)p->roles, p->nroles);
                cp->nroles = p->nroles;
            } else {
                const char *pub = "public";
                cp->roles = tcat_strs(c->cat, &pub, 1);
                cp->nroles = 1;
            }
        }
        sql(c, "CREATE POLICY ");
        ident(c, p->name);
        sql(c, " ON ");
        tsql_table(&c->b, c->d, m);
        if (p->restrictive)
            sql(c, " AS RESTRICTIVE");
        sql(c, " FOR ");
        sql(c, commands[p->cmd >= 0 && p->cmd < 5 ? p->cmd : 0]);
        for (int k = 0; k < p->nroles; k++) {
            sql(c, k ? ", " : " TO ");
            role(c, p->roles[k]);
        }
        if (p->using_expr) {
            sql(c, " USING (");
            sql(c, p->using_expr);
            sql(c, ")");
        }
        if (p->check) {
            sql(c, " WITH CHECK (");
            sql(c, p->check);
            sql(c, ")");
        }
        emit(c);
    }
}

static void create_function(ddl_ctx *c, const tsch_function *f)
{
    tcat_function fn = {.schema = f->pg_schema, .name = f->name, .args = f->args, .returns = f->returns,
                        .language = f->language, .body = f->body, .volatility = f->volatility_code};
    tcat_function *cf = c->cat ? tcat_add_function(c->cat, f->pg_schema, f->name) : NULL;
    if (cf) {
        cf->args = tcat_str(c->cat, fn.args);
        cf->returns = tcat_str(c->cat, fn.returns);
        cf->language = tcat_str(c->cat, fn.language);
        cf->body = tcat_str(c->cat, fn.body);
        cf->volatility = fn.volatility;
    }
    tcat_function_sql(&c->b, c->d, &fn, 0);
    emit(c);
}

static void create_triggers(ddl_ctx *c, const tide_model *m)
{
    tcat_table *t = c->cat ? tcat_find_table(c->cat, m->pg_schema, m->table) : NULL;
    tcat_table on = {.schema = m->pg_schema, .name = m->table};
    for (int i = 0; i < m->ntriggers; i++) {
        const tsch_trigger *tr = &m->triggers[i];
        tcat_trigger g = {.name = tr->name, .type = tr->events, .when = tr->when,
                          .func_schema = tr->function_ref ? tr->function_ref->pg_schema : NULL,
                          .func_name = tr->function};
        if (tr->for_each_row)
            g.type |= TCAT_TRIGGER_ROW;
        if (tr->timing_code == TSCH_BEFORE)
            g.type |= TCAT_TRIGGER_BEFORE;
        else if (tr->timing_code == TSCH_INSTEAD_OF)
            g.type |= TCAT_TRIGGER_INSTEAD;
        tcat_trigger *cg = t ? tcat_add_trigger(c->cat, t, tr->name) : NULL;
        if (cg) {
            cg->type = g.type;
            cg->func_schema = tcat_str(c->cat, g.func_schema);
            cg->func_name = tcat_str(c->cat, g.func_name);
            cg->when = tcat_str(c->cat, g.when);
        }
        tcat_trigger_sql(&c->b, c->d, &on, &g);
        emit(c);
    }
}

/* Names the schema gives outright are taken before any is generated, so a
 * generated name never lands on one declared later. */
static void take_declared_names(ddl_ctx *c)
{
    const tide_schema *s = c->s;
    for (int i = 0; i < s->nsequences; i++)
        strlist_add(c, &c->names, s->sequences[i]->name);
    for (int i = 0; i < s->nmodels; i++) {
        const tide_model *m = s->models[i];
        strlist_add(c, &c->names, m->table);
        for (int k = 0; k < m->nindexes; k++)
            if (m->indexes[k]->name)
                strlist_add(c, &c->names, m->indexes[k]->name);
        for (int k = 0; k < m->nchecks; k++)
            if (m->checks[k].name)
                strlist_add(c, &c->names, m->checks[k].name);
        for (int k = 0; k < m->nrelations; k++) {
            const tide_relation *r = m->relations[k];
            if (r->kind == TIDE_REL_BELONGS_TO && r->constraint_name)
                strlist_add(c, &c->names, r->constraint_name);
            if (!implicit_join(r))
                continue;
            int seen = 0;
            for (int j = 0; j < c->njoins && !seen; j++)
                seen = same_join(c->joins[j], r);
            if (seen)
                continue;
            if (tutil_arena_grow(&c->scratch, (void **)&c->joins, &c->joins_cap, c->njoins + 1, sizeof *c->joins)) {
                c->oom = 1;
                return;
            }
            c->joins[c->njoins++] = r;
            strlist_add(c, &c->names, r->join_table);
        }
    }
}

static int walk(const tide_schema *s, tide_ddl *ddl, tide_catalog *cat);

int tide_schema_ddl(const tide_schema *s, tide_ddl **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (!s || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_schema_ddl: no schema or no place for the result");
        return TIDE_MISUSE;
    }
    if (!s->finished) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_schema_ddl: the schema is not finished (call tide_schema_finish)");
        return TIDE_MISUSE;
    }
    tide_ddl *ddl = tutil_calloc(1, sizeof *ddl);
    if (!ddl) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    tutil_arena_init(&ddl->arena);
    if (walk(s, ddl, NULL) != TIDE_OK) {
        tide_ddl_free(ddl);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    *out = ddl;
    return TIDE_OK;
}

/* The one walk: statements into ddl, objects into cat (either may be NULL).
 * TIDE_ERROR means out of memory. */
static int walk(const tide_schema *s, tide_ddl *ddl, tide_catalog *cat)
{
    ddl_ctx c = {.s = s, .d = &tsql_postgres, .ddl = ddl, .cat = cat};
    tutil_arena_init(&c.scratch);
    tutil_buf_init(&c.b);

    take_declared_names(&c);
    create_schemas(&c);
    for (int i = 0; i < s->nenums; i++)
        create_enum(&c, s->enums[i]);
    for (int i = 0; i < s->nsequences; i++)
        create_sequence(&c, s->sequences[i]);
    for (int i = 0; i < s->nfunctions; i++)
        create_function(&c, s->functions[i]);
    for (int i = 0; i < s->nmodels; i++)
        if (s->models[i]->kind == TIDE_MODEL_TABLE)
            create_table(&c, s->models[i]);
    for (int i = 0; i < c.njoins; i++)
        create_join_table(&c, c.joins[i]);
    for (int i = 0; i < s->nmodels; i++)
        for (int k = 0; k < s->models[i]->nrelations; k++)
            model_foreign_key(&c, s->models[i], k);
    for (int i = 0; i < c.njoins; i++) {
        const tide_model *m1, *m2;
        const char *c1, *c2;
        join_columns(c.joins[i], &m1, &c1, &m2, &c2);
        join_foreign_key(&c, c.joins[i], c1, m1);
        join_foreign_key(&c, c.joins[i], c2, m2);
    }
    for (int i = 0; i < s->nmodels; i++) {
        const tide_model *m = s->models[i];
        if (m->kind != TIDE_MODEL_TABLE)
            continue;
        for (int k = 0; k < m->nindexes; k++) {
            const tsch_index *ix = m->indexes[k];
            if (ix->kind == TIDE_INDEX_PLAIN || (ix->kind == TIDE_INDEX_UNIQUE && !unique_constraint(ix)))
                create_index(&c, m, ix);
        }
    }
    /* views may read the tables (and the views before them) */
    for (int i = 0; i < s->nmodels; i++)
        if (s->models[i]->kind != TIDE_MODEL_TABLE)
            create_view(&c, s->models[i]);
    for (int i = 0; i < s->nmodels; i++)
        row_security(&c, s->models[i]);
    for (int i = 0; i < s->nmodels; i++)
        create_triggers(&c, s->models[i]);

    int oom = c.oom || c.b.broken;
    tutil_buf_free(&c.b);
    tutil_arena_free(&c.scratch);
    return oom || (cat && cat->oom) ? TIDE_ERROR : TIDE_OK;
}

int tsql_schema_walk(const tide_schema *s, tide_ddl *ddl, tide_catalog *cat)
{
    return walk(s, ddl, cat);
}

/* A unique index REFRESH ... CONCURRENTLY can use: columns only, no
 * condition. */
static int has_plain_unique_key(const tide_model *m)
{
    if (m->npk)
        return 1;
    for (int i = 0; i < m->nfields; i++)
        if (m->fields[i]->unique)
            return 1;
    for (int i = 0; i < m->nindexes; i++) {
        const tsch_index *ix = m->indexes[i];
        int plain = ix->kind == TIDE_INDEX_UNIQUE && !ix->where;
        for (int k = 0; plain && k < ix->nparts; k++)
            plain = ix->part_fields[k] != NULL;
        if (plain)
            return 1;
    }
    return 0;
}

int tide_schema_refresh_sql(const tide_schema *s, const char *model, int concurrently, tide_ddl **out,
                            tide_error *err)
{
    if (out)
        *out = NULL;
    if (!s || !model || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_schema_refresh_sql: no schema, model or place for the result");
        return TIDE_MISUSE;
    }
    if (!s->finished) {
        tutil_error_set(err, TIDE_E_MISUSE,
                        "tide_schema_refresh_sql: the schema is not finished (call tide_schema_finish)");
        return TIDE_MISUSE;
    }
    const tide_model *m = tide_schema_model(s, model);
    if (!m) {
        const char *names[256];
        int n = 0;
        for (int i = 0; i < s->nmodels && n < 256; i++)
            if (s->models[i]->kind == TIDE_MODEL_MATERIALIZED_VIEW)
                names[n++] = s->models[i]->name;
        const char *near = tide_nearest(model, names, n);
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "unknown materialized view '%s'%s%s%s", model,
                         near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return TIDE_ERROR;
    }
    if (m->kind != TIDE_MODEL_MATERIALIZED_VIEW) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s is a %s, not a materialized view: only those refresh",
                         m->name, m->kind == TIDE_MODEL_VIEW ? "view" : "table");
        return TIDE_ERROR;
    }
    if (concurrently && !has_plain_unique_key(m)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT,
                         "%s: refreshing concurrently needs a unique index on columns (declare a primary key or a "
                         "unique field)", m->name);
        return TIDE_ERROR;
    }
    tide_ddl *ddl = tutil_calloc(1, sizeof *ddl);
    if (!ddl) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    tutil_arena_init(&ddl->arena);
    ddl_ctx c = {.s = s, .d = &tsql_postgres, .ddl = ddl};
    tutil_buf_init(&c.b);
    sql(&c, concurrently ? "REFRESH MATERIALIZED VIEW CONCURRENTLY " : "REFRESH MATERIALIZED VIEW ");
    tsql_table(&c.b, c.d, m);
    emit(&c);
    tutil_buf_free(&c.b);
    if (c.oom) {
        tide_ddl_free(ddl);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    *out = ddl;
    return TIDE_OK;
}

int tide_ddl_count(const tide_ddl *ddl)
{
    return ddl ? ddl->count : 0;
}

const char *tide_ddl_statement(const tide_ddl *ddl, int i)
{
    return ddl && i >= 0 && i < ddl->count ? ddl->stmts[i] : NULL;
}

void tide_ddl_free(tide_ddl *ddl)
{
    if (!ddl)
        return;
    tutil_arena_free(&ddl->arena);
    tutil_free(ddl, sizeof *ddl);
}
