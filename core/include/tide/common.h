/* tide — shared definitions of the public C API.
 *
 * Conventions, for every header in this directory:
 * - Every object is an opaque handle with a _new/_free pair; _free(NULL) does
 *   nothing.
 * - Fallible functions return an int status (enum tide_status) and fill the
 *   caller-owned tide_error passed as their last argument (which may be NULL
 *   when the caller does not want details).
 * - Returned pointers are borrowed unless the comment says the caller owns
 *   them; the comment says how long a borrowed pointer stays valid.
 */
#ifndef TIDE_COMMON_H
#define TIDE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TIDE_API __declspec(dllexport)
#else
#define TIDE_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TIDE_VERSION_MAJOR 0
#define TIDE_VERSION_MINOR 1
#define TIDE_VERSION_PATCH 0
#define TIDE_VERSION "0.1.0"

enum tide_status {
    TIDE_OK = 0,       /* done */
    TIDE_PENDING = 1,  /* a non-blocking step would block: wait on the socket */
    TIDE_ERROR = -1,   /* failed: details in the tide_error */
    TIDE_MISUSE = -2   /* the caller broke the API contract (NULL handle, wrong state) */
};

/* What a connection waits for before its next step can progress. */
enum tide_want {
    TIDE_WANT_NOTHING = 0,
    TIDE_WANT_READ = 1,
    TIDE_WANT_WRITE = 2
};

TIDE_API const char *tide_version(void);

/* An allocator in the shape of lua_Alloc: nsize == 0 frees ptr and returns
 * NULL; otherwise it (re)allocates ptr from osize to nsize bytes. Every
 * allocation the core makes goes through it (libpq's own do not).
 * Set it before creating any handle; NULL restores malloc/realloc/free. */
typedef void *(*tide_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);
TIDE_API void tide_set_allocator(tide_alloc_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
