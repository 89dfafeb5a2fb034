/* A bump allocator: many small allocations freed in one call. Blocks come
 * from the injectable allocator; an allocation that fails returns NULL and
 * leaves the arena usable. */
#include <string.h>
#include "util.h"

typedef struct tutil_block {
    struct tutil_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} tutil_block;

void tutil_arena_init(tutil_arena *a)
{
    a->head = NULL;
    a->block_size = 4096;
}

void tutil_arena_free(tutil_arena *a)
{
    tutil_block *b = a->head;
    while (b) {
        tutil_block *n = b->next;
        tutil_free(b, sizeof *b + b->size);
        b = n;
    }
    a->head = NULL;
}

void *tutil_arena_alloc(tutil_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    tutil_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        tutil_block *nb = tutil_malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->used = 0;
        nb->next = a->head;
        a->head = nb;
        b = nb;
        if (a->block_size < 65536)
            a->block_size *= 2;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *tutil_arena_strdup(tutil_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *c = tutil_arena_alloc(a, n + 1);
    if (c)
        memcpy(c, s, n + 1);
    return c;
}

/* Grows an array held in the arena to at least `need` elements. */
int tutil_arena_grow(tutil_arena *a, void **items, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = tutil_arena_alloc(a, (size_t)ncap * elem);
    if (!p)
        return -1;
    if (*items)
        memcpy(p, *items, (size_t)*cap * elem);
    *items = p;
    *cap = ncap;
    return 0;
}
