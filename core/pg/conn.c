/* One PostgreSQL connection as a non-blocking state machine over libpq.
 *
 * A query is one of two paths:
 *   extended: [DEALLOC] -> [PREPARE -> DESCRIBE] -> EXEC, the bracketed steps
 *             only when the statement is not yet in this connection's cache;
 *   simple:   SIMPLE (no parameters: PQsendQuery, several commands allowed).
 * Each state sends one command; tide_conn_step() reads its results and moves
 * on. The parameters' types come from DESCRIBE, so values are encoded to fit
 * what the server expects (encode.c). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "encode.h"
#include "pg.h"

/* Milliseconds for timeouts and ages. The coarse clock is a few ms coarse
 * and costs far less than the precise one, which adds up on the hot path. */
int64_t tpg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tpg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tide_conn_options_init(tide_conn_options *o)
{
    memset(o, 0, sizeof *o);
    o->connect_timeout_ms = 10000;
    o->stmt_cache_size = 256;
}

/* ---- connection parameters ------------------------------------------------- */

/* Settings tide relies on: ISO dates (decode.c rewrites them to ISO 8601),
 * ISO 8601 intervals, UTF-8. Appended after the caller's own options. */
static const char *const tide_session_options = "-c DateStyle=ISO -c IntervalStyle=iso_8601";

/* libpq echoes parts of a malformed connection string; quoted fragments may
 * hold a password, so they are blanked. */
static void set_conninfo_error(tide_error *err, const char *msg)
{
    char clean[512];
    size_t j = 0;
    int quoted = 0;
    for (size_t i = 0; msg && msg[i] && j + 4 < sizeof clean; i++) {
        char c = msg[i];
        if (c == '"') {
            quoted = !quoted;
            if (quoted) {
                memcpy(clean + j, "\"...", 4);
                j += 4;
            } else {
                clean[j++] = '"';
            }
        } else if (!quoted && c != '\n') {
            clean[j++] = c;
        }
    }
    clean[j] = '\0';
    tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "invalid connection string: %s", j ? clean : "unparsable");
}

/* Removes every copy of the password from a message (libpq may repeat
 * connection parameters). Short passwords are left alone: blanking every
 * "ab" would wreck the message and protect nothing. */
void tpg_conn_scrub(const tide_conn *c, tide_error *err)
{
    if (!err || !c->password || strlen(c->password) < 4)
        return;
    const char *m = tide_error_message(err);
    if (!strstr(m, c->password))
        return;
    tutil_buf b;
    tutil_buf_init(&b);
    size_t pl = strlen(c->password);
    for (const char *p = m; *p;) {
        const char *hit = strstr(p, c->password);
        if (!hit) {
            tutil_buf_adds(&b, p);
            break;
        }
        tutil_buf_add(&b, p, (size_t)(hit - p));
        tutil_buf_adds(&b, "********");
        p = hit + pl;
    }
    tide_code code = tide_error_code(err);
    tutil_error_set(err, code, tutil_buf_str(&b));
    tutil_buf_free(&b);
}

static void free_params(tide_conn *c)
{
    if (c->keywords) {
        for (int i = 0; c->keywords[i]; i++) {
            tutil_strfree(c->keywords[i]);
            tutil_strfree(c->values[i]);
        }
    }
    tutil_free(c->keywords, c->nparams_alloc * sizeof(char *));
    tutil_free(c->values, c->nparams_alloc * sizeof(char *));
    c->keywords = c->values = NULL;
}

/* "h1:p1,h2:p2" from libpq's comma-separated host and port lists (one port
 * may serve every host; an empty entry is the default). */
static void describe_hosts(tutil_buf *d, const char *hosts, const char *ports)
{
    int single_port = ports && !strchr(ports, ',');
    const char *h = hosts, *p = ports;
    for (int first = 1;; first = 0) {
        size_t hl = strcspn(h, ",");
        if (!first)
            tutil_buf_addc(d, ',');
        tutil_buf_add(d, h, hl);
        if (!hl)
            tutil_buf_adds(d, "localhost");
        if (p) {
            size_t pl = strcspn(p, ",");
            if (pl) {
                tutil_buf_addc(d, ':');
                tutil_buf_add(d, p, pl);
            }
            if (!single_port)
                p = p[pl] ? p + pl + 1 : NULL;
        }
        if (!h[hl])
            break;
        h += hl + 1;
    }
}

static int build_params(tide_conn *c, const tide_conn_options *o, tide_error *err)
{
    if (o->no_prepare && o->statement_timeout_ms > 0) {
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT,
                        "statement_timeout is a startup option, which PgBouncer does not pass on: with no_prepare "
                        "set it on the role or database (ALTER ROLE ... SET statement_timeout = ...)");
        return TIDE_ERROR;
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(o->conninfo ? o->conninfo : "", &perr);
    if (!opts) {
        set_conninfo_error(err, perr ? perr : "out of memory");
        PQfreemem(perr);
        return TIDE_ERROR;
    }
    int n = 0;
    for (PQconninfoOption *p = opts; p->keyword; p++)
        n++;
    /* every option, plus the ones tide may add */
    c->nparams_alloc = (size_t)n + 8;
    c->keywords = tutil_calloc(c->nparams_alloc, sizeof(char *));
    c->values = tutil_calloc(c->nparams_alloc, sizeof(char *));
    if (!c->keywords || !c->values)
        goto oom;

    const char *user = NULL, *host = NULL, *port = NULL, *dbname = NULL, *options = NULL, *appname = NULL;
    int k = 0;
    for (PQconninfoOption *p = opts; p->keyword; p++) {
        if (!p->val)
            continue;
        const char *kw = p->keyword;
        if (!strcmp(kw, "options")) { options = p->val; continue; }
        if (!strcmp(kw, "client_encoding") || !strcmp(kw, "connect_timeout"))
            continue; /* tide sets these */
        if (!strcmp(kw, "application_name")) appname = p->val;
        if (!strcmp(kw, "user")) user = p->val;
        if (!strcmp(kw, "host")) host = p->val;
        if (!strcmp(kw, "hostaddr") && !host) host = p->val;
        if (!strcmp(kw, "port")) port = p->val;
        if (!strcmp(kw, "dbname")) dbname = p->val;
        if (!strcmp(kw, "password")) {
            c->password = tutil_strdup(p->val);
            if (!c->password)
                goto oom;
        }
        if (!(c->keywords[k] = tutil_strdup(kw)) || !(c->values[k] = tutil_strdup(p->val)))
            goto oom; /* free_params frees up to the first NULL keyword */
        k++;
    }
    tutil_buf ob;
    tutil_buf_init(&ob);
    if (o->no_prepare) {
        /* PgBouncer refuses a startup packet with options in it: only the
         * caller's own go, and check_session verifies the settings instead. */
        if (options)
            tutil_buf_adds(&ob, options);
    } else {
        if (options && *options) {
            tutil_buf_adds(&ob, options);
            tutil_buf_addc(&ob, ' ');
        }
        tutil_buf_adds(&ob, tide_session_options);
        if (o->statement_timeout_ms > 0)
            tutil_buf_addf(&ob, " -c statement_timeout=%d", o->statement_timeout_ms);
    }
    char seconds[16];
    /* libpq's connect_timeout only governs its blocking calls; the real
     * deadline is ours (deadline_ms), this keeps DNS/TCP from hanging past it. */
    snprintf(seconds, sizeof seconds, "%d", o->connect_timeout_ms > 0 ? (o->connect_timeout_ms + 999) / 1000 : 0);
    const char *extra[][2] = {
        {"options", ob.len ? tutil_buf_str(&ob) : NULL},
        {"client_encoding", "UTF8"},
        {"connect_timeout", seconds},
        {"application_name", appname ? NULL : (o->application_name ? o->application_name : "tide")},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (!extra[i][1])
            continue;
        if (!(c->keywords[k] = tutil_strdup(extra[i][0])) || !(c->values[k] = tutil_strdup(extra[i][1]))) {
            tutil_buf_free(&ob);
            goto oom;
        }
        k++;
    }
    int broken = ob.broken;
    tutil_buf_free(&ob);
    if (broken)
        goto oom;

    tutil_buf d;
    tutil_buf_init(&d);
    tutil_buf_addf(&d, "postgresql://%s@", user ? user : "");
    describe_hosts(&d, host ? host : "localhost", port);
    tutil_buf_addf(&d, "/%s", dbname ? dbname : (user ? user : ""));
    c->describe = d.broken ? NULL : tutil_strdup(tutil_buf_str(&d));
    tutil_buf_free(&d);
    if (!c->describe)
        goto oom;
    PQconninfoFree(opts);
    return TIDE_OK;
oom:
    PQconninfoFree(opts);
    tutil_error_oom(err);
    return TIDE_ERROR;
}

tide_conn *tide_conn_new(const tide_conn_options *o, tide_error *err)
{
    tide_conn_options defaults;
    if (!o) {
        tide_conn_options_init(&defaults);
        o = &defaults;
    }
    tide_conn *c = tutil_calloc(1, sizeof *c);
    if (!c) {
        tutil_error_oom(err);
        return NULL;
    }
    tutil_buf_init(&c->saved_text);
    tutil_buf_init(&c->enc);
    c->connect_timeout_ms = o->connect_timeout_ms;
    c->query_timeout_ms = o->query_timeout_ms > 0 ? o->query_timeout_ms : 0;
    /* at least the statement in flight */
    c->stmt_cache_size = o->stmt_cache_size < 1 ? 1 : o->stmt_cache_size;
    c->no_prepare = o->no_prepare != 0;
    if (build_params(c, o, err) != TIDE_OK) {
        tide_conn_free(c);
        return NULL;
    }
    return c;
}

/* The per-parameter arrays live in one block; they are refilled for every
 * query, so growing need not keep their contents. */
static size_t param_block_size(int n)
{
    return (size_t)n * (sizeof(const char *) + sizeof(size_t) + 2 * sizeof(int));
}

static void stmt_free(tpg_stmt *s)
{
    if (!s)
        return;
    tutil_free(s->sql, s->len + 1);
    tutil_free(s->types, (size_t)s->nparams * sizeof(Oid));
    tutil_free(s, sizeof *s);
}

void tpg_conn_clear(tide_conn *c)
{
    if (c->batch)
        tpg_batch_drop(c);
    PQclear(c->last);
    PQclear(c->errres);
    c->last = c->errres = NULL;
    tide_result_free(c->result);
    c->result = NULL;
}

void tpg_conn_clear_cache(tide_conn *c)
{
    if (c->batch) /* it points at cached statements */
        tpg_batch_drop(c);
    tpg_stmt *s = c->lru_head;
    while (s) {
        tpg_stmt *n = s->next;
        stmt_free(s);
        s = n;
    }
    c->lru_head = c->lru_tail = NULL;
    if (c->buckets)
        memset(c->buckets, 0, c->nbuckets * sizeof *c->buckets);
    c->ncached = 0;
    c->hot = NULL;
    for (int i = 0; i < c->npending; i++)
        tutil_strfree(c->pending_dealloc[i]);
    c->npending = 0;
    c->cur = NULL;
}

void tide_conn_free(tide_conn *c)
{
    if (!c)
        return;
    if (c->pg)
        PQfinish(c->pg);
    tpg_conn_clear(c);
    tpg_conn_clear_cache(c);
    tutil_free(c->buckets, c->nbuckets * sizeof *c->buckets);
    tutil_free(c->pending_dealloc, (size_t)c->pending_cap * sizeof(char *));
    tutil_free(c->saved, (size_t)c->saved_cap * sizeof(tide_value));
    tutil_buf_free(&c->saved_text);
    tutil_buf_free(&c->enc);
    tutil_free(c->pvals, param_block_size(c->pcap));
    free_params(c);
    tutil_strfree(c->describe);
    if (c->password) {
        memset(c->password, 0, strlen(c->password));
        tutil_strfree(c->password);
    }
    tutil_free(c, sizeof *c);
}

/* ---- connecting ------------------------------------------------------------ */

int tpg_fail_broken(tide_conn *c, tide_error *err, const PGresult *r)
{
    tpg_error_from_result(err, r, c->pg);
    c->broken = 1;
    c->state = TPG_IDLE;
    c->wants = TIDE_WANT_NOTHING;
    tpg_conn_scrub(c, err);
    return TIDE_ERROR;
}

int tide_conn_connect_start(tide_conn *c, tide_error *err)
{
    if (!c || c->state != TPG_IDLE) {
        tutil_error_set(err, TIDE_E_MISUSE, "connect_start: connection is busy");
        return TIDE_MISUSE;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    tpg_conn_clear_cache(c);
    c->broken = 0;
    c->effects = 0;
    c->pg = PQconnectStartParams((const char *const *)c->keywords, (const char *const *)c->values, 0);
    if (!c->pg) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD)
        return tpg_fail_broken(c, err, NULL);
    c->state = TPG_CONNECTING;
    c->wants = TIDE_WANT_WRITE;
    c->deadline_ms = c->connect_timeout_ms > 0 ? tpg_now_ms() + c->connect_timeout_ms : 0;
    c->created_ms = tpg_now_ms();
    return TIDE_PENDING;
}

static void ignore_notice(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

static int check_session(tide_conn *c, tide_error *err)
{
    const char *scs = PQparameterStatus(c->pg, "standard_conforming_strings");
    const char *enc = PQparameterStatus(c->pg, "client_encoding");
    if (!scs || strcmp(scs, "on") != 0 || !enc || strcmp(enc, "UTF8") != 0) {
        tutil_error_setf(err, TIDE_E_CONNECTION_FAILURE,
                         "server session refused: tide needs standard_conforming_strings=on and client_encoding=UTF8 "
                         "(got %s, %s)", scs ? scs : "?", enc ? enc : "?");
        c->broken = 1;
        c->state = TPG_IDLE;
        return TIDE_ERROR;
    }
    if (c->no_prepare) {
        /* tide could not ask for these at startup: the server must have them */
        const char *ds = PQparameterStatus(c->pg, "DateStyle");
        const char *is = PQparameterStatus(c->pg, "IntervalStyle");
        if (!ds || strncmp(ds, "ISO", 3) != 0 || !is || strcmp(is, "iso_8601") != 0) {
            tutil_error_setf(err, TIDE_E_CONNECTION_FAILURE,
                             "server session refused: without startup options (no_prepare) tide needs the server "
                             "to have DateStyle=ISO and IntervalStyle=iso_8601 (got %s, %s); set them with "
                             "ALTER DATABASE ... SET or ALTER ROLE ... SET",
                             ds ? ds : "?", is ? is : "?");
            c->broken = 1;
            c->state = TPG_IDLE;
            return TIDE_ERROR;
        }
    }
    if (PQsetnonblocking(c->pg, 1) != 0)
        return tpg_fail_broken(c, err, NULL);
    /* libpq prints notices to stderr by default; a library must not. */
    PQsetNoticeReceiver(c->pg, ignore_notice, NULL);
    c->state = TPG_IDLE;
    c->wants = TIDE_WANT_NOTHING;
    return TIDE_OK;
}

static int step_connect(tide_conn *c, tide_error *err)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        c->wants = TIDE_WANT_READ;
        return TIDE_PENDING;
    case PGRES_POLLING_WRITING:
        c->wants = TIDE_WANT_WRITE;
        return TIDE_PENDING;
    case PGRES_POLLING_OK:
        return check_session(c, err);
    default:
        return tpg_fail_broken(c, err, NULL);
    }
}

/* ---- the statement cache --------------------------------------------------- */

static void lru_unlink(tide_conn *c, tpg_stmt *s)
{
    if (s->prev) s->prev->next = s->next; else c->lru_head = s->next;
    if (s->next) s->next->prev = s->prev; else c->lru_tail = s->prev;
    s->prev = s->next = NULL;
}

static void lru_push_front(tide_conn *c, tpg_stmt *s)
{
    s->prev = NULL;
    s->next = c->lru_head;
    if (c->lru_head) c->lru_head->prev = s; else c->lru_tail = s;
    c->lru_head = s;
}

static tpg_stmt *cache_find(tide_conn *c, const char *sql, size_t len, uint64_t h)
{
    if (!c->nbuckets)
        return NULL;
    for (tpg_stmt *s = c->buckets[h & (c->nbuckets - 1)]; s; s = s->hnext)
        if (s->hash == h && s->len == len && memcmp(s->sql, sql, len) == 0)
            return s;
    return NULL;
}

int tpg_push_pending(tide_conn *c, const char *name)
{
    if (c->npending == c->pending_cap) {
        int cap = c->pending_cap ? c->pending_cap * 2 : 8;
        char **p = tutil_realloc(c->pending_dealloc, (size_t)c->pending_cap * sizeof(char *),
                                 (size_t)cap * sizeof(char *));
        if (!p)
            return TIDE_ERROR;
        c->pending_dealloc = p;
        c->pending_cap = cap;
    }
    char *copy = tutil_strdup(name);
    if (!copy)
        return TIDE_ERROR;
    c->pending_dealloc[c->npending++] = copy;
    return TIDE_OK;
}

/* Drops s from the cache; its server-side statement is deallocated before the
 * next prepare. */
static int cache_remove(tide_conn *c, tpg_stmt *s, int on_server)
{
    tpg_stmt **pp = &c->buckets[s->hash & (c->nbuckets - 1)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    lru_unlink(c, s);
    c->ncached--;
    if (c->cur == s)
        c->cur = NULL;
    if (c->hot == s)
        c->hot = NULL;
    int rc = on_server && s->ready && !c->no_prepare ? tpg_push_pending(c, s->name) : TIDE_OK;
    stmt_free(s);
    return rc;
}

static tpg_stmt *cache_add(tide_conn *c, const char *sql, size_t len, uint64_t h, tide_error *err)
{
    if (!c->buckets) {
        unsigned n = 16;
        while (n < (unsigned)c->stmt_cache_size * 2u && n < (1u << 20))
            n <<= 1;
        c->buckets = tutil_calloc(n, sizeof *c->buckets);
        if (!c->buckets) {
            tutil_error_oom(err);
            return NULL;
        }
        c->nbuckets = n;
    }
    while (c->ncached >= c->stmt_cache_size) {
        tpg_stmt *v = c->lru_tail;
        while (v && v->pinned) /* a running batch's: kept until it ends */
            v = v->prev;
        if (!v)
            break;
        if (cache_remove(c, v, 1) != TIDE_OK)
            c->effects |= TPG_FX_PREPARE; /* lost its name: DEALLOCATE ALL at release */
    }
    tpg_stmt *s = tutil_calloc(1, sizeof *s);
    char *copy = s ? tutil_malloc(len + 1) : NULL;
    if (!s || !copy) {
        tutil_free(s, sizeof *s);
        tutil_error_oom(err);
        return NULL;
    }
    memcpy(copy, sql, len);
    copy[len] = '\0';
    s->sql = copy;
    s->len = len;
    s->hash = h;
    s->effects = tpg_session_effects(sql, len);
    snprintf(s->name, sizeof s->name, "tide_%u", ++c->next_id);
    unsigned b = (unsigned)(h & (c->nbuckets - 1));
    s->hnext = c->buckets[b];
    c->buckets[b] = s;
    lru_push_front(c, s);
    c->ncached++;
    return s;
}

/* The cached statement for sql, added (not yet prepared) when it is new;
 * most recently used either way. */
tpg_stmt *tpg_stmt_get(tide_conn *c, const char *sql, size_t len, tide_error *err)
{
    uint64_t h = tutil_hash(sql, len);
    tpg_stmt *s = cache_find(c, sql, len, h);
    if (!s)
        return cache_add(c, sql, len, h, err);
    if (s != c->lru_head) {
        lru_unlink(c, s);
        lru_push_front(c, s);
    }
    return s;
}

/* ---- queries --------------------------------------------------------------- */

int tpg_grow_params(tide_conn *c, int n, tide_error *err)
{
    if (n <= c->pcap)
        return TIDE_OK;
    int cap = c->pcap ? c->pcap : 8;
    while (cap < n)
        cap *= 2;
    tutil_free(c->pvals, param_block_size(c->pcap));
    c->pvals = NULL;
    c->pcap = 0;
    char *block = tutil_malloc(param_block_size(cap));
    if (!block) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    c->pvals = (const char **)block;
    c->poffs = (size_t *)(block + (size_t)cap * sizeof(const char *));
    c->plens = (int *)(block + (size_t)cap * (sizeof(const char *) + sizeof(size_t)));
    c->pfmts = c->plens + cap;
    c->pcap = cap;
    return TIDE_OK;
}

/* Encodes params for statement s into c->enc (appended) and the
 * pvals/plens/pfmts arrays from index base on; the pointers are set by
 * tpg_point_params once everything is encoded (c->enc may move meanwhile).
 * The arrays must have room (tpg_grow_params). */
int tpg_encode_params(tide_conn *c, const tpg_stmt *s, const tide_value *params, int n, int base, tide_error *err)
{
    if (n != s->nparams) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT,
                         "the statement takes %d parameter%s, %d given", s->nparams, s->nparams == 1 ? "" : "s", n);
        return TIDE_ERROR;
    }
    for (int i = 0; i < n; i++) {
        int k = base + i;
        c->pfmts[k] = 0;
        if (params[i].kind == TIDE_KIND_NULL) {
            c->poffs[k] = (size_t)-1;
            continue;
        }
        c->poffs[k] = c->enc.len;
        if (tpg_encode_param(&params[i], s->types[i], &c->enc, &c->pfmts[k], err) != TIDE_OK) {
            if (tide_error_code(err) == TIDE_E_INVALID_ARGUMENT) {
                char msg[600];
                snprintf(msg, sizeof msg, "parameter $%d: %s", i + 1, tide_error_message(err));
                tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, msg);
            }
            return TIDE_ERROR;
        }
        c->plens[k] = (int)(c->enc.len - c->poffs[k]);
        tutil_buf_addc(&c->enc, '\0'); /* text values are read as C strings */
    }
    if (c->enc.broken) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

void tpg_point_params(tide_conn *c, int n)
{
    for (int i = 0; i < n; i++)
        c->pvals[i] = c->poffs[i] == (size_t)-1 ? NULL : c->enc.data + c->poffs[i];
}

/* One statement's parameters. */
static int encode_params(tide_conn *c, const tpg_stmt *s, const tide_value *params, int n, tide_error *err)
{
    if (tpg_grow_params(c, n, err) != TIDE_OK)
        return TIDE_ERROR;
    tutil_buf_reset(&c->enc);
    if (tpg_encode_params(c, s, params, n, 0, err) != TIDE_OK)
        return TIDE_ERROR;
    tpg_point_params(c, n);
    return TIDE_OK;
}

/* Keeps a copy of the parameters while the statement is being prepared. */
int tpg_params_copy(tide_value *dst, tutil_buf *text, const tide_value *src, int n)
{
    tutil_buf_reset(text);
    for (int i = 0; i < n; i++) {
        dst[i] = src[i];
        tide_kind k = src[i].kind;
        if (k == TIDE_KIND_TEXT || k == TIDE_KIND_BYTEA || k == TIDE_KIND_JSON || k == TIDE_KIND_NUMERIC)
            tutil_buf_add(text, src[i].as.s.ptr, src[i].as.s.len);
    }
    if (text->broken)
        return -1;
    /* pointed at only now: the buffer may have moved while it grew */
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        tide_kind k = dst[i].kind;
        if (k == TIDE_KIND_TEXT || k == TIDE_KIND_BYTEA || k == TIDE_KIND_JSON || k == TIDE_KIND_NUMERIC) {
            dst[i].as.s.ptr = text->data ? text->data + off : "";
            off += dst[i].as.s.len;
        }
    }
    return 0;
}

static int save_params(tide_conn *c, const tide_value *params, int n, tide_error *err)
{
    if (n > c->saved_cap) {
        tide_value *v = tutil_realloc(c->saved, (size_t)c->saved_cap * sizeof *v, (size_t)n * sizeof *v);
        if (!v) {
            tutil_error_oom(err);
            return TIDE_ERROR;
        }
        c->saved = v;
        c->saved_cap = n;
    }
    if (tpg_params_copy(c->saved, &c->saved_text, params, n) != 0) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    c->nparams = n;
    return TIDE_OK;
}

/* Declared types for a Parse: those learnt before, else the caller's. Sets
 * *declared when any is non-zero. NULL on out of memory. */
static Oid *declared_types(tide_conn *c, const tpg_stmt *s, size_t *size, int *declared)
{
    *size = (size_t)(c->nparams ? c->nparams : 1) * sizeof(Oid);
    Oid *types = tutil_malloc(*size);
    if (!types)
        return NULL;
    *declared = 0;
    for (int i = 0; i < c->nparams; i++) {
        types[i] = s->types && i < s->nparams ? s->types[i] : c->saved[i].type;
        *declared |= types[i] != 0;
    }
    return types;
}

/* Keeps the parameter types a Describe result reports with statement s. */
int tpg_take_types(tpg_stmt *s, const PGresult *described, tide_error *err)
{
    int n = PQnparams(described);
    tutil_free(s->types, (size_t)s->nparams * sizeof(Oid));
    s->types = tutil_malloc((size_t)(n ? n : 1) * sizeof(Oid));
    if (!s->types) {
        s->nparams = 0;
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    s->nparams = n;
    for (int i = 0; i < n; i++)
        s->types[i] = PQparamtype(described, i);
    s->ready = 1;
    return TIDE_OK;
}

static int sent(tide_conn *c, int ok, tide_error *err)
{
    if (!ok)
        return tpg_fail_broken(c, err, NULL);
    if (c->pool)
        tpg_pool_count_statements(c->pool, 1);
    int f = PQflush(c->pg);
    if (f < 0)
        return tpg_fail_broken(c, err, NULL);
    c->wants = f ? TIDE_WANT_WRITE : TIDE_WANT_READ;
    return TIDE_PENDING;
}

static int send_exec(tide_conn *c, tide_error *err)
{
    c->state = TPG_EXEC;
    int ok = PQsendQueryPrepared(c->pg, c->cur->name, c->nparams, c->pvals, c->plens, c->pfmts, 0);
    return sent(c, ok, err);
}

static int send_prepare(tide_conn *c, tide_error *err)
{
    if (c->npending) {
        char q[64];
        snprintf(q, sizeof q, "DEALLOCATE %s", c->pending_dealloc[c->npending - 1]);
        c->state = TPG_DEALLOC;
        return sent(c, PQsendQuery(c->pg, q), err);
    }
    tpg_stmt *s = c->cur;
    /* declared types: those learnt before (a re-prepare), else the caller's */
    size_t tsize;
    int declared;
    Oid *types = declared_types(c, s, &tsize, &declared);
    if (!types) {
        c->state = TPG_IDLE;
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    c->state = TPG_PREPARE;
    /* With no declared types the server counts the parameters itself, so a
     * wrong number of values is reported by encode_params, clearly. */
    int ok = PQsendPrepare(c->pg, s->name, s->sql, declared ? c->nparams : 0, types);
    tutil_free(types, tsize);
    return sent(c, ok, err);
}

/* ---- no_prepare: unnamed statements, for transaction poolers --------------
 *
 * Behind PgBouncer in transaction mode each round trip that ends outside a
 * transaction may land on another server connection, so no round trip may
 * rely on an earlier one's server state. A statement runs as one
 * PQsendQueryParams (Parse, Bind, Describe, Execute, Sync of the unnamed
 * statement). Its parameter types are learnt the first time its text is
 * seen on this connection, by a Parse and Describe of the unnamed statement
 * sent together with one Sync (a pipeline), so they reach one server
 * connection as one unit; the types are kept client-side in the statement
 * cache, where they stay true whichever server connection runs the text. */

static int finish_error(tide_conn *c, tide_error *err);

static int send_unnamed(tide_conn *c, tide_error *err)
{
    c->state = TPG_SIMPLE;
    tpg_stmt *s = c->cur;
    int ok = PQsendQueryParams(c->pg, s->sql, c->nparams, c->nparams ? s->types : NULL, c->pvals, c->plens,
                               c->pfmts, 0);
    return sent(c, ok, err);
}

static int send_learn(tide_conn *c, tide_error *err)
{
    size_t tsize;
    int declared;
    Oid *types = declared_types(c, c->cur, &tsize, &declared);
    if (!types) {
        c->state = TPG_IDLE;
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    c->state = TPG_LEARN;
    int ok = PQenterPipelineMode(c->pg) && PQsendPrepare(c->pg, "", c->cur->sql, declared ? c->nparams : 0, types) &&
             PQsendDescribePrepared(c->pg, "") && PQpipelineSync(c->pg);
    tutil_free(types, tsize);
    return sent(c, ok, err);
}

/* Before reading results: what is left to send goes out, and what the
 * socket holds comes in. TIDE_OK to read on, else what to return. */
int tpg_conn_pump(tide_conn *c, tide_error *err)
{
    if (c->wants & TIDE_WANT_WRITE) {
        int f = PQflush(c->pg);
        if (f < 0)
            return tpg_fail_broken(c, err, NULL);
        if (f > 0) {
            /* A long pipeline: the server may be blocked sending results
             * nobody reads while it waits for the rest; read meanwhile. */
            if (c->state == TPG_BATCH) {
                if (!PQconsumeInput(c->pg))
                    return tpg_fail_broken(c, err, NULL);
                c->wants = TIDE_WANT_READ | TIDE_WANT_WRITE;
            }
            return TIDE_PENDING;
        }
        c->wants = TIDE_WANT_READ;
    }
    if (!PQconsumeInput(c->pg))
        return tpg_fail_broken(c, err, NULL);
    return TIDE_OK;
}

/* The first error result is the one reported; later ones are dropped. */
static void keep_error(tide_conn *c, PGresult *r)
{
    if (!c->errres)
        c->errres = r;
    else
        PQclear(r);
}

/* Reads the learning pipeline's results up to its Sync: the Describe's
 * result in c->last, the first error in c->errres. */
static int drain_learn(tide_conn *c, tide_error *err)
{
    int rc = tpg_conn_pump(c, err);
    if (rc != TIDE_OK)
        return rc;
    for (int ends = 0;;) {
        if (PQisBusy(c->pg)) {
            c->wants = TIDE_WANT_READ;
            return TIDE_PENDING;
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            /* the end of one command's results; the next follows (three
             * commands: more ends than that means the queue is lost) */
            if (++ends > 3 || PQstatus(c->pg) == CONNECTION_BAD)
                return tpg_fail_broken(c, err, NULL);
            continue;
        }
        switch (PQresultStatus(r)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(r);
            if (!PQexitPipelineMode(c->pg))
                return tpg_fail_broken(c, err, NULL);
            return TIDE_OK;
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE:
            keep_error(c, r);
            break;
        case PGRES_COMMAND_OK: /* the Parse's, then the Describe's */
            PQclear(c->last);
            c->last = r;
            break;
        default: /* PGRES_PIPELINE_ABORTED after an error */
            PQclear(r);
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            return tpg_fail_broken(c, err, NULL);
    }
}

static int step_learn(tide_conn *c, tide_error *err)
{
    int rc = drain_learn(c, err);
    if (rc != TIDE_OK)
        return rc;
    tpg_stmt *s = c->cur;
    if (c->errres) {
        int e = finish_error(c, err);
        cache_remove(c, s, 0);
        return e;
    }
    rc = c->last ? tpg_take_types(s, c->last, err) : TIDE_ERROR;
    PQclear(c->last);
    c->last = NULL;
    if (rc != TIDE_OK) {
        if (!tide_error_code(err))
            tutil_error_set(err, TIDE_E_DATABASE, "the server did not describe the statement");
        cache_remove(c, s, 0);
        c->state = TPG_IDLE;
        return TIDE_ERROR;
    }
    if (encode_params(c, s, c->saved, c->nparams, err) != TIDE_OK) {
        c->state = TPG_IDLE;
        return TIDE_ERROR;
    }
    return send_unnamed(c, err);
}

static int start_unnamed(tide_conn *c, const char *sql, size_t len, const tide_value *params, int nparams,
                         tide_error *err)
{
    uint64_t h = tutil_hash(sql, len);
    tpg_stmt *s = cache_find(c, sql, len, h);
    if (!s) {
        if (!(s = cache_add(c, sql, len, h, err)))
            return TIDE_ERROR;
        if (nparams == 0)
            s->ready = 1; /* no parameters: nothing to learn */
    } else if (s != c->lru_head) {
        lru_unlink(c, s);
        lru_push_front(c, s);
    }
    c->cur = s;
    c->effects |= s->effects;
    if (s->ready) {
        if (encode_params(c, s, params, nparams, err) != TIDE_OK)
            return TIDE_ERROR;
        return send_unnamed(c, err);
    }
    if (save_params(c, params, nparams, err) != TIDE_OK)
        return TIDE_ERROR;
    return send_learn(c, err);
}

int tide_conn_query_start(tide_conn *c, const char *sql, int nparams, const tide_value *params, int flags,
                          tide_error *err)
{
    if (!c || !sql || nparams < 0 || (nparams > 0 && !params)) {
        tutil_error_set(err, TIDE_E_MISUSE, "query_start: bad arguments");
        return TIDE_MISUSE;
    }
    if (c->state != TPG_IDLE && c->state != TPG_DONE) {
        tutil_error_set(err, TIDE_E_MISUSE, "query_start: another operation is in progress on this connection");
        return TIDE_MISUSE;
    }
    if (!c->pg || c->broken || PQstatus(c->pg) != CONNECTION_OK) {
        c->broken = 1;
        tutil_error_set(err, TIDE_E_CONNECTION_FAILURE, "the connection is closed");
        return TIDE_ERROR;
    }
    if (nparams > 65535) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "%d parameters: PostgreSQL takes at most 65535", nparams);
        return TIDE_ERROR;
    }
    tpg_conn_clear(c);
    c->flags = flags;
    c->retried = 0;
    c->nparams = nparams;

    /* The same text as last time (a loop, or a Lua string, which does not
     * move): comparing it, NUL included, is cheaper than hashing it. */
    tpg_stmt *hot = c->hot;
    if (hot && hot->ready && sql == c->hot_sql && memcmp(hot->sql, sql, hot->len + 1) == 0) {
        c->cur = hot;
        c->effects |= hot->effects;
        if (encode_params(c, hot, params, nparams, err) != TIDE_OK)
            return TIDE_ERROR;
        return send_exec(c, err);
    }
    size_t len = strlen(sql);

    if (nparams == 0 && !(flags & TIDE_QUERY_PREPARE)) {
        c->effects |= tpg_session_effects(sql, len);
        c->cur = NULL;
        c->state = TPG_SIMPLE;
        return sent(c, PQsendQuery(c->pg, sql), err);
    }
    if (c->no_prepare)
        return start_unnamed(c, sql, len, params, nparams, err);
    uint64_t h = tutil_hash(sql, len);
    tpg_stmt *s = cache_find(c, sql, len, h);
    if (s && s->ready) {
        if (s != c->lru_head) {
            lru_unlink(c, s);
            lru_push_front(c, s);
        }
        c->hot = s;
        c->hot_sql = sql;
        c->cur = s;
        c->effects |= s->effects;
        if (encode_params(c, s, params, nparams, err) != TIDE_OK)
            return TIDE_ERROR;
        return send_exec(c, err);
    }
    if (!s && !(s = cache_add(c, sql, len, h, err)))
        return TIDE_ERROR;
    c->hot = s;
    c->hot_sql = sql;
    c->cur = s;
    c->effects |= s->effects;
    if (save_params(c, params, nparams, err) != TIDE_OK)
        return TIDE_ERROR;
    return send_prepare(c, err);
}

/* Reads every result of the command in flight. TIDE_OK once all are in
 * (c->last / c->errres set), TIDE_PENDING while more are coming. */
static int drain(tide_conn *c, tide_error *err)
{
    int rc = tpg_conn_pump(c, err);
    if (rc != TIDE_OK)
        return rc;
    for (;;) {
        if (PQisBusy(c->pg)) {
            c->wants = TIDE_WANT_READ;
            return TIDE_PENDING;
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            return TIDE_OK;
        switch (PQresultStatus(r)) {
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE:
            keep_error(c, r);
            break;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            /* COPY goes through its own API; refuse it here and drop the link
             * rather than leave the protocol in the middle of a copy. */
            PQclear(r);
            tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "COPY is not supported by query()");
            c->broken = 1;
            c->state = TPG_IDLE;
            return TIDE_ERROR;
        default:
            PQclear(c->last);
            c->last = r;
        }
    }
}

static int finish_error(tide_conn *c, tide_error *err)
{
    tpg_error_from_result(err, c->errres, c->pg);
    tpg_conn_scrub(c, err);
    if (PQstatus(c->pg) == CONNECTION_BAD)
        c->broken = 1;
    PQclear(c->errres);
    c->errres = NULL;
    PQclear(c->last);
    c->last = NULL;
    c->state = TPG_IDLE;
    c->wants = TIDE_WANT_NOTHING;
    return TIDE_ERROR;
}

static int step_query(tide_conn *c, tide_error *err)
{
    for (;;) {
        int rc = drain(c, err);
        if (rc != TIDE_OK)
            return rc;
        switch (c->state) {
        case TPG_DEALLOC:
            /* an error here only means the statement was already gone */
            PQclear(c->errres);
            PQclear(c->last);
            c->errres = c->last = NULL;
            tutil_strfree(c->pending_dealloc[--c->npending]);
            if (c->pg && PQstatus(c->pg) == CONNECTION_BAD)
                return tpg_fail_broken(c, err, NULL);
            rc = send_prepare(c, err);
            break;
        case TPG_PREPARE:
            if (c->errres) {
                tpg_stmt *s = c->cur;
                int e = finish_error(c, err);
                cache_remove(c, s, 0);
                return e;
            }
            PQclear(c->last);
            c->last = NULL;
            c->state = TPG_DESCRIBE;
            rc = sent(c, PQsendDescribePrepared(c->pg, c->cur->name), err);
            break;
        case TPG_DESCRIBE: {
            if (c->errres) {
                /* prepared but not described: forget it, and drop the
                 * server's copy before the name is used again */
                tpg_stmt *s = c->cur;
                int e = finish_error(c, err);
                if (tpg_push_pending(c, s->name) != TIDE_OK)
                    c->effects |= TPG_FX_PREPARE;
                cache_remove(c, s, 0);
                return e;
            }
            tpg_stmt *s = c->cur;
            int trc = tpg_take_types(s, c->last, err);
            PQclear(c->last);
            c->last = NULL;
            if (trc != TIDE_OK) {
                cache_remove(c, s, 1);
                c->state = TPG_IDLE;
                return TIDE_ERROR;
            }
            if (!c->retried && encode_params(c, s, c->saved, c->nparams, err) != TIDE_OK) {
                c->state = TPG_IDLE;
                return TIDE_ERROR;
            }
            rc = send_exec(c, err);
            break;
        }
        case TPG_EXEC:
            if (c->errres) {
                /* "cached plan must not change result type": the schema moved
                 * under the prepared statement. Outside a transaction nothing
                 * ran, so prepare it again (with the same parameter types, so
                 * the encoded values still fit) and run it once more. */
                if (tpg_is_stale_plan(c->errres) && !c->retried && c->cur &&
                    PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
                    c->retried = 1;
                    PQclear(c->errres);
                    c->errres = NULL;
                    c->cur->ready = 0;
                    if (tpg_push_pending(c, c->cur->name) != TIDE_OK) {
                        c->state = TPG_IDLE;
                        tutil_error_oom(err);
                        return TIDE_ERROR;
                    }
                    rc = send_prepare(c, err);
                    break;
                }
                if (tpg_is_stale_plan(c->errres) && c->cur) {
                    tpg_stmt *s = c->cur;
                    int e = finish_error(c, err);
                    cache_remove(c, s, 1);
                    return e;
                }
                return finish_error(c, err);
            }
            /* fallthrough */
        case TPG_SIMPLE:
            if (c->errres)
                return finish_error(c, err);
            if (!c->last) {
                tutil_error_set(err, TIDE_E_DATABASE, "the server returned no result");
                c->state = TPG_IDLE;
                return TIDE_ERROR;
            }
            c->result = tpg_result_wrap(c->last, err);
            c->last = NULL;
            c->state = TPG_DONE;
            c->wants = TIDE_WANT_NOTHING;
            return c->result ? TIDE_OK : TIDE_ERROR;
        default:
            tutil_error_set(err, TIDE_E_MISUSE, "step: nothing in progress");
            return TIDE_MISUSE;
        }
        if (rc != TIDE_PENDING)
            return rc;
        /* A command was sent: its reply may already be readable, but going
         * round the loop costs a read that would block; let the caller wait. */
        return TIDE_PENDING;
    }
}

int tide_conn_step(tide_conn *c, tide_error *err)
{
    if (!c) {
        tutil_error_set(err, TIDE_E_MISUSE, "step: no connection");
        return TIDE_MISUSE;
    }
    switch (c->state) {
    case TPG_CONNECTING: {
        int rc = step_connect(c, err);
        if (rc == TIDE_PENDING && c->deadline_ms && tpg_now_ms() >= c->deadline_ms) {
            tutil_error_setf(err, TIDE_E_CONNECTION_FAILURE, "could not connect to %s within %d ms", c->describe,
                             c->connect_timeout_ms);
            PQfinish(c->pg);
            c->pg = NULL;
            c->broken = 1;
            c->state = TPG_IDLE;
            return TIDE_ERROR;
        }
        return rc;
    }
    case TPG_IDLE:
    case TPG_DONE:
        return TIDE_OK;
    case TPG_LEARN:
        return step_learn(c, err);
    case TPG_BATCH:
        return tpg_batch_step(c, err);
    default:
        return step_query(c, err);
    }
}

int tide_conn_socket(const tide_conn *c)
{
    return c && c->pg ? PQsocket(c->pg) : -1;
}

int tide_conn_wants(const tide_conn *c)
{
    return c ? c->wants : TIDE_WANT_NOTHING;
}

tide_result *tide_conn_take_result(tide_conn *c)
{
    if (!c)
        return NULL;
    if (!c->result) {
        if (c->state == TPG_DONE) { /* a batch nobody took */
            tpg_conn_clear(c);
            c->state = TPG_IDLE;
        }
        return NULL;
    }
    tide_result *r = c->result;
    c->result = NULL;
    c->state = TPG_IDLE;
    return r;
}

int tide_conn_cancel(tide_conn *c, tide_error *err)
{
    if (!c || !c->pg)
        return TIDE_OK;
    PGcancel *cn = PQgetCancel(c->pg);
    if (!cn) {
        tutil_error_set(err, TIDE_E_CONNECTION_FAILURE, "cannot cancel: not connected");
        return TIDE_ERROR;
    }
    char buf[256];
    int ok = PQcancel(cn, buf, sizeof buf);
    PQfreeCancel(cn);
    if (!ok) {
        tutil_error_setf(err, TIDE_E_CONNECTION_FAILURE, "cancel failed: %s", buf);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

/* ---- blocking forms -------------------------------------------------------- */

int tide_conn_wait(tide_conn *c, int timeout_ms, tide_error *err)
{
    if (!c) {
        tutil_error_set(err, TIDE_E_MISUSE, "wait: no connection");
        return TIDE_MISUSE;
    }
    int64_t deadline = timeout_ms >= 0 ? tpg_now_ms() + timeout_ms : -1;
    int canceled = 0;
    int64_t give_up = -1; /* after the cancel: as long again, then close */
    for (;;) {
        /* Wait first: after a send, or a step that came back PENDING, libpq
         * holds nothing unread, so reading before the socket is ready would
         * only cost a system call that says "would block". */
        if (c->wants == TIDE_WANT_NOTHING || tide_conn_socket(c) < 0)
            return tide_conn_step(c, err);
        int wait = -1;
        if (deadline >= 0 || (c->state == TPG_CONNECTING && c->deadline_ms)) {
            int64_t now = tpg_now_ms();
            if (c->state == TPG_CONNECTING && c->deadline_ms)
                wait = (int)(c->deadline_ms > now ? c->deadline_ms - now : 0);
            if (deadline >= 0 && !canceled) {
                int left = (int)(deadline > now ? deadline - now : 0);
                if (left == 0) {
                    if (c->state == TPG_CONNECTING) {
                        c->deadline_ms = now; /* the next step reports the timeout */
                    } else {
                        /* the server answers the cancel with query_canceled */
                        tide_conn_cancel(c, NULL);
                        canceled = 1;
                        give_up = now + (timeout_ms > 0 ? timeout_ms : 1000);
                    }
                    left = 0;
                }
                wait = wait < 0 || left < wait ? left : wait;
            }
            if (canceled) {
                if (now >= give_up) {
                    /* not even the cancel was answered: a stopped server */
                    tpg_conn_abandon(c);
                    tutil_error_setf(err, TIDE_E_QUERY_CANCELED,
                                     "no answer within %d ms, nor to the cancel: the connection was closed",
                                     timeout_ms);
                    return TIDE_ERROR;
                }
                wait = (int)(give_up - now);
            }
        }
        struct pollfd p = {.fd = tide_conn_socket(c), .events = 0};
        if (c->wants & TIDE_WANT_READ)
            p.events |= POLLIN;
        if (c->wants & TIDE_WANT_WRITE)
            p.events |= POLLOUT;
        if (poll(&p, 1, wait) < 0 && errno != EINTR) {
            tutil_error_setf(err, TIDE_E_CONNECTION_FAILURE, "poll: %s", strerror(errno));
            return TIDE_ERROR;
        }
        int rc = tide_conn_step(c, err);
        if (rc != TIDE_PENDING)
            return rc;
    }
}

int tide_conn_connect(tide_conn *c, tide_error *err)
{
    int rc = tide_conn_connect_start(c, err);
    if (rc != TIDE_PENDING)
        return rc;
    return tide_conn_wait(c, -1, err);
}

int tpg_query_timeout(const tide_conn *c, int flags)
{
    int own = TIDE_QUERY_TIMEOUT_OF(flags);
    if (own > 0)
        return own;
    return c->query_timeout_ms > 0 ? c->query_timeout_ms : -1;
}

int tide_conn_query(tide_conn *c, const char *sql, int nparams, const tide_value *params, int flags,
                    tide_result **out, tide_error *err)
{
    if (out)
        *out = NULL;
    int rc = tide_conn_query_start(c, sql, nparams, params, flags, err);
    if (rc == TIDE_PENDING)
        rc = tide_conn_wait(c, tpg_query_timeout(c, flags), err);
    if (rc != TIDE_OK)
        return rc;
    tide_result *r = tide_conn_take_result(c);
    if (out)
        *out = r;
    else
        tide_result_free(r);
    return TIDE_OK;
}

/* ---- state ----------------------------------------------------------------- */

tide_tx_status tide_conn_tx_status(const tide_conn *c)
{
    if (!c || !c->pg || c->broken)
        return TIDE_TX_UNKNOWN;
    switch (PQtransactionStatus(c->pg)) {
    case PQTRANS_IDLE: return TIDE_TX_IDLE;
    case PQTRANS_ACTIVE: return TIDE_TX_ACTIVE;
    case PQTRANS_INTRANS: return TIDE_TX_INTRANS;
    case PQTRANS_INERROR: return TIDE_TX_INERROR;
    default: return TIDE_TX_UNKNOWN;
    }
}

int tide_conn_is_broken(const tide_conn *c)
{
    return !c || !c->pg || c->broken || PQstatus(c->pg) != CONNECTION_OK;
}

int tide_conn_backend_pid(const tide_conn *c)
{
    return c && c->pg ? PQbackendPID(c->pg) : 0;
}

void tide_conn_mark_session(tide_conn *c)
{
    if (c)
        c->effects |= TPG_FX_SESSION;
}

int tide_conn_cached_statements(const tide_conn *c)
{
    return c ? c->ncached : 0;
}

const char *tide_conn_describe(const tide_conn *c)
{
    return c && c->describe ? c->describe : "postgresql://";
}

/* ---- helpers for the pool -------------------------------------------------- */

static int run_simple(tide_conn *c, const char *sql, int timeout_ms, tide_error *err)
{
    int rc = tide_conn_query_start(c, sql, 0, NULL, 0, err);
    if (rc == TIDE_PENDING)
        rc = tide_conn_wait(c, timeout_ms, err);
    tide_result_free(tide_conn_take_result(c));
    return rc;
}

int tpg_conn_rollback(tide_conn *c, tide_error *err)
{
    return run_simple(c, "ROLLBACK", 5000, err);
}

int tpg_conn_ping(tide_conn *c, int timeout_ms, tide_error *err)
{
    return run_simple(c, "", timeout_ms, err);
}

const char *tpg_conn_reset_sql(const tide_conn *c)
{
    /* DISCARD ALL without DEALLOCATE ALL, so tide's statement cache survives
     * unless the user prepared statements of their own. */
    static const char reset[] =
        "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
        "SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES";
    static const char reset_prepared[] =
        "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
        "SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES; DEALLOCATE ALL";
    if (!c->effects)
        return NULL;
    return c->effects & TPG_FX_PREPARE ? reset_prepared : reset;
}

void tpg_conn_reset_done(tide_conn *c)
{
    if (c->effects & TPG_FX_PREPARE)
        tpg_conn_clear_cache(c);
    c->effects = 0;
}

int tpg_conn_reset_session(tide_conn *c, tide_error *err)
{
    const char *sql = tpg_conn_reset_sql(c);
    if (!sql)
        return TIDE_OK;
    unsigned fx = c->effects;
    int rc = run_simple(c, sql, 5000, err);
    c->effects = fx; /* the reset's own text counts as an effect: forget it */
    if (rc == TIDE_OK)
        tpg_conn_reset_done(c);
    return rc;
}

int tpg_conn_notifies(tide_conn *c, int consume,
                      void (*fn)(void *ud, const char *channel, const char *payload, int pid), void *ud)
{
    if (tide_conn_is_broken(c))
        return -1;
    if (consume && c->state == TPG_IDLE && !PQconsumeInput(c->pg)) {
        c->broken = 1;
        return -1;
    }
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(c->pg))) {
        fn(ud, note->relname, note->extra, note->be_pid);
        PQfreemem(note);
        n++;
    }
    return PQstatus(c->pg) == CONNECTION_OK ? n : -1;
}

/* "cached plan must not change result type" (0A000): the schema moved under
 * a prepared statement */
int tpg_is_stale_plan(const PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return st && !strcmp(st, "0A000");
}

void tpg_conn_abandon(tide_conn *c)
{
    tpg_batch_abandoned(c);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->broken = 1;
    c->state = TPG_IDLE;
    c->wants = TIDE_WANT_NOTHING;
    tide_result_free(c->result);
    c->result = NULL;
}

int tpg_conn_check_idle(tide_conn *c)
{
    if (tide_conn_is_broken(c))
        return -1;
    /* A pooled connection is idle, not listening, and reset: the server has
     * nothing to tell it except that it is going away (a FATAL, then EOF,
     * which may not have arrived yet). Anything readable means: drop it. */
    struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
    return poll(&p, 1, 0) == 0 ? 0 : -1;
}
