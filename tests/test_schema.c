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
    T_RUN(nearest);
    tide_error_free(err);
    return t_done();
}
