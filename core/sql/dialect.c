/* The PostgreSQL dialect: quoting, placeholders and type names. The one
 * place where an identifier or a literal becomes SQL text. */
#include <string.h>
#include "tsql.h"

/* Writes s between two q characters, doubling every q inside. */
static void quote_with(tutil_buf *b, const char *s, char q)
{
    tutil_buf_addc(b, q);
    for (const char *p = s; *p;) {
        const char *hit = strchr(p, q);
        size_t n = hit ? (size_t)(hit - p) + 1 : strlen(p);
        tutil_buf_add(b, p, n);
        if (!hit)
            break;
        tutil_buf_addc(b, q);
        p = hit + 1;
    }
    tutil_buf_addc(b, q);
}

static void pg_quote_ident(tutil_buf *b, const char *name)
{
    quote_with(b, name, '"');
}

static void pg_quote_literal(tutil_buf *b, const char *text)
{
    quote_with(b, text, '\'');
}

static void pg_placeholder(tutil_buf *b, int n)
{
    tutil_buf_addf(b, "$%d", n);
}

/* "(p)" when a precision is set: time, timestamp, interval. */
static void precision(tutil_buf *b, const tide_field *f)
{
    if (f->precision >= 0)
        tutil_buf_addf(b, "(%d)", f->precision);
}

static void pg_type_name(tutil_buf *b, const tide_field *f)
{
    switch (f->type) {
    case TIDE_T_SMALLINT: tutil_buf_adds(b, "smallint"); break;
    case TIDE_T_INTEGER: tutil_buf_adds(b, "integer"); break;
    case TIDE_T_BIGINT: tutil_buf_adds(b, "bigint"); break;
    case TIDE_T_SMALLSERIAL: tutil_buf_adds(b, "smallserial"); break;
    case TIDE_T_SERIAL: tutil_buf_adds(b, "serial"); break;
    case TIDE_T_BIGSERIAL: tutil_buf_adds(b, "bigserial"); break;
    case TIDE_T_REAL: tutil_buf_adds(b, "real"); break;
    case TIDE_T_DOUBLE: tutil_buf_adds(b, "double precision"); break;
    case TIDE_T_NUMERIC:
        tutil_buf_adds(b, "numeric");
        if (f->precision >= 0 && f->scale >= 0)
            tutil_buf_addf(b, "(%d,%d)", f->precision, f->scale);
        else if (f->precision >= 0)
            tutil_buf_addf(b, "(%d)", f->precision);
        break;
    case TIDE_T_TEXT: tutil_buf_adds(b, "text"); break;
    case TIDE_T_VARCHAR:
    case TIDE_T_CHAR:
        tutil_buf_adds(b, f->type == TIDE_T_VARCHAR ? "varchar" : "char");
        if (f->length > 0)
            tutil_buf_addf(b, "(%d)", f->length);
        break;
    case TIDE_T_BOOLEAN: tutil_buf_adds(b, "boolean"); break;
    case TIDE_T_BYTEA: tutil_buf_adds(b, "bytea"); break;
    case TIDE_T_UUID: tutil_buf_adds(b, "uuid"); break;
    case TIDE_T_DATE: tutil_buf_adds(b, "date"); break;
    case TIDE_T_TIME:
    case TIDE_T_TIMETZ:
        tutil_buf_adds(b, "time");
        precision(b, f);
        if (f->type == TIDE_T_TIMETZ)
            tutil_buf_adds(b, " with time zone");
        break;
    case TIDE_T_TIMESTAMP:
    case TIDE_T_TIMESTAMPTZ:
        tutil_buf_adds(b, "timestamp");
        precision(b, f);
        if (f->type == TIDE_T_TIMESTAMPTZ)
            tutil_buf_adds(b, " with time zone");
        break;
    case TIDE_T_INTERVAL:
        tutil_buf_adds(b, "interval");
        precision(b, f);
        break;
    case TIDE_T_JSON: tutil_buf_adds(b, "json"); break;
    case TIDE_T_JSONB: tutil_buf_adds(b, "jsonb"); break;
    case TIDE_T_INET: tutil_buf_adds(b, "inet"); break;
    case TIDE_T_CIDR: tutil_buf_adds(b, "cidr"); break;
    case TIDE_T_TSVECTOR: tutil_buf_adds(b, "tsvector"); break;
    case TIDE_T_ENUM:
        /* resolved at finish; before that, the bare name */
        if (f->enum_ref)
            tsql_qualified(b, &tsql_postgres, f->enum_ref->pg_schema, f->enum_ref->name);
        else
            pg_quote_ident(b, f->type_name);
        break;
    case TIDE_T_CUSTOM:
        /* the programmer's own text, like a raw SQL fragment */
        tutil_buf_adds(b, f->type_name);
        break;
    default:
        /* tide_model_add_field refuses other values */
        break;
    }
    for (int i = 0; i < f->array_dims; i++)
        tutil_buf_adds(b, "[]");
}

/* The sequence's name as a regclass literal: its quoted identifier, quoted
 * again as a string, so any name survives both. */
static void pg_next_value(tutil_buf *b, const char *pg_schema, const char *name)
{
    tutil_buf q;
    tutil_buf_init(&q);
    tsql_qualified(&q, &tsql_postgres, pg_schema, name);
    tutil_buf_adds(b, "nextval(");
    if (q.broken)
        b->broken = 1;
    else
        pg_quote_literal(b, tutil_buf_str(&q));
    tutil_buf_adds(b, "::regclass)");
    tutil_buf_free(&q);
}

const tsql_dialect tsql_postgres = {
    .name = "postgresql",
    .max_ident = 63,
    .quote_ident = pg_quote_ident,
    .quote_literal = pg_quote_literal,
    .placeholder = pg_placeholder,
    .type_name = pg_type_name,
    .next_value = pg_next_value,
};

void tsql_qualified(tutil_buf *b, const tsql_dialect *d, const char *pg_schema, const char *name)
{
    if (pg_schema) {
        d->quote_ident(b, pg_schema);
        tutil_buf_addc(b, '.');
    }
    d->quote_ident(b, name);
}

void tsql_table(tutil_buf *b, const tsql_dialect *d, const tide_model *m)
{
    tsql_qualified(b, d, m->pg_schema, m->table);
}

const char *tsql_join_schema(const tide_relation *r)
{
    const tide_model *first = r->model;
    if (r->target && r->target->index < first->index)
        first = r->target;
    return first->pg_schema;
}

void tsql_join_table(tutil_buf *b, const tsql_dialect *d, const tide_relation *r)
{
    tsql_qualified(b, d, tsql_join_schema(r), r->join_table);
}
