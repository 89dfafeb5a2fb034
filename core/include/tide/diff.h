/* Schema diffs: from what a database holds (or a snapshot of what it
 * should hold) to what a schema declares, an ordered list of steps, each
 * with its SQL, its inverse (for down migrations) and whether it can lose
 * data. Pure functions, like the rest of the SQL layer: nothing here
 * touches a connection. Whoever holds one runs tide_introspect_sql() and
 * hands the text it returns to tide_catalog_from_json.
 *
 * A catalog is what a database holds, object by object, every name
 * resolved: tables and their columns, constraints, indexes, policies and
 * triggers; views; enums; sequences; functions. It comes from a finished schema (its DDL's
 * objects, with the names the server gives them), from JSON (a migration's
 * snapshot, written by tide_catalog_to_json), or from a live database
 * (the JSON tide_introspect_sql's query returns: the same format).
 *
 * Renames are never guessed: a field, model or enum declares what it was
 * called before (renamed_from), and only then is a rename a step; else a
 * vanished name is a drop and a new one a create. */
#ifndef TIDE_DIFF_H
#define TIDE_DIFF_H

#include "tide/common.h"
#include "tide/error.h"
#include "tide/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_catalog tide_catalog;

/* The objects tide_schema_ddl creates for s (finished). */
TIDE_API int tide_catalog_from_schema(const tide_schema *s, tide_catalog **out, tide_error *err);
/* A snapshot, or the result of tide_introspect_sql's query. "{}" is the
 * empty database. */
TIDE_API int tide_catalog_from_json(const char *json, size_t len, tide_catalog **out, tide_error *err);
/* The catalog as JSON (the snapshot format): *out is the caller's, freed
 * with tide_catalog_json_free. Rename hints are left out. */
TIDE_API int tide_catalog_to_json(const tide_catalog *c, char **out, size_t *len, tide_error *err);
TIDE_API void tide_catalog_json_free(char *json);
TIDE_API void tide_catalog_free(tide_catalog *c);

/* One query, no parameters, one row of one column: the connected
 * database's user objects (in every pg schema but the system ones; those
 * of current_schema() without a schema name) as catalog JSON, leaving
 * out tide's migration history (_tide_migrations) and extensions' objects.
 * Static text. */
TIDE_API const char *tide_introspect_sql(void);

typedef enum tide_step_kind {
    TIDE_STEP_CREATE_SCHEMA = 1,
    TIDE_STEP_CREATE_ENUM, TIDE_STEP_DROP_ENUM, TIDE_STEP_RENAME_ENUM,
    TIDE_STEP_ADD_ENUM_VALUE, TIDE_STEP_RENAME_ENUM_VALUE,
    TIDE_STEP_REWRITE_ENUM,      /* values removed (or reordered): a new type, columns cast over */
    TIDE_STEP_CREATE_SEQUENCE, TIDE_STEP_DROP_SEQUENCE, TIDE_STEP_ALTER_SEQUENCE,
    TIDE_STEP_CREATE_TABLE, TIDE_STEP_DROP_TABLE, TIDE_STEP_RENAME_TABLE,
    TIDE_STEP_ADD_COLUMN, TIDE_STEP_DROP_COLUMN, TIDE_STEP_RENAME_COLUMN,
    TIDE_STEP_ALTER_COLUMN_TYPE, TIDE_STEP_SET_NOT_NULL, TIDE_STEP_DROP_NOT_NULL,
    TIDE_STEP_SET_DEFAULT, TIDE_STEP_DROP_DEFAULT,
    TIDE_STEP_ADD_CONSTRAINT, TIDE_STEP_DROP_CONSTRAINT, TIDE_STEP_RENAME_CONSTRAINT,
    TIDE_STEP_CREATE_INDEX, TIDE_STEP_DROP_INDEX, TIDE_STEP_RENAME_INDEX,
    TIDE_STEP_CREATE_VIEW, TIDE_STEP_DROP_VIEW,
    TIDE_STEP_SET_RLS,           /* enable/disable/force row-level security */
    TIDE_STEP_ALTER_IDENTITY,    /* add, drop or change GENERATED ... AS IDENTITY */
    TIDE_STEP_CREATE_POLICY, TIDE_STEP_DROP_POLICY,
    TIDE_STEP_CREATE_FUNCTION, TIDE_STEP_DROP_FUNCTION,
    TIDE_STEP_REPLACE_FUNCTION,  /* a new body (CREATE OR REPLACE), or new arguments or result (drop, create) */
    TIDE_STEP_CREATE_TRIGGER, TIDE_STEP_DROP_TRIGGER,
    TIDE_STEP_COUNT_
} tide_step_kind;

/* "create_table", "drop_column", ... */
TIDE_API const char *tide_step_kind_name(tide_step_kind k);

enum tide_step_flags {
    TIDE_STEP_DESTRUCTIVE = 1,   /* may lose data: drops, narrowing types, removing enum values */
    TIDE_STEP_IRREVERSIBLE = 2,  /* its inverse restores the structure, not the data */
    TIDE_STEP_MAY_FAIL = 4       /* may fail on existing rows (SET NOT NULL, a new unique or check, a cast) */
};

typedef struct tide_diff tide_diff;

/* The steps that turn `from` into `to`, in an order that runs. */
TIDE_API int tide_diff_new(const tide_catalog *from, const tide_catalog *to, tide_diff **out, tide_error *err);
TIDE_API void tide_diff_free(tide_diff *d);
TIDE_API int tide_diff_count(const tide_diff *d);
TIDE_API tide_step_kind tide_diff_kind(const tide_diff *d, int i);
TIDE_API int tide_diff_flags(const tide_diff *d, int i);
/* "drop column users.age": for people. Valid until tide_diff_free. */
TIDE_API const char *tide_diff_summary(const tide_diff *d, int i);
/* The table whose rows the step touches (for "how many rows" warnings):
 * its pg schema (NULL: the search_path's) and name, or NULL. */
TIDE_API const char *tide_diff_table(const tide_diff *d, int i, const char **pg_schema);
/* The step's statements, and its inverse's (run in order; the down
 * migration runs the inverses of the steps in reverse order). */
TIDE_API int tide_diff_sql_count(const tide_diff *d, int i);
TIDE_API const char *tide_diff_sql(const tide_diff *d, int i, int k);
TIDE_API int tide_diff_down_count(const tide_diff *d, int i);
TIDE_API const char *tide_diff_down(const tide_diff *d, int i, int k);

#ifdef __cplusplus
}
#endif
#endif
