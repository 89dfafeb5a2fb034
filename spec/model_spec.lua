-- The model client against a real database (the blog example): every
-- operation, every where operator on real rows, LIKE metacharacters, the
-- fluent chain, transactions, and the refusals that come before any SQL.
--
-- Blocks named regression_* are bugs this spec found, fixed since.
local tide = require "tide"
local helper = require "helper"
local refused, keys, column = helper.refused, helper.keys, helper.column

-- the values of one field of rows, sorted (for order-free comparisons)
local function values(rows, field)
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = r[field] end
  table.sort(out, function(a, b)
    if type(a) == "number" and type(b) == "number" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return out
end

describe("model client", function()
  local db, U, P

  setup(function()
    local url = helper.fresh_database("tide_model_spec")
    db = tide.connect(url, { schema = helper.example_schema("blog") })
    db:push()
  end)

  teardown(function()
    db:close()
  end)

  -- four users and five posts, fresh for every test
  before_each(function()
    db:exec("truncate users, profiles, categories, posts, comments, tags, posts_tags restart identity cascade")
    U = {}
    U.ann = db.User:create{ data = { email = "ann@example.com", name = "Ann", password_hash = "h1" } }
    U.bob = db.User:create{ data = { email = "Bob@Example.org", name = "Bob", password_hash = "h2" } }
    U.cat = db.User:create{ data = { email = "cat_1@test.io", password_hash = "h3" } } -- no name
    U.dan = db.User:create{ data = { email = "dan%2@test.io", name = "Dan", password_hash = "h4" } }
    P = {}
    local function post(key, author, title, views, content)
      P[key] = db.Post:create{ data = { title = title, author_id = author.id, views = views, content = content } }
    end
    post("pct", U.ann, "50% off", 10, "sale")
    post("x", U.ann, "50x off", 0, "sale")
    post("under", U.bob, "under_score", 5)
    post("underx", U.bob, "underXscore", 7, "x")
    post("slash", U.cat, "back\\slash", 3)
  end)

  describe("operations", function()
    it("create returns the row, with defaults and without omitted fields", function()
      local u = db.User:create{ data = { email = "eve@x", password_hash = "secret" } }
      assert.are.same({ "created_at", "email", "id", "role", "updated_at" }, keys(u))
      assert.are.equal(5, u.id)
      assert.are.equal("user", u.role)
      assert.are.equal(u.created_at, u.updated_at)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT", u.created_at)
      -- asked for by name, the omitted field comes back
      local v = db.User:create{ data = { email = "fay@x", password_hash = "pw", name = tide.null },
        select = { id = true, password_hash = true, name = true } }
      assert.are.same({ id = 6, password_hash = "pw" }, v) -- NULL columns are absent
    end)

    it("find_many, find_first, find_unique and the _or_throw forms", function()
      assert.are.same({ 1, 2, 3, 4 }, values(db.User:find_many(), "id"))
      assert.are.same({ 1, 2, 3, 4 }, values(db.User:find_many{}, "id"))
      assert.are.equal("dan%2@test.io", db.User:find_first{ order_by = { id = "desc" } }.email)
      assert.are.equal(2, db.User:find_first{ where = { name = { starts_with = "B" } } }.id)
      assert.is_nil(db.User:find_first{ where = { name = "Nobody" } })
      assert.are.equal("Ann", db.User:find_unique{ where = { email = "ann@example.com" } }.name)
      assert.are.equal("Bob", db.User:find_unique{ where = { id = U.bob.id } }.name)
      assert.are.equal("Bob", db.User:find_unique{ where = { id = { equals = U.bob.id } } }.name)
      assert.is_nil(db.User:find_unique{ where = { id = 999 } })
      assert.are.equal(1, db.User:find_unique_or_throw{ where = { id = 1 } }.id)
      local e = refused("not_found", "find_unique_or_throw: no User matched",
        db.User.find_unique_or_throw, db.User, { where = { id = 999 } })
      assert.matches("^tide: not_found: ", tostring(e))
      refused("not_found", "find_first_or_throw: no Post matched",
        db.Post.find_first_or_throw, db.Post, { where = { views = { gt = 1000 } } })
      assert.are.equal("50% off", db.Post:find_first_or_throw{ where = { views = 10 } }.title)
    end)

    it("count, with where and with take and skip", function()
      assert.are.equal(4, db.User:count())
      assert.are.equal(4, db.User:count{})
      assert.are.equal(1, db.User:count{ where = { name = tide.null } })
      assert.are.equal(2, db.Post:count{ where = { author_id = U.ann.id } })
      assert.are.equal(2, db.User:count{ take = 2 })
      assert.are.equal(1, db.User:count{ skip = 3 })
      assert.are.equal(2, db.User:count{ skip = 1, take = 2 })
      assert.are.equal(0, db.User:count{ skip = 10 })
    end)

    it("update, update_many, delete and delete_many", function()
      local u = db.User:update{ where = { id = U.cat.id }, data = { name = "Cat" } }
      assert.are.equal("Cat", u.name)
      assert.is_nil(u.password_hash)
      assert.are.equal("Cat", db.User:find_unique{ where = { email = "cat_1@test.io" } }.name)
      -- a unique key of the row: email
      assert.are.equal("Bobby", db.User:update{ where = { email = "Bob@Example.org" }, data = { name = "Bobby" } }.name)
      -- no row: nil (no error)
      assert.is_nil(db.User:update{ where = { id = 999 }, data = { name = "x" } })
      assert.are.equal(2, db.Post:update_many{ where = { title = { starts_with = "50" } }, data = { content = tide.null } })
      assert.are.equal(4, db.Post:count{ where = { content = tide.null } }) -- two had none already
      assert.are.equal(0, db.Post:update_many{ where = { id = 999 }, data = { views = 1 } })
      -- the rows changed, as they are after the update; select/omit as for a find
      local rows = db.Post:update_many_and_return{ where = { title = { starts_with = "50" } },
        data = { views = { increment = 1 } }, select = { title = true, views = true } }
      table.sort(rows, function(a, b) return a.title < b.title end)
      assert.are.equal(2, #rows)
      assert.are.same({ "title", "views" }, (function(r) local k = {} for n in pairs(r) do k[#k + 1] = n end
        table.sort(k) return k end)(rows[1]))
      for _, r in ipairs(rows) do
        assert.are.equal(r.views, db.Post:find_first{ where = { title = r.title } }.views)
      end
      assert.are.same({}, db.Post:update_many_and_return{ where = { id = 999 }, data = { views = 1 } })
      local whole = db.User:update_many_and_return{ where = { id = U.cat.id }, data = { name = "Cat" } }
      assert.are.equal(1, #whole)
      assert.are.equal("cat_1@test.io", whole[1].email)
      assert.is_nil(whole[1].password_hash) -- the schema's omit holds here too
      refused("invalid_argument", "unknown option 'take'",
        db.User.update_many_and_return, db.User, { data = { name = "x" }, take = 1 })
      local d = db.Post:delete{ where = { id = P.slash.id } }
      assert.are.equal("back\\slash", d.title)
      assert.is_nil(db.Post:find_unique{ where = { id = P.slash.id } })
      assert.is_nil(db.Post:delete{ where = { id = P.slash.id } })
      assert.are.equal(2, db.Post:delete_many{ where = { author_id = U.bob.id } })
      assert.are.equal(2, db.Post:count())
      assert.are.equal(2, db.Post:delete_many())
      assert.are.equal(0, db.Post:count())
      -- deleting a user cascades to its posts (on_delete = cascade)
      db.Post:create{ data = { title = "t", author_id = U.dan.id } }
      db.User:delete{ where = { id = U.dan.id } }
      assert.are.equal(0, db.Post:count())
    end)

    it("increment, decrement, multiply and divide are atomic updates", function()
      local id = P.pct.id
      assert.are.equal(15, db.Post:update{ where = { id = id }, data = { views = { increment = 5 } } }.views)
      assert.are.equal(12, db.Post:update{ where = { id = id }, data = { views = { decrement = 3 } } }.views)
      assert.are.equal(24, db.Post:update{ where = { id = id }, data = { views = { multiply = 2 } } }.views)
      assert.are.equal(6, db.Post:update{ where = { id = id }, data = { views = { divide = 4 } } }.views)
      assert.are.equal(9, db.Post:update{ where = { id = id }, data = { views = { set = 9 } } }.views)
      -- computed by the database from the row's value, not read and written back
      local sql = db.Post:to_sql("update", { where = { id = id }, data = { views = { increment = 1 } } })
      assert.matches('SET "views" = "t0"%."views" %+ %$1', sql)
      assert.are.equal(5, db.Post:update_many{ data = { views = { increment = 1 } } })
      local tx <close> = db:begin()
      tx.Post:update{ where = { id = id }, data = { views = { increment = 100 } } }
      tx:commit()
      assert.are.equal(110, db.Post:find_unique{ where = { id = id } }.views)
      refused("invalid_argument", "data Post.title: increment works on number fields, not text",
        db.Post.update, db.Post, { where = { id = id }, data = { title = { increment = 1 } } })
    end)

    it("sets updated_at on every update, and leaves created_at", function()
      local old = "2000-01-01T00:00:00+00:00"
      -- setting updated_at by hand wins over the automatic one
      assert.are.equal(4, db.User:update_many{ data = { updated_at = old, created_at = old } })
      assert.are.equal(old, db.User:find_unique{ where = { id = 1 } }.updated_at)
      local u = db.User:update{ where = { id = 1 }, data = { name = "Ann B" } }
      assert.are.equal(old, u.created_at)
      assert.is_true(u.updated_at > old)
      assert.are.equal(old, db.User:find_unique{ where = { id = 2 } }.updated_at)
      db.User:update_many{ where = { id = { ["in"] = { 2, 3 } } }, data = { name = "N" } }
      assert.is_true(db.User:find_unique{ where = { id = 2 } }.updated_at > old)
      assert.are.equal(old, db.User:find_unique{ where = { id = 4 } }.updated_at)
      -- an atomic update touches it too
      db.Post:update_many{ data = { updated_at = old } }
      assert.is_true(db.Post:update{ where = { id = 1 }, data = { views = { increment = 1 } } }.updated_at > old)
    end)

    it("unique violation raises unique_violation with the constraint", function()
      local e = refused("unique_violation", "users_email_key",
        db.User.create, db.User, { data = { email = "ann@example.com", password_hash = "x" } })
      assert.are.equal("23505", e.sqlstate)
      assert.are.equal("users_email_key", e.constraint)
      assert.are.equal("users", e.table)
      e = refused("unique_violation", nil, db.User.update, db.User,
        { where = { id = U.bob.id }, data = { email = "ann@example.com" } })
      assert.are.equal("users_email_key", e.constraint)
      e = refused("foreign_key_violation", nil, db.Post.create, db.Post, { data = { title = "t", author_id = 999 } })
      assert.are.equal("posts_author_id_fkey", e.constraint)
      e = refused("not_null_violation", nil, db.User.create, db.User, { data = { email = "no-hash@x" } })
      assert.are.equal("password_hash", e.column)
    end)
  end)

  describe("where", function()
    local function emails(where) return values(db.User:find_many{ where = where }, "email") end
    local function titles(where) return values(db.Post:find_many{ where = where }, "title") end

    it("equals, not, null and not null", function()
      assert.are.same({ "ann@example.com" }, emails{ name = "Ann" })
      assert.are.same({ "ann@example.com" }, emails{ name = { equals = "Ann" } })
      assert.are.same({ "cat_1@test.io" }, emails{ name = tide.null })
      assert.are.same({ "cat_1@test.io" }, emails{ name = { equals = tide.null } })
      assert.are.same({ "Bob@Example.org", "ann@example.com", "dan%2@test.io" }, emails{ name = { not_ = tide.null } })
      assert.are.same({ "Bob@Example.org", "ann@example.com", "dan%2@test.io" }, emails{ name = { ["not"] = tide.null } })
      -- not: a NULL name is neither equal nor unequal to 'Ann'
      assert.are.same({ "Bob@Example.org", "dan%2@test.io" }, emails{ name = { ["not"] = "Ann" } })
      assert.are.same({ "ann@example.com", "dan%2@test.io" }, emails{ name = { ["not"] = { starts_with = "B" } } })
      assert.are.same({}, emails{ name = "nobody" })
      assert.are.same({ "ann@example.com" }, emails{ role = "user", name = "Ann" })
    end)

    it("in and not_in", function()
      assert.are.same({ "Bob@Example.org", "ann@example.com" }, emails{ id = { ["in"] = { 1, 2 } } })
      assert.are.same({ "Bob@Example.org", "ann@example.com" }, emails{ id = { in_ = { 1, 2, 99 } } })
      assert.are.same({ "cat_1@test.io", "dan%2@test.io" }, emails{ id = { not_in = { 1, 2 } } })
      assert.are.same({ "ann@example.com" }, emails{ name = { ["in"] = { "Ann", "ann" } } })
      assert.are.same({ "ann@example.com", "cat_1@test.io" }, emails{ role = "user", email = { ["in"] = { "ann@example.com", "cat_1@test.io" } } })
    end)

    it("in = {} matches nothing, not_in = {} matches everything", function()
      assert.are.same({}, emails{ id = { ["in"] = {} } })
      assert.are.same({}, emails{ id = { in_ = {} } })
      assert.are.same({}, emails{ email = { ["in"] = tide.array() } })
      assert.are.equal(4, #emails{ id = { not_in = {} } })
      assert.are.equal(4, #emails{ name = { not_in = {} } }) -- NULL names too: <> ALL('{}') is true
      assert.are.equal(0, db.User:count{ where = { id = { ["in"] = {} } } })
      assert.are.equal(0, db.User:update_many{ where = { id = { ["in"] = {} } }, data = { name = "x" } })
      assert.are.equal(0, db.User:delete_many{ where = { id = { ["in"] = {} } } })
      assert.are.equal(4, db.User:count())
    end)

    it("a huge in list is one parameter", function()
      local big, strings = {}, {}
      for i = 1, 100000 do
        big[i] = i * 7 % 100003 -- 1..4 among them, in no order
        strings[i] = ("user%d@nowhere"):format(i)
      end
      big[#big + 1] = 1
      local sql, n = db.User:to_sql("find_many", { where = { id = { ["in"] = big } } })
      assert.are.equal(1, n)
      assert.matches("= ANY%(%$1%)", sql)
      assert.are.equal(4, #db.User:find_many{ where = { id = { ["in"] = big } } })
      assert.are.equal(0, db.User:count{ where = { id = { not_in = big } } })
      strings[#strings + 1] = "ann@example.com"
      assert.are.same({ "ann@example.com" }, emails{ email = { ["in"] = strings } })
      assert.are.equal(3, db.User:count{ where = { email = { not_in = strings } } })
    end)

    it("lt, lte, gt and gte", function()
      assert.are.same({ "50x off", "back\\slash" }, titles{ views = { lt = 5 } })
      assert.are.same({ "50x off", "back\\slash", "under_score" }, titles{ views = { lte = 5 } })
      assert.are.same({ "50% off", "underXscore" }, titles{ views = { gt = 5 } })
      assert.are.same({ "50% off", "underXscore", "under_score" }, titles{ views = { gte = 5 } })
      assert.are.same({ "back\\slash", "under_score" }, titles{ views = { gte = 3, lt = 7 } })
      assert.are.same({ "50% off" }, titles{ views = { gt = 7.0 } }) -- a whole float is an integer
      assert.are.same({ "50% off", "50x off" }, titles{ title = { lt = "a" } }) -- text compares too
      local e = refused("invalid_argument", "Post.views: cannot order-compare with null",
        db.Post.find_many, db.Post, { where = { views = { lt = tide.null } } })
      assert.is_nil(e.sqlstate)
    end)

    it("contains, starts_with and ends_with", function()
      assert.are.same({ "50% off", "50x off" }, titles{ title = { contains = "0" } })
      assert.are.same({ "underXscore", "under_score" }, titles{ title = { starts_with = "under" } })
      assert.are.same({ "underXscore", "under_score" }, titles{ title = { ends_with = "score" } })
      assert.are.same({ "50% off", "50x off" }, titles{ title = { starts_with = "50", ends_with = " off" } })
      assert.are.same({}, titles{ title = { contains = "OFF" } })
      assert.are.equal(5, #titles{ title = { contains = "" } })
      refused("invalid_argument", "Post.views: contains works on text fields, not integer",
        db.Post.find_many, db.Post, { where = { views = { contains = "1" } } })
      refused("invalid_argument", "Post.title: contains takes a string, not null",
        db.Post.find_many, db.Post, { where = { title = { contains = tide.null } } })
    end)

    it("LIKE metacharacters match literally, in the data and in the search string", function()
      assert.are.same({ "50% off" }, titles{ title = { contains = "%" } })
      assert.are.same({ "under_score" }, titles{ title = { contains = "_" } })
      assert.are.same({ "back\\slash" }, titles{ title = { contains = "\\" } })
      assert.are.same({ "50% off" }, titles{ title = { starts_with = "50%" } })
      assert.are.same({ "under_score" }, titles{ title = { ends_with = "_score" } })
      -- as patterns these would match: '5%f' both 50...off titles, 'under_score' both under...score
      assert.are.same({}, titles{ title = { contains = "5%f" } })
      assert.are.same({ "under_score" }, titles{ title = { contains = "under_score" } })
      assert.are.same({}, titles{ title = { contains = "%%" } })
      assert.are.same({}, titles{ title = { starts_with = "%" } })
      assert.are.same({}, titles{ title = { ends_with = "_" } })
      -- a backslash escapes nothing: as an escape, '\s' would be 's' and match three titles
      assert.are.same({ "back\\slash" }, titles{ title = { contains = "\\s" } })
      assert.are.same({}, titles{ title = { contains = "\\l" } })
      -- and in insensitive mode
      assert.are.same({ "under_score" }, titles{ title = { contains = "R_S", mode = "insensitive" } })
      assert.are.same({ "dan%2@test.io" }, emails{ email = { contains = "N%2", mode = "insensitive" } })
      assert.are.same({ "cat_1@test.io" }, emails{ email = { starts_with = "cat_" } })
      assert.are.same({}, emails{ email = { starts_with = "ca_" } })
    end)

    it("mode = 'insensitive'", function()
      assert.are.same({ "Bob@Example.org" }, emails{ email = { equals = "bob@example.ORG", mode = "insensitive" } })
      assert.are.same({}, emails{ email = { equals = "bob@example.ORG" } })
      assert.are.same({ "Bob@Example.org", "ann@example.com" }, emails{ email = { contains = "EXAMPLE", mode = "insensitive" } })
      assert.are.same({}, emails{ email = { contains = "EXAMPLE" } })
      assert.are.same({}, emails{ email = { contains = "EXAMPLE", mode = "default" } })
      assert.are.same({ "ann@example.com" }, emails{ email = { ends_with = ".COM", mode = "insensitive" } })
      assert.are.same({ "Bob@Example.org", "cat_1@test.io", "dan%2@test.io" },
        emails{ email = { ["not"] = "ANN@example.com", mode = "insensitive" } })
      refused("invalid_argument", "User.email: unknown mode 'insensitiv'; it is 'insensitive' or 'default'",
        db.User.find_many, db.User, { where = { email = { equals = "x", mode = "insensitiv" } } })
      refused("invalid_argument", "Post.views: mode = 'insensitive' works on text fields",
        db.Post.find_many, db.Post, { where = { views = { equals = 1, mode = "insensitive" } } })
    end)

    it("AND, OR and NOT, nested", function()
      assert.are.same({ "Bob@Example.org", "ann@example.com" }, emails{ OR = { { name = "Ann" }, { name = "Bob" } } })
      assert.are.same({ "ann@example.com" }, emails{ AND = { { name = "Ann" }, { id = 1 } } })
      assert.are.same({}, emails{ AND = { { name = "Ann" }, { id = 2 } } })
      assert.are.same({ "ann@example.com" }, emails{ AND = { name = "Ann" } })
      -- NOT (name = 'Ann') is unknown, not true, for a NULL name: cat is left out
      assert.are.same({ "Bob@Example.org", "dan%2@test.io" }, emails{ NOT = { name = "Ann" } })
      assert.are.same({ "dan%2@test.io" }, emails{ NOT = { { name = "Ann" }, { name = "Bob" } } })
      assert.are.same({ "dan%2@test.io" }, emails{
        OR = { { AND = { { id = { gte = 3 } }, { name = { ["not"] = tide.null } } } }, { email = { contains = "nobody" } } },
        NOT = { email = { starts_with = "cat" } },
      })
      -- an empty AND constrains nothing
      assert.are.equal(4, #emails{ AND = {} })
      -- several conditions on one field
      assert.are.same({ "Bob@Example.org" }, emails{ id = { gt = 1, lt = 3 } })
    end)
  end)

  describe("shaping results", function()
    it("select and omit, and the schema-level omit of password_hash", function()
      for _, u in ipairs(db.User:find_many()) do assert.is_nil(u.password_hash) end
      assert.is_nil(db.User:find_unique{ where = { id = 1 } }.password_hash)
      assert.is_nil(db.User:update{ where = { id = 1 }, data = { name = "A" } }.password_hash)
      assert.is_nil(db.User:delete{ where = { id = 4 } }.password_hash)
      local rows = db.User:find_many{ select = { id = true, email = true }, order_by = { id = "asc" } }
      assert.are.same({ id = 1, email = "ann@example.com" }, rows[1])
      assert.are.same({ "h1", "h2", "h3" }, values(db.User:find_many{ select = { password_hash = true } }, "password_hash"))
      assert.are.same({ id = 1, password_hash = "h1" }, db.User:find_unique{ where = { id = 1 }, select = { id = true, password_hash = true } })
      assert.are.same({ id = 2 }, db.User:find_unique{ where = { id = 2 }, select = { id = true, name = false } })
      local u = db.User:find_unique{ where = { id = 1 }, omit = { name = true, created_at = true, updated_at = true } }
      assert.are.same({ "email", "id", "role" }, keys(u))
      -- omit = false does not bring back what the schema omits
      assert.is_nil(db.User:find_unique{ where = { id = 1 }, omit = { password_hash = false } }.password_hash)
      refused("invalid_argument", "find_many: select and omit cannot be used together",
        db.User.find_many, db.User, { select = { id = true }, omit = { name = true } })
      refused("invalid_argument", "find_many: select picks no field of User",
        db.User.find_many, db.User, { select = { id = false } })
      refused("invalid_argument", "select: unknown field 'emial' on User; did you mean 'email'?",
        db.User.find_many, db.User, { select = { emial = true } })
    end)

    it("order_by: a field, a list, and nulls first or last", function()
      assert.are.same({ 4, 3, 2, 1 }, column(db.User:find_many{ order_by = { id = "desc" } }, "id"))
      assert.are.same({ "Ann", "Bob", "Dan", "nil" }, column(db.User:find_many{ order_by = { name = "asc" } }, "name"))
      assert.are.same({ "nil", "Ann", "Bob", "Dan" },
        column(db.User:find_many{ order_by = { name = { sort = "asc", nulls = "first" } } }, "name"))
      assert.are.same({ "Ann", "Bob", "Dan", "nil" },
        column(db.User:find_many{ order_by = { name = { sort = "asc", nulls = "last" } } }, "name"))
      assert.are.same({ "Dan", "Bob", "Ann", "nil" },
        column(db.User:find_many{ order_by = { name = { sort = "desc", nulls = "last" } } }, "name"))
      assert.are.same({ "nil", "Dan", "Bob", "Ann" }, column(db.User:find_many{ order_by = { name = { sort = "desc" } } }, "name"))
      -- a list keeps its order
      assert.are.same({ 5, 3, 4, 2, 1 },
        column(db.Post:find_many{ order_by = { { author_id = "desc" }, { views = "asc" } } }, "id"))
      -- (author 3: post 5; author 2: posts 3 (5 views), 4 (7); author 1: posts 2 (0), 1 (10))
      assert.are.same({ 1, 2, 4, 3, 5 },
        column(db.Post:find_many{ order_by = { { content = { sort = "asc", nulls = "last" } }, { id = "asc" } } }, "id"))
      assert.are.same({ 3, 5, 1, 2, 4 },
        column(db.Post:find_many{ order_by = { { content = { sort = "asc", nulls = "first" } }, { id = "asc" } } }, "id"))
      refused("invalid_argument", "order_by id: sort is 'asc' or 'desc', got 'decs'; did you mean 'desc'?",
        db.User.find_many, db.User, { order_by = { id = "decs" } })
      refused("invalid_argument", "order_by name: nulls is 'first' or 'last', got 'lats'; did you mean 'last'?",
        db.User.find_many, db.User, { order_by = { name = { sort = "asc", nulls = "lats" } } })
      refused("invalid_argument", "order_by with several fields: use a list",
        db.User.find_many, db.User, { order_by = { id = "asc", name = "asc" } })
      refused("invalid_argument", "order_by: unknown field 'nme' on User; did you mean 'name'?",
        db.User.find_many, db.User, { order_by = { nme = "asc" } })
    end)

    it("take and skip", function()
      assert.are.same({ 2, 3 }, column(db.User:find_many{ order_by = { id = "asc" }, take = 2, skip = 1 }, "id"))
      assert.are.same({ 1, 2 }, column(db.User:find_many{ order_by = { id = "asc" }, take = 2 }, "id"))
      assert.are.same({ 4 }, column(db.User:find_many{ order_by = { id = "asc" }, skip = 3 }, "id"))
      assert.are.same({}, db.User:find_many{ skip = 10 })
      assert.are.same({}, db.User:find_many{ take = 0 })
      assert.are.equal(3, db.User:find_first{ order_by = { id = "asc" }, skip = 2 }.id)
      refused("database_error", "LIMIT must not be negative", db.User.find_many, db.User, { take = -1 })
    end)
  end)

  describe("the fluent chain", function()
    it("where, order_by, limit, offset, select, all, first, count and exists", function()
      local rows = db.Post:where{ views = { gt = 0 } }:order_by("views", "desc"):limit(2):offset(1):all()
      assert.are.same({ "underXscore", "under_score" }, column(rows, "title"))
      rows = db.Post:where{ views = { gt = 0 } }:where{ author_id = U.bob.id }:order_by("id"):all()
      assert.are.same({ 3, 4 }, column(rows, "id"))
      rows = db.Post:order_by("author_id", "desc"):order_by{ views = "asc" }:select("id", "views"):all()
      assert.are.same({ { id = 2, views = 0 }, { id = 1, views = 10 } }, { rows[4], rows[5] })
      assert.are.same({ "id", "views" }, keys(rows[1]))
      assert.are.same({ 1, 2, 3 }, column(db.User:select{ id = true }:order_by("id"):limit(3):all(), "id"))
      assert.are.equal("Dan", db.User:where{ name = { ["not"] = tide.null } }:order_by("id", "desc"):first().name)
      assert.are.equal("Ann", db.User:order_by("id"):limit(3):first().name) -- first ignores limit
      assert.is_nil(db.User:where{ id = 99 }:first())
      assert.are.equal(4, db.Post:where{ views = { gt = 0 } }:count())
      assert.are.equal(2, db.Post:where{ views = { gt = 0 } }:limit(2):count())
      assert.are.equal(1, db.Post:where{ views = { gt = 0 } }:offset(3):count())
      assert.is_true(db.User:where{ email = { contains = "%" } }:exists())
      assert.is_false(db.User:where{ email = { contains = "#" } }:exists())
      assert.are.equal(1, #db.User:limit(1):all())
    end)

    it("include, omit, cursor and distinct as steps; an unknown step names the nearest", function()
      local posts = db.Post:where{ author_id = U.bob.id }:include("author"):order_by("id"):all()
      assert.are.same({ "Bob", "Bob" }, { posts[1].author.name, posts[2].author.name })
      -- includes add up, a table gives each its own arguments
      local u = db.User:include{ posts = { order_by = { id = "desc" }, take = 1 } }:include("profile")
        :where{ id = U.ann.id }:one()
      assert.are.same({ P.x.id }, values(u.posts, "id"))
      assert.is_nil(u.profile)
      -- the chain builds what the table form would: the same rows
      assert.are.same(db.User:find_many{ include = { posts = true }, omit = { email = true }, order_by = { { id = "asc" } } },
        db.User:include("posts"):omit("email"):order_by("id"):all())
      assert.is_nil(db.User:omit{ email = true }:order_by("id"):first().email)
      -- cursor pagination: from Bob's row on, skipping it
      assert.are.same({ 3, 4 }, values(db.User:cursor{ id = U.bob.id }:order_by("id"):offset(1):all(), "id"))
      assert.are.same({ U.ann.id, U.bob.id, U.cat.id },
        values(db.Post:distinct("author_id"):order_by("author_id"):all(), "author_id"))
      -- mistakes in the chain itself are the caller's, at the caller's line
      local ok, e = pcall(function() return db.Post:where{}:inclde("author") end)
      assert.is_false(ok)
      assert.matches("model_spec.lua:%d+: a chain has no step 'inclde'; did you mean 'include'%?", e)
      ok, e = pcall(function() local c = db.Post:include(5); return c end)
      assert.is_false(ok)
      assert.matches("model_spec.lua:%d+: bad argument #1 to 'include' %(relation names or a table expected, got number%)", e)
      refused("invalid_argument", "unknown relation 'autor'", function()
        return db.Post:include("autor"):all()
      end)
    end)

    it("update and delete through the chain", function()
      assert.are.equal(2, db.Post:where{ author_id = U.ann.id }:update{ views = { increment = 1 } })
      assert.are.same({ 1, 11 }, values(db.Post:where{ author_id = U.ann.id }:all(), "views"))
      assert.are.equal(3, db.Post:where{ views = { lt = 7 } }:delete())
      assert.are.same({ 1, 4 }, values(db.Post:find_many(), "id"))
    end)
  end)

  describe("transactions", function()
    it("tx.User runs in the transaction; an error rolls everything back", function()
      local e = helper.raises(function()
        db:transaction(function(tx)
          tx.User:create{ data = { email = "tx@x", password_hash = "h" } }
          tx.Post:update_many{ data = { views = 0 } }
          tx.Post:delete_many{ where = { author_id = U.bob.id } }
          assert.are.equal(5, tx.User:count())
          assert.are.equal(0, db.User:count{ where = { email = "tx@x" } }) -- not visible outside
          error("boom")
        end)
      end)
      assert.matches("boom", tostring(e))
      assert.are.equal(4, db.User:count())
      assert.are.equal(0, db.User:count{ where = { email = "tx@x" } })
      assert.are.equal(5, db.Post:count())
      assert.are.same({ 0, 3, 5, 7, 10 }, values(db.Post:find_many(), "views"))
    end)

    it("commits when the function returns, and in db:begin() blocks", function()
      local id = db:transaction(function(tx)
        local u = tx.User:create{ data = { email = "tx@x", password_hash = "h" } }
        tx.Post:create{ data = { title = "in tx", author_id = u.id } }
        return u.id
      end)
      assert.are.equal(5, id)
      assert.are.equal(1, db.Post:count{ where = { author_id = id } })
      do
        local tx <close> = db:begin()
        tx.User:delete{ where = { id = id } }
        assert.are.equal(4, tx.User:count())
        -- leaving the block without commit rolls back
      end
      assert.are.equal(5, db.User:count())
      local tx = db:begin()
      tx.User:update{ where = { id = id }, data = { name = "Committed" } }
      tx:commit()
      assert.are.equal("Committed", db.User:find_unique{ where = { id = id } }.name)
    end)
  end)

  describe("refusals", function()
    it("caller mistakes raise invalid_argument before any SQL is sent", function()
      -- Proof: in a transaction, any statement the server rejected would
      -- abort it (25P02 for the next one); a mistake caught in the client
      -- leaves it working.
      db:transaction(function(tx)
        refused("invalid_argument", "unknown field 'emial' on User; did you mean 'email'?",
          tx.User.find_many, tx.User, { where = { emial = "x" } })
        refused("invalid_argument", "unknown filter 'contians' on User.email; did you mean 'contains'?",
          tx.User.find_many, tx.User, { where = { email = { contians = "x" } } })
        refused("invalid_argument", "data: unknown field 'nmae' on User; did you mean 'name'?",
          tx.User.create, tx.User, { data = { nmae = "x", email = "e", password_hash = "h" } })
        refused("invalid_argument", "find_unique needs where to name one User by a unique key (id, email)",
          tx.User.find_unique, tx.User, { where = { name = "Ann" } })
        refused("invalid_argument", "delete needs where to name one Post by a unique key (id)",
          tx.Post.delete, tx.Post, { where = { title = "50% off" } })
        refused("invalid_argument", "update needs where to name one User by a unique key (id, email)",
          tx.User.update, tx.User, { where = {}, data = { name = "x" } })
        refused("invalid_argument", "order_by id: sort is 'asc' or 'desc', got 'desc; DROP TABLE users'",
          tx.User.find_many, tx.User, { order_by = { id = "desc; DROP TABLE users" } })
        refused("invalid_argument", "data Post.comments: expected a table of nested writes",
          tx.Post.create, tx.Post, { data = { title = "t", author_id = 1, comments = "x" } })
        assert.are.equal(4, tx.User:count()) -- still usable: nothing reached the server
      end)
      -- for contrast: an error from the server does abort the transaction
      local e = helper.raises(function()
        db:transaction(function(tx)
          pcall(tx.User.create, tx.User, { data = { email = "ann@example.com", password_hash = "h" } })
          tx.User:count()
        end)
      end)
      assert.are.equal("25P02", e.sqlstate)
    end)

    it("names the nearest model and method", function()
      local e = helper.raises(function() return db.Usr end)
      assert.matches("unknown model 'Usr'; did you mean 'User'%?", e)
      e = helper.raises(function() return db.User:find_mnay() end)
      assert.matches("User has no method 'find_mnay'; did you mean 'find_many'%?", e)
      e = helper.raises(function() return db.User:find_many(42) end)
      assert.matches("bad argument #1 to 'find_many' %(table expected, got number%)", e)
    end)

    it("refuses tables where scalars are expected", function()
      refused("invalid_argument", "User.email: a table where a value of type text is expected",
        db.User.find_many, db.User, { where = { email = { "a@x", "b@x" } } })
      refused("invalid_argument", "User.email: a table where a value of type text is expected",
        db.User.find_many, db.User, { where = { email = { equals = { "a@x" } } } })
      refused("invalid_argument", "User.email: a comparison takes a value, not a table of options",
        db.User.find_many, db.User, { where = { email = { equals = { raw = "1=1" } } } })
      refused("invalid_argument", "User.name: a table where a value of type text is expected",
        db.User.update, db.User, { where = { id = 1 }, data = { name = { "x" } } })
      refused("invalid_argument", "Post.views: a table where a value of type integer is expected",
        db.Post.create, db.Post, { data = { title = "t", author_id = 1, views = { 1, 2 } } })
      refused("invalid_argument", "User.id: in takes a list of values",
        db.User.find_many, db.User, { where = { id = { ["in"] = 1 } } })
      refused("invalid_argument", "data Post.views: increment takes a number",
        db.Post.update, db.Post, { where = { id = 1 }, data = { views = { increment = { 1 } } } })
      refused("invalid_argument", "take: expected a number", db.User.find_many, db.User, { take = { n = 1 } })
      refused("invalid_argument", "where: expected a table of conditions", db.User.find_many, db.User, { where = { { id = 1 } } })
      local e = helper.raises(db.User.find_many, db.User, { where = { email = print } })
      assert.matches("'email': cannot use a function in a query", e)
      assert.are.equal(4, db.User:count())
    end)

    it("binds hostile values, never writes them into SQL", function()
      local nasty = { "' OR '1'='1", "'; DROP TABLE users; --", "\"users\"", "$1", "%", "_", "\\", "\\'", "é ✓" }
      for i, s in ipairs(nasty) do
        local u = db.User:create{ data = { email = "h" .. i .. s, name = s, password_hash = s } }
        assert.are.equal(s, u.name)
        assert.are.equal(u.id, db.User:find_unique{ where = { email = "h" .. i .. s } }.id)
        assert.are.same({ u.id }, column(db.User:find_many{ where = { name = s } }, "id"))
        assert.are.same({ u.id }, column(db.User:find_many{ where = { name = { ends_with = s }, email = { starts_with = "h" .. i } } }, "id"))
      end
      assert.are.equal(4 + #nasty, db.User:count())
      assert.are.equal(0, db.User:count{ where = { email = "' OR 1=1 --" } })
      refused("invalid_argument", "text contains a NUL byte", db.User.find_many, db.User, { where = { email = "a\0b" } })
      refused("database_error", "invalid input syntax for type bigint", db.User.find_many, db.User, { where = { id = "1 OR 1=1" } })
      refused("invalid_argument", "take: expected a number", db.User.find_many, db.User, { take = "1; DROP TABLE users" })
      -- names are checked against the schema: a quote makes them unknown
      refused("invalid_argument", "unknown field 'email\" OR 1=1 --' on User",
        db.User.find_many, db.User, { where = { ['email" OR 1=1 --'] = "x" } })
      refused("invalid_argument", "select: unknown field 'id\" FROM pg_user --' on User",
        db.User.find_many, db.User, { select = { ['id" FROM pg_user --'] = true } })
      assert.are.equal(4 + #nasty, db.User:count())
    end)

    it("treats untrusted JSON input by the same rules", function()
      local function where(json) return db.User:find_many{ where = tide.json_decode(json) } end
      -- an object where a value belongs is that field's operator form
      assert.are.same({ "ann@example.com" }, values(where '{"email": {"contains": "ann"}}', "email"))
      assert.are.same({ "Bob@Example.org", "ann@example.com" }, values(where '{"id": {"in": [1, 2]}}', "email"))
      assert.are.same({ "cat_1@test.io" }, values(where '{"name": null}', "email"))
      assert.are.same({}, values(where '{"id": {"in": []}}', "email"))
      assert.are.same({ "ann@example.com" }, values(where '{"OR": [{"name": "Ann"}, {"name": "Nobody"}]}', "email"))
      -- or it is refused: never SQL
      refused("invalid_argument", "unknown filter '$raw' on User.email", where, '{"email": {"$raw": "1=1"}}')
      refused("invalid_argument", "User.email: a comparison takes a value, not a table of options",
        where, '{"email": {"equals": {"sql": "1=1"}}}')
      refused("invalid_argument", "User.email: a table where a value of type text is expected", where, '{"email": ["a", "b"]}')
      refused("invalid_argument", "User.email: a table where a value of type text is expected",
        where, '{"email": {"equals": ["a"]}}')
      refused("invalid_argument", "unknown field 'email\" OR 1=1 --' on User", where, '{"email\\" OR 1=1 --": "x"}')
      refused("invalid_argument", "User.id: in takes a list of values", where, '{"id": {"in": "1,2"}}')
      refused("invalid_argument", "User.id: in takes a list of values", where, '{"id": {"in": [[1]]}}')
      assert.are.same({}, values(where '{"OR": []}', "email"))
      refused("invalid_argument", "OR takes a condition or a list of conditions", where, '{"OR": "1=1"}')
      refused("invalid_argument", "where User.posts", where, '{"posts": "1"}')
      -- a decoded value as a whole argument table
      refused("invalid_argument", "order_by id: sort is 'asc' or 'desc', got 'asc nulls first, (select 1)'",
        db.User.find_many, db.User, tide.json_decode('{"order_by": {"id": "asc nulls first, (select 1)"}}'))
      assert.are.equal(4, db.User:count())
    end)
  end)

  describe("found while writing this spec (fixed since)", function()
    it("an empty OR matches nothing, however it is written", function()
      -- the core's rule: an OR of nothing is false. A filter built from an
      -- empty list of allowed ids must not return everything.
      assert.are.equal(0, db.User:count{ where = { OR = {} } })
      local ors = {}
      for _, id in ipairs({}) do ors[#ors + 1] = { id = id } end
      assert.are.same({}, db.User:find_many{ where = { OR = ors } })
      assert.are.equal(0, db.User:count{ where = { OR = tide.array() } })
      assert.are.equal(0, db.User:count{ where = { name = "Ann", OR = {} } })
      -- AND and NOT of nothing constrain nothing
      assert.are.equal(4, db.User:count{ where = { AND = {} } })
      assert.are.equal(4, db.User:count{ where = { NOT = tide.array() } })
    end)

    it("forged names and option texts cannot reuse a cached statement", function()
      -- names and option texts written raw into the shape key could spell
      -- the shape of a cached query and take its SQL unchecked
      db.User:find_many{ where = { email = { contains = "a" }, name = "b" } }
      refused("invalid_argument", "unknown field '",
        db.User.find_many, db.User, { where = { ["email:{contains"] = "%", ["};name"] = "Bob" } })
      db.User:find_many{ order_by = { id = "asc" }, select = { id = true } }
      refused("invalid_argument", "order_by id: sort is 'asc' or 'desc'",
        db.User.find_many, db.User, { order_by = { id = "asc';};select:{id:'true" } })
    end)

    it("an unknown option is named, with the nearest one", function()
      -- check_options looped i < 4 over a 3-entry list: every unknown
      -- option read as "not supported yet"
      refused("invalid_argument", "find_many: unknown option 'wher'; did you mean 'where'?",
        db.User.find_many, db.User, { wher = { id = 1 } })
      refused("invalid_argument", "count: unknown option 'order_by'",
        db.User.count, db.User, { order_by = { id = "asc" } })
    end)
  end)

  -- Known bugs: each fails until the code is fixed.
  describe("regressions", function()
    it("regression_a_table_as_take_or_skip_reaches_the_server", function()
      -- a table where a scalar belongs is to be refused before any SQL; for
      -- take and skip the server gets "[1]" and fails (22P02)
      refused("invalid_argument", "take: expected a number", db.User.find_many, db.User, { take = { 1 } })
      refused("invalid_argument", "skip: expected a number", db.User.find_many, db.User, { skip = { 1 } })
    end)

    it("regression_query_state_is_never_freed", function()
      -- lua/src/model.c keeps its per-state query buffers in a userdata
      -- stored in the registry under "tide.qstate", the name of its own
      -- metatable: its __gc then fails luaL_checkudata, and the buffers (tree,
      -- values, parameters, error, a pending result) outlive every lua_State.
      -- A child lua5.4 with warnings on (-W) shows the failing finalizer.
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write(("package.path = %q\npackage.cpath = %q\n"):format(package.path, package.cpath), [[
        local tide = require "tide"
        local s = tide.schema()
        s:model "A" { tide.types.serial "id" :primary() }
        s:finish()
        assert(require("tide.core").model_sql(s.core, "A", "find_many", {}))
        print "done"
      ]])
      f:close()
      local p = io.popen("lua5.4 -W " .. script .. " 2>&1")
      local out = p:read("a")
      p:close()
      os.remove(script)
      assert.matches("done", out)
      assert.is_nil(out:find("error in __gc", 1, true), out)
    end)

    it("regression_a_list_value_under_OR_takes_the_cached_empty_OR", function()
      -- the compiler reads the list under OR ("[]": FALSE, else refused),
      -- but the shape holds only its kind: after an empty one, any list
      -- value under OR runs as FALSE instead of being refused
      assert.are.equal(0, db.User:count{ where = { OR = tide.array() } })
      refused("invalid_argument", "OR takes a condition or a list of conditions",
        db.User.count, db.User, { where = { OR = tide.array{ 1 } } })
    end)
  end)
end)
