/* Private to core/schema and the SQL layer that reads it: the schema's
 * structs. Everything lives in the schema's arena. */
#ifndef TIDE_TSCHEMA_H
#define TIDE_TSCHEMA_H

#include <pthread.h>
#include "tide/schema.h"
#include "util.h"

typedef struct tsch_enum {
    char *name, *pg_schema;
    char **values;
    int nvalues;
    char *renamed_from;          /* rename hints, for the diff */
    char **value_renames;        /* pairs: new value, old value */
    int nvalue_renames;
} tsch_enum;

typedef struct tsch_sequence {
    char *name, *pg_schema;
    int64_t start, min_value, max_value, increment, cache;
    int has_start, has_min, has_max, cycle;
} tsch_sequence;

/* The policy commands, in the order of tsch_policy_commands. */
enum { TSCH_POLICY_ALL, TSCH_POLICY_SELECT, TSCH_POLICY_INSERT, TSCH_POLICY_UPDATE, TSCH_POLICY_DELETE };
extern const char *const tsch_policy_commands[5];

typedef struct tsch_policy {
    char *name, *command;        /* command: as given (NULL: "all") */
    int cmd;                     /* resolved at finish */
    char *using_expr, *check;
    char **roles;
    int nroles;
    int restrictive;
} tsch_policy;

typedef struct tsch_function {
    char *name, *pg_schema, *args, *returns, *language, *body, *volatility;
    char volatility_code;              /* pg_proc's letter (v s i), set at finish */
} tsch_function;

/* a trigger's timing, read at finish */
enum { TSCH_AFTER, TSCH_BEFORE, TSCH_INSTEAD_OF };

typedef struct tsch_trigger {
    char *name, *timing, *function, *when;
    int events, for_each_row;
    int timing_code;                   /* TSCH_AFTER ..., set at finish */
    const tsch_function *function_ref; /* resolved at finish */
} tsch_trigger;

struct tide_field {
    tide_model *model;
    int index;                   /* position in the model, declaration order */
    char *name, *column;
    tide_type type;
    char *type_name;
    const tsch_enum *enum_ref;   /* TIDE_T_ENUM, resolved at finish */
    const tsch_sequence *sequence_ref; /* TIDE_DEFAULT_NEXTVAL, resolved at finish */
    int length, precision, scale, array_dims;
    int nullable, primary, unique;
    tide_identity identity;
    tide_default_kind default_kind;
    char *default_value;
    int updated_at;
    char *generated, *check;
    int omit;
    char *renamed_from;          /* the column's name before: a hint for the diff */
};

struct tide_relation {
    tide_model *model;
    char *name;
    tide_relation_kind kind;
    char *target_name;
    tide_model *target;          /* resolved at finish */
    /* The foreign key, whichever side holds it: holder.fields[i] references
     * referenced.refs[i]. belongs_to: holder is this model; has_one/has_many:
     * the target (taken from the inverse belongs_to). */
    char **field_names, **ref_names;
    int nfields;
    tide_field **fields, **refs;
    char *inverse_name;
    tide_relation *inverse;
    /* many_to_many */
    char *through_name;
    tide_model *through;         /* explicit join model */
    tide_relation *through_from, *through_to; /* its belongs_to to each side */
    char *join_table;            /* implicit: the join table */
    char *join_from, *join_to;   /* implicit: its columns for this model and the target */
    tide_action on_delete, on_update;
    char *constraint_name;
};

typedef struct tsch_index {
    tide_index_kind kind;
    char *name;
    tide_index_part *parts;      /* strings in the arena */
    tide_field **part_fields;    /* resolved; NULL for expressions */
    int nparts;
    tide_index_method method;
    char *where;
    int nulls_not_distinct;
} tsch_index;

typedef struct tsch_check {
    char *name, *expression;
} tsch_check;

struct tide_model {
    tide_schema *schema;
    int index;
    char *name, *table, *pg_schema;
    tide_field **fields;
    int nfields, fields_cap;
    tide_relation **relations;
    int nrelations, relations_cap;
    tsch_index **indexes;
    int nindexes, indexes_cap;
    tsch_check *checks;
    int nchecks, checks_cap;
    tide_field **pk;             /* resolved primary key, in order */
    int npk;
    char *soft_delete_name;
    tide_field *soft_delete;
    tide_model_kind kind;
    char *view_sql;
    int with_data;
    tsch_policy *policies;
    int npolicies, policies_cap;
    tsch_trigger *triggers;
    int ntriggers, triggers_cap;
    int rls, rls_set, force_rls; /* rls: on, once finished (set, forced, or implied by a policy) */
    char *renamed_from;          /* the table's name before: a hint for the diff */
};

struct tide_schema {
    tutil_arena arena;
    /* The SQL layer's cache of compiled queries: opaque here (the schema
     * holds no SQL), freed through cache_free, guarded by cache_mu. */
    void *cache;
    void (*cache_free)(void *cache);
    pthread_mutex_t cache_mu;
    long compiled, hits;
    tide_model **models;
    int nmodels, models_cap;
    tsch_enum **enums;
    int nenums, enums_cap;
    tsch_sequence **sequences;
    int nsequences, sequences_cap;
    tsch_function **functions;
    int nfunctions, functions_cap;
    int finished;
};

const tsch_enum *tsch_enum_find(const tide_schema *s, const char *name);
const tsch_sequence *tsch_sequence_find(const tide_schema *s, const char *name);
const tsch_function *tsch_function_find(const tide_schema *s, const char *name);
int tsch_enum_count(const tide_schema *s);
const tsch_enum *tsch_enum_at(const tide_schema *s, int i);
int tsch_model_index_count(const tide_model *m);
const tsch_index *tsch_model_index_at(const tide_model *m, int i);
/* "BlogPost" -> "blog_post" into buf (128 bytes or more); returns its length. */
size_t tsch_snake(const char *name, char *buf);
/* 1 when name is a usable identifier: 1 to 63 bytes, valid UTF-8, no NUL. */
int tsch_valid_ident(const char *name);

#endif
