/* Private to core/pg: the connection and result structs the pool shares. */
#ifndef TIDE_PG_H
#define TIDE_PG_H

#include <libpq-fe.h>
#include "tide/conn.h"
#include "tide/pool.h"
#include "tide/result.h"
#include "util.h"

struct tide_result {
    PGresult *pg;
    int rows, cols;
    int64_t affected;
    tide_kind kinds[];
};

/* Takes ownership of r (cleared on failure too). */
tide_result *tpg_result_wrap(PGresult *r, tide_error *err);
/* Fills err from an error result (or from the connection when r is NULL). */
void tpg_error_from_result(tide_error *err, const PGresult *r, PGconn *pg);

int64_t tpg_now_ms(void);
int64_t tpg_now_us(void);   /* precise, for short intervals */

/* What a statement may leave behind in the session (see session.c). */
enum {
    TPG_FX_SESSION = 1,  /* SET, LISTEN, temp tables, advisory locks...: reset on release */
    TPG_FX_PREPARE = 2   /* the user's own PREPARE: DEALLOCATE ALL on release */
};
unsigned tpg_session_effects(const char *sql, size_t len);

/* A prepared statement in a connection's cache. */
typedef struct tpg_stmt {
    char *sql;
    size_t len;
    uint64_t hash;
    char name[24];
    int nparams;
    Oid *types;
    unsigned effects;
    int ready;                      /* prepared and described on the server */
    struct tpg_stmt *hnext;         /* hash chain */
    struct tpg_stmt *prev, *next;   /* LRU list, most recent first */
} tpg_stmt;

enum tpg_state {
    TPG_IDLE = 0,
    TPG_CONNECTING,
    TPG_DEALLOC,     /* dropping an evicted statement */
    TPG_PREPARE,
    TPG_DESCRIBE,
    TPG_EXEC,        /* a prepared statement's results */
    TPG_SIMPLE,      /* a simple-protocol query's results, or an unnamed statement's (no_prepare) */
    TPG_LEARN,       /* no_prepare: Parse and Describe of the unnamed statement, in a pipeline */
    TPG_DONE
};

struct tide_conn {
    PGconn *pg;
    char **keywords, **values;  /* for PQconnectStartParams, NULL-terminated */
    size_t nparams_alloc;       /* slots in keywords and values */
    char *describe;
    char *password;             /* to scrub from messages; never printed */
    int connect_timeout_ms;
    int stmt_cache_size;
    int no_prepare;             /* behind a transaction pooler: unnamed statements only */

    enum tpg_state state;
    int wants;
    int broken;
    int64_t deadline_ms;        /* connect deadline */

    /* the query in flight */
    tpg_stmt *cur;
    int flags;
    int nparams;
    int retried;                /* re-prepared once after 0A000 */
    tide_value *saved;          /* params kept until the statement is prepared */
    int saved_cap;
    tutil_buf saved_text;
    tutil_buf enc;              /* encoded parameter values */
    const char **pvals;
    int *plens, *pfmts;
    size_t *poffs;
    int pcap;
    PGresult *last;             /* the result to hand out */
    PGresult *errres;           /* the first error result */
    tide_result *result;

    /* the statement cache */
    tpg_stmt **buckets;
    unsigned nbuckets;
    tpg_stmt *lru_head, *lru_tail;
    tpg_stmt *hot;              /* the statement last run, and the text pointer */
    const char *hot_sql;        /* it was run with: a repeat skips the hash */
    int ncached;
    unsigned next_id;
    char **pending_dealloc;     /* names of evicted statements still on the server */
    int npending, pending_cap;

    unsigned effects;           /* TPG_FX_* accumulated since acquire */

    /* owned by the pool */
    tide_pool *pool;
    struct tide_conn *pool_next;
    int checked_out;
    int64_t created_ms, idle_since_ms;
    int64_t released_us;        /* precise time of the last release */
};

/* Counts one statement sent on a pooled connection (pool.c). */
void tpg_pool_count_statement(tide_pool *p);

/* Blocking helpers for the pool. */
int tpg_conn_reset_session(tide_conn *conn, tide_error *err);
int tpg_conn_rollback(tide_conn *conn, tide_error *err);
int tpg_conn_ping(tide_conn *conn, int timeout_ms, tide_error *err);
/* An idle connection's socket is readable only if the server said something
 * (usually that it is going away): 0 when it still looks healthy. */
int tpg_conn_check_idle(tide_conn *conn);
void tpg_conn_clear_cache(tide_conn *conn);

#endif
