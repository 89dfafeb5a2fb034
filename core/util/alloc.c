#include <stdlib.h>
#include <string.h>
#include "util.h"

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    TUTIL_UNUSED(ud);
    TUTIL_UNUSED(osize);
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static tide_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud = NULL;

void tide_set_allocator(tide_alloc_fn fn, void *ud)
{
    alloc_fn = fn ? fn : default_alloc;
    alloc_ud = fn ? ud : NULL;
}

const char *tide_version(void)
{
    return TIDE_VERSION;
}

void *tutil_malloc(size_t n)
{
    return alloc_fn(alloc_ud, NULL, 0, n ? n : 1);
}

void *tutil_calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size)
        return NULL;
    void *p = tutil_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *tutil_realloc(void *p, size_t oldn, size_t n)
{
    return alloc_fn(alloc_ud, p, p ? oldn : 0, n ? n : 1);
}

void tutil_free(void *p, size_t n)
{
    if (p)
        alloc_fn(alloc_ud, p, n, 0);
}

char *tutil_strndup(const char *s, size_t n)
{
    /* The length is stored in front so tutil_strfree can pass osize on. */
    size_t *p = tutil_malloc(sizeof(size_t) + n + 1);
    if (!p)
        return NULL;
    *p = n + 1;
    char *c = (char *)(p + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

char *tutil_strdup(const char *s)
{
    return s ? tutil_strndup(s, strlen(s)) : NULL;
}

void tutil_strfree(char *s)
{
    if (s) {
        size_t *p = (size_t *)s - 1;
        tutil_free(p, sizeof(size_t) + *p);
    }
}
