/* W4 bulk insert, shared by the C programs: the rows (built before any
 * timing, as an application holds them: an int, a label string, a
 * timestamptz already in ISO 8601 text) and the check read back afterwards.
 * bench/w4lib.lua builds the same rows in Lua. */
#ifndef TIDE_BENCH_W4_H
#define TIDE_BENCH_W4_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W4_SETUP "truncate w4_rows restart identity; checkpoint"
#define W4_CHECK                                                                                    \
    "select (count(*) + coalesce(sum(n), 0) + coalesce(sum(length(label)), 0) + "                  \
    "coalesce(sum(extract(epoch from at)::bigint), 0))::bigint from w4_rows"

typedef struct w4_row {
    int n;
    int label_len;
    const char *label;
    char at[32];
} w4_row;

/* Row i (1-based): n = i, label = "label <i> " followed by i % 20 'x's,
 * at = 2024-01-01 plus i seconds, UTC. */
static inline w4_row *w4_rows_new(long count)
{
    w4_row *rows = calloc((size_t)count, sizeof *rows);
    char *labels = malloc((size_t)count * 48);
    if (!rows || !labels)
        return NULL;
    char *lp = labels;
    for (long i = 1; i <= count; i++) {
        w4_row *r = &rows[i - 1];
        r->n = (int)i;
        int len = sprintf(lp, "label %ld ", i);
        for (long k = 0; k < i % 20; k++)
            lp[len++] = 'x';
        lp[len] = '\0';
        r->label = lp;
        r->label_len = len;
        lp += len + 1;
        long day = 1 + (i / 86400) % 28;
        snprintf(r->at, sizeof r->at, "2024-01-%02ldT%02ld:%02ld:%02ld+00:00", day, (i / 3600) % 24, (i / 60) % 60,
                 i % 60);
    }
    return rows;
}

static inline void w4_rows_free(w4_row *rows)
{
    if (rows) {
        free((void *)rows[0].label);
        free(rows);
    }
}

/* The check: read back from w4_rows (what the last run left) on a libpq
 * connection. */
static inline int w4_check(const char *prog, const char *url, char *out, size_t outsz)
{
    PGconn *pg = PQconnectdb(url);
    PGresult *r = PQstatus(pg) == CONNECTION_OK ? PQexec(pg, W4_CHECK) : NULL;
    int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "%s: check: %s", prog, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    return ok ? 0 : 1;
}

#endif
