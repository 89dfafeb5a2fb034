/* The diff engine, golden and without a server: for each step kind a pair
 * of schemas, the exact steps (up and down SQL, flags) between them; a
 * schema against itself and against its own snapshot read back from JSON
 * gives no steps. */
#include "t.h"
#include "tide.h"

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
#define POLICY(m, ...) check_ok(tide_model_add_policy((m), &(tide_policy_def){__VA_ARGS__}, err), "policy")
#define VIEW(m, ...) check_ok(tide_model_set_view((m), &(tide_view_def){.with_data = 1, __VA_ARGS__}, err), "view")
#define SEQ(s, ...) check_ok(tide_schema_add_sequence((s), &(tide_sequence_def){__VA_ARGS__}, err), "sequence")

static tide_model *model(tide_schema *s, const char *name, const char *table)
{
    tide_model *m = tide_schema_add_model(s, name, table, NULL, err);
    if (!m)
        T_FAILF("model %s: %s", name, tide_error_message(err));
    return m;
}

/* A schema builder: one function per version of the test's schema. */
typedef void (*build_fn)(tide_schema *s, int version);

static tide_catalog *catalog(build_fn build, int version)
{
    tide_schema *s = tide_schema_new(err);
    if (build)
        build(s, version);
    check_ok(tide_schema_finish(s, err), "finish");
    tide_catalog *c = NULL;
    check_ok(tide_catalog_from_schema(s, &c, err), "catalog");
    tide_schema_free(s);
    return c;
}

/* Every step as "kind [flags]: sql; sql | down; down\n". Free with free(). */
static char *steps_text(const tide_catalog *from, const tide_catalog *to)
{
    tide_diff *d = NULL;
    check_ok(tide_diff_new(from, to, &d, err), "diff");
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (int i = 0; d && i < tide_diff_count(d); i++) {
        int f = tide_diff_flags(d, i);
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s:", tide_step_kind_name(tide_diff_kind(d, i)),
                                f & TIDE_STEP_DESTRUCTIVE ? " destructive" : "",
                                f & TIDE_STEP_IRREVERSIBLE ? " irreversible" : "",
                                f & TIDE_STEP_MAY_FAIL ? " may_fail" : "");
        for (int k = 0; k < tide_diff_sql_count(d, i); k++)
            len += (size_t)snprintf(out + len, cap - len, " %s;", tide_diff_sql(d, i, k));
        len += (size_t)snprintf(out + len, cap - len, " |");
        for (int k = 0; k < tide_diff_down_count(d, i); k++)
            len += (size_t)snprintf(out + len, cap - len, " %s;", tide_diff_down(d, i, k));
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    tide_diff_free(d);
    return out;
}

static void expect_steps(build_fn build, int v1, int v2, const char *expected)
{
    tide_catalog *a = catalog(build, v1), *b = catalog(build, v2);
    char *got = steps_text(a, b);
    if (strcmp(got, expected) != 0)
        T_FAILF("steps from v%d to v%d:\n--- got\n%s--- expected\n%s", v1, v2, got, expected);
    free(got);
    tide_catalog_free(a);
    tide_catalog_free(b);
}

/* ---- the schemas --------------------------------------------------------------- */

static void build_table(tide_schema *s, int v)
{
    if (v == 0)
        return;
    tide_model *m = model(s, "User", v >= 4 ? "people" : "users");
    if (v >= 4)
        check_ok(tide_model_set_renamed_from(m, "users", err), "renamed_from");
    FIELD(m, .name = "id", .type = TIDE_T_BIGSERIAL, .primary = 1);
    if (v >= 3)
        FIELD(m, .name = "mail", .column = v >= 4 ? "mail" : "email", .type = TIDE_T_VARCHAR, .length = 80,
              .renamed_from = v >= 4 ? "email" : NULL);
    else
        FIELD(m, .name = "email", .type = TIDE_T_TEXT);
    if (v == 2)
        FIELD(m, .name = "age", .type = TIDE_T_INTEGER, .nullable = 1);
    if (v >= 3)
        FIELD(m, .name = "age", .type = TIDE_T_BIGINT, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "0");
    if (v == 5)
        FIELD(m, .name = "nick", .type = TIDE_T_TEXT, .nullable = 1);
}

T_CASE(create_and_drop_table)
{
    expect_steps(build_table, 0, 1,
                 "create_table: CREATE TABLE \"users\" (\n    \"id\" bigserial NOT NULL,\n    \"email\" text NOT NULL,\n"
                 "    CONSTRAINT \"users_pkey\" PRIMARY KEY (\"id\")\n); | DROP TABLE \"users\";\n");
    expect_steps(build_table, 1, 0,
                 "drop_table destructive irreversible: DROP TABLE \"users\"; | CREATE TABLE \"users\" (\n"
                 "    \"id\" bigserial NOT NULL,\n    \"email\" text NOT NULL,\n"
                 "    CONSTRAINT \"users_pkey\" PRIMARY KEY (\"id\")\n);\n");
}

T_CASE(add_and_drop_column)
{
    expect_steps(build_table, 1, 2,
                 "add_column: ALTER TABLE \"users\" ADD COLUMN \"age\" integer; | ALTER TABLE \"users\" DROP COLUMN \"age\";\n");
    expect_steps(build_table, 2, 1,
                 "drop_column destructive irreversible: ALTER TABLE \"users\" DROP COLUMN \"age\"; | "
                 "ALTER TABLE \"users\" ADD COLUMN \"age\" integer;\n");
    expect_steps(build_table, 4, 5,
                 "add_column: ALTER TABLE \"people\" ADD COLUMN \"nick\" text; | ALTER TABLE \"people\" DROP COLUMN \"nick\";\n");
}

T_CASE(alter_column)
{
    expect_steps(build_table, 2, 3,
                 "alter_column_type destructive irreversible may_fail: ALTER TABLE \"users\" ALTER COLUMN \"email\" TYPE "
                 "character varying(80) USING \"email\"::character varying(80); | ALTER TABLE \"users\" ALTER COLUMN "
                 "\"email\" TYPE text;\n"
                 "alter_column_type: ALTER TABLE \"users\" ALTER COLUMN \"age\" TYPE bigint; | ALTER TABLE \"users\" "
                 "ALTER COLUMN \"age\" TYPE integer USING \"age\"::integer;\n"
                 "set_default: ALTER TABLE \"users\" ALTER COLUMN \"age\" SET DEFAULT ('0'); | ALTER TABLE \"users\" "
                 "ALTER COLUMN \"age\" DROP DEFAULT;\n"
                 "set_not_null may_fail: ALTER TABLE \"users\" ALTER COLUMN \"age\" SET NOT NULL; | ALTER TABLE "
                 "\"users\" ALTER COLUMN \"age\" DROP NOT NULL;\n");
}

T_CASE(rename_table_and_column)
{
    expect_steps(build_table, 3, 4,
                 "rename_table: ALTER TABLE \"users\" RENAME TO \"people\"; | ALTER TABLE \"people\" RENAME TO \"users\";\n"
                 "rename_column: ALTER TABLE \"people\" RENAME COLUMN \"email\" TO \"mail\"; | ALTER TABLE \"people\" "
                 "RENAME COLUMN \"mail\" TO \"email\";\n"
                 "rename_constraint: ALTER TABLE \"people\" RENAME CONSTRAINT \"users_pkey\" TO \"people_pkey\"; | "
                 "ALTER TABLE \"people\" RENAME CONSTRAINT \"people_pkey\" TO \"users_pkey\";\n");
}

static void build_keys(tide_schema *s, int v)
{
    tide_model *u = model(s, "User", "users");
    FIELD(u, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(u, .name = "email", .type = TIDE_T_TEXT, .unique = v >= 2);
    FIELD(u, .name = "org", .type = TIDE_T_INTEGER);
    if (v >= 2) {
        INDEX(u, .kind = TIDE_INDEX_PLAIN, PARTS({.field = "org"}, {.expression = "lower(email)", .descending = 1}));
        check_ok(tide_model_add_check(u, NULL, v >= 3 ? "org > 1" : "org > 0", err), "check");
    }
    tide_model *p = model(s, "Post", "posts");
    FIELD(p, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(p, .name = "author_id", .type = TIDE_T_INTEGER);
    if (v >= 2)
        REL(p, .name = "author", .kind = TIDE_REL_BELONGS_TO, .target = "User",
            .on_delete = v >= 3 ? TIDE_ACTION_CASCADE : TIDE_ACTION_DEFAULT);
}

T_CASE(constraints_and_indexes)
{
    expect_steps(build_keys, 1, 2,
                 "add_constraint may_fail: ALTER TABLE \"users\" ADD CONSTRAINT \"users_email_key\" UNIQUE (\"email\"); | ALTER TABLE \"users\" DROP CONSTRAINT \"users_email_key\";\n"
                 "add_constraint may_fail: ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_check\" CHECK (org > 0); | ALTER TABLE \"users\" DROP CONSTRAINT \"users_org_check\";\n"
                 "create_index: CREATE INDEX \"users_org_expr_idx\" ON \"users\" (\"org\", (lower(email)) DESC); | DROP INDEX \"users_org_expr_idx\";\n"
                 "add_constraint may_fail: ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_fkey\" FOREIGN KEY (\"author_id\") REFERENCES \"users\" (\"id\"); | ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_author_id_fkey\";\n");
    expect_steps(build_keys, 2, 3,
                 "drop_constraint: ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_author_id_fkey\"; | ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_fkey\" FOREIGN KEY (\"author_id\") REFERENCES \"users\" (\"id\");\n"
                 "drop_constraint: ALTER TABLE \"users\" DROP CONSTRAINT \"users_org_check\"; | ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_check\" CHECK (org > 0);\n"
                 "add_constraint may_fail: ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_check\" CHECK (org > 1); | ALTER TABLE \"users\" DROP CONSTRAINT \"users_org_check\";\n"
                 "add_constraint may_fail: ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_fkey\" FOREIGN KEY (\"author_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE; | ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_author_id_fkey\";\n");
    expect_steps(build_keys, 2, 1,
                 "drop_constraint: ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_author_id_fkey\"; | ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_fkey\" FOREIGN KEY (\"author_id\") REFERENCES \"users\" (\"id\");\n"
                 "drop_constraint: ALTER TABLE \"users\" DROP CONSTRAINT \"users_email_key\"; | ALTER TABLE \"users\" ADD CONSTRAINT \"users_email_key\" UNIQUE (\"email\");\n"
                 "drop_constraint: ALTER TABLE \"users\" DROP CONSTRAINT \"users_org_check\"; | ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_check\" CHECK (org > 0);\n"
                 "drop_index: DROP INDEX \"users_org_expr_idx\"; | CREATE INDEX \"users_org_expr_idx\" ON \"users\" (\"org\", (lower(email)) DESC);\n");
}

static void build_enum(tide_schema *s, int v)
{
    static const char *const v1[] = {"user", "admin"};
    static const char *const v2[] = {"owner", "user", "admin", "guest"};
    static const char *const v3[] = {"owner", "user", "administrator", "guest"};
    static const char *const v4[] = {"owner", "user", "administrator"};
    const char *const *vals = v == 1 ? v1 : v == 2 ? v2 : v == 3 ? v3 : v4;
    int n = v == 1 ? 2 : v <= 3 ? 4 : 3;
    if (v == 0)
        return;
    check_ok(tide_schema_add_enum(s, "role", NULL, vals, n, err), "enum");
    if (v == 3)
        check_ok(tide_schema_set_enum_renames(s, "role", NULL, NAMES("administrator", "admin"), 1, err), "renames");
    tide_model *u = model(s, "User", "users");
    FIELD(u, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(u, .name = "role", .type = TIDE_T_ENUM, .type_name = "role", .default_kind = TIDE_DEFAULT_LITERAL,
          .default_value = "user");
}

T_CASE(enums)
{
    expect_steps(build_enum, 0, 1,
                 "create_enum: CREATE TYPE \"role\" AS ENUM ('user', 'admin'); | DROP TYPE \"role\";\n"
                 "create_table: CREATE TABLE \"users\" (\n"
                 "    \"id\" integer NOT NULL,\n"
                 "    \"role\" role NOT NULL DEFAULT ('user'),\n"
                 "    CONSTRAINT \"users_pkey\" PRIMARY KEY (\"id\")\n"
                 "); | DROP TABLE \"users\";\n");
    expect_steps(build_enum, 1, 2,
                 "add_enum_value: ALTER TYPE \"role\" ADD VALUE 'owner' BEFORE 'user'; | ALTER TYPE \"role\" RENAME TO \"role__tide_old\"; CREATE TYPE \"role\" AS ENUM ('user', 'admin'); ALTER TABLE \"users\" ALTER COLUMN \"role\" DROP DEFAULT; ALTER TABLE \"users\" ALTER COLUMN \"role\" TYPE role USING \"role\"::text::role; ALTER TABLE \"users\" ALTER COLUMN \"role\" SET DEFAULT ('user'); DROP TYPE \"role__tide_old\";\n"
                 "add_enum_value: ALTER TYPE \"role\" ADD VALUE 'guest' AFTER 'admin'; | ALTER TYPE \"role\" RENAME TO \"role__tide_old\"; CREATE TYPE \"role\" AS ENUM ('owner', 'user', 'admin'); ALTER TABLE \"users\" ALTER COLUMN \"role\" DROP DEFAULT; ALTER TABLE \"users\" ALTER COLUMN \"role\" TYPE role USING \"role\"::text::role; ALTER TABLE \"users\" ALTER COLUMN \"role\" SET DEFAULT ('user'); DROP TYPE \"role__tide_old\";\n");
    expect_steps(build_enum, 2, 3,
                 "rename_enum_value: ALTER TYPE \"role\" RENAME VALUE 'admin' TO 'administrator'; | ALTER TYPE \"role\" RENAME VALUE 'administrator' TO 'admin';\n");
    expect_steps(build_enum, 3, 4,
                 "rewrite_enum destructive may_fail: ALTER TYPE \"role\" RENAME TO \"role__tide_old\"; CREATE TYPE \"role\" AS ENUM ('owner', 'user', 'administrator'); ALTER TABLE \"users\" ALTER COLUMN \"role\" DROP DEFAULT; ALTER TABLE \"users\" ALTER COLUMN \"role\" TYPE role USING \"role\"::text::role; ALTER TABLE \"users\" ALTER COLUMN \"role\" SET DEFAULT ('user'); DROP TYPE \"role__tide_old\"; | ALTER TYPE \"role\" RENAME TO \"role__tide_old\"; CREATE TYPE \"role\" AS ENUM ('owner', 'user', 'administrator', 'guest'); ALTER TABLE \"users\" ALTER COLUMN \"role\" DROP DEFAULT; ALTER TABLE \"users\" ALTER COLUMN \"role\" TYPE role USING \"role\"::text::role; ALTER TABLE \"users\" ALTER COLUMN \"role\" SET DEFAULT ('user'); DROP TYPE \"role__tide_old\";\n");
}

static void build_view(tide_schema *s, int v)
{
    tide_model *u = model(s, "User", "users");
    FIELD(u, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(u, .name = "active", .type = TIDE_T_BOOLEAN);
    if (v == 0)
        return;
    tide_model *a = model(s, "Active", "active_users");
    VIEW(a, .kind = v == 3 ? TIDE_MODEL_MATERIALIZED_VIEW : TIDE_MODEL_VIEW,
         .sql = v == 1 ? "select id from users where active" : "select id from users where active and id > 0");
    FIELD(a, .name = "id", .type = TIDE_T_INTEGER, .primary = v == 3);
}

T_CASE(views)
{
    expect_steps(build_view, 0, 1,
                 "create_view: CREATE VIEW \"active_users\" AS select id from users where active; | DROP VIEW \"active_users\";\n");
    expect_steps(build_view, 1, 2,
                 "drop_view: DROP VIEW \"active_users\"; | CREATE VIEW \"active_users\" AS select id from users where active;\n"
                 "create_view: CREATE VIEW \"active_users\" AS select id from users where active and id > 0; | DROP VIEW \"active_users\";\n");
    expect_steps(build_view, 2, 3,
                 "drop_view: DROP VIEW \"active_users\"; | CREATE VIEW \"active_users\" AS select id from users where active and id > 0;\n"
                 "create_view: CREATE MATERIALIZED VIEW \"active_users\" AS select id from users where active and id > 0; | DROP MATERIALIZED VIEW \"active_users\";\n"
                 "create_index may_fail: CREATE UNIQUE INDEX \"active_users_pkey\" ON \"active_users\" (\"id\"); | DROP INDEX \"active_users_pkey\";\n");
}

static void build_seq(tide_schema *s, int v)
{
    if (v >= 1)
        SEQ(s, .name = "order_no", .start = 1000, .has_start = 1, .increment = v >= 2 ? 10 : 0);
    tide_model *o = model(s, "Order", "orders");
    FIELD(o, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    if (v >= 1)
        FIELD(o, .name = "no", .type = TIDE_T_BIGINT, .default_kind = TIDE_DEFAULT_NEXTVAL, .default_value = "order_no");
}

T_CASE(sequences)
{
    expect_steps(build_seq, 0, 1,
                 "create_sequence: CREATE SEQUENCE \"order_no\" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 CACHE 1 NO CYCLE; | DROP SEQUENCE \"order_no\";\n"
                 "add_column: ALTER TABLE \"orders\" ADD COLUMN \"no\" bigint NOT NULL DEFAULT (nextval('order_no'::regclass)); | ALTER TABLE \"orders\" DROP COLUMN \"no\";\n");
    expect_steps(build_seq, 1, 2,
                 "alter_sequence may_fail: ALTER SEQUENCE \"order_no\" INCREMENT BY 10 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 CACHE 1 NO CYCLE; | ALTER SEQUENCE \"order_no\" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 CACHE 1 NO CYCLE;\n");
    expect_steps(build_seq, 2, 0,
                 "drop_column destructive irreversible: ALTER TABLE \"orders\" DROP COLUMN \"no\"; | ALTER TABLE \"orders\" ADD COLUMN \"no\" bigint NOT NULL DEFAULT (nextval('order_no'::regclass));\n"
                 "drop_sequence destructive irreversible: DROP SEQUENCE \"order_no\"; | CREATE SEQUENCE \"order_no\" INCREMENT BY 10 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 CACHE 1 NO CYCLE;\n");
}

static void build_rls(tide_schema *s, int v)
{
    tide_model *d = model(s, "Doc", "docs");
    FIELD(d, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(d, .name = "org", .type = TIDE_T_INTEGER);
    if (v >= 1)
        POLICY(d, .name = "by_org", .using_expr = v >= 2 ? "org = current_setting('app.org')::int" : "org = 1");
    if (v >= 3)
        check_ok(tide_model_set_rls(d, 1, 1, err), "rls");
}

T_CASE(policies)
{
    expect_steps(build_rls, 0, 1,
                 "set_rls: ALTER TABLE \"docs\" ENABLE ROW LEVEL SECURITY; | ALTER TABLE \"docs\" DISABLE ROW LEVEL SECURITY;\n"
                 "create_policy: CREATE POLICY \"by_org\" ON \"docs\" FOR ALL TO PUBLIC USING (org = 1); | DROP POLICY \"by_org\" ON \"docs\";\n");
    expect_steps(build_rls, 1, 2,
                 "drop_policy: DROP POLICY \"by_org\" ON \"docs\"; | CREATE POLICY \"by_org\" ON \"docs\" FOR ALL TO PUBLIC USING (org = 1);\n"
                 "create_policy: CREATE POLICY \"by_org\" ON \"docs\" FOR ALL TO PUBLIC USING (org = current_setting('app.org')::int); | DROP POLICY \"by_org\" ON \"docs\";\n");
    expect_steps(build_rls, 2, 3,
                 "set_rls: ALTER TABLE \"docs\" FORCE ROW LEVEL SECURITY; | ALTER TABLE \"docs\" NO FORCE ROW LEVEL SECURITY;\n");
    expect_steps(build_rls, 3, 0,
                 "drop_policy: DROP POLICY \"by_org\" ON \"docs\"; | CREATE POLICY \"by_org\" ON \"docs\" FOR ALL TO PUBLIC USING (org = current_setting('app.org')::int);\n"
                 "set_rls: ALTER TABLE \"docs\" DISABLE ROW LEVEL SECURITY; ALTER TABLE \"docs\" NO FORCE ROW LEVEL SECURITY; | ALTER TABLE \"docs\" ENABLE ROW LEVEL SECURITY; ALTER TABLE \"docs\" FORCE ROW LEVEL SECURITY;\n");
}

/* The kinds the schemas above leave out: a pg schema, an enum renamed and
 * dropped, NOT NULL and a default dropped, identity, an index renamed. */
static void build_rest(tide_schema *s, int v)
{
    static const char *const moods[] = {"happy", "sad"};
    if (v <= 1)
        check_ok(tide_schema_add_enum(s, v == 1 ? "feeling" : "mood", NULL, moods, 2, err), "enum");
    if (v == 1)
        check_ok(tide_schema_set_enum_renames(s, "feeling", "mood", NULL, 0, err), "renames");
    tide_model *m = model(s, "Item", "items");
    FIELD(m, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    if (v == 0)
        FIELD(m, .name = "qty", .type = TIDE_T_INTEGER, .default_kind = TIDE_DEFAULT_LITERAL, .default_value = "0");
    else
        FIELD(m, .name = "qty", .type = TIDE_T_INTEGER, .nullable = 1);
    FIELD(m, .name = "code", .type = TIDE_T_INTEGER, .identity = v >= 1 ? TIDE_IDENTITY_ALWAYS : TIDE_IDENTITY_NONE);
    INDEX(m, .kind = TIDE_INDEX_PLAIN, .name = v >= 1 ? "items_by_code" : "items_code", PARTS({.field = "code"}));
    if (v >= 2) {
        tide_model *a = tide_schema_add_model(s, "Log", "log", "audit", err);
        FIELD(a, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    }
}

T_CASE(schemas_enums_columns_identity_index_renames)
{
    expect_steps(build_rest, 0, 1,
                 "rename_enum: ALTER TYPE \"mood\" RENAME TO \"feeling\"; | ALTER TYPE \"feeling\" RENAME TO \"mood\";\n"
                 "rename_index: ALTER INDEX \"items_code\" RENAME TO \"items_by_code\"; | ALTER INDEX \"items_by_code\" RENAME TO \"items_code\";\n"
                 "drop_default: ALTER TABLE \"items\" ALTER COLUMN \"qty\" DROP DEFAULT; | ALTER TABLE \"items\" ALTER COLUMN \"qty\" SET DEFAULT ('0');\n"
                 "drop_not_null: ALTER TABLE \"items\" ALTER COLUMN \"qty\" DROP NOT NULL; | ALTER TABLE \"items\" ALTER COLUMN \"qty\" SET NOT NULL;\n"
                 "alter_identity: ALTER TABLE \"items\" ALTER COLUMN \"code\" ADD GENERATED ALWAYS AS IDENTITY; | ALTER TABLE \"items\" ALTER COLUMN \"code\" DROP IDENTITY;\n");
    expect_steps(build_rest, 1, 2,
                 "create_schema: CREATE SCHEMA IF NOT EXISTS \"audit\"; |\n"
                 "create_table: CREATE TABLE \"audit\".\"log\" (\n    \"id\" integer NOT NULL,\n"
                 "    CONSTRAINT \"log_pkey\" PRIMARY KEY (\"id\")\n); | DROP TABLE \"audit\".\"log\";\n"
                 "drop_enum: DROP TYPE \"feeling\"; | CREATE TYPE \"feeling\" AS ENUM ('happy', 'sad');\n");
}

static void build_func(tide_schema *s, int v)
{
    tide_model *m = model(s, "Doc", "docs");
    FIELD(m, .name = "id", .type = TIDE_T_INTEGER, .primary = 1);
    FIELD(m, .name = "n", .type = TIDE_T_INTEGER);
    if (v == 0)
        return;
    check_ok(tide_schema_add_function(s, &(tide_function_def){.name = "bump", .returns = "trigger",
             .language = "plpgsql", .body = v >= 2 ? "begin new.n := new.n + 2; return new; end"
                                                   : "begin new.n := new.n + 1; return new; end"}, err), "function");
    check_ok(tide_schema_add_function(s, &(tide_function_def){.name = "twice",
             .args = v >= 3 ? "x bigint" : "x integer", .returns = v >= 3 ? "bigint" : "integer",
             .language = "sql", .body = "select x * 2", .volatility = "immutable"}, err), "function");
    if (v == 4)
        check_ok(tide_schema_add_function(s, &(tide_function_def){.name = "one", .pg_schema = "util",
                 .returns = "integer", .language = "sql", .body = "select 1"}, err), "function");
    check_ok(tide_model_add_trigger(m, &(tide_trigger_def){.name = "docs_bump", .timing = "before",
             .events = TIDE_TRIGGER_INSERT | TIDE_TRIGGER_UPDATE, .for_each_row = 1, .function = "bump",
             .when = v >= 3 ? "new.n > 0" : NULL}, err), "trigger");
}

T_CASE(functions_and_triggers)
{
    expect_steps(build_func, 0, 1,
                 "create_function: CREATE FUNCTION \"bump\"() RETURNS trigger LANGUAGE plpgsql AS 'begin new.n := new.n + 1; return new; end'; | DROP FUNCTION \"bump\"();\n"
                 "create_function: CREATE FUNCTION \"twice\"(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'select x * 2'; | DROP FUNCTION \"twice\"(x integer);\n"
                 "create_trigger: CREATE TRIGGER \"docs_bump\" BEFORE INSERT OR UPDATE ON \"docs\" FOR EACH ROW EXECUTE FUNCTION \"bump\"(); | DROP TRIGGER \"docs_bump\" ON \"docs\";\n");
    /* a new body: replaced in place */
    expect_steps(build_func, 1, 2,
                 "replace_function: CREATE OR REPLACE FUNCTION \"bump\"() RETURNS trigger LANGUAGE plpgsql AS 'begin new.n := new.n + 2; return new; end'; | CREATE OR REPLACE FUNCTION \"bump\"() RETURNS trigger LANGUAGE plpgsql AS 'begin new.n := new.n + 1; return new; end';\n");
    /* new arguments and result: dropped and made again; a trigger's condition: the trigger too */
    expect_steps(build_func, 2, 3,
                 "drop_trigger: DROP TRIGGER \"docs_bump\" ON \"docs\"; | CREATE TRIGGER \"docs_bump\" BEFORE INSERT OR UPDATE ON \"docs\" FOR EACH ROW EXECUTE FUNCTION \"bump\"();\n"
                 "replace_function: DROP FUNCTION \"twice\"(x integer); CREATE FUNCTION \"twice\"(x bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'select x * 2'; | DROP FUNCTION \"twice\"(x bigint); CREATE FUNCTION \"twice\"(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'select x * 2';\n"
                 "create_trigger: CREATE TRIGGER \"docs_bump\" BEFORE INSERT OR UPDATE ON \"docs\" FOR EACH ROW WHEN (new.n > 0) EXECUTE FUNCTION \"bump\"(); | DROP TRIGGER \"docs_bump\" ON \"docs\";\n");
    /* a function in a pg schema of its own: the schema first */
    expect_steps(build_func, 3, 4,
                 "create_schema: CREATE SCHEMA IF NOT EXISTS \"util\"; |\n"
                 "create_function: CREATE FUNCTION \"util\".\"one\"() RETURNS integer LANGUAGE sql AS 'select 1'; | DROP FUNCTION \"util\".\"one\"();\n");
    /* triggers go before the functions they execute */
    expect_steps(build_func, 3, 0,
                 "drop_trigger: DROP TRIGGER \"docs_bump\" ON \"docs\"; | CREATE TRIGGER \"docs_bump\" BEFORE INSERT OR UPDATE ON \"docs\" FOR EACH ROW WHEN (new.n > 0) EXECUTE FUNCTION \"bump\"();\n"
                 "drop_function: DROP FUNCTION \"bump\"(); | CREATE FUNCTION \"bump\"() RETURNS trigger LANGUAGE plpgsql AS 'begin new.n := new.n + 2; return new; end';\n"
                 "drop_function: DROP FUNCTION \"twice\"(x bigint); | CREATE FUNCTION \"twice\"(x bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'select x * 2';\n");
}

/* A schema against itself, and against its snapshot read back: nothing. */
T_CASE(snapshot_round_trip)
{
    build_fn builds[] = {build_table, build_keys, build_enum, build_view, build_seq, build_rls, build_rest, build_func};
    for (size_t i = 0; i < sizeof builds / sizeof builds[0]; i++) {
        for (int v = 1; v <= 3; v++) {
            tide_catalog *a = catalog(builds[i], v), *b = catalog(builds[i], v), *back = NULL;
            char *json = NULL;
            size_t len = 0;
            check_ok(tide_catalog_to_json(a, &json, &len, err), "to_json");
            check_ok(tide_catalog_from_json(json, len, &back, err), "from_json");
            char *same = steps_text(a, b), *read = back ? steps_text(back, b) : NULL;
            if (*same || !read || *read)
                T_FAILF("schema %zu v%d: %s%s", i, v, same, read ? read : "(no catalog)");
            char *json2 = NULL;
            check_ok(tide_catalog_to_json(back, &json2, NULL, err), "to_json again");
            T_CHECK(json2 && !strcmp(json, json2));
            free(same);
            free(read);
            tide_catalog_json_free(json);
            tide_catalog_json_free(json2);
            tide_catalog_free(a);
            tide_catalog_free(b);
            tide_catalog_free(back);
        }
    }
}

T_CASE(json_errors)
{
    tide_catalog *c = NULL;
    T_EQ_INT(tide_catalog_from_json("[1]", 3, &c, err), TIDE_ERROR);
    T_CHECK(c == NULL);
    T_EQ_INT(tide_catalog_from_json("{\"tables\":[{\"kind\":\"t\"}]}", 25, &c, err), TIDE_ERROR);
    T_EQ_INT(tide_catalog_from_json("{", 1, &c, err), TIDE_ERROR);
    T_EQ_INT(tide_catalog_from_json("{}", 2, &c, err), TIDE_OK);
    tide_catalog_free(c);
}

int main(void)
{
    err = tide_error_new();
    T_RUN(create_and_drop_table);
    T_RUN(add_and_drop_column);
    T_RUN(alter_column);
    T_RUN(rename_table_and_column);
    T_RUN(constraints_and_indexes);
    T_RUN(enums);
    T_RUN(views);
    T_RUN(sequences);
    T_RUN(policies);
    T_RUN(schemas_enums_columns_identity_index_renames);
    T_RUN(functions_and_triggers);
    T_RUN(snapshot_round_trip);
    T_RUN(json_errors);
    (void)t_url;
    tide_error_free(err);
    return t_done();
}
