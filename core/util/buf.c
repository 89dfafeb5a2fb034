#include <stdio.h>
#include <string.h>
#include "util.h"

void tutil_buf_init(tutil_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->broken = 0;
}

void tutil_buf_free(tutil_buf *b)
{
    tutil_free(b->data, b->cap);
    tutil_buf_init(b);
}

void tutil_buf_reset(tutil_buf *b)
{
    b->len = 0;
    b->broken = 0;
}

int tutil_buf_reserve(tutil_buf *b, size_t extra)
{
    if (b->broken)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->broken = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = tutil_realloc(b->data, b->cap, cap);
    if (!p) {
        b->broken = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void tutil_buf_add_slow(tutil_buf *b, const void *p, size_t n)
{
    if (tutil_buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tutil_buf_adds(tutil_buf *b, const char *s)
{
    tutil_buf_add(b, s, strlen(s));
}

void tutil_buf_addu(tutil_buf *b, size_t n)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    tutil_buf_add(b, tmp + i, sizeof tmp - (size_t)i);
}

void tutil_buf_addf(tutil_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->broken = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        tutil_buf_add(b, small, (size_t)n);
        return;
    }
    if (tutil_buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *tutil_buf_str(tutil_buf *b)
{
    if (b->broken || !b->data)
        return "";
    return b->data;
}
