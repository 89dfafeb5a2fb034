/* Private to core/sql: the dialect and the helpers every SQL writer shares.
 * Nothing here touches a connection. */
#ifndef TIDE_TSQL_H
#define TIDE_TSQL_H

#include "tide/sql.h"
#include "tschema.h"
#include "util.h"

/* The dialect is a table of leaf functions: the walkers (DDL, the query
 * compiler) never write an identifier, a literal, a placeholder or a type
 * themselves, so a second database means a second table, not a second walk.
 * Each writes into a tutil_buf and so inherits its "broken on OOM" rule. */
typedef struct tsql_dialect {
    const char *name;
    /* The longest identifier the server keeps, in bytes (PostgreSQL: 63). */
    int max_ident;
    /* Always quoted, embedded quotes doubled: a"b -> "a""b". */
    void (*quote_ident)(tutil_buf *b, const char *name);
    /* A string literal, quotes doubled: it's -> 'it''s'. PostgreSQL: relies
     * on standard_conforming_strings=on, which every tide connection checks,
     * so a backslash is an ordinary character. */
    void (*quote_literal)(tutil_buf *b, const char *text);
    /* Parameter n (1-based): $n. */
    void (*placeholder)(tutil_buf *b, int n);
    /* A field's column type, arrays included: "numeric(10,2)", "text[]",
     * "timestamp(3) with time zone", an enum's quoted (qualified) name. */
    void (*type_name)(tutil_buf *b, const tide_field *f);
    /* The next value of a sequence, as a column default:
     * nextval('"schema"."name"'::regclass). */
    void (*next_value)(tutil_buf *b, const char *pg_schema, const char *name);
} tsql_dialect;

extern const tsql_dialect tsql_postgres;

/* "schema"."name", or "name" when pg_schema is NULL. */
void tsql_qualified(tutil_buf *b, const tsql_dialect *d, const char *pg_schema, const char *name);
/* A model's table, qualified when the model names a pg schema. */
void tsql_table(tutil_buf *b, const tsql_dialect *d, const tide_model *m);

/* An implicit many_to_many's join table lives in the pg schema of the side
 * declared first (NULL: the search_path). The DDL and the query compiler both
 * ask here, so they cannot disagree. */
const char *tsql_join_schema(const tide_relation *r);
void tsql_join_table(tutil_buf *b, const tsql_dialect *d, const tide_relation *r);

/* An array of an enum or of a custom type: its OID is the server's, which
 * neither the encoder nor the decoder knows, so both compilers send its
 * values as text[] (cast on to the column's type) and read it as text[]:
 * Lua lists both ways. */
static inline int tsql_custom_array(const tide_field *f)
{
    return f->array_dims > 0 && (f->type == TIDE_T_ENUM || f->type == TIDE_T_CUSTOM);
}

#endif
