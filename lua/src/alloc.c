/* A lua_State on a small-object heap (tide_lua_newstate / tide_lua_close).
 *
 * Most of what a Lua program allocates is small and short-lived: a result's
 * row tables, their hash parts, the strings in them. Lua tells its allocator
 * the size of every block it frees or resizes, so blocks of up to 256 bytes
 * need no header: they are carved from 64 KiB chunks in 16 size classes and
 * go back on their class's free list when freed, two pointer moves each way
 * instead of malloc's bins. Larger blocks go to malloc. Chunks are kept for
 * the state's life (freed blocks are reused, not returned to the system) and
 * all freed by tide_lua_close. One heap serves one lua_State and its
 * coroutines, which Lua never runs on two threads at once, so there is no
 * lock. Under AddressSanitizer every block is malloc's, so that it sees each
 * one. See docs/design.md, "The tide command's Lua heap". */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include "tide/lua.h"

#if defined(__SANITIZE_ADDRESS__)
#define TLUA_HEAP_POOLS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TLUA_HEAP_POOLS 0
#endif
#endif
#ifndef TLUA_HEAP_POOLS
#define TLUA_HEAP_POOLS 1
#endif

#define GRAIN 16
#define SMALL_MAX 256
#define NCLASS (SMALL_MAX / GRAIN)
#define CHUNK (64 * 1024)

typedef struct chunk {
    struct chunk *next;
    max_align_t align; /* the blocks start after this, aligned */
} chunk;

typedef struct heap {
    void *free[NCLASS]; /* each free block holds the next one's address */
    char *cur, *end;    /* the unused end of the newest chunk */
    chunk *chunks;
} heap;

static int class_of(size_t n) { return (int)((n + GRAIN - 1) / GRAIN) - 1; }

static void *small_alloc(heap *h, int c)
{
    void *p = h->free[c];
    if (p) {
        h->free[c] = *(void **)p;
        return p;
    }
    size_t size = (size_t)(c + 1) * GRAIN;
    if ((size_t)(h->end - h->cur) < size) {
        chunk *k = malloc(CHUNK); /* what is left of the old chunk (< 256 bytes) stays unused */
        if (!k)
            return NULL;
        k->next = h->chunks;
        h->chunks = k;
        h->cur = (char *)&k->align;
        h->end = (char *)k + CHUNK;
    }
    p = h->cur;
    h->cur += size;
    return p;
}

static void small_free(heap *h, void *p, size_t size)
{
    int c = class_of(size);
    *(void **)p = h->free[c];
    h->free[c] = p;
}

static void *heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    heap *h = ud;
    if (!ptr)
        osize = 0; /* Lua passes the kind of object being made, not a size */
    if (!TLUA_HEAP_POOLS) {
        if (nsize == 0) {
            free(ptr);
            return NULL;
        }
        return realloc(ptr, nsize);
    }
    if (nsize == 0) {
        if (ptr) {
            if (osize <= SMALL_MAX)
                small_free(h, ptr, osize);
            else
                free(ptr);
        }
        return NULL;
    }
    if (ptr && osize > SMALL_MAX && nsize > SMALL_MAX)
        return realloc(ptr, nsize);
    if (ptr && nsize <= SMALL_MAX && osize <= SMALL_MAX && class_of(osize) == class_of(nsize))
        return ptr;
    void *p = nsize <= SMALL_MAX ? small_alloc(h, class_of(nsize)) : malloc(nsize);
    if (!p)
        return NULL; /* Lua collects and asks again, or raises "not enough memory" */
    if (ptr) {
        memcpy(p, ptr, osize < nsize ? osize : nsize);
        heap_alloc(h, ptr, osize, 0);
    }
    return p;
}

/* What luaL_newstate sets up besides its allocator: a panic message, and
 * warnings off until a script says warn("@on"). */
static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);

static int warn_control(lua_State *L, const char *msg, int tocont)
{
    if (tocont || msg[0] != '@')
        return 0;
    if (!strcmp(msg + 1, "off"))
        lua_setwarnf(L, warn_off, L);
    else if (!strcmp(msg + 1, "on"))
        lua_setwarnf(L, warn_on, L);
    return 1;
}

static void warn_off(void *ud, const char *msg, int tocont) { warn_control(ud, msg, tocont); }

static void warn_rest(void *ud, const char *msg, int tocont)
{
    lua_writestringerror("%s", msg);
    if (!tocont)
        lua_writestringerror("%s", "\n");
    lua_setwarnf(ud, tocont ? warn_rest : warn_on, ud);
}

static void warn_on(void *ud, const char *msg, int tocont)
{
    if (warn_control(ud, msg, tocont))
        return;
    lua_writestringerror("%s", "Lua warning: ");
    warn_rest(ud, msg, tocont);
}

static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    lua_writestringerror("PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "error object is not a string");
    return 0;
}

lua_State *tide_lua_newstate(void)
{
    heap *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    lua_State *L = lua_newstate(heap_alloc, h);
    if (!L) {
        free(h);
        return NULL;
    }
    lua_atpanic(L, panic);
    lua_setwarnf(L, warn_off, L);
    return L;
}

void tide_lua_close(lua_State *L)
{
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    lua_close(L);
    if (f != heap_alloc)
        return; /* not one of ours */
    heap *h = ud;
    while (h->chunks) {
        chunk *next = h->chunks->next;
        free(h->chunks);
        h->chunks = next;
    }
    free(h);
}
