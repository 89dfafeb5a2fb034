/* Which statements may change session state that must not reach the next
 * user of a pooled connection. A cheap lexical scan, done once per cached
 * statement (and per simple query). It errs on the side of a reset: a false
 * positive costs one round trip at release, a false negative leaks state. */
#include <ctype.h>
#include <string.h>
#include "pg.h"

static int word_is(const char *w, size_t n, const char *kw)
{
    size_t k = strlen(kw);
    if (n != k)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)w[i]) != kw[i])
            return 0;
    return 1;
}

static int is_word_char(int c)
{
    return isalnum(c) || c == '_';
}

unsigned tpg_session_effects(const char *sql, size_t len)
{
    unsigned fx = 0;
    int first = 1; /* the next word starts a statement */
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)sql[i];
        if (c == ';') {
            first = 1;
            i++;
        } else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(sql[i] == '*' && sql[i + 1] == '/'))
                i++;
            i += 2;
        } else if (c == '\'' || c == '"') {
            /* quoted text: skipped (a doubled quote reads as two strings) */
            i++;
            while (i < len && (unsigned char)sql[i] != c)
                i++;
            i++;
        } else if (is_word_char(c)) {
            size_t s = i;
            while (i < len && is_word_char((unsigned char)sql[i]))
                i++;
            const char *w = sql + s;
            size_t n = i - s;
            if (first) {
                if (word_is(w, n, "prepare"))
                    fx |= TPG_FX_PREPARE | TPG_FX_SESSION;
                else if (word_is(w, n, "set") || word_is(w, n, "reset") || word_is(w, n, "listen") ||
                         word_is(w, n, "declare") || word_is(w, n, "create") || word_is(w, n, "do") ||
                         word_is(w, n, "load") || word_is(w, n, "discard") || word_is(w, n, "call"))
                    fx |= TPG_FX_SESSION;
                first = 0;
            } else if (word_is(w, n, "set_config") || word_is(w, n, "pg_advisory_lock") ||
                       word_is(w, n, "pg_advisory_lock_shared") || word_is(w, n, "pg_try_advisory_lock") ||
                       word_is(w, n, "pg_try_advisory_lock_shared") || word_is(w, n, "temp") ||
                       word_is(w, n, "temporary") || word_is(w, n, "setval") || word_is(w, n, "nextval")) {
                /* nextval/setval: currval/lastval are session state too. */
                fx |= TPG_FX_SESSION;
            }
        } else {
            i++;
        }
    }
    return fx;
}
