/* tide_schema_finish: resolve every name, infer what relations left unset,
 * and report every problem at once, each with the nearest valid name. */
#include <stdio.h>
#include <string.h>
#include "tschema.h"

typedef struct problems {
    tutil_buf buf;
    int count;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(problems *p, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->count++)
        tutil_buf_addc(&p->buf, '\n');
    tutil_buf_adds(&p->buf, line);
}

/* "; did you mean 'x'?" or "" */
static const char *hint(char *out, size_t size, const char *nearest)
{
    if (!nearest)
        return "";
    snprintf(out, size, "; did you mean '%s'?", nearest);
    return out;
}

static const char *nearest_field(const tide_model *m, const char *name)
{
    const char *names[256];
    int n = 0;
    for (int i = 0; i < m->nfields && n < 256; i++)
        names[n++] = m->fields[i]->name;
    return tide_nearest(name, names, n);
}

static const char *nearest_model(const tide_schema *s, const char *name)
{
    const char *names[256];
    int n = 0;
    for (int i = 0; i < s->nmodels && n < 256; i++)
        names[n++] = s->models[i]->name;
    return tide_nearest(name, names, n);
}

static tide_field *field_named(const tide_model *m, const char *name)
{
    return (tide_field *)tide_model_field(m, name);
}

/* The base type for comparing a foreign key with what it references. */
static tide_type base_type(tide_type t)
{
    switch (t) {
    case TIDE_T_SMALLSERIAL: return TIDE_T_SMALLINT;
    case TIDE_T_SERIAL: return TIDE_T_INTEGER;
    case TIDE_T_BIGSERIAL: return TIDE_T_BIGINT;
    case TIDE_T_VARCHAR: case TIDE_T_CHAR: return TIDE_T_TEXT;
    default: return t;
    }
}

static int same_type(const tide_field *a, const tide_field *b)
{
    if (base_type(a->type) != base_type(b->type) || a->array_dims != b->array_dims)
        return 0;
    if ((a->type == TIDE_T_ENUM || a->type == TIDE_T_CUSTOM) && strcmp(a->type_name, b->type_name) != 0)
        return 0;
    return 1;
}

static void check_model(tide_schema *s, tide_model *m, problems *p)
{
    char h[160];
    for (int i = 0; i < m->nfields; i++) {
        tide_field *f = m->fields[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(m->fields[j]->column, f->column))
                problem(p, "%s.%s: column '%s' is also used by %s.%s", m->name, f->name, f->column, m->name,
                        m->fields[j]->name);
        if (f->type == TIDE_T_ENUM) {
            f->enum_ref = tsch_enum_find(s, f->type_name);
            if (!f->enum_ref) {
                const char *names[256];
                int n = 0;
                for (int k = 0; k < s->nenums && n < 256; k++)
                    names[n++] = s->enums[k]->name;
                problem(p, "%s.%s: unknown enum '%s'%s", m->name, f->name, f->type_name,
                        hint(h, sizeof h, tide_nearest(f->type_name, names, n)));
            } else if (f->default_kind == TIDE_DEFAULT_LITERAL && f->default_value && !f->array_dims) {
                int found = 0;
                for (int k = 0; k < f->enum_ref->nvalues; k++)
                    found |= !strcmp(f->enum_ref->values[k], f->default_value);
                if (!found)
                    problem(p, "%s.%s: default '%s' is not a value of enum '%s'%s", m->name, f->name,
                            f->default_value, f->enum_ref->name,
                            hint(h, sizeof h,
                                 tide_nearest(f->default_value, (const char *const *)f->enum_ref->values,
                                              f->enum_ref->nvalues)));
            }
        }
        if (f->primary && f->nullable)
            problem(p, "%s.%s: a primary key cannot be nullable", m->name, f->name);
    }

    /* the primary key: flagged fields, or one composite declaration */
    int flagged = 0, composite = 0;
    for (int i = 0; i < m->nfields; i++)
        flagged += m->fields[i]->primary;
    for (int i = 0; i < m->nindexes; i++)
        composite += m->indexes[i]->kind == TIDE_INDEX_PRIMARY;
    if (flagged > 1 || composite > 1 || (flagged && composite))
        problem(p, "%s: more than one primary key (mark one field primary, or declare one composite key)",
                m->name);

    for (int i = 0; i < m->nindexes; i++) {
        tsch_index *ix = m->indexes[i];
        for (int k = 0; k < ix->nparts; k++) {
            if (!ix->parts[k].field)
                continue;
            ix->part_fields[k] = field_named(m, ix->parts[k].field);
            if (!ix->part_fields[k])
                problem(p, "%s: index on unknown field '%s'%s", m->name, ix->parts[k].field,
                        hint(h, sizeof h, nearest_field(m, ix->parts[k].field)));
            if (ix->kind == TIDE_INDEX_PRIMARY && ix->part_fields[k] && ix->part_fields[k]->nullable)
                problem(p, "%s.%s: a primary key cannot be nullable", m->name, ix->parts[k].field);
        }
        if (ix->kind == TIDE_INDEX_PRIMARY) {
            for (int k = 0; k < ix->nparts; k++)
                if (!ix->parts[k].field)
                    problem(p, "%s: a primary key is made of fields, not expressions", m->name);
        }
    }
    m->npk = 0;
    m->pk = tutil_arena_alloc(&s->arena, (size_t)(m->nfields ? m->nfields : 1) * sizeof(tide_field *));
    if (!m->pk) {
        p->buf.broken = 1;
        return;
    }
    if (flagged == 1) {
        for (int i = 0; i < m->nfields; i++)
            if (m->fields[i]->primary)
                m->pk[m->npk++] = m->fields[i];
    } else if (composite == 1) {
        for (int i = 0; i < m->nindexes; i++)
            if (m->indexes[i]->kind == TIDE_INDEX_PRIMARY)
                for (int k = 0; k < m->indexes[i]->nparts && m->npk < m->nfields; k++)
                    if (m->indexes[i]->part_fields[k])
                        m->pk[m->npk++] = m->indexes[i]->part_fields[k];
    }
    if (flagged == 0 && composite == 0)
        problem(p, "%s: no primary key (mark a field :primary(), or declare a composite primary key)", m->name);

    if (m->soft_delete_name) {
        m->soft_delete = field_named(m, m->soft_delete_name);
        if (!m->soft_delete)
            problem(p, "%s: soft delete field '%s' does not exist%s", m->name, m->soft_delete_name,
                    hint(h, sizeof h, nearest_field(m, m->soft_delete_name)));
        else if ((m->soft_delete->type != TIDE_T_TIMESTAMP && m->soft_delete->type != TIDE_T_TIMESTAMPTZ) ||
                 !m->soft_delete->nullable)
            problem(p, "%s.%s: a soft delete field must be a nullable timestamp or timestamptz", m->name,
                    m->soft_delete->name);
    }
}

/* Whether fields[0..n) of m are its primary key or unique (so a foreign key
 * may reference them). */
static int is_unique_set(const tide_model *m, tide_field *const *fields, int n)
{
    if (n == 1 && (fields[0]->unique || fields[0]->primary))
        return 1;
    if (n == m->npk) {
        int all = 1;
        for (int i = 0; i < n; i++) {
            int found = 0;
            for (int k = 0; k < m->npk; k++)
                found |= m->pk[k] == fields[i];
            all &= found;
        }
        if (all)
            return 1;
    }
    for (int i = 0; i < m->nindexes; i++) {
        const tsch_index *ix = m->indexes[i];
        if (ix->kind == TIDE_INDEX_PLAIN || ix->nparts != n || ix->where)
            continue;
        int all = 1;
        for (int k = 0; k < n; k++) {
            int found = 0;
            for (int j = 0; j < ix->nparts; j++)
                found |= ix->part_fields[j] == fields[k];
            all &= found;
        }
        if (all)
            return 1;
    }
    return 0;
}

static const char *rel_label(const tide_relation *r)
{
    return r->name ? r->name : (r->nfields ? r->field_names[0] : "?");
}

static void resolve_belongs_to(tide_schema *s, tide_relation *r, problems *p)
{
    char h[160];
    tide_model *m = r->model, *t = r->target;
    if (r->nfields == 0) {
        if (!r->name)
            return;
        char fk[80];
        snprintf(fk, sizeof fk, "%s_id", r->name);
        r->nfields = 1;
        r->field_names = tutil_arena_alloc(&s->arena, sizeof(char *));
        if (!r->field_names || !(r->field_names[0] = tutil_arena_strdup(&s->arena, fk))) {
            p->buf.broken = 1;
            return;
        }
    }
    int n = r->nfields;
    r->fields = tutil_arena_alloc(&s->arena, (size_t)n * sizeof(tide_field *));
    r->refs = tutil_arena_alloc(&s->arena, (size_t)n * sizeof(tide_field *));
    if (!r->fields || !r->refs) {
        p->buf.broken = 1;
        return;
    }
    int ok = 1;
    for (int i = 0; i < n; i++) {
        r->fields[i] = field_named(m, r->field_names[i]);
        if (!r->fields[i]) {
            problem(p, "%s.%s: foreign key field '%s' does not exist on %s%s", m->name, rel_label(r),
                    r->field_names[i], m->name, hint(h, sizeof h, nearest_field(m, r->field_names[i])));
            ok = 0;
        }
    }
    if (r->ref_names) {
        for (int i = 0; i < n; i++) {
            r->refs[i] = field_named(t, r->ref_names[i]);
            if (!r->refs[i]) {
                problem(p, "%s.%s: referenced field '%s' does not exist on %s%s", m->name, rel_label(r),
                        r->ref_names[i], t->name, hint(h, sizeof h, nearest_field(t, r->ref_names[i])));
                ok = 0;
            }
        }
    } else if (t->npk != n) {
        problem(p, "%s.%s: %d foreign key field%s for %s's primary key of %d", m->name, rel_label(r), n,
                n == 1 ? "" : "s", t->name, t->npk);
        ok = 0;
    } else {
        for (int i = 0; i < n; i++)
            r->refs[i] = t->pk[i];
    }
    if (!ok)
        return;
    for (int i = 0; i < n; i++) {
        if (!same_type(r->fields[i], r->refs[i]))
            problem(p, "%s.%s: foreign key type mismatch: %s.%s is %s, %s.%s is %s", m->name, rel_label(r),
                    m->name, r->fields[i]->name, tide_type_name(r->fields[i]->type), t->name, r->refs[i]->name,
                    tide_type_name(r->refs[i]->type));
    }
    if (!is_unique_set(t, r->refs, n))
        problem(p, "%s.%s: the referenced fields of %s are neither its primary key nor unique", m->name,
                rel_label(r), t->name);
    if ((r->on_delete == TIDE_ACTION_SET_NULL || r->on_update == TIDE_ACTION_SET_NULL))
        for (int i = 0; i < n; i++)
            if (!r->fields[i]->nullable)
                problem(p, "%s.%s: set_null needs %s.%s to be nullable", m->name, rel_label(r), m->name,
                        r->fields[i]->name);
}

static void resolve_has(tide_relation *r, problems *p)
{
    char h[160];
    tide_model *m = r->model, *t = r->target;
    tide_relation *inv = NULL;
    if (r->inverse_name) {
        inv = (tide_relation *)tide_model_relation(t, r->inverse_name);
        if (!inv || inv->kind != TIDE_REL_BELONGS_TO || inv->target != m) {
            const char *names[256];
            int n = 0;
            for (int i = 0; i < t->nrelations && n < 256; i++)
                if (t->relations[i]->name && t->relations[i]->kind == TIDE_REL_BELONGS_TO)
                    names[n++] = t->relations[i]->name;
            problem(p, "%s.%s: inverse '%s' is not a belongs_to %s on %s%s", m->name, r->name, r->inverse_name,
                    m->name, t->name, hint(h, sizeof h, tide_nearest(r->inverse_name, names, n)));
            return;
        }
    } else {
        int count = 0;
        char names[256] = "";
        for (int i = 0; i < t->nrelations; i++) {
            tide_relation *c = t->relations[i];
            if (c->kind == TIDE_REL_BELONGS_TO && c->target == m) {
                if (count++ < 4) {
                    strncat(names, count > 1 ? ", " : "", sizeof names - strlen(names) - 1);
                    strncat(names, rel_label(c), sizeof names - strlen(names) - 1);
                }
                inv = c;
            }
        }
        if (count == 0) {
            problem(p, "%s.%s: %s has no belongs_to %s to pair with (declare one, holding the foreign key)",
                    m->name, r->name, t->name, m->name);
            return;
        }
        if (count > 1) {
            problem(p, "%s.%s: ambiguous: %s has %d relations to %s (%s); name one with inverse =", m->name,
                    r->name, t->name, count, m->name, names);
            return;
        }
    }
    r->inverse = inv;
    if (!inv->fields || !inv->refs)
        return; /* its own problem was reported */
    r->nfields = inv->nfields;
    r->fields = inv->fields;
    r->refs = inv->refs;
    if (r->kind == TIDE_REL_HAS_ONE && !is_unique_set(t, inv->fields, inv->nfields))
        problem(p, "%s.%s: has_one needs %s's foreign key (%s) to be unique", m->name, r->name, t->name,
                inv->fields[0]->name);
}

static char *snake(tide_schema *s, const char *table_or_name)
{
    return tutil_arena_strdup(&s->arena, table_or_name);
}

static void resolve_many(tide_schema *s, tide_relation *r, problems *p)
{
    char h[160];
    tide_model *m = r->model, *t = r->target;
    if (r->through_name) {
        r->through = (tide_model *)tide_schema_model(s, r->through_name);
        if (!r->through) {
            problem(p, "%s.%s: through unknown model '%s'%s", m->name, r->name, r->through_name,
                    hint(h, sizeof h, nearest_model(s, r->through_name)));
            return;
        }
        for (int i = 0; i < r->through->nrelations; i++) {
            tide_relation *c = r->through->relations[i];
            if (c->kind != TIDE_REL_BELONGS_TO)
                continue;
            if (c->target == m && !r->through_from)
                r->through_from = c;
            else if (c->target == t && !r->through_to)
                r->through_to = c;
        }
        if (!r->through_from || !r->through_to)
            problem(p, "%s.%s: through model %s needs a belongs_to %s and a belongs_to %s", m->name, r->name,
                    r->through->name, m->name, t->name);
        return;
    }
    if (m->npk != 1 || t->npk != 1) {
        problem(p, "%s.%s: an implicit many_to_many needs single-field primary keys on %s and %s (or use through =)",
                m->name, r->name, m->name, t->name);
        return;
    }
    /* pair with the relation on the other side, which shares the join table */
    tide_relation *other = NULL;
    if (r->inverse_name) {
        other = (tide_relation *)tide_model_relation(t, r->inverse_name);
        if (!other || other->kind != TIDE_REL_MANY_TO_MANY || other->target != m) {
            problem(p, "%s.%s: inverse '%s' is not a many_to_many %s on %s", m->name, r->name, r->inverse_name,
                    m->name, t->name);
            return;
        }
    } else if (t != m) {
        int count = 0;
        for (int i = 0; i < t->nrelations; i++) {
            tide_relation *c = t->relations[i];
            if (c->kind == TIDE_REL_MANY_TO_MANY && c->target == m && !c->through_name) {
                other = c;
                count++;
            }
        }
        if (count > 1) {
            problem(p, "%s.%s: ambiguous: %s has %d many_to_many relations to %s; name one with inverse =",
                    m->name, r->name, t->name, count, m->name);
            return;
        }
    }
    r->inverse = other;
    if (r->join_table)
        ;
    else if (other && other->join_table)
        r->join_table = other->join_table;
    else {
        char name[140];
        const tide_model *a = m, *b = t;
        if (strcmp(a->table, b->table) > 0) {
            a = t;
            b = m;
        }
        if (a == b)
            /* both sides of a self relation must pick the same name */
            snprintf(name, sizeof name, "%s_%s", a->table,
                     other && strcmp(other->name, r->name) < 0 ? other->name : r->name);
        else
            snprintf(name, sizeof name, "%s_%s", a->table, b->table);
        name[63] = '\0';
        r->join_table = snake(s, name);
    }
    char from[400], to[400];
    if (m == t) {
        snprintf(from, sizeof from, "a_%s", m->pk[0]->column);
        snprintf(to, sizeof to, "b_%s", m->pk[0]->column);
        if (other && other != r && strcmp(other->name, r->name) < 0) {
            /* the other side of a self relation sees the columns swapped */
            char tmp[400];
            strcpy(tmp, from);
            strcpy(from, to);
            strcpy(to, tmp);
        }
    } else {
        char a[160], b[160];
        tsch_snake(m->name, a);
        tsch_snake(t->name, b);
        snprintf(from, sizeof from, "%s_%s", a, m->pk[0]->column);
        snprintf(to, sizeof to, "%s_%s", b, t->pk[0]->column);
    }
    from[63] = to[63] = '\0';
    r->join_from = tutil_arena_strdup(&s->arena, from);
    r->join_to = tutil_arena_strdup(&s->arena, to);
    if (!r->join_table || !r->join_from || !r->join_to)
        p->buf.broken = 1;
}

int tide_schema_finish(tide_schema *s, tide_error *err)
{
    if (!s) {
        tutil_error_set(err, TIDE_E_MISUSE, "no schema");
        return TIDE_MISUSE;
    }
    if (s->finished)
        return TIDE_OK;
    problems p = {.count = 0};
    tutil_buf_init(&p.buf);
    char h[160];

    /* tables: no two models in one */
    for (int i = 0; i < s->nmodels; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(s->models[i]->table, s->models[j]->table) &&
                ((!s->models[i]->pg_schema && !s->models[j]->pg_schema) ||
                 (s->models[i]->pg_schema && s->models[j]->pg_schema &&
                  !strcmp(s->models[i]->pg_schema, s->models[j]->pg_schema))))
                problem(&p, "%s: table '%s' is also %s's", s->models[i]->name, s->models[i]->table,
                        s->models[j]->name);
    for (int i = 0; i < s->nmodels; i++)
        check_model(s, s->models[i], &p);
    for (int i = 0; i < s->nmodels; i++) {
        tide_model *m = s->models[i];
        for (int k = 0; k < m->nrelations; k++) {
            tide_relation *r = m->relations[k];
            r->target = (tide_model *)tide_schema_model(s, r->target_name);
            if (!r->target)
                problem(&p, "%s.%s: relation to unknown model '%s'%s", m->name, rel_label(r), r->target_name,
                        hint(h, sizeof h, nearest_model(s, r->target_name)));
        }
    }
    /* belongs_to first: has_one/has_many borrow their foreign keys */
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < s->nmodels; i++) {
            tide_model *m = s->models[i];
            for (int k = 0; k < m->nrelations; k++) {
                tide_relation *r = m->relations[k];
                if (!r->target)
                    continue;
                if (pass == 0 && r->kind == TIDE_REL_BELONGS_TO)
                    resolve_belongs_to(s, r, &p);
                else if (pass == 1 && (r->kind == TIDE_REL_HAS_MANY || r->kind == TIDE_REL_HAS_ONE))
                    resolve_has(r, &p);
                else if (pass == 2 && r->kind == TIDE_REL_MANY_TO_MANY)
                    resolve_many(s, r, &p);
            }
        }
    }
    if (p.buf.broken) {
        tutil_buf_free(&p.buf);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    if (p.count) {
        tutil_buf msg;
        tutil_buf_init(&msg);
        tutil_buf_addf(&msg, "the schema has %d problem%s:\n", p.count, p.count == 1 ? "" : "s");
        tutil_buf_adds(&msg, tutil_buf_str(&p.buf));
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, tutil_buf_str(&msg));
        tutil_buf_free(&msg);
        tutil_buf_free(&p.buf);
        return TIDE_ERROR;
    }
    tutil_buf_free(&p.buf);
    s->finished = 1;
    return TIDE_OK;
}
