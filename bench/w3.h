/* W3 nested relations, shared by the C programs: the nested result a call
 * builds (a user, its posts, each post's 5 newest comments) and the check
 * sum over it. Text fields point into the PGresults (or tide_results) of the
 * call, which stay alive until the next call: no copies, as a careful C
 * programmer would do it. bench/w3_model.lua and bench/w3.lua compute the
 * same check over their Lua tables. */
#ifndef TIDE_BENCH_W3_H
#define TIDE_BENCH_W3_H

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define W3_USERS 10000
#define W3_TAKE 5

typedef struct w3_comment {
    int64_t id, post_id, author_id;
    const char *body;
} w3_comment;

typedef struct w3_post {
    int64_t id, author_id;
    const char *title, *body, *created_at;
    int published;
    int ncomments;
    w3_comment comments[W3_TAKE];
} w3_post;

typedef struct w3_user {
    int64_t id;
    const char *email, *name, *created_at;
    int nposts, cap;
    w3_post *posts;
} w3_user;

static inline int w3_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return 1;
    *out = v;
    return 0;
}

/* Room for n posts (grows once; reused by every call). */
static inline int w3_reserve(w3_user *u, int n)
{
    if (n <= u->cap)
        return 0;
    int cap = u->cap ? u->cap : 16;
    while (cap < n)
        cap *= 2;
    w3_post *p = realloc(u->posts, (size_t)cap * sizeof *p);
    if (!p)
        return 1;
    u->posts = p;
    u->cap = cap;
    return 0;
}

/* Checks the nested result's shape and returns its contribution to the
 * check sum: user id + number of posts + post ids + number of comments +
 * comment ids. Returns 0 (and says why) when something is wrong. */
static inline int w3_sum(const char *prog, const w3_user *u, int64_t key, uint64_t *sum)
{
    if (u->id != key || !u->email[0] || !u->name[0] || !u->created_at[0]) {
        fprintf(stderr, "%s: user %lld: unexpected user row\n", prog, (long long)key);
        return 0;
    }
    uint64_t s = (uint64_t)u->id + (uint64_t)u->nposts;
    for (int i = 0; i < u->nposts; i++) {
        const w3_post *p = &u->posts[i];
        if (p->author_id != key || !p->title[0] || !p->body[0] || !p->created_at[0] || p->ncomments > W3_TAKE) {
            fprintf(stderr, "%s: user %lld: unexpected post %lld\n", prog, (long long)key, (long long)p->id);
            return 0;
        }
        s += (uint64_t)p->id + (uint64_t)p->ncomments;
        for (int j = 0; j < p->ncomments; j++) {
            const w3_comment *c = &p->comments[j];
            if (c->post_id != p->id || !c->body[0] || (j > 0 && c->id >= p->comments[j - 1].id)) {
                fprintf(stderr, "%s: user %lld: unexpected comment %lld\n", prog, (long long)key, (long long)c->id);
                return 0;
            }
            s += (uint64_t)c->id;
        }
    }
    *sum += s;
    return 1;
}

#endif
