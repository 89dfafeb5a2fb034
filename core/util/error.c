#include <stdio.h>
#include <string.h>
#include "util.h"

/* All fields live in one buffer; off[f] is the field's offset + 1, 0 when
 * absent. On OOM the message falls back to a static string. */
struct tide_error {
    tide_code code;
    size_t off[TIDE_FIELD_COUNT_];
    tutil_buf text;
    const char *static_msg;
};

static const char *const code_names[TIDE_E_COUNT_] = {
    [TIDE_E_NONE] = "none",
    [TIDE_E_DATABASE] = "database_error",
    [TIDE_E_UNIQUE_VIOLATION] = "unique_violation",
    [TIDE_E_FOREIGN_KEY_VIOLATION] = "foreign_key_violation",
    [TIDE_E_NOT_NULL_VIOLATION] = "not_null_violation",
    [TIDE_E_CHECK_VIOLATION] = "check_violation",
    [TIDE_E_SERIALIZATION_FAILURE] = "serialization_failure",
    [TIDE_E_DEADLOCK_DETECTED] = "deadlock_detected",
    [TIDE_E_QUERY_CANCELED] = "query_canceled",
    [TIDE_E_CONNECTION_FAILURE] = "connection_failure",
    [TIDE_E_POOL_TIMEOUT] = "pool_timeout",
    [TIDE_E_TRANSACTION_ROLLED_BACK] = "transaction_rolled_back",
    [TIDE_E_COMMIT_UNKNOWN] = "commit_unknown",
    [TIDE_E_INVALID_ARGUMENT] = "invalid_argument",
    [TIDE_E_OUT_OF_MEMORY] = "out_of_memory",
    [TIDE_E_MISUSE] = "misuse",
    [TIDE_E_LOCK_NOT_AVAILABLE] = "lock_not_available",
};

tide_error *tide_error_new(void)
{
    tide_error *e = tutil_calloc(1, sizeof *e);
    if (e)
        tutil_buf_init(&e->text);
    return e;
}

void tide_error_free(tide_error *err)
{
    if (!err)
        return;
    tutil_buf_free(&err->text);
    tutil_free(err, sizeof *err);
}

void tide_error_clear(tide_error *err)
{
    if (!err)
        return;
    err->code = TIDE_E_NONE;
    memset(err->off, 0, sizeof err->off);
    tutil_buf_reset(&err->text);
    err->static_msg = NULL;
}

tide_code tide_error_code(const tide_error *err)
{
    return err ? err->code : TIDE_E_NONE;
}

const char *tide_error_code_name(tide_code code)
{
    if ((int)code < 0 || code >= TIDE_E_COUNT_)
        return "unknown";
    return code_names[code];
}

const char *tide_error_get(const tide_error *err, tide_error_field f)
{
    if (!err || (int)f < 0 || f >= TIDE_FIELD_COUNT_)
        return NULL;
    if (f == TIDE_FIELD_MESSAGE && err->static_msg)
        return err->static_msg;
    if (!err->off[f] || err->text.broken)
        return f == TIDE_FIELD_MESSAGE && err->code ? "out of memory" : NULL;
    return err->text.data + err->off[f] - 1;
}

const char *tide_error_message(const tide_error *err)
{
    const char *m = tide_error_get(err, TIDE_FIELD_MESSAGE);
    return m ? m : "";
}

void tutil_error_field(tide_error *err, tide_error_field f, const char *value)
{
    if (!err || !value)
        return;
    size_t at = err->text.len;
    tutil_buf_add(&err->text, value, strlen(value) + 1);
    if (!err->text.broken)
        err->off[f] = at + 1;
}

void tutil_error_set(tide_error *err, tide_code code, const char *msg)
{
    if (!err)
        return;
    tide_error_clear(err);
    err->code = code;
    tutil_error_field(err, TIDE_FIELD_MESSAGE, msg);
}

void tutil_error_setf(tide_error *err, tide_code code, const char *fmt, ...)
{
    if (!err)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tutil_error_set(err, code, msg);
}

void tutil_error_oom(tide_error *err)
{
    if (!err)
        return;
    tide_error_clear(err);
    err->code = TIDE_E_OUT_OF_MEMORY;
    err->static_msg = "out of memory";
}

int tide_error_copy(tide_error *dst, const tide_error *src)
{
    if (!dst || !src || dst == src)
        return TIDE_OK;
    tide_error_clear(dst);
    dst->code = src->code;
    dst->static_msg = src->static_msg;
    for (int f = 0; f < TIDE_FIELD_COUNT_; f++) {
        if (src->off[f] && !src->text.broken)
            tutil_error_field(dst, f, src->text.data + src->off[f] - 1);
    }
    if (dst->text.broken) {
        tutil_error_oom(dst);
        return TIDE_ERROR;
    }
    return TIDE_OK;
}

tide_code tide_code_from_sqlstate(const char *s)
{
    if (!s || strlen(s) != 5)
        return TIDE_E_DATABASE;
    if (!strcmp(s, "23505")) return TIDE_E_UNIQUE_VIOLATION;
    if (!strcmp(s, "23503")) return TIDE_E_FOREIGN_KEY_VIOLATION;
    if (!strcmp(s, "23502")) return TIDE_E_NOT_NULL_VIOLATION;
    if (!strcmp(s, "23514")) return TIDE_E_CHECK_VIOLATION;
    if (!strcmp(s, "40001")) return TIDE_E_SERIALIZATION_FAILURE;
    if (!strcmp(s, "40P01")) return TIDE_E_DEADLOCK_DETECTED;
    if (!strcmp(s, "57014")) return TIDE_E_QUERY_CANCELED;
    if (!strcmp(s, "55P03")) return TIDE_E_LOCK_NOT_AVAILABLE;
    /* connection exceptions, admin/crash shutdown, cannot connect now */
    if (!strncmp(s, "08", 2) || !strcmp(s, "57P01") || !strcmp(s, "57P02") || !strcmp(s, "57P03"))
        return TIDE_E_CONNECTION_FAILURE;
    return TIDE_E_DATABASE;
}

int tide_error_key_column(const tide_error *err, int i, const char **name, size_t *len)
{
    const char *detail = tide_error_get(err, TIDE_FIELD_DETAIL);
    const char *open = detail ? strstr(detail, "Key (") : NULL;
    const char *close = open ? strstr(open, ")=(") : NULL;
    if (!close || i < 0)
        return 0;
    const char *p = open + 5;
    for (int n = 0; p < close; n++) {
        while (p < close && (*p == ' ' || *p == ','))
            p++;
        const char *start = p;
        size_t l;
        if (*p == '"') { /* a quoted column name */
            start = ++p;
            while (p < close && *p != '"')
                p++;
            l = (size_t)(p - start);
            p++;
        } else {
            while (p < close && *p != ',')
                p++;
            l = (size_t)(p - start);
        }
        if (!l)
            return 0;
        if (n == i) {
            *name = start;
            *len = l;
            return 1;
        }
    }
    return 0;
}
