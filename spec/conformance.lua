-- One conformance script, run the three ways tide is used (see
-- tests/CMakeLists.txt): required from lua5.4, embedded in a C host that
-- hands Lua its own pool as `db`, and by the tide command.
local tide = require "tide"
local how = ...
local db = rawget(_G, "db") or tide.connect(os.getenv "TIDE_TEST_URL")

local function check(cond, what) if not cond then error("conformance: " .. what, 2) end end

-- values both ways
local r = db:one("select $1::int8 as i, $2::float8 as f, $3::text as s, $4::bool as b, $5::jsonb as j, $6::int[] as a, null::int as n",
  math.maxinteger, 0.1, "héllo", true, { k = { 1, 2 } }, { 3, 4 })
check(r.i == math.maxinteger and math.type(r.i) == "integer", "int8")
check(r.f == 0.1, "float8")
check(r.s == "héllo", "text")
check(r.b == true, "bool")
check(r.j.k[2] == 2, "jsonb")
check(r.a[2] == 4, "int[]")
check(r.n == nil, "null")

-- writes, transactions, errors
db:exec("drop table if exists conformance; create table conformance (id int primary key, v text)")
db:transaction(function(tx)
  tx:exec("insert into conformance values ($1, $2)", 1, "one")
  local ok = pcall(tx.transaction, tx, function(inner)
    inner:exec("insert into conformance values (2, 'two')")
    error("undo the inner part")
  end)
  check(not ok, "inner error")
end)
check(db:one("select count(*) as n from conformance").n == 1, "savepoint rollback")
local ok, e = pcall(db.exec, db, "insert into conformance values (1, 'dup')")
check(not ok and tide.is_error(e) and e.code == "unique_violation" and e.constraint == "conformance_pkey", "structured error")
local ok2, e2 = pcall(db.transaction, db, function(tx)
  tx:exec("insert into conformance values (3, 'three')")
  pcall(tx.exec, tx, "insert into conformance values (1, 'dup')")
end)
check(not ok2 and e2.code == "transaction_rolled_back", "COMMIT answered ROLLBACK")
check(db:one("select count(*) as n from conformance").n == 1, "nothing partial")
db:exec("drop table conformance")

print(("conformance ok (%s)"):format(how or arg and arg[1] or "tide run"))
