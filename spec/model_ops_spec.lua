-- The model client's less travelled operations against a real database:
-- aggregate and group_by, create_many (skip_duplicates) and
-- create_many_and_return, the top-level upsert, JSON path, full-text and
-- array filters, comparing two fields, cursor pagination and distinct,
-- fields mapped to other column names, soft delete, middleware that changes
-- arguments or results, and LIKE metacharacters. Each is checked on the rows
-- it returns and, for writes, on what a raw query reads back.
--
-- Found while writing it (fixed since): a cursor with order_by on a
-- non-unique field walked back into the ties; create_many dropped options
-- it did not know (a misspelt skip_duplicates, timeout) and wrote the rows.
local tide = require "tide"
local helper = require "helper"
local refused, keys, column = helper.refused, helper.keys, helper.column
local t = tide.types

local function schema()
  local s = tide.schema()
  s:model "Author" {
    t.bigserial "id" :primary(),
    t.text "name" :unique(),
    t.text "nick" :column "nickname" :nullable(),
    t.integer "score" :column "points" :default(0),
    t.timestamps(),
    items = tide.has_many "Item",
  }
  s:model "Item" {
    t.bigserial "id" :primary(),
    t.text "sku" :column "item_code" :unique(),
    t.text "title",
    t.text "body" :default "",
    t.integer "qty" :default(0),
    t.integer "low" :column "reorder_at" :default(0),
    t.numeric(10, 2) "price" :nullable(),
    t.text "labels" :array() :default "{}",
    t.jsonb "meta" :nullable(),
    t.tsvector "search" :generated "to_tsvector('english', title || ' ' || body)" :omit(),
    t.bigint "author_id" :column "owner_id",
    t.timestamps(),
    author = tide.belongs_to("Author", { on_delete = "cascade" }),
  }
  s:model "Note" {
    t.serial "id" :primary(),
    t.text "body" :unique(),
    t.text "kind",
    t.integer "n",
    t.timestamptz "deleted_at" :nullable(),
    soft_delete = "deleted_at",
  }
  return s
end

describe("model client operations", function()
  local url, db, A, I

  setup(function()
    url = helper.fresh_database("tide_model_ops_spec")
    db = tide.connect(url, { schema = schema() })
    db:push()
  end)

  teardown(function()
    db:close()
  end)

  -- two authors, four items, four notes: fresh for every test
  before_each(function()
    db:exec("truncate authors, items, notes restart identity cascade")
    A = {}
    A.ann = db.Author:create{ data = { name = "ann", nick = "annie", score = 10 } }
    A.bob = db.Author:create{ data = { name = "bob", score = 5 } }
    I = {}
    I.apple = db.Item:create{ data = { sku = "a1", title = "Red apple", body = "crisp and sweet", qty = 10, low = 3,
      price = "1.50", labels = { "fruit", "red" }, author_id = A.ann.id,
      meta = tide.json_encode{ color = "red", dims = { w = 3, h = 4 }, tags = { "x" } } } }
    I.pear = db.Item:create{ data = { sku = "a2", title = "Green pear", body = "soft", qty = 2, low = 5,
      price = "2.25", labels = { "fruit" }, author_id = A.ann.id,
      meta = tide.json_encode{ color = "green", dims = { w = 5, h = 6 } } } }
    I.juice = db.Item:create{ data = { sku = "b1", title = "100% juice", body = "orange_juice",
      labels = tide.array(), author_id = A.bob.id } }
    I.berry = db.Item:create{ data = { sku = "b2", title = "Blue_berry", body = "tiny berries running", qty = 7,
      low = 7, price = "3.00", labels = { "fruit", "blue", "small" }, author_id = A.bob.id,
      meta = tide.json_encode{ color = "blue" } } }
    for i, kind in ipairs({ "a", "a", "b", "b" }) do
      db.Note:create{ data = { body = "note" .. i, kind = kind, n = i * 10 } }
    end
  end)

  describe("aggregate", function()
    it("_count, _sum, _avg, _min and _max over the rows where selects", function()
      local a = db.Item:aggregate{ where = { author_id = A.ann.id }, _count = true,
        _sum = { qty = true }, _avg = { qty = true }, _min = { qty = true, title = true },
        _max = { qty = true, title = true } }
      assert.are.same({ _count = 2, _sum = { qty = 12 }, _avg = { qty = 6.0 },
        _min = { qty = 2, title = "Green pear" }, _max = { qty = 10, title = "Red apple" } }, a)
      assert.are.equal("integer", math.type(a._count))
      assert.are.equal("integer", math.type(a._sum.qty))
      assert.are.equal("float", math.type(a._avg.qty))
      -- numeric: exact strings; _count of a field counts its non-null values
      a = db.Item:aggregate{ _count = { price = true, id = true }, _sum = { price = true }, _avg = { price = true },
        _max = { price = true } }
      assert.are.same({ price = 3, id = 4 }, a._count)
      assert.are.equal("6.75", a._sum.price)
      assert.are.equal("string", type(a._avg.price))
      assert.are.equal(2.25, tonumber(a._avg.price))
      assert.are.equal("3.00", a._max.price)
      -- over a window: the two largest quantities
      assert.are.same({ _sum = { qty = 17 } }, db.Item:aggregate{ order_by = { qty = "desc" }, take = 2, _sum = { qty = true } })
      assert.are.same({ _sum = { qty = 2 } }, db.Item:aggregate{ order_by = { qty = "desc" }, skip = 2, take = 1, _sum = { qty = true } })
    end)

    it("on no rows: counts are 0, the other aggregates are absent", function()
      local a = db.Item:aggregate{ where = { id = 0 }, _count = true, _sum = { qty = true }, _avg = { qty = true },
        _min = { title = true }, _max = { qty = true } }
      assert.are.same({ _count = 0 }, a)
      assert.are.same({ _count = { qty = 0 } }, db.Item:aggregate{ where = { qty = { gt = 100 } }, _count = { qty = true } })
      assert.are.same({}, db.Item:aggregate{ where = { id = 0 }, _sum = { qty = true } })
      -- a NULL among values is skipped, not an absent result
      assert.are.same({ _min = { price = "1.50" } }, db.Item:aggregate{ _min = { price = true } })
      assert.are.same({}, db.Item:aggregate{ where = { price = tide.null }, _max = { price = true } })
    end)

    it("refuses _sum of a text field before any SQL", function()
      db:transaction(function(tx)
        refused("invalid_argument", "_sum: Item.title is text, not a number", tx.Item.aggregate, tx.Item, { _sum = { title = true } })
        assert.are.equal(4, tx.Item:count())
      end)
    end)
  end)

  describe("group_by", function()
    it("one row per value of by, with aggregates, ordered", function()
      local g = db.Item:group_by{ by = "author_id", _count = true, _sum = { qty = true }, _max = { title = true },
        order_by = { author_id = "asc" } }
      assert.are.same({
        { author_id = A.ann.id, _count = 2, _sum = { qty = 12 }, _max = { title = "Red apple" } },
        { author_id = A.bob.id, _count = 2, _sum = { qty = 7 }, _max = { title = "Blue_berry" } },
      }, g)
      -- with where, and several by fields
      g = db.Item:group_by{ by = { "author_id", "qty" }, where = { qty = { gt = 0 } }, _count = true,
        order_by = { { author_id = "desc" }, { qty = "asc" } } }
      assert.are.same({ { author_id = 2, qty = 7, _count = 1 }, { author_id = 1, qty = 2, _count = 1 },
        { author_id = 1, qty = 10, _count = 1 } }, g)
      assert.are.same({}, db.Item:group_by{ by = "author_id", where = { id = 0 }, _count = true })
    end)

    it("having on an aggregate and on a by field", function()
      local g = db.Item:group_by{ by = "author_id", _sum = { qty = true }, having = { qty = { _sum = { gt = 10 } } } }
      assert.are.same({ { author_id = 1, _sum = { qty = 12 } } }, g)
      g = db.Item:group_by{ by = "author_id", _avg = { qty = true }, having = { qty = { _avg = { lte = 3.5 } } } }
      assert.are.same({ { author_id = 2, _avg = { qty = 3.5 } } }, g)
      g = db.Item:group_by{ by = "author_id", _count = true, having = { author_id = A.bob.id } }
      assert.are.same({ { author_id = 2, _count = 2 } }, g)
      assert.are.same({}, db.Item:group_by{ by = "author_id", _count = true, having = { qty = { _sum = { gt = 100 } } } })
    end)

    it("order_by an aggregate, take and skip apply to the groups", function()
      local by_sum = db.Item:group_by{ by = "author_id", _sum = { qty = true }, order_by = { _sum = { qty = "desc" } } }
      assert.are.same({ 1, 2 }, column(by_sum, "author_id"))
      local second = db.Item:group_by{ by = "author_id", _sum = { qty = true }, order_by = { _sum = { qty = "desc" } },
        take = 1, skip = 1 }
      assert.are.same({ { author_id = 2, _sum = { qty = 7 } } }, second)
      -- quantities 10, 2, 0, 7 and now 2 again: the groups by size, then by qty
      db.Item:create{ data = { sku = "c1", title = "Extra", qty = 2, author_id = A.bob.id } }
      local g = db.Item:group_by{ by = "qty", _count = true, order_by = { { _count = "desc" }, { qty = "asc" } }, take = 2 }
      assert.are.same({ { qty = 2, _count = 2 }, { qty = 0, _count = 1 } }, g)
    end)
  end)

  describe("create_many", function()
    it("skip_duplicates skips rows that take a unique key, and counts only the rows written", function()
      local n = db.Author:create_many{ data = { { name = "cy" }, { name = "ann", nick = "dup" }, { name = "dee", nick = "d" },
        { name = "cy" } }, skip_duplicates = true }
      assert.are.equal(2, n)
      assert.are.equal(4, db.Author:count())
      -- the existing row was left as it was
      assert.are.same({ { nickname = "annie" } }, db:query("select nickname from authors where name = 'ann'"))
      assert.are.same({ { name = "cy", points = 0 }, { name = "dee", points = 0 } },
        db:query("select name, points from authors where id > 2 order by name"))
      assert.are.same({ { nickname = "d" } }, db:query("select nickname from authors where name = 'dee'"))
      -- all duplicates: nothing written
      assert.are.equal(0, db.Author:create_many{ data = { { name = "ann" }, { name = "bob" } }, skip_duplicates = true })
      -- without skip_duplicates a duplicate is the server's error
      local e = refused("unique_violation", nil, db.Author.create_many, db.Author, { data = { { name = "ann" } } })
      assert.are.equal("authors_name_key", e.constraint)
      assert.are.equal(4, db.Author:count())
    end)

    it("takes the statement's timeout (it was dropped)", function()
      db:exec[[create function slow_insert() returns trigger language plpgsql as
        $$ begin perform pg_sleep(0.5); return new; end $$]]
      db:exec("create trigger slow before insert on authors for each row execute function slow_insert()")
      local ok, e = pcall(db.Author.create_many, db.Author, { data = { { name = "slow" } }, timeout = 0.05 })
      db:exec("drop trigger slow on authors; drop function slow_insert()")
      assert.is_false(ok)
      assert.are.equal("query_canceled", e.code)
      assert.are.equal(0, db.Author:count{ where = { name = "slow" } })
      assert.matches("timeout: a number of seconds", helper.raises(db.Author.create_many_and_return, db.Author,
        { data = { { name = "x" } }, timeout = -1 }))
    end)

    it("create_many_and_return returns the written rows with their defaults", function()
      local rows = db.Author:create_many_and_return{ data = { { name = "cy", nick = "c" }, { name = "dee", score = 3 } } }
      table.sort(rows, function(a, b) return a.id < b.id end)
      assert.are.same({ 3, 4 }, column(rows, "id"))
      assert.are.same({ "c", "nil" }, column(rows, "nick"))
      assert.are.same({ 0, 3 }, column(rows, "score"))
      assert.are.same({ "created_at", "id", "name", "nick", "score", "updated_at" }, keys(rows[1]))
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT", rows[2].created_at)
      -- skip_duplicates: only the rows written come back
      rows = db.Author:create_many_and_return{ data = { { name = "ann" }, { name = "eve" } }, skip_duplicates = true,
        select = { name = true, score = true } }
      assert.are.same({ { name = "eve", score = 0 } }, rows)
      assert.are.same({}, db.Author:create_many_and_return{ data = { { name = "eve" } }, skip_duplicates = true })
      assert.are.equal(5, db.Author:count())
    end)
  end)

  describe("upsert", function()
    it("creates when the key is missing, updates when it is present, and returns the row", function()
      local function bump()
        return db.Author:upsert{ where = { name = "zed" }, create = { name = "zed", score = 1 },
          update = { score = { increment = 1 } } }
      end
      local r = bump()
      assert.are.equal("zed", r.name)
      assert.are.equal(1, r.score)
      assert.are.equal(3, r.id)
      r = bump()
      assert.are.equal(2, r.score)
      assert.are.equal(3, r.id)
      assert.are.same({ { points = 2 } }, db:query("select points from authors where name = 'zed'"))
      assert.are.equal(3, db.Author:count())
      -- on an existing row: only update is applied, with select
      r = db.Author:upsert{ where = { name = "ann" }, create = { name = "ann", nick = "new" }, update = { nick = "an" },
        select = { nick = true, score = true } }
      assert.are.same({ nick = "an", score = 10 }, r)
      -- an empty update returns the row as it is
      r = db.Author:upsert{ where = { name = "bob" }, create = { name = "bob" }, update = {} }
      assert.are.equal(A.bob.id, r.id)
      assert.are.equal(3, db.Author:count())
      -- a key mapped to another column name
      r = db.Item:upsert{ where = { sku = "a1" }, create = { sku = "a1", title = "x", author_id = 1 }, update = { qty = 11 } }
      assert.are.same({ I.apple.id, 11, "Red apple" }, { r.id, r.qty, r.title })
      r = db.Item:upsert{ where = { sku = "z9" }, create = { sku = "z9", title = "new", author_id = 1 }, update = { qty = 11 } }
      assert.are.same({ "z9", 0, "new" }, { r.sku, r.qty, r.title })
      assert.are.same({ { item_code = "z9", qty = 0 } }, db:query("select item_code, qty from items where id = $1", r.id))
      assert.are.equal(5, db.Item:count())
    end)
  end)

  describe("filters", function()
    local function ids(where, extra)
      local args = { where = where, order_by = { id = "asc" } }
      for k, v in pairs(extra or {}) do args[k] = v end
      return column(db.Item:find_many(args), "id")
    end

    it("JSON path: equals, not, comparisons as numbers, and text matches", function()
      assert.are.same({ 1 }, ids{ meta = { path = { "color" }, equals = "red" } })
      assert.are.same({ 1 }, ids{ meta = { path = "color", equals = "red" } })
      -- not: also the rows with no value there (no meta at all)
      assert.are.same({ 2, 3, 4 }, ids{ meta = { path = "color", ["not"] = "red" } })
      assert.are.same({ 2 }, ids{ meta = { path = { "dims", "w" }, gt = 4 } })
      assert.are.same({ 1, 2 }, ids{ meta = { path = { "dims", "w" }, gte = 3, lte = 5 } })
      assert.are.same({ 1 }, ids{ meta = { path = { "dims", "h" }, lt = 5 } })
      assert.are.same({ 1 }, ids{ meta = { path = { "tags", "0" }, equals = "x" } })
      assert.are.same({}, ids{ meta = { path = { "tags", "1" }, equals = "x" } })
      assert.are.same({}, ids{ meta = { path = { "nope" }, equals = "red" } })
      assert.are.same({ 1, 2 }, ids{ meta = { path = "color", contains = "re" } })
      assert.are.same({ 2 }, ids{ meta = { path = "color", starts_with = "gr" } })
      assert.are.same({ 4 }, ids{ meta = { path = "color", ends_with = "ue" } })
      -- LIKE metacharacters are literal here too ('r_d' and 'e%' as patterns match red, green, blue)
      assert.are.same({}, ids{ meta = { path = "color", contains = "r_d" } })
      assert.are.same({}, ids{ meta = { path = "color", starts_with = "%e" } })
      -- the whole document
      assert.are.same({ 4 }, ids{ meta = { equals = tide.json_encode{ color = "blue" } } })
    end)

    it("full-text search on a generated tsvector field", function()
      assert.are.same({ 1 }, ids{ search = { search = "apple" } })
      -- stemmed: 'berry' finds 'berries', 'run' finds 'running'
      assert.are.same({ 4 }, ids{ search = { search = "berry" } })
      assert.are.same({ 4 }, ids{ search = { search = "run" } })
      assert.are.same({ 1, 2 }, ids{ search = { search = "apple or pear" } })
      assert.are.same({}, ids{ search = { search = "crisp -sweet" } })
      assert.are.same({ 1 }, ids{ search = { search = "\"crisp and sweet\"" } })
      assert.are.same({}, ids{ search = { search = "\"sweet crisp\"" } })
      assert.are.same({ 2 }, ids{ search = { search = "pear" }, author_id = A.ann.id })
      -- the field is omitted from rows
      assert.is_nil(db.Item:find_unique{ where = { id = 1 } }.search)
    end)

    it("arrays: has, has_some, has_every, is_empty and equality", function()
      assert.are.same({ 1, 2, 4 }, ids{ labels = { has = "fruit" } })
      assert.are.same({}, ids{ labels = { has = "fru" } })
      assert.are.same({ 1, 4 }, ids{ labels = { has_some = { "red", "blue" } } })
      assert.are.same({}, ids{ labels = { has_some = {} } })
      assert.are.same({ 4 }, ids{ labels = { has_every = { "small", "fruit" } } })
      assert.are.same({}, ids{ labels = { has_every = { "red", "blue" } } })
      assert.are.same({ 1, 2, 3, 4 }, ids{ labels = { has_every = {} } })
      assert.are.same({ 3 }, ids{ labels = { is_empty = true } })
      assert.are.same({ 1, 2, 4 }, ids{ labels = { is_empty = false } })
      assert.are.same({ 2 }, ids{ labels = { "fruit" } })
      assert.are.same({}, ids{ labels = { "red", "fruit" } }) -- order matters for equality
      assert.are.same({ 3 }, ids{ labels = tide.array() })
      assert.are.same({ 1 }, ids{ labels = { has = "fruit", has_some = { "red" } } })
    end)

    it("comparing two fields of the same row with tide.field", function()
      assert.are.same({ 2 }, ids{ qty = { lt = tide.field "low" } })
      assert.are.same({ 3, 4 }, ids{ qty = { equals = tide.field "low" } })
      assert.are.same({ 1, 3, 4 }, ids{ qty = { gte = tide.field "low" } })
      assert.are.same({ 1 }, ids{ qty = { gt = tide.field "low" } })
      assert.are.same({ 2, 3, 4 }, ids{ qty = { lte = tide.field "low" } })
      -- as a plain value, and under not
      assert.are.same({ 3, 4 }, ids{ qty = tide.field "low" })
      assert.are.same({ 1, 2 }, ids{ qty = { not_ = tide.field "low" } })
      -- the other way round (low is a field mapped to the column reorder_at)
      assert.are.same({ 2 }, ids{ low = { gt = tide.field "qty" } })
      assert.are.same({ 1, 2, 3, 4 }, ids{ created_at = { lte = tide.field "updated_at" } })
      db.Item:update{ where = { id = 2 }, data = { qty = 9 } }
      assert.are.same({}, ids{ qty = { lt = tide.field "low" } })
      refused("invalid_argument", "tide.field: unknown field 'nmae' on Author",
        db.Author.find_many, db.Author, { where = { name = { equals = tide.field "nmae" } } })
    end)

    it("LIKE metacharacters in the data match literally, and mode = 'insensitive'", function()
      assert.are.same({ 3 }, ids{ title = { contains = "0%" } })
      assert.are.same({ 3 }, ids{ title = { starts_with = "100%" } })
      assert.are.same({}, ids{ title = { starts_with = "1%j" } }) -- as a pattern: '100% juice'
      assert.are.same({ 4 }, ids{ title = { contains = "_" } }) -- as a pattern: every title
      assert.are.same({ 3 }, ids{ body = { contains = "_" } }) -- as a pattern: every body
      assert.are.same({ 3 }, ids{ body = { contains = "e_j" } })
      assert.are.same({ 4 }, ids{ title = { ends_with = "_berry" } })
      assert.are.same({}, ids{ title = { ends_with = "_BERRY" } })
      assert.are.same({ 4 }, ids{ title = { ends_with = "_BERRY", mode = "insensitive" } })
      assert.are.same({ 4 }, ids{ title = { contains = "E_B", mode = "insensitive" } })
      assert.are.same({ 3 }, ids{ title = { starts_with = "100% J", mode = "insensitive" } })
      assert.are.same({ 1 }, ids{ title = { equals = "RED APPLE", mode = "insensitive" } })
      assert.are.same({ 2, 3, 4 }, ids{ title = { ["not"] = "RED APPLE", mode = "insensitive" } })
      -- on a field mapped to another column
      db.Author:update{ where = { id = A.bob.id }, data = { nick = "b_b%" } }
      assert.are.same({ "bob" }, column(db.Author:find_many{ where = { nick = { ends_with = "_B%", mode = "insensitive" } } }, "name"))
      assert.are.same({}, column(db.Author:find_many{ where = { nick = { contains = "n_i" } } }, "name"))
    end)
  end)

  describe("paging", function()
    -- every page of find_many with these args, walking with cursor and
    -- skip = 1; from the row start names (included), or from the first row
    local function walk(args, key, start)
      key = key or "id"
      local pages, seen = {}, 0
      local cursor, skip = start, 0
      repeat
        local a = {}
        for k, v in pairs(args) do a[k] = v end
        if cursor then a.cursor, a.skip = { [key] = cursor }, skip end
        local page = db.Item:find_many(a)
        if #page > 0 then
          pages[#pages + 1] = table.concat(column(page, "id"), ",")
          cursor, skip = page[#page][key], 1
        end
        seen = seen + 1
        assert(seen < 10, "the walk does not end")
      until #page == 0
      return pages
    end

    it("cursor, take, skip = 1 and order_by walk every row once", function()
      assert.are.same({ "1,2", "3,4" }, walk{ take = 2, order_by = { id = "asc" } })
      assert.are.same({ "4,3,2", "1" }, walk{ take = 3, order_by = { id = "desc" } })
      -- ordered by another field: rows after the cursor's row in that order
      assert.are.same({ "3", "2", "4", "1" }, walk{ take = 1, order_by = { qty = "asc" } })
      assert.are.same({ "1,4", "2,3" }, walk{ take = 2, order_by = { qty = "desc" } })
      -- with a where, and a cursor on a unique field mapped to another column
      assert.are.same({ "1", "2", "4" }, walk({ take = 1, where = { qty = { gt = 0 } }, order_by = { sku = "asc" } }, "sku"))
      -- without order_by: the primary key, ascending
      assert.are.same({ "1,2,3", "4" }, walk{ take = 3 })
      -- the cursor's row itself is included without skip
      assert.are.same({ 2, 3 }, column(db.Item:find_many{ cursor = { id = 2 }, take = 2, order_by = { id = "asc" } }, "id"))
      assert.are.same({ 2, 1 }, column(db.Item:find_many{ cursor = { sku = "a2" }, order_by = { id = "desc" } }, "id"))
    end)

    it("walks rows tied on order_by without skipping or repeating any", function()
      -- author_id is 1, 1, 2, 2: after order_by, the cursor's key orders
      -- the ties (it was left out: the pages repeated the first tie for
      -- ever). Each walk starts at the first row in that order.
      assert.are.same({ "1", "2", "3", "4" }, walk({ take = 1, order_by = { author_id = "asc" } }, "id", 1))
      assert.are.same({ "4", "3", "2", "1" }, walk({ take = 1, order_by = { author_id = "desc" } }, "id", 4))
      assert.are.same({ "1,2,3", "4" }, walk({ take = 3, order_by = { author_id = "asc" } }, "id", 1))
      assert.are.same({ "2,3", "4" }, walk({ take = 2, order_by = { author_id = "asc" } }, "id", 2))
      -- a cursor on another unique key orders the ties by that key
      db.Item:update{ where = { id = 1 }, data = { sku = "a3" } }
      assert.are.same({ "2", "1", "3", "4" }, walk({ take = 1, order_by = { author_id = "asc" } }, "sku", "a2"))
      assert.are.same({ 1, 3, 4 }, column(db.Item:find_many{ cursor = { sku = "a3" }, order_by = { author_id = "asc" } }, "id"))
      -- the first page, without a cursor, is in the same order when order_by ends with the key
      assert.are.same({ "1,2", "3,4" }, walk{ take = 2, order_by = { { author_id = "asc" }, { id = "asc" } } })
    end)

    it("a cursor that names no row gives no rows", function()
      assert.are.same({}, db.Item:find_many{ cursor = { id = 999 }, take = 2 })
      assert.are.same({}, db.Item:find_many{ cursor = { sku = "zz" }, order_by = { qty = "asc" } })
      assert.is_nil(db.Item:find_first{ cursor = { id = 999 } })
      -- the last row, skipped
      assert.are.same({}, db.Item:find_many{ cursor = { id = 4 }, skip = 1, order_by = { id = "asc" } })
      assert.are.equal(4, db.Item:find_first{ cursor = { id = 3 }, skip = 1 }.id)
    end)

    it("distinct keeps the first row of each value", function()
      local top = db.Item:find_many{ distinct = "author_id", order_by = { qty = "desc" }, select = { author_id = true, title = true } }
      assert.are.same({ { author_id = 1, title = "Red apple" }, { author_id = 2, title = "Blue_berry" } }, top)
      local low = db.Item:find_many{ distinct = { "author_id" }, order_by = { qty = "asc" } }
      assert.are.same({ 2, 3 }, column(low, "id"))
      -- distinct on several fields, with a where and take
      db.Item:create{ data = { sku = "c1", title = "Red apple", qty = 1, author_id = A.ann.id } }
      local d = db.Item:find_many{ distinct = { "author_id", "title" }, where = { author_id = A.ann.id }, order_by = { qty = "asc" } }
      assert.are.same({ 2, 5 }, column(d, "id")) -- Green pear, then the cheaper Red apple
      assert.are.same({ 5 }, column(db.Item:find_many{ distinct = "author_id", order_by = { qty = "asc" }, take = 1 }, "id"))
      assert.are.equal(3, db.Item:find_first{ distinct = "author_id", order_by = { qty = "asc" }, skip = 1 }.id)
    end)
  end)

  describe("a field mapped to another column name", function()
    it("is written, filtered, ordered and read by its field name; SQL sees the column", function()
      local c = db.Author:create{ data = { name = "cy", nick = "cee", score = 7 } }
      assert.are.same({ "created_at", "id", "name", "nick", "score", "updated_at" }, keys(c))
      assert.are.same({ "cee", 7 }, { c.nick, c.score })
      assert.are.same({ { nickname = "cee", points = 7 } }, db:query("select nickname, points from authors where id = $1", c.id))
      refused("database_error", "column \"nick\" does not exist", db.query, db, "select nick from authors")
      assert.are.same({ "ann", "cy", "bob" }, column(db.Author:find_many{ order_by = { score = "desc" } }, "name"))
      assert.are.same({ "cy" }, column(db.Author:find_many{ where = { score = { gt = 5, lt = 10 } } }, "name"))
      assert.are.same({ "bob" }, column(db.Author:find_many{ where = { nick = tide.null } }, "name"))
      assert.are.same({ { nick = "annie" } }, db.Author:find_many{ where = { nick = { starts_with = "ann" } }, select = { nick = true } })
      local u = db.Author:update{ where = { id = c.id }, data = { nick = "cz", score = { increment = 5 } } }
      assert.are.same({ "cz", 12 }, { u.nick, u.score })
      assert.are.equal(2, db.Author:update_many{ where = { score = { lt = 11 } }, data = { score = { multiply = 2 } } })
      assert.are.same({ { name = "ann", points = 20 }, { name = "bob", points = 10 }, { name = "cy", points = 12 } },
        db:query("select name, points from authors order by name"))
      assert.are.same({ _sum = { score = 42 }, _max = { nick = "cz" } },
        db.Author:aggregate{ _sum = { score = true }, _max = { nick = true } })
      assert.are.same({ { nick = "cz", _count = 1 } }, db.Author:group_by{ by = "nick", _count = true, where = { id = c.id } })
      assert.are.equal("cz", db.Author:delete{ where = { id = c.id } }.nick)
    end)

    it("a mapped foreign key and unique key work in relations and lookups", function()
      local ann = db.Author:find_unique{ where = { id = A.ann.id }, include = { items = { order_by = { sku = "asc" },
        select = { sku = true } } } }
      assert.are.same({ { sku = "a1" }, { sku = "a2" } }, ann.items)
      local it = db.Item:find_unique{ where = { sku = "b2" }, include = { author = { select = { nick = true, name = true } } } }
      assert.are.same({ name = "bob" }, it.author)
      assert.are.equal(A.bob.id, it.author_id)
      assert.are.same({ "ann" }, column(db.Author:find_many{ where = { items = { some = { sku = "a1" } } } }, "name"))
      assert.are.same({ { owner_id = 2, reorder_at = 7 } }, db:query("select owner_id, reorder_at from items where item_code = 'b2'"))
      assert.are.same({ 1, 2 }, column(db.Item:find_many{ where = { author = { is = { score = { gt = 5 } } } },
        order_by = { id = "asc" } }, "id"))
    end)
  end)

  describe("soft delete", function()
    local function raw_count(where)
      return db:query("select count(*)::int as n from notes" .. (where and " where " .. where or ""))[1].n
    end

    it("delete sets deleted_at instead of removing the row, and reads leave it out", function()
      local d = db.Note:delete{ where = { id = 1 } }
      assert.are.equal("note1", d.body)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT", d.deleted_at)
      assert.are.equal(4, raw_count())
      assert.are.equal(1, raw_count("deleted_at is not null and id = 1"))
      assert.is_nil(db.Note:find_unique{ where = { id = 1 } })
      assert.is_nil(db.Note:find_first{ where = { body = "note1" } })
      assert.are.same({ 2, 3, 4 }, column(db.Note:find_many{ order_by = { id = "asc" } }, "id"))
      assert.are.equal(3, db.Note:count())
      assert.are.same({ _count = 3, _sum = { n = 90 }, _min = { n = 20 } },
        db.Note:aggregate{ _count = true, _sum = { n = true }, _min = { n = true } })
      assert.are.same({ { kind = "a", _count = 1 }, { kind = "b", _count = 2 } },
        db.Note:group_by{ by = "kind", _count = true, order_by = { kind = "asc" } })
      -- a second delete finds nothing, and leaves the timestamp as it was
      local stamp = db:query("select deleted_at::text as d from notes where id = 1")[1].d
      assert.is_nil(db.Note:delete{ where = { id = 1 } })
      assert.are.equal(stamp, db:query("select deleted_at::text as d from notes where id = 1")[1].d)
      -- update and update_many skip it too
      assert.is_nil(db.Note:update{ where = { id = 1 }, data = { n = 0 } })
      assert.are.equal(3, db.Note:update_many{ data = { n = { increment = 1 } } })
      assert.are.equal(1, raw_count("n = 10"))
    end)

    it("with_deleted = true sees the deleted rows", function()
      db.Note:delete{ where = { id = 1 } }
      assert.are.equal(4, db.Note:count{ with_deleted = true })
      assert.are.equal("note1", db.Note:find_unique{ where = { id = 1 }, with_deleted = true }.body)
      assert.are.same({ 1, 2, 3, 4 }, column(db.Note:find_many{ with_deleted = true, order_by = { id = "asc" } }, "id"))
      assert.are.same({ 1 }, column(db.Note:find_many{ with_deleted = true, where = { deleted_at = { not_ = tide.null } } }, "id"))
      assert.are.same({ _sum = { n = 100 } }, db.Note:aggregate{ with_deleted = true, _sum = { n = true } })
      assert.are.same({ { kind = "a", _count = 2 }, { kind = "b", _count = 2 } },
        db.Note:group_by{ by = "kind", _count = true, order_by = { kind = "asc" }, with_deleted = true })
      -- restored through update_many with_deleted
      assert.are.equal(1, db.Note:update_many{ where = { id = 1 }, data = { deleted_at = tide.null }, with_deleted = true })
      assert.are.equal(4, db.Note:count())
    end)

    it("delete_many soft-deletes the matching rows and counts them once", function()
      assert.are.equal(2, db.Note:delete_many{ where = { kind = "b" } })
      assert.are.equal(4, raw_count())
      assert.are.equal(2, raw_count("deleted_at is not null and kind = 'b'"))
      assert.are.equal(2, db.Note:count())
      assert.are.equal(0, db.Note:delete_many{ where = { kind = "b" } })
      assert.are.equal(2, db.Note:delete_many())
      assert.are.equal(0, db.Note:count())
      assert.are.equal(4, raw_count("deleted_at is not null"))
      assert.are.same({}, db.Note:aggregate{ _sum = { n = true } })
      -- a soft-deleted row still holds its unique key: create conflicts with it
      refused("unique_violation", nil, db.Note.create, db.Note, { data = { body = "note1", kind = "a", n = 1 } })
      assert.is_nil(db.Note:upsert{ where = { body = "note1" }, create = { body = "note1", kind = "a", n = 1 }, update = { n = 2 } })
      assert.are.equal(1, raw_count("body = 'note1' and n = 10"))
    end)
  end)

  describe("middleware", function()
    local mdb

    before_each(function()
      mdb = tide.connect(url, { schema = schema() })
    end)

    after_each(function()
      mdb:close()
    end)

    it("one that changes the result is observed by the caller", function()
      local seen = {}
      mdb:use(function(params, next)
        local r = next(params)
        seen[#seen + 1] = params.model .. "." .. params.operation
        if params.model == "Item" and params.operation == "find_many" then
          local kept = {}
          for _, row in ipairs(r) do
            if row.qty > 0 then
              row.stocked = true
              kept[#kept + 1] = row
            end
          end
          return kept
        end
        if params.operation == "count" then return r * 100 end
        return r
      end)
      local rows = mdb.Item:find_many{ order_by = { id = "asc" } }
      assert.are.same({ 1, 2, 4 }, column(rows, "id"))
      assert.are.same({ true, true, true }, column(rows, "stocked"))
      assert.are.equal(400, mdb.Item:count())
      assert.are.equal(4, db.Item:count()) -- another db: no middleware
      assert.is_nil(mdb.Item:find_unique{ where = { id = 1 } }.stocked)
      -- in a transaction too
      mdb:transaction(function(tx) assert.are.same({ 1, 2, 4 }, column(tx.Item:find_many{ order_by = { id = "asc" } }, "id")) end)
      assert.are.same({ "Item.find_many", "Item.count", "Item.find_unique", "Item.find_many" }, seen)
    end)

    it("one that changes the arguments is observed by the caller, whose table is untouched", function()
      local calls = 0
      mdb:use(function(params, next)
        calls = calls + 1
        if params.model == "Item" and (params.operation == "find_many" or params.operation == "count") then
          local a = {}
          for k, v in pairs(params.args or {}) do a[k] = v end
          a.where = a.where and { AND = { a.where, { author_id = A.bob.id } } } or { author_id = A.bob.id }
          params.args = a
        elseif params.operation == "create" then
          local a = {}
          for k, v in pairs(params.args) do a[k] = v end
          a.data = {}
          for k, v in pairs(params.args.data) do a.data[k] = v end
          a.data.body = "stamped"
          params.args = a
        end
        return next(params)
      end)
      local args = { where = { qty = { gt = 0 } }, order_by = { id = "asc" } }
      assert.are.same({ 4 }, column(mdb.Item:find_many(args), "id"))
      assert.are.same({ qty = { gt = 0 } }, args.where)
      assert.are.equal(2, mdb.Item:count())
      assert.are.equal(1, mdb.Item:count{ where = { title = { contains = "juice" } } })
      assert.are.equal(0, mdb.Item:count{ where = { title = { contains = "apple" } } })
      local data = { sku = "m1", title = "made", author_id = A.ann.id }
      local r = mdb.Item:create{ data = data }
      assert.are.equal("stamped", r.body)
      assert.is_nil(data.body)
      assert.are.same({ { body = "stamped" } }, db:query("select body from items where item_code = 'm1'"))
      assert.are.equal(5, calls) -- find_many, three counts, create
    end)

    it("run in the order they were added, around each other", function()
      local trace = {}
      mdb:use(function(params, next)
        trace[#trace + 1] = "a>"
        local r = next(params)
        trace[#trace + 1] = "<a"
        return r .. "a"
      end)
      mdb:use(function(params, next)
        trace[#trace + 1] = "b>"
        local r = next(params)
        trace[#trace + 1] = "<b"
        return tostring(r) .. "b"
      end)
      assert.are.equal("4ba", mdb.Item:count())
      assert.are.same({ "a>", "b>", "<b", "<a" }, trace)
    end)
  end)

  describe("refusals of these features, before any SQL", function()
    it("names the nearest operator, aggregate or option", function()
      -- (an unknown operator on a plain field is model_spec's)
      db:transaction(function(tx)
        refused("invalid_argument", "did you mean 'has_some'?",
          tx.Item.find_many, tx.Item, { where = { labels = { has_sme = { "x" } } } })
        -- (create_many dropped options it did not know, and wrote the rows)
        refused("invalid_argument", "create_many: unknown option 'skip_duplicate'; did you mean 'skip_duplicates'?",
          tx.Author.create_many, tx.Author, { data = { { name = "x" } }, skip_duplicate = true })
        refused("invalid_argument", "create_many_and_return: unknown option 'slect'; did you mean 'select'?",
          tx.Author.create_many_and_return, tx.Author, { data = { { name = "x" } }, slect = { id = true } })
        assert.are.equal(2, tx.Author:count())
        refused("invalid_argument", "having Item.qty: unknown aggregate '_sun'; did you mean '_sum'?",
          tx.Item.group_by, tx.Item, { by = "author_id", having = { qty = { _sun = { gt = 1 } } } })
        assert.are.equal(4, tx.Item:count())
      end)
    end)
  end)
end)
