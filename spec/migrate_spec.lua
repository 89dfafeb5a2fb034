-- Migrations against the real database: a sequence of schema changes
-- covering the step kinds, migrated up and then down with the data
-- checked; destructive steps refused without accept_data_loss; two deploys
-- at once; a migration failing halfway; an edited applied migration.
local tide = require "tide"
local migrate = require "tide.migrate"
local helper = require "helper"
local t = tide.types

-- The schema at version v (1..17).
local function schema_at(v)
  local s = tide.schema()
  local values = { "user", v >= 9 and "administrator" or "admin" }
  if v >= 8 and v < 15 then values[#values + 1] = "guest" end
  local Role = s:enum("role", values, v == 9 and { renamed_values = { administrator = "admin" } } or nil)
  local seq = v >= 12 and s:sequence("ticket_no", { start = 100 }) or nil
  local user = {
    table = v >= 10 and "people" or "users",
    renamed_from = v == 10 and "users" or nil,
    t.bigserial "id" :primary(),
    v >= 3 and t.text "mail" :renamed_from "email" or t.text "email",
    Role "role" :default "user",
  }
  if v >= 2 and v < 14 then
    user[#user + 1] = v >= 4 and t.bigint "age" :default(0) or t.integer "age" :nullable()
  end
  if v >= 5 then user[#user + 1] = tide.unique { "mail" } end
  if v >= 7 and v < 14 then user[#user + 1] = tide.check("age_positive", "age >= 0") end
  if v >= 12 then user[#user + 1] = t.bigint "ticket" :default(seq) end
  if v >= 13 then user[#user + 1] = tide.policy("everyone", { using = "true" }) end
  s:model "User" (user)
  if v >= 16 then
    local bump = s:func { name = "bump_ticket", returns = "trigger", language = "plpgsql",
      body = ("begin new.ticket := old.ticket + %d; return new; end"):format(v >= 17 and 1000 or 1) }
    s:trigger { name = "people_bump", on = "User", timing = "before", events = { "update" }, execute = bump }
  end
  if v >= 6 then
    s:model "Post" {
      t.bigserial "id" :primary(), t.text "title",
      t.bigint "author_id" :references("User", { on_delete = "cascade" }),
    }
  end
  if v >= 11 then
    s:view "Active" { table = "active_users", sql = ("select id from %s"):format(v >= 10 and "people" or "users"), t.bigint "id" }
  end
  return s
end

local tmpdir = helper.tmpdir

describe("tide.migrate", function()
  it("migrates a schema through 17 changes and back down, keeping the data", function()
    local url = helper.fresh_database("tide_migrate_seq")
    local db = tide.connect(url, { pool = { max = 2 } })
    local dir = tmpdir()
    local checks = {
      [1] = function() db:exec("insert into users (email) values ('ann@x'), ('bob@x')") end,
      [3] = function()
        assert.are.equal(2, db:one("select count(*) as n from users where mail like '%@x'").n)
        -- v4 makes age NOT NULL: the rows need a value first, or the migration fails (and changes nothing)
        db:exec("update users set age = 0 where age is null")
      end,
      [4] = function() assert.are.equal(0, db:one("select age from users where mail = 'ann@x'").age) end,
      [6] = function()
        db:exec("insert into posts (title, author_id) select 'hello', id from users where mail = 'ann@x'")
      end,
      [8] = function() db:exec("update users set role = 'guest' where mail = 'bob@x'") end,
      [9] = function() db:exec("update users set role = 'administrator' where mail = 'ann@x'") end,
      [10] = function()
        local r = db:one("select p.role::text as role, count(x.id) as posts from people p left join posts x on x.author_id = p.id where p.mail = 'ann@x' group by p.role")
        assert.are.equal("administrator", r.role)
        assert.are.equal(1, r.posts)
      end,
      [11] = function() assert.are.equal(2, db:one("select count(*) as n from active_users").n) end,
      [12] = function() assert.are.equal(100, db:one("select min(ticket) as n from people").n) end,
      [14] = function() db:exec("update people set role = 'user' where role = 'guest'") end,
      [16] = function()
        local before = db:one("select ticket from people where mail = 'bob@x'").ticket
        db:exec("update people set role = 'user' where mail = 'bob@x'")
        assert.are.equal(before + 1, db:one("select ticket from people where mail = 'bob@x'").ticket)
      end,
      [17] = function()
        local before = db:one("select ticket from people where mail = 'bob@x'").ticket
        db:exec("update people set role = 'user' where mail = 'bob@x'")
        assert.are.equal(before + 1000, db:one("select ticket from people where mail = 'bob@x'").ticket)
      end,
    }
    local names = {}
    for v = 1, 17 do
      local path, steps = migrate.dev(db, schema_at(v), dir, { name = "v" .. v, accept_data_loss = true })
      assert.is_truthy(path, "version " .. v .. " made no migration")
      names[v] = path
      -- nothing left between the database and the schema
      local left = migrate.diff(migrate.introspect(db), schema_at(v))
      assert.are.same({}, (function() local k = {} for _, s in ipairs(left) do k[#k + 1] = s.summary end return k end)(),
        "after version " .. v)
      if checks[v] then checks[v]() end
      assert.is_true(#steps > 0)
    end
    assert.are.equal(2, db:one("select count(*) as n from people").n)
    assert.are.equal("administrator", db:one("select role::text as r from people where mail = 'ann@x'").r)

    -- down, one migration at a time, back to version 5
    for v = 17, 6, -1 do
      local f = assert(io.open(names[v] .. "/down.sql"))
      local sql = f:read("a")
      f:close()
      db:transaction(function(tx) tx:exec(sql) end)
      local left = migrate.diff(migrate.introspect(db), schema_at(v - 1))
      local k = {}
      for _, s in ipairs(left) do k[#k + 1] = s.summary end
      assert.are.same({}, k, "down to version " .. (v - 1))
      if v == 17 then
        local before = db:one("select ticket from people where mail = 'bob@x'").ticket
        db:exec("update people set role = 'user' where mail = 'bob@x'")
        assert.are.equal(before + 1, db:one("select ticket from people where mail = 'bob@x'").ticket)
      end
    end
    local rows = db:query("select mail, role::text as role, age from users order by mail")
    assert.are.same({ { mail = "ann@x", role = "admin", age = 0 }, { mail = "bob@x", role = "user", age = 0 } }, rows)
    db:close()
    os.execute("rm -rf " .. dir)
  end)

  it("refuses destructive steps without accept_data_loss, naming the rows, and writes nothing", function()
    local url = helper.fresh_database("tide_migrate_loss")
    local db = tide.connect(url, { pool = { max = 2 } })
    local dir = tmpdir()
    migrate.dev(db, schema_at(2), dir, { name = "init" })
    db:exec("insert into users (email, age) values ('a', 1), ('b', 2), ('c', 3)")
    local e = helper.raises(migrate.dev, db, schema_at(1), dir, { name = "drop_age" })
    assert.matches("drop column users.age; users holds 3 rows", tostring(e), 1, true)
    assert.are.equal(1, #migrate.list(dir))
    assert.are.equal(3, db:one("select count(age) as n from users").n)
    db:close()
    os.execute("rm -rf " .. dir)
  end)

  it("rolls back a migration that fails halfway, and refuses to go on until resolved", function()
    local url = helper.fresh_database("tide_migrate_fail")
    local db = tide.connect(url, { pool = { max = 2 } })
    local dir = tmpdir()
    migrate.dev(db, schema_at(1), dir, { name = "init" })
    -- a hand-written migration whose second statement fails
    os.execute(("mkdir -p %s/29990101000000_bad"):format(dir))
    local f = assert(io.open(dir .. "/29990101000000_bad/up.sql", "w"))
    f:write("create table half (id int);\nselect 1/0;\n")
    f:close()
    local e = helper.raises(migrate.deploy, db, dir)
    assert.matches("29990101000000_bad failed and was rolled back", tostring(e), 1, true)
    assert.is_nil(db:one("select to_regclass('half') as r").r)
    assert.are.equal("failed", db:one("select outcome from _tide_migrations where name = '29990101000000_bad'").outcome)
    e = helper.raises(migrate.deploy, db, dir)
    assert.matches("is not resolved", tostring(e), 1, true)
    -- fixed, resolved as rolled back: deploy runs it again
    f = assert(io.open(dir .. "/29990101000000_bad/up.sql", "w"))
    f:write("create table half (id int);\n")
    f:close()
    migrate.resolve(db, dir, "29990101000000_bad", "rolled_back")
    assert.are.same({ "29990101000000_bad" }, migrate.deploy(db, dir))
    assert.is_not_nil(db:one("select to_regclass('half')::text as r").r)
    -- edited after it was applied: refused
    f = assert(io.open(dir .. "/29990101000000_bad/up.sql", "a"))
    f:write("-- an edit\n")
    f:close()
    e = helper.raises(migrate.deploy, db, dir)
    assert.matches("was edited after it was applied", tostring(e), 1, true)
    local states = {}
    for _, s in ipairs(migrate.status(db, dir)) do states[#states + 1] = s.state end
    assert.are.same({ "applied", "modified" }, states)
    db:close()
    os.execute("rm -rf " .. dir)
  end)

  it("applies each migration once when two deploys run at once (the tide command)", function()
    local dir = tmpdir()
    local dev = tide.connect(helper.fresh_database("tide_migrate_race_dev"), { pool = { max = 2 } })
    for v = 1, 4 do
      migrate.dev(dev, schema_at(v), dir, { name = "v" .. v, create_only = true })
    end
    dev:close()
    local url = helper.fresh_database("tide_migrate_race")
    local db = tide.connect(url, { pool = { max = 2 } })
    -- a slow first migration, so the two overlap
    local first = migrate.list(dir)[1]
    local f = assert(io.open(first.dir .. "/up.sql", "a"))
    f:write("select pg_sleep(1);\n")
    f:close()
    local bin = helper.build_dir() .. "/tide"
    local cmd = ("%s migrate deploy --url '%s' --dir '%s' > %s/out%%d.txt 2>&1; echo $? >> %s/out%%d.txt"):format(
      bin, url, dir, dir, dir)
    os.execute("(" .. cmd:format(1, 1) .. ") & (" .. cmd:format(2, 2) .. ") & wait")
    local outs = {}
    for i = 1, 2 do
      local o = assert(io.open(("%s/out%d.txt"):format(dir, i))):read("a")
      assert.matches("\n0\n$", o)
      outs[i] = o
    end
    local both = outs[1] .. outs[2]
    local count = select(2, both:gsub("applying ", ""))
    assert.are.equal(4, count, both)
    assert.matches("no pending migrations", both, 1, true)
    assert.are.equal(4, db:one("select count(*) as n from _tide_migrations where outcome = 'applied'").n)
    db:close()
    os.execute("rm -rf " .. dir)
  end)
end)
