/* DDL from a schema: golden statements (no server); then on the real
 * server: every golden schema runs, a blog and a multi-tenant schema are
 * created and checked through the catalogs, generated index names match the
 * server's own; then a failing allocator at every allocation of
 * tide_schema_ddl. Database tests work in pg schemas of their own and drop
 * them, so the file can run twice against one server. */
#include "t.h"
#include "tide.h"
#include "tschema.h"

/* FIELD(m, .name = ..., ...) starts from tide_field_def_init's defaults
 * (precision and scale -1) and overrides some: overriding an initializer is
 * the point here. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

static tide_error *err;

static void check_ok(int rc, const char *what)
{
    if (rc != TIDE_OK)
        T_FAILF("%s: %s", what, tide_error_message(err));
}

#define FIELD(m, ...) \
    check_ok(tide_model_add_field((m), &(tide_field_def){.precision = -1, .scale = -1, __VA_ARGS__}, err), "field")
#define REL(m, ...) check_ok(tide_model_add_relation((m), &(tide_relation_def){__VA_ARGS__}, err), "relation")
#define INDEX(m, ...) check_ok(tide_model_add_index((m), &(tide_index_def){__VA_ARGS__}, err), "index")
#define PARTS(...) .parts = (tide_index_part[]){__VA_ARGS__}, \
    .nparts = (int)(sizeof((tide_index_part[]){__VA_ARGS__}) / sizeof(tide_index_part))
#define NAMES(...) (const char *const[]){__VA_ARGS__}
#define SEQ(s, ...) check_ok(tide_schema_add_sequence((s), &(tide_sequence_def){__VA_ARGS__}, err), "sequence")
#define VIEW(m, ...) check_ok(tide_model_set_view((m), &(tide_view_def){.with_data = 1, __VA_ARGS__}, err), "view")
#define POLICY(m, ...) check_ok(tide_model_add_policy((m), &(tide_policy_def){__VA_ARGS__}, err), "policy")
#define NEXTVAL(seq) .default_kind = TIDE_DEFAULT_NEXTVAL, .default_value = (seq)

static tide_model *model(tide_schema *s, const char *name, const char *table, const char *pg_schema)
{
    tide_model *m = tide_schema_add_model(s, name, table, pg_schema, err);
    if (!m)
        T_FAILF("model %s: %s", name, tide_error_message(err));
    return m;
}

static void add_enum(tide_schema *s, const char *name, const char *pg_schema, const char *const *values, int n)
{
    check_ok(tide_schema_add_enum(s, name, pg_schema, values, n, err), "enum");
}

/* A model with an integer primary key "id". */
static tide_model *keyed(tide_schema *s, const char *name, const char *table)
{
    tide_model *m = model(s, name, table, NULL);
    if (m)
        FIELD(m, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    return m;
}

/* Every statement followed by ";\n": the file a person would read. NULL
 * when the schema does not finish or the DDL fails. Free with free(). */
static char *ddl_text(tide_schema *s)
{
    if (tide_schema_finish(s, err) != TIDE_OK) {
        T_FAILF("finish: %s", tide_error_message(err));
        return NULL;
    }
    tide_ddl *ddl;
    if (tide_schema_ddl(s, &ddl, err) != TIDE_OK) {
        T_FAILF("ddl: %s", tide_error_message(err));
        return NULL;
    }
    size_t len = 0;
    for (int i = 0; i < tide_ddl_count(ddl); i++)
        len += strlen(tide_ddl_statement(ddl, i)) + 2;
    char *out = malloc(len + 1), *p = out;
    for (int i = 0; i < tide_ddl_count(ddl); i++)
        p += sprintf(p, "%s;\n", tide_ddl_statement(ddl, i));
    *p = '\0';
    tide_ddl_free(ddl);
    return out;
}

/* Compares the whole DDL of a schema with want, printing it all on a
 * difference (so a changed golden is easy to review), and frees the schema. */
#define T_DDL(schema, want)                                                 \
    do {                                                                    \
        tide_schema *s_ = (schema);                                         \
        char *got_ = ddl_text(s_);                                          \
        if (got_ && strcmp(got_, (want)) != 0) {                            \
            const char *w_ = (want);                                        \
            size_t i_ = 0;                                                  \
            while (got_[i_] && got_[i_] == w_[i_])                          \
                i_++;                                                       \
            T_FAILF("DDL differs at byte %zu (\"%.40s\"); got:\n%s", i_, got_ + i_, got_); \
        }                                                                   \
        free(got_);                                                         \
        tide_schema_free(s_);                                               \
    } while (0)

/* 60 bytes, twelve "é" from byte 35 on. */
#define LONG_TABLE "a_table_with_a_name_long_enough_to_" \
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "x"
/* 20 bytes: with LONG_TABLE and "_idx", the table is cut inside an "é" */
#define LONG_COLUMN "c\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "d"
/* 41 bytes each: "tt" and both joined, the columns are cut inside an "é" */
#define E20 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" \
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define LONG_C1 "c" E20
#define LONG_C2 "d" E20

/* ---- golden ------------------------------------------------------------------ */

static tide_schema *types_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    add_enum(s, "mood", NULL, NAMES("sad", "ok", "happy"), 3);
    add_enum(s, "level", "ddl_app", NAMES("low", "high"), 2);
    tide_model *m = keyed(s, "Thing", NULL);
    FIELD(m, .name = "a", .type = TIDE_T_SMALLINT);
    FIELD(m, .name = "b", .type = TIDE_T_INTEGER);
    FIELD(m, .name = "c", .type = TIDE_T_BIGINT);
    FIELD(m, .name = "d", .type = TIDE_T_SMALLSERIAL);
    FIELD(m, .name = "e", .type = TIDE_T_SERIAL);
    FIELD(m, .name = "f", .type = TIDE_T_BIGSERIAL);
    FIELD(m, .name = "g", .type = TIDE_T_REAL);
    FIELD(m, .name = "h", .type = TIDE_T_DOUBLE);
    FIELD(m, .name = "i", .type = TIDE_T_NUMERIC);
    FIELD(m, .name = "i2", .type = TIDE_T_NUMERIC, .precision = 12);
    FIELD(m, .name = "i3", .type = TIDE_T_NUMERIC, .precision = 10, .scale = 2);
    FIELD(m, .name = "j", .type = TIDE_T_TEXT);
    FIELD(m, .name = "k", .type = TIDE_T_VARCHAR);
    FIELD(m, .name = "k2", .type = TIDE_T_VARCHAR, .length = 40);
    FIELD(m, .name = "l", .type = TIDE_T_CHAR);
    FIELD(m, .name = "l2", .type = TIDE_T_CHAR, .length = 2);
    FIELD(m, .name = "n", .type = TIDE_T_BOOLEAN);
    FIELD(m, .name = "o", .type = TIDE_T_BYTEA);
    FIELD(m, .name = "p", .type = TIDE_T_UUID);
    FIELD(m, .name = "q", .type = TIDE_T_DATE);
    FIELD(m, .name = "r", .type = TIDE_T_TIME);
    FIELD(m, .name = "r2", .type = TIDE_T_TIME, .precision = 3);
    FIELD(m, .name = "s", .type = TIDE_T_TIMETZ);
    FIELD(m, .name = "s2", .type = TIDE_T_TIMETZ, .precision = 0);
    FIELD(m, .name = "t", .type = TIDE_T_TIMESTAMP);
    FIELD(m, .name = "t2", .type = TIDE_T_TIMESTAMP, .precision = 6);
    FIELD(m, .name = "u", .type = TIDE_T_TIMESTAMPTZ);
    FIELD(m, .name = "u2", .type = TIDE_T_TIMESTAMPTZ, .precision = 3);
    FIELD(m, .name = "v", .type = TIDE_T_INTERVAL);
    FIELD(m, .name = "w", .type = TIDE_T_JSON);
    FIELD(m, .name = "x", .type = TIDE_T_JSONB);
    FIELD(m, .name = "y", .type = TIDE_T_INET);
    FIELD(m, .name = "z", .type = TIDE_T_CIDR);
    FIELD(m, .name = "tsv", .type = TIDE_T_TSVECTOR);
    FIELD(m, .name = "mood", .type = TIDE_T_ENUM, .type_name = "mood");
    FIELD(m, .name = "level", .type = TIDE_T_ENUM, .type_name = "level", .nullable = 1);
    FIELD(m, .name = "spot", .type = TIDE_T_CUSTOM, .type_name = "point");
    FIELD(m, .name = "ints", .type = TIDE_T_INTEGER, .array_dims = 1);
    FIELD(m, .name = "grid", .type = TIDE_T_TEXT, .array_dims = 2);
    FIELD(m, .name = "codes", .type = TIDE_T_VARCHAR, .length = 8, .array_dims = 1);
    FIELD(m, .name = "moods", .type = TIDE_T_ENUM, .type_name = "mood", .array_dims = 1);
    FIELD(m, .name = "levels", .type = TIDE_T_ENUM, .type_name = "level", .array_dims = 1);
    FIELD(m, .name = "boxes", .type = TIDE_T_CUSTOM, .type_name = "box", .array_dims = 1);
    FIELD(m, .name = "renamed", .column = "the column", .type = TIDE_T_TEXT);
    return s;
}

T_CASE(every_type)
{
    T_DDL(types_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl_app\";\n"
          "CREATE TYPE \"mood\" AS ENUM ('sad', 'ok', 'happy');\n"
          "CREATE TYPE \"ddl_app\".\"level\" AS ENUM ('low', 'high');\n"
          "CREATE TABLE \"things\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"a\" smallint NOT NULL,\n"
          "    \"b\" integer NOT NULL,\n"
          "    \"c\" bigint NOT NULL,\n"
          "    \"d\" smallserial NOT NULL,\n"
          "    \"e\" serial NOT NULL,\n"
          "    \"f\" bigserial NOT NULL,\n"
          "    \"g\" real NOT NULL,\n"
          "    \"h\" double precision NOT NULL,\n"
          "    \"i\" numeric NOT NULL,\n"
          "    \"i2\" numeric(12) NOT NULL,\n"
          "    \"i3\" numeric(10,2) NOT NULL,\n"
          "    \"j\" text NOT NULL,\n"
          "    \"k\" varchar NOT NULL,\n"
          "    \"k2\" varchar(40) NOT NULL,\n"
          "    \"l\" char NOT NULL,\n"
          "    \"l2\" char(2) NOT NULL,\n"
          "    \"n\" boolean NOT NULL,\n"
          "    \"o\" bytea NOT NULL,\n"
          "    \"p\" uuid NOT NULL,\n"
          "    \"q\" date NOT NULL,\n"
          "    \"r\" time NOT NULL,\n"
          "    \"r2\" time(3) NOT NULL,\n"
          "    \"s\" time with time zone NOT NULL,\n"
          "    \"s2\" time(0) with time zone NOT NULL,\n"
          "    \"t\" timestamp NOT NULL,\n"
          "    \"t2\" timestamp(6) NOT NULL,\n"
          "    \"u\" timestamp with time zone NOT NULL,\n"
          "    \"u2\" timestamp(3) with time zone NOT NULL,\n"
          "    \"v\" interval NOT NULL,\n"
          "    \"w\" json NOT NULL,\n"
          "    \"x\" jsonb NOT NULL,\n"
          "    \"y\" inet NOT NULL,\n"
          "    \"z\" cidr NOT NULL,\n"
          "    \"tsv\" tsvector NOT NULL,\n"
          "    \"mood\" \"mood\" NOT NULL,\n"
          "    \"level\" \"ddl_app\".\"level\",\n"
          "    \"spot\" point NOT NULL,\n"
          "    \"ints\" integer[] NOT NULL,\n"
          "    \"grid\" text[][] NOT NULL,\n"
          "    \"codes\" varchar(8)[] NOT NULL,\n"
          "    \"moods\" \"mood\"[] NOT NULL,\n"
          "    \"levels\" \"ddl_app\".\"level\"[] NOT NULL,\n"
          "    \"boxes\" box[] NOT NULL,\n"
          "    \"the column\" text NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n");
}

static tide_schema *defaults_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    add_enum(s, "role", NULL, NAMES("user", "admin"), 2);
    tide_model *m = keyed(s, "Setting", NULL);
    FIELD(m, .name = "motto", .type = TIDE_T_TEXT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "it's");
    FIELD(m, .name = "path", .type = TIDE_T_TEXT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "C:\\tmp");
    FIELD(m, .name = "on", .type = TIDE_T_BOOLEAN, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "false");
    FIELD(m, .name = "n", .type = TIDE_T_INTEGER, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "0");
    FIELD(m, .name = "role", .type = TIDE_T_ENUM, .type_name = "role", .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "user");
    FIELD(m, .name = "tags", .type = TIDE_T_TEXT, .array_dims = 1, .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "{}");
    FIELD(m, .name = "at", .type = TIDE_T_TIMESTAMPTZ, .default_kind = TIDE_DEFAULT_NOW);
    FIELD(m, .name = "token", .type = TIDE_T_UUID, .default_kind = TIDE_DEFAULT_UUID);
    FIELD(m, .name = "day", .type = TIDE_T_DATE, .default_kind = TIDE_DEFAULT_SQL, .default_value = "current_date + 1");
    FIELD(m, .name = "slug", .type = TIDE_T_TEXT, .default_kind = TIDE_DEFAULT_CLIENT);
    FIELD(m, .name = "updated_at", .type = TIDE_T_TIMESTAMPTZ, .updated_at = 1);
    FIELD(m, .name = "touched", .type = TIDE_T_TIMESTAMP, .updated_at = 1, .nullable = 1,
          .default_kind = TIDE_DEFAULT_SQL, .default_value = "'epoch'");
    FIELD(m, .name = "maybe", .type = TIDE_T_TEXT, .nullable = 1);
    return s;
}

T_CASE(defaults)
{
    T_DDL(defaults_schema(),
          "CREATE TYPE \"role\" AS ENUM ('user', 'admin');\n"
          "CREATE TABLE \"settings\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"motto\" text NOT NULL DEFAULT 'it''s',\n"
          "    \"path\" text NOT NULL DEFAULT 'C:\\tmp',\n"
          "    \"on\" boolean NOT NULL DEFAULT 'false',\n"
          "    \"n\" integer NOT NULL DEFAULT '0',\n"
          "    \"role\" \"role\" NOT NULL DEFAULT 'user',\n"
          "    \"tags\" text[] NOT NULL DEFAULT '{}',\n"
          "    \"at\" timestamp with time zone NOT NULL DEFAULT now(),\n"
          "    \"token\" uuid NOT NULL DEFAULT gen_random_uuid(),\n"
          "    \"day\" date NOT NULL DEFAULT (current_date + 1),\n"
          "    \"slug\" text NOT NULL,\n"
          "    \"updated_at\" timestamp with time zone NOT NULL DEFAULT now(),\n"
          "    \"touched\" timestamp DEFAULT ('epoch'),\n"
          "    \"maybe\" text,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n");
}

static tide_schema *identity_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *m = model(s, "Item", NULL, NULL);
    FIELD(m, .name = "id", .type = TIDE_T_BIGINT, .primary = 1, .identity = TIDE_IDENTITY_ALWAYS);
    FIELD(m, .name = "seq", .type = TIDE_T_INTEGER, .identity = TIDE_IDENTITY_BY_DEFAULT);
    FIELD(m, .name = "price", .type = TIDE_T_NUMERIC, .precision = 10, .scale = 2, .check = "price >= 0");
    FIELD(m, .name = "qty", .type = TIDE_T_INTEGER, .check = "qty > 0");
    FIELD(m, .name = "total", .type = TIDE_T_NUMERIC, .generated = "price * qty");
    check_ok(tide_model_add_check(m, "price_sane", "price < 1000000", err), "check");
    check_ok(tide_model_add_check(m, NULL, "qty < 1000 OR price < 10", err), "check");
    return s;
}

T_CASE(identity_generated_and_checks)
{
    T_DDL(identity_schema(),
          "CREATE TABLE \"items\" (\n"
          "    \"id\" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n"
          "    \"seq\" integer GENERATED BY DEFAULT AS IDENTITY NOT NULL,\n"
          "    \"price\" numeric(10,2) NOT NULL CHECK (price >= 0),\n"
          "    \"qty\" integer NOT NULL CHECK (qty > 0),\n"
          "    \"total\" numeric GENERATED ALWAYS AS (price * qty) STORED NOT NULL,\n"
          "    PRIMARY KEY (\"id\"),\n"
          "    CONSTRAINT \"price_sane\" CHECK (price < 1000000),\n"
          "    CHECK (qty < 1000 OR price < 10)\n"
          ");\n");
}

static tide_schema *keys_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    /* a composite primary key, named */
    tide_model *m = model(s, "Membership", NULL, NULL);
    FIELD(m, .name = "user_id", .type = TIDE_T_BIGINT);
    FIELD(m, .name = "org_id", .type = TIDE_T_BIGINT);
    FIELD(m, .name = "email", .type = TIDE_T_TEXT, .unique = 1);
    FIELD(m, .name = "code", .type = TIDE_T_TEXT, .nullable = 1);
    FIELD(m, .name = "slot", .type = TIDE_T_INTEGER, .nullable = 1);
    INDEX(m, .kind = TIDE_INDEX_PRIMARY, .name = "membership_pk", PARTS({.field = "org_id"}, {.field = "user_id"}));
    /* becomes UNIQUE NULLS NOT DISTINCT in the table */
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, .nulls_not_distinct = 1, PARTS({.field = "org_id"}, {.field = "code"}));
    /* named */
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, .name = "one_slot", PARTS({.field = "org_id"}, {.field = "slot"}));
    /* the same as the primary key and as email's: folded, as PostgreSQL would */
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, PARTS({.field = "org_id"}, {.field = "user_id"}));
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, PARTS({.field = "email"}));
    /* a condition, a sort order, an expression or another method: a unique index */
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, .where = "code IS NOT NULL", PARTS({.field = "code"}));
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, .nulls_not_distinct = 1, PARTS({.field = "slot", .descending = 1}));
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, PARTS({.expression = "lower(email)"}));
    /* a check holding the name PostgreSQL would give email's constraint */
    check_ok(tide_model_add_check(m, "memberships_email_key", "email <> ''", err), "check");
    /* a one-field primary key that is also marked unique: one constraint */
    tide_model *k = model(s, "Key", NULL, NULL);
    FIELD(k, .name = "id", .type = TIDE_T_UUID, .primary = 1, .unique = 1, .default_kind = TIDE_DEFAULT_UUID);
    return s;
}

T_CASE(keys_and_unique_constraints)
{
    T_DDL(keys_schema(),
          "CREATE TABLE \"memberships\" (\n"
          "    \"user_id\" bigint NOT NULL,\n"
          "    \"org_id\" bigint NOT NULL,\n"
          "    \"email\" text NOT NULL,\n"
          "    \"code\" text,\n"
          "    \"slot\" integer,\n"
          "    CONSTRAINT \"membership_pk\" PRIMARY KEY (\"org_id\", \"user_id\"),\n"
          "    CONSTRAINT \"memberships_email_key1\" UNIQUE (\"email\"),\n"
          "    UNIQUE NULLS NOT DISTINCT (\"org_id\", \"code\"),\n"
          "    CONSTRAINT \"one_slot\" UNIQUE (\"org_id\", \"slot\"),\n"
          "    CONSTRAINT \"memberships_email_key\" CHECK (email <> '')\n"
          ");\n"
          "CREATE TABLE \"keys\" (\n"
          "    \"id\" uuid NOT NULL DEFAULT gen_random_uuid(),\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE UNIQUE INDEX \"memberships_code_key\" ON \"memberships\" (\"code\") WHERE (code IS NOT NULL);\n"
          "CREATE UNIQUE INDEX \"memberships_slot_key\" ON \"memberships\" (\"slot\" DESC) NULLS NOT DISTINCT;\n"
          "CREATE UNIQUE INDEX \"memberships_expr_key\" ON \"memberships\" ((lower(email)));\n");
}

static tide_schema *indexes_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *m = keyed(s, "Event", NULL);
    FIELD(m, .name = "kind", .type = TIDE_T_TEXT);
    FIELD(m, .name = "at", .type = TIDE_T_TIMESTAMPTZ);
    FIELD(m, .name = "data", .type = TIDE_T_JSONB);
    FIELD(m, .name = "done", .type = TIDE_T_BOOLEAN);
    FIELD(m, .name = "ref", .type = TIDE_T_TEXT, .nullable = 1);
    INDEX(m, PARTS({.field = "kind"}, {.field = "at", .descending = 1}));
    INDEX(m, .where = "NOT done", PARTS({.field = "at"}));
    INDEX(m, PARTS({.field = "ref", .nulls = 1}, {.field = "kind", .descending = 1, .nulls = 2}));
    INDEX(m, .method = TIDE_INDEX_GIN, PARTS({.field = "data"}));
    INDEX(m, .method = TIDE_INDEX_HASH, PARTS({.field = "ref"}));
    INDEX(m, .method = TIDE_INDEX_BRIN, .name = "events_at_brin", PARTS({.field = "at"}));
    INDEX(m, PARTS({.expression = "lower(kind)"}, {.expression = "(data->>'x')"}));
    /* the same default name twice: numbered, as PostgreSQL does */
    INDEX(m, PARTS({.field = "kind"}, {.field = "at", .descending = 1}));
    /* a default name that would take one declared later */
    INDEX(m, PARTS({.field = "done"}));
    INDEX(m, .name = "events_done_idx", .where = "done", PARTS({.field = "at"}));
    return s;
}

T_CASE(indexes)
{
    T_DDL(indexes_schema(),
          "CREATE TABLE \"events\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"kind\" text NOT NULL,\n"
          "    \"at\" timestamp with time zone NOT NULL,\n"
          "    \"data\" jsonb NOT NULL,\n"
          "    \"done\" boolean NOT NULL,\n"
          "    \"ref\" text,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE INDEX \"events_kind_at_idx\" ON \"events\" (\"kind\", \"at\" DESC);\n"
          "CREATE INDEX \"events_at_idx\" ON \"events\" (\"at\") WHERE (NOT done);\n"
          "CREATE INDEX \"events_ref_kind_idx\" ON \"events\" (\"ref\" NULLS FIRST, \"kind\" DESC NULLS LAST);\n"
          "CREATE INDEX \"events_data_idx\" ON \"events\" USING gin (\"data\");\n"
          "CREATE INDEX \"events_ref_idx\" ON \"events\" USING hash (\"ref\");\n"
          "CREATE INDEX \"events_at_brin\" ON \"events\" USING brin (\"at\");\n"
          "CREATE INDEX \"events_expr_expr_idx\" ON \"events\" ((lower(kind)), ((data->>'x')));\n"
          "CREATE INDEX \"events_kind_at_idx1\" ON \"events\" (\"kind\", \"at\" DESC);\n"
          "CREATE INDEX \"events_done_idx1\" ON \"events\" (\"done\");\n"
          "CREATE INDEX \"events_done_idx\" ON \"events\" (\"at\") WHERE (done);\n");
}

static tide_schema *long_names_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    /* names cut to 63 bytes, the longer part first, never inside a
     * character: the database test checks these against the server's own */
    tide_model *m = keyed(s, "Long", LONG_TABLE);
    FIELD(m, .name = LONG_COLUMN, .type = TIDE_T_INTEGER);
    FIELD(m, .name = "other", .type = TIDE_T_INTEGER, .unique = 1);
    INDEX(m, PARTS({.field = LONG_COLUMN}));
    INDEX(m, PARTS({.field = "other"}, {.field = "id"}));
    tide_model *t = keyed(s, "Short", "tt");
    FIELD(t, .name = LONG_C1, .type = TIDE_T_INTEGER);
    FIELD(t, .name = LONG_C2, .type = TIDE_T_INTEGER);
    INDEX(t, PARTS({.field = LONG_C1}, {.field = LONG_C2}));
    return s;
}

T_CASE(long_names_are_cut_like_postgresql)
{
    T_DDL(long_names_schema(),
          "CREATE TABLE \"a_table_with_a_name_long_enough_to_\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251x\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"c\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251d\" integer NOT NULL,\n"
          "    \"other\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\"),\n"
          "    UNIQUE (\"other\")\n"
          ");\n"
          "CREATE TABLE \"tt\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"c\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\" integer NOT NULL,\n"
          "    \"d\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE INDEX \"a_table_with_a_name_long_enough_to_\303\251_c\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251d_idx\" ON \"a_table_with_a_name_long_enough_to_\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251x\" (\"c\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251d\");\n"
          "CREATE INDEX \"a_table_with_a_name_long_enough_to_\303\251\303\251\303\251\303\251\303\251\303\251\303\251_other_id_idx\" ON \"a_table_with_a_name_long_enough_to_\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251x\" (\"other\", \"id\");\n"
          "CREATE INDEX \"tt_c\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251_d\303\251\303\251\303\251\303\251\303\251\303\251_idx\" ON \"tt\" (\"c\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\", \"d\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\");\n");
}

static tide_schema *quoting_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    add_enum(s, "say\"it", "ddl\"weird", NAMES("it's", "a\"b", "back\\slash"), 3);
    tide_model *m = model(s, "Odd", "odd\"table", "ddl\"weird");
    FIELD(m, .name = "id", .column = "the \"id\"", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(m, .name = "said", .type = TIDE_T_ENUM, .type_name = "say\"it", .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "it's");
    FIELD(m, .name = "note", .column = "no\"te", .type = TIDE_T_TEXT, .unique = 1,
          .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "'quoted' \"twice\"");
    check_ok(tide_model_add_check(m, "a \"check\"", "length(\"no\"\"te\") < 100", err), "check");
    INDEX(m, .name = "ix\"1", PARTS({.field = "said"}));
    INDEX(m, PARTS({.field = "note"}, {.field = "said"}));
    return s;
}

T_CASE(identifiers_and_literals_are_quoted)
{
    T_DDL(quoting_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl\"\"weird\";\n"
          "CREATE TYPE \"ddl\"\"weird\".\"say\"\"it\" AS ENUM ('it''s', 'a\"b', 'back\\slash');\n"
          "CREATE TABLE \"ddl\"\"weird\".\"odd\"\"table\" (\n"
          "    \"the \"\"id\"\"\" integer NOT NULL,\n"
          "    \"said\" \"ddl\"\"weird\".\"say\"\"it\" NOT NULL DEFAULT 'it''s',\n"
          "    \"no\"\"te\" text NOT NULL DEFAULT '''quoted'' \"twice\"',\n"
          "    PRIMARY KEY (\"the \"\"id\"\"\"),\n"
          "    UNIQUE (\"no\"\"te\"),\n"
          "    CONSTRAINT \"a \"\"check\"\"\" CHECK (length(\"no\"\"te\") < 100)\n"
          ");\n"
          "CREATE INDEX \"ix\"\"1\" ON \"ddl\"\"weird\".\"odd\"\"table\" (\"said\");\n"
          "CREATE INDEX \"odd\"\"table_no\"\"te_said_idx\" ON \"ddl\"\"weird\".\"odd\"\"table\" (\"no\"\"te\", \"said\");\n");
}

static tide_schema *fkeys_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *u = model(s, "User", NULL, NULL);
    FIELD(u, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(u, .name = "manager_id", .type = TIDE_T_BIGINT, .nullable = 1);
    REL(u, .name = "manager", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_delete = TIDE_ACTION_SET_NULL);
    REL(u, .name = "reports", .kind = TIDE_REL_HAS_MANY, .target = "User");
    tide_model *p = model(s, "Post", NULL, NULL);
    FIELD(p, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(p, .name = "author_id", .type = TIDE_T_BIGINT);
    FIELD(p, .name = "editor_id", .type = TIDE_T_BIGINT, .nullable = 1);
    FIELD(p, .name = "status", .type = TIDE_T_TEXT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "draft");
    /* a bare foreign key (references()) and a named belongs_to on the same
     * field: one constraint, with the actions either gives */
    REL(p, .kind = TIDE_REL_BELONGS_TO, .target = "User", .fields = NAMES("author_id"), .nfields = 1,
        .on_delete = TIDE_ACTION_CASCADE);
    REL(p, .name = "author", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_update = TIDE_ACTION_RESTRICT);
    REL(p, .name = "editor", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_delete = TIDE_ACTION_SET_NULL,
        .on_update = TIDE_ACTION_NO_ACTION, .constraint_name = "post_editor");
    REL(u, .name = "posts", .kind = TIDE_REL_HAS_MANY, .target = "Post", .inverse = "author");
    /* a composite key referencing a composite unique, and set default */
    tide_model *v = model(s, "Version", NULL, NULL);
    FIELD(v, .name = "post_id", .type = TIDE_T_BIGINT);
    FIELD(v, .name = "n", .type = TIDE_T_INTEGER);
    INDEX(v, .kind = TIDE_INDEX_PRIMARY, PARTS({.field = "post_id"}, {.field = "n"}));
    REL(v, .name = "post", .kind = TIDE_REL_BELONGS_TO, .target = "Post", .on_delete = TIDE_ACTION_CASCADE);
    tide_model *c = model(s, "Comment", NULL, NULL);
    FIELD(c, .name = "id", .type = TIDE_T_SERIAL, .primary = 1);
    FIELD(c, .name = "post_id", .type = TIDE_T_BIGINT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "0");
    FIELD(c, .name = "version", .type = TIDE_T_INTEGER, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "1");
    REL(c, .name = "of", .kind = TIDE_REL_BELONGS_TO, .target = "Version", .fields = NAMES("post_id", "version"),
        .nfields = 2, .on_delete = TIDE_ACTION_SET_DEFAULT);
    return s;
}

T_CASE(foreign_keys)
{
    T_DDL(fkeys_schema(),
          "CREATE TABLE \"users\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    \"manager_id\" bigint,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"posts\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    \"author_id\" bigint NOT NULL,\n"
          "    \"editor_id\" bigint,\n"
          "    \"status\" text NOT NULL DEFAULT 'draft',\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"versions\" (\n"
          "    \"post_id\" bigint NOT NULL,\n"
          "    \"n\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"post_id\", \"n\")\n"
          ");\n"
          "CREATE TABLE \"comments\" (\n"
          "    \"id\" serial NOT NULL,\n"
          "    \"post_id\" bigint NOT NULL DEFAULT '0',\n"
          "    \"version\" integer NOT NULL DEFAULT '1',\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "ALTER TABLE \"users\" ADD CONSTRAINT \"users_manager_id_fkey\" FOREIGN KEY (\"manager_id\") REFERENCES \"users\" (\"id\") ON DELETE SET NULL;\n"
          "ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_fkey\" FOREIGN KEY (\"author_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE ON UPDATE RESTRICT;\n"
          "ALTER TABLE \"posts\" ADD CONSTRAINT \"post_editor\" FOREIGN KEY (\"editor_id\") REFERENCES \"users\" (\"id\") ON DELETE SET NULL ON UPDATE NO ACTION;\n"
          "ALTER TABLE \"versions\" ADD CONSTRAINT \"versions_post_id_fkey\" FOREIGN KEY (\"post_id\") REFERENCES \"posts\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"comments\" ADD CONSTRAINT \"comments_post_id_version_fkey\" FOREIGN KEY (\"post_id\", \"version\") REFERENCES \"versions\" (\"post_id\", \"n\") ON DELETE SET DEFAULT;\n");
}

static tide_schema *joins_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *p = model(s, "Post", NULL, "ddl_blog");
    FIELD(p, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    REL(p, .name = "tags", .kind = TIDE_REL_MANY_TO_MANY, .target = "Tag");
    tide_model *t = model(s, "Tag", NULL, NULL);
    FIELD(t, .name = "id", .type = TIDE_T_SERIAL, .primary = 1);
    REL(t, .name = "posts", .kind = TIDE_REL_MANY_TO_MANY, .target = "Post");
    /* a self relation, both sides named: one table */
    tide_model *u = model(s, "User", NULL, NULL);
    FIELD(u, .name = "id", .type = TIDE_T_UUID, .primary = 1, .default_kind = TIDE_DEFAULT_UUID);
    REL(u, .name = "followers", .kind = TIDE_REL_MANY_TO_MANY, .target = "User", .inverse = "following",
        .join_table = "follows");
    REL(u, .name = "following", .kind = TIDE_REL_MANY_TO_MANY, .target = "User", .inverse = "followers",
        .join_table = "follows");
    /* a self relation declared on one side only */
    REL(u, .name = "friends", .kind = TIDE_REL_MANY_TO_MANY, .target = "User");
    /* declared on one side, the other side declared first */
    tide_model *g = model(s, "Group", NULL, NULL);
    FIELD(g, .name = "code", .type = TIDE_T_VARCHAR, .length = 12, .primary = 1);
    REL(u, .name = "groups", .kind = TIDE_REL_MANY_TO_MANY, .target = "Group");
    return s;
}

T_CASE(many_to_many_join_tables)
{
    T_DDL(joins_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl_blog\";\n"
          "CREATE TABLE \"ddl_blog\".\"posts\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"tags\" (\n"
          "    \"id\" serial NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"users\" (\n"
          "    \"id\" uuid NOT NULL DEFAULT gen_random_uuid(),\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"groups\" (\n"
          "    \"code\" varchar(12) NOT NULL,\n"
          "    PRIMARY KEY (\"code\")\n"
          ");\n"
          "CREATE TABLE \"ddl_blog\".\"posts_tags\" (\n"
          "    \"post_id\" bigint NOT NULL,\n"
          "    \"tag_id\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"post_id\", \"tag_id\")\n"
          ");\n"
          "CREATE INDEX \"posts_tags_tag_id_idx\" ON \"ddl_blog\".\"posts_tags\" (\"tag_id\");\n"
          "CREATE TABLE \"follows\" (\n"
          "    \"a_id\" uuid NOT NULL,\n"
          "    \"b_id\" uuid NOT NULL,\n"
          "    PRIMARY KEY (\"a_id\", \"b_id\")\n"
          ");\n"
          "CREATE INDEX \"follows_b_id_idx\" ON \"follows\" (\"b_id\");\n"
          "CREATE TABLE \"users_friends\" (\n"
          "    \"a_id\" uuid NOT NULL,\n"
          "    \"b_id\" uuid NOT NULL,\n"
          "    PRIMARY KEY (\"a_id\", \"b_id\")\n"
          ");\n"
          "CREATE INDEX \"users_friends_b_id_idx\" ON \"users_friends\" (\"b_id\");\n"
          "CREATE TABLE \"groups_users\" (\n"
          "    \"user_id\" uuid NOT NULL,\n"
          "    \"group_code\" varchar(12) NOT NULL,\n"
          "    PRIMARY KEY (\"user_id\", \"group_code\")\n"
          ");\n"
          "CREATE INDEX \"groups_users_group_code_idx\" ON \"groups_users\" (\"group_code\");\n"
          "ALTER TABLE \"ddl_blog\".\"posts_tags\" ADD CONSTRAINT \"posts_tags_post_id_fkey\" FOREIGN KEY (\"post_id\") REFERENCES \"ddl_blog\".\"posts\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"ddl_blog\".\"posts_tags\" ADD CONSTRAINT \"posts_tags_tag_id_fkey\" FOREIGN KEY (\"tag_id\") REFERENCES \"tags\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"follows\" ADD CONSTRAINT \"follows_a_id_fkey\" FOREIGN KEY (\"a_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"follows\" ADD CONSTRAINT \"follows_b_id_fkey\" FOREIGN KEY (\"b_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"users_friends\" ADD CONSTRAINT \"users_friends_a_id_fkey\" FOREIGN KEY (\"a_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"users_friends\" ADD CONSTRAINT \"users_friends_b_id_fkey\" FOREIGN KEY (\"b_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"groups_users\" ADD CONSTRAINT \"groups_users_user_id_fkey\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE;\n"
          "ALTER TABLE \"groups_users\" ADD CONSTRAINT \"groups_users_group_code_fkey\" FOREIGN KEY (\"group_code\") REFERENCES \"groups\" (\"code\") ON DELETE CASCADE;\n");
}

static tide_schema *namespaces_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    add_enum(s, "plan", "ddl_billing", NAMES("free", "pro"), 2);
    tide_model *o = model(s, "Org", NULL, "ddl_saas");
    FIELD(o, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(o, .name = "plan", .type = TIDE_T_ENUM, .type_name = "plan", .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "free");
    FIELD(o, .name = "owner_id", .type = TIDE_T_BIGINT, .nullable = 1);
    REL(o, .name = "owner", .kind = TIDE_REL_BELONGS_TO, .target = "Account", .on_delete = TIDE_ACTION_SET_NULL);
    tide_model *a = model(s, "Account", NULL, NULL);
    FIELD(a, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(a, .name = "org_id", .type = TIDE_T_BIGINT);
    REL(a, .name = "org", .kind = TIDE_REL_BELONGS_TO, .target = "Org", .on_delete = TIDE_ACTION_CASCADE);
    INDEX(a, PARTS({.field = "org_id"}));
    tide_model *e = model(s, "Event", NULL, "ddl_saas");
    FIELD(e, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    return s;
}

T_CASE(named_pg_schemas)
{
    T_DDL(namespaces_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl_billing\";\n"
          "CREATE SCHEMA IF NOT EXISTS \"ddl_saas\";\n"
          "CREATE TYPE \"ddl_billing\".\"plan\" AS ENUM ('free', 'pro');\n"
          "CREATE TABLE \"ddl_saas\".\"orgs\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    \"plan\" \"ddl_billing\".\"plan\" NOT NULL DEFAULT 'free',\n"
          "    \"owner_id\" bigint,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"accounts\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    \"org_id\" bigint NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"ddl_saas\".\"events\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "ALTER TABLE \"ddl_saas\".\"orgs\" ADD CONSTRAINT \"orgs_owner_id_fkey\" FOREIGN KEY (\"owner_id\") REFERENCES \"accounts\" (\"id\") ON DELETE SET NULL;\n"
          "ALTER TABLE \"accounts\" ADD CONSTRAINT \"accounts_org_id_fkey\" FOREIGN KEY (\"org_id\") REFERENCES \"ddl_saas\".\"orgs\" (\"id\") ON DELETE CASCADE;\n"
          "CREATE INDEX \"accounts_org_id_idx\" ON \"accounts\" (\"org_id\");\n");
}

static tide_schema *sequences_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    SEQ(s, .name = "order_number", .has_start = 1, .start = 1000);
    SEQ(s, .name = "ticket", .pg_schema = "ddl_billing", .increment = -2, .has_min = 1, .min_value = -1000,
        .has_max = 1, .max_value = 0, .has_start = 1, .start = 0, .cache = 10, .cycle = 1);
    SEQ(s, .name = "it's \"odd\"");
    /* the name PostgreSQL would give orders.id's own sequence: it picks another */
    SEQ(s, .name = "orders_id_seq");
    tide_model *m = model(s, "Order", NULL, NULL);
    FIELD(m, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(m, .name = "number", .type = TIDE_T_BIGINT, .unique = 1, NEXTVAL("order_number"));
    FIELD(m, .name = "ticket", .type = TIDE_T_INTEGER, NEXTVAL("ticket"));
    FIELD(m, .name = "odd", .type = TIDE_T_NUMERIC, .nullable = 1, NEXTVAL("it's \"odd\""));
    return s;
}

T_CASE(sequences_before_the_tables_that_draw_from_them)
{
    T_DDL(sequences_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl_billing\";\n"
          "CREATE SEQUENCE \"order_number\" START WITH 1000;\n"
          "CREATE SEQUENCE \"ddl_billing\".\"ticket\" INCREMENT BY -2 MINVALUE -1000 MAXVALUE 0 START WITH 0 CACHE 10 CYCLE;\n"
          "CREATE SEQUENCE \"it's \"\"odd\"\"\";\n"
          "CREATE SEQUENCE \"orders_id_seq\";\n"
          "CREATE TABLE \"orders\" (\n"
          "    \"id\" bigserial NOT NULL,\n"
          "    \"number\" bigint NOT NULL DEFAULT nextval('\"order_number\"'::regclass),\n"
          "    \"ticket\" integer NOT NULL DEFAULT nextval('\"ddl_billing\".\"ticket\"'::regclass),\n"
          "    \"odd\" numeric DEFAULT nextval('\"it''s \"\"odd\"\"\"'::regclass),\n"
          "    PRIMARY KEY (\"id\"),\n"
          "    UNIQUE (\"number\")\n"
          ");\n");
}

static tide_schema *views_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *o = keyed(s, "Org", NULL);
    REL(o, .name = "active_users", .kind = TIDE_REL_HAS_MANY, .target = "ActiveUser");
    /* a view declared before the table it reads: written after the tables */
    tide_model *a = model(s, "ActiveUser", NULL, NULL);
    VIEW(a, .kind = TIDE_MODEL_VIEW, .sql = "SELECT id, email, org_id FROM users WHERE active");
    FIELD(a, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(a, .name = "email", .type = TIDE_T_TEXT, .unique = 1);
    FIELD(a, .name = "org_id", .type = TIDE_T_INTEGER);
    REL(a, .name = "org", .kind = TIDE_REL_BELONGS_TO, .target = "Org"); /* read only: no foreign key */
    tide_model *u = keyed(s, "User", NULL);
    FIELD(u, .name = "email", .type = TIDE_T_TEXT, .unique = 1);
    FIELD(u, .name = "active", .type = TIDE_T_BOOLEAN);
    FIELD(u, .name = "org_id", .type = TIDE_T_INTEGER);
    REL(u, .name = "org", .kind = TIDE_REL_BELONGS_TO, .target = "Org");
    tide_model *st = model(s, "OrgStats", "org_stats", "ddl_app");
    VIEW(st, .kind = TIDE_MODEL_MATERIALIZED_VIEW,
         .sql = "SELECT org_id, count(*) AS users, max(email) AS last_email\nFROM active_users\nGROUP BY org_id");
    FIELD(st, .name = "org_id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(st, .name = "users", .type = TIDE_T_BIGINT);
    FIELD(st, .name = "last_email", .type = TIDE_T_TEXT, .unique = 1, .nullable = 1);
    INDEX(st, PARTS({.field = "users", .descending = 1}));
    INDEX(st, .kind = TIDE_INDEX_UNIQUE, .where = "users > 10", PARTS({.expression = "lower(last_email)"}));
    REL(st, .name = "org", .kind = TIDE_REL_BELONGS_TO, .target = "Org");
    tide_model *e = model(s, "EmptyStats", "empty_stats", NULL);
    VIEW(e, .kind = TIDE_MODEL_MATERIALIZED_VIEW, .with_data = 0,
         .sql = "SELECT org_id, count(*) AS n FROM users GROUP BY org_id -- filled on refresh");
    FIELD(e, .name = "org_id", .type = TIDE_T_INTEGER);
    FIELD(e, .name = "n", .type = TIDE_T_BIGINT);
    INDEX(e, .kind = TIDE_INDEX_PRIMARY, .name = "empty_stats_key", PARTS({.field = "org_id"}));
    /* no key: it cannot refresh concurrently */
    tide_model *k = model(s, "Emails", "emails", NULL);
    VIEW(k, .kind = TIDE_MODEL_MATERIALIZED_VIEW, .sql = "SELECT email FROM users");
    FIELD(k, .name = "email", .type = TIDE_T_TEXT);
    return s;
}

T_CASE(views_after_the_tables_they_read)
{
    T_DDL(views_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl_app\";\n"
          "CREATE TABLE \"orgs\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"users\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"email\" text NOT NULL,\n"
          "    \"active\" boolean NOT NULL,\n"
          "    \"org_id\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\"),\n"
          "    UNIQUE (\"email\")\n"
          ");\n"
          "ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_id_fkey\" FOREIGN KEY (\"org_id\") REFERENCES \"orgs\" (\"id\");\n"
          "CREATE VIEW \"active_users\" AS SELECT id, email, org_id FROM users WHERE active;\n"
          "CREATE MATERIALIZED VIEW \"ddl_app\".\"org_stats\" AS SELECT org_id, count(*) AS users, max(email) AS last_email\n"
          "FROM active_users\n"
          "GROUP BY org_id;\n"
          "CREATE UNIQUE INDEX \"org_stats_pkey\" ON \"ddl_app\".\"org_stats\" (\"org_id\");\n"
          "CREATE UNIQUE INDEX \"org_stats_last_email_key\" ON \"ddl_app\".\"org_stats\" (\"last_email\");\n"
          "CREATE INDEX \"org_stats_users_idx\" ON \"ddl_app\".\"org_stats\" (\"users\" DESC);\n"
          "CREATE UNIQUE INDEX \"org_stats_expr_key\" ON \"ddl_app\".\"org_stats\" ((lower(last_email))) WHERE (users > 10);\n"
          "CREATE MATERIALIZED VIEW \"empty_stats\" AS SELECT org_id, count(*) AS n FROM users GROUP BY org_id -- filled on refresh\n"
          "WITH NO DATA;\n"
          "CREATE UNIQUE INDEX \"empty_stats_key\" ON \"empty_stats\" (\"org_id\");\n"
          "CREATE MATERIALIZED VIEW \"emails\" AS SELECT email FROM users;\n");
}

/* The golden text of one refresh, or the error's message. */
static const char *refresh(tide_schema *s, const char *model, int concurrently)
{
    static char out[512];
    tide_ddl *ddl = NULL;
    if (tide_schema_refresh_sql(s, model, concurrently, &ddl, err) != TIDE_OK) {
        snprintf(out, sizeof out, "error: %s", tide_error_message(err));
        return out;
    }
    snprintf(out, sizeof out, "%d: %s", tide_ddl_count(ddl), tide_ddl_statement(ddl, 0));
    tide_ddl_free(ddl);
    return out;
}

T_CASE(refreshing_materialized_views)
{
    tide_schema *s = views_schema();
    tide_ddl *ddl = (tide_ddl *)1;
    T_EQ_INT(tide_schema_refresh_sql(s, "OrgStats", 0, &ddl, err), TIDE_MISUSE);
    T_CHECK(ddl == NULL);
    T_REQUIRE(tide_schema_finish(s, err) == TIDE_OK);
    T_EQ_STR(refresh(s, "OrgStats", 1), "1: REFRESH MATERIALIZED VIEW CONCURRENTLY \"ddl_app\".\"org_stats\"");
    T_EQ_STR(refresh(s, "OrgStats", 0), "1: REFRESH MATERIALIZED VIEW \"ddl_app\".\"org_stats\"");
    T_EQ_STR(refresh(s, "EmptyStats", 1), "1: REFRESH MATERIALIZED VIEW CONCURRENTLY \"empty_stats\"");
    T_EQ_STR(refresh(s, "Emails", 0), "1: REFRESH MATERIALIZED VIEW \"emails\"");
    T_EQ_STR(refresh(s, "Emails", 1),
             "error: Emails: refreshing concurrently needs a unique index on columns (declare a primary key or a "
             "unique field)");
    T_EQ_STR(refresh(s, "OrgStat", 0), "error: unknown materialized view 'OrgStat'; did you mean 'OrgStats'?");
    T_EQ_STR(refresh(s, "Nothing", 0), "error: unknown materialized view 'Nothing'");
    T_EQ_STR(refresh(s, "ActiveUser", 0), "error: ActiveUser is a view, not a materialized view: only those refresh");
    T_EQ_STR(refresh(s, "User", 0), "error: User is a table, not a materialized view: only those refresh");
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    T_EQ_INT(tide_schema_refresh_sql(s, NULL, 0, &ddl, err), TIDE_MISUSE);
    T_EQ_INT(tide_schema_refresh_sql(NULL, "OrgStats", 0, &ddl, err), TIDE_MISUSE);
    tide_schema_free(s);
}

#define READER "tide_ddl \"reader\""

static tide_schema *rls_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *d = keyed(s, "Doc", NULL);
    FIELD(d, .name = "org_id", .type = TIDE_T_INTEGER);
    FIELD(d, .name = "owner", .type = TIDE_T_TEXT);
    POLICY(d, .name = "tenant_isolation", .using_expr = "org_id = current_setting('app.org')::int",
           .check = "org_id = current_setting('app.org')::int");
    POLICY(d, .name = "owner reads", .command = "select", .roles = NAMES(READER, "current_user"), .nroles = 2,
           .restrictive = 1, .using_expr = "owner = current_user");
    POLICY(d, .name = "writers", .command = "insert", .roles = NAMES("public"), .nroles = 1,
           .check = "owner = current_user");
    POLICY(d, .name = "no_deletes", .command = "delete", .restrictive = 1, .using_expr = "false");
    check_ok(tide_model_set_rls(d, 1, 1, err), "rls");
    /* row-level security without policies: only the owner sees rows */
    tide_model *l = keyed(s, "Ledger", "ledger");
    check_ok(tide_model_set_rls(l, 1, 0, err), "rls");
    /* forced, so enabled */
    tide_model *n = model(s, "Note", NULL, "ddl_app");
    FIELD(n, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    check_ok(tide_model_set_rls(n, 1, 1, err), "rls");
    POLICY(n, .name = "mine", .command = "update", .roles = NAMES("session_user", "current_role"), .nroles = 2,
           .using_expr = "true", .check = "id > 0");
    keyed(s, "Open", NULL);
    return s;
}

T_CASE(row_level_security_after_the_views)
{
    T_DDL(rls_schema(),
          "CREATE SCHEMA IF NOT EXISTS \"ddl_app\";\n"
          "CREATE TABLE \"docs\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    \"org_id\" integer NOT NULL,\n"
          "    \"owner\" text NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"ledger\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"ddl_app\".\"notes\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "CREATE TABLE \"opens\" (\n"
          "    \"id\" integer NOT NULL,\n"
          "    PRIMARY KEY (\"id\")\n"
          ");\n"
          "ALTER TABLE \"docs\" ENABLE ROW LEVEL SECURITY;\n"
          "ALTER TABLE \"docs\" FORCE ROW LEVEL SECURITY;\n"
          "CREATE POLICY \"tenant_isolation\" ON \"docs\" FOR ALL USING (org_id = current_setting('app.org')::int) WITH CHECK (org_id = current_setting('app.org')::int);\n"
          "CREATE POLICY \"owner reads\" ON \"docs\" AS RESTRICTIVE FOR SELECT TO \"tide_ddl \"\"reader\"\"\", CURRENT_USER USING (owner = current_user);\n"
          "CREATE POLICY \"writers\" ON \"docs\" FOR INSERT TO PUBLIC WITH CHECK (owner = current_user);\n"
          "CREATE POLICY \"no_deletes\" ON \"docs\" AS RESTRICTIVE FOR DELETE USING (false);\n"
          "ALTER TABLE \"ledger\" ENABLE ROW LEVEL SECURITY;\n"
          "ALTER TABLE \"ddl_app\".\"notes\" ENABLE ROW LEVEL SECURITY;\n"
          "ALTER TABLE \"ddl_app\".\"notes\" FORCE ROW LEVEL SECURITY;\n"
          "CREATE POLICY \"mine\" ON \"ddl_app\".\"notes\" FOR UPDATE TO SESSION_USER, CURRENT_ROLE USING (true) WITH CHECK (id > 0);\n");
}

T_CASE(unfinished_schema_is_refused)
{
    tide_schema *s = tide_schema_new(err);
    keyed(s, "A", NULL);
    tide_ddl *ddl = (tide_ddl *)1;
    T_EQ_INT(tide_schema_ddl(s, &ddl, err), TIDE_MISUSE);
    T_EQ_INT(tide_error_code(err), TIDE_E_MISUSE);
    T_CHECK(ddl == NULL);
    T_EQ_INT(tide_schema_ddl(NULL, &ddl, err), TIDE_MISUSE);
    T_EQ_INT(tide_ddl_count(NULL), 0);
    T_CHECK(tide_ddl_statement(NULL, 0) == NULL);
    tide_ddl_free(NULL);
    T_REQUIRE(tide_schema_finish(s, err) == TIDE_OK);
    T_REQUIRE(tide_schema_ddl(s, &ddl, err) == TIDE_OK);
    T_EQ_INT(tide_ddl_count(ddl), 1);
    T_CHECK(tide_ddl_statement(ddl, 1) == NULL);
    T_CHECK(tide_ddl_statement(ddl, -1) == NULL);
    tide_ddl_free(ddl);
    tide_schema_free(s);
}

/* ---- on the server ----------------------------------------------------------- */

static tide_conn *connect_db(void)
{
    tide_conn_options o;
    tide_conn_options_init(&o);
    o.conninfo = t_url();
    tide_conn *c = tide_conn_new(&o, err);
    if (c && tide_conn_connect(c, err) != TIDE_OK) {
        T_FAILF("connect: %s", tide_error_message(err));
        tide_conn_free(c);
        return NULL;
    }
    return c;
}

static int exec(tide_conn *c, const char *sql)
{
    tide_result *r;
    if (tide_conn_query(c, sql, 0, NULL, 0, &r, err) != TIDE_OK) {
        T_FAILF("%s\n  failed: %s", sql, tide_error_message(err));
        return -1;
    }
    tide_result_free(r);
    return 0;
}

/* The rows of sql, columns joined by '|', rows by '\n'. Static buffer. */
static const char *rows(tide_conn *c, const char *sql)
{
    static char out[8192];
    tide_result *r;
    out[0] = '\0';
    if (tide_conn_query(c, sql, 0, NULL, 0, &r, err) != TIDE_OK) {
        T_FAILF("%s\n  failed: %s", sql, tide_error_message(err));
        return "(error)";
    }
    size_t n = 0;
    for (int i = 0; i < tide_result_rows(r); i++)
        for (int j = 0; j < tide_result_cols(r); j++)
            n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", j ? "|" : i ? "\n" : "",
                                  tide_result_is_null(r, i, j) ? "NULL" : tide_result_text(r, i, j, NULL));
    tide_result_free(r);
    return out;
}

/* Finishes s and runs its DDL in one transaction; 0 when it committed. */
static int create_on_server(tide_conn *c, tide_schema *s, tide_ddl **out)
{
    tide_ddl *ddl;
    if (tide_schema_finish(s, err) != TIDE_OK || tide_schema_ddl(s, &ddl, err) != TIDE_OK) {
        T_FAILF("ddl: %s", tide_error_message(err));
        return -1;
    }
    int rc = exec(c, "BEGIN");
    for (int i = 0; rc == 0 && i < tide_ddl_count(ddl); i++)
        rc = exec(c, tide_ddl_statement(ddl, i));
    tide_result *r;
    if (rc == 0 && tide_conn_query(c, "COMMIT", 0, NULL, 0, &r, err) == TIDE_OK) {
        /* a failed transaction answers COMMIT with ROLLBACK */
        if (strcmp(tide_result_command(r), "COMMIT") != 0)
            rc = -1;
        tide_result_free(r);
    } else {
        exec(c, "ROLLBACK");
        rc = -1;
    }
    if (out)
        *out = ddl;
    else
        tide_ddl_free(ddl);
    return rc;
}

/* Each database test works in schemas of its own (tables without a pg
 * schema land in the first of the search_path), so it cannot touch another
 * test's tables and can run again after a failure. */
static int fresh_schemas(tide_conn *c, const char *home, const char *other)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", home);
    int rc = exec(c, sql);
    if (other) {
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", other);
        rc |= exec(c, sql);
    }
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", home);
    rc |= exec(c, sql);
    snprintf(sql, sizeof sql, "SET search_path TO %s", home);
    return rc | exec(c, sql);
}

/* Every golden schema is valid on the server. */
T_CASE(golden_schemas_run_on_the_server)
{
    static tide_schema *(*const schemas[])(void) = {
        types_schema, defaults_schema, identity_schema, keys_schema, indexes_schema, long_names_schema,
        quoting_schema, fkeys_schema, joins_schema, namespaces_schema, sequences_schema, views_schema,
        rls_schema,
    };
    tide_conn *c = connect_db();
    T_REQUIRE(c);
    /* a policy's role must exist; roles belong to the cluster */
    T_REQUIRE(exec(c, "DO $$BEGIN CREATE ROLE \"tide_ddl \"\"reader\"\"\"; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END$$") == 0);
    const char *drop = "DROP SCHEMA IF EXISTS ddl_app, ddl_billing, ddl_blog, ddl_saas, \"ddl\"\"weird\" CASCADE";
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        T_REQUIRE(exec(c, drop) == 0 && fresh_schemas(c, "tide_ddl_golden", NULL) == 0);
        tide_schema *s = schemas[i]();
        if (create_on_server(c, s, NULL) != 0)
            T_FAILF("golden schema %zu failed on the server", i);
        tide_schema_free(s);
    }
    T_CHECK(exec(c, drop) == 0 && exec(c, "DROP SCHEMA tide_ddl_golden CASCADE") == 0);
    T_CHECK(exec(c, "DROP ROLE \"tide_ddl \"\"reader\"\"\"") == 0);
    tide_conn_free(c);
}

static tide_schema *blog_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    add_enum(s, "role", NULL, NAMES("user", "admin"), 2);
    tide_model *u = model(s, "User", NULL, NULL);
    FIELD(u, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(u, .name = "email", .type = TIDE_T_TEXT, .unique = 1);
    FIELD(u, .name = "name", .type = TIDE_T_TEXT, .nullable = 1);
    FIELD(u, .name = "role", .type = TIDE_T_ENUM, .type_name = "role", .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "user");
    FIELD(u, .name = "manager_id", .type = TIDE_T_BIGINT, .nullable = 1);
    FIELD(u, .name = "created_at", .type = TIDE_T_TIMESTAMPTZ, .default_kind = TIDE_DEFAULT_NOW);
    FIELD(u, .name = "updated_at", .type = TIDE_T_TIMESTAMPTZ, .updated_at = 1);
    REL(u, .name = "manager", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_delete = TIDE_ACTION_SET_NULL);
    REL(u, .name = "reports", .kind = TIDE_REL_HAS_MANY, .target = "User");
    REL(u, .name = "posts", .kind = TIDE_REL_HAS_MANY, .target = "Post");
    REL(u, .name = "profile", .kind = TIDE_REL_HAS_ONE, .target = "Profile");
    tide_model *pr = model(s, "Profile", NULL, NULL);
    FIELD(pr, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(pr, .name = "user_id", .type = TIDE_T_BIGINT, .unique = 1);
    FIELD(pr, .name = "bio", .type = TIDE_T_TEXT, .nullable = 1);
    REL(pr, .name = "user", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_delete = TIDE_ACTION_CASCADE);
    tide_model *cat = model(s, "Category", NULL, NULL);
    FIELD(cat, .name = "id", .type = TIDE_T_SERIAL, .primary = 1);
    FIELD(cat, .name = "slug", .type = TIDE_T_VARCHAR, .length = 80, .unique = 1);
    FIELD(cat, .name = "parent_id", .type = TIDE_T_INTEGER, .nullable = 1);
    REL(cat, .name = "parent", .kind = TIDE_REL_BELONGS_TO, .target = "Category", .on_delete = TIDE_ACTION_RESTRICT);
    tide_model *p = model(s, "Post", NULL, NULL);
    FIELD(p, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(p, .name = "author_id", .type = TIDE_T_BIGINT);
    FIELD(p, .name = "category_id", .type = TIDE_T_INTEGER, .nullable = 1);
    FIELD(p, .name = "title", .type = TIDE_T_TEXT, .check = "length(title) > 0");
    FIELD(p, .name = "slug", .type = TIDE_T_TEXT);
    FIELD(p, .name = "published", .type = TIDE_T_BOOLEAN, .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "false");
    FIELD(p, .name = "published_at", .type = TIDE_T_TIMESTAMPTZ, .nullable = 1);
    FIELD(p, .name = "views", .type = TIDE_T_INTEGER, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "0");
    FIELD(p, .name = "data", .type = TIDE_T_JSONB, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "{}");
    FIELD(p, .name = "search", .type = TIDE_T_TSVECTOR, .generated = "to_tsvector('simple', title)");
    REL(p, .name = "author", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_delete = TIDE_ACTION_CASCADE);
    REL(p, .name = "category", .kind = TIDE_REL_BELONGS_TO, .target = "Category", .on_delete = TIDE_ACTION_SET_NULL);
    REL(p, .name = "tags", .kind = TIDE_REL_MANY_TO_MANY, .target = "Tag");
    INDEX(p, .kind = TIDE_INDEX_UNIQUE, PARTS({.field = "author_id"}, {.field = "slug"}));
    INDEX(p, .where = "published", PARTS({.field = "published_at", .descending = 1}));
    INDEX(p, .method = TIDE_INDEX_GIN, PARTS({.field = "search"}));
    check_ok(tide_model_add_check(p, "views_not_negative", "views >= 0", err), "check");
    tide_model *c = model(s, "Comment", NULL, NULL);
    FIELD(c, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(c, .name = "post_id", .type = TIDE_T_BIGINT);
    FIELD(c, .name = "author_id", .type = TIDE_T_BIGINT, .nullable = 1);
    FIELD(c, .name = "parent_id", .type = TIDE_T_BIGINT, .nullable = 1);
    FIELD(c, .name = "body", .type = TIDE_T_TEXT);
    REL(c, .name = "post", .kind = TIDE_REL_BELONGS_TO, .target = "Post", .on_delete = TIDE_ACTION_CASCADE);
    REL(c, .name = "author", .kind = TIDE_REL_BELONGS_TO, .target = "User", .on_delete = TIDE_ACTION_SET_NULL);
    REL(c, .name = "parent", .kind = TIDE_REL_BELONGS_TO, .target = "Comment", .on_delete = TIDE_ACTION_CASCADE);
    INDEX(c, PARTS({.field = "post_id"}, {.field = "id"}));
    tide_model *t = model(s, "Tag", NULL, NULL);
    FIELD(t, .name = "id", .type = TIDE_T_SERIAL, .primary = 1);
    FIELD(t, .name = "name", .type = TIDE_T_VARCHAR, .length = 50, .unique = 1);
    REL(t, .name = "posts", .kind = TIDE_REL_MANY_TO_MANY, .target = "Post");
    return s;
}

T_CASE(blog_on_the_server)
{
    tide_conn *c = connect_db();
    T_REQUIRE(c);
    T_REQUIRE(fresh_schemas(c, "tide_ddl_blog", NULL) == 0);
    tide_schema *s = blog_schema();
    T_CHECK(create_on_server(c, s, NULL) == 0);
    tide_schema_free(s);

    T_EQ_STR(rows(c, "SELECT relname FROM pg_class WHERE relnamespace = 'tide_ddl_blog'::regnamespace"
                     " AND relkind = 'r' ORDER BY 1"),
             "categories\ncomments\nposts\nposts_tags\nprofiles\ntags\nusers");
    T_EQ_STR(rows(c, "SELECT enum_range(NULL::role)::text"), "{user,admin}");
    T_EQ_STR(rows(c, "SELECT conrelid::regclass, conname, confdeltype, confrelid::regclass FROM pg_constraint"
                     " WHERE contype = 'f' AND connamespace = 'tide_ddl_blog'::regnamespace ORDER BY 1, 2"),
             "users|users_manager_id_fkey|n|users\n"
             "profiles|profiles_user_id_fkey|c|users\n"
             "categories|categories_parent_id_fkey|r|categories\n"
             "posts|posts_author_id_fkey|c|users\n"
             "posts|posts_category_id_fkey|n|categories\n"
             "comments|comments_author_id_fkey|n|users\n"
             "comments|comments_parent_id_fkey|c|comments\n"
             "comments|comments_post_id_fkey|c|posts\n"
             "posts_tags|posts_tags_post_id_fkey|c|posts\n"
             "posts_tags|posts_tags_tag_id_fkey|c|tags");
    T_EQ_STR(rows(c, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'tide_ddl_blog'"
                     " ORDER BY 1"),
             "categories_pkey|CREATE UNIQUE INDEX categories_pkey ON tide_ddl_blog.categories USING btree (id)\n"
             "categories_slug_key|CREATE UNIQUE INDEX categories_slug_key ON tide_ddl_blog.categories USING btree (slug)\n"
             "comments_pkey|CREATE UNIQUE INDEX comments_pkey ON tide_ddl_blog.comments USING btree (id)\n"
             "comments_post_id_id_idx|CREATE INDEX comments_post_id_id_idx ON tide_ddl_blog.comments USING btree (post_id, id)\n"
             "posts_author_id_slug_key|CREATE UNIQUE INDEX posts_author_id_slug_key ON tide_ddl_blog.posts USING btree (author_id, slug)\n"
             "posts_pkey|CREATE UNIQUE INDEX posts_pkey ON tide_ddl_blog.posts USING btree (id)\n"
             "posts_published_at_idx|CREATE INDEX posts_published_at_idx ON tide_ddl_blog.posts USING btree (published_at DESC) WHERE published\n"
             "posts_search_idx|CREATE INDEX posts_search_idx ON tide_ddl_blog.posts USING gin (search)\n"
             "posts_tags_pkey|CREATE UNIQUE INDEX posts_tags_pkey ON tide_ddl_blog.posts_tags USING btree (post_id, tag_id)\n"
             "posts_tags_tag_id_idx|CREATE INDEX posts_tags_tag_id_idx ON tide_ddl_blog.posts_tags USING btree (tag_id)\n"
             "profiles_pkey|CREATE UNIQUE INDEX profiles_pkey ON tide_ddl_blog.profiles USING btree (id)\n"
             "profiles_user_id_key|CREATE UNIQUE INDEX profiles_user_id_key ON tide_ddl_blog.profiles USING btree (user_id)\n"
             "tags_name_key|CREATE UNIQUE INDEX tags_name_key ON tide_ddl_blog.tags USING btree (name)\n"
             "tags_pkey|CREATE UNIQUE INDEX tags_pkey ON tide_ddl_blog.tags USING btree (id)\n"
             "users_email_key|CREATE UNIQUE INDEX users_email_key ON tide_ddl_blog.users USING btree (email)\n"
             "users_pkey|CREATE UNIQUE INDEX users_pkey ON tide_ddl_blog.users USING btree (id)");
    T_EQ_STR(rows(c, "SELECT conrelid::regclass, conname FROM pg_constraint WHERE contype = 'c'"
                     " AND connamespace = 'tide_ddl_blog'::regnamespace ORDER BY 1, 2"),
             "posts|posts_title_check\n"
             "posts|views_not_negative");

    /* the keys work as declared: defaults fill in, deletes cascade */
    T_CHECK(exec(c, "INSERT INTO users (email) VALUES ('ann@example.com'), ('bob@example.com')") == 0);
    T_CHECK(exec(c, "UPDATE users SET manager_id = 1 WHERE id = 2") == 0);
    T_CHECK(exec(c, "INSERT INTO posts (author_id, title, slug) VALUES (1, 'Hello', 'hello')") == 0);
    T_CHECK(exec(c, "INSERT INTO tags (name) VALUES ('lua')") == 0);
    T_CHECK(exec(c, "INSERT INTO posts_tags VALUES (1, 1)") == 0);
    T_EQ_STR(rows(c, "SELECT role, published, views, data, search FROM users, posts WHERE users.id = 1"),
             "user|f|0|{}|'hello':1");
    T_CHECK(exec(c, "DELETE FROM users WHERE id = 1") == 0);
    T_EQ_STR(rows(c, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM posts_tags),"
                     " (SELECT manager_id IS NULL FROM users WHERE id = 2)"),
             "0|0|t");

    T_CHECK(exec(c, "DROP SCHEMA tide_ddl_blog CASCADE") == 0);
    tide_conn_free(c);
}

static tide_schema *saas_schema(void)
{
    tide_schema *s = tide_schema_new(err);
    add_enum(s, "priority", NULL, NAMES("low", "medium", "high", "urgent"), 4);
    add_enum(s, "task_status", "tide_ddl_saas", NAMES("todo", "doing", "done"), 3);
    tide_model *o = model(s, "Organization", NULL, "tide_ddl_saas");
    FIELD(o, .name = "id", .type = TIDE_T_UUID, .primary = 1, .default_kind = TIDE_DEFAULT_UUID);
    FIELD(o, .name = "name", .type = TIDE_T_TEXT);
    FIELD(o, .name = "slug", .type = TIDE_T_VARCHAR, .length = 63, .unique = 1);
    FIELD(o, .name = "plan", .type = TIDE_T_TEXT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "free");
    FIELD(o, .name = "created_at", .type = TIDE_T_TIMESTAMPTZ, .default_kind = TIDE_DEFAULT_NOW);
    tide_model *u = model(s, "AppUser", "app_users", NULL);
    FIELD(u, .name = "id", .type = TIDE_T_UUID, .primary = 1, .default_kind = TIDE_DEFAULT_UUID);
    FIELD(u, .name = "email", .type = TIDE_T_TEXT);
    INDEX(u, .kind = TIDE_INDEX_UNIQUE, PARTS({.expression = "lower(email)"}));
    tide_model *m = model(s, "Member", NULL, NULL);
    FIELD(m, .name = "id", .type = TIDE_T_BIGINT, .primary = 1, .identity = TIDE_IDENTITY_ALWAYS);
    FIELD(m, .name = "user_id", .type = TIDE_T_UUID);
    FIELD(m, .name = "organization_id", .type = TIDE_T_UUID);
    FIELD(m, .name = "role", .type = TIDE_T_TEXT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "member",
          .check = "role IN ('owner', 'admin', 'member')");
    REL(m, .name = "user", .kind = TIDE_REL_BELONGS_TO, .target = "AppUser", .on_delete = TIDE_ACTION_CASCADE);
    REL(m, .name = "organization", .kind = TIDE_REL_BELONGS_TO, .target = "Organization",
        .on_delete = TIDE_ACTION_CASCADE);
    INDEX(m, .kind = TIDE_INDEX_UNIQUE, .name = "one_membership",
          PARTS({.field = "user_id"}, {.field = "organization_id"}));
    INDEX(m, PARTS({.field = "organization_id"}));
    tide_model *p = model(s, "Project", NULL, NULL);
    FIELD(p, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(p, .name = "organization_id", .type = TIDE_T_UUID);
    FIELD(p, .name = "name", .type = TIDE_T_TEXT);
    FIELD(p, .name = "archived_at", .type = TIDE_T_TIMESTAMPTZ, .nullable = 1);
    REL(p, .name = "organization", .kind = TIDE_REL_BELONGS_TO, .target = "Organization",
        .on_delete = TIDE_ACTION_CASCADE);
    INDEX(p, .kind = TIDE_INDEX_UNIQUE, .nulls_not_distinct = 1,
          PARTS({.field = "organization_id"}, {.field = "name"}, {.field = "archived_at"}));
    INDEX(p, .where = "archived_at IS NULL", PARTS({.field = "organization_id"}));
    tide_model *t = model(s, "Task", NULL, NULL);
    FIELD(t, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    FIELD(t, .name = "project_id", .type = TIDE_T_BIGINT);
    FIELD(t, .name = "assignee_id", .type = TIDE_T_BIGINT, .nullable = 1);
    FIELD(t, .name = "title", .type = TIDE_T_TEXT);
    FIELD(t, .name = "priority", .type = TIDE_T_ENUM, .type_name = "priority",
          .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "medium");
    FIELD(t, .name = "status", .type = TIDE_T_ENUM, .type_name = "task_status",
          .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "todo");
    FIELD(t, .name = "labels", .type = TIDE_T_TEXT, .array_dims = 1, .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "{}");
    FIELD(t, .name = "estimate", .type = TIDE_T_NUMERIC, .precision = 6, .scale = 2, .nullable = 1);
    FIELD(t, .name = "due", .type = TIDE_T_DATE, .nullable = 1);
    FIELD(t, .name = "updated_at", .type = TIDE_T_TIMESTAMPTZ, .updated_at = 1);
    REL(t, .name = "project", .kind = TIDE_REL_BELONGS_TO, .target = "Project", .on_delete = TIDE_ACTION_CASCADE);
    REL(t, .name = "assignee", .kind = TIDE_REL_BELONGS_TO, .target = "Member", .on_delete = TIDE_ACTION_SET_NULL);
    INDEX(t, PARTS({.field = "project_id"}, {.field = "status"}));
    INDEX(t, .where = "status <> 'done'", PARTS({.field = "assignee_id"}, {.field = "due", .nulls = 2}));
    check_ok(tide_model_add_check(t, NULL, "estimate IS NULL OR estimate > 0", err), "check");
    return s;
}

T_CASE(saas_on_the_server)
{
    tide_conn *c = connect_db();
    T_REQUIRE(c);
    T_REQUIRE(fresh_schemas(c, "tide_ddl_home", "tide_ddl_saas") == 0);
    tide_schema *s = saas_schema();
    T_CHECK(create_on_server(c, s, NULL) == 0);
    tide_schema_free(s);

    T_EQ_STR(rows(c, "SELECT relnamespace::regnamespace, relname FROM pg_class WHERE relnamespace IN"
                     " ('tide_ddl_home'::regnamespace, 'tide_ddl_saas'::regnamespace) AND relkind = 'r' ORDER BY 1, 2"),
             "tide_ddl_home|app_users\n"
             "tide_ddl_home|members\n"
             "tide_ddl_home|projects\n"
             "tide_ddl_home|tasks\n"
             "tide_ddl_saas|organizations");
    T_EQ_STR(rows(c, "SELECT enum_range(NULL::priority)::text, enum_range(NULL::tide_ddl_saas.task_status)::text"),
             "{low,medium,high,urgent}|{todo,doing,done}");
    T_EQ_STR(rows(c, "SELECT conrelid::regclass, conname, confdeltype, confrelid::regclass FROM pg_constraint"
                     " WHERE contype = 'f' AND connamespace IN ('tide_ddl_home'::regnamespace,"
                     " 'tide_ddl_saas'::regnamespace) ORDER BY 1, 2"),
             "members|members_organization_id_fkey|c|tide_ddl_saas.organizations\n"
             "members|members_user_id_fkey|c|app_users\n"
             "projects|projects_organization_id_fkey|c|tide_ddl_saas.organizations\n"
             "tasks|tasks_assignee_id_fkey|n|members\n"
             "tasks|tasks_project_id_fkey|c|projects");
    T_EQ_STR(rows(c, "SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE schemaname IN"
                     " ('tide_ddl_home', 'tide_ddl_saas') ORDER BY 1, 2"),
             "tide_ddl_home|app_users_expr_key|CREATE UNIQUE INDEX app_users_expr_key ON tide_ddl_home.app_users USING btree (lower(email))\n"
             "tide_ddl_home|app_users_pkey|CREATE UNIQUE INDEX app_users_pkey ON tide_ddl_home.app_users USING btree (id)\n"
             "tide_ddl_home|members_organization_id_idx|CREATE INDEX members_organization_id_idx ON tide_ddl_home.members USING btree (organization_id)\n"
             "tide_ddl_home|members_pkey|CREATE UNIQUE INDEX members_pkey ON tide_ddl_home.members USING btree (id)\n"
             "tide_ddl_home|one_membership|CREATE UNIQUE INDEX one_membership ON tide_ddl_home.members USING btree (user_id, organization_id)\n"
             "tide_ddl_home|projects_organization_id_idx|CREATE INDEX projects_organization_id_idx ON tide_ddl_home.projects USING btree (organization_id) WHERE (archived_at IS NULL)\n"
             "tide_ddl_home|projects_organization_id_name_archived_at_key|CREATE UNIQUE INDEX projects_organization_id_name_archived_at_key ON tide_ddl_home.projects USING btree (organization_id, name, archived_at) NULLS NOT DISTINCT\n"
             "tide_ddl_home|projects_pkey|CREATE UNIQUE INDEX projects_pkey ON tide_ddl_home.projects USING btree (id)\n"
             "tide_ddl_home|tasks_assignee_id_due_idx|CREATE INDEX tasks_assignee_id_due_idx ON tide_ddl_home.tasks USING btree (assignee_id, due) WHERE (status <> 'done'::tide_ddl_saas.task_status)\n"
             "tide_ddl_home|tasks_pkey|CREATE UNIQUE INDEX tasks_pkey ON tide_ddl_home.tasks USING btree (id)\n"
             "tide_ddl_home|tasks_project_id_status_idx|CREATE INDEX tasks_project_id_status_idx ON tide_ddl_home.tasks USING btree (project_id, status)\n"
             "tide_ddl_saas|organizations_pkey|CREATE UNIQUE INDEX organizations_pkey ON tide_ddl_saas.organizations USING btree (id)\n"
             "tide_ddl_saas|organizations_slug_key|CREATE UNIQUE INDEX organizations_slug_key ON tide_ddl_saas.organizations USING btree (slug)");
    T_EQ_STR(rows(c, "SELECT table_name, column_name, column_default, is_identity FROM information_schema.columns"
                     " WHERE table_schema = 'tide_ddl_home' AND table_name IN ('members', 'tasks')"
                     " AND (column_default IS NOT NULL OR is_identity = 'YES') ORDER BY 1, 2"),
             "members|id|NULL|YES\n"
             "members|role|'member'::text|NO\n"
             "tasks|id|nextval('tasks_id_seq'::regclass)|NO\n"
             "tasks|labels|'{}'::text[]|NO\n"
             "tasks|priority|'medium'::priority|NO\n"
             "tasks|status|'todo'::tide_ddl_saas.task_status|NO\n"
             "tasks|updated_at|now()|NO");

    /* the composite unique and the null-safe unique hold */
    T_CHECK(exec(c, "INSERT INTO tide_ddl_saas.organizations (name, slug) VALUES ('Acme', 'acme')") == 0);
    T_CHECK(exec(c, "INSERT INTO app_users (email) VALUES ('ann@acme.test')") == 0);
    T_CHECK(exec(c, "INSERT INTO members (user_id, organization_id) SELECT u.id, o.id"
                    " FROM app_users u, tide_ddl_saas.organizations o") == 0);
    tide_result *r;
    T_CHECK(tide_conn_query(c, "INSERT INTO members (user_id, organization_id) SELECT u.id, o.id"
                               " FROM app_users u, tide_ddl_saas.organizations o", 0, NULL, 0, &r, err) != TIDE_OK);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    T_EQ_STR(tide_error_get(err, TIDE_FIELD_CONSTRAINT), "one_membership");
    /* the key's columns, read from the detail, and the fields they hold */
    const char *col;
    size_t len;
    T_CHECK(tide_error_key_column(err, 0, &col, &len) && len == 7 && !memcmp(col, "user_id", 7));
    T_CHECK(tide_error_key_column(err, 1, &col, &len) && len == 15 && !memcmp(col, "organization_id", 15));
    T_CHECK(!tide_error_key_column(err, 2, &col, &len));
    T_CHECK(exec(c, "INSERT INTO projects (organization_id, name) SELECT id, 'Web'"
                    " FROM tide_ddl_saas.organizations") == 0);
    T_CHECK(tide_conn_query(c, "INSERT INTO projects (organization_id, name) SELECT id, 'Web'"
                               " FROM tide_ddl_saas.organizations", 0, NULL, 0, &r, err) != TIDE_OK);
    T_EQ_INT(tide_error_code(err), TIDE_E_UNIQUE_VIOLATION);
    T_CHECK(exec(c, "INSERT INTO tasks (project_id, title) VALUES (1, 'Ship')") == 0);
    T_EQ_STR(rows(c, "SELECT priority, status, labels FROM tasks"), "medium|todo|{}");
    T_CHECK(exec(c, "DELETE FROM tide_ddl_saas.organizations") == 0);
    T_EQ_STR(rows(c, "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM tasks)"), "0|0");

    T_CHECK(exec(c, "DROP SCHEMA tide_ddl_saas CASCADE") == 0);
    T_CHECK(exec(c, "DROP SCHEMA tide_ddl_home CASCADE") == 0);
    tide_conn_free(c);
}

/* Our index names are the server's: each generated index is dropped and
 * created again without a name, and the server picks the same ones.
 * (Expressions are named "expr"; the server names some for their function.) */
T_CASE(generated_names_are_the_servers)
{
    tide_conn *c = connect_db();
    T_REQUIRE(c);
    T_REQUIRE(fresh_schemas(c, "tide_ddl_names", NULL) == 0);
    tide_schema *s = tide_schema_new(err);
    tide_model *m = keyed(s, "Long", LONG_TABLE);
    FIELD(m, .name = LONG_COLUMN, .type = TIDE_T_INTEGER);
    FIELD(m, .name = "other", .type = TIDE_T_INTEGER, .unique = 1);
    INDEX(m, PARTS({.field = LONG_COLUMN}));
    INDEX(m, PARTS({.field = "other"}, {.field = "id"}));
    INDEX(m, PARTS({.field = "other"}, {.field = "id"}));
    tide_model *t = keyed(s, "Short", "tt");
    FIELD(t, .name = LONG_C1, .type = TIDE_T_INTEGER);
    FIELD(t, .name = LONG_C2, .type = TIDE_T_INTEGER);
    INDEX(t, PARTS({.field = LONG_C1}, {.field = LONG_C2}));
    tide_ddl *ddl = NULL;
    T_CHECK(create_on_server(c, s, &ddl) == 0);
    tide_schema_free(s);
    T_REQUIRE(ddl);
    const char *list = "SELECT indexname FROM pg_indexes WHERE schemaname = 'tide_ddl_names' ORDER BY 1";
    char ours[4096];
    snprintf(ours, sizeof ours, "%s", rows(c, list));
    /* "CREATE INDEX "name" ON ..." -> "DROP INDEX "name"" and "CREATE INDEX ON ..." */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < tide_ddl_count(ddl); i++) {
            const char *st = tide_ddl_statement(ddl, i), *on = strstr(st, "\" ON ");
            if (strncmp(st, "CREATE INDEX \"", 14) != 0 || !on)
                continue;
            char sql[1024];
            if (pass == 0)
                snprintf(sql, sizeof sql, "DROP INDEX %.*s", (int)(on + 1 - (st + 13)), st + 13);
            else
                snprintf(sql, sizeof sql, "CREATE INDEX%s", on + 1);
            exec(c, sql);
        }
    }
    T_EQ_STR(rows(c, list), ours);
    T_CHECK(strstr(ours, "tt_c") != NULL);
    tide_ddl_free(ddl);
    T_CHECK(exec(c, "DROP SCHEMA tide_ddl_names CASCADE") == 0);
    tide_conn_free(c);
}

/* Views, sequences and row-level security do on the server what the DDL
 * says: read through the catalogs, refreshed, drawn from. */
T_CASE(schema_objects_on_the_server)
{
    tide_conn *c = connect_db();
    T_REQUIRE(c);
    T_REQUIRE(exec(c, "DROP SCHEMA IF EXISTS ddl_billing CASCADE") == 0);
    T_REQUIRE(fresh_schemas(c, "tide_ddl_objects", "ddl_app") == 0);
    T_REQUIRE(exec(c, "DO $$BEGIN CREATE ROLE \"tide_ddl \"\"reader\"\"\"; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END$$") == 0);
    tide_schema *views = views_schema(), *seqs = sequences_schema(), *rls = rls_schema();
    T_REQUIRE(create_on_server(c, views, NULL) == 0);
    T_REQUIRE(create_on_server(c, seqs, NULL) == 0);
    T_REQUIRE(create_on_server(c, rls, NULL) == 0);

    T_EQ_STR(rows(c, "SELECT viewname FROM pg_views WHERE schemaname = 'tide_ddl_objects'"), "active_users");
    T_EQ_STR(rows(c, "SELECT schemaname, matviewname, ispopulated FROM pg_matviews "
                     "WHERE schemaname IN ('tide_ddl_objects', 'ddl_app') ORDER BY 2"),
             "tide_ddl_objects|emails|t\ntide_ddl_objects|empty_stats|f\nddl_app|org_stats|t");
    exec(c, "INSERT INTO orgs VALUES (1), (2)");
    exec(c, "INSERT INTO users VALUES (1, 'a@x', true, 1), (2, 'b@x', true, 1), (3, 'c@x', false, 2)");
    const char *names[] = {"OrgStats", "EmptyStats", "EmptyStats"};
    const int concurrently[] = {1, 0, 1}; /* an empty one cannot refresh concurrently */
    for (int i = 0; i < 3; i++) {
        tide_ddl *ddl;
        T_REQUIRE(tide_schema_refresh_sql(views, names[i], concurrently[i], &ddl, err) == TIDE_OK);
        exec(c, tide_ddl_statement(ddl, 0));
        tide_ddl_free(ddl);
    }
    T_EQ_STR(rows(c, "SELECT org_id, users, last_email FROM ddl_app.org_stats"), "1|2|b@x");
    T_EQ_STR(rows(c, "SELECT org_id, n FROM empty_stats ORDER BY 1"), "1|2\n2|1");

    T_EQ_STR(rows(c, "INSERT INTO orders DEFAULT VALUES RETURNING number, ticket, odd"), "1000|0|1");
    T_EQ_STR(rows(c, "INSERT INTO orders DEFAULT VALUES RETURNING number, ticket, odd"), "1001|-2|2");
    T_EQ_STR(rows(c, "SELECT sequencename, start_value, increment_by, min_value, max_value, cache_size, cycle "
                     "FROM pg_sequences WHERE sequencename IN ('order_number', 'ticket') ORDER BY 1"),
             "order_number|1000|1|1|9223372036854775807|1|f\nticket|0|-2|-1000|0|10|t");
    /* orders.id's own sequence took another name */
    T_EQ_STR(rows(c, "SELECT pg_get_serial_sequence('orders', 'id')"), "tide_ddl_objects.orders_id_seq1");

    T_EQ_STR(rows(c, "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                     "WHERE relname IN ('docs', 'ledger', 'notes', 'opens') ORDER BY 1"),
             "docs|t|t\nledger|t|f\nnotes|t|t\nopens|f|f");
    T_EQ_STR(rows(c, "SELECT policyname, permissive, cmd, (SELECT string_agg(CASE r WHEN current_user "
                     "THEN 'me' ELSE r END, ',' ORDER BY r) FROM unnest(roles) AS r) "
                     "FROM pg_policies WHERE tablename = 'docs' ORDER BY 1"),
             "no_deletes|RESTRICTIVE|DELETE|public\n"
             "owner reads|RESTRICTIVE|SELECT|me,tide_ddl \"reader\"\n"
             "tenant_isolation|PERMISSIVE|ALL|public\n"
             "writers|PERMISSIVE|INSERT|public");
    tide_schema_free(views);
    tide_schema_free(seqs);
    tide_schema_free(rls);
    T_CHECK(exec(c, "DROP SCHEMA tide_ddl_objects, ddl_app, ddl_billing CASCADE") == 0);
    T_CHECK(exec(c, "DROP ROLE \"tide_ddl \"\"reader\"\"\"") == 0);
    tide_conn_free(c);
}

/* A failing allocator at every allocation of tide_schema_ddl: a clean
 * TIDE_E_OUT_OF_MEMORY or the full result, and every allocation freed. */

/* tide_schema_ddl, or a refresh when model is set */
static int ddl_or_refresh(tide_schema *s, const char *model, tide_ddl **out, tide_error *e)
{
    return model ? tide_schema_refresh_sql(s, model, 1, out, e) : tide_schema_ddl(s, out, e);
}

static void out_of_memory(tide_schema *s, const char *model)
{
    tide_ddl *ref;
    T_REQUIRE(ddl_or_refresh(s, model, &ref, err) == TIDE_OK);
    int failures = 0, successes = 0;
    for (alloc_fail_at = 1; alloc_fail_at < 10000; alloc_fail_at++) {
        alloc_count = 0;
        alloc_live = 0;
        tide_set_allocator(failing_alloc, NULL);
        tide_error *e = tide_error_new();
        tide_ddl *ddl = NULL;
        int rc = e ? ddl_or_refresh(s, model, &ddl, e) : TIDE_ERROR;
        if (rc == TIDE_OK) {
            successes++;
            T_CHECK(ddl != NULL);
            T_EQ_INT(tide_ddl_count(ddl), tide_ddl_count(ref));
            for (int i = 0; ddl && i < tide_ddl_count(ref); i++)
                T_EQ_STR(tide_ddl_statement(ddl, i), tide_ddl_statement(ref, i));
        } else {
            failures++;
            T_CHECK(ddl == NULL);
            if (e && tide_error_code(e) != TIDE_E_OUT_OF_MEMORY)
                T_FAILF("failing allocation %ld: %s", alloc_fail_at, tide_error_message(e));
        }
        tide_ddl_free(ddl);
        tide_error_free(e);
        tide_set_allocator(NULL, NULL);
        if (alloc_live != 0)
            T_FAILF("failing allocation %ld: %ld allocations leaked", alloc_fail_at, alloc_live);
        if (alloc_count < alloc_fail_at)
            break; /* every allocation has been failed once */
    }
    T_CHECK(failures > (model ? 1 : 5));
    T_EQ_INT(successes, 1);
    tide_ddl_free(ref);
}

T_CASE(out_of_memory_everywhere)
{
    tide_schema *(*const schemas[])(void) = {blog_schema, sequences_schema, views_schema, rls_schema};
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        tide_schema *s = schemas[i]();
        T_REQUIRE(tide_schema_finish(s, err) == TIDE_OK);
        out_of_memory(s, NULL);
        if (schemas[i] == views_schema)
            out_of_memory(s, "OrgStats");
        tide_schema_free(s);
    }
}

int main(void)
{
    err = tide_error_new();
    T_RUN(every_type);
    T_RUN(defaults);
    T_RUN(identity_generated_and_checks);
    T_RUN(keys_and_unique_constraints);
    T_RUN(indexes);
    T_RUN(long_names_are_cut_like_postgresql);
    T_RUN(identifiers_and_literals_are_quoted);
    T_RUN(foreign_keys);
    T_RUN(many_to_many_join_tables);
    T_RUN(named_pg_schemas);
    T_RUN(sequences_before_the_tables_that_draw_from_them);
    T_RUN(views_after_the_tables_they_read);
    T_RUN(refreshing_materialized_views);
    T_RUN(row_level_security_after_the_views);
    T_RUN(unfinished_schema_is_refused);
    T_RUN(golden_schemas_run_on_the_server);
    T_RUN(blog_on_the_server);
    T_RUN(saas_on_the_server);
    T_RUN(generated_names_are_the_servers);
    T_RUN(schema_objects_on_the_server);
    T_RUN(out_of_memory_everywhere);
    tide_error_free(err);
    return t_done();
}
