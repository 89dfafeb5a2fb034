/* The schema store: building through the C API, inference of relations, and
 * validation that reports every problem with the nearest valid name. */
#include "t.h"
#include "tide.h"
#include "tschema.h"

static tide_error *err;

static tide_model *model(tide_schema *s, const char *name, const char *table)
{
    tide_model *m = tide_schema_add_model(s, name, table, NULL, err);
    if (!m)
        printf("  add_model %s: %s\n", name, tide_error_message(err));
    return m;
}

static void field(tide_model *m, const char *name, tide_type type, int flags)
{
    tide_field_def d;
    tide_field_def_init(&d);
    d.name = name;
    d.type = type;
    d.primary = flags & 1;
    d.unique = (flags & 2) != 0;
    d.nullable = (flags & 4) != 0;
    if (tide_model_add_field(m, &d, err) != TIDE_OK)
        printf("  add_field %s: %s\n", name, tide_error_message(err));
}

static void enum_field(tide_model *m, const char *name, const char *enum_name, const char *def)
{
    tide_field_def d;
    tide_field_def_init(&d);
    d.name = name;
    d.type = TIDE_T_ENUM;
    d.type_name = enum_name;
    if (def) {
        d.default_kind = TIDE_DEFAULT_LITERAL;
        d.default_value = def;
    }
    tide_model_add_field(m, &d, err);
}

static void relation(tide_model *m, const char *name, tide_relation_kind kind, const char *target,
                     const char *inverse)
{
    tide_relation_def d;
    tide_relation_def_init(&d);
    d.name = name;
    d.kind = kind;
    d.target = target;
    d.inverse = inverse;
    if (tide_model_add_relation(m, &d, err) != TIDE_OK)
        printf("  add_relation %s: %s\n", name, tide_error_message(err));
}

enum { PK = 1, UNIQUE = 2, NULLABLE = 4 };

static tide_schema *blog(void)
{
    tide_schema *s = tide_schema_new(err);
    const char *roles[] = {"user", "admin"};
    tide_schema_add_enum(s, "role", NULL, roles, 2, err);
    tide_model *u = model(s, "User", NULL);
    field(u, "id", TIDE_T_BIGSERIAL, PK);
    field(u, "email", TIDE_T_TEXT, UNIQUE);
    enum_field(u, "role", "role", "user");
    field(u, "manager_id", TIDE_T_BIGINT, NULLABLE);
    relation(u, "posts", TIDE_REL_HAS_MANY, "Post", NULL);
    relation(u, "profile", TIDE_REL_HAS_ONE, "Profile", NULL);
    relation(u, "manager", TIDE_REL_BELONGS_TO, "User", NULL);
    relation(u, "reports", TIDE_REL_HAS_MANY, "User", NULL);
    tide_model *p = model(s, "Profile", NULL);
    field(p, "id", TIDE_T_BIGSERIAL, PK);
    field(p, "user_id", TIDE_T_BIGINT, UNIQUE);
    relation(p, "user", TIDE_REL_BELONGS_TO, "User", NULL);
    tide_model *po = model(s, "Post", NULL);
    field(po, "id", TIDE_T_BIGSERIAL, PK);
    field(po, "title", TIDE_T_TEXT, 0);
    field(po, "author_id", TIDE_T_BIGINT, 0);
    relation(po, "author", TIDE_REL_BELONGS_TO, "User", NULL);
    relation(po, "tags", TIDE_REL_MANY_TO_MANY, "Tag", NULL);
    tide_model *t = model(s, "Tag", NULL);
    field(t, "id", TIDE_T_SERIAL, PK);
    field(t, "name", TIDE_T_TEXT, UNIQUE);
    relation(t, "posts", TIDE_REL_MANY_TO_MANY, "Post", NULL);
    tide_model *c = model(s, "Category", NULL);
    field(c, "id", TIDE_T_SERIAL, PK);
    return s;
}

T_CASE(blog_schema_finishes_and_infers_relations)
{
    tide_schema *s = blog();
    T_REQUIRE(s);
    int rc = tide_schema_finish(s, err);
    if (rc != TIDE_OK)
        printf("  %s\n", tide_error_message(err));
    T_REQUIRE(rc == TIDE_OK);
    T_EQ_INT(tide_schema_model_count(s), 5);
    const tide_model *u = tide_schema_model(s, "User");
    T_EQ_STR(tide_model_table(u), "users");
    T_EQ_STR(tide_model_table(tide_schema_model(s, "Category")), "categories");
    T_EQ_INT(u->npk, 1);
    T_EQ_STR(u->pk[0]->name, "id");
    /* belongs_to defaults: <name>_id referencing the target's primary key */
    const tide_relation *author = tide_model_relation(tide_schema_model(s, "Post"), "author");
    T_REQUIRE(author && author->fields && author->refs);
    T_EQ_STR(author->fields[0]->name, "author_id");
    T_EQ_STR(author->refs[0]->name, "id");
    /* has_many borrows its inverse's key */
    const tide_relation *posts = tide_model_relation(u, "posts");
    T_REQUIRE(posts && posts->inverse == author);
    T_EQ_STR(posts->fields[0]->name, "author_id");
    /* a self relation */
    const tide_relation *reports = tide_model_relation(u, "reports");
    T_REQUIRE(reports && reports->inverse);
    T_EQ_STR(reports->inverse->name, "manager");
    /* an implicit many_to_many shares one join table */
    const tide_relation *tags = tide_model_relation(tide_schema_model(s, "Post"), "tags");
    const tide_relation *tposts = tide_model_relation(tide_schema_model(s, "Tag"), "posts");
    T_REQUIRE(tags && tposts && tags->join_table && tposts->join_table);
    T_EQ_STR(tags->join_table, "posts_tags");
    T_EQ_STR(tposts->join_table, "posts_tags");
    T_EQ_STR(tags->join_from, "post_id");
    T_EQ_STR(tags->join_to, "tag_id");
    T_EQ_STR(tposts->join_from, "tag_id");
    /* finished: read-only */
    T_CHECK(tide_schema_add_model(s, "Late", NULL, NULL, err) == NULL);
    T_EQ_INT(tide_error_code(err), TIDE_E_MISUSE);
    tide_schema_free(s);
}

T_CASE(every_problem_is_reported_with_the_nearest_name)
{
    tide_schema *s = tide_schema_new(err);
    const char *roles[] = {"user", "admin"};
    tide_schema_add_enum(s, "role", NULL, roles, 2, err);
    tide_model *u = model(s, "User", NULL);
    field(u, "id", TIDE_T_BIGINT, PK);
    field(u, "email", TIDE_T_TEXT, 0);
    enum_field(u, "kind", "rolle", NULL);
    enum_field(u, "role", "role", "admn");
    tide_model *p = model(s, "Post", NULL);
    field(p, "id", TIDE_T_BIGINT, PK);
    field(p, "author_id", TIDE_T_TEXT, 0);
    field(p, "editor_id", TIDE_T_BIGINT, 0);
    relation(p, "author", TIDE_REL_BELONGS_TO, "User", NULL);
    relation(p, "editor", TIDE_REL_BELONGS_TO, "User", NULL);
    relation(p, "reviewer", TIDE_REL_BELONGS_TO, "User", NULL);
    relation(p, "blog", TIDE_REL_BELONGS_TO, "Blgo", NULL);
    relation(u, "posts", TIDE_REL_HAS_MANY, "Post", NULL);
    tide_model *n = model(s, "Note", NULL);
    field(n, "body", TIDE_T_TEXT, 0);
    tide_index_part part = {.field = "bodyy"};
    tide_index_def ix;
    tide_index_def_init(&ix);
    ix.parts = &part;
    ix.nparts = 1;
    tide_model_add_index(n, &ix, err);

    T_CHECK(tide_schema_finish(s, err) == TIDE_ERROR);
    T_EQ_INT(tide_error_code(err), TIDE_E_INVALID_ARGUMENT);
    const char *m = tide_error_message(err);
    printf("%s\n", m);
    T_CHECK(strstr(m, "User.kind: unknown enum 'rolle'; did you mean 'role'?") != NULL);
    T_CHECK(strstr(m, "User.role: default 'admn' is not a value of enum 'role'; did you mean 'admin'?") != NULL);
    T_CHECK(strstr(m, "Post.author: foreign key type mismatch: Post.author_id is text, User.id is bigint") != NULL);
    T_CHECK(strstr(m, "Post.reviewer: foreign key field 'reviewer_id' does not exist on Post") != NULL);
    T_CHECK(strstr(m, "Post.blog: relation to unknown model 'Blgo'; did you mean") == NULL); /* no near name */
    T_CHECK(strstr(m, "Post.blog: relation to unknown model 'Blgo'") != NULL);
    T_CHECK(strstr(m, "User.posts: ambiguous: Post has 3 relations to User (author, editor, reviewer)") != NULL);
    T_CHECK(strstr(m, "Note: no primary key") != NULL);
    T_CHECK(strstr(m, "Note: index on unknown field 'bodyy'; did you mean 'body'?") != NULL);
    T_CHECK(strstr(m, "the schema has 8 problems") != NULL);
    tide_schema_free(s);
}

T_CASE(names_are_checked_when_added)
{
    tide_schema *s = tide_schema_new(err);
    tide_model *u = model(s, "User", NULL);
    T_CHECK(tide_schema_add_model(s, "User", NULL, NULL, err) == NULL);
    T_CHECK(strstr(tide_error_message(err), "declared twice") != NULL);
    field(u, "id", TIDE_T_BIGINT, PK);
    tide_field_def d;
    tide_field_def_init(&d);
    d.name = "id";
    d.type = TIDE_T_TEXT;
    T_CHECK(tide_model_add_field(u, &d, err) == TIDE_ERROR);
    T_EQ_STR(tide_error_message(err), "User.id is declared twice");
    d.name = "a_name_that_is_much_longer_than_sixty_three_bytes_which_postgres_would_cut";
    T_CHECK(tide_model_add_field(u, &d, err) == TIDE_ERROR);
    d.name = "bad\xff";
    T_CHECK(tide_model_add_field(u, &d, err) == TIDE_ERROR);
    T_CHECK(strstr(tide_error_message(err), "valid UTF-8") != NULL);
    const char *dup[] = {"a", "a"};
    T_CHECK(tide_schema_add_enum(s, "e", NULL, dup, 2, err) == TIDE_ERROR);
    tide_schema_free(s);
}

static void sequence(tide_schema *s, const char *name, int64_t start, int has_start)
{
    tide_sequence_def d;
    tide_sequence_def_init(&d);
    d.name = name;
    d.start = start;
    d.has_start = has_start;
    if (tide_schema_add_sequence(s, &d, err) != TIDE_OK)
        printf("  add_sequence %s: %s\n", name, tide_error_message(err));
}

static void nextval_field(tide_model *m, const char *name, tide_type type, const char *seq)
{
    tide_field_def d;
    tide_field_def_init(&d);
    d.name = name;
    d.type = type;
    d.default_kind = TIDE_DEFAULT_NEXTVAL;
    d.default_value = seq;
    if (tide_model_add_field(m, &d, err) != TIDE_OK)
        printf("  add_field %s: %s\n", name, tide_error_message(err));
}

static void view(tide_model *m, tide_model_kind kind, const char *sql)
{
    tide_view_def d;
    tide_view_def_init(&d);
    d.kind = kind;
    d.sql = sql;
    if (tide_model_set_view(m, &d, err) != TIDE_OK)
        printf("  set_view %s: %s\n", tide_model_name(m), tide_error_message(err));
}

static void policy(tide_model *m, const char *name, const char *command, const char *using_expr, const char *check)
{
    tide_policy_def d;
    tide_policy_def_init(&d);
    d.name = name;
    d.command = command;
    d.using_expr = using_expr;
    d.check = check;
    if (tide_model_add_policy(m, &d, err) != TIDE_OK)
        printf("  add_policy %s: %s\n", name, tide_error_message(err));
}

static tide_schema *objects(void)
{
    tide_schema *s = tide_schema_new(err);
    sequence(s, "order_number", 1000, 1);
    tide_model *u = model(s, "User", NULL);
    field(u, "id", TIDE_T_BIGSERIAL, PK);
    field(u, "email", TIDE_T_TEXT, UNIQUE);
    nextval_field(u, "number", TIDE_T_BIGINT, "order_number");
    relation(u, "sessions", TIDE_REL_HAS_MANY, "ActiveSession", NULL);
    policy(u, "mine", NULL, "id = 1", NULL);
    tide_model *v = model(s, "ActiveSession", NULL);
    view(v, TIDE_MODEL_VIEW, "select id, user_id from sessions where active");
    field(v, "id", TIDE_T_BIGINT, PK);
    field(v, "user_id", TIDE_T_BIGINT, 0);
    relation(v, "user", TIDE_REL_BELONGS_TO, "User", NULL);
    tide_model *rv = model(s, "Recent", NULL);
    view(rv, TIDE_MODEL_VIEW, "select user_id from sessions order by id desc limit 10");
    field(rv, "user_id", TIDE_T_BIGINT, 0); /* no primary key: fine for a view */
    relation(rv, "user", TIDE_REL_BELONGS_TO, "User", NULL);
    tide_model *mv = model(s, "Stats", "stats");
    view(mv, TIDE_MODEL_MATERIALIZED_VIEW, "select 1 as id");
    field(mv, "id", TIDE_T_INTEGER, PK);
    return s;
}

T_CASE(views_sequences_and_policies_finish)
{
    tide_schema *s = objects();
    int rc = tide_schema_finish(s, err);
    if (rc != TIDE_OK)
        printf("  %s\n", tide_error_message(err));
    T_REQUIRE(rc == TIDE_OK);
    const tide_model *u = tide_schema_model(s, "User"), *v = tide_schema_model(s, "ActiveSession");
    T_EQ_INT(tide_model_kind_of(u), TIDE_MODEL_TABLE);
    T_EQ_INT(tide_model_kind_of(v), TIDE_MODEL_VIEW);
    T_EQ_INT(tide_model_kind_of(tide_schema_model(s, "Stats")), TIDE_MODEL_MATERIALIZED_VIEW);
    T_CHECK(tide_model_view_sql(u) == NULL);
    T_EQ_STR(tide_model_view_sql(v), "select id, user_id from sessions where active");
    T_EQ_STR(tide_model_table(v), "active_sessions");
    T_EQ_INT(tide_schema_model(s, "Recent")->npk, 0);
    T_CHECK(u->rls && !u->force_rls); /* implied by the policy */
    T_EQ_INT(u->policies[0].cmd, TSCH_POLICY_ALL);
    T_REQUIRE(u->fields[2]->sequence_ref);
    T_EQ_STR(u->fields[2]->sequence_ref->name, "order_number");
    /* a table's has_many to a view, through the view's belongs_to */
    const tide_relation *r = tide_model_relation(u, "sessions");
    T_REQUIRE(r && r->inverse && r->fields);
    T_EQ_STR(r->fields[0]->name, "user_id");
    tide_schema_free(s);
}

/* One query of the model client, compiled: its SQL, or the error. */
static const char *compile(tide_schema *s, const char *model, tide_op op, int with_data)
{
    static char out[600];
    tide_desc *d = tide_desc_new(err);
    tide_node root = tide_desc_object(d);
    tide_value v = {.kind = TIDE_KIND_TEXT, .as.s = {"a@x", 3}};
    if (with_data) {
        tide_node data = tide_desc_object(d);
        tide_desc_set(d, data, "user_id", 7, tide_desc_leaf(d, 0));
        tide_desc_set(d, root, op == TIDE_OP_FIND_MANY ? "where" : "data", op == TIDE_OP_FIND_MANY ? 5 : 4, data);
    }
    const tide_compiled *c;
    if (tide_model_query(s, model, op, d, root, &v, with_data, &c, err) == TIDE_OK)
        snprintf(out, sizeof out, "%s", tide_compiled_sql(c));
    else
        snprintf(out, sizeof out, "error: %s", tide_error_message(err));
    tide_desc_free(d);
    return out;
}

T_CASE(views_are_read_only_in_the_model_client)
{
    tide_schema *s = objects();
    T_REQUIRE(tide_schema_finish(s, err) == TIDE_OK);
    T_CHECK(strstr(compile(s, "Recent", TIDE_OP_FIND_MANY, 1), "FROM \"recents\" AS \"t0\" WHERE") != NULL);
    T_EQ_STR(compile(s, "Recent", TIDE_OP_DELETE, 0), "error: Recent is a view: it is read-only");
    const char *sql = compile(s, "ActiveSession", TIDE_OP_FIND_MANY, 1);
    T_CHECK(strstr(sql, "FROM \"active_sessions\" AS \"t0\" WHERE") != NULL);
    T_EQ_STR(compile(s, "ActiveSession", TIDE_OP_COUNT, 0),
             "SELECT count(*) AS \"count\" FROM \"active_sessions\" AS \"t0\"");
    T_EQ_STR(compile(s, "ActiveSession", TIDE_OP_CREATE, 1), "error: ActiveSession is a view: it is read-only");
    T_EQ_STR(compile(s, "ActiveSession", TIDE_OP_DELETE_MANY, 0), "error: ActiveSession is a view: it is read-only");
    T_EQ_STR(compile(s, "ActiveSession", TIDE_OP_UPDATE_MANY, 1), "error: ActiveSession is a view: it is read-only");
    T_EQ_STR(compile(s, "Stats", TIDE_OP_UPSERT, 0), "error: Stats is a materialized view: it is read-only");
    T_EQ_STR(compile(s, "Stats", TIDE_OP_CREATE_MANY, 0), "error: Stats is a materialized view: it is read-only");
    T_EQ_STR(compile(s, "Stats", TIDE_OP_FIND_MANY, 0), "SELECT \"t0\".\"id\" AS \"id\" FROM \"stats\" AS \"t0\"");
    tide_schema_free(s);
}

T_CASE(object_problems_are_reported_with_the_nearest_name)
{
    tide_schema *s = tide_schema_new(err);
    sequence(s, "order_number", 0, 0);
    sequence(s, "order_number", 0, 0);
    sequence(s, "low", 0, 1);      /* below an ascending sequence's min of 1 */
    sequence(s, "users", 5, 1);    /* a table's name */
    tide_sequence_def q;
    tide_sequence_def_init(&q);
    q.name = "upside_down";
    q.has_min = q.has_max = 1;
    q.min_value = 10;
    q.max_value = 5;
    tide_schema_add_sequence(s, &q, err);
    tide_model *u = model(s, "User", NULL);
    field(u, "id", TIDE_T_BIGINT, PK);
    nextval_field(u, "number", TIDE_T_BIGINT, "order_numbr");
    nextval_field(u, "code", TIDE_T_TEXT, "order_number");
    field(u, "report_id", TIDE_T_BIGINT, 0);
    relation(u, "report", TIDE_REL_BELONGS_TO, "Report", NULL);
    relation(u, "reports", TIDE_REL_MANY_TO_MANY, "Report", NULL);
    policy(u, "p", "selct", "true", NULL);
    policy(u, "p", "select", "true", NULL);
    policy(u, "ins", "insert", "true", "true");
    policy(u, "sel", "select", NULL, "true");
    policy(u, "nothing", "update", NULL, NULL);
    tide_policy_def everyone;
    tide_policy_def_init(&everyone);
    everyone.name = "everyone";
    everyone.using_expr = "true";
    everyone.roles = (const char *const[]){"app", "public"};
    everyone.nroles = 2;
    tide_model_add_policy(u, &everyone, err);
    tide_model *r = model(s, "Report", NULL);
    view(r, TIDE_MODEL_VIEW, "select 1 as id;  ");
    field(r, "id", TIDE_T_BIGINT, PK);
    tide_field_def d;
    tide_field_def_init(&d);
    d.name = "at";
    d.type = TIDE_T_TIMESTAMPTZ;
    d.default_kind = TIDE_DEFAULT_NOW;
    tide_model_add_field(r, &d, err);
    tide_index_part part = {.field = "id"};
    tide_index_def ix;
    tide_index_def_init(&ix);
    ix.parts = &part;
    ix.nparts = 1;
    tide_model_add_index(r, &ix, err);
    policy(r, "nope", NULL, "true", NULL);
    tide_model *e = model(s, "Empty", NULL);
    view(e, TIDE_MODEL_MATERIALIZED_VIEW, " \n ");
    field(e, "user_id", TIDE_T_BIGINT, 0);
    relation(e, "user", TIDE_REL_BELONGS_TO, "User", NULL);
    relation(u, "empties", TIDE_REL_HAS_MANY, "Empty", NULL);
    tide_model *same = model(s, "UserView", "users");
    view(same, TIDE_MODEL_VIEW, "select 1");
    tide_model *off = model(s, "Off", NULL);
    field(off, "id", TIDE_T_BIGINT, PK);
    policy(off, "p", NULL, "true", NULL);
    tide_model_set_rls(off, 0, 0, err);

    T_CHECK(tide_schema_finish(s, err) == TIDE_ERROR);
    const char *m = tide_error_message(err);
    printf("%s\n", m);
    static const char *const want[] = {
        "sequence 'order_number' is declared twice",
        "sequence 'low': start 0 is below min 1",
        "sequence 'users' has the name of User's table",
        "sequence 'upside_down': min 10 must be below max 5",
        "UserView: view 'users' has the name of User's table",
        "User.number: unknown sequence 'order_numbr'; did you mean 'order_number'?",
        "User.code: a sequence default needs an integer or numeric field, not text",
        "User: policy 'p': unknown command 'selct'; did you mean 'select'?",
        "User: policy 'p' is declared twice",
        "User: policy 'ins': an insert policy takes only check (WITH CHECK)",
        "User: policy 'sel': a select policy takes only using",
        "User: policy 'nothing' needs using or check",
        "User: policy 'everyone': public covers every role (PostgreSQL would ignore 'app')",
        "Report: the view's sql ends with ';' (write one query, without it)",
        "Report.at: a view's field cannot have a default (its query makes the rows)",
        "Report: a view cannot have indexes (a materialized view can)",
        "Report: row-level security applies to tables, and Report is a view",
        "Empty: a view needs its query (sql = \"select ...\")",
        "Off: rls is off, yet it has policies",
        "User.report: Report is a view: a table's foreign key cannot reference it (a view may hold the belongs_to)",
        "User.reports: an implicit many_to_many cannot join Report, a view (use through =)",
        "the schema has 22 problems",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(m, want[i]))
            T_FAILF("missing: %s", want[i]);
    /* names are checked when added */
    tide_policy_def pd;
    tide_policy_def_init(&pd);
    pd.name = "";
    T_EQ_INT(tide_model_add_policy(u, &pd, err), TIDE_ERROR);
    pd.name = "ok";
    pd.roles = (const char *const[]){"app", "bad\xff"};
    pd.nroles = 2;
    T_EQ_INT(tide_model_add_policy(u, &pd, err), TIDE_ERROR);
    T_CHECK(strstr(tide_error_message(err), "role 'bad") != NULL);
    tide_schema_free(s);
}

T_CASE(function_and_trigger_problems_are_reported_with_the_nearest_name)
{
    tide_schema *s = tide_schema_new(err);
    tide_function_def f;
    tide_function_def_init(&f);
    f.name = "touch";
    f.returns = "trigger";
    f.language = "plpgsql";
    f.body = "begin return new; end";
    T_EQ_INT(tide_schema_add_function(s, &f, err), TIDE_OK);
    T_EQ_INT(tide_schema_add_function(s, &f, err), TIDE_OK); /* twice: reported at finish */
    f.name = "twice";
    f.returns = "integer";
    f.language = "sql";
    f.volatility = "imutable";
    T_EQ_INT(tide_schema_add_function(s, &f, err), TIDE_OK);
    tide_model *u = model(s, "User", NULL);
    field(u, "id", TIDE_T_BIGINT, PK);
    tide_trigger_def t;
    tide_trigger_def_init(&t);
    t.name = "a";
    t.timing = "befor";
    t.events = TIDE_TRIGGER_UPDATE;
    t.function = "tuch";
    tide_model_add_trigger(u, &t, err);
    t.name = "b";
    t.timing = "after";
    t.events = 0;
    t.function = "twice";
    tide_model_add_trigger(u, &t, err);
    t.name = "c";
    t.timing = "instead_of";
    t.events = TIDE_TRIGGER_TRUNCATE;
    t.function = "touch";
    tide_model_add_trigger(u, &t, err);
    T_CHECK(tide_schema_finish(s, err) == TIDE_ERROR);
    const char *m = tide_error_message(err);
    static const char *const want[] = {
        "function 'touch' is declared twice (one function per name)",
        "function 'twice': unknown volatility 'imutable'; did you mean 'immutable'?",
        "User: trigger 'a': timing 'befor' is not before, after or instead_of; did you mean 'before'?",
        "User: trigger 'a' executes unknown function 'tuch'; did you mean 'touch'?",
        "User: trigger 'b' needs events: insert, update, delete or truncate",
        "User: trigger 'b': function 'twice' returns integer, not trigger",
        "User: trigger 'c': instead_of is for row triggers on views",
        "User: trigger 'c': truncate fires for each statement only",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(m, want[i]))
            T_FAILF("missing: %s\n(got: %s)", want[i], m);
    /* names are checked when added */
    f.name = "bad name\xff";
    T_EQ_INT(tide_schema_add_function(s, &f, err), TIDE_ERROR);
    f.name = "ok";
    f.body = NULL;
    T_EQ_INT(tide_schema_add_function(s, &f, err), TIDE_ERROR);
    T_CHECK(strstr(tide_error_message(err), "function 'ok' needs a body") != NULL);
    tide_schema_free(s);
}

T_CASE(nearest)
{
    const char *names[] = {"email", "name", "created_at"};
    T_EQ_STR(tide_nearest("emial", names, 3), "email");
    T_EQ_STR(tide_nearest("Email", names, 3), "email");
    T_EQ_STR(tide_nearest("createdAt", names, 3), "created_at");
    T_CHECK(tide_nearest("zzzzzz", names, 3) == NULL);
    T_EQ_STR(tide_type_name(tide_type_from_name("timestamptz")), "timestamptz");
    T_EQ_INT(tide_type_from_name("nope"), 0);
}

int main(void)
{
    err = tide_error_new();
    (void)t_url;
    T_RUN(blog_schema_finishes_and_infers_relations);
    T_RUN(every_problem_is_reported_with_the_nearest_name);
    T_RUN(names_are_checked_when_added);
    T_RUN(views_sequences_and_policies_finish);
    T_RUN(views_are_read_only_in_the_model_client);
    T_RUN(object_problems_are_reported_with_the_nearest_name);
    T_RUN(function_and_trigger_problems_are_reported_with_the_nearest_name);
    T_RUN(nearest);
    tide_error_free(err);
    return t_done();
}
