/* Private to core/sql: model queries (the description tree, the canonical
 * walk, the compiler and its cache). */
#ifndef TIDE_TQUERY_H
#define TIDE_TQUERY_H

#include "tsql.h"

enum { TSQL_OBJECT = 1, TSQL_ARRAY, TSQL_LEAF };

typedef struct tsql_node {
    int type;
    int slot;                  /* TSQL_LEAF: the value slot */
    int first, last, next;     /* children, in insertion order; next sibling */
    int count;
    size_t key, keylen;        /* the key in the parent object (offset in keys) */
    int param;                 /* a value leaf's placeholder number; 0: none */
} tsql_node;

struct tide_desc {
    tsql_node *nodes;
    int n, cap;
    tutil_buf keys;
    tutil_buf shape;           /* the shape key of the last canonical walk */
    int *order;                /* slots by placeholder number - 1 */
    int norder, order_cap;
    tide_node *scratch;        /* sorting room for the walk */
    int scratch_used, scratch_cap;
    int broken;
};

struct tide_compiled {
    char *sql;
    int nparams;
    tide_shape_result result;
    int nested;                /* builder: output columns named "a.b" nest */
    unsigned char *placeholder; /* builder: per parameter, 1 for tide.placeholder; NULL: none */
};

const char *tsql_key(const tide_desc *d, tide_node n);
tide_node tsql_child(const tide_desc *d, tide_node object, const char *key);
/* builder: the tree of a builder query, where only leaves under the key "v"
 * are values and every other leaf is an option (a name, a kind, an alias). */
#define TSQL_BUILDER_MAX_DEPTH 200
int tsql_canonical(tide_desc *d, tide_node root, const tide_value *values, int nvalues, int builder,
                   tide_error *err);
/* Compiles (no cache); the result is allocated in arena. */
int tsql_compile(const tide_schema *s, const tide_model *m, tide_op op, const tide_desc *d, tide_node root,
                 const tide_value *values, tutil_arena *arena, tide_compiled **out, tide_error *err);

/* The builder's compiler (builder.c, bexpr.c): no model, no operation; the
 * tree says it all. */
int tsql_builder_compile(const tide_schema *s, const tide_desc *d, tide_node root, const tide_value *values,
                         tutil_arena *arena, tide_compiled **out, tide_error *err);

#endif
