-- RELIABILITY, migrations 5 and 6: a migrator killed with -9 leaves no lock
-- and no half migration; a migration needing a lock that a long
-- transaction holds fails fast (lock_timeout) instead of queueing.
local tide = require "tide"
local migrate = require "tide.migrate"
local helper = require "helper"

local tmpdir = helper.tmpdir

local function write_migration(dir, name, up)
  os.execute(("mkdir -p %s/%s"):format(dir, name))
  helper.write(("%s/%s/up.sql"):format(dir, name), up)
end

-- Polls cond (a function) every 0.1 s for up to seconds; true when it held.
local function eventually(seconds, cond)
  for _ = 1, seconds * 10 do
    if cond() then return true end
    os.execute("sleep 0.1")
  end
  return false
end

describe("migrations under failure", function()
  it("a migrator killed with -9: the lock is released and the migration rolled back", function()
    local url = helper.fresh_database("tide_migrate_kill")
    local db = tide.connect(url, { pool = { max = 2 } })
    local dir = tmpdir()
    write_migration(dir, "20250101000000_slow", "create table half (id int);\nselect pg_sleep(60);\n")
    local bin = helper.build_dir() .. "/tide"
    local p = io.popen(("%s migrate deploy --url '%s' --dir '%s' >/dev/null 2>&1 & echo $!"):format(bin, url, dir))
    local pid = assert(tonumber(p:read("l")))
    p:close()
    local function sleeping()
      return db:one("select count(*) as n from pg_stat_activity where query like '%pg_sleep(60)%' " ..
        "and pid <> pg_backend_pid()").n == 1
    end
    assert.is_true(eventually(20, sleeping), "the migration never started")
    assert.are.equal(1, db:one("select count(*) as n from pg_locks where locktype = 'advisory'").n)
    os.execute("kill -9 " .. pid)
    -- the server notices the dead client within its connection check, not after the sleep
    local freed = eventually(10, function()
      return db:one("select count(*) as n from pg_locks where locktype = 'advisory'").n == 0
    end)
    assert.is_true(freed, "the advisory lock outlived the migrator")
    assert.is_false(sleeping())
    assert.is_nil(db:one("select to_regclass('half')::text as r").r)
    assert.are.equal(0, db:one("select count(*) as n from _tide_migrations").n)
    -- the next deploy runs it
    write_migration(dir, "20250101000000_slow", "create table half (id int);\n")
    assert.are.same({ "20250101000000_slow" }, migrate.deploy(db, dir))
    assert.is_not_nil(db:one("select to_regclass('half')::text as r").r)
    db:close()
    os.execute("rm -rf " .. dir)
  end)

  it("a long transaction holds a lock the migration needs: lock_timeout makes it fail fast", function()
    local url = helper.fresh_database("tide_migrate_lock")
    local db = tide.connect(url, { pool = { max = 3 } })
    local dir = tmpdir()
    db:exec("create table notes (id int); insert into notes values (1)")
    write_migration(dir, "20250101000000_add", "alter table notes add column body text;\n")
    -- application traffic: a transaction that read the table and stays open
    local app = db:acquire()
    app:exec("begin")
    app:query("select * from notes")
    local t0 = os.time()
    local e = helper.raises(migrate.deploy, db, dir, { lock_timeout = 1 })
    assert.is_true(os.time() - t0 <= 4, "the migration waited for the lock")
    assert.matches("20250101000000_add failed and was rolled back: .*lock timeout", tostring(e))
    assert.are.equal("failed", db:one("select outcome from _tide_migrations").outcome)
    -- the application's transaction was not disturbed
    assert.are.equal(1, #app:query("select * from notes"))
    app:exec("commit")
    app:release()
    migrate.resolve(db, dir, "20250101000000_add", "rolled_back")
    assert.are.same({ "20250101000000_add" }, migrate.deploy(db, dir, { lock_timeout = 1 }))
    db:close()
    os.execute("rm -rf " .. dir)
  end)
end)
