/* "Did you mean ...": the candidate nearest to a misspelt name, by optimal
 * string alignment distance (edits plus adjacent transpositions), compared
 * case-insensitively. The same rule as tide.util.nearest in Lua. */
#include <ctype.h>
#include <string.h>
#include "tide/schema.h"
#include "util.h"

static size_t osa_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1; /* identifiers are at most 63 bytes */
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + (ca != cb) < v)
                v = d[i - 1][j - 1] + (ca != cb);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

const char *tide_nearest(const char *name, const char *const *candidates, int n)
{
    if (!name)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < n; i++) {
        size_t d = osa_distance(name, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    size_t limit = strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    return best && best_d <= limit ? best : NULL;
}
