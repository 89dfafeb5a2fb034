-- Arrays of an enum (and lists of an enum's values): written from Lua lists
-- and read back as Lua lists, through the model client, the join strategy
-- and the builder. Their type OIDs are the server's, so tide sends them as
-- text[] cast to the column's type and reads them as text[].
local tide = require "tide"
local helper = require "helper"
local t = tide.types

describe("enum arrays", function()
  local db, s
  setup(function()
    s = tide.schema()
    local Mood = s:enum("mood", { "happy", "sad", "meh" })
    s:model "Entry" {
      t.serial "id" :primary(),
      Mood "mood" :nullable(),
      Mood "moods" :array() :nullable(),
      t.text "tags" :array() :nullable(),
    }
    db = tide.connect(helper.fresh_database("tide_enum_arrays"), { schema = s })
    db:push()
  end)
  teardown(function() db:close() end)
  before_each(function() db:exec("truncate entries restart identity") end)

  it("writes and reads Lua lists through the model client", function()
    local e = db.Entry:create{ data = { moods = { "sad", "happy", "sad" }, mood = "meh" } }
    assert.are.same({ "sad", "happy", "sad" }, e.moods)
    assert.are.same({ "sad", "happy", "sad" }, db.Entry:find_unique{ where = { id = e.id } }.moods)
    db.Entry:create{ data = { moods = tide.array() } } -- an empty list: {} alone would read as options
    db.Entry:create{ data = { mood = "happy" } }
    -- what the server holds is the enum array itself
    assert.are.same({ { m = "{sad,happy,sad}" }, { m = "{}" } },
      db:query("select moods::text as m from entries where moods is not null order by id"))
    local u = db.Entry:update{ where = { id = e.id }, data = { moods = { set = { "meh" } } } }
    assert.are.same({ "meh" }, u.moods)
    local function ids(rows) local r = {}; for i, x in ipairs(rows) do r[i] = x.id end; return r end
    assert.are.same({ 1 }, ids(db.Entry:find_many{ where = { moods = { has = "meh" } } }))
    assert.are.same({ 1 }, ids(db.Entry:find_many{ where = { moods = { has_some = { "meh", "sad" } } } }))
    assert.are.same({ 1 }, ids(db.Entry:find_many{ where = { moods = { has_every = { "meh" } } } }))
    assert.are.same({ 2 }, ids(db.Entry:find_many{ where = { moods = { equals = tide.array() } } }))
    assert.are.same({ 1, 3 }, ids(db.Entry:find_many{ where = { mood = { in_ = { "meh", "happy" } } },
      order_by = { id = "asc" } }))
    assert.are.same({ 1 }, ids(db.Entry:find_many{ where = { mood = { not_in = { "happy" } } } }))
    -- the join strategy reads them the same
    local j = db.Entry:find_many{ order_by = { id = "asc" }, relation_load_strategy = "join", select = { moods = true } }
    assert.are.same({ { moods = { "meh" } }, { moods = {} }, {} }, j)
  end)

  it("refuses a value that is not of the enum, as the server does", function()
    local e = helper.raises(db.Entry.create, db.Entry, { data = { moods = { "happy", "angry" } } })
    assert.are.equal("22P02", e.sqlstate)
    assert.matches('invalid input value for enum mood: "angry"', e.message, 1, true)
  end)

  it("writes and reads them through the builder", function()
    local E = s.Entry
    local r = db:insert(E):values{ { moods = { "happy" } }, { moods = { "sad", "meh" } } }:returning():all()
    assert.are.same({ "sad", "meh" }, r[2].moods)
    assert.are.same({ { m = { "sad", "meh" } } },
      db:select{ m = E.moods }:from(E):where(E.moods:contains({ "meh" })):all())
    db:update(E):set{ moods = { "meh", "meh" } }:where(E.id:eq(1)):exec()
    assert.are.same({ "meh", "meh" }, db:select():from(E):where(E.id:eq(1)):one().moods)
  end)
end)
