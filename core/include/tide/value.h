/* Values crossing between a caller and PostgreSQL: parameters going in,
 * typed decoding coming out. */
#ifndef TIDE_VALUE_H
#define TIDE_VALUE_H

#include "tide/common.h"
#include "tide/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds a value can have. For parameters, the caller sets one of NULL,
 * BOOL, INT, FLOAT, TEXT, BYTEA, JSON. For result columns and array elements
 * the kind is derived from the column's type OID (tide_kind_of_type). */
typedef enum tide_kind {
    TIDE_KIND_NULL = 0,
    TIDE_KIND_BOOL,        /* bool */
    TIDE_KIND_INT,         /* int2, int4, int8, oid: fits a signed 64-bit integer */
    TIDE_KIND_FLOAT,       /* float4, float8 (NaN, Infinity, -Infinity included) */
    TIDE_KIND_NUMERIC,     /* numeric: kept as its exact decimal text */
    TIDE_KIND_TEXT,        /* text, varchar, char, name, uuid, enums, anything else */
    TIDE_KIND_BYTEA,       /* bytea: arbitrary bytes */
    TIDE_KIND_JSON,        /* json, jsonb */
    TIDE_KIND_DATE,        /* date: YYYY-MM-DD */
    TIDE_KIND_TIME,        /* time, timetz: HH:MM:SS[.ffffff][+HH:MM] */
    TIDE_KIND_TIMESTAMP,   /* timestamp: YYYY-MM-DDTHH:MM:SS[.ffffff] */
    TIDE_KIND_TIMESTAMPTZ, /* timestamptz: YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM */
    TIDE_KIND_INTERVAL,    /* interval: ISO 8601 duration, e.g. P1Y2M3DT4H5M6S */
    TIDE_KIND_ARRAY        /* any array type; see tide_array_element_type */
} tide_kind;

/* A parameter: filled in by the caller, copied by the callee.
 * `type` is the PostgreSQL type OID to declare when the statement is first
 * prepared on a connection, or 0 to let the server infer it from the SQL
 * (the usual case). The value is then encoded to fit the parameter's type:
 * a FLOAT with an integral value is accepted for an integer parameter, 3.5 is
 * refused; TEXT must be valid UTF-8 without NUL bytes; BYTEA is any bytes;
 * JSON is JSON text, sent as-is to json/jsonb/text parameters and converted
 * to an array literal for array parameters. */
typedef struct tide_value {
    tide_kind kind;
    unsigned int type;
    union {
        int b;
        int64_t i;
        double f;
        struct { const char *ptr; size_t len; } s; /* TEXT, BYTEA, JSON, NUMERIC */
    } as;
} tide_value;

/* Decoding: callbacks for structured values (json/jsonb and arrays). Each
 * returns 0 to go on or non-zero to stop the walk (tide_decode_* then fails
 * with TIDE_ERROR and the error that the callback left, or a generic one).
 *
 * scalar() receives:
 *   - for JSON: TIDE_KIND_NULL, TIDE_KIND_BOOL ("true"/"false"),
 *     TIDE_KIND_INT (an integer that fits int64), TIDE_KIND_FLOAT (any other
 *     number), TIDE_KIND_TEXT (the unescaped string);
 *   - for array elements: TIDE_KIND_NULL, or the element type's kind with the
 *     element's text (unquoted, unescaped), to be decoded like a column of
 *     that kind. Elements of json/jsonb arrays are walked as JSON instead.
 * The text is valid only during the call and is not NUL-terminated. */
typedef struct tide_visitor {
    int (*begin_array)(void *ud);
    int (*end_array)(void *ud);
    int (*begin_object)(void *ud);
    int (*key)(void *ud, const char *s, size_t len);
    int (*end_object)(void *ud);
    int (*scalar)(void *ud, tide_kind kind, const char *s, size_t len);
} tide_visitor;

/* The kind of a column of type `type` (an OID). Unknown types are TEXT. */
TIDE_API tide_kind tide_kind_of_type(unsigned int type);
/* For an array type, the element type's OID; 0 for a non-array type. */
TIDE_API unsigned int tide_array_element_type(unsigned int type);

/* Decoders for the text form PostgreSQL sends (text result format).
 * Each returns TIDE_OK or TIDE_ERROR (invalid input, err says why). */
TIDE_API int tide_decode_int(const char *s, size_t len, int64_t *out, tide_error *err);
TIDE_API int tide_decode_float(const char *s, size_t len, double *out, tide_error *err);
TIDE_API int tide_decode_bool(const char *s, size_t len, int *out, tide_error *err);
/* Decodes bytea text (hex "\x..." or the old escape format) into out, which
 * must hold at least len bytes; *outlen receives the decoded length. */
TIDE_API int tide_decode_bytea(const char *s, size_t len, char *out, size_t *outlen, tide_error *err);
/* Rewrites a date/time value of the given kind to ISO 8601 (see tide_kind)
 * into out, which must hold TIDE_DATETIME_MAX bytes; *outlen gets its length.
 * 'infinity', '-infinity' and BC dates are passed through unchanged. */
#define TIDE_DATETIME_MAX 64
TIDE_API int tide_decode_datetime(tide_kind kind, const char *s, size_t len, char *out, size_t *outlen, tide_error *err);
/* The decimal text of v into buf, which must hold TIDE_INT_TEXT_MAX bytes;
 * NUL-terminated; returns its length. snprintf's cost is most of a small
 * parameter's encoding, and of an integer array literal's. */
#define TIDE_INT_TEXT_MAX 24
TIDE_API size_t tide_encode_int(int64_t v, char *buf);
/* Walks JSON text. */
TIDE_API int tide_decode_json(const char *s, size_t len, const tide_visitor *v, void *ud, tide_error *err);
/* Walks an array literal ({1,2,NULL}, {{1,2},{3,4}}, {"a b","c\"d"}) whose
 * elements have type `element_type`. */
TIDE_API int tide_decode_array(unsigned int element_type, const char *s, size_t len,
                               const tide_visitor *v, void *ud, tide_error *err);

#ifdef __cplusplus
}
#endif
#endif
