/* tide_result: the rows a statement returned, in PostgreSQL's text form,
 * with each column's type so a caller can decode it (see value.h). */
#ifndef TIDE_RESULT_H
#define TIDE_RESULT_H

#include "tide/common.h"
#include "tide/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_result tide_result;

TIDE_API void tide_result_free(tide_result *res);

TIDE_API int tide_result_rows(const tide_result *res);
TIDE_API int tide_result_cols(const tide_result *res);
/* Valid until tide_result_free. */
TIDE_API const char *tide_result_col_name(const tide_result *res, int col);
TIDE_API unsigned int tide_result_col_type(const tide_result *res, int col);
TIDE_API tide_kind tide_result_col_kind(const tide_result *res, int col);
/* Rows inserted, updated, deleted, selected, moved or copied; -1 when the
 * command reports no count. */
TIDE_API int64_t tide_result_affected(const tide_result *res);
/* The command tag ("SELECT 3", "INSERT 0 1", "COMMIT"). Valid until free. */
TIDE_API const char *tide_result_command(const tide_result *res);

TIDE_API int tide_result_is_null(const tide_result *res, int row, int col);
/* The value's text form (NUL-terminated; *len gets its length when len is
 * not NULL). "" for NULL: check tide_result_is_null. Valid until free. */
TIDE_API const char *tide_result_text(const tide_result *res, int row, int col, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
