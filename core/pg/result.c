#include <stdlib.h>
#include <string.h>
#include "pg.h"

tide_result *tpg_result_wrap(PGresult *r, tide_error *err)
{
    int cols = PQnfields(r);
    tide_result *res = tutil_malloc(sizeof *res + (size_t)cols * sizeof(tide_kind));
    if (!res) {
        PQclear(r);
        tutil_error_oom(err);
        return NULL;
    }
    res->pg = r;
    res->rows = PQntuples(r);
    res->cols = cols;
    for (int i = 0; i < cols; i++)
        res->kinds[i] = tide_kind_of_type(PQftype(r, i));
    const char *n = PQcmdTuples(r);
    res->affected = (n && *n) ? strtoll(n, NULL, 10) : -1;
    return res;
}

void tide_result_free(tide_result *res)
{
    if (!res)
        return;
    PQclear(res->pg);
    tutil_free(res, sizeof *res + (size_t)res->cols * sizeof(tide_kind));
}

int tide_result_rows(const tide_result *res) { return res ? res->rows : 0; }
int tide_result_cols(const tide_result *res) { return res ? res->cols : 0; }

const char *tide_result_col_name(const tide_result *res, int col)
{
    if (!res || col < 0 || col >= res->cols)
        return NULL;
    return PQfname(res->pg, col);
}

unsigned int tide_result_col_type(const tide_result *res, int col)
{
    if (!res || col < 0 || col >= res->cols)
        return 0;
    return PQftype(res->pg, col);
}

tide_kind tide_result_col_kind(const tide_result *res, int col)
{
    if (!res || col < 0 || col >= res->cols)
        return TIDE_KIND_NULL;
    return res->kinds[col];
}

int64_t tide_result_affected(const tide_result *res) { return res ? res->affected : -1; }

const char *tide_result_command(const tide_result *res)
{
    return res ? PQcmdStatus(res->pg) : "";
}

int tide_result_is_null(const tide_result *res, int row, int col)
{
    if (!res || row < 0 || row >= res->rows || col < 0 || col >= res->cols)
        return 1;
    return PQgetisnull(res->pg, row, col);
}

const char *tide_result_text(const tide_result *res, int row, int col, size_t *len)
{
    if (!res || row < 0 || row >= res->rows || col < 0 || col >= res->cols) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = (size_t)PQgetlength(res->pg, row, col);
    return PQgetvalue(res->pg, row, col);
}

void tpg_error_from_result(tide_error *err, const PGresult *r, PGconn *pg)
{
    if (!err)
        return;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int bad = pg && PQstatus(pg) == CONNECTION_BAD;
    tide_code code = state ? tide_code_from_sqlstate(state) : TIDE_E_CONNECTION_FAILURE;
    if (bad)
        code = TIDE_E_CONNECTION_FAILURE;
    if (!msg || !*msg) {
        msg = r ? PQresultErrorMessage(r) : NULL;
        if ((!msg || !*msg) && pg)
            msg = PQerrorMessage(pg);
        if (!msg || !*msg)
            msg = "connection to the server was lost";
    }
    /* libpq's own messages end in a newline; the server's primary one does not. */
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    char *m = tutil_strndup(msg, n);
    tutil_error_set(err, code, m ? m : msg);
    tutil_strfree(m);
    if (!r)
        return;
    static const struct { tide_error_field f; int diag; } fields[] = {
        {TIDE_FIELD_SQLSTATE, PG_DIAG_SQLSTATE},   {TIDE_FIELD_DETAIL, PG_DIAG_MESSAGE_DETAIL},
        {TIDE_FIELD_HINT, PG_DIAG_MESSAGE_HINT},   {TIDE_FIELD_CONSTRAINT, PG_DIAG_CONSTRAINT_NAME},
        {TIDE_FIELD_SCHEMA, PG_DIAG_SCHEMA_NAME},  {TIDE_FIELD_TABLE, PG_DIAG_TABLE_NAME},
        {TIDE_FIELD_COLUMN, PG_DIAG_COLUMN_NAME},  {TIDE_FIELD_DATATYPE, PG_DIAG_DATATYPE_NAME},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        tutil_error_field(err, fields[i].f, PQresultErrorField(r, fields[i].diag));
}
