-- The schema DSL: declaring, checking as a whole, and pushing to a database.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

describe("schema", function()
  it("declares the blog and SaaS examples, which check out", function()
    local blog = helper.example_schema("blog"):finish()
    assert.matches("tide.schema%(6 models%)", tostring(blog))
    helper.example_schema("saas"):finish()
  end)

  it("refuses unknown types, options and modifiers at once, naming the nearest", function()
    local e = helper.raises(function() return t.txt "x" end)
    assert.matches("unknown type 'txt'; did you mean 'text'%?", e)
    e = helper.raises(function() return t.text "x" :uniqe() end)
    assert.matches("unknown field option 'uniqe'; did you mean 'unique'%?", e)
    local s = tide.schema()
    e = helper.raises(function() s:model "A" { t.serial "id" :primary(), tabel = "as" } end)
    assert.matches("'tabel' is not a relation or an option; did you mean 'table'%?", e)
    e = helper.raises(function() return tide.belongs_to("A", { on_delet = "cascade" }) end)
    assert.matches("unknown option 'on_delet'; did you mean 'on_delete'%?", e)
    e = helper.raises(function() return tide.index { "a", usng = "gin" } end)
    assert.matches("unknown option 'usng'; did you mean 'using'%?", e)
  end)

  it("reports every problem of the whole schema with the nearest valid name", function()
    local s = tide.schema()
    local Role = s:enum("role", { "user", "admin" })
    s:model "User" {
      t.bigserial "id" :primary(),
      Role "role" :default "admn",
      posts = tide.has_many "Post",
    }
    s:model "Post" {
      t.bigserial "id" :primary(),
      t.text "author_id",
      author = tide.belongs_to "User",
      blog = tide.belongs_to "Blgo",
      editor = tide.belongs_to("Usr"),
    }
    s:model "Note" { t.text "body" }
    local e = helper.raises(function() s:finish() end)
    assert.is_true(tide.is_error(e))
    assert.are.equal("invalid_argument", e.code)
    assert.matches("the schema has %d problems", e.message)
    assert.matches("User.role: default 'admn' is not a value of enum 'role'; did you mean 'admin'%?", e.message)
    assert.matches("Post.author: foreign key type mismatch: Post.author_id is text, User.id is bigserial", e.message)
    assert.matches("Post.editor: relation to unknown model 'Usr'; did you mean 'User'%?", e.message)
    assert.matches("Note: no primary key", e.message)
  end)

  it("merges a field's references() into the belongs_to on that field", function()
    local s = tide.schema()
    s:model "User" { t.bigserial "id" :primary() }
    s:model "Post" {
      t.bigserial "id" :primary(),
      t.bigint "author_id" :references("User", { on_delete = "cascade" }),
      t.bigint "editor_id" :nullable() :references("User", { on_delete = "set_null" }),
      author = tide.belongs_to "User",
    }
    local ddl = table.concat(s:ddl(), "\n")
    assert.matches('FOREIGN KEY %("author_id"%) REFERENCES "users" %("id"%) ON DELETE CASCADE', ddl)
    assert.matches('FOREIGN KEY %("editor_id"%) REFERENCES "users" %("id"%) ON DELETE SET NULL', ddl)
    local _, fks = ddl:gsub("FOREIGN KEY", "")
    assert.are.equal(2, fks)
  end)

  it("pushes the blog schema to an empty database", function()
    local url = helper.fresh_database("tide_schema_spec")
    local schema = helper.example_schema("blog")
    local db = tide.connect(url, { schema = schema })
    local n = db:push()
    assert.is_true(n >= 10)
    local tables = {}
    for _, r in ipairs(db:query("select table_name from information_schema.tables where table_schema = 'public' order by 1")) do
      tables[#tables + 1] = r.table_name
    end
    assert.are.same({ "categories", "comments", "posts", "posts_tags", "profiles", "tags", "users" }, tables)
    local fk = db:one([[select confdeltype from pg_constraint where conname = 'posts_author_id_fkey']])
    assert.are.equal("c", fk.confdeltype)
    assert.are.equal("user", db:one("insert into users (email, password_hash) values ('a@x', 'h') returning role").role)
    -- pushing again onto what exists fails, and changes nothing
    local e = helper.raises(function() db:push() end)
    assert.are.equal("42710", e.sqlstate) -- the enum exists
    db:close()
  end)
end)
