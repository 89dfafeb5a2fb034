/* The builder's compiler, golden: a description tree in, the exact SQL text
 * and the parameter list out. No server. Error messages are asserted too.
 *
 * Trees are written in a compact spec:
 *   { k = 'select', cols = { id = { k = 'col', m = 'User', f = 'id' } },
 *     where = { k = 'cmp', o = 'eq', l = ..., r = { k = 'val', v = $0 } } }
 * 'text' is an option leaf (a slot of its own, appended after the caller's
 * values), $n is the caller's value slot n, [ ] an array, T a true leaf.
 * Each golden compiles twice and expects the second to be a cache hit. */
#include <ctype.h>
#include "t.h"
#include "tide.h"

__attribute__((unused)) static const char *(*t_unused_url)(void) = t_url;

static tide_error *err;
static tide_desc *D;

#define TXT(lit) {.kind = TIDE_KIND_TEXT, .as.s = {(lit), sizeof(lit) - 1}}
#define JSN(lit) {.kind = TIDE_KIND_JSON, .as.s = {(lit), sizeof(lit) - 1}}
#define INT(n) {.kind = TIDE_KIND_INT, .as.i = (n)}
#define NUL {.kind = TIDE_KIND_NULL}

/* ---- the spec parser --------------------------------------------------------- */

static tide_value vals[512];
static char texts[512][128];
static int nvals;

typedef struct spec {
    const char *p;
    const char *bad;
} spec;

static void skip(spec *s)
{
    while (*s->p == ' ' || *s->p == ',' || *s->p == '\n')
        s->p++;
}

static tide_node parse_value(spec *s);

static tide_node parse_object(spec *s)
{
    tide_node obj = tide_desc_object(D);
    s->p++;
    for (;;) {
        skip(s);
        if (*s->p == '}') {
            s->p++;
            return obj;
        }
        char key[128];
        size_t n = 0;
        if (*s->p == '"') {
            s->p++;
            while (*s->p && *s->p != '"' && n < sizeof key - 1) {
                if (*s->p == '\\' && s->p[1])
                    s->p++;
                key[n++] = *s->p++;
            }
            s->p++;
        } else {
            while ((isalnum((unsigned char)*s->p) || *s->p == '_') && n < sizeof key - 1)
                key[n++] = *s->p++;
        }
        key[n] = '\0';
        skip(s);
        if (*s->p != '=' || n == 0) {
            s->bad = s->p;
            return -1;
        }
        s->p++;
        tide_node v = parse_value(s);
        if (s->bad)
            return -1;
        tide_desc_set(D, obj, key, n, v);
    }
}

static tide_node parse_value(spec *s)
{
    skip(s);
    if (*s->p == '{')
        return parse_object(s);
    if (*s->p == '[') {
        tide_node arr = tide_desc_array(D);
        s->p++;
        for (;;) {
            skip(s);
            if (*s->p == ']') {
                s->p++;
                return arr;
            }
            tide_node v = parse_value(s);
            if (s->bad)
                return -1;
            tide_desc_push(D, arr, v);
        }
    }
    if (*s->p == '$' && isdigit((unsigned char)s->p[1])) {
        int slot = (int)strtol(s->p + 1, (char **)&s->p, 10);
        return tide_desc_leaf(D, slot);
    }
    if (*s->p == 'T') {
        s->p++;
        vals[nvals].kind = TIDE_KIND_BOOL;
        vals[nvals].as.b = 1;
        return tide_desc_leaf(D, nvals++);
    }
    if (*s->p == '\'') {
        s->p++;
        size_t n = 0;
        char *t = texts[nvals];
        while (*s->p && *s->p != '\'' && n < 127)
            t[n++] = *s->p++;
        t[n] = '\0';
        s->p++;
        vals[nvals].kind = TIDE_KIND_TEXT;
        vals[nvals].as.s.ptr = t;
        vals[nvals].as.s.len = n;
        return tide_desc_leaf(D, nvals++);
    }
    s->bad = s->p;
    return -1;
}

/* The tree of text, values v (slots 0..nv-1) first. */
static tide_node build(const char *text, const tide_value *v, int nv)
{
    tide_desc_reset(D);
    for (int i = 0; i < nv; i++)
        vals[i] = v[i];
    nvals = nv;
    spec s = {text, NULL};
    tide_node root = parse_value(&s);
    skip(&s);
    if (!s.bad && *s.p)
        s.bad = s.p;
    if (s.bad) {
        printf("  malformed spec at \"%s\"\n", s.bad);
        return -1;
    }
    return root;
}

static void render_params(char *out, size_t size, const tide_compiled *c)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < tide_compiled_nparams(c); i++) {
        int slot = tide_compiled_slot(D, i);
        const tide_value *v = &vals[slot];
        char one[128];
        switch (v->kind) {
        case TIDE_KIND_INT: snprintf(one, sizeof one, "%lld", (long long)v->as.i); break;
        case TIDE_KIND_NULL: snprintf(one, sizeof one, "NULL"); break;
        case TIDE_KIND_BOOL: snprintf(one, sizeof one, "%s", v->as.b ? "true" : "false"); break;
        case TIDE_KIND_JSON: snprintf(one, sizeof one, "%.*s", (int)v->as.s.len, v->as.s.ptr); break;
        default: snprintf(one, sizeof one, "'%.*s'", (int)v->as.s.len, v->as.s.ptr);
        }
        if (tide_compiled_is_placeholder(c, i))
            snprintf(one, sizeof one, ":%.*s", (int)v->as.s.len, v->as.s.ptr);
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s", i ? ", " : "", one);
    }
}

/* ---- the schema -------------------------------------------------------------- */

static void field(tide_model *m, const char *name, tide_type type, int pk, int omit)
{
    tide_field_def d;
    tide_field_def_init(&d);
    d.name = name;
    d.type = type;
    d.primary = pk;
    d.omit = omit;
    if (tide_model_add_field(m, &d, err) != TIDE_OK)
        printf("  field %s: %s\n", name, tide_error_message(err));
}

static tide_schema *make_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *u = tide_schema_add_model(s, "User", "users", NULL, err);
    field(u, "id", TIDE_T_BIGSERIAL, 1, 0);
    field(u, "email", TIDE_T_TEXT, 0, 0);
    field(u, "secret", TIDE_T_TEXT, 0, 1);
    tide_model *p = tide_schema_add_model(s, "Post", "posts", "blog", err);
    field(p, "id", TIDE_T_BIGSERIAL, 1, 0);
    field(p, "title", TIDE_T_TEXT, 0, 0);
    field(p, "author_id", TIDE_T_BIGINT, 0, 0);
    if (tide_schema_finish(s, err) != TIDE_OK) {
        printf("  schema: %s\n", tide_error_message(err));
        tide_schema_free(s);
        return NULL;
    }
    return s;
}

/* ---- goldens ----------------------------------------------------------------- */

#define FAIL_AT(line, ...)                                                   \
    do {                                                                     \
        printf("  %s:%d: [%s] ", __FILE__, line, t_case_name);               \
        printf(__VA_ARGS__);                                                 \
        printf("\n");                                                        \
        t_case_failed = 1;                                                   \
    } while (0)

static void golden(int line, const char *text, const tide_value *v, int nv, const char *sql, const char *params)
{
    tide_schema *s = make_schema();
    if (!s) {
        FAIL_AT(line, "no schema");
        return;
    }
    const tide_compiled *c = NULL;
    tide_node root = build(text, v, nv);
    if (tide_builder_query(s, D, root, vals, nvals, &c, err) != TIDE_OK) {
        FAIL_AT(line, "failed: %s", tide_error_message(err));
        tide_schema_free(s);
        return;
    }
    char got[4096];
    render_params(got, sizeof got, c);
    if (strcmp(tide_compiled_sql(c), sql))
        FAIL_AT(line, "\n    sql:      %s\n    expected: %s", tide_compiled_sql(c), sql);
    if (strcmp(got, params))
        FAIL_AT(line, "\n    params:   [%s]\n    expected: [%s]", got, params);
    const tide_compiled *again = NULL;
    root = build(text, v, nv);
    int rc = tide_builder_query(s, D, root, vals, nvals, &again, err);
    long compiled = 0, hits = 0;
    tide_schema_cache_stats(s, &compiled, &hits);
    if (rc != TIDE_OK || again != c || compiled != 1 || hits != 1)
        FAIL_AT(line, "second compile: rc %d, same %d, compiled %ld, hits %ld", rc, again == c, compiled, hits);
    tide_schema_free(s);
}

static void refused(int line, const char *text, const tide_value *v, int nv, const char *msg)
{
    tide_schema *s = make_schema();
    if (!s) {
        FAIL_AT(line, "no schema");
        return;
    }
    const tide_compiled *c = NULL;
    tide_node root = build(text, v, nv);
    int rc = tide_builder_query(s, D, root, vals, nvals, &c, err);
    if (rc == TIDE_OK)
        FAIL_AT(line, "compiled, expected \"%s\": %s", msg, tide_compiled_sql(c));
    else if (!strstr(tide_error_message(err), msg))
        FAIL_AT(line, "\n    message:  %s\n    expected: %s", tide_error_message(err), msg);
    tide_schema_free(s);
}

#define GOLDEN(text, sql, params, ...)                                                     \
    do {                                                                                   \
        static const tide_value v_[] = {NUL, ##__VA_ARGS__};                               \
        golden(__LINE__, text, v_ + 1, (int)(sizeof v_ / sizeof v_[0]) - 1, sql, params);  \
    } while (0)
#define REFUSED(text, msg, ...)                                                            \
    do {                                                                                   \
        static const tide_value v_[] = {NUL, ##__VA_ARGS__};                               \
        refused(__LINE__, text, v_ + 1, (int)(sizeof v_ / sizeof v_[0]) - 1, msg);         \
    } while (0)

#define UID "{ k = 'col', m = 'User', f = 'id' }"
#define UEMAIL "{ k = 'col', m = 'User', f = 'email' }"
#define PAUTHOR "{ k = 'col', m = 'Post', f = 'author_id' }"
#define VAL(n) "{ k = 'val', v = $" #n " }"
#define FROM_U "from = { k = 'table', m = 'User' }"

T_CASE(select_columns_where_order_limit)
{
    GOLDEN("{ k = 'select', cols = { id = " UID ", e = " UEMAIL " }, " FROM_U ", "
           "where = { k = 'and', x = [ { k = 'cmp', o = 'eq', l = " UID ", r = " VAL(0) " }, "
           "{ k = 'cmp', o = 'ilike', l = " UEMAIL ", r = " VAL(1) " } ] }, "
           "order = [ { k = 'desc', e = " UID ", nulls = 'last' }, " UEMAIL " ], limit = " VAL(2) ", offset = " VAL(3) " }",
           "SELECT \"users\".\"email\" AS \"e\", \"users\".\"id\" AS \"id\" FROM \"users\" WHERE \"users\".\"id\" = $3 "
           "AND \"users\".\"email\" ILIKE $4 ORDER BY \"users\".\"id\" DESC NULLS LAST, \"users\".\"email\" LIMIT $1 "
           "OFFSET $2",
           "20, 5, 7, '%a%'", INT(7), TXT("%a%"), INT(20), INT(5));
}

T_CASE(select_all_fields_omit_and_nesting)
{
    GOLDEN("{ k = 'select', " FROM_U " }",
           "SELECT \"users\".\"id\" AS \"id\", \"users\".\"email\" AS \"email\" FROM \"users\"", "");
    GOLDEN("{ k = 'select', from = { k = 'table', m = 'Post' }, joins = [ { j = 'left', s = { k = 'table', m = 'User', "
           "a = 'u' }, on = { k = 'cmp', o = 'eq', l = " PAUTHOR ", r = { k = 'col', m = 'User', f = 'id', a = 'u' } } } ] }",
           "SELECT \"posts\".\"id\" AS \"posts.id\", \"posts\".\"title\" AS \"posts.title\", \"posts\".\"author_id\" AS "
           "\"posts.author_id\", \"u\".\"id\" AS \"u.id\", \"u\".\"email\" AS \"u.email\" FROM \"blog\".\"posts\" LEFT JOIN "
           "\"users\" AS \"u\" ON \"posts\".\"author_id\" = \"u\".\"id\"",
           "");
    GOLDEN("{ k = 'select', cols = { user = { k = 'star', m = 'User' }, \"x.y\" = " UID " }, " FROM_U " }",
           "SELECT \"users\".\"id\" AS \"user.id\", \"users\".\"email\" AS \"user.email\", \"users\".\"id\" AS \"x.y\" "
           "FROM \"users\"",
           "");
}

T_CASE(joins_of_every_kind)
{
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", joins = [ "
           "{ j = 'inner', s = { k = 'table', m = 'Post' }, on = { k = 'cmp', o = 'eq', l = " PAUTHOR ", r = " UID " } }, "
           "{ j = 'right', s = { k = 'cte', n = 'c' }, on = { k = 'raw', t = 'true' } }, "
           "{ j = 'full', s = { k = 'cte', n = 'd' }, on = { k = 'raw', t = 'true' } }, "
           "{ j = 'cross', s = { k = 'cte', n = 'e' } }, "
           "{ j = 'left', lateral = T, s = { k = 'sub', a = 'l', q = { k = 'select', cols = { n = { k = 'agg', f = 'count' } }, "
           "from = { k = 'table', m = 'Post' } } }, on = { k = 'raw', t = 'true' } } ] }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" INNER JOIN \"blog\".\"posts\" ON \"posts\".\"author_id\" = "
           "\"users\".\"id\" RIGHT JOIN \"c\" ON true FULL JOIN \"d\" ON true CROSS JOIN \"e\" LEFT JOIN LATERAL "
           "(SELECT count(*) AS \"n\" FROM \"blog\".\"posts\") AS \"l\" ON true",
           "");
}

T_CASE(operators_and_logic)
{
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", where = { k = 'or', x = [ "
           "{ k = 'not', e = { k = 'is_null', e = " UEMAIL " } }, { k = 'is_not_null', e = " UID " }, "
           "{ k = 'between', e = " UID ", lo = " VAL(0) ", up = " VAL(1) " }, "
           "{ k = 'not_between', e = " UID ", lo = " VAL(0) ", up = " VAL(1) " }, "
           "{ k = 'in', e = " UID ", r = " VAL(2) " }, { k = 'not_in', e = " UID ", r = { k = 'ph', v = 'ids' } }, "
           "{ k = 'and', x = [ { k = 'cmp', o = 'contains', l = " UEMAIL ", r = " UEMAIL " }, "
           "{ k = 'cmp', o = 'not_like', l = " UEMAIL ", r = " VAL(3) " } ] }, "
           "{ k = 'exists', q = { k = 'select', cols = { one = { k = 'raw', t = '1' } } } } ] } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" WHERE NOT (\"users\".\"email\" IS NULL) OR \"users\".\"id\" IS "
           "NOT NULL OR \"users\".\"id\" BETWEEN $1 AND $2 OR \"users\".\"id\" NOT BETWEEN $3 AND $4 OR \"users\".\"id\" = "
           "ANY($5) OR \"users\".\"id\" <> ALL($6) OR (\"users\".\"email\" @> \"users\".\"email\" AND \"users\".\"email\" NOT "
           "LIKE $7) OR EXISTS (SELECT 1 AS \"one\")",
           "1, 9, 1, 9, [1,2], :ids, 'x%'", INT(1), INT(9), JSN("[1,2]"), TXT("x%"));
}

T_CASE(comparisons_not_exists)
{
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", where = { k = 'and', x = [ "
           "{ k = 'cmp', o = 'lt', l = " UID ", r = " VAL(0) " }, { k = 'cmp', o = 'lte', l = " UID ", r = " VAL(1) " }, "
           "{ k = 'cmp', o = 'gte', l = " UID ", r = " VAL(2) " }, { k = 'cmp', o = 'like', l = " UEMAIL ", r = " VAL(3) " }, "
           "{ k = 'cmp', o = 'not_ilike', l = " UEMAIL ", r = " VAL(4) " }, "
           "{ k = 'cmp', o = 'contained', l = " UEMAIL ", r = " VAL(5) " }, "
           "{ k = 'cmp', o = 'overlaps', l = " UEMAIL ", r = " VAL(6) " }, "
           "{ k = 'not_exists', q = { k = 'select', cols = { one = { k = 'raw', t = '1' } }, from = { k = 'table', m = 'Post' }, "
           "where = { k = 'cmp', o = 'eq', l = " PAUTHOR ", r = " UID " } } } ] } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" WHERE \"users\".\"id\" < $1 AND \"users\".\"id\" <= $2 AND "
           "\"users\".\"id\" >= $3 AND \"users\".\"email\" LIKE $4 AND \"users\".\"email\" NOT ILIKE $5 AND "
           "\"users\".\"email\" <@ $6 AND \"users\".\"email\" && $7 AND NOT EXISTS (SELECT 1 AS \"one\" FROM "
           "\"blog\".\"posts\" WHERE \"posts\".\"author_id\" = \"users\".\"id\")",
           "10, 20, 3, 'a%', '%B', [\"a\",\"b\"], [\"c\"]", INT(10), INT(20), INT(3), TXT("a%"), TXT("%B"),
           JSN("[\"a\",\"b\"]"), JSN("[\"c\"]"));
}

T_CASE(aggregates_group_having_distinct)
{
    GOLDEN("{ k = 'select', on = [ " PAUTHOR " ], cols = { n = { k = 'agg', f = 'count_distinct', e = " PAUTHOR " }, "
           "s = { k = 'agg', f = 'sum', e = " PAUTHOR " } }, from = { k = 'table', m = 'Post' }, group = [ " PAUTHOR " ], "
           "having = { k = 'cmp', o = 'gt', l = { k = 'agg', f = 'count' }, r = " VAL(0) " } }",
           "SELECT DISTINCT ON (\"posts\".\"author_id\") count(DISTINCT \"posts\".\"author_id\") AS \"n\", "
           "sum(\"posts\".\"author_id\") AS \"s\" FROM \"blog\".\"posts\" GROUP BY \"posts\".\"author_id\" HAVING count(*) > $1",
           "2", INT(2));
}

T_CASE(aggregates_avg_min_max)
{
    GOLDEN("{ k = 'select', cols = { a = { k = 'agg', f = 'avg', e = " PAUTHOR " }, hi = { k = 'agg', f = 'max', "
           "e = { k = 'col', m = 'Post', f = 'title' } }, lo = { k = 'agg', f = 'min', e = " PAUTHOR " } }, "
           "from = { k = 'table', m = 'Post' } }",
           "SELECT avg(\"posts\".\"author_id\") AS \"a\", max(\"posts\".\"title\") AS \"hi\", min(\"posts\".\"author_id\") "
           "AS \"lo\" FROM \"blog\".\"posts\"",
           "");
}

T_CASE(asc_order_with_nulls_and_plain_distinct)
{
    GOLDEN("{ k = 'select', distinct = T, cols = { e = " UEMAIL " }, " FROM_U ", order = [ { k = 'asc', e = " UEMAIL ", "
           "nulls = 'first' }, { k = 'asc', e = " UID ", nulls = 'last' }, { k = 'asc', e = " UID " } ] }",
           "SELECT DISTINCT \"users\".\"email\" AS \"e\" FROM \"users\" ORDER BY \"users\".\"email\" ASC NULLS FIRST, "
           "\"users\".\"id\" ASC NULLS LAST, \"users\".\"id\" ASC",
           "");
}

T_CASE(locks)
{
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", lock = { s = 'no_key_update', of = [ 'users' ], "
           "wait = 'skip_locked' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" FOR NO KEY UPDATE OF \"users\" SKIP LOCKED", "");
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", lock = { s = 'key_share', wait = 'nowait' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" FOR KEY SHARE NOWAIT", "");
}

T_CASE(with_recursive_and_set_operations)
{
    GOLDEN("{ k = 'select', recursive = T, with = [ { n = 't', q = { k = 'setop', o = 'union_all', "
           "l = { k = 'select', cols = { id = " UID " }, " FROM_U " }, "
           "r = { k = 'select', cols = { id = " UID " }, " FROM_U ", joins = [ { j = 'inner', s = { k = 'cte', n = 't' }, "
           "on = { k = 'cmp', o = 'eq', l = " UID ", r = { k = 'ref', a = 't', n = 'id' } } } ] } } } ], "
           "from = { k = 'cte', n = 't' } }",
           "WITH RECURSIVE \"t\" AS ((SELECT \"users\".\"id\" AS \"id\" FROM \"users\") UNION ALL (SELECT \"users\".\"id\" "
           "AS \"id\" FROM \"users\" INNER JOIN \"t\" ON \"users\".\"id\" = \"t\".\"id\")) SELECT \"t\".* FROM \"t\"",
           "");
    GOLDEN("{ k = 'setop', o = 'except', l = { k = 'select', cols = { id = " UID " }, " FROM_U " }, "
           "r = { k = 'select', cols = { id = " UID " }, " FROM_U " }, order = [ { k = 'desc', e = " UID " } ], limit = " VAL(0) " }",
           "(SELECT \"users\".\"id\" AS \"id\" FROM \"users\") EXCEPT (SELECT \"users\".\"id\" AS \"id\" FROM \"users\") "
           "ORDER BY \"id\" DESC LIMIT $1",
           "3", INT(3));
}

T_CASE(for_update_and_for_share)
{
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", lock = { s = 'update' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" FOR UPDATE", "");
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", where = { k = 'cmp', o = 'eq', l = " UID ", r = " VAL(0) " }, "
           "lock = { s = 'update', wait = 'nowait' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" WHERE \"users\".\"id\" = $1 FOR UPDATE NOWAIT", "4", INT(4));
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", order = [ " UID " ], limit = " VAL(0) ", "
           "lock = { s = 'update', of = [ 'users' ], wait = 'skip_locked' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" ORDER BY \"users\".\"id\" LIMIT $1 FOR UPDATE OF \"users\" "
           "SKIP LOCKED",
           "1", INT(1));
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", lock = { s = 'share' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" FOR SHARE", "");
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", lock = { s = 'share', wait = 'nowait' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" FOR SHARE NOWAIT", "");
    GOLDEN("{ k = 'select', cols = { a = " UID " }, " FROM_U ", joins = [ { j = 'inner', s = { k = 'table', m = 'Post', "
           "a = 'p' }, on = { k = 'cmp', o = 'eq', l = { k = 'col', m = 'Post', f = 'author_id', a = 'p' }, r = " UID " } } ], "
           "lock = { s = 'share', of = [ 'users', 'p' ], wait = 'skip_locked' } }",
           "SELECT \"users\".\"id\" AS \"a\" FROM \"users\" INNER JOIN \"blog\".\"posts\" AS \"p\" ON \"p\".\"author_id\" = "
           "\"users\".\"id\" FOR SHARE OF \"users\", \"p\" SKIP LOCKED",
           "");
}

T_CASE(union_intersect_except_all)
{
#define SEL_ID_WHERE(n)                                                                                          \
    "{ k = 'select', cols = { id = " UID " }, " FROM_U ", where = { k = 'cmp', o = 'gt', l = " UID ", r = " VAL(n) " } }"
#define SEL_ID "SELECT \"users\".\"id\" AS \"id\" FROM \"users\""
    GOLDEN("{ k = 'setop', o = 'union', l = " SEL_ID_WHERE(0) ", r = " SEL_ID_WHERE(1) " }",
           "(" SEL_ID " WHERE \"users\".\"id\" > $1) UNION (" SEL_ID " WHERE \"users\".\"id\" > $2)", "5, 6", INT(5),
           INT(6));
    GOLDEN("{ k = 'setop', o = 'intersect', l = " SEL_ID_WHERE(0) ", r = " SEL_ID_WHERE(1) " }",
           "(" SEL_ID " WHERE \"users\".\"id\" > $1) INTERSECT (" SEL_ID " WHERE \"users\".\"id\" > $2)", "5, 6", INT(5),
           INT(6));
    GOLDEN("{ k = 'setop', o = 'intersect_all', l = " SEL_ID_WHERE(0) ", r = " SEL_ID_WHERE(1) ", order = [ { k = 'asc', "
           "e = " UID " } ] }",
           "(" SEL_ID " WHERE \"users\".\"id\" > $1) INTERSECT ALL (" SEL_ID " WHERE \"users\".\"id\" > $2) ORDER BY "
           "\"id\" ASC",
           "5, 6", INT(5), INT(6));
    GOLDEN("{ k = 'setop', o = 'except_all', l = " SEL_ID_WHERE(0) ", r = " SEL_ID_WHERE(1) " }",
           "(" SEL_ID " WHERE \"users\".\"id\" > $1) EXCEPT ALL (" SEL_ID " WHERE \"users\".\"id\" > $2)", "5, 6", INT(5),
           INT(6));
    /* a set operation of a set operation: each side parenthesised */
    GOLDEN("{ k = 'setop', o = 'union', l = { k = 'setop', o = 'except_all', l = " SEL_ID_WHERE(0) ", r = "
           SEL_ID_WHERE(1) " }, r = " SEL_ID_WHERE(2) " }",
           "((" SEL_ID " WHERE \"users\".\"id\" > $1) EXCEPT ALL (" SEL_ID " WHERE \"users\".\"id\" > $2)) UNION ("
           SEL_ID " WHERE \"users\".\"id\" > $3)",
           "5, 6, 7", INT(5), INT(6), INT(7));
#undef SEL_ID_WHERE
#undef SEL_ID
}

T_CASE(scalar_subquery_in_select_list)
{
    GOLDEN("{ k = 'select', cols = { id = " UID ", n = { k = 'sub', q = { k = 'select', cols = { n = { k = 'agg', "
           "f = 'count' } }, from = { k = 'table', m = 'Post' }, where = { k = 'and', x = [ { k = 'cmp', o = 'eq', "
           "l = " PAUTHOR ", r = " UID " }, { k = 'cmp', o = 'ne', l = { k = 'col', m = 'Post', f = 'title' }, "
           "r = " VAL(0) " } ] } } } }, " FROM_U ", where = { k = 'cmp', o = 'gt', l = " UID ", r = " VAL(1) " } }",
           "SELECT \"users\".\"id\" AS \"id\", (SELECT count(*) AS \"n\" FROM \"blog\".\"posts\" WHERE "
           "\"posts\".\"author_id\" = \"users\".\"id\" AND \"posts\".\"title\" <> $1) AS \"n\" FROM \"users\" WHERE "
           "\"users\".\"id\" > $2",
           "'draft', 0", TXT("draft"), INT(0));
}

T_CASE(inner_join_lateral)
{
    /* the join's keys sort j, lateral, on, s: the condition's value is $1,
     * the subquery's LIMIT $2, though the text reads them the other way */
    GOLDEN("{ k = 'select', cols = { a = " UID ", p = { k = 'ref', a = 'top', n = 'id' } }, " FROM_U ", joins = [ "
           "{ j = 'inner', lateral = T, s = { k = 'sub', a = 'top', q = { k = 'select', cols = { id = { k = 'col', "
           "m = 'Post', f = 'id' } }, from = { k = 'table', m = 'Post' }, where = { k = 'cmp', o = 'eq', l = " PAUTHOR ", "
           "r = " UID " }, order = [ { k = 'desc', e = { k = 'col', m = 'Post', f = 'id' } } ], limit = " VAL(0) " } }, "
           "on = { k = 'cmp', o = 'gt', l = { k = 'ref', a = 'top', n = 'id' }, r = " VAL(1) " } } ] }",
           "SELECT \"users\".\"id\" AS \"a\", \"top\".\"id\" AS \"p\" FROM \"users\" INNER JOIN LATERAL (SELECT "
           "\"posts\".\"id\" AS \"id\" FROM \"blog\".\"posts\" WHERE \"posts\".\"author_id\" = \"users\".\"id\" ORDER BY "
           "\"posts\".\"id\" DESC LIMIT $2) AS \"top\" ON \"top\".\"id\" > $1",
           "3, 2", INT(2), INT(3));
    REFUSED("{ k = 'select', cols = { a = " UID " }, " FROM_U ", joins = [ { j = 'inner', lateral = T, "
            "s = { k = 'table', m = 'Post' }, on = { k = 'raw', t = 'true' } } ] }",
            "a lateral join takes a subquery");
}

T_CASE(insert_values_select_conflict_returning)
{
    GOLDEN("{ k = 'insert', m = 'User', cols = [ 'email', 'id' ], rows = [ [ " VAL(0) ", { k = 'default' } ], "
           "[ " VAL(1) ", " VAL(2) " ] ], conflict = { act = 'update', target = [ 'email' ], "
           "set = { email = { k = 'excluded', m = 'User', f = 'email' } }, where = { k = 'cmp', o = 'ne', l = " UEMAIL ", "
           "r = " VAL(3) " } }, ret_all = T }",
           "INSERT INTO \"users\" (\"email\", \"id\") VALUES ($2, DEFAULT), ($3, $4) ON CONFLICT (\"email\") DO UPDATE SET "
           "\"email\" = EXCLUDED.\"email\" WHERE \"users\".\"email\" <> $1 RETURNING \"users\".\"id\" AS \"id\", "
           "\"users\".\"email\" AS \"email\"",
           "'z', 'a', 'b', 7", TXT("a"), TXT("b"), INT(7), TXT("z"));
    GOLDEN("{ k = 'insert', m = 'Post', cols = [ 'title' ], sel = { k = 'select', cols = { title = " UEMAIL " }, " FROM_U " }, "
           "conflict = { act = 'nothing' }, ret = { id = { k = 'col', m = 'Post', f = 'id' } } }",
           "INSERT INTO \"blog\".\"posts\" (\"title\") SELECT \"users\".\"email\" AS \"title\" FROM \"users\" ON CONFLICT DO "
           "NOTHING RETURNING \"posts\".\"id\" AS \"id\"",
           "");
}

T_CASE(update_and_delete)
{
    GOLDEN("{ k = 'update', m = 'Post', set = { title = " VAL(0) ", author_id = { k = 'sql', p = [ { e = " PAUTHOR " }, "
           "{ t = ' + 1' } ] } }, " FROM_U ", where = { k = 'cmp', o = 'eq', l = " PAUTHOR ", r = " UID " }, "
           "ret = { t = { k = 'col', m = 'Post', f = 'title' } } }",
           "UPDATE \"blog\".\"posts\" SET \"author_id\" = (\"posts\".\"author_id\" + 1), \"title\" = $1 FROM \"users\" WHERE "
           "\"posts\".\"author_id\" = \"users\".\"id\" RETURNING \"posts\".\"title\" AS \"t\"",
           "'x'", TXT("x"));
    GOLDEN("{ k = 'delete', m = 'User', where = { k = 'cmp', o = 'eq', l = " UID ", r = " VAL(0) " } }",
           "DELETE FROM \"users\" WHERE \"users\".\"id\" = $1", "1", INT(1));
}

T_CASE(errors_name_what_was_wrong)
{
    REFUSED("{ k = 'select', cols = { a = { k = 'col', m = 'User', f = 'emial' } }, " FROM_U " }",
            "unknown field 'emial' on User; did you mean 'email'?");
    REFUSED("{ k = 'select', cols = { a = { k = 'col', m = 'Usr', f = 'id' } }, " FROM_U " }",
            "unknown model 'Usr'; did you mean 'User'?");
    REFUSED("{ k = 'select', cols = { a = { k = 'cmp', o = 'equals', l = " UID ", r = " UID " } } }",
            "unknown operator 'equals'");
    REFUSED("{ k = 'select', cols = { a = " UID " }, " FROM_U ", joins = [ { j = 'inner', s = { k = 'cte', n = 'c' } } ] }",
            "a inner join needs a condition");
    REFUSED("{ k = 'select', cols = { a = " UID " }, " FROM_U ", where = { k = 'in', e = " UID ", r = " VAL(0) " } }",
            "in_list takes a list of values", INT(1));
    REFUSED("{ k = 'insert', m = 'User', cols = [ 'email' ], rows = [ [ " VAL(0) ", " VAL(0) " ] ] }",
            "row 1 has 2 values for 1 columns", TXT("a"));
    REFUSED("{ k = 'select', cols = { a = " UID " }, from = { k = 'sub', q = { k = 'select', " FROM_U " } } }",
            "a subquery in FROM or a join needs a name");
    REFUSED("{ k = 'drop' }", "a query expected");
}

T_CASE(hostile_names_are_quoted_or_refused)
{
    GOLDEN("{ k = 'select', cols = { \"a\\\"b\" = " UID " }, from = { k = 'table', m = 'User', a = 'x\"y' } }",
           "SELECT \"users\".\"id\" AS \"a\"\"b\" FROM \"users\" AS \"x\"\"y\"", "");
    REFUSED("{ k = 'select', cols = { a = " UID " }, from = { k = 'table', m = 'User', "
            "a = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' } }",
            "is not a valid name");
    /* a NUL in a name is refused by the canonical walk */
    tide_schema *s = make_schema();
    T_REQUIRE(s);
    tide_desc_reset(D);
    static const tide_value v[] = {TXT("select"), TXT("col"), TXT("User"), TXT("id")};
    tide_node root = tide_desc_object(D);
    tide_desc_set(D, root, "k", 1, tide_desc_leaf(D, 0));
    tide_node cols = tide_desc_object(D);
    tide_node col = tide_desc_object(D);
    tide_desc_set(D, col, "k", 1, tide_desc_leaf(D, 1));
    tide_desc_set(D, col, "m", 1, tide_desc_leaf(D, 2));
    tide_desc_set(D, col, "f", 1, tide_desc_leaf(D, 3));
    tide_desc_set(D, cols, "a\0b", 3, col);
    tide_desc_set(D, root, "cols", 4, cols);
    const tide_compiled *c;
    T_CHECK(tide_builder_query(s, D, root, v, 4, &c, err) != TIDE_OK);
    T_CHECK(strstr(tide_error_message(err), "NUL") != NULL);
    tide_schema_free(s);
}

T_CASE(values_never_reach_the_text_and_shapes_follow_kinds)
{
    /* the same shape with another value: a cache hit, the same text */
    tide_schema *s = make_schema();
    T_REQUIRE(s);
    const char *text = "{ k = 'select', cols = { a = " UID " }, " FROM_U ", where = { k = 'cmp', o = 'eq', l = " UEMAIL
                       ", r = " VAL(0) " } }";
    static const tide_value a[] = {TXT("x")}, b[] = {TXT("'; drop table users; --")};
    const tide_compiled *c1, *c2;
    tide_node root = build(text, a, 1);
    T_REQUIRE(tide_builder_query(s, D, root, vals, nvals, &c1, err) == TIDE_OK);
    root = build(text, b, 1);
    T_REQUIRE(tide_builder_query(s, D, root, vals, nvals, &c2, err) == TIDE_OK);
    T_CHECK(c1 == c2);
    /* a model query of the same tree text is never this cache entry */
    long compiled, hits;
    tide_schema_cache_stats(s, &compiled, &hits);
    T_EQ_INT(compiled, 1);
    T_EQ_INT(hits, 1);
    tide_schema_free(s);
}

T_CASE(too_deep_and_too_many_values)
{
    char text[8192];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "{ k = 'select', cols = { a = " UID " }, " FROM_U ", where = ");
    for (int i = 0; i < 220; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "{ k = 'not', e = ");
    n += (size_t)snprintf(text + n, sizeof text - n, "{ k = 'raw', t = 'true' }");
    for (int i = 0; i < 220; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, " }");
    snprintf(text + n, sizeof text - n, " }");
    REFUSED(text, "nested more than 200 levels deep");
}

T_CASE(out_of_memory_everywhere)
{
    const char *text = "{ k = 'select', cols = { id = " UID ", e = " UEMAIL " }, " FROM_U ", "
                       "where = { k = 'and', x = [ { k = 'cmp', o = 'eq', l = " UID ", r = " VAL(0) " }, "
                       "{ k = 'in', e = " UID ", r = { k = 'ph', v = 'ids' } } ] }, order = [ " UID " ] }";
    static const tide_value v[] = {INT(1)};
    int ok = 0;
    for (long fail_at = 1; fail_at < 400 && !ok; fail_at++) {
        tide_schema *s = make_schema();
        T_REQUIRE(s);
        tide_node root = build(text, v, 1);
        alloc_count = 0;
        alloc_fail_at = fail_at;
        tide_set_allocator(failing_alloc, NULL);
        const tide_compiled *c = NULL;
        int rc = tide_builder_query(s, D, root, vals, nvals, &c, err);
        tide_set_allocator(NULL, NULL);
        alloc_fail_at = 0;
        if (rc == TIDE_OK) {
            ok = alloc_count < fail_at;
            T_CHECK(c && strstr(tide_compiled_sql(c), "= ANY($2)"));
        } else {
            T_CHECK(tide_error_code(err) == TIDE_E_OUT_OF_MEMORY);
        }
        tide_schema_free(s);
    }
    T_CHECK(ok);
}

/* A binding's own keys: what was remembered under a key comes back with
 * its map (a copy), another key finds nothing, and shape keys are apart. */
T_CASE(binding_keys_find_what_was_remembered)
{
    const char *text = "{ k = 'select', cols = { id = " UID " }, " FROM_U ", "
                       "where = { k = 'cmp', o = 'eq', l = " UID ", r = " VAL(0) " }, limit = " VAL(1) " }";
    static const tide_value v[] = {INT(1), INT(2)};
    tide_schema *s = make_schema();
    T_REQUIRE(s);
    const tide_compiled *c = NULL;
    T_REQUIRE(tide_builder_query(s, D, build(text, v, 2), vals, nvals, &c, err) == TIDE_OK);
    T_CHECK(tide_compiled_nparams(c) == 2);
    const int *map = NULL;
    T_CHECK(tide_compiled_find(s, "k\0one", 6, &map) == NULL);
    int m[2] = {1, 0};
    T_CHECK(tide_compiled_remember(s, "k\0one", 6, c, m, err) == TIDE_OK);
    m[0] = 7; /* the cache keeps its own copy */
    T_CHECK(tide_compiled_find(s, "k\0one", 6, &map) == c);
    T_CHECK(map && map[0] == 1 && map[1] == 0);
    T_CHECK(tide_compiled_find(s, "k\0onE", 6, &map) == NULL);
    T_CHECK(tide_compiled_find(s, "k", 1, &map) == NULL);
    /* remembering the same key again keeps the first entry */
    T_CHECK(tide_compiled_remember(s, "k\0one", 6, c, m, err) == TIDE_OK);
    T_CHECK(tide_compiled_find(s, "k\0one", 6, &map) == c && map[0] == 1);
    /* the shape key of the statement is not a binding key, nor the reverse */
    const tide_compiled *again = NULL;
    T_CHECK(tide_builder_query(s, D, build(text, v, 2), vals, nvals, &again, err) == TIDE_OK && again == c);
    long compiled = 0, hits = 0;
    tide_schema_cache_stats(s, &compiled, &hits);
    T_CHECK(compiled == 1 && hits == 3);
    T_CHECK(tide_compiled_remember(s, "k", 1, c, NULL, err) == TIDE_MISUSE);
    tide_schema_free(s);
}

int main(void)
{
    err = tide_error_new();
    D = tide_desc_new(err);
    T_RUN(select_columns_where_order_limit);
    T_RUN(select_all_fields_omit_and_nesting);
    T_RUN(joins_of_every_kind);
    T_RUN(operators_and_logic);
    T_RUN(comparisons_not_exists);
    T_RUN(aggregates_group_having_distinct);
    T_RUN(aggregates_avg_min_max);
    T_RUN(asc_order_with_nulls_and_plain_distinct);
    T_RUN(locks);
    T_RUN(with_recursive_and_set_operations);
    T_RUN(for_update_and_for_share);
    T_RUN(union_intersect_except_all);
    T_RUN(scalar_subquery_in_select_list);
    T_RUN(inner_join_lateral);
    T_RUN(insert_values_select_conflict_returning);
    T_RUN(update_and_delete);
    T_RUN(errors_name_what_was_wrong);
    T_RUN(hostile_names_are_quoted_or_refused);
    T_RUN(values_never_reach_the_text_and_shapes_follow_kinds);
    T_RUN(too_deep_and_too_many_values);
    T_RUN(out_of_memory_everywhere);
    T_RUN(binding_keys_find_what_was_remembered);
    tide_desc_free(D);
    tide_error_free(err);
    return t_done();
}
