/* W6, the baseline: hand-written libpq pipelining W1's lookups in waves of
 * 1,000 on one connection.
 *
 *   w6_libpq_pipeline URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * The statement is prepared once (PQprepare); then the connection goes into
 * non-blocking mode and pipeline mode. Per wave: PQsendQueryPrepared for each
 * key (text parameter), in chunks of W6_CHUNK, each chunk flushed (PQflush)
 * and followed by a PQconsumeInput and reading whatever results are complete,
 * so the server starts on the first chunk at once and neither side can stall
 * on a full socket buffer; after the last query a PQpipelineSync; then poll()
 * on the socket (for writing too while PQflush has something left) and read
 * results until the sync's. Each result is checked as w1_libpq.c checks it
 * (PQgetvalue, strtoll of the id, compared with the key sent in that place).
 *
 * Compiled with W6_CONNS defined (w6_libpq_pipeline8.c: 8), the wave is split
 * round-robin over that many connections, each pipelining its share, all
 * driven by one poll(). */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <string.h>
#include "bench.h"
#include "w6.h"

#ifndef W6_CONNS
#define W6_CONNS 1
#endif
#ifndef W6_PROG
#define W6_PROG "w6_libpq_pipeline"
#endif
/* queries sent between two flushes (about 60 bytes each on the wire) */
#define W6_CHUNK 100

typedef struct conn {
    PGconn *pg;
    int64_t keys[W6_WAVE]; /* this wave's keys, in the order sent */
    int n;                 /* how many this wave */
    int sent, got;
    int sync_sent, synced;
    int need_null;         /* a result was read: the NULL that ends its query comes next */
    int want_write;        /* PQflush left data in the output buffer */
    int finished;          /* synced and counted */
} conn;

typedef struct ctx {
    conn c[W6_CONNS];
    uint64_t check, sum;
} ctx;

static void fail(conn *c, const char *what)
{
    fprintf(stderr, W6_PROG ": %s: %s", what, PQerrorMessage(c->pg));
    exit(1);
}

/* Reads every result that is complete in libpq's buffer; returns how many. */
static int drain(ctx *x, conn *c)
{
    int n = 0;
    for (;;) {
        int outstanding = c->got < c->sent || c->need_null || (c->sync_sent && !c->synced);
        if (!outstanding || PQisBusy(c->pg))
            return n;
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            c->need_null = 0;
            continue;
        }
        n++;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            c->synced = 1;
            PQclear(r);
            return n;
        }
        if (st != PGRES_TUPLES_OK) {
            fprintf(stderr, W6_PROG ": %s", PQresultErrorMessage(r));
            exit(1);
        }
        int64_t key = c->keys[c->got];
        if (PQntuples(r) != 1) {
            fprintf(stderr, W6_PROG ": user %lld: %d rows\n", (long long)key, PQntuples(r));
            exit(1);
        }
        const char *id_s = PQgetvalue(r, 0, 0);
        const char *email = PQgetvalue(r, 0, 1);
        const char *name = PQgetvalue(r, 0, 2);
        const char *created_at = PQgetvalue(r, 0, 3);
        int email_len = PQgetlength(r, 0, 1), name_len = PQgetlength(r, 0, 2);
        char *end;
        errno = 0;
        long long id = strtoll(id_s, &end, 10);
        if (errno || *end || id != key || !email[0] || !name[0] || !created_at[0]) {
            fprintf(stderr, W6_PROG ": user %lld: unexpected row (id %s)\n", (long long)key, id_s);
            exit(1);
        }
        x->sum += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
        PQclear(r);
        c->got++;
        c->need_null = 1;
    }
}

/* After a drain: 1 when the connection's wave has just ended. */
static int ended(conn *c)
{
    if (!c->synced || c->finished)
        return 0;
    if (c->got != c->n) {
        fprintf(stderr, W6_PROG ": %d results for %d queries\n", c->got, c->n);
        exit(1);
    }
    c->finished = 1;
    return 1;
}

static int run(void *p, long iterations)
{
    ctx *x = p;
    bench_rng rng;
    bench_rng_init(&rng);
    x->sum = 0;
    for (long done = 0; done < iterations;) {
        int wave = iterations - done < W6_WAVE ? (int)(iterations - done) : W6_WAVE;
        for (int k = 0; k < W6_CONNS; k++) {
            conn *c = &x->c[k];
            c->n = c->sent = c->got = c->sync_sent = c->synced = c->need_null = c->want_write = c->finished = 0;
        }
        for (int j = 0; j < wave; j++) {
            conn *c = &x->c[j % W6_CONNS];
            c->keys[c->n++] = bench_rng_key(&rng, W6_USERS);
        }
        int active = 0;
        for (int k = 0; k < W6_CONNS; k++)
            active += x->c[k].n > 0;
        while (active > 0) {
            int all_sent = 1, progress = 0;
            for (int k = 0; k < W6_CONNS; k++) {
                conn *c = &x->c[k];
                if (c->n == 0 || c->finished)
                    continue;
                int until = c->sent + W6_CHUNK < c->n ? c->sent + W6_CHUNK : c->n;
                for (; c->sent < until; c->sent++) {
                    char kbuf[24];
                    snprintf(kbuf, sizeof kbuf, "%lld", (long long)c->keys[c->sent]);
                    const char *values[1] = {kbuf};
                    if (!PQsendQueryPrepared(c->pg, "w6", 1, values, NULL, NULL, 0))
                        fail(c, "send");
                }
                if (c->sent == c->n && !c->sync_sent) {
                    if (!PQpipelineSync(c->pg))
                        fail(c, "sync");
                    c->sync_sent = 1;
                }
                all_sent &= c->sent == c->n;
                int f = PQflush(c->pg);
                if (f < 0)
                    fail(c, "flush");
                c->want_write = f == 1;
                /* PQflush may have read input while the socket was full */
                progress += drain(x, c);
                active -= ended(c);
            }
            if (all_sent && !progress) {
                struct pollfd pfd[W6_CONNS];
                int np = 0;
                for (int k = 0; k < W6_CONNS; k++) {
                    conn *c = &x->c[k];
                    if (c->n == 0 || c->finished)
                        continue;
                    pfd[np++] = (struct pollfd){.fd = PQsocket(c->pg),
                                                .events = (short)(POLLIN | (c->want_write ? POLLOUT : 0))};
                }
                if (poll(pfd, (nfds_t)np, -1) < 0 && errno != EINTR) {
                    perror(W6_PROG ": poll");
                    exit(1);
                }
            }
            for (int k = 0; k < W6_CONNS; k++) {
                conn *c = &x->c[k];
                if (c->n == 0 || c->finished)
                    continue;
                if (!PQconsumeInput(c->pg))
                    fail(c, "read");
                drain(x, c);
                active -= ended(c);
            }
        }
        done += wave;
    }
    x->check = x->sum;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    static ctx x;
    for (int k = 0; k < W6_CONNS; k++) {
        conn *c = &x.c[k];
        c->pg = PQconnectdb(a.url);
        if (PQstatus(c->pg) != CONNECTION_OK)
            fail(c, "connect");
        PGresult *r = PQprepare(c->pg, "w6", W6_SQL, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fail(c, "prepare");
        PQclear(r);
        if (PQsetnonblocking(c->pg, 1) != 0)
            fail(c, "non-blocking mode");
        if (!PQenterPipelineMode(c->pg))
            fail(c, "pipeline mode");
    }
    int rc = bench_main_loop(&a, run, &x);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)x.check);
    for (int k = 0; k < W6_CONNS; k++)
        PQfinish(x.c[k].pg);
    return rc;
}
