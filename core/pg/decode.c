/* Decoding PostgreSQL's text output: the kinds of builtin types, scalars,
 * date/time values rewritten to ISO 8601, json and array literals walked
 * with a visitor. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tide/value.h"
#include "util.h"
#include "encode.h"

/* Builtin type OIDs, from PostgreSQL's pg_type.dat (stable across versions). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_CHAR 18
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_JSON 114
#define OID_XML 142
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043
#define OID_DATE 1082
#define OID_TIME 1083
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_INTERVAL 1186
#define OID_TIMETZ 1266
#define OID_NUMERIC 1700
#define OID_UUID 2950
#define OID_JSONB 3802

#define OID_XML_ARRAY 143
#define OID_JSON_ARRAY 199
#define OID_BOOL_ARRAY 1000
#define OID_BYTEA_ARRAY 1001
#define OID_CHAR_ARRAY 1002
#define OID_NAME_ARRAY 1003
#define OID_INT2_ARRAY 1005
#define OID_INT4_ARRAY 1007
#define OID_TEXT_ARRAY 1009
#define OID_BPCHAR_ARRAY 1014
#define OID_VARCHAR_ARRAY 1015
#define OID_INT8_ARRAY 1016
#define OID_FLOAT4_ARRAY 1021
#define OID_FLOAT8_ARRAY 1022
#define OID_OID_ARRAY 1028
#define OID_TIMESTAMP_ARRAY 1115
#define OID_DATE_ARRAY 1182
#define OID_TIME_ARRAY 1183
#define OID_TIMESTAMPTZ_ARRAY 1185
#define OID_INTERVAL_ARRAY 1187
#define OID_NUMERIC_ARRAY 1231
#define OID_TIMETZ_ARRAY 1270
#define OID_UUID_ARRAY 2951
#define OID_JSONB_ARRAY 3807

/* One table drives kinds, element types and the names used in messages.
 * An array's name is its element's name with "[]". */
static const struct type_info {
    unsigned int oid;
    tide_kind kind;
    unsigned int element;   /* arrays only */
    const char *name;       /* scalars only */
} types[] = {
    { OID_BOOL, TIDE_KIND_BOOL, 0, "boolean" },
    { OID_BYTEA, TIDE_KIND_BYTEA, 0, "bytea" },
    { OID_CHAR, TIDE_KIND_TEXT, 0, "\"char\"" },
    { OID_NAME, TIDE_KIND_TEXT, 0, "name" },
    { OID_INT8, TIDE_KIND_INT, 0, "bigint" },
    { OID_INT2, TIDE_KIND_INT, 0, "smallint" },
    { OID_INT4, TIDE_KIND_INT, 0, "integer" },
    { OID_TEXT, TIDE_KIND_TEXT, 0, "text" },
    { OID_OID, TIDE_KIND_INT, 0, "oid" },
    { OID_JSON, TIDE_KIND_JSON, 0, "json" },
    { OID_XML, TIDE_KIND_TEXT, 0, "xml" },
    { OID_FLOAT4, TIDE_KIND_FLOAT, 0, "real" },
    { OID_FLOAT8, TIDE_KIND_FLOAT, 0, "double precision" },
    { OID_BPCHAR, TIDE_KIND_TEXT, 0, "character" },
    { OID_VARCHAR, TIDE_KIND_TEXT, 0, "character varying" },
    { OID_DATE, TIDE_KIND_DATE, 0, "date" },
    { OID_TIME, TIDE_KIND_TIME, 0, "time without time zone" },
    { OID_TIMESTAMP, TIDE_KIND_TIMESTAMP, 0, "timestamp without time zone" },
    { OID_TIMESTAMPTZ, TIDE_KIND_TIMESTAMPTZ, 0, "timestamp with time zone" },
    { OID_INTERVAL, TIDE_KIND_INTERVAL, 0, "interval" },
    { OID_TIMETZ, TIDE_KIND_TIME, 0, "time with time zone" },
    { OID_NUMERIC, TIDE_KIND_NUMERIC, 0, "numeric" },
    { OID_UUID, TIDE_KIND_TEXT, 0, "uuid" },
    { OID_JSONB, TIDE_KIND_JSON, 0, "jsonb" },

    { OID_XML_ARRAY, TIDE_KIND_ARRAY, OID_XML, NULL },
    { OID_JSON_ARRAY, TIDE_KIND_ARRAY, OID_JSON, NULL },
    { OID_BOOL_ARRAY, TIDE_KIND_ARRAY, OID_BOOL, NULL },
    { OID_BYTEA_ARRAY, TIDE_KIND_ARRAY, OID_BYTEA, NULL },
    { OID_CHAR_ARRAY, TIDE_KIND_ARRAY, OID_CHAR, NULL },
    { OID_NAME_ARRAY, TIDE_KIND_ARRAY, OID_NAME, NULL },
    { OID_INT2_ARRAY, TIDE_KIND_ARRAY, OID_INT2, NULL },
    { OID_INT4_ARRAY, TIDE_KIND_ARRAY, OID_INT4, NULL },
    { OID_TEXT_ARRAY, TIDE_KIND_ARRAY, OID_TEXT, NULL },
    { OID_BPCHAR_ARRAY, TIDE_KIND_ARRAY, OID_BPCHAR, NULL },
    { OID_VARCHAR_ARRAY, TIDE_KIND_ARRAY, OID_VARCHAR, NULL },
    { OID_INT8_ARRAY, TIDE_KIND_ARRAY, OID_INT8, NULL },
    { OID_FLOAT4_ARRAY, TIDE_KIND_ARRAY, OID_FLOAT4, NULL },
    { OID_FLOAT8_ARRAY, TIDE_KIND_ARRAY, OID_FLOAT8, NULL },
    { OID_OID_ARRAY, TIDE_KIND_ARRAY, OID_OID, NULL },
    { OID_TIMESTAMP_ARRAY, TIDE_KIND_ARRAY, OID_TIMESTAMP, NULL },
    { OID_DATE_ARRAY, TIDE_KIND_ARRAY, OID_DATE, NULL },
    { OID_TIME_ARRAY, TIDE_KIND_ARRAY, OID_TIME, NULL },
    { OID_TIMESTAMPTZ_ARRAY, TIDE_KIND_ARRAY, OID_TIMESTAMPTZ, NULL },
    { OID_INTERVAL_ARRAY, TIDE_KIND_ARRAY, OID_INTERVAL, NULL },
    { OID_NUMERIC_ARRAY, TIDE_KIND_ARRAY, OID_NUMERIC, NULL },
    { OID_TIMETZ_ARRAY, TIDE_KIND_ARRAY, OID_TIMETZ, NULL },
    { OID_UUID_ARRAY, TIDE_KIND_ARRAY, OID_UUID, NULL },
    { OID_JSONB_ARRAY, TIDE_KIND_ARRAY, OID_JSONB, NULL },
};

static const struct type_info *find_type(unsigned int oid)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (types[i].oid == oid)
            return &types[i];
    }
    return NULL;
}

tide_kind tide_kind_of_type(unsigned int type)
{
    /* the common types without the table walk: this runs per column of
     * every result */
    switch (type) {
    case OID_INT8: case OID_INT4: case OID_INT2: return TIDE_KIND_INT;
    case OID_TEXT: case OID_VARCHAR: return TIDE_KIND_TEXT;
    case OID_BOOL: return TIDE_KIND_BOOL;
    case OID_TIMESTAMPTZ: return TIDE_KIND_TIMESTAMPTZ;
    case OID_FLOAT8: return TIDE_KIND_FLOAT;
    case OID_NUMERIC: return TIDE_KIND_NUMERIC;
    case OID_JSONB: return TIDE_KIND_JSON;
    default: break;
    }
    const struct type_info *t = find_type(type);
    return t ? t->kind : TIDE_KIND_TEXT;
}

unsigned int tide_array_element_type(unsigned int type)
{
    const struct type_info *t = find_type(type);
    return t ? t->element : 0;
}

const char *tpg_type_name(unsigned int type, char *buf, size_t size)
{
    const struct type_info *t = find_type(type);
    if (t && t->element)
        snprintf(buf, size, "%s[]", find_type(t->element)->name);
    else if (t)
        snprintf(buf, size, "%s", t->name);
    else
        snprintf(buf, size, "type %u", type);
    return buf;
}

/* ---- errors ---------------------------------------------------------- */

#define SNIPPET_MAX 200

/* Up to 40 bytes of a bad value for a message, quoted: '"' and '\' get a
 * backslash, bytes that are not printable ASCII become \xHH (so the message
 * stays valid UTF-8). */
static const char *snippet(const char *s, size_t len, char *out)
{
    size_t n = 0, shown = len > 40 ? 40 : len;
    out[n++] = '"';
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F) {
            n += (size_t)snprintf(out + n, SNIPPET_MAX - n, "\\x%02X", c);
        } else {
            if (c == '"' || c == '\\')
                out[n++] = '\\';
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    if (shown < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static int invalid(tide_error *err, const char *what, const char *s, size_t len)
{
    char q[SNIPPET_MAX];
    tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "invalid %s: %s", what, snippet(s, len, q));
    return TIDE_ERROR;
}

static int misuse(tide_error *err, const char *fn)
{
    tutil_error_setf(err, TIDE_E_MISUSE, "%s: NULL argument", fn);
    return TIDE_MISUSE;
}

/* ---- scalars --------------------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int tide_decode_int(const char *s, size_t len, int64_t *out, tide_error *err)
{
    if (!out || (!s && len))
        return misuse(err, "tide_decode_int");
    size_t i = 0;
    int neg = 0;
    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return invalid(err, "integer", s, len);
    for (size_t k = i; k < len; k++) {
        if (!is_digit(s[k]))
            return invalid(err, "integer", s, len);
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (limit - d) / 10)
            return invalid(err, "integer (out of range)", s, len);
        acc = acc * 10 + d;
    }
    if (!neg)
        *out = (int64_t)acc;
    else
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    return TIDE_OK;
}

static int text_is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}

int tide_decode_float(const char *s, size_t len, double *out, tide_error *err)
{
    if (!out || (!s && len))
        return misuse(err, "tide_decode_float");
    if (text_is(s, len, "NaN")) { *out = NAN; return TIDE_OK; }
    if (text_is(s, len, "Infinity")) { *out = INFINITY; return TIDE_OK; }
    if (text_is(s, len, "-Infinity")) { *out = -INFINITY; return TIDE_OK; }
    /* Only plain decimal notation: strtod alone would also take spaces, hex,
     * "inf" and "nan". */
    int digits = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (is_digit(c))
            digits = 1;
        else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E')
            return invalid(err, "float", s, len);
    }
    /* strtod reads the locale's decimal point, which a host may have set to
     * ','; PostgreSQL always writes '.'. */
    const char *point = localeconv()->decimal_point;
    if (!point || !*point)
        point = ".";
    size_t plen = strlen(point), n = 0;
    char buf[128];
    if (!digits || len > 64)
        return invalid(err, "float", s, len);
    for (size_t i = 0; i < len; i++) {
        if (n + plen + 1 > sizeof buf)
            return invalid(err, "float", s, len);
        if (s[i] == '.') {
            memcpy(buf + n, point, plen);
            n += plen;
        } else {
            buf[n++] = s[i];
        }
    }
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + n)
        return invalid(err, "float", s, len);
    if (errno == ERANGE && isinf(d))
        return invalid(err, "float (out of range)", s, len);
    *out = d;
    return TIDE_OK;
}

int tide_decode_bool(const char *s, size_t len, int *out, tide_error *err)
{
    if (!out || (!s && len))
        return misuse(err, "tide_decode_bool");
    if (text_is(s, len, "t") || text_is(s, len, "true"))
        *out = 1;
    else if (text_is(s, len, "f") || text_is(s, len, "false"))
        *out = 0;
    else
        return invalid(err, "boolean", s, len);
    return TIDE_OK;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int tide_decode_bytea(const char *s, size_t len, char *out, size_t *outlen, tide_error *err)
{
    if (!outlen || (!s && len) || (!out && len))
        return misuse(err, "tide_decode_bytea");
    size_t n = 0;
    if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
        if (len % 2)
            return invalid(err, "bytea (odd number of hex digits)", s, len);
        for (size_t i = 2; i < len; i += 2) {
            int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
            if (hi < 0 || lo < 0)
                return invalid(err, "bytea (bad hex digit)", s, len);
            out[n++] = (char)(hi * 16 + lo);
        }
    } else {
        /* The escape format: "\\" is a backslash, "\ooo" an octal byte. */
        for (size_t i = 0; i < len;) {
            if (s[i] != '\\') {
                out[n++] = s[i++];
            } else if (i + 1 < len && s[i + 1] == '\\') {
                out[n++] = '\\';
                i += 2;
            } else if (len - i >= 4 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
                       s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                out[n++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                i += 4;
            } else {
                return invalid(err, "bytea (bad escape)", s, len);
            }
        }
    }
    *outlen = n;
    return TIDE_OK;
}

/* ---- date and time --------------------------------------------------- */

/* The output being built, bounded by TIDE_DATETIME_MAX - 1 bytes. */
typedef struct dt_out {
    char *p;
    size_t n;
    int overflow;
} dt_out;

static void dt_put(dt_out *o, const char *s, size_t k)
{
    if (o->n + k > TIDE_DATETIME_MAX - 1) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->n, s, k);
    o->n += k;
}

static size_t count_digits(const char *s, size_t len, size_t i)
{
    size_t k = 0;
    while (i + k < len && is_digit(s[i + k]))
        k++;
    return k;
}

/* Exactly two digits at *i, then advances. */
static int two_digits(const char *s, size_t len, size_t *i)
{
    if (count_digits(s, len, *i) < 2)
        return 0;
    *i += 2;
    return 1;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return 0;
    (*i)++;
    return 1;
}

/* YYYY-MM-DD, with four or more year digits. */
static int scan_date(const char *s, size_t len, size_t *i)
{
    size_t y = count_digits(s, len, *i);
    if (y < 4)
        return 0;
    *i += y;
    return expect(s, len, i, '-') && two_digits(s, len, i) && expect(s, len, i, '-') &&
           two_digits(s, len, i) && (*i >= len || !is_digit(s[*i]));
}

/* HH:MM:SS[.f...] */
static int scan_time(const char *s, size_t len, size_t *i)
{
    if (!(two_digits(s, len, i) && expect(s, len, i, ':') && two_digits(s, len, i) &&
          expect(s, len, i, ':') && two_digits(s, len, i)))
        return 0;
    if (*i < len && s[*i] == '.') {
        size_t f = count_digits(s, len, *i + 1);
        if (f == 0)
            return 0;
        *i += 1 + f;
    }
    return *i >= len || !is_digit(s[*i]);
}

/* +HH, +HH:MM or +HH:MM:SS at *i to the end, written as +HH:MM[:SS]. */
static int put_offset(const char *s, size_t len, size_t i, dt_out *o)
{
    size_t start = i;
    if (i >= len || (s[i] != '+' && s[i] != '-'))
        return 0;
    i++;
    if (!two_digits(s, len, &i))
        return 0;
    if (i == len) {
        dt_put(o, s + start, i - start);
        dt_put(o, ":00", 3);
        return 1;
    }
    if (!(expect(s, len, &i, ':') && two_digits(s, len, &i)))
        return 0;
    if (i < len && !(expect(s, len, &i, ':') && two_digits(s, len, &i)))
        return 0;
    if (i != len)
        return 0;
    dt_put(o, s + start, i - start);
    return 1;
}

static const char *kind_label(tide_kind kind)
{
    switch (kind) {
    case TIDE_KIND_DATE: return "date";
    case TIDE_KIND_TIME: return "time";
    case TIDE_KIND_TIMESTAMP: return "timestamp";
    case TIDE_KIND_TIMESTAMPTZ: return "timestamp with time zone";
    case TIDE_KIND_INTERVAL: return "interval";
    default: return "date/time";
    }
}

/* The form nearly every timestamp comes in, "YYYY-MM-DD HH:MM:SS[.f…]" and,
 * for timestamptz, a whole-hour offset "+HH": written straight, with no
 * scanning by parts. Anything else (other offsets, BC, years past 9999, the
 * infinities, malformed text) is left to the full reading below. */
static int timestamp_fast(tide_kind kind, const char *s, size_t len, char *out, size_t *outlen)
{
    if (len < 19 || len + 3 >= TIDE_DATETIME_MAX)
        return 0;
    /* spelt out, not a loop over a pattern: a third of the instructions */
#define D(k) ((unsigned char)(s[k] - '0') <= 9)
    if (!(D(0) && D(1) && D(2) && D(3) && s[4] == '-' && D(5) && D(6) && s[7] == '-' && D(8) && D(9) &&
          s[10] == ' ' && D(11) && D(12) && s[13] == ':' && D(14) && D(15) && s[16] == ':' && D(17) && D(18)))
        return 0;
#undef D
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t f = count_digits(s, len, i + 1);
        if (f == 0)
            return 0;
        i += 1 + f;
    }
    size_t n = len;
    memcpy(out, s, len);
    out[10] = 'T';
    if (kind == TIDE_KIND_TIMESTAMPTZ) {
        if (len != i + 3 || (s[i] != '+' && s[i] != '-') || !is_digit(s[i + 1]) || !is_digit(s[i + 2]))
            return 0;
        memcpy(out + n, ":00", 3);
        n += 3;
    } else if (i != len) {
        return 0;
    }
    out[n] = '\0';
    *outlen = n;
    return 1;
}

int tide_decode_datetime(tide_kind kind, const char *s, size_t len, char *out, size_t *outlen, tide_error *err)
{
    if (!out || !outlen || (!s && len))
        return misuse(err, "tide_decode_datetime");
    if (kind != TIDE_KIND_DATE && kind != TIDE_KIND_TIME && kind != TIDE_KIND_TIMESTAMP &&
        kind != TIDE_KIND_TIMESTAMPTZ && kind != TIDE_KIND_INTERVAL) {
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "tide_decode_datetime: kind %d is not a date/time kind",
                         (int)kind);
        return TIDE_ERROR;
    }
    if ((kind == TIDE_KIND_TIMESTAMPTZ || kind == TIDE_KIND_TIMESTAMP) && timestamp_fast(kind, s, len, out, outlen))
        return TIDE_OK;
    dt_out o = { out, 0, 0 };
    /* Already ISO 8601, or with no ISO form (infinities and BC dates). */
    int verbatim = kind == TIDE_KIND_DATE || kind == TIDE_KIND_INTERVAL || text_is(s, len, "infinity") ||
                   text_is(s, len, "-infinity") || (len >= 3 && memcmp(s + len - 3, " BC", 3) == 0);
    if (verbatim) {
        dt_put(&o, s, len);
    } else {
        size_t i = 0, date_end = 0;
        if (kind != TIDE_KIND_TIME) {
            if (!scan_date(s, len, &i) || !expect(s, len, &i, ' '))
                return invalid(err, kind_label(kind), s, len);
            date_end = i - 1;
            dt_put(&o, s, date_end);
            dt_put(&o, "T", 1);
        }
        size_t time_start = i;
        if (!scan_time(s, len, &i))
            return invalid(err, kind_label(kind), s, len);
        dt_put(&o, s + time_start, i - time_start);
        /* time may or may not have an offset (time vs timetz), timestamp
         * never has one, timestamptz always does. */
        int has_offset = i < len;
        if (has_offset && kind == TIDE_KIND_TIMESTAMP)
            return invalid(err, kind_label(kind), s, len);
        if (!has_offset && kind == TIDE_KIND_TIMESTAMPTZ)
            return invalid(err, kind_label(kind), s, len);
        if (has_offset && !put_offset(s, len, i, &o))
            return invalid(err, kind_label(kind), s, len);
    }
    if (o.overflow) {
        char q[SNIPPET_MAX];
        tutil_error_setf(err, TIDE_E_INVALID_ARGUMENT, "invalid %s (longer than %d bytes): %s", kind_label(kind),
                         TIDE_DATETIME_MAX - 1, snippet(s, len, q));
        return TIDE_ERROR;
    }
    out[o.n] = '\0';
    *outlen = o.n;
    return TIDE_OK;
}

/* ---- json ------------------------------------------------------------ */

int tide_decode_json(const char *s, size_t len, const tide_visitor *v, void *ud, tide_error *err)
{
    return tutil_json_walk(s, len, v, ud, err);
}

/* ---- array literals -------------------------------------------------- */

/* PostgreSQL allows 6 dimensions; the bound only keeps the walk finite. */
#define ARRAY_MAX_DEPTH 32

typedef struct array_walker {
    const char *s;
    size_t len;
    size_t pos;
    tide_kind element_kind;
    int json_elements;
    const tide_visitor *v;
    void *ud;
    tide_error *err;
    tutil_buf scratch;      /* the current element, when it had escapes */
} array_walker;

static int array_error(array_walker *a, size_t at, const char *what)
{
    tutil_error_setf(a->err, TIDE_E_INVALID_ARGUMENT, "malformed array literal at byte %zu: %s", at, what);
    return TIDE_ERROR;
}

static int array_stopped(array_walker *a)
{
    if (tide_error_code(a->err) == TIDE_E_NONE)
        tutil_error_set(a->err, TIDE_E_INVALID_ARGUMENT, "the array walk was stopped by the visitor");
    return TIDE_ERROR;
}

static int array_call0(array_walker *a, int (*fn)(void *))
{
    return fn && fn(a->ud) ? array_stopped(a) : TIDE_OK;
}

/* array_in's notion of white space. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void array_skip_space(array_walker *a)
{
    while (a->pos < a->len && is_space(a->s[a->pos]))
        a->pos++;
}

/* Skips "[lo:hi][lo:hi]=" (written when a lower bound is not 1). */
static int skip_dimensions(array_walker *a)
{
    if (a->pos >= a->len || a->s[a->pos] != '[')
        return TIDE_OK;
    while (a->pos < a->len && a->s[a->pos] == '[') {
        size_t i = a->pos + 1;
        while (i < a->len && (is_digit(a->s[i]) || a->s[i] == ':' || a->s[i] == '-' || a->s[i] == '+'))
            i++;
        if (i >= a->len || a->s[i] != ']' || i == a->pos + 1)
            return array_error(a, a->pos, "bad dimension decoration");
        a->pos = i + 1;
    }
    if (a->pos >= a->len || a->s[a->pos] != '=')
        return array_error(a, a->pos, "expected '=' after the dimensions");
    a->pos++;
    array_skip_space(a);
    return TIDE_OK;
}

static int emit_element(array_walker *a, const char *t, size_t n, int is_null)
{
    if (is_null)
        return a->v->scalar && a->v->scalar(a->ud, TIDE_KIND_NULL, "NULL", 4) ? array_stopped(a) : TIDE_OK;
    if (a->json_elements)
        return tutil_json_walk(t, n, a->v, a->ud, a->err) == TIDE_OK ? TIDE_OK : TIDE_ERROR;
    return a->v->scalar && a->v->scalar(a->ud, a->element_kind, t, n) ? array_stopped(a) : TIDE_OK;
}

/* NULL in any case, as array_in reads it (ASCII only, whatever the locale). */
static int is_null_word(const char *s, size_t n)
{
    static const char word[] = "null";
    if (n != 4)
        return 0;
    for (size_t i = 0; i < 4; i++) {
        if ((s[i] | 0x20) != word[i])
            return 0;
    }
    return 1;
}

/* "..." with backslash escapes; a quoted NULL is the text NULL. */
static int read_quoted(array_walker *a)
{
    size_t start = a->pos + 1, i = start, run = start;
    int escaped = 0;
    tutil_buf_reset(&a->scratch);
    for (;;) {
        if (i >= a->len)
            return array_error(a, a->pos, "unterminated quoted element");
        char c = a->s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            if (i + 1 >= a->len)
                return array_error(a, a->pos, "unterminated quoted element");
            escaped = 1;
            tutil_buf_add(&a->scratch, a->s + run, i - run);
            run = i + 1; /* the escaped byte starts the next run */
            i += 2;
            continue;
        }
        i++;
    }
    const char *t = a->s + start;
    size_t n = i - start;
    if (escaped) {
        tutil_buf_add(&a->scratch, a->s + run, i - run);
        if (a->scratch.broken) {
            tutil_error_oom(a->err);
            return TIDE_ERROR;
        }
        t = a->scratch.data;
        n = a->scratch.len;
    }
    a->pos = i + 1;
    return emit_element(a, t, n, 0);
}

/* An unquoted element: runs to ',' or '}', trailing white space dropped;
 * NULL (any case, unescaped) is SQL NULL. */
static int read_unquoted(array_walker *a)
{
    size_t start = a->pos, i = start;
    int escaped = 0;
    while (i < a->len && a->s[i] != ',' && a->s[i] != '}') {
        char c = a->s[i];
        if (c == '"' || c == '{')
            return array_error(a, i, "unexpected character in element");
        if (c == '\\') {
            if (i + 1 >= a->len)
                return array_error(a, i, "backslash at the end");
            escaped = 1;
            i += 2;
        } else {
            i++;
        }
    }
    if (i >= a->len)
        return array_error(a, i, "unexpected end of input");
    if (i == start)
        return array_error(a, i, "empty element");
    a->pos = i;
    if (!escaped) {
        size_t end = i;
        while (end > start && is_space(a->s[end - 1]))
            end--;
        int is_null = is_null_word(a->s + start, end - start);
        return emit_element(a, a->s + start, end - start, is_null);
    }
    /* keep: the length up to the last byte that is not trailing space (an
     * escaped space counts as content). */
    size_t keep = 0;
    tutil_buf_reset(&a->scratch);
    for (size_t k = start; k < i; k++) {
        if (a->s[k] == '\\') {
            tutil_buf_addc(&a->scratch, a->s[++k]);
            keep = a->scratch.len;
        } else {
            tutil_buf_addc(&a->scratch, a->s[k]);
            if (!is_space(a->s[k]))
                keep = a->scratch.len;
        }
    }
    if (a->scratch.broken) {
        tutil_error_oom(a->err);
        return TIDE_ERROR;
    }
    return emit_element(a, a->scratch.data, keep, 0);
}

static int walk_array(array_walker *a)
{
    size_t depth = 0;
    array_skip_space(a);
    if (skip_dimensions(a) != TIDE_OK)
        return TIDE_ERROR;
    if (a->pos >= a->len || a->s[a->pos] != '{')
        return array_error(a, a->pos, "expected '{'");
    for (;;) {
        /* At the start of an element or of a sub-array. */
        if (a->pos < a->len && a->s[a->pos] == '{') {
            if (depth == ARRAY_MAX_DEPTH)
                return array_error(a, a->pos, "too many dimensions");
            if (array_call0(a, a->v->begin_array) != TIDE_OK)
                return TIDE_ERROR;
            depth++;
            a->pos++;
            array_skip_space(a);
            if (a->pos < a->len && a->s[a->pos] != '}')
                continue;
            if (a->pos >= a->len)
                return array_error(a, a->pos, "unexpected end of input");
            a->pos++;
            depth--;
            if (array_call0(a, a->v->end_array) != TIDE_OK)
                return TIDE_ERROR;
        } else if (a->pos < a->len && a->s[a->pos] == '"') {
            if (read_quoted(a) != TIDE_OK)
                return TIDE_ERROR;
        } else if (read_unquoted(a) != TIDE_OK) {
            return TIDE_ERROR;
        }
        /* After an element: close levels until one goes on. */
        for (;;) {
            array_skip_space(a);
            if (depth == 0) {
                if (a->pos != a->len)
                    return array_error(a, a->pos, "trailing characters after the array");
                return TIDE_OK;
            }
            if (a->pos >= a->len)
                return array_error(a, a->pos, "unexpected end of input");
            char c = a->s[a->pos];
            if (c == ',') {
                a->pos++;
                array_skip_space(a);
                break;
            }
            if (c != '}')
                return array_error(a, a->pos, "expected ',' or '}'");
            a->pos++;
            depth--;
            if (array_call0(a, a->v->end_array) != TIDE_OK)
                return TIDE_ERROR;
        }
    }
}

int tide_decode_array(unsigned int element_type, const char *s, size_t len, const tide_visitor *v, void *ud,
                      tide_error *err)
{
    if (!v || (!s && len))
        return misuse(err, "tide_decode_array");
    /* Cleared so that an error a stopping callback sets can be told apart. */
    tide_error_clear(err);
    tide_kind kind = tide_kind_of_type(element_type);
    array_walker a = {
        .s = s ? s : "", .len = len, .pos = 0,
        .element_kind = kind, .json_elements = kind == TIDE_KIND_JSON,
        .v = v, .ud = ud, .err = err,
    };
    tutil_buf_init(&a.scratch);
    int rc = walk_array(&a);
    tutil_buf_free(&a.scratch);
    return rc;
}
