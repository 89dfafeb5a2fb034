/* Building and reading a schema. Checking the whole is in finish.c. */
#include <ctype.h>
#include <string.h>
#include "tschema.h"

static const char *const type_names[TIDE_T_COUNT_] = {
    [TIDE_T_SMALLINT] = "smallint",     [TIDE_T_INTEGER] = "integer",       [TIDE_T_BIGINT] = "bigint",
    [TIDE_T_SMALLSERIAL] = "smallserial", [TIDE_T_SERIAL] = "serial",       [TIDE_T_BIGSERIAL] = "bigserial",
    [TIDE_T_REAL] = "real",             [TIDE_T_DOUBLE] = "double",         [TIDE_T_NUMERIC] = "numeric",
    [TIDE_T_TEXT] = "text",             [TIDE_T_VARCHAR] = "varchar",       [TIDE_T_CHAR] = "char",
    [TIDE_T_BOOLEAN] = "boolean",       [TIDE_T_BYTEA] = "bytea",           [TIDE_T_UUID] = "uuid",
    [TIDE_T_DATE] = "date",             [TIDE_T_TIME] = "time",             [TIDE_T_TIMETZ] = "timetz",
    [TIDE_T_TIMESTAMP] = "timestamp",   [TIDE_T_TIMESTAMPTZ] = "timestamptz", [TIDE_T_INTERVAL] = "interval",
    [TIDE_T_JSON] = "json",             [TIDE_T_JSONB] = "jsonb",           [TIDE_T_INET] = "inet",
    [TIDE_T_CIDR] = "cidr",             [TIDE_T_TSVECTOR] = "tsvector",     [TIDE_T_ENUM] = "enum",
    [TIDE_T_CUSTOM] = "custom",
};

const char *tide_type_name(tide_type t)
{
    return t > 0 && t < TIDE_T_COUNT_ ? type_names[t] : "unknown";
}

tide_type tide_type_from_name(const char *name)
{
    for (int t = 1; name && t < TIDE_T_COUNT_; t++)
        if (!strcmp(type_names[t], name))
            return (tide_type)t;
    return 0;
}

tide_action tide_action_from_name(const char *name)
{
    static const struct { const char *name; tide_action a; } names[] = {
        {"no_action", TIDE_ACTION_NO_ACTION}, {"restrict", TIDE_ACTION_RESTRICT},
        {"cascade", TIDE_ACTION_CASCADE},     {"set_null", TIDE_ACTION_SET_NULL},
        {"set_default", TIDE_ACTION_SET_DEFAULT},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, name))
            return names[i].a;
    return (tide_action)-1;
}

void tide_field_def_init(tide_field_def *d)
{
    memset(d, 0, sizeof *d);
    d->precision = d->scale = -1;
}

void tide_relation_def_init(tide_relation_def *d)
{
    memset(d, 0, sizeof *d);
}

void tide_index_def_init(tide_index_def *d)
{
    memset(d, 0, sizeof *d);
}

int tsch_valid_ident(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= 63 && tutil_valid_text(name, n);
}

/* ---- building -------------------------------------------------------------- */

tide_schema *tide_schema_new(tide_error *err)
{
    tide_schema *s = tutil_calloc(1, sizeof *s);
    if (!s) {
        tutil_error_oom(err);
        return NULL;
    }
    tutil_arena_init(&s->arena);
    pthread_mutex_init(&s->cache_mu, NULL);
    return s;
}

void tide_schema_free(tide_schema *s)
{
    if (!s)
        return;
    if (s->cache && s->cache_free)
        s->cache_free(s->cache);
    pthread_mutex_destroy(&s->cache_mu);
    tutil_arena_free(&s->arena);
    tutil_free(s, sizeof *s);
}

static int building(const tide_schema *s, tide_error *err)
{
    if (!s) {
        tutil_error_set(err, TIDE_E_MISUSE, "no schema");
        return 0;
    }
    if (s->finished) {
        tutil_error_set(err, TIDE_E_MISUSE, "the schema is finished: it cannot change");
        return 0;
    }
    return 1;
}

static int bad_ident(tide_error *err, const char *what, const char *name)
{
    if (!name)
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: a name is required", what);
    else
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT,
                         "%s '%.80s': a name must be 1 to 63 bytes of valid UTF-8", what, name);
    return TIDE_ERROR;
}

static char *dup(tide_schema *s, const char *str, int *oom)
{
    if (!str)
        return NULL;
    char *c = tutil_arena_strdup(&s->arena, str);
    if (!c)
        *oom = 1;
    return c;
}

int tide_schema_add_enum(tide_schema *s, const char *name, const char *pg_schema, const char *const *values,
                         int nvalues, tide_error *err)
{
    if (!building(s, err))
        return TIDE_MISUSE;
    if (!tsch_valid_ident(name))
        return bad_ident(err, "enum", name);
    if (tsch_enum_find(s, name)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "enum '%s' is declared twice", name);
        return TIDE_ERROR;
    }
    if (nvalues < 1) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "enum '%s' has no values", name);
        return TIDE_ERROR;
    }
    for (int i = 0; i < nvalues; i++) {
        if (!values[i] || !tsch_valid_ident(values[i]))
            return bad_ident(err, "enum value", values[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(values[i], values[j])) {
                tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "enum '%s' lists '%s' twice", name, values[i]);
                return TIDE_ERROR;
            }
    }
    int oom = 0;
    tsch_enum *e = tutil_arena_alloc(&s->arena, sizeof *e);
    char **vals = tutil_arena_alloc(&s->arena, (size_t)nvalues * sizeof(char *));
    if (!e || !vals || tutil_arena_grow(&s->arena, (void **)&s->enums, &s->enums_cap, s->nenums + 1, sizeof e))
        goto oom;
    e->name = dup(s, name, &oom);
    e->pg_schema = dup(s, pg_schema, &oom);
    for (int i = 0; i < nvalues; i++)
        vals[i] = dup(s, values[i], &oom);
    if (oom)
        goto oom;
    e->values = vals;
    e->nvalues = nvalues;
    s->enums[s->nenums++] = e;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

/* "BlogPost" -> "blog_post", into buf (at least 128 bytes). */
size_t tsch_snake(const char *name, char *buf)
{
    size_t j = 0;
    for (size_t i = 0; name[i] && j < 120; i++) {
        unsigned char c = (unsigned char)name[i];
        if (isupper(c)) {
            if (i > 0 && j > 0 && buf[j - 1] != '_' &&
                (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1]) ||
                 (name[i + 1] && islower((unsigned char)name[i + 1]))))
                buf[j++] = '_';
            buf[j++] = (char)tolower(c);
        } else {
            buf[j++] = (char)c;
        }
    }
    buf[j] = '\0';
    return j;
}

/* "BlogPost" -> "blog_posts"; "Category" -> "categories"; "Address" ->
 * "addresses". Simple English rules: name the table when they fall short. */
static char *default_table(tide_schema *s, const char *name)
{
    char buf[160];
    size_t j = tsch_snake(name, buf);
    const char *suffix = "s";
    if (j > 1 && buf[j - 1] == 'y' && !strchr("aeiou", buf[j - 2])) {
        buf[--j] = '\0';
        suffix = "ies";
    } else if ((j && (buf[j - 1] == 's' || buf[j - 1] == 'x' || buf[j - 1] == 'z')) ||
               (j > 1 && (buf[j - 1] == 'h') && (buf[j - 2] == 'c' || buf[j - 2] == 's'))) {
        suffix = "es";
    }
    strcat(buf, suffix);
    return tutil_arena_strdup(&s->arena, buf);
}

tide_model *tide_schema_add_model(tide_schema *s, const char *name, const char *table, const char *pg_schema,
                                  tide_error *err)
{
    if (!building(s, err))
        return NULL;
    if (!tsch_valid_ident(name)) {
        bad_ident(err, "model", name);
        return NULL;
    }
    if (table && !tsch_valid_ident(table)) {
        bad_ident(err, "table", table);
        return NULL;
    }
    if (pg_schema && !tsch_valid_ident(pg_schema)) {
        bad_ident(err, "schema", pg_schema);
        return NULL;
    }
    for (int i = 0; i < s->nmodels; i++)
        if (!strcmp(s->models[i]->name, name)) {
            tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "model '%s' is declared twice", name);
            return NULL;
        }
    int oom = 0;
    tide_model *m = tutil_arena_alloc(&s->arena, sizeof *m);
    if (!m || tutil_arena_grow(&s->arena, (void **)&s->models, &s->models_cap, s->nmodels + 1, sizeof m))
        goto oom;
    m->schema = s;
    m->name = dup(s, name, &oom);
    m->table = table ? dup(s, table, &oom) : default_table(s, name);
    m->pg_schema = dup(s, pg_schema, &oom);
    if (oom || !m->table)
        goto oom;
    m->index = s->nmodels;
    s->models[s->nmodels++] = m;
    return m;
oom:
    tutil_error_oom(err);
    return NULL;
}

static int name_taken(const tide_model *m, const char *name)
{
    for (int i = 0; i < m->nfields; i++)
        if (!strcmp(m->fields[i]->name, name))
            return 1;
    for (int i = 0; i < m->nrelations; i++)
        if (m->relations[i]->name && !strcmp(m->relations[i]->name, name))
            return 1;
    return 0;
}

int tide_model_add_field(tide_model *m, const tide_field_def *d, tide_error *err)
{
    if (!m || !d || !building(m->schema, err))
        return TIDE_MISUSE;
    tide_schema *s = m->schema;
    if (!tsch_valid_ident(d->name))
        return bad_ident(err, "field", d->name);
    if (d->column && !tsch_valid_ident(d->column))
        return bad_ident(err, "column", d->column);
    if (name_taken(m, d->name)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s is declared twice", m->name, d->name);
        return TIDE_ERROR;
    }
    if (d->type <= 0 || d->type >= TIDE_T_COUNT_) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s: unknown type %d", m->name, d->name, (int)d->type);
        return TIDE_ERROR;
    }
    if ((d->type == TIDE_T_ENUM || d->type == TIDE_T_CUSTOM) && !d->type_name) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s: a %s field needs a type name", m->name, d->name,
                         tide_type_name(d->type));
        return TIDE_ERROR;
    }
    if (d->array_dims < 0 || d->array_dims > 6) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s: arrays have 0 to 6 dimensions", m->name, d->name);
        return TIDE_ERROR;
    }
    int oom = 0;
    tide_field *f = tutil_arena_alloc(&s->arena, sizeof *f);
    if (!f || tutil_arena_grow(&s->arena, (void **)&m->fields, &m->fields_cap, m->nfields + 1, sizeof f))
        goto oom;
    f->model = m;
    f->name = dup(s, d->name, &oom);
    f->column = dup(s, d->column ? d->column : d->name, &oom);
    f->type = d->type;
    f->type_name = dup(s, d->type_name, &oom);
    f->length = d->length;
    f->precision = d->precision;
    f->scale = d->scale;
    f->array_dims = d->array_dims;
    f->nullable = d->nullable;
    f->primary = d->primary;
    f->unique = d->unique;
    f->identity = d->identity;
    f->default_kind = d->default_kind;
    f->default_value = dup(s, d->default_value, &oom);
    f->updated_at = d->updated_at;
    f->generated = dup(s, d->generated, &oom);
    f->check = dup(s, d->check, &oom);
    f->omit = d->omit;
    if (d->renamed_from && !tsch_valid_ident(d->renamed_from))
        return bad_ident(err, "renamed_from", d->renamed_from);
    f->renamed_from = dup(s, d->renamed_from, &oom);
    if (oom)
        goto oom;
    f->index = m->nfields;
    m->fields[m->nfields++] = f;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

static char **dup_list(tide_schema *s, const char *const *list, int n, int *oom)
{
    if (!list || n <= 0)
        return NULL;
    char **out = tutil_arena_alloc(&s->arena, (size_t)n * sizeof(char *));
    if (!out) {
        *oom = 1;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        out[i] = dup(s, list[i], oom);
    return out;
}

int tide_model_add_relation(tide_model *m, const tide_relation_def *d, tide_error *err)
{
    if (!m || !d || !building(m->schema, err))
        return TIDE_MISUSE;
    tide_schema *s = m->schema;
    if (d->name && !tsch_valid_ident(d->name))
        return bad_ident(err, "relation", d->name);
    if (!d->name && d->kind != TIDE_REL_BELONGS_TO) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: only a belongs_to (a bare foreign key) may be unnamed",
                         m->name);
        return TIDE_ERROR;
    }
    if (d->name && name_taken(m, d->name)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s is declared twice", m->name, d->name);
        return TIDE_ERROR;
    }
    if (d->kind < TIDE_REL_BELONGS_TO || d->kind > TIDE_REL_MANY_TO_MANY || !d->target) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s: a relation needs a kind and a target model", m->name,
                         d->name ? d->name : "?");
        return TIDE_ERROR;
    }
    if (d->nfields < 0 || (d->nfields > 0 && !d->fields)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s.%s: bad field list", m->name, d->name ? d->name : "?");
        return TIDE_ERROR;
    }
    int oom = 0;
    tide_relation *r = tutil_arena_alloc(&s->arena, sizeof *r);
    if (!r || tutil_arena_grow(&s->arena, (void **)&m->relations, &m->relations_cap, m->nrelations + 1, sizeof r))
        goto oom;
    r->model = m;
    r->name = dup(s, d->name, &oom);
    r->kind = d->kind;
    r->target_name = dup(s, d->target, &oom);
    r->field_names = dup_list(s, d->fields, d->nfields, &oom);
    r->ref_names = dup_list(s, d->references, d->references ? d->nfields : 0, &oom);
    r->nfields = d->nfields;
    r->inverse_name = dup(s, d->inverse, &oom);
    r->through_name = dup(s, d->through, &oom);
    r->join_table = dup(s, d->join_table, &oom);
    r->on_delete = d->on_delete;
    r->on_update = d->on_update;
    r->constraint_name = dup(s, d->constraint_name, &oom);
    if (oom)
        goto oom;
    m->relations[m->nrelations++] = r;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

int tide_model_add_index(tide_model *m, const tide_index_def *d, tide_error *err)
{
    if (!m || !d || !building(m->schema, err))
        return TIDE_MISUSE;
    tide_schema *s = m->schema;
    if (d->nparts < 1 || !d->parts) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: an index needs at least one field or expression",
                         m->name);
        return TIDE_ERROR;
    }
    if (d->name && !tsch_valid_ident(d->name))
        return bad_ident(err, "index", d->name);
    int oom = 0;
    tsch_index *ix = tutil_arena_alloc(&s->arena, sizeof *ix);
    tide_index_part *parts = tutil_arena_alloc(&s->arena, (size_t)d->nparts * sizeof *parts);
    tide_field **pf = tutil_arena_alloc(&s->arena, (size_t)d->nparts * sizeof *pf);
    if (!ix || !parts || !pf ||
        tutil_arena_grow(&s->arena, (void **)&m->indexes, &m->indexes_cap, m->nindexes + 1, sizeof ix))
        goto oom;
    for (int i = 0; i < d->nparts; i++) {
        if (!d->parts[i].field == !d->parts[i].expression) {
            tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: each index part is a field or an expression",
                             m->name);
            return TIDE_ERROR;
        }
        parts[i] = d->parts[i];
        parts[i].field = dup(s, d->parts[i].field, &oom);
        parts[i].expression = dup(s, d->parts[i].expression, &oom);
    }
    ix->kind = d->kind;
    ix->name = dup(s, d->name, &oom);
    ix->parts = parts;
    ix->part_fields = pf;
    ix->nparts = d->nparts;
    ix->method = d->method;
    ix->where = dup(s, d->where, &oom);
    ix->nulls_not_distinct = d->nulls_not_distinct;
    if (oom)
        goto oom;
    m->indexes[m->nindexes++] = ix;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

int tide_model_add_check(tide_model *m, const char *name, const char *expression, tide_error *err)
{
    if (!m || !building(m->schema, err))
        return TIDE_MISUSE;
    if (name && !tsch_valid_ident(name))
        return bad_ident(err, "check", name);
    if (!expression || !*expression) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: a check needs an expression", m->name);
        return TIDE_ERROR;
    }
    tide_schema *s = m->schema;
    if (tutil_arena_grow(&s->arena, (void **)&m->checks, &m->checks_cap, m->nchecks + 1, sizeof(tsch_check))) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    int oom = 0;
    tsch_check *c = &m->checks[m->nchecks];
    c->name = dup(s, name, &oom);
    c->expression = dup(s, expression, &oom);
    if (oom) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    m->nchecks++;
    return TIDE_OK;
}

int tide_model_set_renamed_from(tide_model *m, const char *old_table, tide_error *err)
{
    if (!m || !building(m->schema, err))
        return TIDE_MISUSE;
    if (!tsch_valid_ident(old_table))
        return bad_ident(err, "renamed_from", old_table);
    int oom = 0;
    m->renamed_from = dup(m->schema, old_table, &oom);
    if (oom) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

int tide_schema_set_enum_renames(tide_schema *s, const char *name, const char *renamed_from,
                                 const char *const *pairs, int npairs, tide_error *err)
{
    if (!building(s, err))
        return TIDE_MISUSE;
    tsch_enum *e = (tsch_enum *)tsch_enum_find(s, name);
    if (!e) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "enum '%s' is not declared", name ? name : "?");
        return TIDE_ERROR;
    }
    if (renamed_from && !tsch_valid_ident(renamed_from))
        return bad_ident(err, "renamed_from", renamed_from);
    if (npairs < 0 || (npairs && !pairs)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "enum '%s': bad list of renamed values", name);
        return TIDE_ERROR;
    }
    for (int i = 0; i < 2 * npairs; i++)
        if (!tsch_valid_ident(pairs[i]))
            return bad_ident(err, "enum value", pairs[i]);
    for (int i = 0; i < npairs; i++) {
        int found = 0;
        for (int k = 0; k < e->nvalues; k++)
            found |= !strcmp(e->values[k], pairs[2 * i]);
        if (!found) {
            tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "enum '%s': renamed value '%s' is not one of its values",
                             name, pairs[2 * i]);
            return TIDE_ERROR;
        }
    }
    int oom = 0;
    e->renamed_from = dup(s, renamed_from, &oom);
    e->value_renames = dup_list(s, pairs, 2 * npairs, &oom);
    e->nvalue_renames = npairs;
    if (oom) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

int tide_model_set_soft_delete(tide_model *m, const char *field, tide_error *err)
{
    if (!m || !building(m->schema, err))
        return TIDE_MISUSE;
    if (!tsch_valid_ident(field))
        return bad_ident(err, "soft delete field", field);
    m->soft_delete_name = tutil_arena_strdup(&m->schema->arena, field);
    if (!m->soft_delete_name) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

/* ---- views, sequences, row-level security ------------------------------------ */

void tide_view_def_init(tide_view_def *d)
{
    memset(d, 0, sizeof *d);
    d->kind = TIDE_MODEL_VIEW;
    d->with_data = 1;
}

int tide_model_set_view(tide_model *m, const tide_view_def *d, tide_error *err)
{
    if (!m || !d || !building(m->schema, err))
        return TIDE_MISUSE;
    if (d->kind != TIDE_MODEL_VIEW && d->kind != TIDE_MODEL_MATERIALIZED_VIEW) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: a view is TIDE_MODEL_VIEW or TIDE_MODEL_MATERIALIZED_VIEW",
                         m->name);
        return TIDE_ERROR;
    }
    int oom = 0;
    m->view_sql = dup(m->schema, d->sql, &oom);
    if (oom) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    m->kind = d->kind;
    m->with_data = d->with_data;
    return TIDE_OK;
}

void tide_sequence_def_init(tide_sequence_def *d)
{
    memset(d, 0, sizeof *d);
}

int tide_schema_add_sequence(tide_schema *s, const tide_sequence_def *d, tide_error *err)
{
    if (!d || !building(s, err))
        return TIDE_MISUSE;
    if (!tsch_valid_ident(d->name))
        return bad_ident(err, "sequence", d->name);
    if (d->pg_schema && !tsch_valid_ident(d->pg_schema))
        return bad_ident(err, "schema", d->pg_schema);
    int oom = 0;
    tsch_sequence *q = tutil_arena_alloc(&s->arena, sizeof *q);
    if (!q || tutil_arena_grow(&s->arena, (void **)&s->sequences, &s->sequences_cap, s->nsequences + 1, sizeof q))
        goto oom;
    q->name = dup(s, d->name, &oom);
    q->pg_schema = dup(s, d->pg_schema, &oom);
    if (oom)
        goto oom;
    q->start = d->start;
    q->min_value = d->min_value;
    q->max_value = d->max_value;
    q->has_start = d->has_start;
    q->has_min = d->has_min;
    q->has_max = d->has_max;
    q->increment = d->increment;
    q->cache = d->cache;
    q->cycle = d->cycle;
    s->sequences[s->nsequences++] = q;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

const char *const tsch_policy_commands[5] = {"all", "select", "insert", "update", "delete"};

void tide_policy_def_init(tide_policy_def *d)
{
    memset(d, 0, sizeof *d);
}

int tide_model_add_policy(tide_model *m, const tide_policy_def *d, tide_error *err)
{
    if (!m || !d || !building(m->schema, err))
        return TIDE_MISUSE;
    tide_schema *s = m->schema;
    if (!tsch_valid_ident(d->name))
        return bad_ident(err, "policy", d->name);
    if ((d->using_expr && !*d->using_expr) || (d->check && !*d->check)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: policy '%s' has an empty expression", m->name, d->name);
        return TIDE_ERROR;
    }
    if (d->nroles < 0 || (d->nroles > 0 && !d->roles)) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%s: policy '%s': bad role list", m->name, d->name);
        return TIDE_ERROR;
    }
    for (int i = 0; i < d->nroles; i++)
        if (!tsch_valid_ident(d->roles[i]))
            return bad_ident(err, "role", d->roles[i]);
    if (tutil_arena_grow(&s->arena, (void **)&m->policies, &m->policies_cap, m->npolicies + 1, sizeof(tsch_policy))) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    int oom = 0;
    tsch_policy *p = &m->policies[m->npolicies];
    memset(p, 0, sizeof *p);
    p->name = dup(s, d->name, &oom);
    p->command = dup(s, d->command, &oom);
    p->using_expr = dup(s, d->using_expr, &oom);
    p->check = dup(s, d->check, &oom);
    p->roles = dup_list(s, d->roles, d->nroles, &oom);
    p->nroles = d->nroles;
    p->restrictive = d->restrictive;
    if (oom) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    m->npolicies++;
    return TIDE_OK;
}

int tide_model_set_rls(tide_model *m, int enable, int force, tide_error *err)
{
    if (!m || !building(m->schema, err))
        return TIDE_MISUSE;
    m->rls = enable != 0;
    m->force_rls = force != 0;
    m->rls_set = 1;
    return TIDE_OK;
}

/* ---- functions and triggers -------------------------------------------------- */

void tide_function_def_init(tide_function_def *d)
{
    memset(d, 0, sizeof *d);
}

int tide_schema_add_function(tide_schema *s, const tide_function_def *d, tide_error *err)
{
    if (!d || !building(s, err))
        return TIDE_MISUSE;
    if (!tsch_valid_ident(d->name))
        return bad_ident(err, "function", d->name);
    if (d->pg_schema && !tsch_valid_ident(d->pg_schema))
        return bad_ident(err, "schema", d->pg_schema);
    if (!tsch_valid_ident(d->language))
        return bad_ident(err, "language", d->language);
    if (!d->returns || !*d->returns || !d->body) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "function '%s' needs %s", d->name,
                         !d->body ? "a body" : "what it returns (returns)");
        return TIDE_ERROR;
    }
    int oom = 0;
    tsch_function *f = tutil_arena_alloc(&s->arena, sizeof *f);
    if (!f || tutil_arena_grow(&s->arena, (void **)&s->functions, &s->functions_cap, s->nfunctions + 1, sizeof f))
        goto oom;
    f->name = dup(s, d->name, &oom);
    f->pg_schema = dup(s, d->pg_schema, &oom);
    f->args = dup(s, d->args ? d->args : "", &oom);
    f->returns = dup(s, d->returns, &oom);
    f->language = dup(s, d->language, &oom);
    f->body = dup(s, d->body, &oom);
    f->volatility = dup(s, d->volatility, &oom);
    if (oom)
        goto oom;
    s->functions[s->nfunctions++] = f;
    return TIDE_OK;
oom:
    tutil_error_oom(err);
    return TIDE_ERROR;
}

void tide_trigger_def_init(tide_trigger_def *d)
{
    memset(d, 0, sizeof *d);
    d->for_each_row = 1;
}

int tide_model_add_trigger(tide_model *m, const tide_trigger_def *d, tide_error *err)
{
    if (!m || !d || !building(m->schema, err))
        return TIDE_MISUSE;
    tide_schema *s = m->schema;
    if (!tsch_valid_ident(d->name))
        return bad_ident(err, "trigger", d->name);
    if (!tsch_valid_ident(d->function))
        return bad_ident(err, "function", d->function);
    if (tutil_arena_grow(&s->arena, (void **)&m->triggers, &m->triggers_cap, m->ntriggers + 1, sizeof(tsch_trigger))) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    int oom = 0;
    tsch_trigger *t = &m->triggers[m->ntriggers];
    memset(t, 0, sizeof *t);
    t->name = dup(s, d->name, &oom);
    t->timing = dup(s, d->timing, &oom);
    t->function = dup(s, d->function, &oom);
    t->when = dup(s, d->when, &oom);
    t->events = d->events;
    t->for_each_row = d->for_each_row != 0;
    if (oom) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    m->ntriggers++;
    return TIDE_OK;
}

const tsch_function *tsch_function_find(const tide_schema *s, const char *name)
{
    for (int i = 0; s && name && i < s->nfunctions; i++)
        if (!strcmp(s->functions[i]->name, name))
            return s->functions[i];
    return NULL;
}

/* ---- reading --------------------------------------------------------------- */

const tsch_sequence *tsch_sequence_find(const tide_schema *s, const char *name)
{
    for (int i = 0; s && name && i < s->nsequences; i++)
        if (!strcmp(s->sequences[i]->name, name))
            return s->sequences[i];
    return NULL;
}

tide_model_kind tide_model_kind_of(const tide_model *m) { return m ? m->kind : TIDE_MODEL_TABLE; }
const char *tide_model_view_sql(const tide_model *m) { return m ? m->view_sql : NULL; }


const tsch_enum *tsch_enum_find(const tide_schema *s, const char *name)
{
    for (int i = 0; s && name && i < s->nenums; i++)
        if (!strcmp(s->enums[i]->name, name))
            return s->enums[i];
    return NULL;
}

int tsch_enum_count(const tide_schema *s) { return s ? s->nenums : 0; }
const tsch_enum *tsch_enum_at(const tide_schema *s, int i) { return s && i >= 0 && i < s->nenums ? s->enums[i] : NULL; }
int tsch_model_index_count(const tide_model *m) { return m ? m->nindexes : 0; }
const tsch_index *tsch_model_index_at(const tide_model *m, int i)
{
    return m && i >= 0 && i < m->nindexes ? m->indexes[i] : NULL;
}

int tide_schema_model_count(const tide_schema *s) { return s ? s->nmodels : 0; }

const tide_model *tide_schema_model_at(const tide_schema *s, int i)
{
    return s && i >= 0 && i < s->nmodels ? s->models[i] : NULL;
}

const tide_model *tide_schema_model(const tide_schema *s, const char *name)
{
    for (int i = 0; s && name && i < s->nmodels; i++)
        if (!strcmp(s->models[i]->name, name))
            return s->models[i];
    return NULL;
}

const char *tide_model_name(const tide_model *m) { return m ? m->name : NULL; }
const char *tide_model_table(const tide_model *m) { return m ? m->table : NULL; }
int tide_model_field_count(const tide_model *m) { return m ? m->nfields : 0; }

const tide_field *tide_model_field_at(const tide_model *m, int i)
{
    return m && i >= 0 && i < m->nfields ? m->fields[i] : NULL;
}

const tide_field *tide_model_field_by_column(const tide_model *m, const char *col, size_t len)
{
    for (int i = 0; i < tide_model_field_count(m); i++) {
        const tide_field *f = tide_model_field_at(m, i);
        const char *c = tide_field_column(f);
        if (strlen(c) == len && !memcmp(c, col, len))
            return f;
    }
    return NULL;
}

const tide_field *tide_model_field(const tide_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->nfields; i++)
        if (!strcmp(m->fields[i]->name, name))
            return m->fields[i];
    return NULL;
}

const char *tide_field_name(const tide_field *f) { return f ? f->name : NULL; }
const char *tide_field_column(const tide_field *f) { return f ? f->column : NULL; }
tide_type tide_field_type(const tide_field *f) { return f ? f->type : 0; }
int tide_field_nullable(const tide_field *f) { return f ? f->nullable : 0; }
int tide_model_relation_count(const tide_model *m) { return m ? m->nrelations : 0; }

const tide_relation *tide_model_relation_at(const tide_model *m, int i)
{
    return m && i >= 0 && i < m->nrelations ? m->relations[i] : NULL;
}

const tide_relation *tide_model_relation(const tide_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->nrelations; i++)
        if (m->relations[i]->name && !strcmp(m->relations[i]->name, name))
            return m->relations[i];
    return NULL;
}

const char *tide_relation_name(const tide_relation *r) { return r ? r->name : NULL; }
tide_relation_kind tide_relation_kind_of(const tide_relation *r) { return r ? r->kind : 0; }
const tide_model *tide_relation_target(const tide_relation *r) { return r ? r->target : NULL; }

int tide_relation_key_count(const tide_relation *r)
{
    if (!r)
        return 0;
    if (r->kind == TIDE_REL_MANY_TO_MANY)
        return r->through ? (r->through_from ? r->through_from->nfields : 0) : r->model->npk;
    return r->nfields;
}

const tide_field *tide_relation_key_field(const tide_relation *r, int i)
{
    if (!r || i < 0 || i >= tide_relation_key_count(r))
        return NULL;
    switch (r->kind) {
    case TIDE_REL_BELONGS_TO: return r->fields[i];  /* this model's foreign key */
    /* through: what the join model's foreign key references, which need
     * not be the primary key */
    case TIDE_REL_MANY_TO_MANY: return r->through ? r->through_from->refs[i] : r->model->pk[i];
    default: return r->refs[i];                      /* this model's referenced key */
    }
}

int tide_relation_target_key_count(const tide_relation *r)
{
    if (r && r->kind == TIDE_REL_MANY_TO_MANY && r->through)
        return r->through_to ? r->through_to->nfields : 0;
    return tide_relation_key_count(r);
}

const tide_field *tide_relation_target_key_field(const tide_relation *r, int i)
{
    if (!r || i < 0 || i >= tide_relation_target_key_count(r))
        return NULL;
    switch (r->kind) {
    case TIDE_REL_BELONGS_TO: return r->refs[i];
    case TIDE_REL_MANY_TO_MANY:
        if (r->through)
            return r->through_to->refs[i];
        return r->target->npk > i ? r->target->pk[i] : NULL;
    default: return r->fields[i];
    }
}

const tide_model *tide_relation_through(const tide_relation *r)
{
    return r && r->kind == TIDE_REL_MANY_TO_MANY ? r->through : NULL;
}
