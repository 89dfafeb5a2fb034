/* The catalog as JSON: the snapshot a migration keeps, and what the
 * introspection query returns (the same format, so a live database and a
 * snapshot read the same way). The reader builds a small tree in an arena
 * from the JSON walker's events, then reads the catalog out of it; unknown
 * keys are ignored and missing ones take their defaults, so a snapshot
 * written by a later tide with more fields still reads. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "tcat.h"
#include "tide/value.h"

/* ---- writing ------------------------------------------------------------------ */

static void jstr(tutil_buf *b, const char *s)
{
    if (!s) {
        tutil_buf_adds(b, "null");
        return;
    }
    tutil_buf_addc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            tutil_buf_addc(b, '\\');
            tutil_buf_addc(b, (char)*p);
        } else if (*p == '\n') {
            tutil_buf_adds(b, "\\n");
        } else if (*p == '\t') {
            tutil_buf_adds(b, "\\t");
        } else if (*p < 0x20) {
            tutil_buf_addf(b, "\\u%04x", *p);
        } else {
            tutil_buf_addc(b, (char)*p);
        }
    }
    tutil_buf_addc(b, '"');
}

static void key(tutil_buf *b, const char *k, int first)
{
    if (!first)
        tutil_buf_addc(b, ',');
    jstr(b, k);
    tutil_buf_addc(b, ':');
}

static void kstr(tutil_buf *b, const char *k, const char *v)
{
    key(b, k, 0);
    jstr(b, v);
}

static void kbool(tutil_buf *b, const char *k, int v)
{
    key(b, k, 0);
    tutil_buf_adds(b, v ? "true" : "false");
}

static void kint(tutil_buf *b, const char *k, int64_t v)
{
    key(b, k, 0);
    tutil_buf_addf(b, "%" PRId64, v);
}

static void kstrs(tutil_buf *b, const char *k, char *const *list, int n)
{
    key(b, k, 0);
    tutil_buf_addc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            tutil_buf_addc(b, ',');
        jstr(b, list[i]);
    }
    tutil_buf_addc(b, ']');
}

static void kchar(tutil_buf *b, const char *k, char c)
{
    char s[2] = {c, 0};
    kstr(b, k, s);
}

static void write_table(tutil_buf *b, const tcat_table *t)
{
    tutil_buf_adds(b, "\n  {");
    key(b, "schema", 1);
    jstr(b, t->schema);
    kstr(b, "name", t->name);
    kchar(b, "kind", t->kind);
    if (t->kind != 't') {
        kstr(b, "view_sql", t->view_sql);
        kbool(b, "with_data", t->with_data);
    }
    kbool(b, "rls", t->rls);
    kbool(b, "force_rls", t->force_rls);
    key(b, "columns", 0);
    tutil_buf_addc(b, '[');
    for (int i = 0; i < t->ncols; i++) {
        const tcat_column *c = t->cols[i];
        tutil_buf_adds(b, i ? ",\n    {" : "\n    {");
        key(b, "name", 1);
        jstr(b, c->name);
        kstr(b, "type", c->type);
        kbool(b, "not_null", c->not_null);
        kstr(b, "default", c->default_expr);
        kstr(b, "generated", c->generated);
        kstr(b, "identity", c->identity == 'a' ? "a" : c->identity == 'd' ? "d" : "");
        kbool(b, "serial", c->serial);
        tutil_buf_addc(b, '}');
    }
    tutil_buf_adds(b, "],\n   \"constraints\":[");
    for (int i = 0; i < t->ncons; i++) {
        const tcat_constraint *k = t->cons[i];
        tutil_buf_adds(b, i ? ",\n    {" : "\n    {");
        key(b, "kind", 1);
        char kind[2] = {k->kind, 0};
        jstr(b, kind);
        kstr(b, "name", k->name);
        kstrs(b, "columns", k->cols, k->ncols);
        if (k->kind == 'c')
            kstr(b, "expr", k->expr);
        if (k->kind == 'u')
            kbool(b, "nulls_not_distinct", k->nulls_not_distinct);
        if (k->kind == 'f') {
            kstr(b, "ref_schema", k->ref_schema);
            kstr(b, "ref_table", k->ref_table);
            kstrs(b, "ref_columns", k->ref_cols, k->ncols);
            kchar(b, "on_delete", k->on_delete);
            kchar(b, "on_update", k->on_update);
        }
        tutil_buf_addc(b, '}');
    }
    tutil_buf_adds(b, "],\n   \"indexes\":[");
    for (int i = 0; i < t->nidx; i++) {
        const tcat_index *x = t->idx[i];
        tutil_buf_adds(b, i ? ",\n    {" : "\n    {");
        key(b, "name", 1);
        jstr(b, x->name);
        kbool(b, "unique", x->unique);
        kstr(b, "method", x->method);
        kstr(b, "where", x->where);
        kbool(b, "nulls_not_distinct", x->nulls_not_distinct);
        key(b, "parts", 0);
        tutil_buf_addc(b, '[');
        for (int k = 0; k < x->nparts; k++) {
            const tcat_part *p = &x->parts[k];
            tutil_buf_adds(b, k ? ",{" : "{");
            key(b, "column", 1);
            jstr(b, p->column);
            kstr(b, "expr", p->expr);
            kbool(b, "desc", p->desc);
            kint(b, "nulls", p->nulls);
            tutil_buf_addc(b, '}');
        }
        tutil_buf_adds(b, "]}");
    }
    tutil_buf_adds(b, "],\n   \"policies\":[");
    for (int i = 0; i < t->npols; i++) {
        const tcat_policy *p = t->pols[i];
        tutil_buf_adds(b, i ? ",\n    {" : "\n    {");
        key(b, "name", 1);
        jstr(b, p->name);
        kstr(b, "command", p->command);
        kbool(b, "permissive", p->permissive);
        kstrs(b, "roles", p->roles, p->nroles);
        kstr(b, "using", p->using_expr);
        kstr(b, "check", p->check);
        tutil_buf_addc(b, '}');
    }
    tutil_buf_adds(b, "],\n   \"triggers\":[");
    for (int i = 0; i < t->ntrigs; i++) {
        const tcat_trigger *g = t->trigs[i];
        tutil_buf_adds(b, i ? ",\n    {" : "\n    {");
        key(b, "name", 1);
        jstr(b, g->name);
        kint(b, "type", g->type);
        kstr(b, "func_schema", g->func_schema);
        kstr(b, "func_name", g->func_name);
        kstr(b, "when", g->when);
        tutil_buf_addc(b, '}');
    }
    tutil_buf_adds(b, "]}");
}

int tide_catalog_to_json(const tide_catalog *c, char **out, size_t *len, tide_error *err)
{
    if (!c || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_catalog_to_json: no catalog or no place for the result");
        return TIDE_MISUSE;
    }
    *out = NULL;
    tutil_buf b;
    tutil_buf_init(&b);
    tutil_buf_adds(&b, "{\"tide_catalog\":1");
    kbool(&b, "from_server", c->from_server);
    kstrs(&b, "schemas", c->schemas, c->nschemas);
    tutil_buf_adds(&b, ",\n\"enums\":[");
    for (int i = 0; i < c->nenums; i++) {
        const tcat_enum *e = c->enums[i];
        tutil_buf_adds(&b, i ? ",\n  {" : "\n  {");
        key(&b, "schema", 1);
        jstr(&b, e->schema);
        kstr(&b, "name", e->name);
        kstrs(&b, "values", e->values, e->nvalues);
        tutil_buf_addc(&b, '}');
    }
    tutil_buf_adds(&b, "],\n\"sequences\":[");
    for (int i = 0; i < c->nseqs; i++) {
        const tcat_sequence *q = c->seqs[i];
        tutil_buf_adds(&b, i ? ",\n  {" : "\n  {");
        key(&b, "schema", 1);
        jstr(&b, q->schema);
        kstr(&b, "name", q->name);
        kint(&b, "start", q->start);
        kint(&b, "min", q->min);
        kint(&b, "max", q->max);
        kint(&b, "increment", q->increment);
        kint(&b, "cache", q->cache);
        kbool(&b, "cycle", q->cycle);
        tutil_buf_addc(&b, '}');
    }
    tutil_buf_adds(&b, "],\n\"functions\":[");
    for (int i = 0; i < c->nfuncs; i++) {
        const tcat_function *f = c->funcs[i];
        tutil_buf_adds(&b, i ? ",\n  {" : "\n  {");
        key(&b, "schema", 1);
        jstr(&b, f->schema);
        kstr(&b, "name", f->name);
        kstr(&b, "args", f->args);
        kstr(&b, "returns", f->returns);
        kstr(&b, "language", f->language);
        kstr(&b, "body", f->body);
        kchar(&b, "volatility", f->volatility);
        tutil_buf_addc(&b, '}');
    }
    tutil_buf_adds(&b, "],\n\"tables\":[");
    for (int i = 0; i < c->ntables; i++) {
        if (i)
            tutil_buf_addc(&b, ',');
        write_table(&b, c->tables[i]);
    }
    tutil_buf_adds(&b, "]}\n");
    if (b.broken) {
        tutil_buf_free(&b);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    /* hand the buffer's memory over, sized exactly so that the caller's
     * free knows its size */
    char *s = tutil_malloc(b.len + 1 + sizeof(size_t));
    if (!s) {
        tutil_buf_free(&b);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    size_t n = b.len;
    memcpy(s, &n, sizeof n);
    memcpy(s + sizeof n, tutil_buf_str(&b), n + 1);
    tutil_buf_free(&b);
    *out = s + sizeof n;
    if (len)
        *len = n;
    return TIDE_OK;
}

void tide_catalog_json_free(char *json)
{
    if (!json)
        return;
    char *base = json - sizeof(size_t);
    size_t n;
    memcpy(&n, base, sizeof n);
    tutil_free(base, n + 1 + sizeof(size_t));
}

/* ---- reading ------------------------------------------------------------------ */

typedef enum { J_NULL, J_BOOL, J_INT, J_STR, J_ARR, J_OBJ, J_OTHER } jtype;

typedef struct jnode {
    jtype type;
    char *str;                   /* J_STR */
    int64_t i;                   /* J_INT, J_BOOL */
    struct jnode **items;        /* J_ARR, J_OBJ (values) */
    char **keys;                 /* J_OBJ */
    int n, cap, kcap;
} jnode;

typedef struct jbuild {
    tutil_arena *arena;
    jnode *root;
    jnode *stack[64];
    int depth;
    char *pending_key;
    int oom;
} jbuild;

static jnode *jnew(jbuild *j, jtype t)
{
    jnode *n = tutil_arena_alloc(j->arena, sizeof *n);
    if (!n) {
        j->oom = 1;
        return NULL;
    }
    n->type = t;
    return n;
}

static int jattach(jbuild *j, jnode *n)
{
    if (!n)
        return 1;
    if (j->depth == 0) {
        j->root = n;
        return 0;
    }
    jnode *p = j->stack[j->depth - 1];
    if (tutil_arena_grow(j->arena, (void **)&p->items, &p->cap, p->n + 1, sizeof(jnode *))) {
        j->oom = 1;
        return 1;
    }
    if (p->type == J_OBJ) {
        if (tutil_arena_grow(j->arena, (void **)&p->keys, &p->kcap, p->n + 1, sizeof(char *))) {
            j->oom = 1;
            return 1;
        }
        p->keys[p->n] = j->pending_key;
    }
    p->items[p->n++] = n;
    return 0;
}

static int jopen(jbuild *j, jtype t)
{
    jnode *n = jnew(j, t);
    if (jattach(j, n) || j->depth >= 64)
        return 1;
    j->stack[j->depth++] = n;
    return 0;
}

static int j_begin_array(void *ud) { return jopen(ud, J_ARR); }
static int j_begin_object(void *ud) { return jopen(ud, J_OBJ); }

static int j_end(void *ud)
{
    ((jbuild *)ud)->depth--;
    return 0;
}

static int j_key(void *ud, const char *s, size_t len)
{
    jbuild *j = ud;
    j->pending_key = tutil_arena_alloc(j->arena, len + 1);
    if (!j->pending_key) {
        j->oom = 1;
        return 1;
    }
    memcpy(j->pending_key, s, len);
    return 0;
}

static int j_scalar(void *ud, tide_kind kind, const char *s, size_t len)
{
    jbuild *j = ud;
    jnode *n = NULL;
    switch (kind) {
    case TIDE_KIND_NULL: n = jnew(j, J_NULL); break;
    case TIDE_KIND_BOOL:
        n = jnew(j, J_BOOL);
        if (n)
            n->i = len == 4;
        break;
    case TIDE_KIND_INT:
        n = jnew(j, J_INT);
        if (n) {
            char tmp[32];
            size_t k = len < 31 ? len : 31;
            memcpy(tmp, s, k);
            tmp[k] = 0;
            sscanf(tmp, "%" SCNd64, &n->i);
        }
        break;
    case TIDE_KIND_TEXT:
        n = jnew(j, J_STR);
        if (n) {
            n->str = tutil_arena_alloc(j->arena, len + 1);
            if (!n->str) {
                j->oom = 1;
                return 1;
            }
            memcpy(n->str, s, len);
        }
        break;
    default: n = jnew(j, J_OTHER); break;
    }
    return jattach(j, n);
}

static const jnode *get(const jnode *o, const char *k)
{
    for (int i = 0; o && o->type == J_OBJ && i < o->n; i++)
        if (!strcmp(o->keys[i], k))
            return o->items[i];
    return NULL;
}

static const char *gstr(const jnode *o, const char *k)
{
    const jnode *n = get(o, k);
    return n && n->type == J_STR ? n->str : NULL;
}

static int64_t gint(const jnode *o, const char *k, int64_t def)
{
    const jnode *n = get(o, k);
    return n && (n->type == J_INT || n->type == J_BOOL) ? n->i : def;
}

static int garr(const jnode *o, const char *k, const jnode ***items)
{
    const jnode *n = get(o, k);
    if (!n || n->type != J_ARR) {
        *items = NULL;
        return 0;
    }
    *items = (const jnode **)n->items;
    return n->n;
}

/* A list of strings (NULLs skipped) into the catalog. */
static char **gstrs(tide_catalog *c, const jnode *o, const char *k, int *n)
{
    const jnode **items;
    int count = garr(o, k, &items);
    const char *tmp[256];
    *n = 0;
    for (int i = 0; i < count && *n < 256; i++)
        if (items[i]->type == J_STR)
            tmp[(*n)++] = items[i]->str;
    return tcat_strs(c, tmp, *n);
}

static char first_char(const char *s, char def)
{
    return s && *s ? s[0] : def;
}

static void read_table(tide_catalog *c, const jnode *o)
{
    const char *kind = gstr(o, "kind");
    tcat_table *t = tcat_add_table(c, gstr(o, "schema"), gstr(o, "name"), first_char(kind, 't'));
    if (!t || !t->name) {
        c->oom = 1;
        return;
    }
    t->view_sql = tcat_str(c, gstr(o, "view_sql"));
    t->with_data = (int)gint(o, "with_data", 1);
    t->rls = (int)gint(o, "rls", 0);
    t->force_rls = (int)gint(o, "force_rls", 0);
    const jnode **items;
    int n = garr(o, "columns", &items);
    for (int i = 0; i < n; i++) {
        tcat_column *col = tcat_add_column(c, t, gstr(items[i], "name"), gstr(items[i], "type"));
        if (!col)
            return;
        col->not_null = (int)gint(items[i], "not_null", 0);
        col->default_expr = tcat_str(c, gstr(items[i], "default"));
        col->generated = tcat_str(c, gstr(items[i], "generated"));
        col->identity = first_char(gstr(items[i], "identity"), 0);
        col->serial = (int)gint(items[i], "serial", 0);
    }
    n = garr(o, "constraints", &items);
    for (int i = 0; i < n; i++) {
        tcat_constraint *k = tcat_add_constraint(c, t, first_char(gstr(items[i], "kind"), '?'), gstr(items[i], "name"));
        if (!k)
            return;
        k->cols = gstrs(c, items[i], "columns", &k->ncols);
        k->expr = tcat_str(c, gstr(items[i], "expr"));
        k->nulls_not_distinct = (int)gint(items[i], "nulls_not_distinct", 0);
        k->ref_schema = tcat_str(c, gstr(items[i], "ref_schema"));
        k->ref_table = tcat_str(c, gstr(items[i], "ref_table"));
        int nref;
        k->ref_cols = gstrs(c, items[i], "ref_columns", &nref);
        k->on_delete = first_char(gstr(items[i], "on_delete"), 'a');
        k->on_update = first_char(gstr(items[i], "on_update"), 'a');
    }
    n = garr(o, "indexes", &items);
    for (int i = 0; i < n; i++) {
        const jnode **parts;
        int np = garr(items[i], "parts", &parts);
        tcat_index *x = tcat_add_index(c, t, gstr(items[i], "name"), np);
        if (!x || !x->parts)
            return;
        x->unique = (int)gint(items[i], "unique", 0);
        x->method = tcat_str(c, gstr(items[i], "method") ? gstr(items[i], "method") : "btree");
        x->where = tcat_str(c, gstr(items[i], "where"));
        x->nulls_not_distinct = (int)gint(items[i], "nulls_not_distinct", 0);
        for (int k = 0; k < np; k++) {
            x->parts[k].column = tcat_str(c, gstr(parts[k], "column"));
            x->parts[k].expr = tcat_str(c, gstr(parts[k], "expr"));
            x->parts[k].desc = (int)gint(parts[k], "desc", 0);
            x->parts[k].nulls = (int)gint(parts[k], "nulls", 0);
        }
    }
    n = garr(o, "policies", &items);
    for (int i = 0; i < n; i++) {
        tcat_policy *p = tcat_add_policy(c, t, gstr(items[i], "name"));
        if (!p)
            return;
        p->command = tcat_str(c, gstr(items[i], "command") ? gstr(items[i], "command") : "ALL");
        p->permissive = (int)gint(items[i], "permissive", 1);
        p->roles = gstrs(c, items[i], "roles", &p->nroles);
        p->using_expr = tcat_str(c, gstr(items[i], "using"));
        p->check = tcat_str(c, gstr(items[i], "check"));
    }
    n = garr(o, "triggers", &items);
    for (int i = 0; i < n; i++) {
        tcat_trigger *g = tcat_add_trigger(c, t, gstr(items[i], "name"));
        if (!g)
            return;
        g->type = (int)gint(items[i], "type", 0);
        g->func_schema = tcat_str(c, gstr(items[i], "func_schema"));
        g->func_name = tcat_str(c, gstr(items[i], "func_name"));
        g->when = tcat_str(c, gstr(items[i], "when"));
        if (!g->name || !g->func_name)
            c->oom = 1; /* as for a function: a snapshot without them is unusable */
    }
}

int tide_catalog_from_json(const char *json, size_t len, tide_catalog **out, tide_error *err)
{
    if (out)
        *out = NULL;
    if (!json || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "tide_catalog_from_json: no JSON or no place for the result");
        return TIDE_MISUSE;
    }
    tutil_arena scratch;
    tutil_arena_init(&scratch);
    jbuild j = {.arena = &scratch};
    static const tide_visitor v = {
        .begin_array = j_begin_array, .end_array = j_end, .begin_object = j_begin_object,
        .key = j_key, .end_object = j_end, .scalar = j_scalar,
    };
    if (tutil_json_walk(json, len, &v, &j, err) != TIDE_OK) {
        if (j.oom)
            tutil_error_oom(err);
        tutil_arena_free(&scratch);
        return TIDE_ERROR;
    }
    if (!j.root || j.root->type != J_OBJ) {
        tutil_arena_free(&scratch);
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "a catalog is a JSON object");
        return TIDE_ERROR;
    }
    tide_catalog *c = tcat_new();
    if (!c) {
        tutil_arena_free(&scratch);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    const jnode *r = j.root;
    c->from_server = (int)gint(r, "from_server", 0);
    const jnode **items;
    int n = garr(r, "schemas", &items);
    for (int i = 0; i < n; i++)
        if (items[i]->type == J_STR)
            tcat_add_schema(c, items[i]->str);
    n = garr(r, "enums", &items);
    for (int i = 0; i < n; i++) {
        tcat_enum *e = tcat_add_enum(c, gstr(items[i], "schema"), gstr(items[i], "name"));
        if (e)
            e->values = gstrs(c, items[i], "values", &e->nvalues);
        if (e && !e->name)
            c->oom = 1;
    }
    n = garr(r, "sequences", &items);
    for (int i = 0; i < n; i++) {
        tcat_sequence *q = tcat_add_sequence(c, gstr(items[i], "schema"), gstr(items[i], "name"));
        if (!q)
            continue;
        q->start = gint(items[i], "start", 1);
        q->min = gint(items[i], "min", 1);
        q->max = gint(items[i], "max", INT64_MAX);
        q->increment = gint(items[i], "increment", 1);
        q->cache = gint(items[i], "cache", 1);
        q->cycle = (int)gint(items[i], "cycle", 0);
    }
    n = garr(r, "functions", &items);
    for (int i = 0; i < n; i++) {
        tcat_function *f = tcat_add_function(c, gstr(items[i], "schema"), gstr(items[i], "name"));
        if (!f)
            continue;
        f->args = tcat_str(c, gstr(items[i], "args") ? gstr(items[i], "args") : "");
        f->returns = tcat_str(c, gstr(items[i], "returns"));
        f->language = tcat_str(c, gstr(items[i], "language"));
        f->body = tcat_str(c, gstr(items[i], "body"));
        f->volatility = first_char(gstr(items[i], "volatility"), 'v');
        if (!f->name || !f->returns || !f->language || !f->body)
            c->oom = 1;
    }
    n = garr(r, "tables", &items);
    for (int i = 0; i < n && !c->oom; i++)
        read_table(c, items[i]);
    tutil_arena_free(&scratch);
    if (c->oom) {
        /* a name missing is a broken file as much as memory running out */
        tide_catalog_free(c);
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "the catalog JSON lacks a name, or memory ran out");
        return TIDE_ERROR;
    }
    *out = c;
    return TIDE_OK;
}

/* ---- introspection -------------------------------------------------------------- */

static const char introspect_sql[] =
    "with ns as (\n"
    "  select n.oid, case when n.nspname = current_schema() then null else n.nspname::text end as name\n"
    "  from pg_namespace n\n"
    "  where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')\n"
    "    and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'\n"
    "    and not exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass\n"
    "                    and d.objid = n.oid and d.deptype = 'e')\n"
    "), rels as (\n"
    "  select c.oid, c.relname::text as relname, c.relkind, ns.name as nsname, c.relrowsecurity, c.relforcerowsecurity,\n"
    "         c.relispopulated\n"
    "  from pg_class c join ns on ns.oid = c.relnamespace\n"
    "  where c.relkind in ('r', 'p', 'v', 'm') and c.relname <> '_tide_migrations'\n"
    "    and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass\n"
    "                    and d.objid = c.oid and d.deptype = 'e')\n"
    ")\n"
    "select json_build_object(\n"
    " 'tide_catalog', 1, 'from_server', true,\n"
    " 'schemas', (select coalesce(json_agg(name order by name), '[]') from ns where name is not null and name <> 'public'),\n"
    " 'enums', (select coalesce(json_agg(json_build_object('schema', ns.name, 'name', t.typname::text,\n"
    "     'values', (select json_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid))\n"
    "     order by ns.name nulls first, t.typname), '[]')\n"
    "   from pg_type t join ns on ns.oid = t.typnamespace where t.typtype = 'e'\n"
    "     and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass\n"
    "                     and d.objid = t.oid and d.deptype = 'e')),\n"
    " 'sequences', (select coalesce(json_agg(json_build_object('schema', ns.name, 'name', c.relname::text,\n"
    "     'start', s.seqstart, 'min', s.seqmin, 'max', s.seqmax, 'increment', s.seqincrement, 'cache', s.seqcache,\n"
    "     'cycle', s.seqcycle) order by ns.name nulls first, c.relname), '[]')\n"
    "   from pg_class c join ns on ns.oid = c.relnamespace join pg_sequence s on s.seqrelid = c.oid\n"
    "   where c.relkind = 'S' and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass\n"
    "                                         and d.objid = c.oid and d.deptype in ('a', 'i', 'e'))),\n"
    " 'functions', (select coalesce(json_agg(json_build_object('schema', ns.name, 'name', p.proname::text,\n"
    "     'args', pg_get_function_arguments(p.oid), 'returns', pg_get_function_result(p.oid),\n"
    "     'language', l.lanname::text, 'body', p.prosrc, 'volatility', p.provolatile::text)\n"
    "     order by ns.name nulls first, p.proname), '[]')\n"
    "   from pg_proc p join ns on ns.oid = p.pronamespace join pg_language l on l.oid = p.prolang\n"
    "   where p.prokind = 'f' and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass\n"
    "                                         and d.objid = p.oid and d.deptype = 'e')),\n"
    " 'tables', (select coalesce(json_agg(json_build_object(\n"
    "   'schema', r.nsname, 'name', r.relname,\n"
    "   'kind', case r.relkind when 'v' then 'v' when 'm' then 'm' else 't' end,\n"
    "   'view_sql', case when r.relkind in ('v', 'm') then pg_get_viewdef(r.oid) end,\n"
    "   'with_data', r.relkind <> 'm' or r.relispopulated,\n"
    "   'rls', r.relrowsecurity, 'force_rls', r.relforcerowsecurity,\n"
    "   'columns', (select coalesce(json_agg(json_build_object(\n"
    "       'name', a.attname::text, 'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,\n"
    "       'default', case when a.attgenerated = '' and not x.serial then pg_get_expr(ad.adbin, ad.adrelid) end,\n"
    "       'generated', case when a.attgenerated = 's' then pg_get_expr(ad.adbin, ad.adrelid) end,\n"
    "       'identity', a.attidentity::text, 'serial', x.serial) order by a.attnum), '[]')\n"
    "     from pg_attribute a left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum\n"
    "     cross join lateral (select a.attidentity = '' and r.relkind in ('r', 'p') and\n"
    "       pg_get_serial_sequence(r.oid::regclass::text, a.attname) is not null as serial) x\n"
    "     where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped),\n"
    "   'constraints', (select coalesce(json_agg(json_build_object(\n"
    "       'kind', k.contype::text, 'name', k.conname::text,\n"
    "       'columns', (select json_agg(a.attname::text order by u.ord) from unnest(k.conkey) with ordinality u(n, ord)\n"
    "                   join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n),\n"
    "       'expr', case when k.contype = 'c' then pg_get_expr(k.conbin, k.conrelid) end,\n"
    "       'nulls_not_distinct', coalesce((select i.indnullsnotdistinct from pg_index i\n"
    "                                       where k.contype = 'u' and i.indexrelid = k.conindid), false),\n"
    "       'ref_schema', (select ns2.name from pg_class fc join ns ns2 on ns2.oid = fc.relnamespace\n"
    "                      where fc.oid = k.confrelid),\n"
    "       'ref_table', (select fc.relname::text from pg_class fc where fc.oid = k.confrelid),\n"
    "       'ref_columns', (select json_agg(a.attname::text order by u.ord) from unnest(k.confkey) with ordinality u(n, ord)\n"
    "                       join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.n),\n"
    "       'on_delete', k.confdeltype::text, 'on_update', k.confupdtype::text) order by k.conname), '[]')\n"
    "     from pg_constraint k where k.conrelid = r.oid and k.contype in ('p', 'u', 'c', 'f')),\n"
    "   'indexes', (select coalesce(json_agg(json_build_object(\n"
    "       'name', ic.relname::text, 'unique', i.indisunique, 'method', am.amname::text,\n"
    "       'where', pg_get_expr(i.indpred, i.indrelid), 'nulls_not_distinct', i.indnullsnotdistinct,\n"
    "       'parts', (select json_agg(json_build_object(\n"
    "           'column', (select a.attname::text from pg_attribute a\n"
    "                      where a.attrelid = i.indrelid and a.attnum = i.indkey[p.n] and i.indkey[p.n] <> 0),\n"
    "           'expr', case when i.indkey[p.n] = 0 then pg_get_indexdef(i.indexrelid, p.n + 1, true) end,\n"
    "           'desc', am.amname = 'btree' and (i.indoption[p.n] & 1) = 1,\n"
    "           'nulls', case when am.amname <> 'btree' then 0\n"
    "                         when (i.indoption[p.n] & 1) = 1 then case when (i.indoption[p.n] & 2) = 2 then 0 else 2 end\n"
    "                         else case when (i.indoption[p.n] & 2) = 2 then 1 else 0 end end) order by p.n)\n"
    "         from generate_series(0, i.indnkeyatts - 1) p(n))) order by ic.relname), '[]')\n"
    "     from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam\n"
    "     where i.indrelid = r.oid and not exists (select 1 from pg_constraint k where k.conrelid = i.indrelid\n"
    "                                              and k.conindid = i.indexrelid and k.contype in ('p', 'u', 'x'))),\n"
    "   'policies', (select coalesce(json_agg(json_build_object('name', p.polname::text,\n"
    "       'command', case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'\n"
    "                                when 'd' then 'DELETE' else 'ALL' end,\n"
    "       'permissive', p.polpermissive,\n"
    "       'roles', (select json_agg(case when x = 0 then 'public' else (select rolname::text from pg_roles where oid = x) end)\n"
    "                 from unnest(p.polroles) x),\n"
    "       'using', pg_get_expr(p.polqual, p.polrelid), 'check', pg_get_expr(p.polwithcheck, p.polrelid))\n"
    "       order by p.polname), '[]')\n"
    "     from pg_policy p where p.polrelid = r.oid),\n"
    "   'triggers', (select coalesce(json_agg(json_build_object('name', g.tgname::text, 'type', g.tgtype,\n"
    "       'func_schema', fns.name, 'func_name', fp.proname::text,\n"
    "       'when', substring(pg_get_triggerdef(g.oid) from ' WHEN \\((.*)\\) EXECUTE ')) order by g.tgname), '[]')\n"
    "     from pg_trigger g join pg_proc fp on fp.oid = g.tgfoid left join ns fns on fns.oid = fp.pronamespace\n"
    "     where g.tgrelid = r.oid and not g.tgisinternal)\n"
    " ) order by r.nsname nulls first, r.relkind in ('v', 'm'), r.relname), '[]') from rels r)\n"
    ")::text";

const char *tide_introspect_sql(void)
{
    return introspect_sql;
}
