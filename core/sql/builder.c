/* The builder's statements: select (with joins, grouping, ordering, paging
 * and locking), set operations, insert (values, select, on conflict),
 * update, delete, and WITH [RECURSIVE] around any of them. The tree's
 * grammar is in tide/sql.h; expressions are bexpr.c's. */
#include <string.h>
#include "tbuild.h"

/* ---- sources ------------------------------------------------------------------ */

/* The name a source's columns are read through: its alias, the model's table,
 * or the CTE's name. NULL (no failure) for an unnamed source. */
static const char *source_name(bc *c, tide_node src, const tide_model **model, char *buf, size_t size)
{
    char kb[16], mb[128];
    const char *k = tbuild_kind(c, src, kb, sizeof kb);
    *model = NULL;
    const char *a = tbuild_opt(c, src, !strcmp(k, "cte") ? "n" : "a", buf, size);
    if (!strcmp(k, "table")) {
        const char *mn = tbuild_opt(c, src, "m", mb, sizeof mb);
        *model = mn ? tbuild_model(c, mn) : NULL;
        if (!a && *model) {
            size_t n = strlen((*model)->table);
            if (n >= size)
                return NULL;
            memcpy(buf, (*model)->table, n + 1);
            return buf;
        }
    }
    return a;
}

static void source(bc *c, tide_node src)
{
    char kb[16], mb[128], ab[128];
    if (src < 0 || c->failed)
        return;
    const char *k = tbuild_kind(c, src, kb, sizeof kb);
    if (!strcmp(k, "table")) {
        const char *mn = tbuild_opt(c, src, "m", mb, sizeof mb);
        const tide_model *m = mn ? tbuild_model(c, mn) : NULL;
        if (!m)
            return tbuild_fail(c, "builder: a table without its model");
        tsql_table(c->b, c->dia, m);
        const char *a = tbuild_opt(c, src, "a", ab, sizeof ab);
        if (a) {
            tutil_buf_adds(c->b, " AS ");
            tbuild_name(c, a, "the alias");
        }
    } else if (!strcmp(k, "sub")) {
        tide_node q = tbuild_need(c, src, "q", "a subquery");
        const char *a = tbuild_opt(c, src, "a", ab, sizeof ab);
        if (!a)
            return tbuild_fail(c, "a subquery in FROM or a join needs a name: query:as \"name\"");
        if (tsql_child(c->d, src, "lateral") >= 0)
            tutil_buf_adds(c->b, "LATERAL ");
        tutil_buf_addc(c->b, '(');
        tbuild_query(c, q);
        tutil_buf_adds(c->b, ") AS ");
        tbuild_name(c, a, "the subquery name");
    } else if (!strcmp(k, "cte")) {
        const char *n = tbuild_opt(c, src, "n", ab, sizeof ab);
        if (!n)
            return tbuild_fail(c, "builder: a CTE reference without its name");
        tbuild_name(c, n, "the CTE name");
    } else {
        tbuild_fail(c, "builder: a table, an aliased subquery or a CTE expected as a source, not '%s'", k);
    }
}

static void joins(bc *c, tide_node list)
{
    static const char *const kinds[] = {"inner", "left", "right", "full", "cross"};
    static const char *const sql[] = {" INNER JOIN ", " LEFT JOIN ", " RIGHT JOIN ", " FULL JOIN ", " CROSS JOIN "};
    if (list < 0)
        return;
    for (tide_node j = tbuild_node(c, list)->first; j >= 0 && !c->failed; j = tbuild_node(c, j)->next) {
        char jb[16];
        const char *k = tbuild_opt(c, j, "j", jb, sizeof jb);
        int i = 0;
        while (k && i < 5 && strcmp(k, kinds[i]))
            i++;
        if (!k || i == 5)
            return tbuild_fail(c, "builder: unknown join '%s'", k ? k : "(none)");
        tutil_buf_adds(c->b, sql[i]);
        tide_node s = tbuild_need(c, j, "s", "a join");
        if (s < 0)
            return;
        char kb[16];
        if (tsql_child(c->d, j, "lateral") >= 0 && strcmp(tbuild_kind(c, s, kb, sizeof kb), "sub"))
            return tbuild_fail(c, "a lateral join takes a subquery (query:as \"name\")");
        if (tsql_child(c->d, j, "lateral") >= 0)
            tutil_buf_adds(c->b, "LATERAL ");
        source(c, s);
        tide_node on = tsql_child(c->d, j, "on");
        if (i == 4) {
            if (on >= 0)
                return tbuild_fail(c, "a cross join takes no condition");
            continue;
        }
        if (on < 0)
            return tbuild_fail(c, "a %s join needs a condition", kinds[i]);
        tutil_buf_adds(c->b, " ON ");
        tbuild_expr(c, on, 1);
    }
}

/* ---- select lists ------------------------------------------------------------- */

/* Every field of m read through name, each AS its field name, or AS
 * "prefix.field" when nesting. Omitted fields (:omit()) stay out, as in the
 * model client; name them to read them. */
static void model_fields(bc *c, const tide_model *m, const char *name, const char *prefix, int *n)
{
    for (int i = 0; i < m->nfields && !c->failed; i++) {
        const tide_field *f = m->fields[i];
        if (f->omit)
            continue;
        if ((*n)++)
            tutil_buf_adds(c->b, ", ");
        tbuild_name(c, name, "the table name");
        tutil_buf_addc(c->b, '.');
        c->dia->quote_ident(c->b, f->column);
        if (tsql_custom_array(f))
            tutil_buf_adds(c->b, "::text[]");
        tutil_buf_adds(c->b, " AS ");
        if (!prefix) {
            c->dia->quote_ident(c->b, f->name);
            continue;
        }
        char out[160];
        size_t pl = strlen(prefix), fl = strlen(f->name);
        if (pl + 1 + fl >= sizeof out || pl + 1 + fl > (size_t)c->dia->max_ident)
            return tbuild_fail(c, "the output column '%s.%s' is longer than %d bytes", prefix, f->name,
                               c->dia->max_ident);
        memcpy(out, prefix, pl);
        out[pl] = '.';
        memcpy(out + pl + 1, f->name, fl + 1);
        c->dia->quote_ident(c->b, out);
        c->nested = 1;
    }
}

/* A source's every column: its model's fields, or name.* */
static void source_all(bc *c, tide_node src, int nest, int *n)
{
    char nb[128];
    const tide_model *m;
    const char *name = source_name(c, src, &m, nb, sizeof nb);
    if (c->failed)
        return;
    if (!name)
        return tbuild_fail(c, "builder: a source without a name");
    if (m) {
        model_fields(c, m, name, nest ? name : NULL, n);
        return;
    }
    if ((*n)++)
        tutil_buf_adds(c->b, ", ");
    tbuild_name(c, name, "the source name");
    tutil_buf_adds(c->b, ".*");
}

/* { alias = e | { k = "star", m, a } }: in the canonical (sorted) order */
static void columns(bc *c, tide_node cols)
{
    int n = 0;
    if (tbuild_node(c, cols)->type != TSQL_OBJECT || tbuild_node(c, cols)->count == 0)
        return tbuild_fail(c, "select: a table of output names and columns or expressions");
    for (tide_node x = tbuild_node(c, cols)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
        const char *alias = tsql_key(c->d, x);
        char kb[16], mb[128], ab[128];
        if (!strcmp(tbuild_kind(c, x, kb, sizeof kb), "star")) {
            const char *mn = tbuild_opt(c, x, "m", mb, sizeof mb);
            const char *a = tbuild_opt(c, x, "a", ab, sizeof ab);
            const tide_model *m = mn ? tbuild_model(c, mn) : NULL;
            if (!m)
                return tbuild_fail(c, "select: a whole table without its model");
            if (strchr(alias, '.'))
                return tbuild_fail(c, "select: a whole table nests one level ('%s')", alias);
            model_fields(c, m, a ? a : m->table, alias, &n);
            continue;
        }
        if (n++)
            tutil_buf_adds(c->b, ", ");
        tbuild_expr(c, x, 0);
        if (!strcmp(kb, "col")) {
            const tide_model *m = tbuild_model(c, tbuild_opt(c, x, "m", mb, sizeof mb));
            const tide_field *f = m ? tide_model_field(m, tbuild_opt(c, x, "f", ab, sizeof ab)) : NULL;
            if (f && tsql_custom_array(f))
                tutil_buf_adds(c->b, "::text[]");
        }
        tutil_buf_adds(c->b, " AS ");
        tbuild_name(c, alias, "the output name");
        if (strchr(alias, '.'))
            c->nested = 1;
    }
}

/* RETURNING: ret = { alias = e } or ret_all (the model's fields) */
static void returning(bc *c, tide_node q, const tide_model *m)
{
    tide_node ret = tsql_child(c->d, q, "ret");
    if (ret >= 0) {
        tutil_buf_adds(c->b, " RETURNING ");
        columns(c, ret);
    } else if (tsql_child(c->d, q, "ret_all") >= 0) {
        int n = 0;
        tutil_buf_adds(c->b, " RETURNING ");
        model_fields(c, m, m->table, NULL, &n);
    }
}

static void where(bc *c, tide_node q)
{
    tide_node w = tsql_child(c->d, q, "where");
    if (w < 0)
        return;
    tutil_buf_adds(c->b, " WHERE ");
    tbuild_expr(c, w, 1);
}

static void list(bc *c, tide_node l, const char *what)
{
    if (tbuild_node(c, l)->type != TSQL_ARRAY)
        return tbuild_fail(c, "%s: a list expected", what);
    int i = 0;
    for (tide_node x = tbuild_node(c, l)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
        if (i++)
            tutil_buf_adds(c->b, ", ");
        tbuild_expr(c, x, 0);
    }
}

static void order_limit(bc *c, tide_node q, int setop)
{
    tide_node o = tsql_child(c->d, q, "order");
    if (o >= 0) {
        tutil_buf_adds(c->b, " ORDER BY ");
        tbuild_order_list(c, o, setop);
    }
    tide_node l = tsql_child(c->d, q, "limit");
    if (l >= 0) {
        tutil_buf_adds(c->b, " LIMIT ");
        tbuild_expr(c, l, 0);
    }
    tide_node off = tsql_child(c->d, q, "offset");
    if (off >= 0) {
        tutil_buf_adds(c->b, " OFFSET ");
        tbuild_expr(c, off, 0);
    }
}

static void lock(bc *c, tide_node lk)
{
    static const char *const kinds[] = {"update", "no_key_update", "share", "key_share"};
    static const char *const sql[] = {" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE"};
    char sb[32], wb[32];
    const char *s = tbuild_opt(c, lk, "s", sb, sizeof sb);
    int i = 0;
    while (s && i < 4 && strcmp(s, kinds[i]))
        i++;
    if (!s || i == 4)
        return tbuild_fail(c, "builder: unknown lock strength '%s'", s ? s : "(none)");
    tutil_buf_adds(c->b, sql[i]);
    tide_node of = tsql_child(c->d, lk, "of");
    if (of >= 0) {
        tutil_buf_adds(c->b, " OF ");
        int n = 0;
        for (tide_node x = tbuild_node(c, of)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
            char nb[128];
            if (tbuild_node(c, x)->type != TSQL_LEAF || tbuild_leaf(c, x)->kind != TIDE_KIND_TEXT)
                return tbuild_fail(c, "of: table names");
            const tide_value *v = tbuild_leaf(c, x);
            if (v->as.s.len >= sizeof nb)
                return tbuild_fail(c, "of: a name longer than %zu bytes", sizeof nb - 1);
            memcpy(nb, v->as.s.ptr, v->as.s.len);
            nb[v->as.s.len] = '\0';
            if (n++)
                tutil_buf_adds(c->b, ", ");
            tbuild_name(c, nb, "the locked table");
        }
    }
    const char *w = tbuild_opt(c, lk, "wait", wb, sizeof wb);
    if (w && !strcmp(w, "nowait"))
        tutil_buf_adds(c->b, " NOWAIT");
    else if (w && !strcmp(w, "skip_locked"))
        tutil_buf_adds(c->b, " SKIP LOCKED");
    else if (w)
        tbuild_fail(c, "builder: 'nowait' or 'skip_locked', not '%s'", w);
}

static void select_stmt(bc *c, tide_node q)
{
    tutil_buf_adds(c->b, "SELECT ");
    tide_node on = tsql_child(c->d, q, "on");
    if (on >= 0) {
        tutil_buf_adds(c->b, "DISTINCT ON (");
        list(c, on, "select_distinct_on");
        tutil_buf_adds(c->b, ") ");
    } else if (tsql_child(c->d, q, "distinct") >= 0) {
        tutil_buf_adds(c->b, "DISTINCT ");
    }
    tide_node cols = tsql_child(c->d, q, "cols");
    tide_node from = tsql_child(c->d, q, "from");
    tide_node js = tsql_child(c->d, q, "joins");
    if (cols >= 0) {
        columns(c, cols);
    } else if (from < 0) {
        return tbuild_fail(c, "select without columns needs a from");
    } else {
        int n = 0, nest = js >= 0 && tbuild_node(c, js)->count > 0;
        source_all(c, from, nest, &n);
        for (tide_node j = nest ? tbuild_node(c, js)->first : -1; j >= 0 && !c->failed; j = tbuild_node(c, j)->next)
            source_all(c, tsql_child(c->d, j, "s"), 1, &n);
    }
    if (from >= 0) {
        tutil_buf_adds(c->b, " FROM ");
        source(c, from);
    } else if (js >= 0) {
        return tbuild_fail(c, "a join needs a from");
    }
    joins(c, js);
    where(c, q);
    tide_node g = tsql_child(c->d, q, "group");
    if (g >= 0) {
        tutil_buf_adds(c->b, " GROUP BY ");
        list(c, g, "group_by");
    }
    tide_node h = tsql_child(c->d, q, "having");
    if (h >= 0) {
        tutil_buf_adds(c->b, " HAVING ");
        tbuild_expr(c, h, 1);
    }
    order_limit(c, q, 0);
    tide_node lk = tsql_child(c->d, q, "lock");
    if (lk >= 0)
        lock(c, lk);
}

static void setop(bc *c, tide_node q)
{
    static const char *const ops[] = {"union", "union_all", "intersect", "intersect_all", "except", "except_all"};
    static const char *const sql[] = {" UNION ", " UNION ALL ", " INTERSECT ", " INTERSECT ALL ", " EXCEPT ",
                                      " EXCEPT ALL "};
    char ob[24];
    const char *o = tbuild_opt(c, q, "o", ob, sizeof ob);
    int i = 0;
    while (o && i < 6 && strcmp(o, ops[i]))
        i++;
    if (!o || i == 6)
        return tbuild_fail(c, "builder: unknown set operation '%s'", o ? o : "(none)");
    tide_node l = tbuild_need(c, q, "l", o), r = tbuild_need(c, q, "r", o);
    if (l < 0 || r < 0)
        return;
    tutil_buf_addc(c->b, '(');
    tbuild_query(c, l);
    tutil_buf_addc(c->b, ')');
    tutil_buf_adds(c->b, sql[i]);
    tutil_buf_addc(c->b, '(');
    tbuild_query(c, r);
    tutil_buf_addc(c->b, ')');
    order_limit(c, q, 1);
}

static const tide_model *target(bc *c, tide_node q, const char *what)
{
    char mb[128];
    const char *mn = tbuild_opt(c, q, "m", mb, sizeof mb);
    if (!mn) {
        tbuild_fail(c, "%s: which model?", what);
        return NULL;
    }
    const tide_model *m = tbuild_model(c, mn);
    if (m && m->kind != TIDE_MODEL_TABLE) {
        tbuild_fail(c, "%s is a %s: it is read-only", m->name,
                    m->kind == TIDE_MODEL_VIEW ? "view" : "materialized view");
        return NULL;
    }
    return m;
}

/* field names (leaves) -> quoted columns, "(a, b)" */
static void field_list(bc *c, const tide_model *m, tide_node l, const char *what)
{
    if (tbuild_node(c, l)->type != TSQL_ARRAY)
        return tbuild_fail(c, "%s: a list of fields", what);
    tutil_buf_addc(c->b, '(');
    int n = 0;
    for (tide_node x = tbuild_node(c, l)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
        char fb[128];
        if (tbuild_node(c, x)->type != TSQL_LEAF || tbuild_leaf(c, x)->kind != TIDE_KIND_TEXT ||
            tbuild_leaf(c, x)->as.s.len >= sizeof fb)
            return tbuild_fail(c, "%s: field names", what);
        memcpy(fb, tbuild_leaf(c, x)->as.s.ptr, tbuild_leaf(c, x)->as.s.len);
        fb[tbuild_leaf(c, x)->as.s.len] = '\0';
        const tide_field *f = tbuild_field(c, m, fb);
        if (!f)
            return;
        if (n++)
            tutil_buf_adds(c->b, ", ");
        c->dia->quote_ident(c->b, f->column);
    }
    tutil_buf_addc(c->b, ')');
}

/* { field = e }: "column" = e, ... in the canonical (sorted) order */
static void set_list(bc *c, const tide_model *m, tide_node set, const char *what)
{
    if (tbuild_node(c, set)->type != TSQL_OBJECT || tbuild_node(c, set)->count == 0)
        return tbuild_fail(c, "%s: a table of fields and values", what);
    int n = 0;
    for (tide_node x = tbuild_node(c, set)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
        const tide_field *f = tbuild_field(c, m, tsql_key(c->d, x));
        if (!f)
            return;
        if (n++)
            tutil_buf_adds(c->b, ", ");
        c->dia->quote_ident(c->b, f->column);
        tutil_buf_adds(c->b, " = ");
        tbuild_expr(c, x, 0);
    }
}

static void insert_stmt(bc *c, tide_node q)
{
    const tide_model *m = target(c, q, "insert");
    if (!m)
        return;
    tutil_buf_adds(c->b, "INSERT INTO ");
    tsql_table(c->b, c->dia, m);
    tide_node cols = tsql_child(c->d, q, "cols");
    tide_node rows = tsql_child(c->d, q, "rows");
    tide_node sel = tsql_child(c->d, q, "sel");
    if ((rows >= 0) == (sel >= 0))
        return tbuild_fail(c, "insert: values or select, one of them");
    if (cols >= 0 && tbuild_node(c, cols)->type == TSQL_ARRAY && tbuild_node(c, cols)->count > 0) {
        tutil_buf_addc(c->b, ' ');
        field_list(c, m, cols, "insert");
    } else if (rows >= 0) {
        tutil_buf_adds(c->b, " DEFAULT VALUES");
        rows = -1;
    }
    if (sel >= 0) {
        tutil_buf_addc(c->b, ' ');
        tbuild_query(c, sel);
    }
    if (rows >= 0) {
        int ncols = tbuild_node(c, cols)->count;
        if (tbuild_node(c, rows)->type != TSQL_ARRAY)
            return tbuild_fail(c, "insert: values takes a row or a list of rows");
        tutil_buf_adds(c->b, " VALUES ");
        int r = 0;
        for (tide_node row = tbuild_node(c, rows)->first; row >= 0 && !c->failed; row = tbuild_node(c, row)->next) {
            if (tbuild_node(c, row)->type != TSQL_ARRAY || tbuild_node(c, row)->count != ncols)
                return tbuild_fail(c, "insert: row %d has %d values for %d columns", r + 1,
                                   tbuild_node(c, row)->type == TSQL_ARRAY ? tbuild_node(c, row)->count : 0, ncols);
            tutil_buf_adds(c->b, r++ ? ", (" : "(");
            int i = 0;
            for (tide_node v = tbuild_node(c, row)->first; v >= 0 && !c->failed; v = tbuild_node(c, v)->next) {
                char kb[16];
                if (i++)
                    tutil_buf_adds(c->b, ", ");
                if (!strcmp(tbuild_kind(c, v, kb, sizeof kb), "default"))
                    tutil_buf_adds(c->b, "DEFAULT");
                else
                    tbuild_expr(c, v, 0);
            }
            tutil_buf_addc(c->b, ')');
        }
    }
    tide_node cf = tsql_child(c->d, q, "conflict");
    if (cf >= 0) {
        char ab[16];
        const char *act = tbuild_opt(c, cf, "act", ab, sizeof ab);
        tide_node t = tsql_child(c->d, cf, "target");
        tutil_buf_adds(c->b, " ON CONFLICT");
        if (t >= 0) {
            tutil_buf_addc(c->b, ' ');
            field_list(c, m, t, "on_conflict target");
            tide_node tw = tsql_child(c->d, cf, "target_where");
            if (tw >= 0) {
                tutil_buf_adds(c->b, " WHERE ");
                tbuild_expr(c, tw, 1);
            }
        }
        if (act && !strcmp(act, "nothing")) {
            tutil_buf_adds(c->b, " DO NOTHING");
        } else if (act && !strcmp(act, "update")) {
            if (t < 0)
                return tbuild_fail(c, "on_conflict_do_update needs a target (the unique fields)");
            tide_node set = tbuild_need(c, cf, "set", "on_conflict_do_update");
            if (set < 0)
                return;
            tutil_buf_adds(c->b, " DO UPDATE SET ");
            set_list(c, m, set, "on_conflict_do_update");
            tide_node w = tsql_child(c->d, cf, "where");
            if (w >= 0) {
                tutil_buf_adds(c->b, " WHERE ");
                tbuild_expr(c, w, 1);
            }
        } else {
            return tbuild_fail(c, "builder: on conflict do 'nothing' or 'update'");
        }
    }
    returning(c, q, m);
}

static void update_stmt(bc *c, tide_node q)
{
    const tide_model *m = target(c, q, "update");
    if (!m)
        return;
    tutil_buf_adds(c->b, "UPDATE ");
    tsql_table(c->b, c->dia, m);
    tide_node set = tbuild_need(c, q, "set", "update");
    if (set < 0)
        return;
    tutil_buf_adds(c->b, " SET ");
    set_list(c, m, set, "update");
    tide_node from = tsql_child(c->d, q, "from");
    if (from >= 0) {
        tutil_buf_adds(c->b, " FROM ");
        source(c, from);
        joins(c, tsql_child(c->d, q, "joins"));
    }
    where(c, q);
    returning(c, q, m);
}

static void delete_stmt(bc *c, tide_node q)
{
    const tide_model *m = target(c, q, "delete");
    if (!m)
        return;
    tutil_buf_adds(c->b, "DELETE FROM ");
    tsql_table(c->b, c->dia, m);
    where(c, q);
    returning(c, q, m);
}

static void with(bc *c, tide_node q)
{
    tide_node w = tsql_child(c->d, q, "with");
    if (w < 0)
        return;
    if (tbuild_node(c, w)->type != TSQL_ARRAY)
        return tbuild_fail(c, "with: a list of named queries");
    tutil_buf_adds(c->b, tsql_child(c->d, q, "recursive") >= 0 ? "WITH RECURSIVE " : "WITH ");
    int i = 0;
    for (tide_node x = tbuild_node(c, w)->first; x >= 0 && !c->failed; x = tbuild_node(c, x)->next) {
        char nb[128];
        const char *n = tbuild_opt(c, x, "n", nb, sizeof nb);
        tide_node sub = tbuild_need(c, x, "q", "a CTE");
        if (!n || sub < 0)
            return tbuild_fail(c, "with: a CTE needs a name and a query");
        if (i++)
            tutil_buf_adds(c->b, ", ");
        tbuild_name(c, n, "the CTE name");
        tutil_buf_adds(c->b, " AS (");
        tbuild_query(c, sub);
        tutil_buf_addc(c->b, ')');
    }
    tutil_buf_addc(c->b, ' ');
}

void tbuild_query(bc *c, tide_node q)
{
    if (c->failed)
        return;
    char kb[16];
    const char *k = tbuild_kind(c, q, kb, sizeof kb);
    with(c, q);
    if (!strcmp(k, "select"))
        select_stmt(c, q);
    else if (!strcmp(k, "setop"))
        setop(c, q);
    else if (!strcmp(k, "insert"))
        insert_stmt(c, q);
    else if (!strcmp(k, "update"))
        update_stmt(c, q);
    else if (!strcmp(k, "delete"))
        delete_stmt(c, q);
    else
        tbuild_fail(c, "builder: a query expected (select, insert, update, delete or a set operation), not '%s'",
                    k);
}

/* PostgreSQL's protocol counts parameters in 16 bits. */
#define MAX_PARAMS 65535

int tsql_builder_compile(const tide_schema *s, const tide_desc *d, tide_node root, const tide_value *values,
                         tutil_arena *arena, tide_compiled **out, tide_error *err)
{
    if (d->norder > MAX_PARAMS) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT,
                         "the query has %d values: PostgreSQL takes at most %d parameters in one statement "
                         "(insert fewer rows per statement, or bind a list as one value with in_list)",
                         d->norder, MAX_PARAMS);
        return TIDE_ERROR;
    }
    tutil_buf b;
    tutil_buf_init(&b);
    bc c = {s, d, values, &tsql_postgres, &b, err, 0, 0, NULL, d->norder};
    size_t phsize = (size_t)(d->norder ? d->norder : 1);
    c.ph = tutil_calloc(phsize, 1);
    if (!c.ph) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    tbuild_query(&c, root);
    int any_ph = 0;
    for (int i = 0; i < d->norder; i++)
        any_ph |= c.ph[i];
    tide_compiled *comp = NULL;
    char *sql = NULL;
    unsigned char *ph = NULL;
    if (!c.failed && !b.broken) {
        comp = tutil_arena_alloc(arena, sizeof *comp);
        sql = comp ? tutil_arena_strdup(arena, tutil_buf_str(&b)) : NULL;
        ph = sql && any_ph ? tutil_arena_alloc(arena, phsize) : NULL;
        if (ph)
            memcpy(ph, c.ph, phsize);
    }
    tutil_buf_free(&b);
    tutil_free(c.ph, phsize);
    if (c.failed)
        return TIDE_ERROR;
    if (!sql || (any_ph && !ph)) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    comp->sql = sql;
    comp->nparams = d->norder;
    comp->result = TIDE_RESULT_ROWS;
    comp->nested = c.nested;
    comp->placeholder = ph;
    *out = comp;
    return TIDE_OK;
}

int tide_compiled_nested(const tide_compiled *c) { return c ? c->nested : 0; }

int tide_compiled_is_placeholder(const tide_compiled *c, int i)
{
    return c && c->placeholder && i >= 0 && i < c->nparams ? c->placeholder[i] : 0;
}
