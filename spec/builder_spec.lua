-- The SQL-like builder against a real database: every construct runs, rows
-- come back decoded by type and through codecs, prepared queries, the
-- builder inside transactions and coroutines, and hostile input that is
-- refused or bound without changing the SQL text.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local function make_schema()
  local s = tide.schema()
  s:model "User" {
    table = "users",
    t.bigserial "id" :primary(),
    t.text "email" :unique(),
    t.text "name" :nullable(),
    t.bigint "parent_id" :nullable(),
    t.text "secret" :nullable() :omit(),
    t.jsonb "prefs" :nullable(),
    t.text "tags" :array() :nullable(),
    t.text "color" :nullable() :codec { encode = function(v) return v:upper() end,
      decode = function(v) return v:lower() end },
    posts = tide.has_many "Post",
  }
  s:model "Post" {
    table = "posts",
    t.bigserial "id" :primary(),
    t.text "title",
    t.bool "published" :default(false),
    t.integer "views" :default(0),
    t.bigint "author_id" :references("User", { on_delete = "cascade" }),
    t.numeric(10, 2) "price" :nullable(),
    t.timestamptz "created_at" :default(tide.now),
    author = tide.belongs_to "User",
  }
  return s
end

local function refused(code, text, f, ...)
  local e = helper.raises(f, ...)
  if type(e) == "table" then
    assert.are.equal(code, e.code, tostring(e))
    e = e.message
  end
  assert.is_truthy(tostring(e):find(text, 1, true), ("%q does not contain %q"):format(tostring(e), text))
end

describe("the builder", function()
  local db, url, schema, U, P
  setup(function()
    schema = make_schema()
    url = helper.fresh_database("tide_builder")
    db = tide.connect(url, { schema = schema, pool = { max = 2 } })
    db:push()
    U, P = schema.User, schema.Post
    db:insert(U):values{
      { email = "ann@x.org", name = "Ann", color = "red", tags = { "a", "b" }, prefs = { theme = "dark" } },
      { email = "bob@x.org", name = "Bob", parent_id = 1 },
      { email = "cy@x.org" },
    }:exec()
    local rows = {}
    for i = 1, 9 do
      rows[i] = { title = "post " .. i, published = i % 3 ~= 0, views = i * 10, author_id = (i - 1) % 2 + 1,
        price = i % 2 == 0 and "1.50" or tide.null }
    end
    db:insert(P):values(rows):exec()
  end)
  teardown(function() db:close() end)

  it("selects columns under names, decoded by type", function()
    local rows = db:select{ id = P.id, title = P.title, published = P.published, views = P.views }
      :from(P):where(P.author_id:eq(1)):order_by(P.id):all()
    assert.are.equal(5, #rows)
    assert.are.same({ id = 1, title = "post 1", published = true, views = 10 }, rows[1])
    assert.are.equal("integer", math.type(rows[1].id))
  end)

  it("select() reads every field but the omitted ones; with joins, nested by table", function()
    local u = db:select():from(U):where(U.id:eq(1)):first()
    assert.are.equal("ann@x.org", u.email)
    assert.is_nil(u.secret)
    assert.are.same({ "a", "b" }, u.tags)
    assert.are.equal("dark", u.prefs.theme)
    assert.are.equal("red", u.color) -- through the codec: stored as RED
    assert.are.equal("RED", db:one("select color from users where id = 1").color)
    local rows = db:select():from(U):left_join(P, P.author_id:eq(U.id)):where(U.id:eq(3)):all()
    assert.are.equal(1, #rows)
    assert.are.equal("cy@x.org", rows[1].users.email)
    assert.is_nil(rows[1].posts) -- the unmatched side of a left join
    local r = db:select{ post = P, author = { name = U.name } }:from(P):inner_join(U, P.author_id:eq(U.id))
      :where(P.id:eq(2)):first()
    assert.are.equal("post 2", r.post.title)
    assert.are.equal("Bob", r.author.name)
  end)

  it("joins an alias to its own table", function()
    local parent = tide.alias(U, "parent")
    local r = db:select{ child = U.name, parent = parent.name }:from(U)
      :inner_join(parent, U.parent_id:eq(parent.id)):all()
    assert.are.same({ { child = "Bob", parent = "Ann" } }, r)
  end)

  it("right, full and cross joins", function()
    assert.are.equal(9, #db:select{ id = P.id }:from(U):right_join(P, P.author_id:eq(U.id)):all())
    assert.are.equal(10, #db:select{ id = P.id, u = U.id }:from(U):full_join(P, P.author_id:eq(U.id)):all())
    assert.are.equal(27, #db:select{ a = U.id, b = P.id }:from(U):cross_join(P):all())
  end)

  it("lateral joins", function()
    local last = db:select{ id = P.id, title = P.title }:from(P):where(P.author_id:eq(U.id))
      :order_by(tide.desc(P.id)):limit(1):as "last"
    local rows = db:select{ email = U.email, title = last.title }:from(U)
      :left_join_lateral(last, tide.sql "true"):order_by(U.id):all()
    assert.are.same({ { email = "ann@x.org", title = "post 9" }, { email = "bob@x.org", title = "post 8" },
      { email = "cy@x.org" } }, rows)
    assert.are.equal(2, #db:select{ e = U.email }:from(U):cross_join_lateral(last):all())
  end)

  it("inner_join_lateral keeps only the rows its subquery and condition match", function()
    local top = db:select{ id = P.id, views = P.views }:from(P):where(P.author_id:eq(U.id))
      :order_by(tide.desc(P.views)):limit(2):as "top"
    local rows = db:select{ email = U.email, id = top.id, views = top.views }:from(U)
      :inner_join_lateral(top, top.views:gt(60)):order_by(U.id, tide.desc(top.views)):all()
    -- each author's two most viewed posts, of them those over 60 views; cy has none
    assert.are.same({ { email = "ann@x.org", id = 9, views = 90 }, { email = "ann@x.org", id = 7, views = 70 },
      { email = "bob@x.org", id = 8, views = 80 } }, rows)
  end)

  it("every operator, as a function and as a method", function()
    local function ids(cond)
      local out = {}
      for i, r in ipairs(db:select{ id = P.id }:from(P):where(cond):order_by(P.id):all()) do out[i] = r.id end
      return out
    end
    assert.are.same({ 3 }, ids(tide.eq(P.id, 3)))
    assert.are.same({ 1, 2 }, ids(P.id:lt(3)))
    assert.are.same({ 1, 2, 3 }, ids(P.id:lte(3)))
    assert.are.same({ 8, 9 }, ids(P.id:gt(7)))
    assert.are.same({ 7, 8, 9 }, ids(P.id:gte(7)))
    assert.are.same({ 2, 3, 4 }, ids(P.id:between(2, 4)))
    assert.are.same({ 1, 5, 6, 7, 8, 9 }, ids(tide.not_between(P.id, 2, 4)))
    assert.are.same({ 2, 5 }, ids(P.id:in_list{ 2, 5, 100 }))
    assert.are.same({}, ids(P.id:in_list{}))
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, ids(P.id:not_in_list{}))
    assert.are.same({ 2, 4, 6, 8 }, ids(P.price:is_not_null()))
    assert.are.same({ 1, 3, 5, 7, 9 }, ids(P.price:is_null()))
    assert.are.same({ 1, 3, 5, 7, 9 }, ids(P.price:eq(tide.null)))
    assert.are.same({ 1 }, ids(P.title:like "post 1"))
    assert.are.same({ 1 }, ids(P.title:ilike "POST 1"))
    assert.are.same({ 2, 3, 4, 5, 6, 7, 8, 9 }, ids(P.title:not_like "%1"))
    assert.are.same({ 2, 3, 4, 5, 6, 7, 8, 9 }, ids(P.title:not_ilike "%1"))
    assert.are.same({ 3, 6, 9 }, ids(P.published:ne(true)))
    assert.are.same({ 1, 2 }, ids(tide.or_(P.id:eq(1), nil, P.id:eq(2))))
    assert.are.same({ 2 }, ids(tide.and_(nil, P.id:lt(3), P.id:gt(1), nil)))
    assert.are.same({ 3, 4, 5, 6, 7, 8, 9 }, ids(tide.not_(P.id:lt(3))))
    assert.is_nil(tide.and_(nil, nil))
    local has = db:select{ id = U.id }:from(U):where(tide.exists(
      db:select{ one = tide.raw "1" }:from(P):where(tide.and_(P.author_id:eq(U.id), P.views:gt(80))))):all()
    assert.are.same({ { id = 1 } }, has)
    local none = db:select{ id = U.id }:from(U):where(tide.not_exists(
      db:select{ one = tide.raw "1" }:from(P):where(P.author_id:eq(U.id)))):all()
    assert.are.same({ { id = 3 } }, none)
    local tagged = function(cond) return #db:select{ id = U.id }:from(U):where(cond):all() end
    assert.are.equal(1, tagged(U.tags:contains(tide.array { "a" })))
    assert.are.equal(1, tagged(U.tags:contained { "a", "b", "c" }))
    assert.are.equal(1, tagged(U.tags:overlaps { "b", "z" }))
    assert.are.equal(0, tagged(U.tags:overlaps { "z" }))
  end)

  it("aggregates, group_by and having", function()
    local rows = db:select{ author = P.author_id, n = tide.count(), views = P.views:sum(), avg = tide.avg(P.views),
      lo = P.views:min(), hi = tide.max(P.views), titles = tide.count_distinct(P.title) }
      :from(P):group_by(P.author_id):having(tide.count():gt(4)):all()
    assert.are.equal(1, #rows)
    assert.are.equal(1, rows[1].author)
    assert.are.equal(5, rows[1].n)
    assert.are.equal(10, rows[1].lo)
    assert.are.equal(90, rows[1].hi)
    assert.are.equal(5, rows[1].titles)
    assert.are.equal(250, tonumber(rows[1].views))
  end)

  it("order_by with directions and nulls, limit and offset, distinct", function()
    local rows = db:select{ id = P.id }:from(P):order_by(tide.desc(P.price, "last"), tide.asc(P.id))
      :limit(3):offset(1):all()
    assert.are.same({ { id = 4 }, { id = 6 }, { id = 8 } }, rows) -- equal prices: by id
    rows = db:select{ id = P.id }:from(P):order_by(P.price:asc():nulls_first(), P.id):limit(2):all()
    assert.are.same({ { id = 1 }, { id = 3 } }, rows)
    assert.are.equal(2, #db:select_distinct{ a = P.author_id }:from(P):all())
    local firsts = db:select_distinct_on(P.author_id, { a = P.author_id, id = P.id }):from(P)
      :order_by(P.author_id, tide.desc(P.id)):all()
    assert.are.same({ { a = 1, id = 9 }, { a = 2, id = 8 } }, firsts)
  end)

  it("subqueries in from, where and select", function()
    local pub = db:select{ id = P.id, author = P.author_id }:from(P):where(P.published:eq(true)):as "pub"
    assert.are.equal(6, #db:select{ id = pub.id }:from(pub):all())
    local ids = db:select{ id = P.author_id }:from(P):where(P.views:gt(85))
    assert.are.same({ { id = 1 } }, db:select{ id = U.id }:from(U):where(U.id:in_list(ids)):all())
    local r = db:select{ id = U.id, n = db:select{ n = tide.count() }:from(P):where(P.author_id:eq(U.id)) }
      :from(U):order_by(U.id):all()
    assert.are.same({ { id = 1, n = 5 }, { id = 2, n = 4 }, { id = 3, n = 0 } }, r)
  end)

  it("CTEs, WITH RECURSIVE and set operations", function()
    local pub = db:select{ id = P.id }:from(P):where(P.published:eq(false)):as "unpub"
    assert.are.same({ { id = 3 }, { id = 6 }, { id = 9 } },
      db:with(pub):select{ id = pub.id }:from(pub):order_by(pub.id):all())
    local named = tide.cte "unpub2"
    assert.are.equal(3, #db:with("unpub2", db:select{ id = P.id }:from(P):where(P.published:eq(false)))
      :select():from(named):all())
    local tree = tide.cte "tree"
    local rows = db:with_recursive("tree",
      db:select{ id = U.id, depth = tide.sql "0" }:from(U):where(U.id:eq(1))
        :union_all(db:select{ id = U.id, depth = tide.sql("? + 1", tree.depth) }:from(U)
          :inner_join(tree, U.parent_id:eq(tree.id))))
      :select():from(tree):order_by(tree.id):all()
    assert.are.same({ { id = 1, depth = 0 }, { id = 2, depth = 1 } }, rows)
    local a = db:select{ id = P.id }:from(P):where(P.id:lte(3))
    local b = db:select{ id = P.id }:from(P):where(P.id:gte(2):and_(P.id:lte(4)))
    local function ids(q)
      local out = {}
      for i, r in ipairs(q:order_by("id"):all()) do out[i] = r.id end
      return out
    end
    assert.are.same({ 1, 2, 3, 4 }, ids(a:union(b)))
    assert.are.same({ 1, 2, 2, 3, 3, 4 }, ids(a:union_all(b)))
    assert.are.same({ 2, 3 }, ids(a:intersect(b)))
    assert.are.same({ 2, 3 }, ids(a:intersect_all(b)))
    assert.are.same({ 1 }, ids(a:except(b)))
    assert.are.same({ 1 }, ids(a:except_all(b)))
  end)

  it("insert with returning, on conflict do nothing and do update", function()
    local r = db:insert(U):values{ email = "dee@x.org", name = "Dee", color = "Blue" }:returning():all()
    assert.are.equal("dee@x.org", r[1].email)
    assert.are.equal("blue", r[1].color)
    assert.is_nil(r[1].secret)
    local n = db:insert(U):values{ email = "dee@x.org" }:on_conflict_do_nothing{ target = U.email }:exec()
    assert.are.equal(0, n)
    r = db:insert(U):values{ email = "dee@x.org", name = "Dee 2" }
      :on_conflict_do_update{ target = U.email, set = { name = tide.excluded(U.name) }, where = U.name:ne("nope") }
      :returning{ id = U.id, name = U.name }:first()
    assert.are.equal("Dee 2", r.name)
    local copied = db:insert(P):select(db:select{ title = U.email, author_id = U.id }:from(U):where(U.id:eq(r.id)))
      :returning{ title = P.title }:all()
    assert.are.same({ { title = "dee@x.org" } }, copied)
    db:delete(U):where(U.id:eq(r.id)):exec()
  end)

  it("refuses update and delete without where unless all_rows() says so", function()
    local before = db:one("select count(*)::int as n, sum(views)::int as v from posts")
    local e = helper.raises(function() db:update(P):set{ views = 0 }:exec() end)
    assert.are.equal("invalid_argument", e.code)
    assert.matches("update of Post without where would change every row", e.message, 1, true)
    e = helper.raises(function() db:delete(P):returning():all() end)
    assert.matches("delete of Post without where", e.message, 1, true)
    e = helper.raises(function() db:delete(P):prepare() end)
    assert.are.equal("invalid_argument", e.code)
    local after = db:one("select count(*)::int as n, sum(views)::int as v from posts")
    assert.are.same(before, after) -- nothing was sent
    local changed
    local e2 = helper.raises(db.transaction, db, function(tx)
      changed = tx:update(P):set{ views = 0 }:all_rows():exec()
      error("roll back")
    end)
    assert.matches("roll back", e2)
    assert.are.equal(before.n, changed)
    assert.are.same(before, db:one("select count(*)::int as n, sum(views)::int as v from posts"))
  end)

  it("update with from and returning; delete with returning", function()
    local rows = db:update(P):set{ views = tide.sql("? + 1", P.views) }:from(U)
      :where(tide.and_(P.author_id:eq(U.id), U.email:eq "cy@x.org")):returning():all()
    assert.are.same({}, rows)
    rows = db:update(P):set{ views = tide.sql("? + 1", P.views) }:from(U)
      :where(tide.and_(P.author_id:eq(U.id), U.email:eq "bob@x.org", P.id:eq(2))):returning{ v = P.views }:all()
    assert.are.same({ { v = 21 } }, rows)
    local id = db:insert(P):values{ title = "tmp", author_id = 3 }:returning{ id = P.id }:first().id
    assert.are.same({ { id = id, title = "tmp" } },
      db:delete(P):where(P.id:eq(id)):returning{ id = P.id, title = P.title }:all())
    assert.are.equal(0, db:delete(P):where(P.id:eq(id)):exec())
  end)

  it("row locks", function()
    db:transaction(function(tx)
      assert.are.equal(1, #tx:select{ id = U.id }:from(U):where(U.id:eq(1)):for_update():all())
      assert.are.equal(1, #tx:select{ id = U.id }:from(U):where(U.id:eq(1)):for_no_key_update{ nowait = true }:all())
      assert.are.equal(1, #tx:select{ id = U.id }:from(U):where(U.id:eq(1)):for_share{ skip_locked = true }:all())
      assert.are.equal(1, #tx:select{ id = U.id }:from(U):inner_join(P, P.author_id:eq(U.id))
        :where(P.id:eq(1)):for_key_share{ of = U }:all())
    end)
    local sql = db:select{ id = U.id }:from(U):for_update{ nowait = true, of = { U } }:to_sql()
    assert.are.equal('SELECT "users"."id" AS "id" FROM "users" FOR UPDATE OF "users" NOWAIT', sql)
  end)

  it("a row locked by one transaction: nowait fails with 55P03, skip_locked passes over it", function()
    -- a deadline, so that a lock that waits after all fails the test instead of hanging it
    local other = tide.connect(url, { schema = schema, pool = { max = 1 }, query_timeout = 5 })
    local holder <close> = db:begin()
    assert.are.same({ { id = 1 } }, holder:select{ id = U.id }:from(U):where(U.id:eq(1)):for_update():all())
    local mine = U.id:in_list{ 1, 2, 3 }
    local e = helper.raises(other.transaction, other, function(tx)
      return tx:select{ id = U.id }:from(U):where(mine):for_update{ nowait = true }:all()
    end)
    assert.are.equal("55P03", e.sqlstate, tostring(e))
    assert.are.equal("lock_not_available", e.code)
    local e2 = helper.raises(other.transaction, other, function(tx)
      return tx:select{ id = U.id }:from(U):where(U.id:eq(1)):for_share{ nowait = true }:all()
    end)
    assert.are.equal("55P03", e2.sqlstate, tostring(e2))
    assert.are.equal("lock_not_available", e2.code)
    local free = other:transaction(function(tx)
      return tx:select{ id = U.id }:from(U):where(mine):order_by(U.id):for_update{ skip_locked = true }:all()
    end)
    assert.are.same({ { id = 2 }, { id = 3 } }, free)
    holder:rollback()
    -- released, the row is there to lock again
    assert.are.same({ { id = 1 }, { id = 2 }, { id = 3 } }, other:transaction(function(tx)
      return tx:select{ id = U.id }:from(U):where(mine):order_by(U.id):for_update{ nowait = true }:all()
    end))
    other:close()
  end)

  it("tide.sql binds values and quotes columns; to_sql shows SQL and parameters", function()
    local q = db:select{ id = U.id }:from(U):where(tide.sql("lower(?) = ?", U.email, "ANN@X.ORG"):eq(true))
    local sql, params = q:to_sql()
    assert.are.equal('SELECT "users"."id" AS "id" FROM "users" WHERE (lower("users"."email") = $1) = $2', sql)
    assert.are.same({ "ANN@X.ORG", true }, params)
    assert.are.equal(0, #q:all())
    assert.are.same({ { id = 1 } }, db:select{ id = U.id }:from(U)
      :where(tide.sql("lower(?) = lower(?)", U.email, "ANN@X.ORG")):all())
    assert.are.same({ { q = "a?b" } }, db:select{ q = tide.sql "'a??b'" }:all())
  end)

  it("prepared queries with named placeholders", function()
    local q = db:select{ id = P.id, title = P.title }:from(P)
      :where(tide.and_(P.author_id:eq(tide.placeholder "author"), P.published:eq(true)))
      :order_by(tide.desc(P.id)):limit(tide.placeholder "n"):prepare()
    assert.are.same({ { id = 8, title = "post 8" }, { id = 4, title = "post 4" } }, q:all{ author = 2, n = 2 })
    assert.are.same({ id = 7, title = "post 7" }, q:first{ author = 1, n = 5 })
    local sql, params = q:to_sql()
    assert.is_truthy(sql:find("LIMIT $", 1, true))
    local names = {}
    for _, p in ipairs(params) do if type(p) == "table" then names[#names + 1] = p.v end end
    table.sort(names)
    assert.are.same({ "author", "n" }, names)
    refused(nil, "no value for placeholder 'n'", function() q:all{ author = 1 } end)
    refused(nil, "prepare() it", function()
      db:select{ id = P.id }:from(P):where(P.id:eq(tide.placeholder "id")):all()
    end)
    local ids = db:select{ id = U.id }:from(U):where(U.id:in_list(tide.placeholder "ids")):order_by(U.id):prepare()
    assert.are.same({ { id = 1 }, { id = 3 } }, ids:all{ ids = { 1, 3 } })
    local upd = db:update(P):set{ views = tide.placeholder "v" }:where(P.id:eq(tide.placeholder "id")):prepare()
    assert.are.equal(1, upd:exec{ v = 11, id = 1 })
  end)

  it("repeated shapes compile once", function()
    local _, before = require("tide.core").cache_stats(schema.core)
    for i = 1, 5 do
      db:select{ id = P.id }:from(P):where(P.id:eq(i)):all()
    end
    local compiled, hits = require("tide.core").cache_stats(schema.core)
    assert.is_true(hits - before >= 4)
    assert.is_true(compiled > 0)
  end)

  it("a statement seen before binds each value to its own parameter", function()
    local core = require "tide.core"
    -- two values whose swap would show: author and a views floor
    local function q(author, views)
      return db:select{ id = P.id }:from(P)
        :where(tide.and_(P.author_id:eq(author), P.views:gte(views))):order_by(P.id):all()
    end
    local function ids(rows) local r = {}; for i, row in ipairs(rows) do r[i] = row.id end; return r end
    local expect = {}
    for author = 1, 2 do
      for _, views in ipairs { 0, 5 } do
        expect[#expect + 1] = ids(db:query("select id from posts where author_id = $1 and views >= $2 order by id",
          author, views))
      end
    end
    q(1, 0) -- compiled here; the rest are found by key
    local compiled = core.cache_stats(schema.core)
    local got = {}
    for author = 1, 2 do
      for _, views in ipairs { 0, 5 } do got[#got + 1] = ids(q(author, views)) end
    end
    assert.are.same(expect, got)
    assert.are.equal(compiled, (core.cache_stats(schema.core)))

    -- one select list built in two insertion orders: each binds its own way
    local function cols(order)
      local c = {}
      for _, k in ipairs(order) do c[k] = k == "v" and P.title or k == "n" and tide.sql("? + 0", 7) or P.id end
      return c
    end
    for _, order in ipairs { { "id", "v", "n" }, { "n", "v", "id" }, { "v", "id", "n" } } do
      for _, author in ipairs { 1, 2 } do
        local rows = db:select(cols(order)):from(P):where(P.author_id:eq(author)):order_by(P.id):all()
        local want = db:query("select id, title from posts where author_id = $1 order by id", author)
        assert.are.equal(#want, #rows)
        for i, r in ipairs(rows) do
          assert.are.same({ id = want[i].id, v = want[i].title, n = 7 }, r)
        end
      end
    end

    -- a value's kind is part of the key: a number and a string, an empty
    -- and a full JSON object under the same column
    assert.are.equal(1, #db:select{ id = U.id }:from(U):where(U.prefs:eq({ theme = "dark" })):all())
    assert.are.equal(0, #db:select{ id = U.id }:from(U):where(U.prefs:eq({})):all())
    assert.are.equal(1, #db:select{ id = U.id }:from(U):where(U.prefs:eq({ theme = "dark" })):all())
    assert.are.same({ { x = 3 } }, db:select{ x = tide.sql("? + 1", 2) }:all())
    assert.are.same({ { x = "21" } }, db:select{ x = tide.sql("? || '1'", "2") }:all())
    -- an option's text is part of the key: another alias, another statement
    local A = tide.alias(U, "a")
    assert.are.same({ { id = 1 } }, db:select{ id = A.id }:from(A):where(A.id:eq(1)):all())
    local B = tide.alias(U, "b")
    assert.are.same({ { id = 2 } }, db:select{ id = B.id }:from(B):where(B.id:eq(2)):all())
  end)

  it("runs in transactions and coroutines", function()
    local ok = pcall(db.transaction, db, function(tx)
      tx:update(U):set{ name = "rolled back" }:where(U.id:eq(1)):exec()
      assert.are.equal("rolled back", tx:select{ n = U.name }:from(U):where(U.id:eq(1)):first().n)
      error("undo")
    end)
    assert.is_false(ok)
    assert.are.equal("Ann", db:select{ n = U.name }:from(U):where(U.id:eq(1)):first().n)
    local got = {}
    tide.run(function()
      for i = 1, 3 do
        tide.spawn(function()
          got[i] = db:select{ id = P.id }:from(P):where(P.id:eq(i)):first().id
        end)
      end
    end)
    assert.are.same({ 1, 2, 3 }, got)
  end)

  it("one, exec and query_raw/exec_raw", function()
    assert.are.equal(1, db:select{ id = U.id }:from(U):where(U.id:eq(1)):one().id)
    refused("not_found", "0 rows", function() db:select{ id = U.id }:from(U):where(U.id:eq(99)):one() end)
    refused("too_many_rows", "3 rows", function() db:select{ id = U.id }:from(U):one() end)
    assert.are.equal(3, db:select{ id = U.id }:from(U):exec())
    assert.are.same({ { n = 3 } }, db:query_raw("select $1::int as n", 3))
    assert.are.equal(1, (db:exec_raw("update users set name = $1 where id = $2", "Ann", 1)))
  end)

  describe("hostile input", function()
    it("values never change the SQL text", function()
      local q1 = db:select{ id = U.id }:from(U):where(U.email:eq("x"))
      local evil = "'; drop table users; --\"\\"
      local q2 = db:select{ id = U.id }:from(U):where(U.email:eq(evil))
      assert.are.equal((q1:to_sql()), (q2:to_sql()))
      assert.are.same({}, q2:all())
      -- LIKE wildcards are the pattern's own, bound like any value
      assert.are.equal(0, #db:select{ id = U.id }:from(U):where(U.email:like(evil)):all())
      assert.are.equal(3, #db:select{ id = U.id }:from(U):where(U.email:like "%"):all())
    end)

    it("identifiers with quotes are quoted; NULs and overlong names are refused", function()
      local sql = db:select{ ['a"b'] = U.id }:from(tide.alias(U, 'u"x')):to_sql()
      assert.is_truthy(sql:find('AS "a""b"', 1, true))
      assert.is_truthy(sql:find('"users" AS "u""x"', 1, true))
      assert.are.same({ { ['a"b'] = 1 } }, db:select{ ['a"b'] = U.id }:from(U):where(U.id:eq(1)):all())
      refused("invalid_argument", "NUL", function() db:select{ ["a\0b"] = U.id }:from(U):all() end)
      refused("invalid_argument", "not a valid name", function()
        db:select{ [("x"):rep(64)] = U.id }:from(U):all()
      end)
      refused("invalid_argument", "NUL", function() db:select{ id = U.id }:from(U):where(U.email:eq "a\0b"):all() end)
    end)

    it("unknown fields and models name the nearest", function()
      refused(nil, "unknown field 'emial' on User; did you mean 'email'?", function() return U.emial end)
      refused(nil, "unknown model 'Usr'; did you mean 'User'?", function() return schema.Usr end)
      refused(nil, "an expression has no method 'eqq'; did you mean 'eq'?", function() return U.id:eqq(1) end)
      refused(nil, "an expression has no method 'lkie'; did you mean 'like'?", function()
        return tide.placeholder("p"):lkie("x")
      end)
      -- the error points at the caller's line
      local ok, e = pcall(function() return U.id:eqq(1) end)
      assert.is_false(ok)
      assert.matches("builder_spec.lua:%d+:", e)
      refused("invalid_argument", "unknown field 'emial' on User; did you mean 'email'?", function()
        db:insert(U):values{ emial = "x" }:exec()
      end)
      refused("invalid_argument", "unknown field 'nmae' on User; did you mean 'name'?", function()
        db:update(U):set{ nmae = "x" }:where(U.id:eq(1)):exec()
      end)
    end)

    it("tables, functions and model clients where a value belongs are refused", function()
      refused(nil, "a table where a value of User.email (text) is expected", function() U.email:eq({ 1 }) end)
      refused(nil, "cannot use a function as a value", function() U.email:eq(print) end)
      refused(nil, "the builder takes schema.User", function() db:select():from(db.User) end)
      refused(nil, "a table (User)", function() U.email:eq(U) end)
      refused(nil, "element 1 is a table", function() U.id:in_list({ { 1 } }) end)
      refused(nil, "a condition expected", function() db:select():from(U):where("1=1") end)
      refused(nil, "use tide.null for NULL", function() U.email:eq(nil) end)
      -- a json column takes a table as its value
      assert.are.equal(1, #db:select{ id = U.id }:from(U):where(U.prefs:eq({ theme = "dark" })):all())
    end)

    it("huge IN lists bind as one parameter", function()
      local list = {}
      for i = 1, 100000 do list[i] = i end
      local q = db:select{ id = U.id }:from(U):where(U.id:in_list(list))
      local sql, params = q:to_sql()
      assert.are.equal(1, #params)
      assert.are.equal(3, #q:all())
    end)

    it("deeply nested conditions are refused with a clear error, shallow ones run", function()
      local c = U.id:eq(1)
      for _ = 1, 30 do c = tide.not_(tide.not_(c)) end
      assert.are.equal(1, #db:select{ id = U.id }:from(U):where(c):all())
      for _ = 1, 200 do c = tide.not_(c) end
      refused(nil, "nested more than", function() db:select{ id = U.id }:from(U):where(c):all() end)
    end)

    it("too many values for one statement are refused before the server", function()
      local rows = {}
      for i = 1, 22000 do rows[i] = { email = "e" .. i, name = "n", parent_id = 1 } end
      refused("invalid_argument", "at most 65535 parameters", function() db:insert(U):values(rows):exec() end)
    end)
  end)
end)
