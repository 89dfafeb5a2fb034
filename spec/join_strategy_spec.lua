-- relation_load_strategy = "join": the include tree in one statement (JSON
-- per relation). Every read is compared with the "query" strategy on the
-- same data: the rows must be the same, values and types included.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local function schema()
  local s = tide.schema()
  local Mood = s:enum("mood", { "happy", "sad" })
  local at = { encode = function(v) return v:sub(2) end, decode = function(v) return "@" .. v end }
  s:model "Author" {
    t.serial "id" :primary(),
    t.text "name",
    t.text "secret" :omit() :default "s",
    t.text "handle" :nullable() :codec(at),
    books = tide.has_many "Book",
    bio = tide.has_one "Bio",
  }
  s:model "Bio" {
    t.serial "id" :primary(),
    t.text "text",
    t.integer "author_id" :unique(),
    author = tide.belongs_to "Author",
  }
  s:model "Book" {
    t.serial "id" :primary(),
    t.text "title",
    t.integer "author_id",
    t.numeric(10, 2) "price" :nullable(),
    t.real "rating" :nullable(),
    t.double "score" :nullable(),
    t.bigint "big" :nullable(),
    t.boolean "hidden" :default(false),
    t.bytea "cover" :nullable(),
    t.timetz "at" :nullable(),
    t.timestamptz "published_at" :nullable(),
    t.timestamp "printed_at" :nullable(),
    t.date "day" :nullable(),
    t.interval "span" :nullable(),
    t.uuid "ref" :nullable(),
    t.jsonb "meta" :nullable(),
    t.text "labels" :array() :nullable(),
    t.numeric "weights" :array() :nullable(),
    t.double "scores" :array() :nullable(),
    t.bytea "blobs" :array() :nullable(),
    Mood "mood" :nullable(),
    Mood "moods" :array() :nullable(),
    t.timestamptz "deleted_at" :nullable(),
    soft_delete = "deleted_at",
    author = tide.belongs_to "Author",
    chapters = tide.has_many "Chapter",
    genres = tide.many_to_many "Genre",
  }
  s:model "Chapter" {
    t.serial "id" :primary(),
    t.integer "book_id",
    t.integer "n",
    t.text "title",
    book = tide.belongs_to "Book",
  }
  s:model "Genre" {
    t.serial "id" :primary(),
    t.text "name" :unique(),
    books = tide.many_to_many "Book",
  }
  -- a composite key
  s:model "Shelf" {
    t.integer "room",
    t.integer "no",
    tide.primary_key { "room", "no" },
    slots = tide.has_many "Slot",
  }
  s:model "Slot" {
    t.serial "id" :primary(),
    t.integer "room" :nullable(),
    t.integer "shelf_no" :nullable(),
    t.text "label",
    shelf = tide.belongs_to("Shelf", { fields = { "room", "shelf_no" } }),
  }
  return s
end

describe("relation_load_strategy = 'join'", function()
  local db, joindb

  setup(function()
    local url = helper.fresh_database("tide_join_spec")
    local s = schema()
    db = tide.connect(url, { schema = s, pool = { max = 1 } })
    joindb = tide.connect(url, { schema = s, pool = { max = 1 }, relation_load_strategy = "join" })
    db:push()
    db.Author:create_many{ data = { { name = "ann", handle = "@ann" }, { name = "bob" }, { name = "cy" } } }
    db.Bio:create{ data = { text = "writes", author_id = 1 } }
    db.Genre:create_many{ data = { { name = "poetry" }, { name = "prose" } } }
    db.Book:create{ data = { title = "full", author_id = 1, price = "12.50", rating = 4.5, score = 3.0, big = 9007199254740993,
      hidden = true, cover = "\0\1\255pic", at = "12:30:00+02", published_at = "2024-05-01 10:00:00.123456+00",
      printed_at = "2024-05-01 10:00:00", day = "2024-05-01", span = "1 day 02:00:00", ref = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      meta = { lang = "en", n = { 1, 2 }, none = tide.null }, labels = { "a", "b,c", "" }, weights = { "1.10", "2" },
      mood = "happy", moods = { "happy", "sad" } } }
    db.Book:create{ data = { title = "nan", author_id = 1, score = 0 / 0, rating = math.huge, labels = tide.array(),
      scores = "{1.5,NaN,NULL,-Infinity}", blobs = [[{"\\x00ff",NULL}]], printed_at = "0044-03-15 10:00:00 BC",
      at = "08:00:00.5+05:30" } }
    db.Book:create{ data = { title = "empty", author_id = 2 } }
    db.Book:create{ data = { title = "gone", author_id = 2, deleted_at = "2024-01-01 00:00:00+00" } }
    for b = 1, 3 do
      for n = 1, 4 do db.Chapter:create{ data = { book_id = b, n = n, title = ("b%d c%d"):format(b, n) } } end
    end
    db:exec("insert into books_genres (book_id, genre_id) values (1, 1), (1, 2), (3, 2)")
    db.Shelf:create_many{ data = { { room = 1, no = 1 }, { room = 1, no = 2 }, { room = 2, no = 1 } } }
    db.Slot:create_many{ data = { { room = 1, shelf_no = 2, label = "x" }, { room = 2, shelf_no = 1, label = "y" },
      { room = 1, shelf_no = 2, label = "z" }, { room = 1, label = "half" } } }
  end)
  teardown(function() db:close(); joindb:close() end)

  -- equal rows, NaN (which equals nothing) compared as a marker, and the
  -- kind of every number (integer or float) compared too
  local function plain(v)
    if type(v) == "number" then return v ~= v and "NaN" or math.type(v) .. ":" .. tostring(v) end
    if type(v) ~= "table" or v == tide.null then return v end
    local c = {}
    for k, x in pairs(v) do c[k] = plain(x) end
    return c
  end
  local function same(a, b) assert.are.same(plain(a), plain(b)) end

  -- the same call under both strategies: the same rows
  local function both(model, op, args)
    local q = db[model][op](db[model], args)
    local a = { relation_load_strategy = "join" }
    for k, v in pairs(args) do a[k] = v end
    local j = db[model][op](db[model], a)
    same(q, j)
    return j, q
  end

  it("reads every type as the query strategy does", function()
    local authors = both("Author", "find_many", { include = { books = { order_by = { id = "asc" } } }, order_by = { id = "asc" } })
    local full = authors[1].books[1]
    assert.are.equal("12.50", full.price)
    assert.are.equal("\0\1\255pic", full.cover)
    assert.are.equal(9007199254740993, full.big)
    assert.are.equal("float", math.type(full.score))
    assert.are.equal("12:30:00+02:00", full.at)
    assert.are.equal("en", full.meta.lang)
    assert.are.equal(tide.null, full.meta.none)
    assert.are.same({ "a", "b,c", "" }, full.labels)
    assert.are.same({ "1.10", "2" }, full.weights)
    assert.are.same({ "happy", "sad" }, full.moods)
    local nan = authors[1].books[2]
    assert.is_true(nan.score ~= nan.score)
    assert.are.equal(math.huge, nan.rating)
    assert.are.equal(0, #nan.labels)
    assert.are.equal("0044-03-15 10:00:00 BC", nan.printed_at)
    assert.are.equal(-math.huge, nan.scores[4])
    assert.are.equal(tide.null, nan.scores[3])
    assert.are.equal("\0\255", nan.blobs[1])
    assert.is_nil(authors[2].books[1].price) -- NULL is absent
    assert.are.equal(1, #authors[2].books) -- soft-deleted rows stay out
    assert.are.equal("@ann", authors[1].handle) -- codecs, at the top
  end)

  it("shapes each level: where, select, omit, order_by, take, skip, _count, nested include", function()
    both("Author", "find_many", { order_by = { id = "asc" }, include = {
      bio = true,
      books = { where = { title = { not_ = "nan" } }, select = { title = true, chapters = { order_by = { n = "desc" }, take = 2, skip = 1,
        select = { n = true } } }, _count = { select = { chapters = true, genres = { where = { name = "prose" } } } } },
    } })
    both("Book", "find_many", { order_by = { id = "desc" }, include = { author = { omit = { name = true } }, genres = { order_by = { name = "desc" } } } })
    both("Book", "find_first", { where = { id = 1 }, select = { title = true, author = true, _count = true } })
    both("Author", "find_unique", { where = { id = 1 }, select = { books = { select = { title = true }, order_by = { id = "asc" } } } })
    both("Author", "find_unique", { where = { id = 1 }, select = { _count = true } })
    both("Chapter", "find_many", { where = { n = 1 }, include = { book = { include = { author = { include = { bio = true } } } } }, order_by = { id = "asc" } })
    both("Author", "find_many", { include = { books = { with_deleted = true, order_by = { id = "asc" } } }, order_by = { id = "asc" } })
    -- a codec on an included row, and on a value in an included where
    local bio = both("Bio", "find_first", { include = { author = true } })
    assert.are.equal("@ann", bio.author.handle)
    local b = both("Book", "find_many", { include = { author = { where = { handle = "@ann" } } }, order_by = { id = "asc" } })
    assert.are.equal("@ann", b[1].author.handle)
    assert.is_nil(b[3].author)
  end)

  it("loads composite keys and leaves a key with a NULL part without a row", function()
    local shelves = both("Shelf", "find_many", { include = { slots = { order_by = { label = "asc" } } },
      order_by = { { room = "asc" }, { no = "asc" } } })
    assert.are.equal(0, #shelves[1].slots)
    assert.are.equal(2, #shelves[2].slots)
    local slots = both("Slot", "find_many", { include = { shelf = true }, order_by = { id = "asc" } })
    assert.is_nil(slots[4].shelf)
    assert.are.equal(2, slots[2].shelf.room)
  end)

  it("takes one statement, whatever the depth", function()
    local args = { include = { books = { include = { chapters = true, genres = true } }, bio = true } }
    local function statements(d)
      d.Author:find_many(args)
      local before = d:stats().statements
      d.Author:find_many(args)
      return d:stats().statements - before
    end
    assert.are.equal(1, statements(joindb))
    assert.are.equal(5, statements(db))
  end)

  it("is chosen per db and per call, finds only", function()
    local args = { where = { id = 1 }, include = { books = true } }
    same(db.Author:find_unique(args), joindb.Author:find_unique(args))
    local q = { relation_load_strategy = "query" }
    for k, v in pairs(args) do q[k] = v end
    same(db.Author:find_unique(args), joindb.Author:find_unique(q))
    joindb:transaction(function(tx)
      assert.are.equal(2, #tx.Author:find_unique(args).books)
    end)
    local e = helper.raises(function() return db.Author:find_many{ include = { books = true }, relation_load_strategy = "joins" } end)
    assert.are.equal("invalid_argument", e.code)
    assert.matches("relation_load_strategy: 'query' or 'join', got 'joins'; did you mean 'join'%?", e.message)
    e = helper.raises(function() return tide.connect(helper.url(), { relation_load_strategy = "lateral" }) end)
    assert.matches("relation_load_strategy is 'query' or 'join'", e)
    -- writes read their include back with the query strategy
    local b = joindb.Book:update{ where = { id = 3 }, data = { title = "empty!" }, include = { author = true } }
    assert.are.equal("bob", b.author.name)
    e = helper.raises(function() return db.Book:update{ where = { id = 3 }, data = { title = "e" }, relation_load_strategy = "join" } end)
    assert.matches("update: unknown option 'relation_load_strategy'", e.message)
  end)

  it("refuses what it cannot load, naming the nearest", function()
    local e = helper.raises(function() return joindb.Author:find_many{ include = { boks = true } } end)
    assert.matches("include: unknown relation 'boks' on Author; did you mean 'books'%?", e.message)
    e = helper.raises(function() return joindb.Author:find_many{ include = { books = { take = 1, wher = {} } } } end)
    assert.matches("include books: unknown option 'wher'; did you mean 'where'%?", e.message)
    e = helper.raises(function() return joindb.Book:find_many{ include = { author = { take = 1 } } } end)
    assert.matches("include author: take, skip and order_by apply to lists; author is a belongs_to", e.message)
  end)

  it("runs middleware once, with the include in its args", function()
    local d = tide.connect(tide.url_with_database(helper.url(), "tide_join_spec"), { schema = db.schema, relation_load_strategy = "join" })
    local seen = {}
    d:use(function(params, next)
      seen[#seen + 1] = params.model .. "." .. params.operation .. (params.nested and " nested" or "")
      return next(params)
    end)
    local a = d.Author:find_unique{ where = { id = 1 }, include = { books = true } }
    assert.are.equal(2, #a.books)
    assert.are.same({ "Author.find_unique" }, seen)
    d:close()
  end)
end)
