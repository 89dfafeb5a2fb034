-- db:transaction's retry (the whole function again after a serialization
-- failure or deadlock, never a single statement), context (set_config for
-- the transaction only: row-level security), and tide.sleep.
local tide = require "tide"
local helper = require "helper"

describe("transactions: retry and context", function()
  local db
  setup(function()
    db = tide.connect(helper.fresh_database("tide_retry_spec"), { pool = { max = 4 } })
    db:exec("create table counters (id int primary key, n int not null)")
    db:exec("create table notes (tenant int not null, body text not null)")
    db:exec("alter table notes enable row level security")
    db:exec("alter table notes force row level security")
    db:exec([[do $$ begin create role tide_tenant_reader; exception when duplicate_object then null; end $$]])
    db:exec("grant select, insert on notes to tide_tenant_reader")
    db:exec([[create policy by_tenant on notes
      using (tenant = current_setting('app.tenant')::int)
      with check (tenant = current_setting('app.tenant')::int)]])
  end)
  teardown(function() db:close() end)
  before_each(function()
    db:exec("delete from counters")
    db:exec("insert into counters values (1, 0)")
  end)

  -- Two serializable transactions that read then write the same row: one
  -- of them fails with serialization_failure at its write or commit.
  local function racer(opts, runs)
    return function()
      return db:transaction(function(tx)
        runs[#runs + 1] = coroutine.running()
        local n = tx:one("select n from counters where id = 1").n
        tide.sleep(0.05) -- both have read before either writes
        tx:exec("update counters set n = $1 where id = 1", n + 1)
        return n + 1
      end, opts)
    end
  end

  it("runs the whole function again after a serialization failure", function()
    local runs = {}
    local a = tide.spawn(racer({ isolation = "serializable", retry = 3 }, runs))
    local b = tide.spawn(racer({ isolation = "serializable", retry = 3 }, runs))
    local results = { a:wait(), b:wait() }
    table.sort(results)
    assert.are.same({ 1, 2 }, results)
    assert.are.equal(2, db:one("select n from counters").n) -- neither increment lost
    assert.is_true(#runs >= 3, "runs " .. #runs)           -- the loser ran its function again
  end)

  it("raises the serialization failure without retry", function()
    local runs = {}
    local a = tide.spawn(racer({ isolation = "serializable" }, runs))
    local b = tide.spawn(racer({ isolation = "serializable" }, runs))
    local oks = {}
    for i, t in ipairs({ a, b }) do
      local ok, e = pcall(t.wait, t)
      oks[i] = ok and "ok" or e.code
    end
    table.sort(oks)
    assert.are.same({ "ok", "serialization_failure" }, oks)
    assert.are.equal(1, db:one("select n from counters").n)
    assert.are.equal(2, #runs)
  end)

  -- Two transactions that update rows 1 and 2 in opposite orders, each
  -- holding its first row before either asks for its second: the server
  -- finds the deadlock (after deadlock_timeout) and fails one of them.
  local function crosser(first, second, opts, runs, held)
    return function()
      return db:transaction(function(tx)
        runs[first] = (runs[first] or 0) + 1
        tx:exec("update counters set n = n + 1 where id = $1", first)
        held[first] = true
        local t0 = tide.clock()
        while not held[second] and tide.clock() - t0 < 5 do tide.sleep(0.01) end
        tx:exec("update counters set n = n + 1 where id = $1", second)
        return first
      end, opts)
    end
  end

  local function counts()
    local out = {}
    for i, r in ipairs(db:query("select n from counters order by id")) do out[i] = r.n end
    return out
  end

  it("runs the whole function again after a deadlock", function()
    db:exec("insert into counters values (2, 0)")
    local runs, held = {}, {}
    local a = tide.spawn(crosser(1, 2, { retry = 3 }, runs, held))
    local b = tide.spawn(crosser(2, 1, { retry = 3 }, runs, held))
    local results = { a:wait(), b:wait() }
    assert.are.same({ 1, 2 }, results)
    assert.are.same({ 2, 2 }, counts()) -- both committed, each once
    local ran = { runs[1], runs[2] }
    table.sort(ran)
    assert.are.same({ 1, 2 }, ran) -- the one the server chose ran its function twice
  end)

  it("raises the deadlock as deadlock_detected without retry", function()
    db:exec("insert into counters values (2, 0)")
    local runs, held = {}, {}
    local a = tide.spawn(crosser(1, 2, nil, runs, held))
    local b = tide.spawn(crosser(2, 1, nil, runs, held))
    local oks, err = {}, nil
    for i, t in ipairs({ a, b }) do
      local ok, e = pcall(t.wait, t)
      if not ok then err = e end
      oks[i] = ok and "ok" or e.code
    end
    table.sort(oks)
    assert.are.same({ "deadlock_detected", "ok" }, oks)
    assert.is_true(tide.is_error(err))
    assert.are.equal("40P01", err.sqlstate)
    assert.matches("deadlock_detected", tostring(err), 1, true)
    assert.are.same({ 1, 1 }, counts()) -- the winner's two updates, none of the loser's
    assert.are.same({ 1, 1 }, { runs[1], runs[2] })
  end)

  it("does not retry other errors, and checks the option", function()
    local runs = 0
    local e = helper.raises(db.transaction, db, function(tx)
      runs = runs + 1
      tx:exec("select 1/0")
    end, { retry = 5 })
    assert.are.equal("database_error", e.code)
    assert.are.equal(1, runs)
    assert.matches("whole number", helper.raises(db.transaction, db, function() end, { retry = 1.5 }))
    assert.matches("db:transaction%(fn", helper.raises(db.begin, db, { retry = 1 }))
  end)

  it("sets context for the transaction only, so RLS sees one tenant at a time", function()
    local function as_tenant(tenant, fn)
      return db:transaction(function(tx)
        tx:exec("set local role tide_tenant_reader")
        return fn(tx)
      end, { context = { ["app.tenant"] = tenant } })
    end
    as_tenant(1, function(tx) tx:exec("insert into notes values (1, 'one')") end)
    as_tenant(2, function(tx) tx:exec("insert into notes values (2, 'two')") end)
    local e = helper.raises(as_tenant, 1, function(tx) tx:exec("insert into notes values (2, 'sneaky')") end)
    assert.are.equal("database_error", e.code) -- the policy's check refuses it
    -- two tenants interleaved on a pool of one never see each other's rows
    local one = tide.connect(helper.url():gsub("/[^/?]*$", "/tide_retry_spec"), { pool = { max = 1 } })
    local seen = {}
    tide.run(function()
      for _, tenant in ipairs({ 1, 2, 1, 2 }) do
        tide.spawn(function()
          one:transaction(function(tx)
            tx:exec("set local role tide_tenant_reader")
            local rows = tx:query("select body from notes order by body")
            local bodies = {}
            for _, r in ipairs(rows) do bodies[#bodies + 1] = r.body end
            seen[#seen + 1] = tenant .. ":" .. table.concat(bodies, ",")
          end, { context = { ["app.tenant"] = tenant } })
        end)
      end
    end)
    table.sort(seen)
    assert.are.same({ "1:one", "1:one", "2:two", "2:two" }, seen)
    -- and the setting is gone after commit
    assert.are.equal("", one:one("select coalesce(current_setting('app.tenant', true), '') as t").t)
    one:close()
    local tx <close> = db:begin{ context = { ["app.tenant"] = 2 } }
    tx:set_context{ ["app.tenant"] = 1 }
    assert.are.equal("1", tx:one("select current_setting('app.tenant') as t").t)
    assert.matches("context names", helper.raises(tx.set_context, tx, { [1] = "x" }))
  end)

  it("sleeps without blocking other tasks, and blocks outside them", function()
    local t0 = tide.clock()
    tide.sleep(0.05)
    assert.is_true(tide.clock() - t0 >= 0.045)
    local order = {}
    t0 = tide.clock()
    tide.run(function()
      tide.spawn(function() tide.sleep(0.1); order[#order + 1] = "slow" end)
      tide.spawn(function() tide.sleep(0.02); order[#order + 1] = "fast" end)
    end)
    assert.are.same({ "fast", "slow" }, order)
    assert.is_true(tide.clock() - t0 < 0.2)
  end)
end)
