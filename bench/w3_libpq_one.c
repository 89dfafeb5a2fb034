/* W3 nested relations with libpq in ONE prepared statement: users LEFT JOIN
 * posts LEFT JOIN LATERAL (the post's 5 newest comments), one row per
 * comment (a post without comments gives one row of NULL comment columns),
 * ordered by post id, then comment id desc; the rows are folded into the
 * nested w3_user in C (text fields point into the PGresult). One round trip
 * instead of two, at the price of repeating the user's and each post's
 * columns on every comment row. Same checks and check sum as w3_libpq.c.
 *
 *   w3_libpq_one URL ITERATIONS RUNS     (protocol: see bench.h) */
#include "bench.h"
#include "bench_pq.h"
#include "w3.h"

#define PROG "w3_libpq_one"

#define SQL_NESTED                                                                                          \
    "select u.id, u.email, u.name, u.created_at, p.id, p.author_id, p.title, p.body, p.published, "        \
    "p.created_at, c.id, c.post_id, c.author_id, c.body from users u left join posts p on p.author_id = " \
    "u.id left join lateral (select id, post_id, author_id, body from comments where post_id = p.id "      \
    "order by id desc limit 5) c on true where u.id = $1 order by p.id, c.id desc"

typedef struct ctx {
    PGconn *pg;
    w3_user user;
    uint64_t check;
} ctx;

static int run(void *p, long iterations)
{
    ctx *c = p;
    w3_user *u = &c->user;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    PGresult *r = NULL; /* the previous call's, freed at the next */
    int ok = 1;
    for (long i = 0; i < iterations && ok; i++) {
        int64_t key = bench_rng_key(&rng, W3_USERS);
        char kbuf[24];
        snprintf(kbuf, sizeof kbuf, "%lld", (long long)key);
        const char *values[1] = {kbuf};
        PQclear(r);
        r = PQexecPrepared(c->pg, "w3_nested", 1, values, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, PROG ": %s", PQerrorMessage(c->pg));
            ok = 0;
            break;
        }
        int nrows = PQntuples(r);
        if (nrows < 1 || w3_int(PQgetvalue(r, 0, 0), &u->id)) {
            fprintf(stderr, PROG ": user %lld: not found\n", (long long)key);
            ok = 0;
            break;
        }
        u->email = PQgetvalue(r, 0, 1);
        u->name = PQgetvalue(r, 0, 2);
        u->created_at = PQgetvalue(r, 0, 3);
        u->nposts = 0;
        w3_post *po = NULL;
        for (int row = 0; row < nrows && ok; row++) {
            if (PQgetisnull(r, row, 4))
                break; /* no posts: one row of NULLs */
            int64_t pid = 0;
            ok = !w3_int(PQgetvalue(r, row, 4), &pid);
            if (!po || po->id != pid) {
                if (w3_reserve(u, u->nposts + 1)) {
                    ok = 0;
                    break;
                }
                po = &u->posts[u->nposts++];
                po->id = pid;
                ok = ok && !w3_int(PQgetvalue(r, row, 5), &po->author_id);
                po->title = PQgetvalue(r, row, 6);
                po->body = PQgetvalue(r, row, 7);
                po->published = PQgetvalue(r, row, 8)[0] == 't';
                po->created_at = PQgetvalue(r, row, 9);
                po->ncomments = 0;
            }
            if (PQgetisnull(r, row, 10))
                continue; /* a post without comments */
            if (po->ncomments == W3_TAKE) {
                fprintf(stderr, PROG ": user %lld: more than %d comments\n", (long long)key, W3_TAKE);
                ok = 0;
                break;
            }
            w3_comment *cm = &po->comments[po->ncomments++];
            ok = ok && !w3_int(PQgetvalue(r, row, 10), &cm->id) && !w3_int(PQgetvalue(r, row, 11), &cm->post_id) &&
                 !w3_int(PQgetvalue(r, row, 12), &cm->author_id);
            cm->body = PQgetvalue(r, row, 13);
        }
        if (ok)
            ok = w3_sum(PROG, u, key, &check);
    }
    PQclear(r);
    c->check = check;
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.pg = bench_pq_connect(PROG, a.url);
    if (!c.pg || bench_pq_prepare(PROG, c.pg, "w3_nested", SQL_NESTED))
        return 1;
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    free(c.user.posts);
    PQfinish(c.pg);
    return rc;
}
