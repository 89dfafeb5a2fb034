/* tide_schema: models, fields, enums, indexes and relations, validated as a
 * whole. The schema holds no SQL text of its own making: DDL and queries are
 * generated from it by the SQL layer (tide/sql.h). Everything here is
 * reachable from C; the Lua DSL (tide.schema) is one client of it.
 *
 * Building: add enums and models, then fields, constraints and relations to
 * each model, in any order (a relation may name a model added later); then
 * tide_schema_finish() checks the whole and reports every problem it finds.
 * A finished schema is read-only and may be shared between threads. */
#ifndef TIDE_SCHEMA_H
#define TIDE_SCHEMA_H

#include "tide/common.h"
#include "tide/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_schema tide_schema;
typedef struct tide_model tide_model;
typedef struct tide_field tide_field;
typedef struct tide_relation tide_relation;

typedef enum tide_type {
    TIDE_T_SMALLINT = 1, TIDE_T_INTEGER, TIDE_T_BIGINT,
    TIDE_T_SMALLSERIAL, TIDE_T_SERIAL, TIDE_T_BIGSERIAL,
    TIDE_T_REAL, TIDE_T_DOUBLE, TIDE_T_NUMERIC,
    TIDE_T_TEXT, TIDE_T_VARCHAR, TIDE_T_CHAR,
    TIDE_T_BOOLEAN, TIDE_T_BYTEA, TIDE_T_UUID,
    TIDE_T_DATE, TIDE_T_TIME, TIDE_T_TIMETZ, TIDE_T_TIMESTAMP, TIDE_T_TIMESTAMPTZ, TIDE_T_INTERVAL,
    TIDE_T_JSON, TIDE_T_JSONB,
    TIDE_T_INET, TIDE_T_CIDR,
    TIDE_T_TSVECTOR,
    TIDE_T_ENUM,     /* type_name names an enum of the schema */
    TIDE_T_CUSTOM,   /* type_name is a PostgreSQL type, written as given */
    TIDE_T_COUNT_
} tide_type;

/* "bigint", "timestamptz", ...: the DSL's names for the types. */
TIDE_API const char *tide_type_name(tide_type t);
/* The type for a DSL name, or 0. */
TIDE_API tide_type tide_type_from_name(const char *name);

typedef enum tide_default_kind {
    TIDE_DEFAULT_NONE = 0,
    TIDE_DEFAULT_LITERAL,   /* value: the literal's text, written as a quoted SQL literal */
    TIDE_DEFAULT_NOW,       /* now() */
    TIDE_DEFAULT_UUID,      /* gen_random_uuid() */
    TIDE_DEFAULT_SQL,       /* value: an SQL expression, the programmer's own text */
    TIDE_DEFAULT_CLIENT,    /* computed by the client before insert; no DDL default */
    TIDE_DEFAULT_NEXTVAL    /* value: a sequence of the schema (tide_schema_add_sequence), by name */
} tide_default_kind;

typedef enum tide_identity {
    TIDE_IDENTITY_NONE = 0,
    TIDE_IDENTITY_ALWAYS,
    TIDE_IDENTITY_BY_DEFAULT
} tide_identity;

/* A field, filled in by the caller and copied. */
typedef struct tide_field_def {
    const char *name;         /* the field's name in code */
    const char *column;       /* its column; NULL: the name */
    tide_type type;
    const char *type_name;    /* TIDE_T_ENUM: the enum; TIDE_T_CUSTOM: the SQL type */
    int length;               /* varchar(n), char(n); 0: none */
    int precision, scale;     /* numeric(p, s); timestamp(p) uses precision; -1: none */
    int array_dims;           /* 0: scalar; 1: type[]; 2: type[][] */
    int nullable;
    int primary;              /* a one-column primary key */
    int unique;               /* a one-column unique constraint */
    tide_identity identity;
    tide_default_kind default_kind;
    const char *default_value;
    int updated_at;           /* set to now() by every update through the client */
    const char *generated;    /* GENERATED ALWAYS AS (expression) STORED */
    const char *check;        /* a CHECK on this column (an SQL expression) */
    int omit;                 /* left out of results unless selected by name */
    const char *renamed_from; /* the column was called this before (a rename, for migrations) */
} tide_field_def;

TIDE_API void tide_field_def_init(tide_field_def *def);

typedef enum tide_action {
    TIDE_ACTION_DEFAULT = 0,  /* PostgreSQL's default: NO ACTION */
    TIDE_ACTION_NO_ACTION,
    TIDE_ACTION_RESTRICT,
    TIDE_ACTION_CASCADE,
    TIDE_ACTION_SET_NULL,
    TIDE_ACTION_SET_DEFAULT
} tide_action;

TIDE_API tide_action tide_action_from_name(const char *name); /* "cascade", "set_null", ...; -1 if unknown */

typedef enum tide_relation_kind {
    TIDE_REL_BELONGS_TO = 1,  /* this model holds the foreign key */
    TIDE_REL_HAS_ONE,         /* the target holds a unique foreign key to this model */
    TIDE_REL_HAS_MANY,        /* the target holds a foreign key to this model */
    TIDE_REL_MANY_TO_MANY     /* through a join table, implicit or an explicit model */
} tide_relation_kind;

/* A relation, filled in by the caller and copied. Unset parts are inferred
 * at tide_schema_finish: a belongs_to "author" to User uses field
 * "author_id" referencing User's primary key; a has_many to Post finds the
 * one belongs_to on Post that points back (or the one named by `inverse`). */
typedef struct tide_relation_def {
    const char *name;
    tide_relation_kind kind;
    const char *target;          /* the related model */
    const char *const *fields;   /* belongs_to: this model's foreign key fields */
    const char *const *references; /* belongs_to: the target's fields (default: its primary key) */
    int nfields;
    const char *inverse;         /* the relation on the target that this one mirrors */
    const char *through;         /* many_to_many: an explicit join model; NULL: implicit */
    const char *join_table;      /* many_to_many implicit: the join table's name */
    tide_action on_delete, on_update;
    const char *constraint_name; /* the foreign key's name; NULL: PostgreSQL's default */
} tide_relation_def;

TIDE_API void tide_relation_def_init(tide_relation_def *def);

typedef enum tide_index_method {
    TIDE_INDEX_BTREE = 0, TIDE_INDEX_HASH, TIDE_INDEX_GIN, TIDE_INDEX_GIST, TIDE_INDEX_BRIN
} tide_index_method;

/* One part of an index, unique or primary key: a field, or an expression. */
typedef struct tide_index_part {
    const char *field;           /* NULL when expression is set */
    const char *expression;      /* an SQL expression (the programmer's text) */
    int descending;
    int nulls;                   /* 0: default, 1: NULLS FIRST, 2: NULLS LAST */
} tide_index_part;

typedef enum tide_index_kind {
    TIDE_INDEX_PLAIN = 0, TIDE_INDEX_UNIQUE, TIDE_INDEX_PRIMARY
} tide_index_kind;

typedef struct tide_index_def {
    tide_index_kind kind;
    const char *name;            /* NULL: derived from table and columns */
    const tide_index_part *parts;
    int nparts;
    tide_index_method method;
    const char *where;           /* a partial index's condition */
    int nulls_not_distinct;      /* unique only */
} tide_index_def;

TIDE_API void tide_index_def_init(tide_index_def *def);

/* Building. Names are copied. Each returns TIDE_OK or TIDE_ERROR (err: a
 * duplicate name, an invalid identifier, misuse after finish). */
TIDE_API tide_schema *tide_schema_new(tide_error *err);
TIDE_API void tide_schema_free(tide_schema *s);
TIDE_API int tide_schema_add_enum(tide_schema *s, const char *name, const char *pg_schema,
                                  const char *const *values, int nvalues, tide_error *err);
/* table NULL: the model's name in snake_case, pluralised simply ("User" ->
 * "users"); pg_schema NULL: the connection's search_path. */
TIDE_API tide_model *tide_schema_add_model(tide_schema *s, const char *name, const char *table,
                                           const char *pg_schema, tide_error *err);
TIDE_API int tide_model_add_field(tide_model *m, const tide_field_def *def, tide_error *err);
TIDE_API int tide_model_add_relation(tide_model *m, const tide_relation_def *def, tide_error *err);
TIDE_API int tide_model_add_index(tide_model *m, const tide_index_def *def, tide_error *err);
TIDE_API int tide_model_add_check(tide_model *m, const char *name, const char *expression, tide_error *err);
/* Rename hints for migrations (tide/diff.h): the model's table (or view)
 * was called old_table before; the enum was called renamed_from (NULL:
 * same name) and its values pairs[2i] were called pairs[2i+1]. A rename is
 * never guessed: without a hint a vanished name is a drop. */
TIDE_API int tide_model_set_renamed_from(tide_model *m, const char *old_table, tide_error *err);
TIDE_API int tide_schema_set_enum_renames(tide_schema *s, const char *name, const char *renamed_from,
                                          const char *const *pairs, int npairs, tide_error *err);

/* Soft delete: deletes set this timestamp field instead, reads skip rows
 * where it is set. */
TIDE_API int tide_model_set_soft_delete(tide_model *m, const char *field, tide_error *err);

/* ---- views, sequences, row-level security ----------------------------------
 *
 * A model is a table unless it is made a view. A view's fields describe the
 * columns its query yields (for typed reads through the model client); a
 * primary key is optional (find_unique needs one) and, like unique fields,
 * is a promise about its rows rather than a constraint, except on a
 * materialized view, where the primary key and unique fields become unique
 * indexes (REFRESH ... CONCURRENTLY needs one). Views are read-only through
 * the model client. A view may hold belongs_to relations (no foreign key is
 * created) and, given a primary key, be the target of a has_one/has_many,
 * for reads. A table's foreign key cannot reference a view. */
typedef enum tide_model_kind {
    TIDE_MODEL_TABLE = 0,
    TIDE_MODEL_VIEW,
    TIDE_MODEL_MATERIALIZED_VIEW
} tide_model_kind;

typedef struct tide_view_def {
    tide_model_kind kind;     /* TIDE_MODEL_VIEW or TIDE_MODEL_MATERIALIZED_VIEW */
    const char *sql;          /* the query, the programmer's own text, written as given */
    int with_data;            /* materialized: filled when created (1, the default) or WITH NO DATA */
} tide_view_def;

TIDE_API void tide_view_def_init(tide_view_def *def);
/* Makes m a view. A missing query is reported by tide_schema_finish. */
TIDE_API int tide_model_set_view(tide_model *m, const tide_view_def *def, tide_error *err);

/* A sequence, created before the tables so that a default can draw from it
 * (TIDE_DEFAULT_NEXTVAL). Unset bounds take PostgreSQL's defaults. */
typedef struct tide_sequence_def {
    const char *name;
    const char *pg_schema;    /* NULL: the search_path */
    int64_t start, min_value, max_value;
    int has_start, has_min, has_max;
    int64_t increment;        /* 0: PostgreSQL's default (1) */
    int64_t cache;            /* 0: PostgreSQL's default (1) */
    int cycle;
} tide_sequence_def;

TIDE_API void tide_sequence_def_init(tide_sequence_def *def);
/* Names are checked here; duplicates and bounds by tide_schema_finish. */
TIDE_API int tide_schema_add_sequence(tide_schema *s, const tide_sequence_def *def, tide_error *err);

/* A row-level security policy on a table. Expressions are the programmer's
 * own SQL text. Declaring one turns row-level security on for the table. */
typedef struct tide_policy_def {
    const char *name;
    const char *command;      /* "all" (NULL), "select", "insert", "update" or "delete"; checked at finish */
    const char *using_expr;   /* USING: the existing rows the policy lets through */
    const char *check;        /* WITH CHECK: the new rows it allows */
    const char *const *roles; /* NULL: PUBLIC; "public", "current_user", "current_role",
                               * "session_user" are the keywords */
    int nroles;
    int restrictive;          /* AS RESTRICTIVE; default PERMISSIVE */
} tide_policy_def;

TIDE_API void tide_policy_def_init(tide_policy_def *def);
TIDE_API int tide_model_add_policy(tide_model *m, const tide_policy_def *def, tide_error *err);
/* ENABLE ROW LEVEL SECURITY (also implied by a policy or by force) and
 * FORCE ROW LEVEL SECURITY (the table's owner is held to the policies too).
 * enable = 0 with policies is reported by tide_schema_finish. */
TIDE_API int tide_model_set_rls(tide_model *m, int enable, int force, tide_error *err);

/* ---- functions and triggers ------------------------------------------------
 *
 * A function of the schema: CREATE FUNCTION name(args) RETURNS returns
 * LANGUAGE language [STABLE | IMMUTABLE] AS 'body'. Created after the
 * sequences and before the tables (so defaults, checks and policies can
 * call it; a language "sql" body is checked when it is created, so one that
 * reads a table of the schema needs plpgsql). args, returns and body are the
 * programmer's own SQL text, written as given; write types as PostgreSQL
 * prints them (integer, not int) so that a database read back compares
 * equal. One function per name: no overloading. */
typedef struct tide_function_def {
    const char *name;
    const char *pg_schema;    /* NULL: the search_path */
    const char *args;         /* "a integer, b text"; NULL: none */
    const char *returns;      /* "trigger", "integer", "setof text", ... */
    const char *language;     /* "plpgsql", "sql", ... */
    const char *body;
    const char *volatility;   /* NULL or "volatile", "stable", "immutable"; checked at finish */
} tide_function_def;

TIDE_API void tide_function_def_init(tide_function_def *def);
TIDE_API int tide_schema_add_function(tide_schema *s, const tide_function_def *def, tide_error *err);

/* The events of a trigger: pg_trigger's tgtype bits. */
enum tide_trigger_event {
    TIDE_TRIGGER_INSERT = 4,
    TIDE_TRIGGER_DELETE = 8,
    TIDE_TRIGGER_UPDATE = 16,
    TIDE_TRIGGER_TRUNCATE = 32
};

/* A trigger on a table: CREATE TRIGGER name timing events ON table FOR EACH
 * ROW | STATEMENT [WHEN (when)] EXECUTE FUNCTION function(). Created after
 * the tables and views. */
typedef struct tide_trigger_def {
    const char *name;
    const char *timing;       /* "before", "after" or "instead_of"; checked at finish */
    int events;               /* tide_trigger_event bits, one at least */
    int for_each_row;         /* 0: for each statement */
    const char *function;     /* a function of the schema (tide_schema_add_function), by name */
    const char *when;         /* the programmer's SQL condition, or NULL */
} tide_trigger_def;

TIDE_API void tide_trigger_def_init(tide_trigger_def *def);
TIDE_API int tide_model_add_trigger(tide_model *m, const tide_trigger_def *def, tide_error *err);

TIDE_API tide_model_kind tide_model_kind_of(const tide_model *m);
/* A view's query; NULL for a table. Valid until tide_schema_free. */
TIDE_API const char *tide_model_view_sql(const tide_model *m);

/* REFRESH MATERIALIZED VIEW [CONCURRENTLY] for the materialized view model
 * `model` of a finished schema, as a one-statement tide_ddl (free with
 * tide_ddl_free). Written by the SQL layer (core/sql/ddl.c), beside
 * tide_schema_ddl (tide/sql.h). Fails for an unknown model (naming the
 * nearest materialized view), a table or plain view, and concurrently on a
 * materialized view without a unique key. */
typedef struct tide_ddl tide_ddl;
TIDE_API int tide_schema_refresh_sql(const tide_schema *s, const char *model, int concurrently, tide_ddl **out,
                                     tide_error *err);

/* Checks the whole schema and infers what relations left unset. On failure
 * err's message lists every problem, one per line, each naming the model and
 * field and, for an unknown name, the nearest valid one. */
TIDE_API int tide_schema_finish(tide_schema *s, tide_error *err);

/* Reading (a finished schema). Pointers are valid until tide_schema_free. */
TIDE_API int tide_schema_model_count(const tide_schema *s);
TIDE_API const tide_model *tide_schema_model_at(const tide_schema *s, int i);
TIDE_API const tide_model *tide_schema_model(const tide_schema *s, const char *name);
TIDE_API const char *tide_model_name(const tide_model *m);
TIDE_API const char *tide_model_table(const tide_model *m);
TIDE_API int tide_model_field_count(const tide_model *m);
TIDE_API const tide_field *tide_model_field_at(const tide_model *m, int i);
TIDE_API const tide_field *tide_model_field(const tide_model *m, const char *name);
/* The field stored in column col (len bytes, not NUL-terminated), or NULL. */
TIDE_API const tide_field *tide_model_field_by_column(const tide_model *m, const char *col, size_t len);
TIDE_API const char *tide_field_name(const tide_field *f);
TIDE_API const char *tide_field_column(const tide_field *f);
TIDE_API tide_type tide_field_type(const tide_field *f);
TIDE_API int tide_field_nullable(const tide_field *f);
TIDE_API int tide_model_relation_count(const tide_model *m);
TIDE_API const tide_relation *tide_model_relation_at(const tide_model *m, int i);
TIDE_API const tide_relation *tide_model_relation(const tide_model *m, const char *name);
/* A resolved relation. The foreign key joins holder fields to referenced
 * fields: for belongs_to the holder is the relation's own model, for
 * has_one/has_many it is the target. tide_relation_key_field names, on the
 * relation's own model, the fields whose values identify related rows (the
 * foreign key for belongs_to, the referenced key otherwise; through a join
 * model, what that model's foreign key references). Several for a composite
 * key, in the foreign key's order. */
TIDE_API const char *tide_relation_name(const tide_relation *r);
TIDE_API tide_relation_kind tide_relation_kind_of(const tide_relation *r);
TIDE_API const tide_model *tide_relation_target(const tide_relation *r);
TIDE_API int tide_relation_key_count(const tide_relation *r);
TIDE_API const tide_field *tide_relation_key_field(const tide_relation *r, int i);
/* On the target: the fields that identify it to this relation (belongs_to:
 * the referenced fields; has_one/has_many: the target's foreign key, matched
 * field for field with the key fields; many_to_many: the target's primary
 * key, or through a model, what that model's foreign key to the target
 * references, whose count may differ from the key count). */
TIDE_API int tide_relation_target_key_count(const tide_relation *r);
TIDE_API const tide_field *tide_relation_target_key_field(const tide_relation *r, int i);
/* many_to_many through an explicit model: that model; else NULL. */
TIDE_API const tide_model *tide_relation_through(const tide_relation *r);

/* The name among candidates nearest to name, or NULL when none is close
 * enough to be a typo. Used for every "did you mean" in tide. */
TIDE_API const char *tide_nearest(const char *name, const char *const *candidates, int n);

#ifdef __cplusplus
}
#endif
#endif
