/* tide_schema_finish: resolve every name, infer what relations left unset,
 * and report every problem at once, each with the nearest valid name. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

static const char *kind_word(const tide_model *m)
{
    switch (m->kind) {
    case TIDE_MODEL_VIEW: return "view";
    case TIDE_MODEL_MATERIALIZED_VIEW: return "materialized view";
    default: return "table";
    }
}

static int same_ns(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static int is_integer_type(tide_type t)
{
    return t == TIDE_T_SMALLINT || t == TIDE_T_INTEGER || t == TIDE_T_BIGINT || t == TIDE_T_NUMERIC;
}

/* A default drawing from a sequence of the schema. */
static void check_nextval(tide_schema *s, tide_model *m, tide_field *f, problems *p)
{
    char h[160];
    if (!f->default_value) {
        problem(p, "%s.%s: a sequence default needs the sequence's name", m->name, f->name);
        return;
    }
    f->sequence_ref = tsch_sequence_find(s, f->default_value);
    if (!f->sequence_ref) {
        const char *names[256];
        int n = 0;
        for (int k = 0; k < s->nsequences && n < 256; k++)
            names[n++] = s->sequences[k]->name;
        problem(p, "%s.%s: unknown sequence '%s'%s", m->name, f->name, f->default_value,
                hint(h, sizeof h, tide_nearest(f->default_value, names, n)));
    } else if (!is_integer_type(f->type) || f->array_dims) {
        problem(p, "%s.%s: a sequence default needs an integer or numeric field, not %s", m->name, f->name,
                tide_type_name(f->type));
    }
}

/* What a view may declare: its fields describe the columns its query
 * yields, so nothing that makes or constrains values. */
static void check_view(tide_model *m, problems *p)
{
    if (!m->view_sql || !m->view_sql[strspn(m->view_sql, " \t\r\n")])
        problem(p, "%s: a view needs its query (sql = \"select ...\")", m->name);
    else {
        size_t n = strlen(m->view_sql);
        while (n && strchr(" \t\r\n", m->view_sql[n - 1]))
            n--;
        if (n && m->view_sql[n - 1] == ';')
            problem(p, "%s: the view's sql ends with ';' (write one query, without it)", m->name);
    }
    for (int i = 0; i < m->nfields; i++) {
        const tide_field *f = m->fields[i];
        const char *what = f->identity ? "an identity" : f->generated ? "a generated expression"
                         : f->check ? "a check" : f->updated_at ? "updated_at"
                         : f->default_kind != TIDE_DEFAULT_NONE ? "a default"
                         : (f->type == TIDE_T_SMALLSERIAL || f->type == TIDE_T_SERIAL || f->type == TIDE_T_BIGSERIAL)
                             ? "a serial type (use the integer type)" : NULL;
        if (what)
            problem(p, "%s.%s: a %s's field cannot have %s (its query makes the rows)", m->name, f->name,
                    kind_word(m), what);
    }
    if (m->nchecks)
        problem(p, "%s: a %s cannot have check constraints", m->name, kind_word(m));
    if (m->kind == TIDE_MODEL_VIEW)
        for (int i = 0; i < m->nindexes; i++)
            if (m->indexes[i]->kind == TIDE_INDEX_PLAIN) {
                problem(p, "%s: a view cannot have indexes (a materialized view can)", m->name);
                break;
            }
    if (m->npolicies || m->rls || m->force_rls)
        problem(p, "%s: row-level security applies to tables, and %s is a %s", m->name, m->name, kind_word(m));
}

static void check_policies(tide_model *m, problems *p)
{
    char h[160];
    for (int i = 0; i < m->npolicies; i++) {
        tsch_policy *pol = &m->policies[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(m->policies[j].name, pol->name)) {
                problem(p, "%s: policy '%s' is declared twice", m->name, pol->name);
                break;
            }
        pol->cmd = -1;
        for (int k = 0; k < 5 && pol->cmd < 0; k++)
            if (!strcmp(pol->command ? pol->command : "all", tsch_policy_commands[k]))
                pol->cmd = k;
        if (pol->cmd < 0) {
            problem(p, "%s: policy '%s': unknown command '%s'%s", m->name, pol->name, pol->command,
                    hint(h, sizeof h, tide_nearest(pol->command, tsch_policy_commands, 5)));
            continue;
        }
        for (int k = 0; k < pol->nroles && pol->nroles > 1; k++)
            if (!strcmp(pol->roles[k], "public")) {
                problem(p, "%s: policy '%s': public covers every role (PostgreSQL would ignore '%s')", m->name,
                        pol->name, pol->roles[k ? 0 : 1]);
                break;
            }
        if (!pol->using_expr && !pol->check)
            problem(p, "%s: policy '%s' needs using or check", m->name, pol->name);
        else if (pol->cmd == TSCH_POLICY_INSERT && pol->using_expr)
            problem(p, "%s: policy '%s': an insert policy takes only check (WITH CHECK)", m->name, pol->name);
        else if ((pol->cmd == TSCH_POLICY_SELECT || pol->cmd == TSCH_POLICY_DELETE) && pol->check)
            problem(p, "%s: policy '%s': a %s policy takes only using", m->name, pol->name,
                    tsch_policy_commands[pol->cmd]);
    }
    if (m->rls_set && !m->rls && (m->npolicies || m->force_rls))
        problem(p, "%s: rls is off, yet it has %s", m->name, m->npolicies ? "policies" : "force_rls");
    m->rls = m->rls || m->force_rls || m->npolicies > 0;
}

/* PostgreSQL's bounds: an ascending sequence runs 1 .. 2^63-1, a descending
 * one -2^63 .. -1, and starts at its low or high end. */
static void check_sequences(tide_schema *s, problems *p)
{
    for (int i = 0; i < s->nsequences; i++) {
        const tsch_sequence *q = s->sequences[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(s->sequences[j]->name, q->name)) {
                problem(p, "sequence '%s' is declared twice", q->name);
                break;
            }
        for (int j = 0; j < s->nmodels; j++)
            if (!strcmp(s->models[j]->table, q->name) && same_ns(s->models[j]->pg_schema, q->pg_schema))
                problem(p, "sequence '%s' has the name of %s's %s", q->name, s->models[j]->name,
                        kind_word(s->models[j]));
        int up = q->increment >= 0;
        int64_t lo = q->has_min ? q->min_value : up ? 1 : INT64_MIN;
        int64_t hi = q->has_max ? q->max_value : up ? INT64_MAX : -1;
        int64_t start = q->has_start ? q->start : up ? lo : hi;
        if (q->cache < 0)
            problem(p, "sequence '%s': cache must be 1 or more", q->name);
        if (lo >= hi)
            problem(p, "sequence '%s': min %" PRId64 " must be below max %" PRId64, q->name, lo, hi);
        else if (start < lo)
            problem(p, "sequence '%s': start %" PRId64 " is below min %" PRId64, q->name, start, lo);
        else if (start > hi)
            problem(p, "sequence '%s': start %" PRId64 " is above max %" PRId64, q->name, start, hi);
    }
}

/* The index of name in list, or -1. */
static int index_of(const char *name, const char *const *list, int n)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(name, list[i]))
            return i;
    return -1;
}

static void check_functions(tide_schema *s, problems *p)
{
    static const char *const volatilities[] = {"volatile", "stable", "immutable"};
    char h[160];
    for (int i = 0; i < s->nfunctions; i++) {
        tsch_function *f = s->functions[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(s->functions[j]->name, f->name)) {
                problem(p, "function '%s' is declared twice (one function per name)", f->name);
                break;
            }
        int v = f->volatility ? index_of(f->volatility, volatilities, 3) : 0;
        if (v < 0)
            problem(p, "function '%s': unknown volatility '%s'%s (volatile, stable, immutable)", f->name,
                    f->volatility, hint(h, sizeof h, tide_nearest(f->volatility, volatilities, 3)));
        f->volatility_code = "vsi"[v < 0 ? 0 : v];
    }
}

static void check_triggers(tide_schema *s, tide_model *m, problems *p)
{
    static const char *const timings[] = {"after", "before", "instead_of"}; /* TSCH_AFTER ... */
    char h[160];
    for (int i = 0; i < m->ntriggers; i++) {
        tsch_trigger *t = &m->triggers[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(m->triggers[j].name, t->name)) {
                problem(p, "%s: trigger '%s' is declared twice", m->name, t->name);
                break;
            }
        t->timing_code = index_of(t->timing, timings, 3);
        if (t->timing_code < 0)
            problem(p, "%s: trigger '%s': timing '%s' is not before, after or instead_of%s", m->name, t->name,
                    t->timing ? t->timing : "(none)",
                    hint(h, sizeof h, t->timing ? tide_nearest(t->timing, timings, 3) : NULL));
        else if (t->timing_code == TSCH_INSTEAD_OF && (m->kind != TIDE_MODEL_VIEW || !t->for_each_row))
            problem(p, "%s: trigger '%s': instead_of is for row triggers on views", m->name, t->name);
        int all = TIDE_TRIGGER_INSERT | TIDE_TRIGGER_DELETE | TIDE_TRIGGER_UPDATE | TIDE_TRIGGER_TRUNCATE;
        if (!t->events || (t->events & ~all))
            problem(p, "%s: trigger '%s' needs events: insert, update, delete or truncate", m->name, t->name);
        else if ((t->events & TIDE_TRIGGER_TRUNCATE) && t->for_each_row)
            problem(p, "%s: trigger '%s': truncate fires for each statement only", m->name, t->name);
        t->function_ref = tsch_function_find(s, t->function);
        if (!t->function_ref) {
            const char *names[256];
            int n = 0;
            for (int k = 0; k < s->nfunctions && n < 256; k++)
                names[n++] = s->functions[k]->name;
            problem(p, "%s: trigger '%s' executes unknown function '%s'%s", m->name, t->name, t->function,
                    hint(h, sizeof h, tide_nearest(t->function, names, n)));
        } else if (strcasecmp(t->function_ref->returns, "trigger") != 0) {
            problem(p, "%s: trigger '%s': function '%s' returns %s, not trigger", m->name, t->name, t->function,
                    t->function_ref->returns);
        }
    }
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
        if (f->default_kind == TIDE_DEFAULT_NEXTVAL)
            check_nextval(s, m, f, p);
        if (f->primary && f->nullable)
            problem(p, "%s.%s: a primary key cannot be nullable", m->name, f->name);
    }
    if (m->kind != TIDE_MODEL_TABLE)
        check_view(m, p);
    else
        check_policies(m, p);

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
    if (flagged == 0 && composite == 0 && m->kind == TIDE_MODEL_TABLE)
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
    if (m->kind == TIDE_MODEL_TABLE && t->kind != TIDE_MODEL_TABLE) {
        problem(p, "%s.%s: %s is a %s: a table's foreign key cannot reference it (a view may hold the belongs_to)",
                m->name, rel_label(r), t->name, kind_word(t));
        return;
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
    if (m->kind != TIDE_MODEL_TABLE || t->kind != TIDE_MODEL_TABLE) {
        problem(p, "%s.%s: an implicit many_to_many cannot join %s, a %s (use through =)", m->name, r->name,
                m->kind != TIDE_MODEL_TABLE ? m->name : t->name, kind_word(m->kind != TIDE_MODEL_TABLE ? m : t));
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

    /* tables and views: no two models in one relation name */
    for (int i = 0; i < s->nmodels; i++) {
        const tide_model *a = s->models[i];
        for (int j = 0; j < i; j++) {
            const tide_model *b = s->models[j];
            if (strcmp(a->table, b->table) != 0 || !same_ns(a->pg_schema, b->pg_schema))
                continue;
            if (a->kind == TIDE_MODEL_TABLE && b->kind == TIDE_MODEL_TABLE)
                problem(&p, "%s: table '%s' is also %s's", a->name, a->table, b->name);
            else
                problem(&p, "%s: %s '%s' has the name of %s's %s", a->name, kind_word(a), a->table, b->name,
                        kind_word(b));
        }
    }
    check_sequences(s, &p);
    check_functions(s, &p);
    for (int i = 0; i < s->nmodels; i++) {
        check_model(s, s->models[i], &p);
        check_triggers(s, s->models[i], &p);
    }
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
