/* Small libpq helpers for the bench baselines (header-only): connecting,
 * preparing, and running setup SQL outside the timing. The timed loops call
 * libpq directly, so what they do per operation stays in plain sight. */
#ifndef TIDE_BENCH_PQ_H
#define TIDE_BENCH_PQ_H

#include <libpq-fe.h>
#include <stdio.h>

static inline PGconn *bench_pq_connect(const char *prog, const char *url)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "%s: connect: %s", prog, PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static inline int bench_pq_prepare(const char *prog, PGconn *pg, const char *name, const char *sql)
{
    PGresult *r = PQprepare(pg, name, sql, 0, NULL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: prepare %s: %s", prog, name, PQerrorMessage(pg));
    PQclear(r);
    return ok ? 0 : 1;
}

/* Runs SQL (several statements allowed) with the simple protocol; for setup. */
static inline int bench_pq_exec(const char *prog, PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "%s: %s: %s", prog, sql, PQerrorMessage(pg));
    PQclear(r);
    return ok ? 0 : 1;
}

#endif
