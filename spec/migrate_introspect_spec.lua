-- Introspection: a schema pushed, read back from pg_catalog, and diffed
-- against the same schema gives no steps; written back as Lua by db pull,
-- it gives none either.
local tide = require "tide"
local migrate = require "tide.migrate"
local helper = require "helper"
local pull = require "tide.pull"

local function summaries(steps)
  local lines = {}
  for _, s in ipairs(steps) do lines[#lines + 1] = s.summary .. ": " .. table.concat(s.up, "; ") end
  return table.concat(lines, "\n")
end

-- The steps left between the pushed schema and the database it made, and
-- between the database and the schema db pull writes for it.
local function round_trip(url, schema)
  local db = tide.connect(url, { pool = { max = 1 } })
  db:push(schema)
  local json = migrate.introspect(db)
  local left = summaries(migrate.diff(json, schema))
  local text = pull.lua(db)
  local pulled = assert(load(text, "=pulled"))()
  local after_pull = summaries(migrate.diff(json, pulled))
  db:close()
  assert.are.equal("", left)
  assert.are.equal("", after_pull, text)
  return text
end

describe("introspection", function()
  it("reads back the blog example as its schema declares it", function()
    local url = helper.fresh_database("tide_introspect_blog")
    local text = round_trip(url, helper.example_schema("blog"))
    assert.matches('schema:model "User" {\n  table = "users",\n  t.bigserial "id" :primary(),\n  t.text "email" :unique(),', text, 1, true)
    assert.matches('author = tide.belongs_to("User", { fields = { "author_id" }, references = { "id" }, on_delete = "cascade" })', text, 1, true)
  end)

  it("reads back the SaaS example (enums, views, sequences, policies, composite keys)", function()
    local url = helper.fresh_database("tide_introspect_saas")
    round_trip(url, helper.example_schema("saas"))
  end)

  it("reads back every column type, defaults, checks, indexes, row-level security, functions and triggers", function()
    local t = tide.types
    local s = tide.schema()
    local Role = s:enum("role", { "user", "admin" })
    local seq = s:sequence("ticket_no", { start = 100, increment = 5 })
    s:model "Everything" {
      t.bigserial "id" :primary(),
      t.smallint "a" :default(1), t.integer "b" :nullable(), t.serial "c",
      t.real "d", t.double "e", t.numeric(10, 2) "f" :check "f >= 0", t.numeric "g",
      t.text "h" :default "it's", t.varchar(80) "i" :unique(), t.char(3) "j", t.boolean "k" :default(false),
      t.bytea "l" :nullable(), t.uuid "m" :default(tide.uuid), t.date "n", t.time "o", t.timetz(3) "p",
      t.timestamp "q", t.timestamptz "r" :default(tide.now), t.interval "s2", t.json "u", t.jsonb "v" :default "{}",
      t.inet "w", t.cidr "x", t.tsvector "y" :nullable(), t.text "z" :array(), t.integer "zz" :array(2) :nullable(),
      Role "role" :default "user", t.bigint "ticket" :default(seq), t.integer "ident" :identity "always",
      t.integer "twice" :generated "b * 2", t.timestamptz "deleted_at" :nullable(),
      tide.index { "a", { "b", desc = true, nulls = "last" } },
      tide.index { tide.raw "lower(h)", where = "b > 0" },
      tide.unique { "j", "k" },
      tide.index { "v", using = "gin" },
      tide.check("positive", "a > 0 and b > 0"),
      tide.policy("mine", { using = "b = current_setting('app.b')::int" }),
      force_rls = true,
    }
    local bump = s:func { name = "bump", returns = "trigger", language = "plpgsql",
      body = "begin new.a := new.a + 1; return new; end" }
    s:func { name = "twice_of", args = "x integer", returns = "integer", language = "sql", volatility = "immutable",
      body = "select x * 2" }
    s:trigger { name = "everything_bump", on = "Everything", timing = "before", events = { "insert", "update" },
      execute = bump, when = "new.a > 0" }
    s:trigger { name = "everything_audit", on = "Everything", timing = "after", events = { "truncate" },
      for_each = "statement", execute = "bump" }
    local url = helper.fresh_database("tide_introspect_types")
    round_trip(url, s)
  end)

  it("sees what changed by hand", function()
    local t = tide.types
    local s = tide.schema()
    s:model "Note" { t.serial "id" :primary(), t.text "body" }
    local url = helper.fresh_database("tide_introspect_drift")
    local db = tide.connect(url, { pool = { max = 1 } })
    db:push(s)
    db:exec("alter table notes add column extra int; alter table notes alter column body drop not null")
    local steps = migrate.diff(migrate.introspect(db), s)
    local kinds = {}
    for _, st in ipairs(steps) do kinds[#kinds + 1] = st.kind end
    table.sort(kinds)
    assert.are.same({ "drop_column", "set_not_null" }, kinds)
    db:close()
  end)
end)
