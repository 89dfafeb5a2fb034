/* The SQL layer: DDL from a schema, and (coming) queries compiled from a
 * query description. Pure functions: nothing here touches a connection. */
#ifndef TIDE_SQL_H
#define TIDE_SQL_H

#include "tide/common.h"
#include "tide/error.h"
#include "tide/schema.h"
#include "tide/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The statements that create a finished schema on an empty database, in
 * dependency order: CREATE SCHEMA for named namespaces, CREATE TYPE for
 * enums, CREATE SEQUENCE, CREATE TABLE (columns, defaults, identity,
 * generated columns, NOT NULL, primary key, unique and check constraints),
 * implicit join tables, then foreign keys (ALTER TABLE ... ADD CONSTRAINT,
 * so cycles and self references work), then indexes, then views and
 * materialized views (with their indexes), then row-level security and
 * policies. */
typedef struct tide_ddl tide_ddl;
TIDE_API int tide_schema_ddl(const tide_schema *s, tide_ddl **out, tide_error *err);
TIDE_API int tide_ddl_count(const tide_ddl *ddl);
/* Valid until tide_ddl_free. */
TIDE_API const char *tide_ddl_statement(const tide_ddl *ddl, int i);
TIDE_API void tide_ddl_free(tide_ddl *ddl);

/* ---- model queries ---------------------------------------------------------
 *
 * A model query (find_many, create, update, ...) is described as a tree with
 * the shape of the Lua model client's argument table:
 *   { where = { email = { contains = ? } }, order_by = { id = "desc" }, take = ? }
 * Objects and arrays hold names (fields, relations, operators, options) and
 * leaves. Every leaf is a slot in the caller's value array: where a value is
 * expected it is bound as a parameter, never written into the SQL; where an
 * option is expected ("desc", "insensitive") its text is read from a fixed
 * list. Names are checked against the schema before any SQL exists.
 *
 * Compiling is cached by the query's shape (its names and structure, not its
 * values): the second query of a shape costs a walk of the tree and a lookup.
 */
typedef struct tide_desc tide_desc;
typedef int tide_node; /* a node of a tide_desc; negative for none */

TIDE_API tide_desc *tide_desc_new(tide_error *err);
TIDE_API void tide_desc_free(tide_desc *d);
/* Empties d for the next query, keeping its memory. */
TIDE_API void tide_desc_reset(tide_desc *d);
TIDE_API tide_node tide_desc_object(tide_desc *d);
TIDE_API tide_node tide_desc_array(tide_desc *d);
/* A leaf: slot `slot` of the value array given to tide_model_query. Its kind
 * (and, for text, its content where an option is expected) is read from
 * there. */
TIDE_API tide_node tide_desc_leaf(tide_desc *d, int slot);
/* key is copied. Returns TIDE_OK, or TIDE_ERROR on OOM (then the tree is
 * unusable until reset). */
TIDE_API int tide_desc_set(tide_desc *d, tide_node object, const char *key, size_t keylen, tide_node value);
TIDE_API int tide_desc_push(tide_desc *d, tide_node array, tide_node value);
/* 1 when the leaves under key are option names (select, order_by, by ...)
 * rather than values: a list there is a list of names, not one array value.
 * Whoever builds trees from another language uses the same rule. */
TIDE_API int tide_desc_option_key(const char *key);

typedef enum tide_op {
    TIDE_OP_FIND_MANY = 1, TIDE_OP_FIND_FIRST, TIDE_OP_FIND_UNIQUE,
    TIDE_OP_COUNT, TIDE_OP_CREATE, TIDE_OP_UPDATE, TIDE_OP_UPDATE_MANY,
    TIDE_OP_DELETE, TIDE_OP_DELETE_MANY,
    TIDE_OP_CREATE_MANY,   /* { columns = { field = {values...} }, skip_duplicates = bool } */
    TIDE_OP_CREATE_MANY_AND_RETURN,
    TIDE_OP_UPSERT,        /* { where = unique, create = {...}, update = {...} } */
    TIDE_OP_LINK,          /* implicit many_to_many: { _relation = name, from = key, to = key } */
    TIDE_OP_UNLINK,        /* { _relation = name, from = key [, to = key] }: one link, or all of from's */
    TIDE_OP_AGGREGATE,     /* { where, _count, _sum, _avg, _min, _max, order_by, take, skip } */
    TIDE_OP_GROUP_BY,      /* { by = {fields}, where, having, aggregates, order_by, take, skip } */
    TIDE_OP_UPDATE_MANY_AND_RETURN, /* update_many, the rows back: { where, data, select, omit } */
} tide_op;

/* A compiled model query: SQL with $n placeholders, and for each
 * placeholder the value slot it takes. Owned by the schema's cache: valid
 * until tide_schema_free. */
typedef struct tide_compiled tide_compiled;
TIDE_API int tide_model_query(const tide_schema *s, const char *model, tide_op op, const tide_desc *d,
                              tide_node root, const tide_value *values, int nvalues,
                              const tide_compiled **out, tide_error *err);
TIDE_API const char *tide_compiled_sql(const tide_compiled *c);
TIDE_API int tide_compiled_nparams(const tide_compiled *c);
/* The value slot bound to placeholder $(i+1): valid for the tree the query
 * was compiled or looked up with. Slots differ between two trees of one
 * shape, so they come back through this call for each query. */
TIDE_API int tide_compiled_slot(const tide_desc *d, int i);
/* What the caller does with the rows: one row or many, or a count. */
typedef enum tide_shape_result { TIDE_RESULT_ROWS = 0, TIDE_RESULT_ONE, TIDE_RESULT_COUNT, TIDE_RESULT_AFFECTED }
    tide_shape_result;
TIDE_API tide_shape_result tide_compiled_result(const tide_compiled *c);
/* ---- builder queries --------------------------------------------------------
 *
 * The SQL-like builder (db:select():from(...)) describes its statement as a
 * tree too, with the same nodes, canonical walk and cache as model queries.
 * Every object names its kind under "k"; every leaf is an option (a kind, a
 * model or field name, an alias, an operator name, SQL text the programmer
 * wrote) except a leaf under the key "v", which is a value and is bound.
 *
 * Statements
 *   { k = "select", with = [cte], recursive = true, distinct = true, on = [e],
 *     cols = { alias = e | { k = "star", m, a } }   (absent: every field of
 *     the sources), from = src, joins = [{ j = "inner"|"left"|"right"|"full"|
 *     "cross", lateral = true, s = src, on = e }], where = e, group = [e],
 *     having = e, order = [e | { k = "asc"|"desc", e, nulls = "first"|"last" }],
 *     limit = e, offset = e, lock = { s = "update"|"no_key_update"|"share"|
 *     "key_share", of = [name], wait = "nowait"|"skip_locked" } }
 *   { k = "setop", o = "union"|"union_all"|"intersect"|"intersect_all"|
 *     "except"|"except_all", l = query, r = query, order, limit, offset, with }
 *   { k = "insert", m, cols = [field], rows = [[e | { k = "default" }]] or
 *     sel = query, conflict = { act = "nothing"|"update", target = [field],
 *     set = { field = e }, where = e }, ret = { alias = e }, ret_all = true, with }
 *   { k = "update", m, set = { field = e }, from = src, joins, where, ret, ret_all, with }
 *   { k = "delete", m, where, ret, ret_all, with }
 *   cte: { n = name, q = query }
 * Sources
 *   { k = "table", m = model, a = alias } | { k = "sub", q = query, a = alias }
 *   | { k = "cte", n = name }
 * Expressions
 *   { k = "col", m, f, a } (a model's field; a: the table's alias)
 *   { k = "ref", a = source name, n = column } (a subquery's or CTE's column)
 *   { k = "val", v = value } | { k = "ph", v = name } (a named placeholder)
 *   { k = "cmp", o = "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"like"|"ilike"|"not_like"|
 *     "not_ilike"|"contains"|"contained"|"overlaps", l = e, r = e }
 *   { k = "and"|"or", x = [e] } | { k = "not", e } | { k = "is_null"|"is_not_null", e }
 *   { k = "between"|"not_between", e, lo, up }
 *   { k = "in"|"not_in", e, r = { k = "val", v = list } | { k = "ph", v } } (one
 *     array parameter) or { k = "in"|"not_in", e, q = query }
 *   { k = "exists"|"not_exists", q } | { k = "sub", q } (a scalar subquery)
 *   { k = "agg", f = "count"|"count_distinct"|"sum"|"avg"|"min"|"max", e }
 *   { k = "sql", p = [{ t = text } | { e = e }] } | { k = "raw", t = text }
 *   { k = "excluded", m, f } (ON CONFLICT DO UPDATE: the row proposed)
 * Values are numbered $1, $2 ... in the canonical walk's order (object keys
 * sorted), which is not always the order they appear in the SQL text.
 * Names are checked against the schema (unknown ones are refused with the
 * nearest valid name); aliases and CTE names are quoted identifiers of at most
 * 63 bytes. SQL text under t is the programmer's own, written as is. */
TIDE_API int tide_builder_query(const tide_schema *s, const tide_desc *d, tide_node root, const tide_value *values,
                                int nvalues, const tide_compiled **out, tide_error *err);
/* 1 when the rows nest: output columns are named "source.field" (a select
 * of several tables' every field, or of a whole table under an alias). */
TIDE_API int tide_compiled_nested(const tide_compiled *c);
/* 1 when parameter i (0-based) is a named placeholder (tide.placeholder):
 * its value comes with each execution of a prepared query. */
TIDE_API int tide_compiled_is_placeholder(const tide_compiled *c, int i);

/* ---- a binding's own keys ---------------------------------------------------
 *
 * A binding that walks trees of its own (the Lua one walks Lua tables) can
 * skip building a tide_desc for a statement it has run before. It writes
 * the tree into a key of its own making, in its own walk's order, and
 * numbers the value leaves in that order. Once a statement is compiled
 * through tide_model_query or tide_builder_query, tide_compiled_remember
 * files it under that key with map[i], the index among the walk's values of
 * the value bound to parameter i (nparams entries). tide_compiled_find then
 * returns it (and the map) for the same key, or NULL. The key must hold
 * everything the canonical walk reads (structure, names, option texts, each
 * value's tide_value_shape_kind), so that one key never stands for two
 * shapes. Thread-safe, as the cache is. */
TIDE_API const tide_compiled *tide_compiled_find(const tide_schema *s, const char *key, size_t len,
                                                 const int **map);
TIDE_API int tide_compiled_remember(const tide_schema *s, const char *key, size_t len, const tide_compiled *c,
                                    const int *map, tide_error *err);
/* The letter a value's kind takes in a shape (N, B, I, F, E for an empty
 * JSON list or object, J, S): the compiler may read the kind, never the value. */
TIDE_API char tide_value_shape_kind(const tide_value *v);

/* Compilations done and cache hits, for tests and tuning. */
TIDE_API void tide_schema_cache_stats(const tide_schema *s, long *compiled, long *hits);

#ifdef __cplusplus
}
#endif
#endif
