/* Batches: several statements in one round trip, with libpq's pipeline mode.
 *
 * A batch is at most two round trips, each a pipeline read back in the
 * order it was sent:
 *
 *   LEARN  (only for texts this connection has not prepared yet)
 *          per statement: Parse, Describe, Sync — a Sync each, so one the
 *          server refuses is reported as itself and the others still learn
 *   RUN    per statement: Bind/Execute (of the prepared statement, or of
 *          the unnamed one behind a transaction pooler), then one Sync at
 *          the end (atomic: one implicit transaction) or a Sync after each
 *          (TIDE_BATCH_EACH)
 *
 * Parameter values are encoded for the types the server reported, all of
 * them before anything runs, so a value that does not fit fails the batch
 * with nothing done. The statements a batch uses are pinned in the
 * connection's cache until it ends, however many there are.
 *
 * What is read is matched against what was sent (an "expect" list): each
 * command's results end with a NULL from PQgetResult, each Sync with a
 * PGRES_PIPELINE_SYNC result. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "pg.h"

enum role { R_PREPARE, R_DESCRIBE, R_EXEC, R_SYNC, R_IGNORE };

typedef struct expect {
    int item;   /* -1: not a statement's (a DEALLOCATE, a Sync) */
    enum role role;
} expect;

typedef struct item {
    tpg_stmt *s;             /* pinned while the batch runs */
    const tide_value *params;
    int nparams, base;       /* base: its first slot in the parameter arrays */
    int learner;             /* it prepares its statement this round */
    int prepared;            /* ... and the Parse succeeded */
    PGresult *res;           /* its result (LEARN: the Describe's) */
    PGresult *errres;        /* its first error */
    int ei;                  /* RUN: where its Execute is in the expect list */
    tide_error *err;         /* its outcome, once the batch is over */
} item;

struct tide_batch {
    int n, flags, failed;
    item *items;
    /* while it runs */
    tide_value *vals;        /* the values, copied when a LEARN comes first */
    tutil_buf text;
    int total;               /* parameters in all */
    expect *ex;
    int nex, excap, pos, nulls;
    int synced;              /* what is before this in the expect list is over */
    int learning, encoded, retried, idle_at_start;
};

/* ---- the batch object ------------------------------------------------------ */

static void unpin(tide_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        if (b->items[i].s)
            b->items[i].s->pinned--;
        b->items[i].s = NULL;
    }
    tutil_free(b->vals, (size_t)b->total * sizeof *b->vals);
    b->vals = NULL;
    tutil_buf_free(&b->text);
    tutil_free(b->ex, (size_t)b->excap * sizeof *b->ex);
    b->ex = NULL;
    b->nex = b->excap = 0;
}

void tide_batch_free(tide_batch *b)
{
    if (!b)
        return;
    unpin(b);
    for (int i = 0; i < b->n; i++) {
        PQclear(b->items[i].res);
        PQclear(b->items[i].errres);
        tide_error_free(b->items[i].err);
    }
    tutil_free(b->items, (size_t)b->n * sizeof *b->items);
    tutil_free(b, sizeof *b);
}

void tpg_batch_drop(tide_conn *c)
{
    tide_batch *b = c->batch;
    c->batch = NULL;
    tide_batch_free(b);
}

int tide_batch_count(const tide_batch *b)
{
    return b ? b->n : 0;
}

int tide_batch_failed(const tide_batch *b)
{
    return b ? b->failed : -1;
}

tide_result *tide_batch_take(tide_batch *b, int i, tide_error *err)
{
    if (!b || i < 0 || i >= b->n) {
        tutil_error_setf(err, TIDE_E_MISUSE, "batch: no statement %d", i);
        return NULL;
    }
    item *it = &b->items[i];
    if (it->err) {
        tide_error_copy(err, it->err);
        return NULL;
    }
    if (!it->res) {
        tutil_error_setf(err, TIDE_E_MISUSE, "batch: statement %d's result was taken already", i);
        return NULL;
    }
    PGresult *r = it->res;
    it->res = NULL;
    return tpg_result_wrap(r, err);
}

tide_batch *tide_conn_take_batch(tide_conn *c)
{
    /* only a batch that is over: one still running stays the connection's */
    if (!c || !c->batch || (c->state != TPG_DONE && c->state != TPG_IDLE))
        return NULL;
    tide_batch *b = c->batch;
    c->batch = NULL;
    unpin(b);
    if (c->state == TPG_DONE)
        c->state = TPG_IDLE;
    return b;
}

/* ---- outcomes ---------------------------------------------------------------- */

static tide_error *item_error(item *it)
{
    if (!it->err)
        it->err = tide_error_new();
    return it->err;   /* NULL when out of memory: take reports that */
}

/* Every statement without an outcome of its own gets this one. */
static void others_fail(tide_batch *b, int failed, tide_code code, const char *fmt)
{
    for (int i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (i == failed || (it->err && tide_error_code(it->err)))
            continue;
        PQclear(it->res);
        it->res = NULL;
        tide_error *e = item_error(it);
        if (e)
            tutil_error_setf(e, code, fmt, failed + 1);
    }
}

/* The batch ends with statement i failed (err says why): err goes to it and
 * back to the caller; the others did not run or were rolled back. */
static int end_failed(tide_conn *c, tide_batch *b, int i, tide_error *err, const char *others)
{
    b->failed = i;
    tide_error *e = item_error(&b->items[i]);
    if (e)
        tide_error_copy(e, err);
    others_fail(b, i, TIDE_E_TRANSACTION_ROLLED_BACK, others);
    if (!c->broken)
        c->state = TPG_DONE;
    c->wants = TIDE_WANT_NOTHING;
    return TIDE_ERROR;
}

static void error_of(tide_conn *c, const PGresult *r, tide_error *err)
{
    tpg_error_from_result(err, r, c->pg);
    tpg_conn_scrub(c, err);
}

/* ---- sending ------------------------------------------------------------------- */

static int lost(tide_batch *b, tide_error *err);

/* A send that broke the connection: every statement without a result of
 * its own is lost with it (what failed before stands as it is). */
static int sent(tide_conn *c, tide_batch *b, int rc, tide_error *err)
{
    return rc == TIDE_ERROR && c->broken && b->failed < 0 ? lost(b, err) : rc;
}

/* Room for n more expectations, made before anything is queued: a
 * pipeline half queued could not be taken back. */
static int expect_reserve(tide_batch *b, int n, tide_error *err)
{
    b->nex = b->pos = b->nulls = b->synced = 0;
    if (n <= b->excap)
        return TIDE_OK;
    expect *e = tutil_realloc(b->ex, (size_t)b->excap * sizeof *e, (size_t)n * sizeof *e);
    if (!e) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    b->ex = e;
    b->excap = n;
    return TIDE_OK;
}

static void expect_push(tide_batch *b, int idx, enum role role)
{
    b->ex[b->nex++] = (expect){idx, role};
}

static void counted(tide_conn *c, int n)
{
    if (c->pool)
        tpg_pool_count_statements(c->pool, n);
}

/* The pipeline is queued: send what fits, read the rest as it comes. */
static int flush_out(tide_conn *c, tide_error *err)
{
    int f = PQflush(c->pg);
    if (f < 0)
        return tpg_fail_broken(c, err, NULL);
    c->state = TPG_BATCH;
    c->wants = f ? TIDE_WANT_READ | TIDE_WANT_WRITE : TIDE_WANT_READ;
    return TIDE_PENDING;
}

/* Nothing was sent for the run: statement i cannot be (err says why). */
static int refused(tide_conn *c, tide_batch *b, int i, tide_error *err)
{
    if (PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c->pg))
        return tpg_fail_broken(c, err, NULL);
    char msg[700];
    snprintf(msg, sizeof msg, "statement %d: %s", i + 1, tide_error_message(err));
    tutil_error_set(err, tide_error_code(err), msg);
    return end_failed(c, b, i, err, "not run: statement %d of the batch failed");
}

static int send_learn(tide_conn *c, tide_batch *b, tide_error *err)
{
    if (expect_reserve(b, 2 * c->npending + 3 * b->n, err) != TIDE_OK)
        return refused(c, b, 0, err);
    if (!PQenterPipelineMode(c->pg))
        return tpg_fail_broken(c, err, NULL);
    b->learning = 1;
    int sent = 0;
    /* statements dropped from the cache: each with a Sync of its own, as an
     * error only means it was gone already */
    while (c->npending) {
        char q[64];
        char *name = c->pending_dealloc[--c->npending];
        snprintf(q, sizeof q, "DEALLOCATE %s", name);
        tutil_strfree(name);
        if (!PQsendQueryParams(c->pg, q, 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c->pg))
            return tpg_fail_broken(c, err, NULL);
        expect_push(b, -1, R_IGNORE);
        expect_push(b, -1, R_SYNC);
        sent++;
    }
    unsigned round = ++c->batch_serial;
    for (int i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        tpg_stmt *s = it->s;
        it->learner = it->prepared = 0;
        if (s->ready || s->mark == round)
            continue;
        s->mark = round;
        it->learner = 1;
        /* declared types: those learnt before (a re-prepare), else the values' */
        int n = it->nparams, declared = 0;
        Oid *types = tutil_malloc((size_t)(n ? n : 1) * sizeof(Oid));
        if (!types) {
            tutil_error_oom(err);
            return tpg_fail_broken(c, err, NULL);
        }
        for (int k = 0; k < n; k++) {
            types[k] = s->types && k < s->nparams ? s->types[k] : it->params[k].type;
            declared |= types[k] != 0;
        }
        const char *name = c->no_prepare ? "" : s->name;
        int ok = PQsendPrepare(c->pg, name, s->sql, declared ? n : 0, types) &&
                 PQsendDescribePrepared(c->pg, name) && PQpipelineSync(c->pg);
        tutil_free(types, (size_t)(n ? n : 1) * sizeof(Oid));
        if (!ok)
            return tpg_fail_broken(c, err, NULL);
        expect_push(b, i, R_PREPARE);
        expect_push(b, i, R_DESCRIBE);
        expect_push(b, -1, R_SYNC);
        sent += 2;
    }
    counted(c, sent);
    return flush_out(c, err);
}

static int send_run(tide_conn *c, tide_batch *b, tide_error *err)
{
    int each = b->flags & TIDE_BATCH_EACH;
    if (!b->encoded) {
        if (tpg_grow_params(c, b->total ? b->total : 1, err) != TIDE_OK)
            return refused(c, b, 0, err);
        tutil_buf_reset(&c->enc);
        for (int i = 0; i < b->n; i++) {
            item *it = &b->items[i];
            if (tpg_encode_params(c, it->s, it->params, it->nparams, it->base, err) != TIDE_OK)
                return refused(c, b, i, err);
        }
        tpg_point_params(c, b->total);
        b->encoded = 1;
    }
    if (expect_reserve(b, each ? 2 * b->n : b->n + 1, err) != TIDE_OK)
        return refused(c, b, 0, err);
    if (!PQenterPipelineMode(c->pg))
        return tpg_fail_broken(c, err, NULL);
    b->learning = 0;
    for (int i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        tpg_stmt *s = it->s;
        int n = it->nparams, k = it->base;
        int ok = c->no_prepare
                     ? PQsendQueryParams(c->pg, s->sql, n, n ? s->types : NULL, c->pvals + k, c->plens + k,
                                         c->pfmts + k, 0)
                     : PQsendQueryPrepared(c->pg, s->name, n, c->pvals + k, c->plens + k, c->pfmts + k, 0);
        if (!ok || (each && !PQpipelineSync(c->pg)))
            return tpg_fail_broken(c, err, NULL);
        it->ei = b->nex;
        expect_push(b, i, R_EXEC);
        if (each)
            expect_push(b, -1, R_SYNC);
    }
    if (!each) {
        if (!PQpipelineSync(c->pg))
            return tpg_fail_broken(c, err, NULL);
        expect_push(b, -1, R_SYNC);
    }
    counted(c, b->n);
    return flush_out(c, err);
}

int tide_conn_batch_start(tide_conn *c, int n, const tide_stmt *stmts, int flags, tide_error *err)
{
    if (!c || n < 1 || !stmts) {
        tutil_error_set(err, TIDE_E_MISUSE, "batch_start: bad arguments");
        return TIDE_MISUSE;
    }
    if (c->state != TPG_IDLE && c->state != TPG_DONE) {
        tutil_error_set(err, TIDE_E_MISUSE, "batch_start: another operation is in progress on this connection");
        return TIDE_MISUSE;
    }
    tpg_batch_drop(c); /* one left untaken: never this call's outcome */
    for (int i = 0; i < n; i++) {
        if (!stmts[i].sql || stmts[i].nparams < 0 || stmts[i].nparams > 65535 ||
            (stmts[i].nparams > 0 && !stmts[i].params)) {
            tutil_error_setf(err, TIDE_E_MISUSE, "batch_start: statement %d: bad arguments", i + 1);
            return TIDE_MISUSE;
        }
    }
    if (!c->pg || c->broken || PQstatus(c->pg) != CONNECTION_OK) {
        c->broken = 1;
        tutil_error_set(err, TIDE_E_CONNECTION_FAILURE, "the connection is closed");
        return TIDE_ERROR;
    }
    tpg_conn_clear(c);
    tide_batch *b = tutil_calloc(1, sizeof *b);
    if (b && !(b->items = tutil_calloc((size_t)n, sizeof *b->items))) {
        tutil_free(b, sizeof *b);
        b = NULL;
    }
    if (!b) {
        tutil_error_oom(err);
        return TIDE_ERROR;
    }
    b->n = n;
    b->flags = flags;
    b->failed = -1;
    tutil_buf_init(&b->text);
    c->batch = b;
    c->state = TPG_DONE; /* whatever happens next, the batch can be taken */
    b->idle_at_start = PQtransactionStatus(c->pg) == PQTRANS_IDLE;

    int learn = 0;
    for (int i = 0; i < n; i++) {
        item *it = &b->items[i];
        tpg_stmt *s = tpg_stmt_get(c, stmts[i].sql, strlen(stmts[i].sql), err);
        if (!s)
            return refused(c, b, i, err);
        s->pinned++;
        it->s = s;
        it->params = stmts[i].params;
        it->nparams = stmts[i].nparams;
        it->base = b->total;
        b->total += it->nparams;
        c->effects |= s->effects;
        if (!s->ready && c->no_prepare && it->nparams == 0)
            s->ready = 1; /* the unnamed statement: nothing to learn */
        learn |= !s->ready;
    }
    if (!learn)
        return sent(c, b, send_run(c, b, err), err);
    /* the values must outlive the round trip that learns their types */
    if (b->total) {
        b->vals = tutil_malloc((size_t)b->total * sizeof *b->vals);
        if (!b->vals) {
            b->total = 0;
            tutil_error_oom(err);
            return refused(c, b, 0, err);
        }
        for (int i = 0; i < n; i++) {
            item *it = &b->items[i];
            if (it->nparams)
                memcpy(b->vals + it->base, it->params, (size_t)it->nparams * sizeof *b->vals);
            it->params = b->vals + it->base;
        }
        if (tpg_params_copy(b->vals, &b->text, b->vals, b->total) != 0) {
            tutil_error_oom(err);
            return refused(c, b, 0, err);
        }
    }
    return sent(c, b, send_learn(c, b, err), err);
}

/* ---- reading ------------------------------------------------------------------- */

/* Reads results until everything sent is answered: TIDE_OK, or
 * TIDE_PENDING, or TIDE_ERROR when the connection is lost. */
static int read_results(tide_conn *c, tide_batch *b, tide_error *err)
{
    int rc = tpg_conn_pump(c, err);
    if (rc != TIDE_OK)
        return rc;
    while (b->pos < b->nex) {
        if (PQisBusy(c->pg)) {
            c->wants = TIDE_WANT_READ;
            return TIDE_PENDING;
        }
        PGresult *r = PQgetResult(c->pg);
        expect *e = &b->ex[b->pos];
        if (!r) {
            if (e->role != R_SYNC) {
                b->pos++; /* that command's results are all in */
                b->nulls = 0;
            } else if (++b->nulls > 1 || PQstatus(c->pg) == CONNECTION_BAD) {
                return tpg_fail_broken(c, err, NULL); /* a Sync that never comes */
            }
            continue;
        }
        b->nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            while (b->pos < b->nex && b->ex[b->pos].role != R_SYNC)
                b->pos++;
            b->synced = ++b->pos;
            continue;
        }
        if (e->item < 0 || e->role == R_SYNC) {
            PQclear(r);
            continue;
        }
        item *it = &b->items[e->item];
        switch (st) {
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE:
            if (!it->errres)
                it->errres = r;
            else
                PQclear(r);
            break;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            PQclear(r);
            tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "COPY is not supported in a batch");
            c->broken = 1; /* mid-copy: the protocol cannot be followed */
            c->state = TPG_IDLE;
            return TIDE_ERROR;
        case PGRES_PIPELINE_ABORTED:
            PQclear(r);
            break;
        default:
            if (e->role == R_PREPARE) {
                it->prepared = 1;
                PQclear(r);
            } else {
                PQclear(it->res);
                it->res = r;
            }
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            return tpg_fail_broken(c, err, NULL);
    }
    if (!PQexitPipelineMode(c->pg))
        return tpg_fail_broken(c, err, NULL);
    return TIDE_OK;
}

/* The connection was lost mid-batch (err): every statement without an
 * outcome gets that one. */
static int lost(tide_batch *b, tide_error *err)
{
    for (int i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (it->res && !b->learning && it->ei < b->synced)
            continue; /* its transaction ended: it stands */
        PQclear(it->res);
        it->res = NULL;
        tide_error *e = item_error(it);
        if (e && err)
            tide_error_copy(e, err);
        if (b->failed < 0)
            b->failed = i;
    }
    return TIDE_ERROR;
}

static int learned(tide_conn *c, tide_batch *b, tide_error *err)
{
    int bad = -1;
    for (int i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (!it->learner)
            continue;
        tpg_stmt *s = it->s;
        /* taking the types makes it ready */
        int learnt = !it->errres && it->res && tpg_take_types(s, it->res, err) == TIDE_OK;
        if (!learnt) {
            if (it->prepared && !c->no_prepare && tpg_push_pending(c, s->name) != TIDE_OK)
                c->effects |= TPG_FX_PREPARE; /* its name is lost: DEALLOCATE ALL at release */
            if (bad < 0) {
                bad = i;
                if (it->errres)
                    error_of(c, it->errres, err);
                else if (!tide_error_code(err))
                    tutil_error_set(err, TIDE_E_DATABASE, "the server did not describe the statement");
            }
        }
        PQclear(it->res);
        PQclear(it->errres);
        it->res = it->errres = NULL;
    }
    if (bad >= 0)
        return end_failed(c, b, bad, err, "not run: statement %d of the batch failed");
    return send_run(c, b, err);
}

static int ran(tide_conn *c, tide_batch *b, tide_error *err)
{
    int atomic = !(b->flags & TIDE_BATCH_EACH);
    /* "cached plan must not change result type": the schema moved under a
     * prepared statement. An atomic batch begun outside a transaction was
     * rolled back whole, so it is prepared again and run once more (with
     * the same types, so the encoded values still fit). */
    int stale = 0;
    for (int i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (!c->no_prepare && tpg_is_stale_plan(it->errres) && it->s->ready) {
            it->s->ready = 0;
            stale = 1;
            if (tpg_push_pending(c, it->s->name) != TIDE_OK)
                c->effects |= TPG_FX_PREPARE;
        }
    }
    if (stale && atomic && b->idle_at_start && !b->retried && PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
        b->retried = 1;
        for (int i = 0; i < b->n; i++) {
            PQclear(b->items[i].res);
            PQclear(b->items[i].errres);
            b->items[i].res = b->items[i].errres = NULL;
        }
        return send_learn(c, b, err);
    }
    int first = -1;
    for (int i = 0; i < b->n && first < 0; i++)
        if (b->items[i].errres || !b->items[i].res)
            first = i;
    if (first < 0) {
        c->state = TPG_DONE;
        c->wants = TIDE_WANT_NOTHING;
        return TIDE_OK;
    }
    /* atomic: the first failure is the one (the rest were aborted or rolled
     * back); each: every statement has its own outcome */
    for (int i = first; i < (atomic ? first + 1 : b->n); i++) {
        item *it = &b->items[i];
        if (it->res && !it->errres)
            continue;
        tide_error *e = item_error(it);
        if (!e)
            continue;
        if (it->errres)
            error_of(c, it->errres, e);
        else
            tutil_error_set(e, TIDE_E_DATABASE, "the server returned no result");
    }
    if (b->items[first].err)
        tide_error_copy(err, b->items[first].err);
    else
        tutil_error_oom(err);
    if (atomic)
        return end_failed(c, b, first, err, "rolled back: statement %d of the batch failed");
    b->failed = first;
    c->state = TPG_DONE;
    c->wants = TIDE_WANT_NOTHING;
    return TIDE_ERROR;
}

int tpg_batch_step(tide_conn *c, tide_error *err)
{
    tide_batch *b = c->batch;
    int rc = read_results(c, b, err);
    if (rc == TIDE_PENDING)
        return rc;
    if (rc != TIDE_OK)
        return lost(b, err);
    return sent(c, b, b->learning ? learned(c, b, err) : ran(c, b, err), err);
}

void tpg_batch_abandoned(tide_conn *c)
{
    if (!c->batch || c->batch->failed >= 0)
        return;
    tide_error *e = tide_error_new();
    if (e)
        tutil_error_set(e, TIDE_E_CONNECTION_FAILURE, "the connection was closed while the batch ran");
    lost(c->batch, e);
    tide_error_free(e);
}

int tide_conn_batch(tide_conn *c, int n, const tide_stmt *stmts, int flags, tide_batch **out, tide_error *err)
{
    if (out)
        *out = NULL;
    int rc = tide_conn_batch_start(c, n, stmts, flags, err);
    if (rc == TIDE_PENDING)
        rc = tide_conn_wait(c, tpg_query_timeout(c, flags), err);
    tide_batch *b = tide_conn_take_batch(c);
    if (out)
        *out = b;
    else
        tide_batch_free(b);
    return rc;
}
