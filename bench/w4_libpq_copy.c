/* W4 bulk insert, the baseline: COPY FROM STDIN with libpq.
 *
 *   w4_libpq_copy URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * ITERATIONS is the number of rows (50,000): one run inserts them all into
 * the empty w4_rows, and ops/s is rows per second. The rows are built before
 * the timing (w4.h: as an application holds them); timed: COPY w4_rows (n,
 * label, at) FROM STDIN, formatting each row as COPY text (the int printed,
 * the label escaped for COPY's text format) into a 64 KiB buffer sent with
 * PQputCopyData whenever it fills, PQputCopyEnd, and the result (its row
 * count checked). Before every run (untimed): TRUNCATE w4_rows RESTART
 * IDENTITY. The check is read back from the table after the last run. */
#include "bench.h"
#include "bench_pq.h"
#include "w4.h"

#define PROG "w4_libpq_copy"
#define CHUNK 65536

typedef struct ctx {
    PGconn *pg;
    w4_row *rows;
    char buf[CHUNK + 256];
} ctx;

static int setup(void *p, long iterations)
{
    ctx *c = p;
    return bench_pq_exec(PROG, c->pg, W4_SETUP);
}

static char *put_int(char *o, int v)
{
    char tmp[12];
    int n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *o++ = '-';
    while (n)
        *o++ = tmp[--n];
    return o;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static char *put_text(char *o, const char *s, int len)
{
    for (int i = 0; i < len; i++) {
        char ch = s[i];
        switch (ch) {
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        default: *o++ = ch;
        }
    }
    return o;
}

static int flush(ctx *c, size_t len)
{
    if (PQputCopyData(c->pg, c->buf, (int)len) != 1) {
        fprintf(stderr, PROG ": PQputCopyData: %s", PQerrorMessage(c->pg));
        return 1;
    }
    return 0;
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    PGresult *r = PQexec(c->pg, "copy w4_rows (n, label, at) from stdin");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        fprintf(stderr, PROG ": COPY: %s", PQerrorMessage(c->pg));
        PQclear(r);
        return 1;
    }
    PQclear(r);
    char *o = c->buf;
    for (long i = 0; i < iterations; i++) {
        const w4_row *row = &c->rows[i];
        /* the worst case of one row: 11 + 1 + 2 * label + 1 + 31 + 1 */
        if ((size_t)(o - c->buf) + 2 * (size_t)row->label_len + 48 > CHUNK) {
            if (flush(c, (size_t)(o - c->buf)))
                return 1;
            o = c->buf;
        }
        o = put_int(o, row->n);
        *o++ = '\t';
        o = put_text(o, row->label, row->label_len);
        *o++ = '\t';
        size_t at_len = strlen(row->at);
        memcpy(o, row->at, at_len);
        o += at_len;
        *o++ = '\n';
    }
    if (o > c->buf && flush(c, (size_t)(o - c->buf)))
        return 1;
    if (PQputCopyEnd(c->pg, NULL) != 1) {
        fprintf(stderr, PROG ": PQputCopyEnd: %s", PQerrorMessage(c->pg));
        return 1;
    }
    r = PQgetResult(c->pg);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK && strtol(PQcmdTuples(r), NULL, 10) == iterations;
    if (!ok)
        fprintf(stderr, PROG ": COPY ended with %s (%s rows) %s", PQresStatus(PQresultStatus(r)), PQcmdTuples(r),
                PQerrorMessage(c->pg));
    PQclear(r);
    while ((r = PQgetResult(c->pg)) != NULL)
        PQclear(r);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    static ctx c;
    c.rows = w4_rows_new(a.iterations);
    c.pg = bench_pq_connect(PROG, a.url);
    if (!c.rows || !c.pg)
        return 1;
    int rc = bench_main_loop_setup(&a, setup, run, &c);
    char check[64];
    if (rc == 0 && (rc = w4_check(PROG, a.url, check, sizeof check)) == 0)
        printf("# check %s\n", check);
    PQfinish(c.pg);
    w4_rows_free(c.rows);
    return rc;
}
