/* A strict RFC 8259 JSON walker feeding a tide_visitor.
 *
 * It is iterative: open containers live on a fixed-size stack, so hostile
 * nesting hits JSON_MAX_DEPTH instead of overflowing the C stack. Strings
 * without escapes are handed to the visitor as slices of the input; only
 * escaped ones are unescaped into a scratch buffer. */
#include <string.h>
#include "util.h"
#include "tide/value.h"

#define JSON_MAX_DEPTH 512

typedef struct walker {
    const char *s;
    size_t len;
    size_t pos;             /* the next byte to read */
    const tide_visitor *v;
    void *ud;
    tide_error *err;
    tutil_buf scratch;      /* unescaped text of the current string */
} walker;

static int syntax_error(walker *w, size_t at, const char *what)
{
    tutil_error_setf(w->err, TIDE_E_INVALID_ARGUMENT, "invalid JSON at byte %zu: %s", at, what);
    return TIDE_ERROR;
}

/* A callback returned non-zero: keep the error it set, if any. */
static int stopped(walker *w)
{
    if (tide_error_code(w->err) == TIDE_E_NONE)
        tutil_error_set(w->err, TIDE_E_INVALID_ARGUMENT, "the JSON walk was stopped by the visitor");
    return TIDE_ERROR;
}

/* Missing callbacks mean "not interested". */
static int call0(walker *w, int (*fn)(void *))
{
    return fn && fn(w->ud) ? stopped(w) : TIDE_OK;
}

static int call_scalar(walker *w, tide_kind kind, const char *s, size_t n)
{
    return w->v->scalar && w->v->scalar(w->ud, kind, s, n) ? stopped(w) : TIDE_OK;
}

static void skip_ws(walker *w)
{
    while (w->pos < w->len) {
        char c = w->s[w->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        w->pos++;
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The four hex digits at s[i..i+4) as a code unit, or -1. */
static long hex4(const walker *w, size_t i)
{
    if (w->len - i < 4)
        return -1;
    long u = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hex_value(w->s[i + k]);
        if (h < 0)
            return -1;
        u = u * 16 + h;
    }
    return u;
}

static void add_utf8(tutil_buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    tutil_buf_add(b, u, n);
}

/* Decodes the \u escape whose 'u' is at s[i - 1]; advances *ip past it (and
 * past the low half of a surrogate pair). */
static int unicode_escape(walker *w, size_t *ip)
{
    size_t i = *ip;
    long cp = hex4(w, i);
    if (cp < 0)
        return syntax_error(w, i - 2, "invalid \\u escape");
    i += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return syntax_error(w, i - 6, "lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = w->len - i >= 6 && w->s[i] == '\\' && w->s[i + 1] == 'u' ? hex4(w, i + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return syntax_error(w, i - 6, "lone high surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
    }
    add_utf8(&w->scratch, (unsigned long)cp);
    *ip = i;
    return TIDE_OK;
}

/* Reads the string whose opening quote is at w->pos. *out is a slice of the
 * input when the string has no escapes, else the scratch buffer's text; it
 * stays valid until the next string is read. */
static int read_string(walker *w, const char **out, size_t *outlen)
{
    const char *s = w->s;
    size_t start = w->pos + 1, i = start, run = start;
    int escaped = 0;
    tutil_buf_reset(&w->scratch);
    for (;;) {
        if (i >= w->len)
            return syntax_error(w, w->pos, "unterminated string");
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return syntax_error(w, i, "control character in string");
        if (c >= 0x80) {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (n > w->len - i || !tutil_valid_text(s + i, n))
                return syntax_error(w, i, "invalid UTF-8 in string");
            i += n;
            continue;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        escaped = 1;
        tutil_buf_add(&w->scratch, s + run, i - run);
        if (i + 1 >= w->len)
            return syntax_error(w, w->pos, "unterminated string");
        char e = s[i + 1], plain;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': plain = 0; break;
        default: return syntax_error(w, i, "invalid escape in string");
        }
        i += 2;
        if (e == 'u') {
            if (unicode_escape(w, &i) != TIDE_OK)
                return TIDE_ERROR;
        } else {
            tutil_buf_addc(&w->scratch, plain);
        }
        run = i;
    }
    if (escaped) {
        tutil_buf_add(&w->scratch, s + run, i - run);
        if (w->scratch.broken) {
            tutil_error_oom(w->err);
            return TIDE_ERROR;
        }
        *out = w->scratch.data;
        *outlen = w->scratch.len;
    } else {
        *out = s + start;
        *outlen = i - start;
    }
    w->pos = i + 1;
    return TIDE_OK;
}

/* 1 when the digits (after an optional '-') fit an int64. */
static int fits_int64(const char *s, size_t n)
{
    int neg = s[0] == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (size_t i = (size_t)neg; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (limit - d) / 10)
            return 0;
        acc = acc * 10 + d;
    }
    return 1;
}

static int is_digit_at(const walker *w, size_t i)
{
    return i < w->len && w->s[i] >= '0' && w->s[i] <= '9';
}

static int read_number(walker *w)
{
    size_t start = w->pos, i = start;
    int integral = 1;
    if (w->s[i] == '-')
        i++;
    if (!is_digit_at(w, i))
        return syntax_error(w, start, "invalid number");
    if (w->s[i] == '0') {
        i++;
        if (is_digit_at(w, i))
            return syntax_error(w, start, "invalid number (leading zero)");
    } else {
        while (is_digit_at(w, i))
            i++;
    }
    if (i < w->len && w->s[i] == '.') {
        integral = 0;
        if (!is_digit_at(w, ++i))
            return syntax_error(w, start, "invalid number (no digit after '.')");
        while (is_digit_at(w, i))
            i++;
    }
    if (i < w->len && (w->s[i] == 'e' || w->s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < w->len && (w->s[i] == '+' || w->s[i] == '-'))
            i++;
        if (!is_digit_at(w, i))
            return syntax_error(w, start, "invalid number (no digit in exponent)");
        while (is_digit_at(w, i))
            i++;
    }
    w->pos = i;
    tide_kind kind = integral && fits_int64(w->s + start, i - start) ? TIDE_KIND_INT : TIDE_KIND_FLOAT;
    return call_scalar(w, kind, w->s + start, i - start);
}

static int read_literal(walker *w, const char *word, tide_kind kind)
{
    size_t n = strlen(word);
    if (w->len - w->pos < n || memcmp(w->s + w->pos, word, n) != 0)
        return syntax_error(w, w->pos, "unexpected character");
    w->pos += n;
    return call_scalar(w, kind, word, n);
}

/* An object member's key and the ':' after it. */
static int read_key(walker *w)
{
    const char *k;
    size_t klen;
    if (w->pos >= w->len || w->s[w->pos] != '"')
        return syntax_error(w, w->pos, "expected a string key");
    if (read_string(w, &k, &klen) != TIDE_OK)
        return TIDE_ERROR;
    if (w->v->key && w->v->key(w->ud, k, klen))
        return stopped(w);
    skip_ws(w);
    if (w->pos >= w->len || w->s[w->pos] != ':')
        return syntax_error(w, w->pos, "expected ':'");
    w->pos++;
    skip_ws(w);
    return TIDE_OK;
}

enum { VALUE_DONE = 0, VALUE_OPENED = 1 };

/* Reads the value at w->pos. An empty container is read whole; a non-empty
 * one is opened (pushed on stack) and VALUE_OPENED returned, with w->pos at
 * its first member. */
static int read_value(walker *w, char *stack, size_t *depth)
{
    if (w->pos >= w->len)
        return syntax_error(w, w->pos, "unexpected end of input");
    char c = w->s[w->pos];
    switch (c) {
    case '[':
    case '{': {
        if (*depth == JSON_MAX_DEPTH)
            return syntax_error(w, w->pos, "nested deeper than 512 levels");
        int is_array = c == '[';
        if (call0(w, is_array ? w->v->begin_array : w->v->begin_object) != TIDE_OK)
            return TIDE_ERROR;
        w->pos++;
        skip_ws(w);
        if (w->pos < w->len && w->s[w->pos] == (is_array ? ']' : '}')) {
            w->pos++;
            return call0(w, is_array ? w->v->end_array : w->v->end_object);
        }
        stack[(*depth)++] = c;
        if (!is_array && read_key(w) != TIDE_OK)
            return TIDE_ERROR;
        return VALUE_OPENED;
    }
    case '"': {
        const char *t;
        size_t tlen;
        if (read_string(w, &t, &tlen) != TIDE_OK)
            return TIDE_ERROR;
        return call_scalar(w, TIDE_KIND_TEXT, t, tlen);
    }
    case 't': return read_literal(w, "true", TIDE_KIND_BOOL);
    case 'f': return read_literal(w, "false", TIDE_KIND_BOOL);
    case 'n': return read_literal(w, "null", TIDE_KIND_NULL);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return read_number(w);
        return syntax_error(w, w->pos, "unexpected character");
    }
}

static int walk(walker *w)
{
    char stack[JSON_MAX_DEPTH]; /* '[' or '{' for each open container */
    size_t depth = 0;
    skip_ws(w);
    for (;;) {
        int rc = read_value(w, stack, &depth);
        if (rc == TIDE_ERROR)
            return TIDE_ERROR;
        if (rc == VALUE_OPENED)
            continue;
        /* A value is complete: close containers until one has more members. */
        for (;;) {
            skip_ws(w);
            if (depth == 0) {
                if (w->pos != w->len)
                    return syntax_error(w, w->pos, "trailing characters after the value");
                return TIDE_OK;
            }
            int in_array = stack[depth - 1] == '[';
            if (w->pos >= w->len)
                return syntax_error(w, w->pos, "unexpected end of input");
            char c = w->s[w->pos];
            if (c == ',') {
                w->pos++;
                skip_ws(w);
                if (!in_array && read_key(w) != TIDE_OK)
                    return TIDE_ERROR;
                break;
            }
            if (c != (in_array ? ']' : '}'))
                return syntax_error(w, w->pos, in_array ? "expected ',' or ']'" : "expected ',' or '}'");
            w->pos++;
            depth--;
            if (call0(w, in_array ? w->v->end_array : w->v->end_object) != TIDE_OK)
                return TIDE_ERROR;
        }
    }
}

int tutil_json_walk(const char *s, size_t len, const tide_visitor *v, void *ud, tide_error *err)
{
    if (!v || (!s && len)) {
        tutil_error_set(err, TIDE_E_MISUSE, "tutil_json_walk: NULL visitor or text");
        return TIDE_MISUSE;
    }
    /* Cleared so that an error a stopping callback sets can be told apart. */
    tide_error_clear(err);
    walker w = { .s = s ? s : "", .len = len, .pos = 0, .v = v, .ud = ud, .err = err };
    tutil_buf_init(&w.scratch);
    int rc = walk(&w);
    tutil_buf_free(&w.scratch);
    return rc;
}
