/* Private to the builder's compiler (builder.c: statements and sources;
 * bexpr.c: expressions). The tree's grammar is in tide/sql.h. */
#ifndef TIDE_TBUILD_H
#define TIDE_TBUILD_H

#include "tquery.h"

typedef struct bc {
    const tide_schema *s;
    const tide_desc *d;
    const tide_value *values;
    const tsql_dialect *dia;
    tutil_buf *b;
    tide_error *err;
    int failed;
    int nested;             /* output columns named "a.b" */
    unsigned char *ph;      /* per parameter: 1 for a named placeholder */
    int nph;
} bc;

void tbuild_fail(bc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline const tsql_node *tbuild_node(const bc *c, tide_node n) { return &c->d->nodes[n]; }
static inline const tide_value *tbuild_leaf(const bc *c, tide_node n) { return &c->values[c->d->nodes[n].slot]; }

/* The text of the option leaf under key (NUL-terminated in buf), or NULL
 * when there is none; a leaf that is not text, or longer than buf, fails. */
const char *tbuild_opt(bc *c, tide_node obj, const char *key, char *buf, size_t size);
/* The kind of an object ("k"), or "" */
const char *tbuild_kind(bc *c, tide_node obj, char *buf, size_t size);
/* A quoted identifier that the schema did not give: an alias, a CTE name,
 * an output column. 1 to 63 bytes of valid UTF-8 (longer names would be cut
 * by the server, so two could meet). */
void tbuild_name(bc *c, const char *name, const char *what);
const tide_model *tbuild_model(bc *c, const char *name);
const tide_field *tbuild_field(bc *c, const tide_model *m, const char *name);
/* A child node that must be there. */
tide_node tbuild_need(bc *c, tide_node obj, const char *key, const char *what);

/* Writes an expression. top: the whole of a clause (no parentheses needed
 * around AND/OR). setop: column references by output name (ORDER BY of a
 * set operation sees only the result's columns). */
void tbuild_expr(bc *c, tide_node e, int top);
void tbuild_order_list(bc *c, tide_node list, int setop);
/* A whole statement (any kind), parenthesised or not by the caller. */
void tbuild_query(bc *c, tide_node q);

#endif
