-- tide's demo: run it with scripts/demo.sh (it starts a throwaway PostgreSQL
-- and runs this with `tide run`, which connects the global `db`).
local tide = require "tide"

print("connected to " .. tostring(db))

db:exec [[
  drop table if exists demo_transfers, demo_accounts;
  create table demo_accounts (
    id      bigserial primary key,
    owner   text not null unique,
    balance numeric(12, 2) not null check (balance >= 0),
    tags    text[] not null default '{}',
    profile jsonb
  );
  create table demo_transfers (
    id      bigserial primary key,
    from_id bigint not null references demo_accounts,
    to_id   bigint not null references demo_accounts,
    amount  numeric(12, 2) not null,
    at      timestamptz not null default now()
  )
]]

-- Every value is a bound parameter; tables go in as JSON or arrays.
for _, a in ipairs {
  { "ann", "100.00", { "founder" }, { city = "Oslo" } },
  { "bob", "20.50", {}, tide.null },
} do
  db:exec("insert into demo_accounts (owner, balance, tags, profile) values ($1, $2, $3, $4)",
    a[1], a[2], a[3], a[4])
end

-- Results come back typed: bigint as integer, numeric as an exact string,
-- arrays as sequences, jsonb as tables, NULL as absent.
for _, r in ipairs(db:query("select id, owner, balance, tags, profile from demo_accounts order by id")) do
  print(("  #%d %-4s balance %-7s tags [%s] city %s"):format(
    r.id, r.owner, r.balance, table.concat(r.tags, ","), r.profile and r.profile.city or "-"))
end

-- A transaction: both updates and the log row, or none of them.
local function transfer(from, to, amount)
  return db:transaction(function(tx)
    local src = tx:one("select id from demo_accounts where owner = $1", from)
    local dst = tx:one("select id from demo_accounts where owner = $1", to)
    tx:exec("update demo_accounts set balance = balance - $1 where id = $2", amount, src.id)
    tx:exec("update demo_accounts set balance = balance + $1 where id = $2", amount, dst.id)
    return tx:one("insert into demo_transfers (from_id, to_id, amount) values ($1, $2, $3) returning id, at",
      src.id, dst.id, amount)
  end)
end

local t = transfer("ann", "bob", "30.00")
print(("transfer #%d at %s"):format(t.id, t.at))

-- Too much: the check constraint fails, the whole transaction rolls back,
-- and the error says exactly what went wrong.
local ok, err = pcall(transfer, "bob", "ann", "1000.00")
assert(not ok)
print(("refused: %s (constraint %s)"):format(err.code, err.constraint))

local b = db:one("select (select balance from demo_accounts where owner = 'ann') as ann, (select balance from demo_accounts where owner = 'bob') as bob, (select count(*) from demo_transfers) as transfers")
print(("balances: ann %s, bob %s; %d transfer recorded"):format(b.ann, b.bob, b.transfers))
assert(b.ann == "70.00" and b.bob == "50.50" and b.transfers == 1)

db:exec("drop table demo_transfers, demo_accounts")
print("demo ok")
