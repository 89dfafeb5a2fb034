-- Errors: structured database errors, argument errors like the standard
-- library's, and no password anywhere.
local tide = require "tide"
local helper = require "helper"

describe("errors", function()
  local db
  setup(function()
    db = helper.connect()
    db:exec([[drop table if exists err_parent, err_child;
      create table err_parent (id int primary key);
      create table err_child (id int primary key, email text unique not null, parent int references err_parent (id))]])
  end)
  teardown(function()
    db:exec("drop table if exists err_child, err_parent")
    db:close()
  end)

  it("carry code, sqlstate, constraint, table, column and detail", function()
    db:exec("insert into err_child values (1, 'a@x', null)")
    local e = helper.raises(function() db:exec("insert into err_child values (2, 'a@x', null)") end)
    assert.is_true(tide.is_error(e))
    assert.are.equal("unique_violation", e.code)
    assert.are.equal("23505", e.sqlstate)
    assert.are.equal("err_child_email_key", e.constraint)
    assert.are.equal("err_child", e.table)
    assert.matches("%(email%)=%(a@x%)", e.detail)
    assert.matches("^tide: unique_violation: duplicate key value violates unique constraint \"err_child_email_key\" %(SQLSTATE 23505%)\nDETAIL: ", tostring(e))

    e = helper.raises(function() db:exec("insert into err_child (id) values (3)") end)
    assert.are.equal("not_null_violation", e.code)
    assert.are.equal("email", e.column)
    e = helper.raises(function() db:exec("insert into err_child values (4, 'b', 99)") end)
    assert.are.equal("foreign_key_violation", e.code)
    e = helper.raises(function() db:query("select * from no_such_table") end)
    assert.are.equal("database_error", e.code)
    assert.are.equal("42P01", e.sqlstate)
    db:exec("delete from err_child")
  end)

  it("raise query_canceled for a statement past statement_timeout, and the pool goes on", function()
    local quick = helper.connect { statement_timeout = 0.1, pool = { max = 1 } }
    local e = helper.raises(function() quick:query("select pg_sleep(2)") end)
    assert.are.equal("query_canceled", e.code)
    assert.are.equal("57014", e.sqlstate)
    assert.are.equal(1, quick:one("select 1 as x").x)
    quick:close()
  end)

  it("name a missing argument like the standard library", function()
    local e = helper.raises(function() db:query() end)
    assert.matches("bad argument #1 to 'query' %(string expected, got no value%)", e)
    e = helper.raises(function() db:one(42 == 42) end)
    assert.matches("bad argument #1 to 'one' %(string expected, got boolean%)", e)
    e = helper.raises(function() tide.connect(nil) end)
    assert.matches("bad argument #1 to 'connect' %(string expected, got nil%)", e)
    e = helper.raises(function() tide.connect(helper.url(), { pool = { maxx = 3 } }) end)
    assert.matches("unknown option 'maxx'; did you mean 'max'%?", e)
    e = helper.raises(function() tide.connect(helper.url(), { pool = { max = 2.5 } }) end)
    assert.matches("option 'max' must be a whole number, got 2.5", e)
    e = helper.raises(function() db:begin(5) end)
    assert.matches("bad argument #1 to 'begin' %(table expected, got number%)", e)
    e = helper.raises(function() return tide.json_encode({ x = 0 / 0 }) end)
    assert.matches("cannot encode NaN as JSON", e)
    e = helper.raises(function() tide.connect(helper.url(), { statment_timeout = 3 }) end)
    assert.matches("unknown option 'statment_timeout'; did you mean 'statement_timeout'%?", e)
  end)

  it("never show a password", function()
    local url = helper.url():gsub("^postgresql://([^@]+)@", "postgresql://%1:hunter2secret@")
    local d = tide.connect(url)
    assert.is_nil(tostring(d):find("hunter2secret", 1, true))
    assert.matches("^tide%.db%(postgresql://tide@", tostring(d))
    d:close()
    for _, bad in ipairs {
      "postgresql://u:hunter2secret@127.0.0.1:1/x",
      "postgresql://u:hunter2secret@127.0.0.1:1/x?nonsense=hunter2secret",
      "host=127.0.0.1 port=1 password='hunter2secret",
      "password=hunter2secret port=notanumber",
    } do
      local e = helper.raises(tide.connect, bad, { connect_timeout = 2 })
      assert.is_nil(tostring(e):find("hunter2secret", 1, true), tostring(e))
      assert.is_true(tide.is_error(e))
    end
  end)

  it("surface a refused connection as connection_failure", function()
    local e = helper.raises(tide.connect, "postgresql://tide@127.0.0.1:1/x", { connect_timeout = 2 })
    assert.are.equal("connection_failure", e.code)
  end)

  it("can be made by Lua code with the same shape", function()
    local e = tide.error("not_found", "no such row", { table = "users" })
    assert.is_true(tide.is_error(e))
    assert.are.equal("tide: not_found: no such row", tostring(e))
    assert.is_false(tide.is_error({ code = "x" }))
  end)
end)
