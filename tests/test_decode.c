/* Decoders, the JSON walker and array literals: golden tests, no database.
 *
 * Visitor events are recorded as text: arrays and objects as [..] and {..},
 * keys as "k":, NULL as null, TEXT quoted, INT and BOOL as they come, FLOAT
 * with a leading ~, other kinds as kind:text. Within quotes and kind:text,
 * '"' and '\' get a backslash and bytes outside printable ASCII are \xHH. */
#include <locale.h>
#include <math.h>
#include "t.h"
#include "tide/value.h"
#include "util.h"
#include "encode.h"

/* ---- the recording visitor ------------------------------------------- */

typedef struct rec {
    char buf[1 << 16];
    size_t n;
    int events;
    int stop_at;      /* stop on this event (1-based); 0: never */
    int set_error;    /* set an error before stopping */
    int depth, min_depth;
    tide_error *err;
} rec;

static void put(rec *r, const char *s, size_t n)
{
    if (r->n + n >= sizeof r->buf)
        n = sizeof r->buf - 1 - r->n;
    memcpy(r->buf + r->n, s, n);
    r->n += n;
    r->buf[r->n] = '\0';
}

static void puts_(rec *r, const char *s)
{
    put(r, s, strlen(s));
}

static void put_escaped(rec *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            put(r, tmp, 2);
        } else if (c < 0x20 || c >= 0x7F) {
            snprintf(tmp, sizeof tmp, "\\x%02X", c);
            puts_(r, tmp);
        } else {
            put(r, (const char *)&c, 1);
        }
    }
}

/* Counts the event; 1 when the walk should stop here (nothing recorded). */
static int event(rec *r)
{
    r->events++;
    if (r->stop_at && r->events == r->stop_at) {
        if (r->set_error)
            tutil_error_set(r->err, TIDE_E_INVALID_ARGUMENT, "stopped by the test");
        return 1;
    }
    return 0;
}

static void sep(rec *r)
{
    char last = r->n ? r->buf[r->n - 1] : '[';
    if (last != '[' && last != '{' && last != ':')
        puts_(r, ",");
}

static int on_begin_array(void *ud)
{
    rec *r = ud;
    if (event(r))
        return 1;
    sep(r);
    puts_(r, "[");
    r->depth++;
    return 0;
}

static int on_end_array(void *ud)
{
    rec *r = ud;
    if (event(r))
        return 1;
    puts_(r, "]");
    if (--r->depth < r->min_depth)
        r->min_depth = r->depth;
    return 0;
}

static int on_begin_object(void *ud)
{
    rec *r = ud;
    if (event(r))
        return 1;
    sep(r);
    puts_(r, "{");
    r->depth++;
    return 0;
}

static int on_end_object(void *ud)
{
    rec *r = ud;
    if (event(r))
        return 1;
    puts_(r, "}");
    if (--r->depth < r->min_depth)
        r->min_depth = r->depth;
    return 0;
}

static int on_key(void *ud, const char *s, size_t n)
{
    rec *r = ud;
    if (event(r))
        return 1;
    sep(r);
    puts_(r, "\"");
    put_escaped(r, s, n);
    puts_(r, "\":");
    return 0;
}

static const char *kind_prefix(tide_kind k)
{
    switch (k) {
    case TIDE_KIND_FLOAT: return "~";
    case TIDE_KIND_NUMERIC: return "num:";
    case TIDE_KIND_BYTEA: return "bytea:";
    case TIDE_KIND_JSON: return "json:";
    case TIDE_KIND_DATE: return "date:";
    case TIDE_KIND_TIME: return "time:";
    case TIDE_KIND_TIMESTAMP: return "ts:";
    case TIDE_KIND_TIMESTAMPTZ: return "tstz:";
    case TIDE_KIND_INTERVAL: return "iv:";
    case TIDE_KIND_ARRAY: return "array:";
    default: return "";
    }
}

static int on_scalar(void *ud, tide_kind kind, const char *s, size_t n)
{
    rec *r = ud;
    if (event(r))
        return 1;
    sep(r);
    if (kind == TIDE_KIND_NULL) {
        puts_(r, "null");
    } else if (kind == TIDE_KIND_TEXT) {
        puts_(r, "\"");
        put_escaped(r, s, n);
        puts_(r, "\"");
    } else {
        puts_(r, kind_prefix(kind));
        put_escaped(r, s, n);
    }
    return 0;
}

static const tide_visitor V = {
    .begin_array = on_begin_array, .end_array = on_end_array,
    .begin_object = on_begin_object, .key = on_key,
    .end_object = on_end_object, .scalar = on_scalar,
};

static rec R;
static tide_error *E;

static void rec_reset(void)
{
    R.n = 0;
    R.buf[0] = '\0';
    R.events = R.stop_at = R.set_error = R.depth = R.min_depth = 0;
    R.err = E;
}

/* The recording, or "ERR <code>: <message>". */
static const char *outcome(int rc)
{
    static char out[sizeof R.buf + 700];
    if (rc == TIDE_OK)
        return R.buf;
    if (rc != TIDE_ERROR)
        return "(neither TIDE_OK nor TIDE_ERROR)";
    snprintf(out, sizeof out, "ERR %s: %s", tide_error_code_name(tide_error_code(E)), tide_error_message(E));
    return out;
}

static const char *JL(const char *s, size_t n)
{
    rec_reset();
    return outcome(tide_decode_json(s, n, &V, &R, E));
}
#define J(s) JL((s), strlen(s))

static const char *A(unsigned int element_type, const char *s)
{
    rec_reset();
    return outcome(tide_decode_array(element_type, s, strlen(s), &V, &R, E));
}

/* ---- types ------------------------------------------------------------ */

T_CASE(kinds_of_types)
{
    T_EQ_INT(tide_kind_of_type(16), TIDE_KIND_BOOL);
    T_EQ_INT(tide_kind_of_type(17), TIDE_KIND_BYTEA);
    T_EQ_INT(tide_kind_of_type(18), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(19), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(20), TIDE_KIND_INT);
    T_EQ_INT(tide_kind_of_type(21), TIDE_KIND_INT);
    T_EQ_INT(tide_kind_of_type(23), TIDE_KIND_INT);
    T_EQ_INT(tide_kind_of_type(25), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(26), TIDE_KIND_INT);
    T_EQ_INT(tide_kind_of_type(114), TIDE_KIND_JSON);
    T_EQ_INT(tide_kind_of_type(142), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(700), TIDE_KIND_FLOAT);
    T_EQ_INT(tide_kind_of_type(701), TIDE_KIND_FLOAT);
    T_EQ_INT(tide_kind_of_type(1042), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(1043), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(1082), TIDE_KIND_DATE);
    T_EQ_INT(tide_kind_of_type(1083), TIDE_KIND_TIME);
    T_EQ_INT(tide_kind_of_type(1114), TIDE_KIND_TIMESTAMP);
    T_EQ_INT(tide_kind_of_type(1184), TIDE_KIND_TIMESTAMPTZ);
    T_EQ_INT(tide_kind_of_type(1186), TIDE_KIND_INTERVAL);
    T_EQ_INT(tide_kind_of_type(1266), TIDE_KIND_TIME);
    T_EQ_INT(tide_kind_of_type(1700), TIDE_KIND_NUMERIC);
    T_EQ_INT(tide_kind_of_type(2950), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(3802), TIDE_KIND_JSON);
    T_EQ_INT(tide_kind_of_type(0), TIDE_KIND_TEXT);
    T_EQ_INT(tide_kind_of_type(869), TIDE_KIND_TEXT);    /* inet */
    T_EQ_INT(tide_kind_of_type(99999), TIDE_KIND_TEXT);  /* an enum */
    T_EQ_INT(tide_kind_of_type(1041), TIDE_KIND_TEXT);   /* _inet: unknown arrays are text */

    static const unsigned int arrays[][2] = {
        { 1000, 16 }, { 1001, 17 }, { 1002, 18 }, { 1003, 19 }, { 1005, 21 }, { 1007, 23 },
        { 1009, 25 }, { 1014, 1042 }, { 1015, 1043 }, { 1016, 20 }, { 1021, 700 }, { 1022, 701 },
        { 1028, 26 }, { 1115, 1114 }, { 1182, 1082 }, { 1183, 1083 }, { 1185, 1184 },
        { 1187, 1186 }, { 1231, 1700 }, { 1270, 1266 }, { 2951, 2950 }, { 199, 114 },
        { 3807, 3802 }, { 143, 142 },
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        T_EQ_INT(tide_kind_of_type(arrays[i][0]), TIDE_KIND_ARRAY);
        T_EQ_INT(tide_array_element_type(arrays[i][0]), arrays[i][1]);
        T_EQ_INT(tide_array_element_type(arrays[i][1]), 0);
    }
    T_EQ_INT(tide_array_element_type(0), 0);
    T_EQ_INT(tide_array_element_type(1041), 0);
}

T_CASE(type_names)
{
    char b[TPG_TYPE_NAME_MAX];
    T_EQ_STR(tpg_type_name(23, b, sizeof b), "integer");
    T_EQ_STR(tpg_type_name(20, b, sizeof b), "bigint");
    T_EQ_STR(tpg_type_name(701, b, sizeof b), "double precision");
    T_EQ_STR(tpg_type_name(1184, b, sizeof b), "timestamp with time zone");
    T_EQ_STR(tpg_type_name(1007, b, sizeof b), "integer[]");
    T_EQ_STR(tpg_type_name(3807, b, sizeof b), "jsonb[]");
    T_EQ_STR(tpg_type_name(0, b, sizeof b), "type 0");
    T_EQ_STR(tpg_type_name(123456, b, sizeof b), "type 123456");
}

/* ---- scalars ---------------------------------------------------------- */

static const char *err_text(void)
{
    static char out[700];
    snprintf(out, sizeof out, "%s: %s", tide_error_code_name(tide_error_code(E)), tide_error_message(E));
    return out;
}

T_CASE(decode_int)
{
    static const struct { const char *in; int64_t out; } ok[] = {
        { "0", 0 }, { "-0", 0 }, { "+5", 5 }, { "42", 42 }, { "-17", -17 }, { "007", 7 },
        { "9223372036854775807", INT64_MAX }, { "-9223372036854775808", INT64_MIN },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 12345;
        T_EQ_INT(tide_decode_int(ok[i].in, strlen(ok[i].in), &v, E), TIDE_OK);
        T_CHECK(v == ok[i].out);
    }
    static const char *bad[] = { "", "-", "+", "1a", " 1", "1 ", "1.0", "0x10", "--1", "1e3" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        T_EQ_INT(tide_decode_int(bad[i], strlen(bad[i]), &v, E), TIDE_ERROR);
        T_EQ_INT(tide_error_code(E), TIDE_E_INVALID_ARGUMENT);
    }
    int64_t v;
    T_EQ_INT(tide_decode_int("1a", 2, &v, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid integer: \"1a\"");
    T_EQ_INT(tide_decode_int("9223372036854775808", 19, &v, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid integer (out of range): \"9223372036854775808\"");
    T_EQ_INT(tide_decode_int("-9223372036854775809", 20, &v, E), TIDE_ERROR);
    T_EQ_INT(tide_decode_int("99999999999999999999999", 23, &v, E), TIDE_ERROR);
    /* Only len bytes are read. */
    T_EQ_INT(tide_decode_int("123xyz", 3, &v, E), TIDE_OK);
    T_EQ_INT(v, 123);
    /* Bad bytes are shown escaped, long values cut. */
    T_EQ_INT(tide_decode_int("1\xff\n", 3, &v, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid integer: \"1\\xFF\\x0A\"");
    const char *longbad = "12345678901234567890123456789012345678901234567890x";
    T_EQ_INT(tide_decode_int(longbad, strlen(longbad), &v, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid integer: \"1234567890123456789012345678901234567890\"...");
    T_EQ_INT(tide_decode_int(NULL, 1, &v, E), TIDE_MISUSE);
    T_EQ_INT(tide_decode_int("1", 1, NULL, E), TIDE_MISUSE);
}

/* tide_encode_int is the inverse of tide_decode_int, at the edges too. */
T_CASE(encode_int)
{
    static const struct { int64_t in; const char *out; } cases[] = {
        { 0, "0" }, { 7, "7" }, { -1, "-1" }, { 10, "10" }, { -4200, "-4200" },
        { INT64_MAX, "9223372036854775807" }, { INT64_MIN, "-9223372036854775808" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[TIDE_INT_TEXT_MAX];
        memset(buf, 'x', sizeof buf);
        size_t n = tide_encode_int(cases[i].in, buf);
        T_EQ_STR(buf, cases[i].out);
        T_EQ_INT((long long)n, (long long)strlen(cases[i].out));
        int64_t back;
        T_EQ_INT(tide_decode_int(buf, n, &back, E), TIDE_OK);
        T_CHECK(back == cases[i].in);
    }
}

T_CASE(decode_float)
{
    static const struct { const char *in; double out; } ok[] = {
        { "0", 0.0 }, { "1.5", 1.5 }, { "-2.25", -2.25 }, { "1e10", 1e10 }, { "1E-5", 1e-5 },
        { "0.1", 0.1 }, { "3", 3.0 }, { "1.7976931348623157e+308", 1.7976931348623157e+308 },
        { "4.9406564584124654e-324", 4.9406564584124654e-324 }, { "-1.2345678901234567e-300", -1.2345678901234567e-300 },
        { "Infinity", INFINITY }, { "-Infinity", -INFINITY },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double d = 99;
        T_EQ_INT(tide_decode_float(ok[i].in, strlen(ok[i].in), &d, E), TIDE_OK);
        T_CHECK(d == ok[i].out);
    }
    double d = 0;
    T_EQ_INT(tide_decode_float("NaN", 3, &d, E), TIDE_OK);
    T_CHECK(isnan(d));
    T_EQ_INT(tide_decode_float("-0", 2, &d, E), TIDE_OK);
    T_CHECK(d == 0 && signbit(d));
    static const char *bad[] = {
        "", "abc", "inf", "nan", "infinity", "NAN", "0x10", " 1", "1 ", "1.5x", "--1", "1e", "e5",
        ".", "+", "1e400", "-1e400", "1,5",
        "1.000000000000000000000000000000000000000000000000000000000000000001",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        T_EQ_INT(tide_decode_float(bad[i], strlen(bad[i]), &d, E), TIDE_ERROR);
        T_EQ_INT(tide_error_code(E), TIDE_E_INVALID_ARGUMENT);
    }
    T_EQ_INT(tide_decode_float("1e400", 5, &d, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid float (out of range): \"1e400\"");
    T_EQ_INT(tide_decode_float("inf", 3, &d, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid float: \"inf\"");
    /* Only len bytes are read. */
    T_EQ_INT(tide_decode_float("2.5e1junk", 5, &d, E), TIDE_OK);
    T_CHECK(d == 25.0);
}

/* The locale's decimal point must not matter (skipped when no such locale
 * is installed). */
T_CASE(decode_float_locale)
{
    static const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", NULL };
    const char *set = NULL;
    for (int i = 0; names[i] && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) {
        printf("  (no locale with a ',' decimal point installed: skipped)\n");
        return;
    }
    double d = 0;
    T_EQ_INT(tide_decode_float("1.5", 3, &d, E), TIDE_OK);
    T_CHECK(d == 1.5);
    setlocale(LC_NUMERIC, "C");
}

T_CASE(decode_bool)
{
    int b = -1;
    T_EQ_INT(tide_decode_bool("t", 1, &b, E), TIDE_OK);
    T_EQ_INT(b, 1);
    T_EQ_INT(tide_decode_bool("f", 1, &b, E), TIDE_OK);
    T_EQ_INT(b, 0);
    T_EQ_INT(tide_decode_bool("true", 4, &b, E), TIDE_OK);
    T_EQ_INT(b, 1);
    T_EQ_INT(tide_decode_bool("false", 5, &b, E), TIDE_OK);
    T_EQ_INT(b, 0);
    static const char *bad[] = { "", "T", "yes", "1", "0", "tru", "t ", "TRUE" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        T_EQ_INT(tide_decode_bool(bad[i], strlen(bad[i]), &b, E), TIDE_ERROR);
    T_EQ_INT(tide_decode_bool("yes", 3, &b, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: invalid boolean: \"yes\"");
}

/* The decoded bytes as hex, or the error. */
static const char *BY(const char *s, size_t len)
{
    static char hex[1024];
    char *out = malloc(len ? len : 1); /* exactly len: ASan catches overruns */
    size_t n = 999;
    int rc = tide_decode_bytea(s, len, out, &n, E);
    if (rc != TIDE_OK) {
        free(out);
        snprintf(hex, sizeof hex, "ERR %s", tide_error_message(E));
        return hex;
    }
    hex[0] = '\0';
    for (size_t i = 0; i < n && i < 500; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)out[i]);
    free(out);
    return hex;
}
#define BYS(s) BY((s), strlen(s))

T_CASE(decode_bytea)
{
    T_EQ_STR(BYS("\\x"), "");
    T_EQ_STR(BYS(""), "");
    T_EQ_STR(BYS("\\x00ff10AB"), "00ff10ab");
    T_EQ_STR(BYS("\\xDEADbeef"), "deadbeef");
    T_EQ_STR(BYS("\\x0"), "ERR invalid bytea (odd number of hex digits): \"\\\\x0\"");
    T_EQ_STR(BYS("\\x0g"), "ERR invalid bytea (bad hex digit): \"\\\\x0g\"");
    T_EQ_STR(BYS("\\x 0"), "ERR invalid bytea (bad hex digit): \"\\\\x 0\"");
    /* the escape format */
    T_EQ_STR(BYS("abc"), "616263");
    T_EQ_STR(BYS("a\\\\b"), "615c62");
    T_EQ_STR(BYS("\\000\\377\\101z"), "00ff417a");
    T_EQ_STR(BYS("\\\\\\\\"), "5c5c");
    T_EQ_STR(BYS("\\400"), "ERR invalid bytea (bad escape): \"\\\\400\"");
    T_EQ_STR(BYS("\\12"), "ERR invalid bytea (bad escape): \"\\\\12\"");
    T_EQ_STR(BYS("\\"), "ERR invalid bytea (bad escape): \"\\\\\"");
    T_EQ_STR(BYS("\\8"), "ERR invalid bytea (bad escape): \"\\\\8\"");
    T_EQ_STR(BYS("\\X00"), "ERR invalid bytea (bad escape): \"\\\\X00\"");
    T_EQ_STR(BY("a\0b", 3), "610062");
}

/* ---- date and time ---------------------------------------------------- */

static const char *DT(tide_kind kind, const char *s)
{
    static char res[700];
    char out[TIDE_DATETIME_MAX];
    size_t n = 999;
    memset(out, 'Z', sizeof out);
    if (tide_decode_datetime(kind, s, strlen(s), out, &n, E) != TIDE_OK) {
        snprintf(res, sizeof res, "ERR %s", tide_error_message(E));
        return res;
    }
    if (n >= TIDE_DATETIME_MAX || out[n] != '\0' || strlen(out) != n)
        return "(bad length or terminator)";
    snprintf(res, sizeof res, "%s", out);
    return res;
}

T_CASE(datetime_passthrough)
{
    T_EQ_STR(DT(TIDE_KIND_DATE, "2024-01-02"), "2024-01-02");
    T_EQ_STR(DT(TIDE_KIND_DATE, "10000-01-01"), "10000-01-01");
    T_EQ_STR(DT(TIDE_KIND_DATE, "0044-03-15 BC"), "0044-03-15 BC");
    T_EQ_STR(DT(TIDE_KIND_DATE, "infinity"), "infinity");
    T_EQ_STR(DT(TIDE_KIND_DATE, "-infinity"), "-infinity");
    T_EQ_STR(DT(TIDE_KIND_INTERVAL, "P1Y2M3DT4H5M6S"), "P1Y2M3DT4H5M6S");
    T_EQ_STR(DT(TIDE_KIND_INTERVAL, "PT0S"), "PT0S");
    T_EQ_STR(DT(TIDE_KIND_INTERVAL, "P-1Y-2M3DT-4H-5M-6.5S"), "P-1Y-2M3DT-4H-5M-6.5S");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "infinity"), "infinity");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "-infinity"), "-infinity");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "infinity"), "infinity");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "-infinity"), "-infinity");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "0044-03-15 12:00:00 BC"), "0044-03-15 12:00:00 BC");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "0044-03-15 12:00:00+00:53:28 BC"), "0044-03-15 12:00:00+00:53:28 BC");
}

T_CASE(datetime_time)
{
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05"), "03:04:05");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05.123456"), "03:04:05.123456");
    T_EQ_STR(DT(TIDE_KIND_TIME, "24:00:00"), "24:00:00");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05+05"), "03:04:05+05:00");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05-00"), "03:04:05-00:00");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05.5-03:30"), "03:04:05.5-03:30");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05+05:30:15"), "03:04:05+05:30:15");
    T_EQ_STR(DT(TIDE_KIND_TIME, "3:04:05"), "ERR invalid time: \"3:04:05\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04"), "ERR invalid time: \"03:04\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05."), "ERR invalid time: \"03:04:05.\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:055"), "ERR invalid time: \"03:04:055\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05+5"), "ERR invalid time: \"03:04:05+5\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05+05:3"), "ERR invalid time: \"03:04:05+05:3\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05+05:30:15:00"), "ERR invalid time: \"03:04:05+05:30:15:00\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05 +05"), "ERR invalid time: \"03:04:05 +05\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, "03:04:05+05x"), "ERR invalid time: \"03:04:05+05x\"");
    T_EQ_STR(DT(TIDE_KIND_TIME, ""), "ERR invalid time: \"\"");
}

T_CASE(datetime_timestamp)
{
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04:05"), "2024-01-02T03:04:05");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04:05.123456"), "2024-01-02T03:04:05.123456");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04:05.5"), "2024-01-02T03:04:05.5");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "10000-01-01 00:00:00"), "10000-01-01T00:00:00");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "294276-12-31 23:59:59.999999"), "294276-12-31T23:59:59.999999");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02T03:04:05"), "ERR invalid timestamp: \"2024-01-02T03:04:05\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-1-02 03:04:05"), "ERR invalid timestamp: \"2024-1-02 03:04:05\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "24-01-02 03:04:05"), "ERR invalid timestamp: \"24-01-02 03:04:05\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02"), "ERR invalid timestamp: \"2024-01-02\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04"), "ERR invalid timestamp: \"2024-01-02 03:04\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02  03:04:05"), "ERR invalid timestamp: \"2024-01-02  03:04:05\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04:05+00"), "ERR invalid timestamp: \"2024-01-02 03:04:05+00\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-022 03:04:05"), "ERR invalid timestamp: \"2024-01-022 03:04:05\"");
}

T_CASE(datetime_timestamptz)
{
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05+00"), "2024-01-02T03:04:05+00:00");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05.123456-08"), "2024-01-02T03:04:05.123456-08:00");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05.5+05:30"), "2024-01-02T03:04:05.5+05:30");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "1900-01-01 00:00:00+00:53:28"), "1900-01-01T00:00:00+00:53:28");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "10000-01-01 00:00:00+00"), "10000-01-01T00:00:00+00:00");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05Z"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05Z\"");
    /* at the edges of the common form (read without scanning by parts) */
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05-08"), "2024-01-02T03:04:05-08:00");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05.1+14"), "2024-01-02T03:04:05.1+14:00");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05+00 BC"), "2024-01-02 03:04:05+00 BC");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05+0"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05+0\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05.+00"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05.+00\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05Z00"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05Z00\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05+0a"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05+0a\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:05+00x"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:05+00x\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03:04:0a+00"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03:04:0a+00\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMPTZ, "2024-01-02 03-04:05+00"),
             "ERR invalid timestamp with time zone: \"2024-01-02 03-04:05+00\"");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04:05 BC"), "2024-01-02 03:04:05 BC");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, "2024-01-02 03:04:05.123x"), "ERR invalid timestamp: \"2024-01-02 03:04:05.123x\"");
    T_EQ_STR(DT(TIDE_KIND_TEXT, "2024-01-02"), "ERR tide_decode_datetime: kind 5 is not a date/time kind");
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

T_CASE(datetime_length_limit)
{
    /* "YYYY-MM-DDTHH:MM:SS." is 20 bytes; 43 fraction digits make 63. */
    char in[200], want[200];
    snprintf(in, sizeof in, "2024-01-02 03:04:05.%.43s", "1234567890123456789012345678901234567890123456789");
    snprintf(want, sizeof want, "2024-01-02T03:04:05.%.43s", "1234567890123456789012345678901234567890123456789");
    T_EQ_STR(DT(TIDE_KIND_TIMESTAMP, in), want);
    snprintf(in, sizeof in, "2024-01-02 03:04:05.%.44s", "1234567890123456789012345678901234567890123456789");
    T_CHECK(starts(DT(TIDE_KIND_TIMESTAMP, in), "ERR invalid timestamp (longer than 63 bytes): \"2024-01-02 03:04:05.12345678901234567890\"..."));
    /* The offset grows by ":00": 61 bytes in, 64 out. */
    snprintf(in, sizeof in, "2024-01-02 03:04:05.%.38s+00", "1234567890123456789012345678901234567890123456789");
    T_EQ_INT(strlen(in), 61);
    T_CHECK(starts(DT(TIDE_KIND_TIMESTAMPTZ, in), "ERR invalid timestamp with time zone (longer than 63 bytes): "));
    memset(in, '1', 64);
    in[64] = '\0';
    T_CHECK(starts(DT(TIDE_KIND_INTERVAL, in), "ERR invalid interval (longer than 63 bytes): "));
    in[63] = '\0';
    T_EQ_STR(DT(TIDE_KIND_INTERVAL, in), in);
}

/* ---- JSON ------------------------------------------------------------- */

T_CASE(json_structure)
{
    T_EQ_STR(J("[1,2]"), "[1,2]");
    T_EQ_STR(J("[]"), "[]");
    T_EQ_STR(J("{}"), "{}");
    T_EQ_STR(J(" \t\r\n{\"a\": [true, false, null], \"b\" : {} , \"c\":[[],[{}]]}\n "),
             "{\"a\":[true,false,null],\"b\":{},\"c\":[[],[{}]]}");
    T_EQ_STR(J("[{\"x\":1,\"y\":[2,{\"z\":\"w\"}]},3]"), "[{\"x\":1,\"y\":[2,{\"z\":\"w\"}]},3]");
    T_EQ_STR(J("{\"a\":1,\"a\":2}"), "{\"a\":1,\"a\":2}"); /* duplicate keys are the visitor's business */
    T_EQ_STR(J("42"), "42");
    T_EQ_STR(J("\"x\""), "\"x\"");
    T_EQ_STR(J("true"), "true");
    T_EQ_STR(J(" null "), "null");
}

T_CASE(json_numbers)
{
    T_EQ_STR(J("[0,-0,7,-12,1.5,1e3,-1E-2,0.0,2e+5,1.25E+10]"), "[0,-0,7,-12,~1.5,~1e3,~-1E-2,~0.0,~2e+5,~1.25E+10]");
    T_EQ_STR(J("9223372036854775807"), "9223372036854775807");
    T_EQ_STR(J("9223372036854775808"), "~9223372036854775808");
    T_EQ_STR(J("-9223372036854775808"), "-9223372036854775808");
    T_EQ_STR(J("-9223372036854775809"), "~-9223372036854775809");
    T_EQ_STR(J("123456789012345678901234567890"), "~123456789012345678901234567890");
    T_EQ_STR(J("01"), "ERR invalid_argument: invalid JSON at byte 0: invalid number (leading zero)");
    T_EQ_STR(J("[-01]"), "ERR invalid_argument: invalid JSON at byte 1: invalid number (leading zero)");
    T_EQ_STR(J("1."), "ERR invalid_argument: invalid JSON at byte 0: invalid number (no digit after '.')");
    T_EQ_STR(J("1.e5"), "ERR invalid_argument: invalid JSON at byte 0: invalid number (no digit after '.')");
    T_EQ_STR(J("1e"), "ERR invalid_argument: invalid JSON at byte 0: invalid number (no digit in exponent)");
    T_EQ_STR(J("1e+"), "ERR invalid_argument: invalid JSON at byte 0: invalid number (no digit in exponent)");
    T_EQ_STR(J("-"), "ERR invalid_argument: invalid JSON at byte 0: invalid number");
    T_EQ_STR(J("-a"), "ERR invalid_argument: invalid JSON at byte 0: invalid number");
    T_EQ_STR(J(".5"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("+1"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("NaN"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("[Infinity]"), "ERR invalid_argument: invalid JSON at byte 1: unexpected character");
    T_EQ_STR(J("0x10"), "ERR invalid_argument: invalid JSON at byte 1: trailing characters after the value");
}

T_CASE(json_strings)
{
    T_EQ_STR(J("\"\""), "\"\"");
    T_EQ_STR(J("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""), "\"a\\\"b\\\\c/d\\x08\\x0C\\x0A\\x0D\\x09\"");
    T_EQ_STR(J("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\""), "\"A\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80\"");
    T_EQ_STR(J("\"\\uD834\\uDD1E!\""), "\"\\xF0\\x9D\\x84\\x9E!\"");
    T_EQ_STR(J("\"\\u0000\""), "\"\\x00\"");
    T_EQ_STR(J("\"\\u007f\\u0080\\u07FF\\u0800\\uFFFF\""), "\"\\x7F\\xC2\\x80\\xDF\\xBF\\xE0\\xA0\\x80\\xEF\\xBF\\xBF\"");
    T_EQ_STR(J("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\""), "\"\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80\\x7F\"");
    T_EQ_STR(J("{\"k\\u0041\":\"v\\n\",\"pl\\\"ain\":[\"x\\ty\"]}"), "{\"kA\":\"v\\x0A\",\"pl\\\"ain\":[\"x\\x09y\"]}");
    T_EQ_STR(J("\"\\ud83d\""), "ERR invalid_argument: invalid JSON at byte 1: lone high surrogate");
    T_EQ_STR(J("\"\\ud83d\\u0041\""), "ERR invalid_argument: invalid JSON at byte 1: lone high surrogate");
    T_EQ_STR(J("\"\\ud83d\\ud83d\""), "ERR invalid_argument: invalid JSON at byte 1: lone high surrogate");
    T_EQ_STR(J("\"ab\\ude00\""), "ERR invalid_argument: invalid JSON at byte 3: lone low surrogate");
    T_EQ_STR(J("\"\\ud83dx\""), "ERR invalid_argument: invalid JSON at byte 1: lone high surrogate");
    T_EQ_STR(J("\"abc"), "ERR invalid_argument: invalid JSON at byte 0: unterminated string");
    T_EQ_STR(J("[\"abc\\"), "ERR invalid_argument: invalid JSON at byte 1: unterminated string");
    T_EQ_STR(J("\"a\x01\""), "ERR invalid_argument: invalid JSON at byte 2: control character in string");
    T_EQ_STR(J("\"a\nb\""), "ERR invalid_argument: invalid JSON at byte 2: control character in string");
    T_EQ_STR(JL("\"a\0\"", 4), "ERR invalid_argument: invalid JSON at byte 2: control character in string");
    T_EQ_STR(J("\"\\x41\""), "ERR invalid_argument: invalid JSON at byte 1: invalid escape in string");
    T_EQ_STR(J("\"\\'\""), "ERR invalid_argument: invalid JSON at byte 1: invalid escape in string");
    T_EQ_STR(J("\"\\u12\""), "ERR invalid_argument: invalid JSON at byte 1: invalid \\u escape");
    T_EQ_STR(J("\"\\u12g4\""), "ERR invalid_argument: invalid JSON at byte 1: invalid \\u escape");
    T_EQ_STR(J("\"\xff\""), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("\"\xc3\""), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("\"\xc0\x80\""), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("\"\xed\xa0\x80\""), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("\"\xf4\x90\x80\x80\""), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("\"\x80\""), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("\"\xe2\x82"), "ERR invalid_argument: invalid JSON at byte 1: invalid UTF-8 in string");
    T_EQ_STR(J("[\xc3\xa9]"), "ERR invalid_argument: invalid JSON at byte 1: unexpected character");
}

T_CASE(json_syntax_errors)
{
    T_EQ_STR(J(""), "ERR invalid_argument: invalid JSON at byte 0: unexpected end of input");
    T_EQ_STR(JL(NULL, 0), "ERR invalid_argument: invalid JSON at byte 0: unexpected end of input");
    T_EQ_STR(J("   "), "ERR invalid_argument: invalid JSON at byte 3: unexpected end of input");
    T_EQ_STR(J("["), "ERR invalid_argument: invalid JSON at byte 1: unexpected end of input");
    T_EQ_STR(J("[1"), "ERR invalid_argument: invalid JSON at byte 2: unexpected end of input");
    T_EQ_STR(J("{\"a\":1"), "ERR invalid_argument: invalid JSON at byte 6: unexpected end of input");
    T_EQ_STR(J("{\"a\":"), "ERR invalid_argument: invalid JSON at byte 5: unexpected end of input");
    T_EQ_STR(J("{"), "ERR invalid_argument: invalid JSON at byte 1: expected a string key");
    T_EQ_STR(J("[1,]"), "ERR invalid_argument: invalid JSON at byte 3: unexpected character");
    T_EQ_STR(J("[,1]"), "ERR invalid_argument: invalid JSON at byte 1: unexpected character");
    T_EQ_STR(J("[1 2]"), "ERR invalid_argument: invalid JSON at byte 3: expected ',' or ']'");
    T_EQ_STR(J("[1}"), "ERR invalid_argument: invalid JSON at byte 2: expected ',' or ']'");
    T_EQ_STR(J("{\"a\":1]"), "ERR invalid_argument: invalid JSON at byte 6: expected ',' or '}'");
    T_EQ_STR(J("{\"a\" 1}"), "ERR invalid_argument: invalid JSON at byte 5: expected ':'");
    T_EQ_STR(J("{1:2}"), "ERR invalid_argument: invalid JSON at byte 1: expected a string key");
    T_EQ_STR(J("{'a':2}"), "ERR invalid_argument: invalid JSON at byte 1: expected a string key");
    T_EQ_STR(J("{\"a\":1,}"), "ERR invalid_argument: invalid JSON at byte 7: expected a string key");
    T_EQ_STR(J("[1] x"), "ERR invalid_argument: invalid JSON at byte 4: trailing characters after the value");
    T_EQ_STR(J("[1]]"), "ERR invalid_argument: invalid JSON at byte 3: trailing characters after the value");
    T_EQ_STR(J("1 2"), "ERR invalid_argument: invalid JSON at byte 2: trailing characters after the value");
    T_EQ_STR(JL("[1]\0", 4), "ERR invalid_argument: invalid JSON at byte 3: trailing characters after the value");
    T_EQ_STR(J("\f[1]"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("tru"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("True"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("nul"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    T_EQ_STR(J("[nulll]"), "ERR invalid_argument: invalid JSON at byte 5: expected ',' or ']'");
    T_EQ_STR(J("// c\n1"), "ERR invalid_argument: invalid JSON at byte 0: unexpected character");
    /* Only len bytes are read. */
    T_EQ_STR(JL("[1,2]garbage", 5), "[1,2]");
}

static char *repeat(const char *open, const char *close, int n)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc((size_t)n * (lo + lc) + 1), *p = s;
    for (int i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    for (int i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

T_CASE(json_depth_limit)
{
    char *s = repeat("[", "]", 512);
    T_EQ_STR(J(s), s);
    free(s);
    s = repeat("[", "]", 513);
    T_EQ_STR(J(s), "ERR invalid_argument: invalid JSON at byte 512: nested deeper than 512 levels");
    free(s);
    s = repeat("{\"a\":", "}", 511);
    char *t = malloc(strlen(s) + 3);
    /* 511 objects around an empty array: 512 levels */
    size_t half = 511 * 5;
    memcpy(t, s, half);
    memcpy(t + half, "[]", 2);
    strcpy(t + half + 2, s + half);
    T_EQ_STR(J(t), t);
    free(t);
    free(s);
    s = repeat("{\"a\":", "}", 513);
    T_EQ_STR(J(s), "ERR invalid_argument: invalid JSON at byte 2560: nested deeper than 512 levels");
    free(s);
    /* Far deeper than any C stack would take with recursion. */
    s = repeat("[", "", 1000000);
    T_EQ_STR(J(s), "ERR invalid_argument: invalid JSON at byte 512: nested deeper than 512 levels");
    free(s);
}

T_CASE(json_visitor_stops)
{
    const char *doc = "[1,{\"k\":\"v\"},[]]";
    /* events: [ 1 { k v } [ ] ] */
    static const char *so_far[] = { "", "[", "[1", "[1,{", "[1,{\"k\":", "[1,{\"k\":\"v\"", "[1,{\"k\":\"v\"}",
                                    "[1,{\"k\":\"v\"},[", "[1,{\"k\":\"v\"},[]" };
    for (int stop = 1; stop <= 9; stop++) {
        rec_reset();
        R.stop_at = stop;
        T_EQ_INT(tide_decode_json(doc, strlen(doc), &V, &R, E), TIDE_ERROR);
        T_EQ_STR(R.buf, so_far[stop - 1]);
        T_EQ_STR(err_text(), "invalid_argument: the JSON walk was stopped by the visitor");
        rec_reset();
        R.stop_at = stop;
        R.set_error = 1;
        T_EQ_INT(tide_decode_json(doc, strlen(doc), &V, &R, E), TIDE_ERROR);
        T_EQ_STR(err_text(), "invalid_argument: stopped by the test");
    }
    /* A stale error from an earlier call is not mistaken for the visitor's. */
    tutil_error_set(E, TIDE_E_DATABASE, "old");
    rec_reset();
    R.stop_at = 2;
    T_EQ_INT(tide_decode_json(doc, strlen(doc), &V, &R, E), TIDE_ERROR);
    T_EQ_STR(err_text(), "invalid_argument: the JSON walk was stopped by the visitor");
    /* ... and a successful walk leaves no error behind. */
    tutil_error_set(E, TIDE_E_DATABASE, "old");
    T_EQ_STR(J(doc), "[1,{\"k\":\"v\"},[]]");
    T_EQ_INT(tide_error_code(E), TIDE_E_NONE);
    /* A NULL error is fine. */
    rec_reset();
    R.stop_at = 2;
    T_EQ_INT(tide_decode_json(doc, strlen(doc), &V, &R, NULL), TIDE_ERROR);
    T_EQ_INT(tide_decode_json("[", 1, &V, &R, NULL), TIDE_ERROR);
}

static int count_scalars(void *ud, tide_kind kind, const char *s, size_t n)
{
    (*(int *)ud)++;
    return 0;
}

T_CASE(json_missing_callbacks)
{
    tide_visitor only_scalars = { .scalar = count_scalars };
    int n = 0;
    const char *doc = "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}";
    T_EQ_INT(tide_decode_json(doc, strlen(doc), &only_scalars, &n, E), TIDE_OK);
    T_EQ_INT(n, 4);
    tide_visitor none = { 0 };
    T_EQ_INT(tide_decode_json(doc, strlen(doc), &none, NULL, E), TIDE_OK);
    T_EQ_INT(tide_decode_json("[1", 2, &none, NULL, E), TIDE_ERROR);
    T_EQ_INT(tide_decode_json(doc, strlen(doc), NULL, NULL, E), TIDE_MISUSE);
    T_EQ_INT(tide_error_code(E), TIDE_E_MISUSE);
    T_EQ_INT(tide_decode_json(NULL, 3, &none, NULL, E), TIDE_MISUSE);
}

/* ---- arrays ----------------------------------------------------------- */

T_CASE(array_basic)
{
    T_EQ_STR(A(23, "{}"), "[]");
    T_EQ_STR(A(23, "{1,2,NULL}"), "[1,2,null]");
    T_EQ_STR(A(23, "{-1}"), "[-1]");
    T_EQ_STR(A(23, "{{1,2},{3,4}}"), "[[1,2],[3,4]]");
    T_EQ_STR(A(23, "{{{1},{2}},{{3},{4}}}"), "[[[1],[2]],[[3],[4]]]");
    T_EQ_STR(A(23, " {{ 1 , 2 } , { 3 , 4 }} "), "[[1,2],[3,4]]");
    T_EQ_STR(A(23, "{{},{}}"), "[[],[]]");
    T_EQ_STR(A(23, "{ }"), "[]");
    T_EQ_STR(A(25, "{NULL,null,Null,\"NULL\",\"null\",NULLx,xNULL}"),
             "[null,null,null,\"NULL\",\"null\",\"NULLx\",\"xNULL\"]");
}

T_CASE(array_quoting)
{
    T_EQ_STR(A(25, "{\"a b\",\"c\\\"d\",\"\",\"{x,y}\",\"\\\\\"}"), "[\"a b\",\"c\\\"d\",\"\",\"{x,y}\",\"\\\\\"]");
    T_EQ_STR(A(25, "{\"  padded  \"}"), "[\"  padded  \"]");
    T_EQ_STR(A(25, "{a b,  c d  ,e}"), "[\"a b\",\"c d\",\"e\"]");
    T_EQ_STR(A(25, "{ a , b }"), "[\"a\",\"b\"]");
    T_EQ_STR(A(25, "{a\\,b,\\N\\U\\L\\L,c\\ ,\\\"q\\\"}"), "[\"a,b\",\"NULL\",\"c \",\"\\\"q\\\"\"]");
    T_EQ_STR(A(25, "{\"\xc3\xa9\",\xe2\x82\xac}"), "[\"\\xC3\\xA9\",\"\\xE2\\x82\\xAC\"]");
    T_EQ_STR(A(25, "{\"multi\nline\"}"), "[\"multi\\x0Aline\"]");
    T_EQ_STR(A(25, "{{\"a\",NULL},{\"b\",c}}"), "[[\"a\",null],[\"b\",\"c\"]]");
}

T_CASE(array_dimensions)
{
    T_EQ_STR(A(23, "[0:1]={1,2}"), "[1,2]");
    T_EQ_STR(A(23, "[-3:-2]={1,2}"), "[1,2]");
    T_EQ_STR(A(23, "[1:2][0:1]={{1,2},{3,4}}"), "[[1,2],[3,4]]");
    T_EQ_STR(A(23, "[0:1]= {1,2}"), "[1,2]");
    T_EQ_STR(A(23, "[0:1]{1}"), "ERR invalid_argument: malformed array literal at byte 5: expected '=' after the dimensions");
    T_EQ_STR(A(23, "[]={1}"), "ERR invalid_argument: malformed array literal at byte 0: bad dimension decoration");
    T_EQ_STR(A(23, "[0:1={1}"), "ERR invalid_argument: malformed array literal at byte 0: bad dimension decoration");
    T_EQ_STR(A(23, "[0:1]="), "ERR invalid_argument: malformed array literal at byte 6: expected '{'");
}

T_CASE(array_element_kinds)
{
    T_EQ_STR(A(16, "{t,f,NULL}"), "[t,f,null]");
    T_EQ_STR(A(20, "{9223372036854775807}"), "[9223372036854775807]");
    T_EQ_STR(A(701, "{1.5,NaN,-Infinity}"), "[~1.5,~NaN,~-Infinity]");
    T_EQ_STR(A(1700, "{1.50,NaN}"), "[num:1.50,num:NaN]");
    T_EQ_STR(A(17, "{\"\\\\x0102\",NULL}"), "[bytea:\\\\x0102,null]");
    T_EQ_STR(A(1082, "{2024-01-02,infinity}"), "[date:2024-01-02,date:infinity]");
    T_EQ_STR(A(1083, "{03:04:05}"), "[time:03:04:05]");
    T_EQ_STR(A(1114, "{\"2024-01-02 03:04:05\"}"), "[ts:2024-01-02 03:04:05]");
    T_EQ_STR(A(1184, "{\"2024-01-02 03:04:05+00\"}"), "[tstz:2024-01-02 03:04:05+00]");
    T_EQ_STR(A(1186, "{P1D,PT1H}"), "[iv:P1D,iv:PT1H]");
    T_EQ_STR(A(2950, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"), "[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]");
    T_EQ_STR(A(99999, "{happy,sad}"), "[\"happy\",\"sad\"]"); /* enums */
    T_EQ_STR(A(0, "{x}"), "[\"x\"]");
}

T_CASE(array_json_elements)
{
    T_EQ_STR(A(114, "{\"{\\\"a\\\": [1, 2.5]}\",NULL,\"\\\"s\\\"\",\"[]\",7,true,null}"),
             "[{\"a\":[1,~2.5]},null,\"s\",[],7,true,null]");
    T_EQ_STR(A(3802, "{{\"{}\",\"1\"},{\"null\",NULL}}"), "[[{},1],[null,null]]");
    T_EQ_STR(A(3802, "{\"[1,\"}"), "ERR invalid_argument: invalid JSON at byte 3: unexpected end of input");
    T_EQ_STR(A(114, "{\"\"}"), "ERR invalid_argument: invalid JSON at byte 0: unexpected end of input");
    /* Stopping inside an element's walk keeps the visitor's error. */
    rec_reset();
    R.stop_at = 4;
    R.set_error = 1;
    const char *lit = "{\"[1,2]\"}";
    T_EQ_INT(tide_decode_array(114, lit, strlen(lit), &V, &R, E), TIDE_ERROR);
    T_EQ_STR(R.buf, "[[1");
    T_EQ_STR(err_text(), "invalid_argument: stopped by the test");
}

T_CASE(array_malformed)
{
    T_EQ_STR(A(23, ""), "ERR invalid_argument: malformed array literal at byte 0: expected '{'");
    T_EQ_STR(A(23, "1,2"), "ERR invalid_argument: malformed array literal at byte 0: expected '{'");
    T_EQ_STR(A(23, "{1,2"), "ERR invalid_argument: malformed array literal at byte 4: unexpected end of input");
    T_EQ_STR(A(23, "{"), "ERR invalid_argument: malformed array literal at byte 1: unexpected end of input");
    T_EQ_STR(A(23, "{{1}"), "ERR invalid_argument: malformed array literal at byte 4: unexpected end of input");
    T_EQ_STR(A(23, "{1,,2}"), "ERR invalid_argument: malformed array literal at byte 3: empty element");
    T_EQ_STR(A(23, "{1,}"), "ERR invalid_argument: malformed array literal at byte 3: empty element");
    T_EQ_STR(A(23, "{,}"), "ERR invalid_argument: malformed array literal at byte 1: empty element");
    T_EQ_STR(A(23, "{1}}"), "ERR invalid_argument: malformed array literal at byte 3: trailing characters after the array");
    T_EQ_STR(A(23, "{1} x"), "ERR invalid_argument: malformed array literal at byte 4: trailing characters after the array");
    T_EQ_STR(A(25, "{\"a}"), "ERR invalid_argument: malformed array literal at byte 1: unterminated quoted element");
    T_EQ_STR(A(25, "{\"a\\"), "ERR invalid_argument: malformed array literal at byte 1: unterminated quoted element");
    T_EQ_STR(A(25, "{\"a\"b}"), "ERR invalid_argument: malformed array literal at byte 4: expected ',' or '}'");
    T_EQ_STR(A(25, "{a\"b}"), "ERR invalid_argument: malformed array literal at byte 2: unexpected character in element");
    T_EQ_STR(A(25, "{a{b}"), "ERR invalid_argument: malformed array literal at byte 2: unexpected character in element");
    T_EQ_STR(A(25, "{a\\"), "ERR invalid_argument: malformed array literal at byte 2: backslash at the end");
    T_EQ_STR(A(25, "{{a},b{}"), "ERR invalid_argument: malformed array literal at byte 6: unexpected character in element");
    char *deep = repeat("{", "}", 33);
    T_EQ_STR(A(23, deep), "ERR invalid_argument: malformed array literal at byte 32: too many dimensions");
    free(deep);
    deep = repeat("{", "}", 32);
    T_EQ_INT(tide_decode_array(23, deep, strlen(deep), &V, &R, E), TIDE_OK);
    free(deep);
    tide_visitor none = { 0 };
    T_EQ_INT(tide_decode_array(23, "{1}", 3, NULL, NULL, E), TIDE_MISUSE);
    T_EQ_INT(tide_decode_array(23, "{1,{2}}", 7, &none, NULL, E), TIDE_OK);
}

T_CASE(array_visitor_stops)
{
    const char *lit = "{{1,NULL},{\"x\"}}";
    /* events: { { 1 NULL } { x } } */
    static const char *so_far[] = { "", "[", "[[", "[[\"1\"", "[[\"1\",null", "[[\"1\",null]",
                                    "[[\"1\",null],[", "[[\"1\",null],[\"x\"", "[[\"1\",null],[\"x\"]" };
    for (int stop = 1; stop <= 9; stop++) {
        rec_reset();
        R.stop_at = stop;
        T_EQ_INT(tide_decode_array(25, lit, strlen(lit), &V, &R, E), TIDE_ERROR);
        T_EQ_STR(R.buf, so_far[stop - 1]);
        T_EQ_STR(err_text(), "invalid_argument: the array walk was stopped by the visitor");
        rec_reset();
        R.stop_at = stop;
        R.set_error = 1;
        T_EQ_INT(tide_decode_array(25, lit, strlen(lit), &V, &R, E), TIDE_ERROR);
        T_EQ_STR(err_text(), "invalid_argument: stopped by the test");
    }
}

/* ---- out of memory ---------------------------------------------------- */

/* Counts blocks and bytes; fails the fail_at-th allocation once armed. */
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
    /* Strings with escapes are the only allocating paths. */
    const char *doc = "{\"k\\u00e9y\":[\"a\\nb\",\"\\ud83d\\ude00\",\"plain\",{\"x\\\"\":\"y\\\\\"}]}";
    const char *want_doc = "{\"k\\xC3\\xA9y\":[\"a\\x0Ab\",\"\\xF0\\x9F\\x98\\x80\",\"plain\",{\"x\\\"\":\"y\\\\\"}]}";
    const char *lit = "{\"\\\"a\\\\\\\"b\\\"\",NULL,\"[1,\\\"\\\\u00e9\\\"]\"}";
    const char *text_lit = "{\"a\\\"b\",c\\,d}";
    memset(&A_, 0, sizeof A_);
    tide_set_allocator(test_alloc, NULL);
    tide_error *err = tide_error_new();
    T_REQUIRE(err != NULL);
    int ok_json = 0, ok_array = 0, failures = 0;
    for (long n = 1; n <= 200 && !(ok_json && ok_array); n++) {
        rec_reset();
        R.err = err;
        A_.allocs = 0;
        A_.fail_at = n;
        A_.failed = 0;
        int rc = tide_decode_json(doc, strlen(doc), &V, &R, err);
        if (rc == TIDE_OK) {
            T_EQ_STR(R.buf, want_doc);
            ok_json = 1;
        } else {
            T_EQ_INT(rc, TIDE_ERROR);
            T_EQ_INT(tide_error_code(err), TIDE_E_OUT_OF_MEMORY);
            T_CHECK(A_.failed);
            failures++;
        }
        rec_reset();
        R.err = err;
        A_.allocs = 0;
        A_.failed = 0;
        rc = tide_decode_array(3802, lit, strlen(lit), &V, &R, err);
        if (rc == TIDE_OK) {
            T_EQ_STR(R.buf, "[\"a\\\"b\",null,[1,\"\\xC3\\xA9\"]]");
            ok_array = 1;
        } else {
            T_EQ_INT(rc, TIDE_ERROR);
            T_EQ_INT(tide_error_code(err), TIDE_E_OUT_OF_MEMORY);
            T_CHECK(A_.failed);
            failures++;
        }
        rec_reset();
        R.err = err;
        A_.allocs = 0;
        A_.failed = 0;
        rc = tide_decode_array(25, text_lit, strlen(text_lit), &V, &R, err);
        if (rc == TIDE_OK) {
            T_EQ_STR(R.buf, "[\"a\\\"b\",\"c,d\"]");
        } else {
            T_EQ_INT(rc, TIDE_ERROR);
            T_EQ_INT(tide_error_code(err), TIDE_E_OUT_OF_MEMORY);
            T_CHECK(A_.failed);
            failures++;
        }
    }
    T_CHECK(ok_json && ok_array);
    T_CHECK(failures >= 3);
    A_.fail_at = 0;
    tide_error_free(err);
    tide_set_allocator(NULL, NULL);
    T_EQ_INT(A_.blocks, 0);
    T_EQ_INT(A_.bytes, 0);
}

/* ---- fuzz ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* A few random edits of seed into buf; returns the length. */
static size_t mutate(const char *seed, char *buf, size_t cap)
{
    static const char interesting[] = "[]{}\",:\\ -0123456789.eEtrufalsn\x01\x7f\x80\xc3\xa9\xed\xf0NUL=";
    size_t n = strlen(seed);
    memcpy(buf, seed, n);
    int edits = 1 + (int)rnd(3);
    for (int e = 0; e < edits; e++) {
        unsigned op = rnd(10);
        size_t at = n ? rnd((unsigned)n + 1) : 0;
        char c = rnd(4) ? interesting[rnd(sizeof interesting - 1)] : (char)rnd(256);
        if (op <= 2 && at < n) {
            buf[at] = c;
        } else if (op <= 5 && n < cap) {
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = c;
            n++;
        } else if (op <= 7 && at < n) {
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
        } else if (op == 8) {
            n = at;
        } else if (op == 9 && n && n * 2 <= cap) {
            size_t from = rnd((unsigned)n), len = 1 + rnd((unsigned)(n - from));
            memmove(buf + at + len, buf + at, n - at);
            memmove(buf + at, buf + from + (from >= at ? len : 0), len);
            n += len;
        }
    }
    return n;
}

T_CASE(fuzz)
{
    static const char *json_seeds[] = {
        "{\"a\":[1,2.5,-3e2,true,false,null,\"x\\u00e9\\ud83d\\ude00\"],\"b\":{\"c\":{}}}",
        "[[[[]]],{\"k\\n\":\"v\\t\"},\"\\\\\\\"\"]",
        "[1e5,-0,0.25,9223372036854775808]",
        "\"\xc3\xa9\xe2\x82\xac\"",
    };
    static const char *array_seeds[] = {
        "{1,2,NULL}", "{{\"a b\",\"c\\\"d\"},{NULL,x}}", "[0:1]={1,2}",
        "{\"{\\\"a\\\":[1,\\\"b\\\"]}\",NULL,\"2\"}", "{ a\\,b , \"NULL\" }",
    };
    static const unsigned int types[] = { 23, 25, 114, 3802, 701, 17 };
    char buf[512];
    int ok = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        int is_json = it % 2 == 0;
        size_t n = is_json ? mutate(json_seeds[rnd(4)], buf, 256) : mutate(array_seeds[rnd(5)], buf, 256);
        /* a heap copy of exactly n bytes: ASan catches any read past the end */
        char *s = malloc(n ? n : 1);
        memcpy(s, buf, n);
        rec_reset();
        int rc = is_json ? tide_decode_json(s, n, &V, &R, E)
                         : tide_decode_array(types[rnd(6)], s, n, &V, &R, E);
        if (rc == TIDE_OK) {
            ok++;
            if (R.depth != 0 || R.min_depth < 0)
                T_FAILF("unbalanced events for input %d", it);
        } else if (rc == TIDE_ERROR) {
            bad++;
            if (tide_error_code(E) != TIDE_E_INVALID_ARGUMENT)
                T_FAILF("error code %d for input %d", tide_error_code(E), it);
        } else {
            T_FAILF("rc %d for input %d", rc, it);
        }
        /* the scalar decoders on the same bytes */
        int64_t i64;
        double d;
        int b;
        char dt[TIDE_DATETIME_MAX];
        size_t dlen;
        int r2 = tide_decode_int(s, n, &i64, E) | tide_decode_float(s, n, &d, E) | tide_decode_bool(s, n, &b, E);
        T_CHECK(r2 == TIDE_OK || r2 == TIDE_ERROR);
        char *bytes = malloc(n ? n : 1);
        T_CHECK(tide_decode_bytea(s, n, bytes, &dlen, E) != TIDE_MISUSE);
        free(bytes);
        for (tide_kind k = TIDE_KIND_DATE; k <= TIDE_KIND_INTERVAL; k++) {
            int r3 = tide_decode_datetime(k, s, n, dt, &dlen, E);
            T_CHECK(r3 == TIDE_OK || r3 == TIDE_ERROR);
            if (r3 == TIDE_OK)
                T_CHECK(dlen < TIDE_DATETIME_MAX && dt[dlen] == '\0');
        }
        free(s);
    }
    printf("  fuzz: %d accepted, %d rejected\n", ok, bad);
    T_CHECK(ok > 100 && bad > 100);
}

int main(void)
{
    (void)t_url; /* t.h's database helper: not needed here */
    E = tide_error_new();
    T_RUN(kinds_of_types);
    T_RUN(type_names);
    T_RUN(decode_int);
    T_RUN(encode_int);
    T_RUN(decode_float);
    T_RUN(decode_float_locale);
    T_RUN(decode_bool);
    T_RUN(decode_bytea);
    T_RUN(datetime_passthrough);
    T_RUN(datetime_time);
    T_RUN(datetime_timestamp);
    T_RUN(datetime_timestamptz);
    T_RUN(datetime_length_limit);
    T_RUN(json_structure);
    T_RUN(json_numbers);
    T_RUN(json_strings);
    T_RUN(json_syntax_errors);
    T_RUN(json_depth_limit);
    T_RUN(json_visitor_stops);
    T_RUN(json_missing_callbacks);
    T_RUN(array_basic);
    T_RUN(array_quoting);
    T_RUN(array_dimensions);
    T_RUN(array_element_kinds);
    T_RUN(array_json_elements);
    T_RUN(array_malformed);
    T_RUN(array_visitor_stops);
    T_RUN(out_of_memory);
    T_RUN(fuzz);
    tide_error_free(E);
    return t_done();
}
