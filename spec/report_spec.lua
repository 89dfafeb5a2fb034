-- Reports of slow queries and large results (the runtime guards' second
-- half): raw SQL, transactions, the model client and the builder; nothing
-- refused, the result returned as usual.
local tide = require "tide"
local helper = require "helper"

describe("reports", function()
  local db, reports
  setup(function()
    local url = helper.fresh_database("tide_report_spec")
    db = tide.connect(url, { schema = helper.example_schema("blog"), pool = { max = 2 },
      report = { slow = 0.15, rows = 10, to = function(r) reports[#reports + 1] = r end } })
    db:push()
    for i = 1, 12 do db.Tag:create{ data = { name = "t" .. i } } end
  end)
  teardown(function() db:close() end)
  before_each(function() reports = {} end)

  it("reports a slow raw query and a large result, and returns them as usual", function()
    assert.are.equal(1, db:one("select 1 as v from pg_sleep(0.2)").v)
    assert.are.equal(1, #reports)
    assert.are.equal("slow", reports[1].reason)
    assert.matches("pg_sleep", reports[1].what)
    assert.is_true(reports[1].seconds >= 0.15)
    local rows = db:query("select g from generate_series(1, 11) g")
    assert.are.equal(11, #rows)
    assert.are.equal("rows", reports[2].reason)
    assert.are.equal(11, reports[2].rows)
    local n, tag = db:exec("select pg_sleep(0.2)")
    assert.are.equal("SELECT 1", tag)
    assert.are.equal(3, #reports)
    db:query("select g from generate_series(1, 10) g") -- at the limit: fine
    assert.are.equal(3, #reports)
  end)

  it("reports in transactions, the model client and the builder", function()
    db:transaction(function(tx) tx:query("select pg_sleep(0.2)") end)
    assert.are.equal("slow", reports[1].reason)
    local tags = db.Tag:find_many{}
    assert.are.equal(12, #tags)
    assert.are.equal("rows", reports[2].reason)
    assert.are.equal("Tag:find_many", reports[2].what)
    local T = db.schema.Tag
    assert.are.equal(12, #db:select{ id = T.id }:from(T):all())
    assert.are.equal("rows", reports[3].reason)
    assert.matches('FROM "tags"', reports[3].what, 1, true)
    assert.are.equal(3, #reports)
    db.Tag:find_many{ take = 5 }
    assert.are.equal(3, #reports)
  end)

  it("reports a slow batch, and each statement of it with a large result", function()
    local r = db:batch{ "select pg_sleep(0.2)", { "select g from generate_series(1, $1::int) g", 11 }, "select 1 as x" }
    assert.are.equal(11, #r[2])
    assert.are.equal(2, #reports)
    assert.are.equal("slow", reports[1].reason)
    assert.are.equal("batch of 3 statements", reports[1].what)
    assert.are.equal("rows", reports[2].reason)
    assert.matches("generate_series", reports[2].what)
    assert.are.equal(11, reports[2].rows)
    db:transaction(function(tx) tx:batch{ { "select g from generate_series(1, 12) g" } } end)
    assert.are.equal(3, #reports)
    assert.are.equal(12, reports[3].rows)
    db:batch{ "select 1 as x", { "select g from generate_series(1, 10) g" } } -- within both limits
    assert.are.equal(3, #reports)
    -- a statement after one with no row is still checked
    db:batch{ { "select 1 as x where false", mode = "one" }, { "select g from generate_series(1, 13) g" } }
    assert.are.equal(4, #reports)
    assert.are.equal(13, reports[4].rows)
  end)

  it("checks its settings", function()
    assert.matches("unknown key 'slw'", helper.raises(tide.connect, helper.url(), { report = { slw = 1 } }))
    assert.matches("rows: a whole number", helper.raises(tide.connect, helper.url(), { report = { rows = 1.5 } }))
  end)
end)
