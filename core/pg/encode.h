/* Private to core/pg: turning parameter values into what the server expects
 * for a parameter's type. */
#ifndef TIDE_PG_ENCODE_H
#define TIDE_PG_ENCODE_H

#include "tide/value.h"
#include "util.h"

/* Appends the wire form of v (never TIDE_KIND_NULL) for a parameter of type
 * OID `type` (0: unknown) to out, without a terminating NUL, and sets
 * *binary to 1 when it must be sent in binary format (bytea), else 0.
 * TIDE_ERROR with TIDE_E_INVALID_ARGUMENT when the value cannot be bound to
 * that type (out is then left as it was), TIDE_E_OUT_OF_MEMORY when out or
 * scratch memory broke. */
int tpg_encode_param(const tide_value *v, unsigned int type, tutil_buf *out, int *binary, tide_error *err);

/* The SQL name of a type for messages: "integer", "text[]", or "type 12345"
 * for one tide does not know. Written into buf (TPG_TYPE_NAME_MAX bytes
 * suffice); returns buf. Defined in decode.c, next to the type table. */
#define TPG_TYPE_NAME_MAX 64
const char *tpg_type_name(unsigned int type, char *buf, size_t size);

#endif
