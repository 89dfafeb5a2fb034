/* tide_error: what went wrong, with the server's structured fields. */
#ifndef TIDE_ERROR_H
#define TIDE_ERROR_H

#include "tide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stable names for the classes callers branch on. Any other server error is
 * TIDE_E_DATABASE; its SQLSTATE says which. */
typedef enum tide_code {
    TIDE_E_NONE = 0,
    TIDE_E_DATABASE,                /* "database_error" */
    TIDE_E_UNIQUE_VIOLATION,        /* 23505 */
    TIDE_E_FOREIGN_KEY_VIOLATION,   /* 23503 */
    TIDE_E_NOT_NULL_VIOLATION,      /* 23502 */
    TIDE_E_CHECK_VIOLATION,         /* 23514 */
    TIDE_E_SERIALIZATION_FAILURE,   /* 40001 */
    TIDE_E_DEADLOCK_DETECTED,       /* 40P01 */
    TIDE_E_QUERY_CANCELED,          /* 57014 */
    TIDE_E_CONNECTION_FAILURE,      /* class 08, 57P01..57P03, or the socket died */
    TIDE_E_POOL_TIMEOUT,            /* no connection became free in time */
    TIDE_E_TRANSACTION_ROLLED_BACK, /* COMMIT answered ROLLBACK */
    TIDE_E_COMMIT_UNKNOWN,          /* the connection died during COMMIT */
    TIDE_E_INVALID_ARGUMENT,        /* a value or option the caller passed is unusable */
    TIDE_E_OUT_OF_MEMORY,
    TIDE_E_MISUSE,                  /* wrong state or handle */
    TIDE_E_LOCK_NOT_AVAILABLE,      /* 55P03: NOWAIT, or lock_timeout ran out */
    TIDE_E_COUNT_
} tide_code;

typedef enum tide_error_field {
    TIDE_FIELD_SQLSTATE = 0,
    TIDE_FIELD_MESSAGE,
    TIDE_FIELD_DETAIL,
    TIDE_FIELD_HINT,
    TIDE_FIELD_CONSTRAINT,
    TIDE_FIELD_SCHEMA,
    TIDE_FIELD_TABLE,
    TIDE_FIELD_COLUMN,
    TIDE_FIELD_DATATYPE,
    TIDE_FIELD_COUNT_
} tide_error_field;

typedef struct tide_error tide_error;

/* A caller-owned error, reused across calls; each failing call overwrites it. */
TIDE_API tide_error *tide_error_new(void);
TIDE_API void tide_error_free(tide_error *err);
TIDE_API void tide_error_clear(tide_error *err);

TIDE_API tide_code tide_error_code(const tide_error *err);
/* "unique_violation", "connection_failure", ...; never NULL. */
TIDE_API const char *tide_error_code_name(tide_code code);
/* The field's text, or NULL when absent. Valid until err is next written.
 * TIDE_FIELD_MESSAGE is never NULL for an error that is set. */
TIDE_API const char *tide_error_get(const tide_error *err, tide_error_field field);
/* The i-th column (from 0) of the key a unique or foreign key violation
 * names in its detail ("Key (email, org_id)=(...)"): its text and length,
 * unquoted; an expression index's column is the expression's text. 0 when
 * there is no such column. */
TIDE_API int tide_error_key_column(const tide_error *err, int i, const char **name, size_t *len);
TIDE_API const char *tide_error_message(const tide_error *err);
/* Copies every field of src into dst. Returns TIDE_OK or TIDE_ERROR on OOM. */
TIDE_API int tide_error_copy(tide_error *dst, const tide_error *src);

/* The code for a SQLSTATE (five characters). */
TIDE_API tide_code tide_code_from_sqlstate(const char *sqlstate);

#ifdef __cplusplus
}
#endif
#endif
