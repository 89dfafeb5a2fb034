/* W1 with binary results, to decide tide's result format (issue 2 asks to
 * measure text against binary). The same lookups as w1_libpq.c, but the key
 * is sent as a binary int8 and every column comes back in binary: id is read
 * with be64toh, and created_at (microseconds since 2000-01-01 UTC) is
 * formatted into the same ISO 8601 text tide hands to Lua, so both variants
 * deliver equal values to the caller.
 *
 *   w1_libpq_binary URL ITERATIONS RUNS     (protocol: see bench.h) */
#include <endian.h>
#include <libpq-fe.h>
#include <string.h>
#include <time.h>
#include "bench.h"

#define W1_USERS 10000
#define W1_SQL "select id, email, name, created_at from users where id = $1"
#define PG_EPOCH_OFFSET 946684800LL /* 2000-01-01 in Unix seconds */

typedef struct ctx {
    PGconn *pg;
    uint64_t check;
} ctx;

static int64_t get_int8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)be64toh(v);
}

/* timestamptz (binary) -> "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" */
static int format_ts(int64_t us, char *out, size_t size)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_t t = (time_t)(secs + PG_EPOCH_OFFSET);
    struct tm tm;
    gmtime_r(&t, &tm);
    return snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    for (long i = 0; i < iterations; i++) {
        int64_t key = bench_rng_key(&rng, W1_USERS);
        uint64_t be = htobe64((uint64_t)key);
        const char *values[1] = {(const char *)&be};
        int lengths[1] = {8}, formats[1] = {1};
        PGresult *r = PQexecPrepared(c->pg, "w1", 1, values, lengths, formats, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            fprintf(stderr, "w1_libpq_binary: %s", PQerrorMessage(c->pg));
            PQclear(r);
            return 1;
        }
        int64_t id = get_int8(PQgetvalue(r, 0, 0));
        int email_len = PQgetlength(r, 0, 1), name_len = PQgetlength(r, 0, 2);
        char ts[48];
        if (id != key || email_len == 0 || name_len == 0 ||
            format_ts(get_int8(PQgetvalue(r, 0, 3)), ts, sizeof ts) <= 0) {
            fprintf(stderr, "w1_libpq_binary: user %lld: unexpected row\n", (long long)key);
            PQclear(r);
            return 1;
        }
        check += (uint64_t)id + (uint64_t)email_len + (uint64_t)name_len;
        PQclear(r);
    }
    c->check = check;
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.pg = PQconnectdb(a.url);
    if (PQstatus(c.pg) != CONNECTION_OK) {
        fprintf(stderr, "w1_libpq_binary: connect: %s", PQerrorMessage(c.pg));
        return 1;
    }
    Oid types[1] = {20}; /* int8 */
    PGresult *r = PQprepare(c.pg, "w1", W1_SQL, 1, types);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "w1_libpq_binary: prepare: %s", PQerrorMessage(c.pg));
        return 1;
    }
    PQclear(r);
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    PQfinish(c.pg);
    return rc;
}
