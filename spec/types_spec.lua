-- Every type round-trips between Lua and PostgreSQL, following DESIGN.md's
-- "Values between Lua and PostgreSQL".
local tide = require "tide"
local helper = require "helper"

describe("values", function()
  local db
  setup(function() db = helper.connect() end)
  teardown(function() db:close() end)

  local function one(sql, ...) return db:one(sql, ...) end

  it("keys each row by its own result's column names, whatever the result before had", function()
    -- (the names' strings are reused from the last result when they match)
    local r = one("select 1 as a, 2 as b, 3 as c")
    assert.are.same({ a = 1, b = 2, c = 3 }, r)
    assert.are.same({ b = 4, a = 5 }, one("select 4 as b, 5 as a"))
    assert.are.same({ a = 6 }, one("select 6 as a"))
    assert.are.same({ a = 7, b = 8, c = 9, d = 10 }, one("select 7 as a, 8 as b, 9 as c, 10 as d"))
    assert.are.same({ ab = 11, b = 12 }, one("select 11 as ab, 12 as b"))
    local rows = db:batch { { "select 1 as x, 2 as y" }, { "select 3 as y, 4 as x" }, { "select 5 as x" } }
    assert.are.same({ { { x = 1, y = 2 } }, { { y = 3, x = 4 } }, { { x = 5 } } }, rows)
  end)

  it("decodes integers as Lua integers, exactly to 64 bits", function()
    local r = one("select 1::int2 as a, 2147483647::int4 as b, 9223372036854775807::int8 as c, (-9223372036854775807 - 1)::int8 as d, 26::oid as e")
    assert.are.equal(math.type(r.a), "integer")
    assert.are.equal(2147483647, r.b)
    assert.are.equal(math.maxinteger, r.c)
    assert.are.equal(math.mininteger, r.d)
    assert.are.equal(26, r.e)
    assert.are.equal(math.maxinteger, one("select $1::int8 as x", math.maxinteger).x)
  end)

  it("decodes floats, NaN and infinities", function()
    local r = one("select 1.5::float4 as a, 0.1::float8 as b, 'NaN'::float8 as c, 'Infinity'::float8 as d, '-Infinity'::float8 as e")
    assert.are.equal(1.5, r.a)
    assert.are.equal(0.1, r.b)
    assert.is_true(r.c ~= r.c)
    assert.are.equal(math.huge, r.d)
    assert.are.equal(-math.huge, r.e)
    -- floats bind with full precision
    assert.are.equal(0.1 + 0.2, one("select $1::float8 as x", 0.1 + 0.2).x)
    assert.are.equal(math.pi, one("select $1::float8 as x", math.pi).x)
    assert.is_true(one("select $1::float8 = 'NaN' as x", 0 / 0).x)
    assert.are.equal(math.huge, one("select $1::float8 as x", math.huge).x)
  end)

  it("keeps numeric exact, as a string", function()
    local r = one("select 12345678901234567890.123456789::numeric as n, $1::numeric as m", "0.1")
    assert.are.equal("12345678901234567890.123456789", r.n)
    assert.are.equal("0.1", r.m)
    assert.are.equal("0.1", one("select $1::numeric as x", 0.1).x)
  end)

  it("accepts an integral float for an integer parameter and refuses 3.5", function()
    assert.are.equal(3, one("select $1::int as x", 3.0).x)
    local e = helper.raises(one, "select $1::int as x", 3.5)
    assert.are.equal("invalid_argument", e.code)
    assert.matches("3.5", e.message)
    e = helper.raises(one, "select $1::int8 as x", 0 / 0)
    assert.are.equal("invalid_argument", e.code)
  end)

  it("round-trips booleans", function()
    local r = one("select $1::bool as t, $2::bool as f, true as lit", true, false)
    assert.is_true(r.t)
    assert.is_false(r.f)
    assert.is_true(r.lit)
  end)

  it("round-trips text, including UTF-8, and refuses NUL bytes and invalid UTF-8", function()
    local s = "héllo, wörld — ✓ 𝄞"
    assert.are.equal(s, one("select $1::text as x", s).x)
    assert.are.equal("abc", one("select $1::varchar(10) as x", "abc").x)
    assert.are.equal("ab  ", one("select $1::char(4) as x", "ab").x)
    local e = helper.raises(one, "select $1::text as x", "a\0b")
    assert.are.equal("invalid_argument", e.code)
    assert.matches("NUL", e.message)
    e = helper.raises(one, "select $1::text as x", "\xff\xfe")
    assert.are.equal("invalid_argument", e.code)
    assert.matches("UTF%-8", e.message)
  end)

  it("round-trips bytea as a binary-safe string", function()
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    local all = table.concat(bytes)
    local r = one("select $1::bytea as b, length($1::bytea) as n", all)
    assert.are.equal(256, r.n)
    assert.are.equal(all, r.b)
    assert.are.equal("", one("select ''::bytea as b").b)
  end)

  it("round-trips uuid as a string", function()
    local u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert.are.equal(u, one("select $1::uuid as u", u).u)
    assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", one("select gen_random_uuid() as u").u)
  end)

  it("writes dates and times as ISO 8601 strings", function()
    local r = one([[select '2024-02-29'::date as d, '13:14:15.5'::time as t, '13:14:15+05:30'::timetz as tz,
      '2024-02-29 13:14:15.123456'::timestamp as ts, '2024-02-29 13:14:15+00'::timestamptz as tstz,
      'infinity'::timestamp as inf, interval '1 year 2 months 3 days 04:05:06' as i]])
    assert.are.equal("2024-02-29", r.d)
    assert.are.equal("13:14:15.5", r.t)
    assert.are.equal("13:14:15+05:30", r.tz)
    assert.are.equal("2024-02-29T13:14:15.123456", r.ts)
    assert.matches("^2024%-02%-29T%d%d:14:15[+-]%d%d:%d%d$", r.tstz)
    assert.are.equal("infinity", r.inf)
    assert.are.equal("P1Y2M3DT4H5M6S", r.i)
    -- and an ISO string binds back to the same instant
    local back = one("select $1::timestamptz = '2024-02-29 13:14:15+00'::timestamptz as same", r.tstz)
    assert.is_true(back.same)
  end)

  it("decodes json and jsonb into tables, and binds tables as json", function()
    local r = one([[select '{"a": [1, 2.5, "x", null, true], "b": {"c": {}}, "e": []}'::jsonb as j, '"s"'::json as s, 'null'::json as n]])
    assert.are.same({ 1, 2.5, "x", tide.null, true }, r.j.a)
    assert.are.equal(math.type(r.j.a[1]), "integer")
    assert.are.same({}, r.j.b.c)
    assert.are.equal("s", r.s)
    assert.are.equal(tide.null, r.n)
    local doc = { name = "tide", tags = { "orm", "pg" }, nested = { deep = { n = 1 } }, f = 1.25 }
    local back = one("select $1::jsonb as j", doc).j
    assert.are.same(doc, back)
    -- an empty decoded array stays an array when written back
    assert.are.equal("[]", one("select $1::jsonb::text as t", r.j.e).t)
    assert.are.equal("[]", one("select $1::jsonb::text as t", tide.array {}).t)
    assert.are.equal("{}", one("select $1::jsonb::text as t", {}).t)
  end)

  it("decodes arrays into sequences, with tide.null for NULL elements", function()
    local r = one([[select '{1,2,NULL}'::int[] as i, '{"a b","c\"d",NULL,"NULL"}'::text[] as t,
      '{{1,2},{3,4}}'::int[] as m, '{}'::int[] as e, '{t,f}'::bool[] as b, '{1.5,2}'::float8[] as f,
      ARRAY['{"k":1}'::jsonb] as j, '{2024-01-02}'::date[] as d, ARRAY['\x00ff'::bytea] as by]])
    assert.are.same({ 1, 2, tide.null }, r.i)
    assert.are.same({ "a b", 'c"d', tide.null, "NULL" }, r.t)
    assert.are.same({ { 1, 2 }, { 3, 4 } }, r.m)
    assert.are.same({}, r.e)
    assert.are.same({ true, false }, r.b)
    assert.are.same({ 1.5, 2 }, r.f)
    assert.are.same({ { k = 1 } }, r.j)
    assert.are.same({ "2024-01-02" }, r.d)
    assert.are.same({ "\0\255" }, r.by)
  end)

  it("binds Lua sequences to array parameters", function()
    assert.are.same({ 1, 2, 3 }, one("select $1::int[] as a", { 1, 2, 3 }).a)
    assert.are.same({ "x", 'y"z' }, one("select $1::text[] as a", { "x", 'y"z' }).a)
    assert.are.same({}, one("select $1::int[] as a", {}).a)
    assert.are.equal(2, one("select count(*) as n from unnest($1::int8[]) x where x = any($2::int8[])",
      { 1, 2, 3 }, { 2, 3, 4 }).n)
  end)

  it("leaves NULL columns absent and binds nil and tide.null as NULL", function()
    local r = one("select null::int as a, 1 as b, $1::text as c, $2::int as d, $3::int as e", nil, tide.null, 5)
    assert.is_nil(r.a)
    assert.are.equal(1, r.b)
    assert.is_nil(r.c)
    assert.is_nil(r.d)
    assert.are.equal(5, r.e)
    local keys = 0
    for _ in pairs(r) do keys = keys + 1 end
    assert.are.equal(2, keys)
  end)

  it("decodes enums, inet and other types as strings", function()
    db:exec("drop type if exists mood; create type mood as enum ('sad', 'ok')")
    local r = one("select 'ok'::mood as m, '10.0.0.1/8'::inet as i, '1 2'::tsvector as v, $1::mood as p", "sad")
    assert.are.equal("ok", r.m)
    assert.are.equal("10.0.0.1/8", r.i)
    assert.are.equal("'1' '2'", r.v)
    assert.are.equal("sad", r.p)
    db:exec("drop type mood")
  end)

  it("returns rows in order, and exec counts affected rows", function()
    -- a plain table: a temporary one would not outlive its pooled connection
    db:exec("drop table if exists nums; create table nums (n int)")
    local n, tag = db:exec("insert into nums select generate_series(1, 5)")
    assert.are.equal(5, n)
    assert.are.equal("INSERT 0 5", tag)
    local rows = db:query("select n from nums order by n desc")
    assert.are.equal(5, #rows)
    assert.are.equal(5, rows[1].n)
    assert.are.equal(1, rows[5].n)
    assert.is_nil(db:one("select n from nums where n > 99"))
    assert.are.equal(2, db:exec("update nums set n = n + 10 where n <= $1", 2))
    assert.are.equal(0, db:exec("delete from nums where n = -1"))
    db:exec("drop table nums")
  end)

  it("returns an empty row for a statement without columns", function()
    db:exec("drop table if exists nocols; create table nocols (x int)")
    assert.are.same({}, db:query("update nocols set x = 1"))
    assert.are.same({ {}, {} }, db:query("select from generate_series(1, 2)"))
    assert.are.same({}, db:one("select from generate_series(1, 1)"))
    db:exec("drop table nocols")
  end)

  it("says how many parameters a statement takes when given the wrong number", function()
    local e = helper.raises(function() return db:query("select $1::int as a", 1, 2) end)
    assert.are.equal("invalid_argument", e.code)
    assert.matches("takes 1 parameter, 2 given", e.message)
    e = helper.raises(function() return db:query("select 1 as a where true", 1) end)
    assert.matches("takes 0 parameters, 1 given", e.message)
  end)

  it("refuses values that cannot be parameters", function()
    local e = helper.raises(function() return db:query("select $1", print) end)
    assert.matches("types_spec.lua:%d+: bad argument #2 to 'query' %(cannot bind a function", e)
    e = helper.raises(db.query, db, "select $1", { [{}] = 1 })
    assert.matches("keys must be strings", e)
    local cyc = {}
    cyc.self = cyc
    e = helper.raises(db.query, db, "select $1", cyc)
    assert.matches("nested more than 100 levels", e)
  end)

  it("binds long lists as one array parameter", function()
    local ids = {}
    for i = 1, 100000 do ids[i] = i end
    assert.are.equal(100000, db:one("select count(*) as n from unnest($1::int8[])", ids).n)
  end)
end)
