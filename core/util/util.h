/* Private helpers shared by every layer of the core: allocation through the
 * injectable allocator, a string builder, error setting. */
#ifndef TIDE_UTIL_H
#define TIDE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "tide/common.h"
#include "tide/error.h"

#define TUTIL_UNUSED(x) ((void)(x))

/* Allocation: every core allocation goes through these. */
void *tutil_malloc(size_t n);
void *tutil_calloc(size_t n, size_t size);
void *tutil_realloc(void *p, size_t oldn, size_t n);
void tutil_free(void *p, size_t n);
/* A copy of s (NUL-terminated) or NULL on OOM. Free with tutil_strfree. */
char *tutil_strdup(const char *s);
char *tutil_strndup(const char *s, size_t n);
void tutil_strfree(char *s);

/* A growing byte buffer. On allocation failure it turns "broken": later
 * appends do nothing, and the owner checks once, at the end. */
typedef struct tutil_buf {
    char *data;
    size_t len;
    size_t cap;
    int broken;
} tutil_buf;

void tutil_buf_init(tutil_buf *b);
void tutil_buf_free(tutil_buf *b);
void tutil_buf_reset(tutil_buf *b);      /* len = 0, keeps the memory */
int tutil_buf_reserve(tutil_buf *b, size_t extra);
void tutil_buf_add_slow(tutil_buf *b, const void *p, size_t n);
void tutil_buf_adds(tutil_buf *b, const char *s);
void tutil_buf_addu(tutil_buf *b, size_t n); /* decimal digits, without printf */
/* Appends are inline while they fit: the canonical walk and the compilers
 * append a few bytes at a time, many times per query. */
static inline void tutil_buf_add(tutil_buf *b, const void *p, size_t n)
{
    if (b->broken || b->len + n + 1 > b->cap) {
        tutil_buf_add_slow(b, p, n);
        return;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void tutil_buf_addc(tutil_buf *b, char c)
{
    if (b->broken || b->len + 2 > b->cap) {
        tutil_buf_add_slow(b, &c, 1);
        return;
    }
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
void tutil_buf_addf(tutil_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The NUL-terminated contents (an empty string when nothing was added or
 * the buffer is broken). Valid until the next append or free. */
const char *tutil_buf_str(tutil_buf *b);

/* A hash of n bytes, for the core's own hash tables. */
uint64_t tutil_hash(const void *p, size_t n);

/* Errors. Each setter overwrites every field of err (err may be NULL). */
void tutil_error_set(tide_error *err, tide_code code, const char *msg);
void tutil_error_setf(tide_error *err, tide_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets one more field of an error already set (value NULL leaves it unset). */
void tutil_error_field(tide_error *err, tide_error_field f, const char *value);
void tutil_error_oom(tide_error *err);

/* An arena: allocations (zeroed) live until tutil_arena_free. NULL on OOM. */
typedef struct tutil_arena {
    struct tutil_block *head;
    size_t block_size;
} tutil_arena;
void tutil_arena_init(tutil_arena *a);
void tutil_arena_free(tutil_arena *a);
void *tutil_arena_alloc(tutil_arena *a, size_t n);
char *tutil_arena_strdup(tutil_arena *a, const char *s);
int tutil_arena_grow(tutil_arena *a, void **items, int *cap, int need, size_t elem);

/* UTF-8: 1 when s[0..n) is valid UTF-8 with no NUL byte. */
int tutil_valid_text(const char *s, size_t n);

/* JSON: walks strict RFC 8259 text with a visitor (json.c; see tide_decode_json). */
struct tide_visitor;
int tutil_json_walk(const char *s, size_t len, const struct tide_visitor *v, void *ud, tide_error *err);

#endif
