-- tide migrate rollback / reset / diff, drift, and tide db push / pull /
-- seed / execute, through the command, against the real database.
local helper = require "helper"
local tide = require "tide"

local tide_bin = helper.build_dir() .. "/tide"
if not tide_bin:match("^/") then tide_bin = os.getenv("PWD") .. "/" .. tide_bin end

local sh, write = helper.sh, helper.write

-- A project folder: tide.config.lua (extra: more config fields) and a
-- schema of one model, Note, with the fields given as DSL text.
local function project(name, extra)
  local url = helper.fresh_database(name)
  local root = helper.tmpdir()
  write(root .. "/tide.config.lua", ("return { url = %q, schema = 'schema.lua' %s }\n"):format(url, extra or ""))
  local p = { url = url, root = root }
  function p.schema(fields)
    write(root .. "/schema.lua", ([[
      local tide = require "tide"
      local t = tide.types
      local s = tide.schema()
      s:model "Note" { t.serial "id" :primary(), t.text "body", %s }
      return s
    ]]):format(fields or ""))
  end
  function p.tide(args, input)
    local cmd = ("cd %s && env -u DATABASE_URL %s %s"):format(root, tide_bin, args)
    if input then cmd = ("printf '%%s' '%s' | (%s)"):format(input, cmd) end
    return sh(cmd)
  end
  function p.db() return tide.connect(url, { pool = { max = 1 } }) end
  function p.columns(db)
    local cols = {}
    for _, r in ipairs(db:query("select attname::text as a from pg_attribute where attrelid = 'notes'::regclass " ..
      "and attnum > 0 and not attisdropped order by attnum")) do cols[#cols + 1] = r.a end
    return table.concat(cols, ",")
  end
  function p.cleanup() os.execute("rm -rf " .. root) end
  return p
end

describe("tide migrate rollback", function()
  it("runs the down.sql of the last migrations, refusing one that cannot bring data back unless forced", function()
    local p = project("tide_mig_rollback")
    p.schema()
    assert.are.equal(0, select(2, p.tide("migrate dev --name init")))
    p.schema('t.integer "age" :nullable()')
    assert.are.equal(0, select(2, p.tide("migrate dev --name age")))
    local db = p.db()
    db:exec("insert into notes (body, age) values ('a', 1), ('b', 2)")

    local out, code = p.tide("migrate rollback")
    assert.are.equal(0, code, out)
    assert.matches("rolling back %d+_age", out)
    assert.matches("rolled back 1 migration", out, 1, true)
    assert.are.equal("id,body", p.columns(db))
    assert.are.equal(2, db:one("select count(*) as n from notes").n)
    out, code = p.tide("migrate status")
    assert.are.equal(1, code, out)
    assert.matches("rolled_back%s+%d+_age", out)
    -- deploy applies it again
    out, code = p.tide("migrate deploy")
    assert.are.equal(0, code, out)
    assert.matches("applied 1 migration", out, 1, true)
    assert.are.equal("id,body,age", p.columns(db))

    -- a migration that dropped a column: its down brings the column back, not the data
    p.schema()
    assert.are.equal(0, select(2, p.tide("migrate dev --name drop_age --accept-data-loss")))
    out, code = p.tide("migrate rollback")
    assert.are.equal(1, code, out)
    assert.matches("brings back structure but not the data it dropped:\n  - drop column notes.age", out, 1, true)
    assert.matches("Nothing was rolled back; run again with --force", out, 1, true)
    assert.are.equal("id,body", p.columns(db))
    -- forced, two at once: drop_age, then age
    out, code = p.tide("migrate rollback --steps 2 --force")
    assert.are.equal(0, code, out)
    assert.matches("rolled back 2 migrations", out, 1, true)
    assert.are.equal("id,body", p.columns(db))
    assert.are.equal(2, db:one("select count(*) as n from _tide_migrations where outcome = 'rolled_back'").n)
    out, code = p.tide("migrate rollback --steps 0")
    assert.are.equal(1, code)
    assert.matches("--steps must be a whole number of 1 or more", out, 1, true)
    db:close()
    p.cleanup()
  end)
end)

describe("tide migrate reset", function()
  it("drops everything and applies the migrations again, only on the development database unless forced", function()
    local p = project("tide_mig_reset", ", seed = 'seed.lua'")
    p.schema()
    write(p.root .. "/seed.lua", "db.Note:create_many{ data = { { body = 'seeded' } } }\n")
    assert.are.equal(0, select(2, p.tide("migrate dev --name init")))
    local db = p.db()
    db:exec("insert into notes (body) values ('mine'); create table stray (id int)")
    local out, code = p.tide("migrate reset")
    assert.are.equal(1, code, out)
    assert.matches("runs only against the development database", out, 1, true)
    assert.matches("Nothing was dropped; pass --force", out, 1, true)
    assert.are.equal(1, db:one("select count(*) as n from notes").n)

    out, code = p.tide("migrate reset --force")
    assert.are.equal(0, code, out)
    assert.matches("reset: applied 1 migration", out, 1, true)
    assert.matches("seeded", out, 1, true)
    assert.are.same({ { body = "seeded" } }, db:query("select body from notes"))
    assert.is_nil(db:one("select to_regclass('stray')::text as r").r)
    assert.are.equal(1, db:one("select count(*) as n from _tide_migrations where outcome = 'applied'").n)
    db:close()
    p.cleanup()

    -- a database named dev_url in the config is the development database
    local q = project("tide_mig_reset_dev")
    write(q.root .. "/tide.config.lua", ("return { url = %q, dev_url = %q, schema = 'schema.lua' }\n"):format(q.url, q.url))
    q.schema()
    assert.are.equal(0, select(2, q.tide("migrate dev --name init")))
    out, code = q.tide("migrate reset")
    assert.are.equal(0, code, out)
    assert.matches("reset: applied 1 migration", out, 1, true)
    q.cleanup()
  end)
end)

describe("tide migrate diff", function()
  it("prints the SQL from the migrations or the live database to the schema, exiting 2 with --exit-code", function()
    local p = project("tide_mig_diff")
    p.schema()
    assert.are.equal(0, select(2, p.tide("migrate dev --name init")))
    local out, code = p.tide("migrate diff --exit-code")
    assert.are.equal(0, code, out)
    assert.matches("-- no difference", out, 1, true)
    p.schema('t.integer "age" :nullable()')
    out, code = p.tide("migrate diff")
    assert.are.equal(0, code, out)
    assert.matches('-- add column notes.age\nALTER TABLE "notes" ADD COLUMN "age" integer;', out, 1, true)
    out, code = p.tide("migrate diff --exit-code")
    assert.are.equal(2, code, out)
    -- from the live database: a column added by hand is already there
    local db = p.db()
    db:exec("alter table notes add column age integer")
    out, code = p.tide("migrate diff --from-db --exit-code")
    assert.are.equal(0, code, out)
    db:close()
    p.cleanup()
  end)
end)

describe("drift", function()
  it("is reported by status and deploy and stops migrate dev", function()
    local p = project("tide_mig_drift")
    p.schema()
    assert.are.equal(0, select(2, p.tide("migrate dev --name init")))
    local out, code = p.tide("migrate status")
    assert.are.equal(0, code, out)
    local db = p.db()
    db:exec("alter table notes add column extra int; create index notes_body_idx on notes (body)")
    out, code = p.tide("migrate status")
    assert.are.equal(1, code, out)
    assert.matches("the database differs from what the migrations made %(up to %d+_init%):", out)
    assert.matches("  - add column notes.extra", out, 1, true)
    assert.matches("  - create index notes_body_idx", out, 1, true)
    out, code = p.tide("migrate deploy")
    assert.are.equal(0, code, out)
    assert.matches("warning: the database differs", out, 1, true)
    assert.matches("no pending migrations", out, 1, true)
    p.schema('t.integer "age" :nullable()')
    out, code = p.tide("migrate dev --name age")
    assert.are.equal(1, code, out)
    assert.matches("add column notes.extra", out, 1, true)
    assert.matches("tide migrate reset", out, 1, true)
    assert.are.equal(1, db:one("select count(*) as n from _tide_migrations").n)
    db:close()
    p.cleanup()
  end)
end)

describe("tide db", function()
  it("pushes changes to a live database, refusing data loss until accepted", function()
    local p = project("tide_db_push")
    p.schema('t.integer "age" :nullable()')
    local out, code = p.tide("db push")
    assert.are.equal(0, code, out)
    local db = p.db()
    db:exec("insert into notes (body, age) values ('a', 1), ('b', 2), ('c', 3)")
    p.schema()
    out, code = p.tide("db push")
    assert.are.equal(1, code, out)
    assert.matches("this push would lose data:\n  - drop column notes.age; notes holds 3 rows", out, 1, true)
    assert.matches("Nothing was changed", out, 1, true)
    assert.are.equal("id,body,age", p.columns(db))
    out, code = p.tide("db push --accept-data-loss")
    assert.are.equal(0, code, out)
    assert.matches("drop column notes.age", out, 1, true)
    assert.are.equal("id,body", p.columns(db))
    db:close()
    p.cleanup()
  end)

  it("pulls a database into a schema file that db push then finds nothing to change in", function()
    local p = project("tide_db_pull")
    local db = p.db()
    db:exec([[create type mood as enum ('happy', 'sad');
      create table people (id bigint generated always as identity primary key, name varchar(40) not null unique,
        mood mood not null default 'happy', tags text[], created timestamptz not null default now());
      create table visits (person_id bigint not null references people (id) on delete cascade,
        day date not null, primary key (person_id, day));
      create index visits_day on visits (day desc)]])
    local out, code = p.tide("db pull --out pulled.lua")
    assert.are.equal(0, code, out)
    local text = assert(io.open(p.root .. "/pulled.lua")):read("a")
    assert.matches('local Mood = schema:enum("mood", { "happy", "sad" })', text, 1, true)
    assert.matches('t.bigint "id" :primary() :identity "always"', text, 1, true)
    assert.matches('tide.primary_key { "person_id", "day" }', text, 1, true)
    assert.matches('tide.index { { "day", desc = true }, name = "visits_day" }', text, 1, true)
    out, code = p.tide("db push --schema pulled.lua")
    assert.are.equal(0, code, out)
    assert.matches("the database already matches the schema", out, 1, true)
    db:close()
    p.cleanup()
  end)

  it("executes SQL from a file and from standard input", function()
    local p = project("tide_db_execute")
    write(p.root .. "/x.sql", "create table a (id int); insert into a values (1), (2);\n")
    local out, code = p.tide("db execute --file x.sql")
    assert.are.equal(0, code, out)
    out, code = p.tide("db execute --stdin", "insert into a values (3);")
    assert.are.equal(0, code, out)
    local db = p.db()
    assert.are.equal(6, db:one("select sum(id) as n from a").n)
    out, code = p.tide("db execute")
    assert.are.equal(2, code)
    assert.matches("--file F or --stdin", out, 1, true)
    out, code = p.tide("db execute --file nowhere.sql")
    assert.are.equal(1, code)
    assert.matches("nowhere.sql", out, 1, true)
    out, code = p.tide("db execute --fiel x.sql")
    assert.are.equal(2, code)
    assert.matches("unknown option '--fiel'; did you mean '--file'?", out, 1, true)
    -- a stray word is refused, not taken for a schema file
    out, code = p.tide("migrate rollback 3")
    assert.are.equal(2, code)
    assert.matches("unexpected argument '3'", out, 1, true)
    db:close()
    p.cleanup()
  end)

  it("runs the seed script, showing progress as plain lines when not on a terminal", function()
    local p = project("tide_db_seed", ", seed = 'seed.lua'")
    p.schema()
    write(p.root .. "/seed.lua", "tide.seed(db, { seed = 7, Note = { count = 2500 } })\n")
    assert.are.equal(0, select(2, p.tide("db push")))
    local out, code = p.tide("db seed")
    assert.are.equal(0, code, out)
    assert.matches("Note: 1000/2500\n", out, 1, true)
    assert.matches("Note: 2500/2500\n", out, 1, true)
    assert.is_nil(out:find("\r", 1, true))
    local db = p.db()
    assert.are.equal(2500, db:one("select count(*) as n from notes").n)
    db:close()
    p.cleanup()
  end)
end)

describe("tide migrate deploy's progress", function()
  it("is one live line on a terminal and plain lines elsewhere", function()
    local p = project("tide_mig_progress")
    p.schema()
    assert.are.equal(0, select(2, p.tide("migrate dev --name a --create-only")))
    p.schema('t.integer "age" :nullable()')
    assert.are.equal(0, select(2, p.tide("migrate dev --name b --create-only")))
    -- the second dev applied a before writing b: start again from nothing, both pending
    local db = p.db()
    db:exec("drop table notes; drop table _tide_migrations")
    db:close()
    -- a terminal, through script(1) (without the sanitizer runtimes the ASan
    -- pass preloads into lua5.4: script is not instrumented)
    local out, code = sh(("cd %s && env -u LD_PRELOAD script -qec %q /dev/null"):format(p.root,
      "env -u DATABASE_URL " .. tide_bin .. " migrate deploy"))
    assert.are.equal(0, code, out)
    assert.matches("\r\27%[Kapplying %d+_a: 0/2\r\27%[Kapplying %d+_b: 1/2\r\27%[Kapplied: 2/2\r?\n", out)
    -- not a terminal: plain lines
    p.schema('t.integer "age" :nullable(), t.text "tag" :nullable()')
    assert.are.equal(0, select(2, p.tide("migrate dev --name c --create-only")))
    out, code = p.tide("migrate deploy")
    assert.are.equal(0, code, out)
    assert.matches("^applying %d+_c\napplied %d+_c %(%d+ ms of client time%)\napplied 1 migration\n$", out)
    p.cleanup()
  end)
end)

describe("tide.progress", function()
  local function sink()
    local s = { text = "" }
    function s:write(...) for _, x in ipairs({ ... }) do self.text = self.text .. x end end
    function s:flush() end
    return s
  end

  it("rewrites one live line on a terminal and ends it when done", function()
    local out = sink()
    local report = require("tide.progress").new(out, true)
    report("User", 1000, 3000)
    report("User", 2000, 3000)
    report("User", 3000, 3000)
    assert.are.equal("\r\27[KUser: 1000/3000\r\27[KUser: 2000/3000\r\27[KUser: 3000/3000\n", out.text)
  end)

  it("writes plain lines elsewhere: a new label, at most one a second, and the last", function()
    local out = sink()
    local now = 100
    local report = require("tide.progress").new(out, false, function() return now end)
    report("User", 1, 4)
    report("User", 2, 4) -- within the same second: left out
    now = 101
    report("User", 3, 4)
    report("User", 4, 4)
    report("Post", 1, 1)
    assert.are.equal("User: 1/4\nUser: 3/4\nUser: 4/4\nPost: 1/1\n", out.text)
  end)
end)
