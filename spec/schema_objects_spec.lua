-- Views, materialized views, sequences, row-level security, functions and
-- triggers: declared in the DSL, pushed to a real database, checked through
-- pg_catalog, and used through the model client.
local tide = require "tide"
local schema_dsl = require "tide.schema"
local helper = require "helper"
local t = tide.types

-- tide.nextval and tide.policy live in tide.schema; tide re-exports them
local nextval = tide.nextval or schema_dsl.nextval
local policy = tide.policy or schema_dsl.policy

local ROLE = "tide_objects_app" -- roles belong to the cluster: dropped at the end

local function objects_schema()
  local s = tide.schema()
  local order_no = s:sequence("order_number", { start = 1000, increment = 1, cache = 1, cycle = false })
  s:sequence("audit_seq", { schema = "objects_audit", min = 1, max = 1000000, cycle = true })
  s:model "Org" {
    t.bigserial "id" :primary(),
    t.text "name",
    active_users = tide.has_many "ActiveUser",
  }
  s:model "User" {
    t.bigserial "id" :primary(),
    t.text "email" :unique(),
    t.bool "active" :default(true),
    t.bigint "org_id" :references("Org", { on_delete = "cascade" }),
    org = tide.belongs_to "Org",
  }
  s:model "Invoice" {
    t.bigserial "id" :primary(),
    t.bigint "number" :default(order_no),
    t.bigint "audit_no" :default(nextval "audit_seq"),
    t.text "tenant",
    t.integer "amount",
    rls = true,
    policy("tenant_isolation", {
      using = "tenant = current_setting('app.tenant', true)",
      check = "tenant = current_setting('app.tenant', true)",
      roles = { ROLE },
    }),
  }
  -- declared before nothing it needs: views are created after the tables
  s:view "ActiveUser" {
    sql = "select id, email, org_id from users where active",
    t.bigint "id" :primary(),
    t.text "email",
    t.bigint "org_id",
    org = tide.belongs_to "Org",
  }
  s:view "OrgUserCount" {
    sql = "select org_id, count(*)::bigint as users from users group by org_id",
    materialized = true,
    t.bigint "org_id" :primary(),
    t.bigint "users",
    org = tide.belongs_to "Org",
  }
  return s
end

describe("schema objects", function()
  it("declares sequences, views and policies, refusing mistakes with the nearest name", function()
    local e = helper.raises(function() tide.schema():sequence("n", { strat = 1 }) end)
    assert.matches("sequence n: unknown option 'strat'; did you mean 'start'%?", e)
    e = helper.raises(function() tide.schema():sequence("n", { start = 1.5 }) end)
    assert.matches("option 'start' must be an integer", e)
    e = helper.raises(function() policy("p", { usng = "true" }) end)
    assert.matches("policy p: unknown option 'usng'; did you mean 'using'%?", e)
    e = helper.raises(function() tide.schema():view "V" { sql = "select 1", materialzed = true } end)
    assert.matches("view V: 'materialzed' is not a relation or an option; did you mean 'materialized'%?", e)
    e = helper.raises(function() tide.schema():model "M" { t.serial "id" :primary(), sql = "select 1" } end)
    assert.matches("model M: 'sql' is not a relation or an option", e)

    local s = tide.schema()
    s:sequence("order_number")
    s:model "Order" {
      t.bigserial "id" :primary(),
      t.bigint "number" :default(nextval "order_numbr"),
      policy("p", { using = "true", command = "selct" }),
    }
    s:view "Report" { t.bigint "id" }
    e = helper.raises(function() s:finish() end)
    assert.is_true(tide.is_error(e))
    assert.matches("Order.number: unknown sequence 'order_numbr'; did you mean 'order_number'%?", e.message)
    assert.matches("Order: policy 'p': unknown command 'selct'; did you mean 'select'%?", e.message)
    assert.matches("Report: a view needs its query", e.message)

    -- the order of the statements: sequences, tables, foreign keys, views, security
    local ddl = objects_schema():ddl()
    local function at(pattern)
      for i, st in ipairs(ddl) do if st:find(pattern, 1, true) then return i end end
      error("no statement with " .. pattern)
    end
    assert.is_true(at('CREATE SEQUENCE "order_number"') < at('CREATE TABLE "invoices"'))
    assert.is_true(at('FOREIGN KEY') < at('CREATE VIEW "active_users"'))
    assert.is_true(at('CREATE VIEW "active_users"') < at('CREATE MATERIALIZED VIEW "org_user_counts"'))
    assert.is_true(at('CREATE UNIQUE INDEX "org_user_counts_pkey"') > at('CREATE MATERIALIZED VIEW'))
    assert.is_true(at('CREATE POLICY "tenant_isolation"') > at('ENABLE ROW LEVEL SECURITY'))
    assert.matches([["number" bigint NOT NULL DEFAULT nextval%('"order_number"'::regclass%)]],
      ddl[at('CREATE TABLE "invoices"')])
    assert.matches([[DEFAULT nextval%('"objects_audit"%."audit_seq"'::regclass%)]], ddl[at('CREATE TABLE "invoices"')])
    -- a view's belongs_to creates no foreign key
    for _, st in ipairs(ddl) do assert.is_nil(st:find('ALTER TABLE "active_users"', 1, true)) end
  end)

  it("declares functions and triggers, refusing mistakes with the nearest name", function()
    local s = tide.schema()
    local e = helper.raises(function() s:func { name = "f", retruns = "trigger" } end)
    assert.matches("func: unknown option 'retruns'; did you mean 'returns'%?", e)
    e = helper.raises(function() s:func { name = "f", returns = "trigger", language = "plpgsql" } end)
    assert.matches("func f: 'body' is missing", e)
    local touch = s:func { name = "touch", returns = "trigger", language = "plpgsql",
      body = "begin new.n := new.n + 1; return new; end" }
    e = helper.raises(function()
      s:trigger { name = "t", on = "Note", timing = "before", events = { "updte" }, execute = touch }
    end)
    assert.matches("trigger t: unknown event 'updte'; did you mean 'update'%?", e)
    e = helper.raises(function()
      s:trigger { name = "t", on = "Note", timing = "before", events = { "update" }, execute = touch, for_each = "rows" }
    end)
    assert.matches("trigger t: for_each is 'row' or 'statement', got 'rows'", e)
    local Note = s:model "Note" { t.serial "id" :primary(), t.integer "n" :default(0) }
    s:trigger { name = "notes_touch", on = Note, timing = "befre", events = { "insert", "update" }, execute = touch }
    e = helper.raises(function() s:finish() end)
    assert.matches("Note: trigger 'notes_touch': timing 'befre' is not before, after or instead_of; did you mean 'before'%?",
      e.message)
    local s2 = tide.schema()
    s2:model "Note" { t.serial "id" :primary() }
    s2:trigger { name = "x", on = "Note2", timing = "after", events = { "insert" }, execute = "nowhere" }
    e = helper.raises(function() s2:finish() end)
    assert.matches("trigger x: on unknown model 'Note2'; did you mean 'Note'%?", e)

    -- on a database: the function runs before the table exists, the trigger after it, and it fires
    local ok = tide.schema()
    local bump = ok:func { name = "touch", returns = "trigger", language = "plpgsql",
      body = "begin new.n := new.n + 1; return new; end" }
    ok:model "Note" { t.serial "id" :primary(), t.integer "n" :default(0) }
    ok:trigger { name = "notes_touch", on = "Note", timing = "before", events = { "insert", "update" }, execute = bump }
    local ddl = ok:ddl()
    assert.matches('^CREATE FUNCTION "touch"%(%) RETURNS trigger LANGUAGE plpgsql AS', ddl[1])
    assert.are.equal('CREATE TRIGGER "notes_touch" BEFORE INSERT OR UPDATE ON "notes" FOR EACH ROW ' ..
      'EXECUTE FUNCTION "touch"()', ddl[#ddl])
    local db = tide.connect(helper.fresh_database("tide_schema_triggers"), { schema = ok, pool = { max = 1 } })
    db:push()
    local row = db.Note:create{ data = { n = 1 } }
    assert.are.equal(2, row.n)
    db:close()
  end)

  describe("on a database", function()
    local db, schema, admin

    setup(function()
      local url = helper.fresh_database("tide_schema_objects_spec")
      admin = helper.connect({ pool = { max = 1 } })
      admin:exec(("drop role if exists %s"):format(ROLE))
      admin:exec(("create role %s login"):format(ROLE))
      schema = objects_schema()
      db = tide.connect(url, { schema = schema, pool = { max = 2 } })
      db:push()
      db:exec(([[
        grant usage on schema objects_audit to %s;
        grant select, insert on invoices to %s;
        grant usage on sequence order_number, objects_audit.audit_seq, invoices_id_seq to %s
      ]]):format(ROLE, ROLE, ROLE))
    end)

    teardown(function()
      if db then db:close() end
      admin:exec("drop database if exists tide_schema_objects_spec with (force)")
      admin:exec(("drop role if exists %s"):format(ROLE))
      admin:close()
    end)

    it("creates them all, as pg_catalog shows", function()
      local v = db:one("select definition from pg_views where schemaname = 'public' and viewname = 'active_users'")
      assert.matches("WHERE users%.active", v.definition)
      local mv = db:one("select ispopulated from pg_matviews where matviewname = 'org_user_counts'")
      assert.is_true(mv.ispopulated)
      local ix = db:one("select indexdef from pg_indexes where indexname = 'org_user_counts_pkey'")
      assert.matches("CREATE UNIQUE INDEX org_user_counts_pkey ON public%.org_user_counts USING btree %(org_id%)",
        ix.indexdef)
      local seqs = db:query([[select schemaname, sequencename, start_value, min_value, max_value, cycle
        from pg_sequences where sequencename in ('order_number', 'audit_seq') order by 2]])
      assert.are.same({
        { schemaname = "objects_audit", sequencename = "audit_seq", start_value = 1, min_value = 1,
          max_value = 1000000, cycle = true },
        { schemaname = "public", sequencename = "order_number", start_value = 1000, min_value = 1,
          max_value = math.maxinteger, cycle = false },
      }, seqs)
      local pol = db:one([[select policyname, permissive, roles::text as roles, cmd, qual, with_check
        from pg_policies where tablename = 'invoices']])
      assert.are.equal("tenant_isolation", pol.policyname)
      assert.are.equal("PERMISSIVE", pol.permissive)
      assert.are.equal("{" .. ROLE .. "}", pol.roles)
      assert.are.equal("ALL", pol.cmd)
      assert.matches("current_setting%('app%.tenant'", pol.qual)
      assert.matches("current_setting%('app%.tenant'", pol.with_check)
      local rel = db:one("select relrowsecurity, relforcerowsecurity from pg_class where relname = 'invoices'")
      assert.is_true(rel.relrowsecurity)
      assert.is_false(rel.relforcerowsecurity)
    end)

    it("fills a default from a sequence", function()
      local a = db.Invoice:create{ data = { tenant = "a", amount = 10 } }
      local b = db.Invoice:create{ data = { tenant = "b", amount = 20 } }
      assert.are.equal(1000, a.number)
      assert.are.equal(1001, b.number)
      assert.are.equal(1, a.audit_no)
      assert.are.equal(2, b.audit_no)
      db.Invoice:create{ data = { tenant = "a", amount = 30 } }
    end)

    it("reads a view through the model client, with relations both ways", function()
      local acme = db.Org:create{ data = { name = "acme" } }
      local other = db.Org:create{ data = { name = "other" } }
      db.User:create_many{ data = {
        { email = "ann@acme", org_id = acme.id },
        { email = "bob@acme", org_id = acme.id, active = false },
        { email = "cy@acme", org_id = acme.id },
        { email = "dee@other", org_id = other.id },
      } }
      local rows = db.ActiveUser:find_many{ where = { org_id = acme.id }, order_by = { email = "asc" } }
      assert.are.same({ "ann@acme", "cy@acme" }, { rows[1].email, rows[2].email })
      assert.are.equal(2, #rows)
      local ann = db.ActiveUser:find_unique{ where = { id = rows[1].id }, include = { org = true } }
      assert.are.equal("acme", ann.org.name)
      assert.are.equal(3, db.ActiveUser:count())
      local orgs = db.Org:find_many{ order_by = { id = "asc" },
        include = { active_users = { order_by = { email = "desc" }, take = 1 } } }
      assert.are.equal("cy@acme", orgs[1].active_users[1].email)
      assert.are.equal(1, #orgs[1].active_users)
      assert.are.equal("dee@other", orgs[2].active_users[1].email)
    end)

    it("refuses writes to views before any SQL reaches the server", function()
      db:transaction(function(tx)
        local e = helper.raises(function() tx.ActiveUser:create{ data = { email = "x@y" } } end)
        assert.is_true(tide.is_error(e))
        assert.are.equal("invalid_argument", e.code)
        assert.are.equal("ActiveUser is a view: it is read-only", e.message)
        e = helper.raises(function() tx.ActiveUser:update_many{ where = { id = 1 }, data = { email = "x@y" } } end)
        assert.are.equal("ActiveUser is a view: it is read-only", e.message)
        e = helper.raises(function() tx.ActiveUser:delete_many{} end)
        assert.are.equal("ActiveUser is a view: it is read-only", e.message)
        e = helper.raises(function()
          tx.OrgUserCount:upsert{ where = { org_id = 1 }, create = { users = 1 }, update = { users = 2 } }
        end)
        assert.are.equal("OrgUserCount is a materialized view: it is read-only", e.message)
        e = helper.raises(function() tx.OrgUserCount:create_many{ data = { { org_id = 9, users = 1 } } } end)
        assert.are.equal("OrgUserCount is a materialized view: it is read-only", e.message)
        -- nothing failed on the server: the transaction is still usable
        assert.are.equal(1, tx:one("select 1 as one").one)
      end)
      -- a nested write into a view is refused too, and what came before it rolls back
      local e = helper.raises(function()
        db.Org:create{ data = { name = "nested", active_users = { create = { { email = "n@x" } } } } }
      end)
      assert.matches("ActiveUser is a view: it is read%-only", tostring(e))
      assert.is_nil(db.Org:find_first{ where = { name = "nested" } })
    end)

    it("refreshes the materialized view, concurrently too", function()
      -- filled when created, before any user existed
      assert.are.equal(0, db.OrgUserCount:count())
      db:exec(schema:refresh_sql("OrgUserCount"))
      local counts = db.OrgUserCount:find_many{ order_by = { org_id = "asc" }, include = { org = true } }
      assert.are.equal(2, #counts)
      assert.are.equal(3, counts[1].users)
      assert.are.equal("acme", counts[1].org.name)
      db.User:create{ data = { email = "eve@acme", org_id = counts[1].org_id } }
      db:exec(schema:refresh_sql("OrgUserCount", true))
      assert.are.equal(4, db.OrgUserCount:find_unique{ where = { org_id = counts[1].org_id } }.users)
      assert.are.equal('REFRESH MATERIALIZED VIEW CONCURRENTLY "org_user_counts"',
        schema:refresh_sql("OrgUserCount", true))
      local e = helper.raises(function() schema:refresh_sql("OrgUserCont") end)
      assert.matches("unknown materialized view 'OrgUserCont'; did you mean 'OrgUserCount'%?", e.message)
      e = helper.raises(function() schema:refresh_sql("ActiveUser") end)
      assert.matches("ActiveUser is a view, not a materialized view", e.message)
    end)

    it("lets a policy filter rows for a role that is not a superuser", function()
      -- superusers bypass row-level security
      assert.are.equal(3, db.Invoice:count())
      local seen = db:transaction(function(tx)
        tx:exec("set local role " .. ROLE)
        tx:one("select set_config('app.tenant', $1, true)", "a")
        local rows = tx.Invoice:find_many{ order_by = { id = "asc" } }
        assert.are.equal(2, tx.Invoice:count())
        local made = tx.Invoice:create{ data = { tenant = "a", amount = 5 } }
        assert.are.equal(1003, made.number)
        return rows
      end)
      assert.are.equal(2, #seen)
      for _, r in ipairs(seen) do assert.are.equal("a", r.tenant) end
      -- no tenant set: nothing is visible
      db:transaction(function(tx)
        tx:exec("set local role " .. ROLE)
        assert.are.equal(0, tx.Invoice:count())
      end)
      -- the check refuses a row of another tenant
      local e = helper.raises(function()
        db:transaction(function(tx)
          tx:exec("set local role " .. ROLE)
          tx:one("select set_config('app.tenant', $1, true)", "a")
          tx.Invoice:create{ data = { tenant = "b", amount = 1 } }
        end)
      end)
      assert.are.equal("42501", e.sqlstate)
      assert.are.equal(4, db.Invoice:count())
    end)
  end)
end)
