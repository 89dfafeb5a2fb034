#include <stdint.h>
#include <string.h>
#include "util.h"

#define HIGH_BITS 0x8080808080808080ull
#define LOW_BITS 0x0101010101010101ull

/* Every parameter's text is checked: runs of ASCII (no NUL) go eight bytes
 * at a time. */
int tutil_valid_text(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            uint64_t w;
            if (end - p >= 8 && (memcpy(&w, p, 8), ((w | ((w - LOW_BITS) & ~w)) & HIGH_BITS) == 0)) {
                p += 8; /* eight ASCII bytes, none of them NUL */
                continue;
            }
            if (c == 0)
                return 0;
            p++;
            continue;
        }
        size_t need;
        unsigned min;
        if ((c & 0xE0) == 0xC0) { need = 1; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { need = 2; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { need = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        if ((size_t)(end - p) <= need)
            return 0;
        for (size_t i = 1; i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        p += need + 1;
    }
    return 1;
}
