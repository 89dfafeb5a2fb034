/* The description tree of a model query, and its canonical walk.
 *
 * The walk visits object keys in sorted order, so two tables with the same
 * keys give the same shape whatever order Lua's pairs() saw them in. It
 * writes the shape key (names, structure, option texts, and for values only
 * their kind) and numbers the value leaves $1, $2, ... in that order: the
 * compiler writes each value leaf's number, and the caller binds the slots in
 * number order. A cache hit therefore needs only this walk. */
#include <stdlib.h>
#include <string.h>
#include "tquery.h"

tide_desc *tide_desc_new(tide_error *err)
{
    tide_desc *d = tutil_calloc(1, sizeof *d);
    if (!d) {
        tutil_error_oom(err);
        return NULL;
    }
    tutil_buf_init(&d->keys);
    tutil_buf_init(&d->shape);
    return d;
}

void tide_desc_free(tide_desc *d)
{
    if (!d)
        return;
    tutil_free(d->nodes, (size_t)d->cap * sizeof *d->nodes);
    tutil_free(d->order, (size_t)d->order_cap * sizeof *d->order);
    tutil_free(d->scratch, (size_t)d->scratch_cap * sizeof *d->scratch);
    tutil_buf_free(&d->keys);
    tutil_buf_free(&d->shape);
    tutil_free(d, sizeof *d);
}

void tide_desc_reset(tide_desc *d)
{
    if (!d)
        return;
    d->n = 0;
    d->norder = 0;
    d->broken = 0;
    tutil_buf_reset(&d->keys);
    tutil_buf_reset(&d->shape);
}

static tide_node add(tide_desc *d, int type, int slot)
{
    if (!d || d->broken)
        return -1;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 32;
        tsql_node *p = tutil_realloc(d->nodes, (size_t)d->cap * sizeof *p, (size_t)cap * sizeof *p);
        if (!p) {
            d->broken = 1;
            return -1;
        }
        d->nodes = p;
        d->cap = cap;
    }
    tsql_node *n = &d->nodes[d->n];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->slot = slot;
    n->first = n->last = n->next = -1;
    n->param = 0;
    return d->n++;
}

tide_node tide_desc_object(tide_desc *d) { return add(d, TSQL_OBJECT, -1); }
tide_node tide_desc_array(tide_desc *d) { return add(d, TSQL_ARRAY, -1); }
tide_node tide_desc_leaf(tide_desc *d, int slot) { return add(d, TSQL_LEAF, slot); }

static int append(tide_desc *d, tide_node parent, tide_node child, int want)
{
    if (!d || d->broken || parent < 0 || parent >= d->n || child < 0 || child >= d->n ||
        d->nodes[parent].type != want) {
        if (d)
            d->broken = 1;
        return TIDE_ERROR;
    }
    tsql_node *p = &d->nodes[parent];
    if (p->last >= 0)
        d->nodes[p->last].next = child;
    else
        p->first = child;
    p->last = child;
    p->count++;
    return TIDE_OK;
}

int tide_desc_set(tide_desc *d, tide_node object, const char *key, size_t keylen, tide_node value)
{
    if (!d || d->broken || value < 0 || value >= d->n)
        return TIDE_ERROR;
    d->nodes[value].key = d->keys.len;
    d->nodes[value].keylen = keylen;
    tutil_buf_add(&d->keys, key, keylen);
    tutil_buf_addc(&d->keys, '\0');
    if (d->keys.broken) {
        d->broken = 1;
        return TIDE_ERROR;
    }
    return append(d, object, value, TSQL_OBJECT);
}

int tide_desc_push(tide_desc *d, tide_node array, tide_node value)
{
    return append(d, array, value, TSQL_ARRAY);
}

const char *tsql_key(const tide_desc *d, tide_node n)
{
    return d->keys.data ? d->keys.data + d->nodes[n].key : "";
}

tide_node tsql_child(const tide_desc *d, tide_node object, const char *key)
{
    for (tide_node c = d->nodes[object].first; c >= 0; c = d->nodes[c].next)
        if (!strcmp(tsql_key(d, c), key))
            return c;
    return -1;
}

int tide_compiled_slot(const tide_desc *d, int i)
{
    return d && i >= 0 && i < d->norder ? d->order[i] : -1;
}

/* ---- the canonical walk -------------------------------------------------- */

/* Where the walk is: what a key means there, and whether a leaf under it is
 * an option (its text is part of the shape) or a value (a parameter). */
typedef enum ctx {
    CTX_TOP,      /* a query's own keys: where, select, take ... */
    CTX_OPTION,   /* select, order_by, by ...: every leaf is an option */
    CTX_FIELDS,   /* a where object: keys are fields, relations, AND/OR/NOT */
    CTX_OPS,      /* a field's operators: equals, contains, mode, some ... */
    CTX_LOGIC,    /* the value of AND/OR/NOT: conditions, never values */
    CTX_DATA,     /* data, create, update, columns: every leaf a value */
    CTX_VIA,      /* _via: model and relation are options, keys a value */
    CTX_INCLUDE,  /* include: keys are relations */
    CTX_REL,      /* an included relation: true/false (an option), or a query's own keys */
    CTX_B,        /* a builder tree: every leaf an option (names, kinds, aliases) ... */
    CTX_BVALUE    /* ... except under the key "v", where it is a value */
} ctx;

/* Keys of CTX_TOP whose leaves are options. */
static int option_key(const char *k)
{
    static const char *const keys[] = {"order_by", "select", "omit", "include", "distinct", "_count",
                                       "skip_duplicates", "_relation", "by", "_sum", "_avg", "_min", "_max",
                                       "with_deleted"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (k[0] == keys[i][0] && !strcmp(k, keys[i]))
            return 1;
    return 0;
}

int tide_desc_option_key(const char *k)
{
    return k && option_key(k);
}

static int is_one_of(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (k[0] == list[i][0] && !strcmp(k, list[i]))
            return 1;
    return 0;
}

/* The context of the value under key, in context c. */
static ctx child_ctx(ctx c, const char *key)
{
    static const char *const logic[] = {"AND", "OR", "NOT"};
    static const char *const relation_ops[] = {"some", "every", "none", "is", "is_not"};
    static const char *const data[] = {"data", "create", "update", "columns"};
    switch (c) {
    case CTX_TOP:
        /* a cursor names its row with conditions, as where does */
        if (!strcmp(key, "where") || !strcmp(key, "having") || !strcmp(key, "cursor"))
            return CTX_FIELDS;
        if (!strcmp(key, "_via"))
            return CTX_VIA;
        if (!strcmp(key, "include"))
            return CTX_INCLUDE; /* before option_key: its where and take are values */
        if (is_one_of(key, data, sizeof data / sizeof data[0]))
            return CTX_DATA;
        return option_key(key) ? CTX_OPTION : CTX_TOP;
    case CTX_OPTION:
        /* _count = { select = { posts = { where = ... } } } */
        return !strcmp(key, "where") ? CTX_FIELDS : CTX_OPTION;
    case CTX_FIELDS:
    case CTX_LOGIC:
        return is_one_of(key, logic, 3) ? CTX_LOGIC : CTX_OPS;
    case CTX_OPS:
        if (is_one_of(key, relation_ops, 5))
            return CTX_FIELDS;
        if (!strcmp(key, "not") || !strcmp(key, "not_"))
            return CTX_OPS;      /* a value, or { operators } */
        if (!strcmp(key, "mode") || !strcmp(key, "_field"))
            return CTX_OPTION;
        /* having: { views = { _sum = { gt = 1 } } } */
        return CTX_OPS;
    case CTX_VIA:
        return !strcmp(key, "keys") ? CTX_DATA : CTX_OPTION;
    case CTX_INCLUDE:
        return CTX_REL;
    case CTX_B:
    case CTX_BVALUE:
        return key[0] == 'v' && key[1] == '\0' ? CTX_BVALUE : CTX_B;
    case CTX_REL:
        return child_ctx(CTX_TOP, key);
    default:
        return CTX_DATA;
    }
}

typedef struct walk {
    tide_desc *d;
    const tide_value *values;
    int nvalues;
    int bad;                  /* 1: a slot outside the values; 2: too deep; 3: NUL in a name */
    int max_depth;
} walk;

/* Children by key: an insertion sort (objects have a handful of keys), with
 * no global comparator context, so threads sharing a schema can walk trees
 * at once. */
static void sort_by_key(const tide_desc *d, tide_node *v, int n)
{
    for (int i = 1; i < n; i++) {
        tide_node x = v[i];
        const char *kx = tsql_key(d, x);
        int j = i - 1;
        while (j >= 0 && strcmp(tsql_key(d, v[j]), kx) > 0) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

/* A value's kind as the compiler may read it: part of the shape, so that a
 * statement compiled for a number is not reused for a table or a string. */
char tide_value_shape_kind(const tide_value *v)
{
    switch (v->kind) {
    case TIDE_KIND_NULL: return 'N';
    case TIDE_KIND_BOOL: return 'B';
    case TIDE_KIND_INT: return 'I';
    case TIDE_KIND_FLOAT: return 'F';
    case TIDE_KIND_JSON:
        /* an empty list is read by the compiler ({} under OR) */
        return v->as.s.len == 2 && (!memcmp(v->as.s.ptr, "[]", 2) || !memcmp(v->as.s.ptr, "{}", 2)) ? 'E' : 'J';
    default: return 'S';
    }
}

/* "<len>:" */
static void add_len(tutil_buf *b, size_t n)
{
    tutil_buf_addu(b, n);
    tutil_buf_addc(b, ':');
}

static void canon(walk *w, tide_node n, ctx c, int depth)
{
    tide_desc *d = w->d;
    tsql_node *node = &d->nodes[n];
    tutil_buf *b = &d->shape;
    if (depth > w->max_depth) {
        w->bad = 2;
        return;
    }
    if (node->type == TSQL_LEAF) {
        if (node->slot < 0 || node->slot >= w->nvalues) {
            w->bad = 1;
            return;
        }
        const tide_value *v = &w->values[node->slot];
        if (c == CTX_OPTION || c == CTX_VIA || c == CTX_REL || c == CTX_INCLUDE || c == CTX_B) {
            /* the option's text is part of the shape, length first so that
             * no text can imitate the shape's own punctuation */
            tutil_buf_addc(b, '\'');
            if (v->kind == TIDE_KIND_TEXT) {
                if (memchr(v->as.s.ptr, '\0', v->as.s.len))
                    w->bad = 3;
                add_len(b, v->as.s.len);
                tutil_buf_add(b, v->as.s.ptr, v->as.s.len);
            } else if (v->kind == TIDE_KIND_BOOL) {
                tutil_buf_adds(b, v->as.b ? "true" : "false");
            } else {
                tutil_buf_addc(b, tide_value_shape_kind(v));
            }
            tutil_buf_addc(b, '\'');
            return;
        }
        tutil_buf_addc(b, tide_value_shape_kind(v));
        /* NULL in a filter is written IS NULL; a leaf where conditions go
         * (an empty list under OR) is written TRUE/FALSE: neither is bound */
        if ((v->kind == TIDE_KIND_NULL && (c == CTX_OPS || c == CTX_FIELDS)) || c == CTX_LOGIC)
            return;
        if (d->norder == d->order_cap) {
            int cap = d->order_cap ? d->order_cap * 2 : 16;
            int *p = tutil_realloc(d->order, (size_t)d->order_cap * sizeof *p, (size_t)cap * sizeof *p);
            if (!p) {
                d->broken = 1;
                return;
            }
            d->order = p;
            d->order_cap = cap;
        }
        d->order[d->norder++] = node->slot;
        d->nodes[n].param = d->norder;
        return;
    }
    if (node->type == TSQL_ARRAY) {
        tutil_buf_addc(b, '[');
        for (tide_node ch = node->first; ch >= 0; ch = d->nodes[ch].next) {
            canon(w, ch, c, depth + 1);
            tutil_buf_addc(b, ',');
        }
        tutil_buf_addc(b, ']');
        return;
    }
    /* an object: its children in key order, and relinked in that order so
     * that the compiler emits the same SQL whatever order they came in */
    int count = node->count;
    tutil_buf_addc(b, '{');
    if (count > 0) {
        if (d->scratch_used + count > d->scratch_cap) {
            int cap = d->scratch_cap ? d->scratch_cap : 64;
            while (cap < d->scratch_used + count)
                cap *= 2;
            tide_node *p = tutil_realloc(d->scratch, (size_t)d->scratch_cap * sizeof *p, (size_t)cap * sizeof *p);
            if (!p) {
                d->broken = 1;
                return;
            }
            d->scratch = p;
            d->scratch_cap = cap;
        }
        int base = d->scratch_used;
        d->scratch_used += count;
        int k = 0;
        for (tide_node ch = node->first; ch >= 0; ch = d->nodes[ch].next)
            d->scratch[base + k++] = ch;
        sort_by_key(d, d->scratch + base, count);
        d->nodes[n].first = d->scratch[base];
        d->nodes[n].last = d->scratch[base + count - 1];
        for (int i = 0; i < count; i++)
            d->nodes[d->scratch[base + i]].next = i + 1 < count ? d->scratch[base + i + 1] : -1;
        for (int i = 0; i < count; i++) {
            tide_node ch = d->scratch[base + i];
            const char *key = tsql_key(d, ch);
            size_t klen = d->nodes[ch].keylen;
            if (strlen(key) != klen)
                w->bad = 3; /* a NUL inside a name: never read as its prefix */
            /* length-prefixed: a key such as "a:?;b" cannot pass for two keys,
             * which would let a forged name reuse a checked statement */
            add_len(b, klen);
            tutil_buf_add(b, key, klen);
            tutil_buf_addc(b, ':');
            canon(w, ch, child_ctx(c, key), depth + 1);
            tutil_buf_addc(b, ';');
        }
        d->scratch_used = base;
    }
    tutil_buf_addc(b, '}');
}

int tsql_canonical(tide_desc *d, tide_node root, const tide_value *values, int nvalues, int builder,
                   tide_error *err)
{
    tutil_buf_reset(&d->shape);
    d->norder = 0;
    d->scratch_used = 0;
    for (int i = 0; i < d->n; i++)
        d->nodes[i].param = 0;
    if (root < 0 || root >= d->n || d->nodes[root].type != TSQL_OBJECT) {
        tutil_error_set(err, TIDE_E_MISUSE, builder ? "a builder query's description must be an object"
                                                    : "a model query's description must be an object");
        return TIDE_MISUSE;
    }
    walk w = {d, values, nvalues, 0, builder ? TSQL_BUILDER_MAX_DEPTH : 64};
    canon(&w, root, builder ? CTX_B : CTX_TOP, 0);
    if (w.bad == 3) {
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "a name or option in the query contains a NUL byte");
        return TIDE_ERROR;
    }
    if (w.bad == 2) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "the query is nested more than %d levels deep", w.max_depth);
        return TIDE_ERROR;
    }
    if (w.bad) {
        tutil_error_set(err, TIDE_E_MISUSE, "a description leaf refers to a value slot that was not given");
        return TIDE_MISUSE;
    }
    if (d->broken || d->shape.broken) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}
