/* The parameter encoder: golden tests, no database.
 *
 * ENC() gives the encoded text, with "b:" in front when it is to be sent in
 * binary and bytes outside printable ASCII as \xHH, or "ERR <message>". */
#include <math.h>
#include "t.h"
#include "tide/value.h"
#include "util.h"
#include "encode.h"

#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_VARCHAR 1043
#define OID_NUMERIC 1700
#define OID_JSONB 3802
#define OID_JSON_ARRAY 199
#define OID_BOOL_ARRAY 1000
#define OID_INT4_ARRAY 1007
#define OID_TEXT_ARRAY 1009
#define OID_INT8_ARRAY 1016
#define OID_FLOAT8_ARRAY 1022
#define OID_JSONB_ARRAY 3807

static tide_error *E;

static tide_value vbool(int b) { tide_value v = { .kind = TIDE_KIND_BOOL }; v.as.b = b; return v; }
static tide_value vint(int64_t i) { tide_value v = { .kind = TIDE_KIND_INT }; v.as.i = i; return v; }
static tide_value vfloat(double f) { tide_value v = { .kind = TIDE_KIND_FLOAT }; v.as.f = f; return v; }

static tide_value vstr(tide_kind kind, const char *s, size_t n)
{
    tide_value v = { .kind = kind };
    v.as.s.ptr = s;
    v.as.s.len = n;
    return v;
}
#define vtext(s) vstr(TIDE_KIND_TEXT, (s), strlen(s))
#define vjson(s) vstr(TIDE_KIND_JSON, (s), strlen(s))

static void show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = strlen(dst);
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F)
            k += (size_t)snprintf(dst + k, cap - k, "\\x%02X", c);
        else
            dst[k++] = (char)c;
    }
    dst[k] = '\0';
}

static const char *ENC(tide_value v, unsigned int type)
{
    static char res[1 << 16];
    tutil_buf out;
    tutil_buf_init(&out);
    int binary = -1;
    int rc = tpg_encode_param(&v, type, &out, &binary, E);
    if (rc == TIDE_OK) {
        snprintf(res, sizeof res, "%s", binary ? "b:" : "");
        show(res, sizeof res, out.data, out.len);
        if (binary != 0 && binary != 1)
            snprintf(res, sizeof res, "(binary not set)");
    } else if (rc == TIDE_ERROR) {
        snprintf(res, sizeof res, "ERR %s", tide_error_message(E));
        if (tide_error_code(E) != TIDE_E_INVALID_ARGUMENT)
            snprintf(res, sizeof res, "(error code %d)", tide_error_code(E));
        if (out.len != 0)
            snprintf(res, sizeof res, "(out not restored)");
    } else {
        snprintf(res, sizeof res, "(rc %d)", rc);
    }
    tutil_buf_free(&out);
    return res;
}

T_CASE(encode_bool)
{
    T_EQ_STR(ENC(vbool(1), OID_BOOL), "t");
    T_EQ_STR(ENC(vbool(0), OID_BOOL), "f");
    T_EQ_STR(ENC(vbool(1), OID_TEXT), "true");
    T_EQ_STR(ENC(vbool(0), 0), "false");
    T_EQ_STR(ENC(vbool(1), OID_JSON), "true");
    T_EQ_STR(ENC(vbool(0), OID_JSONB), "false");
    T_EQ_STR(ENC(vbool(1), OID_VARCHAR), "true");
    T_EQ_STR(ENC(vbool(1), OID_INT4), "ERR cannot bind a boolean to a parameter of type integer");
    T_EQ_STR(ENC(vbool(1), OID_INT2), "ERR cannot bind a boolean to a parameter of type smallint");
    T_EQ_STR(ENC(vbool(0), OID_INT8), "ERR cannot bind a boolean to a parameter of type bigint");
    T_EQ_STR(ENC(vbool(0), OID_OID), "ERR cannot bind a boolean to a parameter of type oid");
    T_EQ_STR(ENC(vbool(1), OID_FLOAT4), "ERR cannot bind a boolean to a parameter of type real");
    T_EQ_STR(ENC(vbool(1), OID_FLOAT8), "ERR cannot bind a boolean to a parameter of type double precision");
    T_EQ_STR(ENC(vbool(1), OID_NUMERIC), "ERR cannot bind a boolean to a parameter of type numeric");
}

T_CASE(encode_int)
{
    T_EQ_STR(ENC(vint(42), OID_INT4), "42");
    T_EQ_STR(ENC(vint(-7), OID_INT2), "-7");
    T_EQ_STR(ENC(vint(INT64_MIN), OID_INT8), "-9223372036854775808");
    T_EQ_STR(ENC(vint(INT64_MAX), OID_INT8), "9223372036854775807");
    T_EQ_STR(ENC(vint(1), OID_OID), "1");
    T_EQ_STR(ENC(vint(1), OID_FLOAT8), "1");
    T_EQ_STR(ENC(vint(1), OID_NUMERIC), "1");
    T_EQ_STR(ENC(vint(1), OID_TEXT), "1");
    T_EQ_STR(ENC(vint(1), 0), "1");
    T_EQ_STR(ENC(vint(1), OID_JSONB), "1");
    T_EQ_STR(ENC(vint(1), 99999), "1");
    T_EQ_STR(ENC(vint(1), OID_BOOL), "ERR cannot bind 1 to a parameter of type boolean");
    T_EQ_STR(ENC(vint(0), OID_BOOL), "ERR cannot bind 0 to a parameter of type boolean");
}

T_CASE(encode_float_to_integer)
{
    T_EQ_STR(ENC(vfloat(3.0), OID_INT4), "3");
    T_EQ_STR(ENC(vfloat(-0.0), OID_INT4), "0");
    T_EQ_STR(ENC(vfloat(-2.0), OID_INT2), "-2");
    T_EQ_STR(ENC(vfloat(1e15), OID_INT8), "1000000000000000");
    T_EQ_STR(ENC(vfloat(9.2e18), OID_INT8), "9200000000000000000");
    T_EQ_STR(ENC(vfloat(-9223372036854775808.0), OID_INT8), "-9223372036854775808");
    T_EQ_STR(ENC(vfloat(7.0), OID_OID), "7");
    T_EQ_STR(ENC(vfloat(3.5), OID_INT4), "ERR cannot bind 3.5 to a parameter of type integer: it has a fraction");
    T_EQ_STR(ENC(vfloat(0.1), OID_INT8), "ERR cannot bind 0.1 to a parameter of type bigint: it has a fraction");
    T_EQ_STR(ENC(vfloat(-1e-300), OID_INT2), "ERR cannot bind -1e-300 to a parameter of type smallint: it has a fraction");
    T_EQ_STR(ENC(vfloat(NAN), OID_INT4), "ERR cannot bind NaN to a parameter of type integer: it is not a finite number");
    T_EQ_STR(ENC(vfloat(INFINITY), OID_INT8),
             "ERR cannot bind Infinity to a parameter of type bigint: it is not a finite number");
    T_EQ_STR(ENC(vfloat(-INFINITY), OID_OID),
             "ERR cannot bind -Infinity to a parameter of type oid: it is not a finite number");
    T_EQ_STR(ENC(vfloat(9223372036854775808.0), OID_INT8),
             "ERR cannot bind 9.223372036854776e+18 to a parameter of type bigint: it is out of range");
    T_EQ_STR(ENC(vfloat(1e20), OID_INT4), "ERR cannot bind 1e+20 to a parameter of type integer: it is out of range");
    T_EQ_STR(ENC(vfloat(-1e300), OID_INT8), "ERR cannot bind -1e+300 to a parameter of type bigint: it is out of range");
}

T_CASE(encode_float)
{
    T_EQ_STR(ENC(vfloat(0.1), OID_FLOAT8), "0.1");
    T_EQ_STR(ENC(vfloat(1.0 / 3), OID_FLOAT8), "0.3333333333333333");
    T_EQ_STR(ENC(vfloat(0.1 + 0.2), OID_FLOAT8), "0.30000000000000004");
    T_EQ_STR(ENC(vfloat(2.5), OID_NUMERIC), "2.5");
    T_EQ_STR(ENC(vfloat(2.5), OID_TEXT), "2.5");
    T_EQ_STR(ENC(vfloat(2.5), 0), "2.5");
    T_EQ_STR(ENC(vfloat(3.0), OID_FLOAT8), "3");
    T_EQ_STR(ENC(vfloat(123456789.0), OID_FLOAT4), "123456789");
    T_EQ_STR(ENC(vfloat(1e300), OID_FLOAT8), "1e+300");
    T_EQ_STR(ENC(vfloat(1e15), OID_FLOAT8), "1e+15");
    T_EQ_STR(ENC(vfloat(-0.0), OID_FLOAT8), "-0");
    T_EQ_STR(ENC(vfloat(1.7976931348623157e308), OID_FLOAT8), "1.7976931348623157e+308");
    T_EQ_STR(ENC(vfloat(NAN), OID_FLOAT8), "NaN");
    T_EQ_STR(ENC(vfloat(INFINITY), OID_FLOAT8), "Infinity");
    T_EQ_STR(ENC(vfloat(-INFINITY), OID_FLOAT4), "-Infinity");
    T_EQ_STR(ENC(vfloat(NAN), OID_NUMERIC), "NaN");
    T_EQ_STR(ENC(vfloat(INFINITY), OID_NUMERIC), "Infinity");
    T_EQ_STR(ENC(vfloat(-INFINITY), OID_NUMERIC), "-Infinity");
    T_EQ_STR(ENC(vfloat(1.5), OID_BOOL), "ERR cannot bind 1.5 to a parameter of type boolean");
    T_EQ_STR(ENC(vfloat(NAN), OID_BOOL), "ERR cannot bind NaN to a parameter of type boolean");
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned rnd(unsigned n)
{
    return (unsigned)(rnd64() % n);
}

/* Every double survives the trip through text, in at most 24 bytes. */
T_CASE(encode_float_round_trip)
{
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        uint64_t bits = rnd64();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (i % 3 == 0)
            d = (double)(int64_t)(bits >> 20) / (double)(1 + (bits & 0xFFFF)); /* ordinary-looking values */
        tutil_buf out;
        tutil_buf_init(&out);
        int binary;
        tide_value v = vfloat(d);
        if (tpg_encode_param(&v, OID_FLOAT8, &out, &binary, E) != TIDE_OK) {
            bad++;
            T_FAILF("encode failed for %a", d);
        } else {
            double back = strtod(tutil_buf_str(&out), NULL);
            if (out.len > 24 || !(back == d || (isnan(back) && isnan(d))) || (d == 0 && signbit(d) != signbit(back))) {
                bad++;
                T_FAILF("%a encoded as \"%s\"", d, tutil_buf_str(&out));
            }
        }
        tutil_buf_free(&out);
    }
}

T_CASE(encode_text)
{
    T_EQ_STR(ENC(vtext("hello"), OID_TEXT), "hello");
    T_EQ_STR(ENC(vtext(""), OID_TEXT), "");
    T_EQ_STR(ENC(vtext("h\xc3\xa9llo \xf0\x9f\x98\x80"), OID_VARCHAR), "h\\xC3\\xA9llo \\xF0\\x9F\\x98\\x80");
    T_EQ_STR(ENC(vtext("x"), OID_INT4), "x"); /* the server judges */
    T_EQ_STR(ENC(vtext("2024-01-02"), 0), "2024-01-02");
    T_EQ_STR(ENC(vstr(TIDE_KIND_TEXT, "a\0b", 3), OID_TEXT), "ERR text contains a NUL byte");
    T_EQ_STR(ENC(vtext("\xff"), OID_TEXT), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vtext("\xc3"), 0), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vtext("\xed\xa0\x80"), OID_TEXT), "ERR text is not valid UTF-8");
    /* long ASCII runs are checked eight bytes at a time: a bad byte at
     * either side of a word boundary, or right after one, is still found */
    T_EQ_STR(ENC(vtext("0123456789abcdef\xc3\xa9"), OID_TEXT), "0123456789abcdef\\xC3\\xA9");
    T_EQ_STR(ENC(vtext("0123456\xff" "89abcdef"), OID_TEXT), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vtext("01234567\xff" "9abcdef"), OID_TEXT), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vtext("0123456789abcde\xc3"), OID_TEXT), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vtext("\xc3\xa9" "01234567\x80"), OID_TEXT), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vstr(TIDE_KIND_NUMERIC, "12.50", 5), OID_NUMERIC), "12.50");
    T_EQ_STR(ENC(vstr(TIDE_KIND_NUMERIC, "1e1000", 6), OID_TEXT), "1e1000");
    T_EQ_STR(ENC(vstr(TIDE_KIND_NUMERIC, "1\0", 2), OID_NUMERIC), "ERR text contains a NUL byte");
    /* bytea parameters take text as raw bytes, in binary */
    T_EQ_STR(ENC(vstr(TIDE_KIND_TEXT, "a\0\xff", 3), OID_BYTEA), "b:a\\x00\\xFF");
    T_EQ_STR(ENC(vstr(TIDE_KIND_NUMERIC, "12", 2), OID_BYTEA), "b:12");
    T_EQ_STR(ENC(vstr(TIDE_KIND_TEXT, NULL, 0), OID_TEXT), "");
}

T_CASE(encode_bytea)
{
    T_EQ_STR(ENC(vstr(TIDE_KIND_BYTEA, "\x00\x01\xff", 3), OID_BYTEA), "b:\\x00\\x01\\xFF");
    T_EQ_STR(ENC(vstr(TIDE_KIND_BYTEA, "\x00\x01\xff", 3), OID_TEXT), "b:\\x00\\x01\\xFF");
    T_EQ_STR(ENC(vstr(TIDE_KIND_BYTEA, "ab", 2), 0), "b:ab");
    T_EQ_STR(ENC(vstr(TIDE_KIND_BYTEA, "", 0), OID_BYTEA), "b:");
}

T_CASE(encode_json_scalar_types)
{
    T_EQ_STR(ENC(vjson("{\"a\":1}"), OID_JSONB), "{\"a\":1}");
    T_EQ_STR(ENC(vjson("[1, 2]"), OID_JSON), "[1, 2]");
    T_EQ_STR(ENC(vjson("[1,2]"), OID_TEXT), "[1,2]");
    T_EQ_STR(ENC(vjson("[1,2]"), 0), "[1,2]");
    T_EQ_STR(ENC(vjson("not json"), OID_JSONB), "not json"); /* the server judges */
    T_EQ_STR(ENC(vjson("\"\xff\""), OID_JSON), "ERR text is not valid UTF-8");
    T_EQ_STR(ENC(vstr(TIDE_KIND_JSON, "[\0]", 3), OID_JSONB), "ERR text contains a NUL byte");
}

T_CASE(encode_json_arrays)
{
    T_EQ_STR(ENC(vjson("[1,2,3]"), OID_INT4_ARRAY), "{1,2,3}");
    T_EQ_STR(ENC(vjson(" [ 1 , 2 ] "), OID_INT4_ARRAY), "{1,2}");
    T_EQ_STR(ENC(vjson("[[1,2],[3,4]]"), OID_INT4_ARRAY), "{{1,2},{3,4}}");
    T_EQ_STR(ENC(vjson("[[[1]],[[2]]]"), OID_INT8_ARRAY), "{{{1}},{{2}}}");
    T_EQ_STR(ENC(vjson("[1,null,2.5,-3e2,9223372036854775808]"), OID_FLOAT8_ARRAY),
             "{1,NULL,2.5,-3e2,9223372036854775808}");
    T_EQ_STR(ENC(vjson("[true,false,null]"), OID_BOOL_ARRAY), "{t,f,NULL}");
    T_EQ_STR(ENC(vjson("[\"a\",\"b c\",\"q\\\"uote\",\"back\\\\slash\",\"NULL\",\"\",\"{,}\"]"), OID_TEXT_ARRAY),
             "{\"a\",\"b c\",\"q\\\"uote\",\"back\\\\slash\",\"NULL\",\"\",\"{,}\"}");
    T_EQ_STR(ENC(vjson("[\"\\u00e9\\n\"]"), OID_TEXT_ARRAY), "{\"\\xC3\\xA9\\x0A\"}");
    T_EQ_STR(ENC(vjson("[]"), OID_INT4_ARRAY), "{}");
    T_EQ_STR(ENC(vjson("{}"), OID_INT4_ARRAY), "{}");
    T_EQ_STR(ENC(vjson(" { } "), OID_TEXT_ARRAY), "{}");
    T_EQ_STR(ENC(vjson("[[],[]]"), OID_INT4_ARRAY), "{{},{}}");
    /* objects inside are elements of their own, as compact JSON */
    T_EQ_STR(ENC(vjson("[{\"a\": [1, \"x\\\"y\"]}, {}]"), OID_TEXT_ARRAY),
             "{\"{\\\"a\\\":[1,\\\"x\\\\\\\"y\\\"]}\",\"{}\"}");
    T_EQ_STR(ENC(vjson("[{\"k\\u0001\":\"v\\t\",\"n\":null,\"b\":true}]"), OID_TEXT_ARRAY),
             "{\"{\\\"k\\\\u0001\\\":\\\"v\\\\t\\\",\\\"n\\\":null,\\\"b\\\":true}\"}");
    T_EQ_STR(ENC(vjson("[\"a\\u0000\"]"), OID_TEXT_ARRAY), "ERR text contains a NUL byte");
}

T_CASE(encode_json_element_arrays)
{
    T_EQ_STR(ENC(vjson("[{\"a\":1},[1,2],\"s\",3,true,null,{}]"), OID_JSONB_ARRAY),
             "{\"{\\\"a\\\":1}\",\"[1,2]\",\"\\\"s\\\"\",\"3\",\"true\",NULL,\"{}\"}");
    T_EQ_STR(ENC(vjson("[[1,[2]],[]]"), OID_JSON_ARRAY), "{\"[1,[2]]\",\"[]\"}");
    T_EQ_STR(ENC(vjson("[\"a\\nb\\u0000\\\\\"]"), OID_JSONB_ARRAY), "{\"\\\"a\\\\nb\\\\u0000\\\\\\\\\\\"\"}");
    T_EQ_STR(ENC(vjson("[{\"x\":[{\"y\":[]}]},2.5e3]"), OID_JSON_ARRAY), "{\"{\\\"x\\\":[{\\\"y\\\":[]}]}\",\"2.5e3\"}");
    T_EQ_STR(ENC(vjson("[]"), OID_JSONB_ARRAY), "{}");
}

T_CASE(encode_json_array_refusals)
{
    T_EQ_STR(ENC(vjson("1"), OID_INT4_ARRAY), "ERR cannot bind JSON that is not an array to a parameter of type integer[]");
    T_EQ_STR(ENC(vjson("\"x\""), OID_TEXT_ARRAY), "ERR cannot bind JSON that is not an array to a parameter of type text[]");
    T_EQ_STR(ENC(vjson("null"), OID_INT4_ARRAY), "ERR cannot bind JSON that is not an array to a parameter of type integer[]");
    T_EQ_STR(ENC(vjson("{\"a\":1}"), OID_JSONB_ARRAY), "ERR cannot bind JSON that is not an array to a parameter of type jsonb[]");
    T_EQ_STR(ENC(vjson("[1,"), OID_INT4_ARRAY), "ERR invalid JSON at byte 3: unexpected end of input");
    T_EQ_STR(ENC(vjson("[1] 2"), OID_INT4_ARRAY), "ERR invalid JSON at byte 4: trailing characters after the value");
    T_EQ_STR(ENC(vjson(""), OID_INT4_ARRAY), "ERR invalid JSON at byte 0: unexpected end of input");
    T_EQ_STR(ENC(vjson("[\"\xff\"]"), OID_TEXT_ARRAY), "ERR invalid JSON at byte 2: invalid UTF-8 in string");
}

static char *nest(int n)
{
    char *s = malloc(2 * (size_t)n + 1);
    memset(s, '[', (size_t)n);
    memset(s + n, ']', (size_t)n);
    s[2 * n] = '\0';
    return s;
}

T_CASE(encode_json_depth)
{
    char *s = nest(512);
    char *want = malloc(1030);
    memset(want, '{', 512);
    memset(want + 512, '}', 512);
    want[1024] = '\0';
    T_EQ_STR(ENC(vjson(s), OID_INT4_ARRAY), want);
    free(s);
    s = nest(513);
    T_EQ_STR(ENC(vjson(s), OID_INT4_ARRAY), "ERR invalid JSON at byte 512: nested deeper than 512 levels");
    free(s);
    s = nest(512);
    memcpy(want, "{\"", 2);
    memset(want + 2, '[', 511);
    memset(want + 513, ']', 511);
    memcpy(want + 1024, "\"}", 3);
    T_EQ_STR(ENC(vjson(s), OID_JSONB_ARRAY), want);
    free(s);
    free(want);
}

T_CASE(encode_other_kinds)
{
    tide_value v = { .kind = TIDE_KIND_DATE };
    T_EQ_STR(ENC(v, OID_TEXT), "ERR cannot bind a value of kind 8");
    v.kind = TIDE_KIND_NULL;
    T_EQ_STR(ENC(v, OID_TEXT), "ERR cannot bind a value of kind 0");
    v.kind = TIDE_KIND_ARRAY;
    T_EQ_STR(ENC(v, OID_INT4_ARRAY), "ERR cannot bind a value of kind 13");
    tutil_buf out;
    tutil_buf_init(&out);
    int binary;
    T_EQ_INT(tpg_encode_param(NULL, 0, &out, &binary, E), TIDE_MISUSE);
    T_EQ_INT(tide_error_code(E), TIDE_E_MISUSE);
}

/* Values are appended; a refused one leaves out and *binary as they were
 * before the call (0). */
T_CASE(encode_appends_and_restores)
{
    tutil_buf out;
    tutil_buf_init(&out);
    int binary = 1;
    tutil_buf_adds(&out, "prefix|");
    tide_value v = vint(5);
    T_EQ_INT(tpg_encode_param(&v, OID_INT4, &out, &binary, E), TIDE_OK);
    T_EQ_INT(binary, 0);
    T_EQ_STR(tutil_buf_str(&out), "prefix|5");
    v = vstr(TIDE_KIND_BYTEA, "xy", 2);
    T_EQ_INT(tpg_encode_param(&v, OID_BYTEA, &out, &binary, E), TIDE_OK);
    T_EQ_INT(binary, 1);
    T_EQ_STR(tutil_buf_str(&out), "prefix|5xy");
    v = vjson("[1,2,{\"a\":\"b\"},3.5,\"x\"");
    T_EQ_INT(tpg_encode_param(&v, OID_TEXT_ARRAY, &out, &binary, E), TIDE_ERROR);
    T_EQ_INT(binary, 0);
    T_EQ_INT(out.len, 10);
    T_EQ_STR(tutil_buf_str(&out), "prefix|5xy");
    v = vstr(TIDE_KIND_TEXT, "a\0", 2);
    T_EQ_INT(tpg_encode_param(&v, OID_BYTEA, &out, &binary, E), TIDE_OK);
    T_EQ_INT(binary, 1);
    v = vstr(TIDE_KIND_TEXT, "a\0", 2);
    T_EQ_INT(tpg_encode_param(&v, OID_TEXT, &out, &binary, E), TIDE_ERROR);
    T_EQ_INT(binary, 0);
    T_EQ_MEM(out.data, out.len, "prefix|5xya\0", 12);
    /* a NULL error is fine */
    T_EQ_INT(tpg_encode_param(&v, OID_TEXT, &out, &binary, NULL), TIDE_ERROR);
    v = vjson("7");
    T_EQ_INT(tpg_encode_param(&v, OID_INT4_ARRAY, &out, &binary, NULL), TIDE_ERROR);
    T_EQ_INT(out.len, 12);
    tutil_buf_free(&out);
}

/* ---- decoding what was encoded ---------------------------------------- */

typedef struct collect {
    char buf[4096];
    size_t n;
} collect;

static int c_begin(void *ud) { collect *c = ud; c->buf[c->n++] = '['; return c->n >= 4000; }
static int c_end(void *ud) { collect *c = ud; c->buf[c->n++] = ']'; return c->n >= 4000; }
static int c_scalar(void *ud, tide_kind kind, const char *s, size_t n)
{
    collect *c = ud;
    if (c->n + n + 8 >= sizeof c->buf)
        return 1;
    if (kind == TIDE_KIND_NULL) {
        memcpy(c->buf + c->n, "<null>", 6);
        c->n += 6;
    } else {
        c->buf[c->n++] = '<';
        memcpy(c->buf + c->n, s, n);
        c->n += n;
        c->buf[c->n++] = '>';
    }
    return 0;
}

/* Strings bound to a text[] come back from the array decoder unchanged. */
T_CASE(encode_then_decode)
{
    static const tide_visitor cv = { .begin_array = c_begin, .end_array = c_end, .scalar = c_scalar };
    const char *json = "[[\"a\",\"b c\",\" lead\",\"trail \",\"q\\\"uote\",\"back\\\\slash\",\"NULL\",null,\"\"],"
                       "[\"{x,y}\",\",\",\"\\u00e9\",\"tab\\t\",\"[0:1]={1}\",\"\\\\\\\"\",\"null\",\"}\"]]";
    const char *want = "[[<a><b c>< lead><trail ><q\"uote><back\\slash><NULL><null><>]"
                       "[<{x,y}><,><\xc3\xa9><tab\t><[0:1]={1}><\\\"><null><}>]]";
    tutil_buf out;
    tutil_buf_init(&out);
    int binary;
    tide_value v = vjson(json);
    T_REQUIRE(tpg_encode_param(&v, OID_TEXT_ARRAY, &out, &binary, E) == TIDE_OK);
    collect c = { .n = 0 };
    T_EQ_INT(tide_decode_array(OID_TEXT, out.data, out.len, &cv, &c, E), TIDE_OK);
    c.buf[c.n] = '\0';
    T_EQ_STR(c.buf, want);
    tutil_buf_free(&out);
}

/* ---- out of memory ---------------------------------------------------- */

static struct {
    long allocs, fail_at;
    long blocks;
    long long bytes;
    int failed;
} A_;

static void *test_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    if (nsize == 0) {
        if (ptr) {
            A_.blocks--;
            A_.bytes -= (long long)osize;
        }
        free(ptr);
        return NULL;
    }
    if (A_.fail_at && ++A_.allocs == A_.fail_at) {
        A_.failed = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) {
        if (!ptr)
            A_.blocks++;
        A_.bytes += (long long)nsize - (long long)(ptr ? osize : 0);
    }
    return p;
}

T_CASE(out_of_memory)
{
    /* Long enough that out grows past its first block. */
    static const struct { const char *json; unsigned int type; const char *want; } cases[] = {
        { "[\"a\\nb\",{\"k\\\"\":[1,\"\\ud83d\\ude00\"]},\"0123456789012345678901234567890123456789012345678901234567890123456789\"]",
          OID_TEXT_ARRAY,
          "{\"a\nb\",\"{\\\"k\\\\\\\"\\\":[1,\\\"\xf0\x9f\x98\x80\\\"]}\",\"0123456789012345678901234567890123456789012345678901234567890123456789\"}" },
        { "[{\"a\":\"\\u00e9\"},[1,2],\"s\\\"\",null,\"0123456789012345678901234567890123456789012345678901234567890123456789\"]",
          OID_JSONB_ARRAY,
          "{\"{\\\"a\\\":\\\"\xc3\xa9\\\"}\",\"[1,2]\",\"\\\"s\\\\\\\"\\\"\",NULL,\"\\\"0123456789012345678901234567890123456789012345678901234567890123456789\\\"\"}" },
        { "{\"plain\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}", OID_JSONB,
          "{\"plain\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}" },
    };
    memset(&A_, 0, sizeof A_);
    tide_set_allocator(test_alloc, NULL);
    tide_error *err = tide_error_new();
    T_REQUIRE(err != NULL);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int succeeded = 0, failures = 0;
        for (long n = 1; n <= 200 && !succeeded; n++) {
            tutil_buf out;
            tutil_buf_init(&out);
            int binary;
            tide_value v = vjson(cases[k].json);
            A_.allocs = 0;
            A_.fail_at = n;
            A_.failed = 0;
            int rc = tpg_encode_param(&v, cases[k].type, &out, &binary, err);
            A_.fail_at = 0;
            if (rc == TIDE_OK) {
                T_EQ_STR(tutil_buf_str(&out), cases[k].want);
                T_CHECK(!A_.failed);
                succeeded = 1;
            } else {
                T_EQ_INT(rc, TIDE_ERROR);
                T_EQ_INT(tide_error_code(err), TIDE_E_OUT_OF_MEMORY);
                T_CHECK(A_.failed);
                failures++;
            }
            tutil_buf_free(&out);
        }
        T_CHECK(succeeded);
        T_CHECK(failures >= 1);
    }
    tide_error_free(err);
    tide_set_allocator(NULL, NULL);
    T_EQ_INT(A_.blocks, 0);
    T_EQ_INT(A_.bytes, 0);
}

/* ---- fuzz ------------------------------------------------------------- */

static size_t mutate(const char *seed, char *buf, size_t cap)
{
    static const char interesting[] = "[]{}\",:\\ -0123456789.eEtrufalsn\x01\x7f\x80\xc3\xa9\xed\xf0";
    size_t n = strlen(seed);
    memcpy(buf, seed, n);
    int edits = 1 + (int)rnd(3);
    for (int e = 0; e < edits; e++) {
        unsigned op = rnd(4);
        size_t at = n ? rnd((unsigned)n + 1) : 0;
        char c = rnd(4) ? interesting[rnd(sizeof interesting - 1)] : (char)rnd(256);
        if (op == 0 && at < n) {
            buf[at] = c;
        } else if (op == 1 && n < cap) {
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = c;
            n++;
        } else if (op == 2 && at < n) {
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
        } else if (op == 3 && n && n * 2 <= cap) {
            size_t from = rnd((unsigned)n), len = 1 + rnd((unsigned)(n - from));
            memmove(buf + at + len, buf + at, n - at);
            memmove(buf + at, buf + from + (from >= at ? len : 0), len);
            n += len;
        }
    }
    return n;
}

static int ignore_scalar(void *ud, tide_kind kind, const char *s, size_t n) { return 0; }

/* Whatever JSON comes in: TIDE_OK or an invalid_argument error, and an
 * array literal that the decoder reads back. */
T_CASE(fuzz)
{
    static const char *seeds[] = {
        "[1,2,[3,4],null,true,\"x\\\"y\",{\"a\":[1,{\"b\":\"\\u00e9\"}]},-2.5e3]",
        "[[\"a\",\"b\"],[\"c\\\\\",null]]",
        "{}",
        "[\"\\ud83d\\ude00\",{},[],\"\"]",
    };
    static const unsigned int types[] = { OID_INT4_ARRAY, OID_TEXT_ARRAY, OID_JSONB_ARRAY, OID_JSON_ARRAY,
                                          OID_JSONB, OID_TEXT, 0 };
    static const tide_visitor quiet = { .scalar = ignore_scalar };
    char buf[512];
    int ok = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n = mutate(seeds[rnd(4)], buf, 256);
        char *s = malloc(n ? n : 1);
        memcpy(s, buf, n);
        unsigned int type = types[rnd(7)];
        tutil_buf out;
        tutil_buf_init(&out);
        int binary;
        tide_value v = vstr(TIDE_KIND_JSON, s, n);
        int rc = tpg_encode_param(&v, type, &out, &binary, E);
        if (rc == TIDE_OK) {
            ok++;
            unsigned int elem = tide_array_element_type(type);
            if (elem && tide_decode_array(elem, out.data, out.len, &quiet, NULL, E) != TIDE_OK)
                T_FAILF("input %d: \"%s\" does not decode: %s", it, tutil_buf_str(&out), tide_error_message(E));
            if (!elem && (out.len != n || memcmp(out.data, s, n) != 0))
                T_FAILF("input %d: text changed", it);
        } else if (rc == TIDE_ERROR) {
            bad++;
            if (tide_error_code(E) != TIDE_E_INVALID_ARGUMENT)
                T_FAILF("input %d: error code %d", it, tide_error_code(E));
            if (out.len != 0)
                T_FAILF("input %d: out not restored", it);
        } else {
            T_FAILF("input %d: rc %d", it, rc);
        }
        tutil_buf_free(&out);
        free(s);
    }
    printf("  fuzz: %d accepted, %d refused\n", ok, bad);
    T_CHECK(ok > 1000 && bad > 1000);
}

int main(void)
{
    (void)t_url; /* t.h's database helper: not needed here */
    E = tide_error_new();
    T_RUN(encode_bool);
    T_RUN(encode_int);
    T_RUN(encode_float_to_integer);
    T_RUN(encode_float);
    T_RUN(encode_float_round_trip);
    T_RUN(encode_text);
    T_RUN(encode_bytea);
    T_RUN(encode_json_scalar_types);
    T_RUN(encode_json_arrays);
    T_RUN(encode_json_element_arrays);
    T_RUN(encode_json_array_refusals);
    T_RUN(encode_json_depth);
    T_RUN(encode_other_kinds);
    T_RUN(encode_appends_and_restores);
    T_RUN(encode_then_decode);
    T_RUN(out_of_memory);
    T_RUN(fuzz);
    tide_error_free(E);
    return t_done();
}
