/* Private to core/sql: the catalog, what a database holds object by object
 * (tables, columns, constraints, indexes, enums, sequences, views, policies,
 * functions, triggers),
 * with every name resolved. A schema is lowered into one (ddl.c's walk
 * records what its statements create), a snapshot or an introspected
 * database is read into one (catalog_json.c), and the diff compares two.
 * Everything lives in the catalog's arena. Types are spelt as PostgreSQL's
 * format_type spells them ("character varying(80)", "timestamp(3) with time
 * zone", "text[]"), so a catalog read from the server compares with one
 * lowered from a schema. */
#ifndef TIDE_TCAT_H
#define TIDE_TCAT_H

#include "tsql.h"
#include "tide/diff.h"

typedef struct tcat_column {
    char *name, *type;
    int not_null;
    char *default_expr;          /* NULL: none */
    char identity;               /* 0, 'a' (always), 'd' (by default) */
    int serial;                  /* defaults to a sequence it owns (serial types) */
    char *generated;             /* GENERATED ALWAYS AS (generated) STORED */
    char *renamed_from;          /* a hint, from the schema only */
} tcat_column;

typedef struct tcat_constraint {
    char kind;                   /* 'p' primary, 'u' unique, 'c' check, 'f' foreign key */
    char *name;
    char **cols;
    int ncols;
    char *expr;                  /* check */
    int nulls_not_distinct;      /* unique */
    char *ref_schema, *ref_table;/* foreign key */
    char **ref_cols;             /* ncols of them */
    char on_delete, on_update;   /* pg_constraint's letters: a r c n d */
} tcat_constraint;

typedef struct tcat_part {
    char *column, *expr;         /* one of them */
    int desc, nulls;             /* nulls: 0 default, 1 first, 2 last */
} tcat_part;

typedef struct tcat_index {
    char *name;
    int unique;
    char *method;                /* "btree", "gin", ... */
    tcat_part *parts;
    int nparts;
    char *where;
    int nulls_not_distinct;
} tcat_index;

typedef struct tcat_policy {
    char *name;
    char *command;               /* "ALL", "SELECT", ... */
    int permissive;
    char **roles;                /* "public", "current_user", or role names */
    int nroles;
    char *using_expr, *check;
} tcat_policy;

/* CREATE TRIGGER: type holds pg_trigger.tgtype's bits (row 1, before 2,
 * insert 4, delete 8, update 16, truncate 32, instead 64). */
enum { TCAT_TRIGGER_ROW = 1, TCAT_TRIGGER_BEFORE = 2, TCAT_TRIGGER_INSTEAD = 64 };

typedef struct tcat_trigger {
    char *name;
    int type;
    char *func_schema, *func_name;
    char *when;
} tcat_trigger;

typedef struct tcat_table {
    char *schema, *name;         /* schema NULL: the search_path's */
    char kind;                   /* 't' table, 'v' view, 'm' materialized view */
    char *view_sql;
    int with_data;
    tcat_column **cols;
    int ncols, cols_cap;
    tcat_constraint **cons;
    int ncons, cons_cap;
    tcat_index **idx;
    int nidx, idx_cap;
    tcat_policy **pols;
    int npols, pols_cap;
    tcat_trigger **trigs;
    int ntrigs, trigs_cap;
    int rls, force_rls;
    char *renamed_from;          /* a hint: the table's name before */
} tcat_table;

typedef struct tcat_enum {
    char *schema, *name;
    char **values;
    int nvalues;
    char *renamed_from;
    char **value_renames;        /* pairs: new name, old name */
    int nvalue_renames;
} tcat_enum;

typedef struct tcat_sequence {
    char *schema, *name;
    int64_t start, min, max, increment, cache;
    int cycle;
} tcat_sequence;

/* args and returns as pg_get_function_arguments / _result print them;
 * volatility: pg_proc's letter (v s i). */
typedef struct tcat_function {
    char *schema, *name, *args, *returns, *language, *body;
    char volatility;
} tcat_function;

struct tide_catalog {
    tutil_arena arena;
    tcat_table **tables;         /* tables and views, in creation order */
    int ntables, tables_cap;
    tcat_enum **enums;
    int nenums, enums_cap;
    tcat_sequence **seqs;
    int nseqs, seqs_cap;
    tcat_function **funcs;
    int nfuncs, funcs_cap;
    char **schemas;              /* named pg schemas */
    int nschemas, schemas_cap;
    int from_server;             /* read from pg_catalog: expressions as the server prints them */
    int oom;
};

tide_catalog *tcat_new(void);
char *tcat_str(tide_catalog *c, const char *s);
char **tcat_strs(tide_catalog *c, const char *const *list, int n);
tcat_table *tcat_add_table(tide_catalog *c, const char *schema, const char *name, char kind);
tcat_column *tcat_add_column(tide_catalog *c, tcat_table *t, const char *name, const char *type);
tcat_constraint *tcat_add_constraint(tide_catalog *c, tcat_table *t, char kind, const char *name);
tcat_index *tcat_add_index(tide_catalog *c, tcat_table *t, const char *name, int nparts);
tcat_policy *tcat_add_policy(tide_catalog *c, tcat_table *t, const char *name);
tcat_trigger *tcat_add_trigger(tide_catalog *c, tcat_table *t, const char *name);
tcat_function *tcat_add_function(tide_catalog *c, const char *schema, const char *name);
tcat_enum *tcat_add_enum(tide_catalog *c, const char *schema, const char *name);
tcat_sequence *tcat_add_sequence(tide_catalog *c, const char *schema, const char *name);
void tcat_add_schema(tide_catalog *c, const char *schema);
tcat_table *tcat_find_table(const tide_catalog *c, const char *schema, const char *name);
tcat_column *tcat_find_column(const tcat_table *t, const char *name);
/* A field's type as format_type spells it. */
void tcat_type(tutil_buf *b, const tide_field *f);
/* PostgreSQL's quote_ident: quoted only when needed. */
void tcat_quote_if_needed(tutil_buf *b, const char *name);
int tcat_same_schema(const char *a, const char *b);
/* A referential action as pg_constraint spells it: a r c n d. */
char tcat_action(tide_action a);

/* CREATE [OR REPLACE] FUNCTION / DROP FUNCTION, CREATE / DROP TRIGGER:
 * shared by the DDL walk and the diff. */
void tcat_function_sql(tutil_buf *b, const tsql_dialect *d, const tcat_function *f, int replace);
void tcat_drop_function_sql(tutil_buf *b, const tsql_dialect *d, const tcat_function *f);
void tcat_trigger_sql(tutil_buf *b, const tsql_dialect *d, const tcat_table *t, const tcat_trigger *g);
void tcat_drop_trigger_sql(tutil_buf *b, const tsql_dialect *d, const tcat_table *t, const tcat_trigger *g);

/* ddl.c's walk: writes the statements into ddl (may be NULL) and records
 * what they create into cat (may be NULL). */
int tsql_schema_walk(const tide_schema *s, tide_ddl *ddl, tide_catalog *cat);

#endif
