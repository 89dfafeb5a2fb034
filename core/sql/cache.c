/* tide_model_query: the canonical walk, then the schema's cache of compiled
 * queries by shape, then (on a miss) the compiler. The cache grows with the
 * number of distinct shapes a program uses, which its source fixes. */
#include <string.h>
#include "tquery.h"

typedef struct centry {
    struct centry *next;
    uint64_t hash;
    char *key;
    size_t keylen;
    const tide_compiled *comp;
    const int *map; /* a binding's key (tide_compiled_remember): parameter -> value index; NULL: a shape key */
} centry;

typedef struct tsql_cache {
    tutil_arena arena;
    centry **buckets;
    unsigned nbuckets;
    unsigned count;
} tsql_cache;

static void cache_free(void *p)
{
    tsql_cache *c = p;
    tutil_free(c->buckets, c->nbuckets * sizeof *c->buckets);
    tutil_arena_free(&c->arena);
    tutil_free(c, sizeof *c);
}

/* Locked. Doubles the table when it is as full as it is long. */
static int grow(tsql_cache *c)
{
    unsigned n = c->nbuckets ? c->nbuckets * 2 : 64;
    centry **b = tutil_calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (unsigned i = 0; i < c->nbuckets; i++) {
        centry *e = c->buckets[i];
        while (e) {
            centry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    tutil_free(c->buckets, c->nbuckets * sizeof *c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    return 0;
}

/* Locked: the entry under key of its kind (bound: a binding's key), or NULL. */
static centry *lookup(tsql_cache *c, uint64_t h, const char *key, size_t len, int bound)
{
    if (!c || !c->nbuckets)
        return NULL;
    for (centry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->keylen == len && (e->map != NULL) == bound && !memcmp(e->key, key, len))
            return e;
    return NULL;
}

/* Locked: the schema's cache, made on first use. */
static tsql_cache *cache_of(tide_schema *s)
{
    if (!s->cache) {
        tsql_cache *c = tutil_calloc(1, sizeof *c);
        if (!c)
            return NULL;
        tutil_arena_init(&c->arena);
        s->cache = c;
        s->cache_free = cache_free;
    }
    return s->cache;
}

/* Locked: files comp under a copy of key (map: NULL, or n entries copied).
 * Nothing is filed on OOM: the statement is still good for this call. */
static void file(tsql_cache *c, uint64_t h, const char *key, size_t len, const tide_compiled *comp, const int *map,
                 int n)
{
    centry *e = tutil_arena_alloc(&c->arena, sizeof *e);
    char *k = e ? tutil_arena_alloc(&c->arena, len ? len : 1) : NULL;
    int *m = NULL;
    if (k && map) {
        m = tutil_arena_alloc(&c->arena, (size_t)(n ? n : 1) * sizeof *m);
        if (!m)
            return;
        memcpy(m, map, (size_t)n * sizeof *m);
    }
    if (!k || (c->count >= c->nbuckets && grow(c) != 0))
        return;
    memcpy(k, key, len);
    e->key = k;
    e->keylen = len;
    e->hash = h;
    e->comp = comp;
    e->map = m;
    e->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = e;
    c->count++;
}

/* The cache itself: the shape key in d->shape (with what names the query
 * appended), then a hit, or compile() and keep what it made. */
typedef int (*compile_fn)(const tide_schema *s, const tide_model *m, tide_op op, const tide_desc *d,
                          tide_node root, const tide_value *values, tutil_arena *arena, tide_compiled **out,
                          tide_error *err);

static int cached(tide_schema *s, const tide_model *m, tide_op op, tide_desc *d, tide_node root,
                  const tide_value *values, compile_fn compile, const tide_compiled **out, tide_error *err)
{
    tutil_buf *sh = &d->shape;
    if (sh->broken) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    uint64_t h = tutil_hash(sh->data, sh->len);

    pthread_mutex_lock(&s->cache_mu);
    tsql_cache *c = cache_of(s);
    if (!c) {
        pthread_mutex_unlock(&s->cache_mu);
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    centry *hit = lookup(c, h, sh->data, sh->len, 0);
    if (hit) {
        s->hits++;
        *out = hit->comp;
        pthread_mutex_unlock(&s->cache_mu);
        return TIDE_OK;
    }
    tide_compiled *comp = NULL;
    int rc = compile(s, m, op, d, root, values, &c->arena, &comp, err);
    if (rc == TIDE_OK) {
        s->compiled++;
        file(c, h, sh->data, sh->len, comp, NULL, 0);
        *out = comp;
    }
    pthread_mutex_unlock(&s->cache_mu);
    return rc;
}

int tide_model_query(const tide_schema *cs, const char *model, tide_op op, const tide_desc *cd, tide_node root,
                     const tide_value *values, int nvalues, const tide_compiled **out, tide_error *err)
{
    tide_schema *s = (tide_schema *)cs; /* the cache is the only part that changes */
    tide_desc *d = (tide_desc *)cd;    /* so is the walk's numbering */
    if (!s || !d || !out || !model) {
        tutil_error_set(err, TIDE_E_MISUSE, "model_query: bad arguments");
        return TIDE_MISUSE;
    }
    *out = NULL;
    if (!s->finished) {
        tutil_error_set(err, TIDE_E_MISUSE, "model_query: the schema is not finished");
        return TIDE_MISUSE;
    }
    const tide_model *m = tide_schema_model(s, model);
    if (!m) {
        const char *names[300];
        int n = 0;
        for (int i = 0; i < s->nmodels && n < 300; i++)
            names[n++] = s->models[i]->name;
        const char *near = tide_nearest(model, names, n);
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "unknown model '%s'%s%s%s", model,
                         near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return TIDE_ERROR;
    }
    if (d->broken) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    int rc = tsql_canonical(d, root, values, nvalues, 0, err);
    if (rc != TIDE_OK)
        return rc;
    /* the key: model, operation, shape */
    tutil_buf *sh = &d->shape;
    tutil_buf_addc(sh, '|');
    tutil_buf_adds(sh, m->name);
    tutil_buf_addc(sh, '|');
    tutil_buf_addu(sh, (size_t)op);
    return cached(s, m, op, d, root, values, tsql_compile, out, err);
}

static int compile_builder(const tide_schema *s, const tide_model *m, tide_op op, const tide_desc *d,
                           tide_node root, const tide_value *values, tutil_arena *arena, tide_compiled **out,
                           tide_error *err)
{
    (void)m;
    (void)op;
    return tsql_builder_compile(s, d, root, values, arena, out, err);
}

int tide_builder_query(const tide_schema *cs, const tide_desc *cd, tide_node root, const tide_value *values,
                       int nvalues, const tide_compiled **out, tide_error *err)
{
    tide_schema *s = (tide_schema *)cs;
    tide_desc *d = (tide_desc *)cd;
    if (!s || !d || !out) {
        tutil_error_set(err, TIDE_E_MISUSE, "builder_query: bad arguments");
        return TIDE_MISUSE;
    }
    *out = NULL;
    if (!s->finished) {
        tutil_error_set(err, TIDE_E_MISUSE, "builder_query: the schema is not finished");
        return TIDE_MISUSE;
    }
    if (d->broken) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    int rc = tsql_canonical(d, root, values, nvalues, 1, err);
    if (rc != TIDE_OK)
        return rc;
    tutil_buf_adds(&d->shape, "|builder"); /* never a model's key: those end in |<op number> */
    return cached(s, NULL, 0, d, root, values, compile_builder, out, err);
}

const tide_compiled *tide_compiled_find(const tide_schema *cs, const char *key, size_t len, const int **map)
{
    tide_schema *s = (tide_schema *)cs;
    if (!s || !key)
        return NULL;
    uint64_t h = tutil_hash(key, len);
    pthread_mutex_lock(&s->cache_mu);
    centry *e = lookup(s->cache, h, key, len, 1);
    const tide_compiled *comp = NULL;
    if (e) {
        s->hits++;
        comp = e->comp;
        if (map)
            *map = e->map;
    }
    pthread_mutex_unlock(&s->cache_mu);
    return comp;
}

int tide_compiled_remember(const tide_schema *cs, const char *key, size_t len, const tide_compiled *comp,
                           const int *map, tide_error *err)
{
    tide_schema *s = (tide_schema *)cs;
    int n = tide_compiled_nparams(comp);
    if (!s || !key || !comp || (n > 0 && !map)) {
        tutil_error_set(err, TIDE_E_MISUSE, "compiled_remember: bad arguments");
        return TIDE_MISUSE;
    }
    uint64_t h = tutil_hash(key, len);
    pthread_mutex_lock(&s->cache_mu);
    tsql_cache *c = cache_of(s);
    if (c && !lookup(c, h, key, len, 1))
        file(c, h, key, len, comp, map ? map : (const int[1]){0}, n);
    pthread_mutex_unlock(&s->cache_mu);
    return TIDE_OK;
}

void tide_schema_cache_stats(const tide_schema *s, long *compiled, long *hits)
{
    tide_schema *m = (tide_schema *)s;
    pthread_mutex_lock(&m->cache_mu);
    if (compiled)
        *compiled = s->compiled;
    if (hits)
        *hits = s->hits;
    pthread_mutex_unlock(&m->cache_mu);
}
