/* W3 nested relations, the baseline: hand-written libpq, two prepared
 * statements, stitched in C.
 *
 *   w3_libpq URL ITERATIONS RUNS     (protocol: see bench.h)
 *
 * Per call, for one random user:
 *   1. w3_posts: the user and all their posts (users LEFT JOIN posts, one
 *      row per post, ordered by post id);
 *   2. w3_comments: each of the user's posts' 5 newest comments (posts
 *      CROSS JOIN LATERAL (... ORDER BY id DESC LIMIT 5), which walks the
 *      comments(post_id, id desc) index), ordered by post id, then id desc;
 * then both results are merged by post id into the nested w3_user (text
 * fields point into the two PGresults, kept until the next call), its shape
 * is checked and it is summed (w3.h). Ids are converted with strtoll,
 * published to a boolean; timestamps stay text. */
#include "bench.h"
#include "bench_pq.h"
#include "w3.h"

#define PROG "w3_libpq"

#define SQL_POSTS                                                                                          \
    "select u.id, u.email, u.name, u.created_at, p.id, p.author_id, p.title, p.body, p.published, "       \
    "p.created_at from users u left join posts p on p.author_id = u.id where u.id = $1 order by p.id"
#define SQL_COMMENTS                                                                                       \
    "select c.id, c.post_id, c.author_id, c.body from posts p cross join lateral "                         \
    "(select id, post_id, author_id, body from comments where post_id = p.id order by id desc limit 5) c " \
    "where p.author_id = $1 order by c.post_id, c.id desc"

typedef struct ctx {
    PGconn *pg;
    w3_user user;
    uint64_t check;
} ctx;

static PGresult *exec(ctx *c, const char *stmt, const char *key)
{
    const char *values[1] = {key};
    PGresult *r = PQexecPrepared(c->pg, stmt, 1, values, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, PROG ": %s: %s", stmt, PQerrorMessage(c->pg));
        PQclear(r);
        return NULL;
    }
    return r;
}

static int run(void *p, long iterations)
{
    ctx *c = p;
    w3_user *u = &c->user;
    bench_rng rng;
    bench_rng_init(&rng);
    uint64_t check = 0;
    PGresult *rp = NULL, *rc = NULL; /* the previous call's, freed at the next */
    int ok = 1;
    for (long i = 0; i < iterations && ok; i++) {
        int64_t key = bench_rng_key(&rng, W3_USERS);
        char kbuf[24];
        snprintf(kbuf, sizeof kbuf, "%lld", (long long)key);
        PQclear(rp);
        PQclear(rc);
        rp = exec(c, "w3_posts", kbuf);
        rc = rp ? exec(c, "w3_comments", kbuf) : NULL;
        if (!rp || !rc)
            return 1;
        int nrows = PQntuples(rp);
        if (nrows < 1) {
            fprintf(stderr, PROG ": user %lld: not found\n", (long long)key);
            ok = 0;
            break;
        }
        if (w3_int(PQgetvalue(rp, 0, 0), &u->id)) {
            ok = 0;
            break;
        }
        u->email = PQgetvalue(rp, 0, 1);
        u->name = PQgetvalue(rp, 0, 2);
        u->created_at = PQgetvalue(rp, 0, 3);
        /* a user without posts comes back as one row of NULL post columns */
        int nposts = PQgetisnull(rp, 0, 4) ? 0 : nrows;
        if (w3_reserve(u, nposts)) {
            ok = 0;
            break;
        }
        u->nposts = nposts;
        for (int r = 0; r < nposts && ok; r++) {
            w3_post *po = &u->posts[r];
            ok = !w3_int(PQgetvalue(rp, r, 4), &po->id) && !w3_int(PQgetvalue(rp, r, 5), &po->author_id);
            po->title = PQgetvalue(rp, r, 6);
            po->body = PQgetvalue(rp, r, 7);
            po->published = PQgetvalue(rp, r, 8)[0] == 't';
            po->created_at = PQgetvalue(rp, r, 9);
            po->ncomments = 0;
        }
        /* merge: both results are ordered by post id */
        int ncom = PQntuples(rc), k = 0;
        for (int r = 0; r < ncom && ok; r++) {
            w3_comment cm;
            ok = !w3_int(PQgetvalue(rc, r, 0), &cm.id) && !w3_int(PQgetvalue(rc, r, 1), &cm.post_id) &&
                 !w3_int(PQgetvalue(rc, r, 2), &cm.author_id);
            cm.body = PQgetvalue(rc, r, 3);
            while (k < nposts && u->posts[k].id < cm.post_id)
                k++;
            if (!ok || k == nposts || u->posts[k].id != cm.post_id || u->posts[k].ncomments == W3_TAKE) {
                fprintf(stderr, PROG ": user %lld: a comment of no post of theirs\n", (long long)key);
                ok = 0;
                break;
            }
            u->posts[k].comments[u->posts[k].ncomments++] = cm;
        }
        if (ok)
            ok = w3_sum(PROG, u, key, &check);
    }
    PQclear(rp);
    PQclear(rc);
    c->check = check;
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse_args(argc, argv, &a);
    ctx c = {0};
    c.pg = bench_pq_connect(PROG, a.url);
    if (!c.pg || bench_pq_prepare(PROG, c.pg, "w3_posts", SQL_POSTS) ||
        bench_pq_prepare(PROG, c.pg, "w3_comments", SQL_COMMENTS))
        return 1;
    int rc = bench_main_loop(&a, run, &c);
    if (rc == 0)
        printf("# check %llu\n", (unsigned long long)c.check);
    free(c.user.posts);
    PQfinish(c.pg);
    return rc;
}
