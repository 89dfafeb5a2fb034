/* One hash for the core's tables keyed by text: the statement cache (SQL
 * text, every query) and the compiled-query cache (shape keys). Eight bytes
 * per step, so a few hundred bytes of SQL cost tens of instructions, not the
 * hundreds that FNV's byte at a time took. Not for hostile keys: both tables
 * hold texts the program's own source decides. */
#include <stdint.h>
#include <string.h>
#include "util.h"

static uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

uint64_t tutil_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    }
    return mix(h);
}
