/* Encoding parameter values to fit the type the server gave each parameter
 * (see tide_value in value.h): text format everywhere except bytea, which
 * goes in binary so its bytes need no escaping. */
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "encode.h"

/* tutil_json_walk's nesting limit. */
#define JSON_MAX_DEPTH 512

static int refuse(tide_error *err, const char *what, unsigned int type, const char *why)
{
    char name[TPG_TYPE_NAME_MAX];
    tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "cannot bind %s to a parameter of type %s%s%s", what,
                     tpg_type_name(type, name, sizeof name), why ? ": " : "", why ? why : "");
    return TIDE_ERROR;
}

static int check_text(const char *s, size_t n, tide_error *err)
{
    if (n == 0)
        return TIDE_OK;
    if (memchr(s, '\0', n)) {
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "text contains a NUL byte");
        return TIDE_ERROR;
    }
    if (!tutil_valid_text(s, n)) {
        tutil_error_set(err, TIDE_E_INVALID_ARGUMENT, "text is not valid UTF-8");
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

/* ---- numbers --------------------------------------------------------- */

/* printf writes the locale's decimal point, which a host may have set to
 * ','; PostgreSQL wants '.'. */
static void use_c_decimal_point(char *buf)
{
    const char *point = localeconv()->decimal_point;
    if (!point || !*point || strcmp(point, ".") == 0)
        return;
    char *p = strstr(buf, point);
    if (p) {
        size_t plen = strlen(point);
        *p = '.';
        memmove(p + 1, p + plen, strlen(p + plen) + 1);
    }
}

/* The shortest of %.15g, %.16g, %.17g that reads back as d, so 0.1 is
 * "0.1" and no precision is ever lost. */
static void format_double(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, "%s", d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    use_c_decimal_point(buf);
}

/* An integral float fits an integer parameter; 3.5, NaN and 1e300 do not. */
static int float_as_integer(double d, unsigned int type, tutil_buf *out, tide_error *err)
{
    char num[64];
    format_double(d, num, sizeof num);
    if (!isfinite(d))
        return refuse(err, num, type, "it is not a finite number");
    if (d != floor(d))
        return refuse(err, num, type, "it has a fraction");
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return refuse(err, num, type, "it is out of range");
    tutil_buf_addf(out, "%" PRId64, (int64_t)d);
    return TIDE_OK;
}

/* ---- JSON to array literals ------------------------------------------ */

/* What goes before the next value at a depth. */
enum { SEP_FIRST = 0, SEP_NEXT, SEP_AFTER_KEY };

/* Converts a JSON array, walked event by event, to an array literal.
 * Outside a captured element JSON arrays map onto braces. An object (or, for
 * json/jsonb elements, every value) is an element of its own: it is
 * re-serialized as compact JSON into `elem`, then quoted into out. */
typedef struct literal {
    tutil_buf *out;
    tutil_buf elem;
    tide_error *err;
    unsigned int type;
    int json_elements;      /* the element type is json or jsonb */
    int depth;              /* JSON containers open */
    int capture;            /* depth inside the captured container; 0: none */
    int top_object;         /* the value is an object: only {} is bound */
    unsigned char sep[JSON_MAX_DEPTH + 1];
} literal;

static void separate(literal *l, tutil_buf *b)
{
    if (l->sep[l->depth] == SEP_NEXT)
        tutil_buf_addc(b, ',');
    l->sep[l->depth] = SEP_NEXT;
}

/* A quoted array element: only '"' and '\' need a backslash. */
static void add_quoted(tutil_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    tutil_buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            tutil_buf_add(b, s + run, i - run);
            tutil_buf_addc(b, '\\');
            run = i;
        }
    }
    tutil_buf_add(b, s + run, n - run);
    tutil_buf_addc(b, '"');
}

static void add_json_string(tutil_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    tutil_buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        tutil_buf_add(b, s + run, i - run);
        switch (c) {
        case '"': tutil_buf_adds(b, "\\\""); break;
        case '\\': tutil_buf_adds(b, "\\\\"); break;
        case '\n': tutil_buf_adds(b, "\\n"); break;
        case '\r': tutil_buf_adds(b, "\\r"); break;
        case '\t': tutil_buf_adds(b, "\\t"); break;
        case '\b': tutil_buf_adds(b, "\\b"); break;
        case '\f': tutil_buf_adds(b, "\\f"); break;
        default: tutil_buf_addf(b, "\\u%04x", c); break;
        }
        run = i + 1;
    }
    tutil_buf_add(b, s + run, n - run);
    tutil_buf_addc(b, '"');
}

static void add_json_scalar(tutil_buf *b, tide_kind kind, const char *s, size_t n)
{
    if (kind == TIDE_KIND_TEXT)
        add_json_string(b, s, n);
    else
        tutil_buf_add(b, s, n); /* null, true, false, numbers: their JSON text */
}

static int not_an_array(literal *l)
{
    refuse(l->err, "JSON that is not an array", l->type, NULL);
    return 1;
}

static int finish_capture(literal *l)
{
    if (l->elem.broken) {
        tutil_error_oom(l->err);
        return 1;
    }
    add_quoted(l->out, l->elem.data, l->elem.len);
    return 0;
}

static int open_container(literal *l, char open)
{
    if (l->depth >= JSON_MAX_DEPTH) {
        tutil_error_set(l->err, TIDE_E_INVALID_ARGUMENT, "JSON nested too deeply");
        return 1;
    }
    if (l->depth == 0) {
        if (open == '{')
            l->top_object = 1;
        else
            tutil_buf_addc(l->out, '{');
    } else if (l->capture) {
        separate(l, &l->elem);
        tutil_buf_addc(&l->elem, open);
    } else if (open == '{' || l->json_elements) {
        separate(l, l->out);
        tutil_buf_reset(&l->elem);
        tutil_buf_addc(&l->elem, open);
        l->capture = l->depth + 1;
    } else {
        separate(l, l->out);
        tutil_buf_addc(l->out, '{');
    }
    l->depth++;
    l->sep[l->depth] = SEP_FIRST;
    return 0;
}

static int close_container(literal *l, char close)
{
    l->depth--;
    if (l->capture) {
        tutil_buf_addc(&l->elem, close);
        if (l->depth >= l->capture)
            return 0;
        l->capture = 0;
        return finish_capture(l);
    }
    /* Only an empty top-level object gets here: the key callback refuses any
     * other. */
    tutil_buf_adds(l->out, l->top_object ? "{}" : "}");
    return 0;
}

static int on_begin_array(void *ud) { return open_container(ud, '['); }
static int on_end_array(void *ud) { return close_container(ud, ']'); }
static int on_begin_object(void *ud) { return open_container(ud, '{'); }
static int on_end_object(void *ud) { return close_container(ud, '}'); }

static int on_key(void *ud, const char *s, size_t n)
{
    literal *l = ud;
    if (!l->capture)
        return not_an_array(l); /* a key of the top-level object */
    separate(l, &l->elem);
    add_json_string(&l->elem, s, n);
    tutil_buf_addc(&l->elem, ':');
    l->sep[l->depth] = SEP_AFTER_KEY;
    return 0;
}

static int on_scalar(void *ud, tide_kind kind, const char *s, size_t n)
{
    literal *l = ud;
    if (l->depth == 0)
        return not_an_array(l);
    if (l->capture) {
        separate(l, &l->elem);
        add_json_scalar(&l->elem, kind, s, n);
        return 0;
    }
    separate(l, l->out);
    if (kind == TIDE_KIND_NULL) {
        tutil_buf_adds(l->out, "NULL");
        return 0;
    }
    if (l->json_elements) {
        tutil_buf_reset(&l->elem);
        add_json_scalar(&l->elem, kind, s, n);
        return finish_capture(l);
    }
    switch (kind) {
    case TIDE_KIND_BOOL:
        tutil_buf_addc(l->out, s[0] == 't' ? 't' : 'f');
        return 0;
    case TIDE_KIND_INT:
    case TIDE_KIND_FLOAT:
        tutil_buf_add(l->out, s, n);
        return 0;
    default:
        /* JSON's \u0000 cannot go into a text element. */
        if (n && memchr(s, '\0', n)) {
            tutil_error_set(l->err, TIDE_E_INVALID_ARGUMENT, "text contains a NUL byte");
            return 1;
        }
        add_quoted(l->out, s, n);
        return 0;
    }
}

static int json_to_array(const char *s, size_t n, unsigned int type, tutil_buf *out, tide_error *err)
{
    static const tide_visitor visitor = {
        .begin_array = on_begin_array, .end_array = on_end_array,
        .begin_object = on_begin_object, .key = on_key,
        .end_object = on_end_object, .scalar = on_scalar,
    };
    literal l = { .out = out, .err = err, .type = type };
    l.json_elements = tide_kind_of_type(tide_array_element_type(type)) == TIDE_KIND_JSON;
    tutil_buf_init(&l.elem);
    int rc = tutil_json_walk(s, n, &visitor, &l, err);
    tutil_buf_free(&l.elem);
    return rc == TIDE_OK ? TIDE_OK : TIDE_ERROR;
}

/* ---- parameters ------------------------------------------------------ */

size_t tide_encode_int(int64_t v, char *buf)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return (size_t)n;
}

static int encode(const tide_value *v, unsigned int type, tutil_buf *out, int *binary, tide_error *err)
{
    tide_kind target = tide_kind_of_type(type);
    char num[64];
    switch (v->kind) {
    case TIDE_KIND_BOOL:
        if (target == TIDE_KIND_BOOL)
            tutil_buf_adds(out, v->as.b ? "t" : "f");
        else if (target == TIDE_KIND_INT || target == TIDE_KIND_FLOAT || target == TIDE_KIND_NUMERIC)
            return refuse(err, "a boolean", type, NULL);
        else
            tutil_buf_adds(out, v->as.b ? "true" : "false");
        return TIDE_OK;
    case TIDE_KIND_INT:
        tide_encode_int(v->as.i, num);
        if (target == TIDE_KIND_BOOL)
            return refuse(err, num, type, NULL);
        tutil_buf_adds(out, num);
        return TIDE_OK;
    case TIDE_KIND_FLOAT:
        if (target == TIDE_KIND_INT)
            return float_as_integer(v->as.f, type, out, err);
        format_double(v->as.f, num, sizeof num);
        if (target == TIDE_KIND_BOOL)
            return refuse(err, num, type, NULL);
        tutil_buf_adds(out, num);
        return TIDE_OK;
    case TIDE_KIND_TEXT:
    case TIDE_KIND_NUMERIC:
        if (target == TIDE_KIND_BYTEA) {
            *binary = 1;
        } else if (check_text(v->as.s.ptr, v->as.s.len, err) != TIDE_OK) {
            return TIDE_ERROR;
        }
        tutil_buf_add(out, v->as.s.ptr, v->as.s.len);
        return TIDE_OK;
    case TIDE_KIND_BYTEA:
        *binary = 1;
        tutil_buf_add(out, v->as.s.ptr, v->as.s.len);
        return TIDE_OK;
    case TIDE_KIND_JSON:
        if (tide_array_element_type(type))
            return json_to_array(v->as.s.ptr, v->as.s.len, type, out, err);
        if (check_text(v->as.s.ptr, v->as.s.len, err) != TIDE_OK)
            return TIDE_ERROR;
        tutil_buf_add(out, v->as.s.ptr, v->as.s.len);
        return TIDE_OK;
    default:
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "cannot bind a value of kind %d", (int)v->kind);
        return TIDE_ERROR;
    }
}

int tpg_encode_param(const tide_value *v, unsigned int type, tutil_buf *out, int *binary, tide_error *err)
{
    if (!v || !out || !binary) {
        tutil_error_set(err, TIDE_E_MISUSE, "tpg_encode_param: NULL argument");
        return TIDE_MISUSE;
    }
    *binary = 0;
    size_t start = out->len;
    int rc = encode(v, type, out, binary, err);
    if (rc == TIDE_OK && out->broken) {
        tutil_error_oom(err);
        rc = TIDE_ERROR;
    }
    if (rc != TIDE_OK) {
        *binary = 0;
        /* Leave out as it was, so the caller may go on using it. */
        if (!out->broken) {
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
        }
    }
    return rc;
}
