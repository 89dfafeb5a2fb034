/* Private to the Lua binding (lua/src). */
#ifndef TIDE_TLUA_H
#define TIDE_TLUA_H

#include <lauxlib.h>
#include <lua.h>
#include "tide.h"

#define TLUA_POOL "tide.pool"
#define TLUA_CONN "tide.conn"
#define TLUA_ERROR "tide.error"
#define TLUA_NULL "tide.null"
#define TLUA_ARRAY "tide.array"   /* marks a table that encodes as a JSON array */
#define TLUA_VALUES "tide.values" /* a JSON array that is always one value (create_many's columns) */

typedef struct tlua_pool {
    tide_pool *pool;
    int owned;            /* freed by __gc/__close; 0 for a host's pool */
    tide_error *err;
    tide_result *pending; /* a result being turned into Lua values */
} tlua_pool;

typedef struct tlua_conn {
    tide_conn *conn;
    tide_pool *pool;      /* NULL once released */
    tide_error *err;
    tide_result *pending;
} tlua_conn;

/* Parameters: Lua values at stack indices first..last become tide_values.
 * Strings point into the Lua stack; tables are JSON-encoded into buffers
 * kept alive in a table at stack index `keep`. */
#define TLUA_INLINE_PARAMS 16
typedef struct tlua_params {
    tide_value inline_[TLUA_INLINE_PARAMS];
    tide_value *v;
    int n;
} tlua_params;
void tlua_params_collect(lua_State *L, int first, int last, tlua_params *p);

/* How a result becomes Lua values. */
enum { TLUA_ROWS, TLUA_ONE, TLUA_EXEC };
int tlua_push_result(lua_State *L, tide_result *res, int mode);
void tlua_push_value(lua_State *L, tide_kind kind, const char *s, size_t len);

/* Pushes the JSON text of the Lua value at idx. */
void tlua_json_push(lua_State *L, int idx);

/* Raises err as a structured error object. */
int tlua_raise(lua_State *L, const tide_error *err);
void tlua_push_error(lua_State *L, const tide_error *err);
void tlua_push_null(lua_State *L);
int tlua_is_null(lua_State *L, int idx);

/* Metatables and functions, registered by luaopen_tide_core. */
void tlua_open_pool(lua_State *L);
void tlua_open_conn(lua_State *L);
void tlua_open_values(lua_State *L);
void tlua_open_schema(lua_State *L);
void tlua_open_model(lua_State *L);
tide_schema *tlua_check_schema(lua_State *L, int idx);
tlua_pool *tlua_push_pool(lua_State *L, tide_pool *pool, int owned);
int tlua_run(lua_State *L, tide_conn *conn, tide_error *err, tide_result **pending, int mode);

#endif
