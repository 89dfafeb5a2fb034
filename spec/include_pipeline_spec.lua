-- include under the "query" strategy, pipelined: every level is written
-- against its parent level's condition and all go in one round trip. The
-- rows must be those the level-by-level path gives (forced here by a
-- middleware, which may change each level as it runs), and the cases the
-- pipelined form does not cover must still load level by level.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local function schema()
  local s = tide.schema()
  s:model "Team" {
    t.serial "id" :primary(),
    t.text "name",
    members = tide.has_many "Member",
    captain = tide.has_one "Captain",
  }
  s:model "Captain" {
    t.serial "id" :primary(),
    t.integer "team_id" :unique(),
    t.text "name",
    team = tide.belongs_to "Team",
  }
  s:model "Member" {
    t.serial "id" :primary(),
    t.integer "team_id",
    t.text "name" :codec { encode = function(v) return v:upper() end, decode = function(v) return v:lower() end },
    t.integer "score",
    t.integer "mentor_id" :nullable(),
    team = tide.belongs_to "Team",
    mentor = tide.belongs_to("Member", { fields = { "mentor_id" } }),
    mentees = tide.has_many("Member", { inverse = "mentor" }),
    goals = tide.has_many "Goal",
  }
  s:model "Goal" {
    t.serial "id" :primary(),
    t.integer "member_id",
    t.integer "minute",
    member = tide.belongs_to "Member",
  }
  return s
end

-- Runs f in a coroutine and counts the times it waited on the server.
local function waits(f)
  local ready, n, out = false, 0, nil
  tide.on_ready = function() ready = true end
  local co = coroutine.create(function() out = f() end)
  local ok, e = coroutine.resume(co)
  assert(ok, e)
  while coroutine.status(co) == "suspended" do
    n = n + 1
    ready = false
    while not ready do tide.poll(1) end
    ok, e = coroutine.resume(co)
    assert(ok, e)
  end
  tide.on_ready = nil
  return n, out
end

describe("pipelined include", function()
  local db, plain, s
  setup(function()
    s = schema()
    local url = helper.fresh_database("tide_include_pipeline")
    db = tide.connect(url, { schema = s, pool = { max = 2 } })
    db:push()
    -- the same database level by level: a middleware that changes nothing
    plain = tide.connect(url, { schema = schema(), pool = { max = 2 } })
    plain:use(function(p, next) return next(p) end)
    for i = 1, 4 do
      db.Team:create{ data = { name = "team " .. i } }
      if i ~= 3 then db.Captain:create{ data = { team_id = i, name = "cap " .. i } } end
    end
    local id = 0
    for team = 1, 3 do -- team 4 has nobody
      for k = 1, 5 do
        id = id + 1
        db.Member:create{ data = { team_id = team, name = ("m%d"):format(id), score = (id * 37) % 11,
          mentor_id = k > 1 and id - 1 or nil } }
        for g = 1, (id % 4) do db.Goal:create{ data = { member_id = id, minute = (id * g * 13) % 90 } } end
      end
    end
  end)
  teardown(function() db:close(); plain:close() end)

  local reads = {
    { "find_unique", { where = { id = 2 }, include = { members = { include = { goals = true } } } } },
    { "find_unique", { where = { id = 4 }, include = { members = true, captain = true } } },
    { "find_unique", { where = { id = 99 }, include = { members = true } } },
    { "find_many", { where = { name = { starts_with = "team" } }, order_by = { id = "asc" },
      include = { captain = true, members = { where = { score = { gte = 3 } }, order_by = { score = "desc" },
        take = 2, include = { goals = { order_by = { minute = "asc" } }, mentor = true } } } } },
    { "find_many", { where = { team_id = 2 }, include = { mentees = true, mentor = { include = { team = true } } },
      order_by = { id = "asc" } } },
    { "find_many", { where = { minute = { lt = 50 } }, order_by = { id = "asc" },
      include = { member = { select = { name = true, team = true } } } } },
    { "find_many", { order_by = { id = "asc" }, select = { name = true, goals = { select = { minute = true } } } } },
    { "find_many", { order_by = { id = "asc" }, include = { _count = { select = { members = true } }, members = {
      skip = 1, take = 2, order_by = { id = "asc" } } } } },
  }

  it("gives the rows the level-by-level path gives", function()
    for i, r in ipairs(reads) do
      local model = r[1] == "find_unique" and "Team" or (r[2].where and r[2].where.minute and "Goal") or
        (r[2].where and r[2].where.team_id and "Member") or (r[2].select and "Member") or "Team"
      local got = db[model][r[1]](db[model], r[2])
      local want = plain[model][r[1]](plain[model], r[2])
      assert.are.same(want, got, "read " .. i)
    end
  end)

  it("sends every level in one round trip", function()
    local n, team = waits(function()
      return db.Team:find_unique{ where = { id = 2 }, include = { captain = true,
        members = { order_by = { id = "desc" }, include = { goals = { take = 1, order_by = { minute = "desc" } },
          mentor = true } } } }
    end)
    assert.are.equal(1, n)
    assert.are.equal("cap 2", team.captain.name)
    assert.are.same({ 10, 9, 8, 7, 6 }, { team.members[1].id, team.members[2].id, team.members[3].id,
      team.members[4].id, team.members[5].id })
    assert.are.equal("m9", team.members[1].mentor.name) -- decoded by its codec
    assert.are.equal(1, #team.members[1].goals)
    assert.are.same({}, team.members[3].goals) -- member 8 scored none
    -- level by level: one round trip per level
    n = waits(function()
      return plain.Team:find_unique{ where = { id = 2 }, include = { members = { include = { goals = true } } } }
    end)
    assert.are.equal(3, n)
  end)

  it("regression: a to_sql that raised half way leaves nothing behind for the next pipelined load", function()
    -- to_sql's walk keeps each value by slot; it raised before forgetting where
    assert.is_false(pcall(db.Team.to_sql, db.Team, "find_many", { where = { id = print } }))
    local team = db.Team:find_unique{ where = { id = 2 }, include = { members = { include = { goals = true } } } }
    assert.are.same(plain.Team:find_unique{ where = { id = 2 }, include = { members = { include = { goals = true } } } },
      team)
  end)

  it("loads level by level where a superset of the parents would be too many", function()
    -- a take on a level under which something is included (at the top, or per parent)
    assert.are.equal(3, (waits(function()
      return db.Team:find_unique{ where = { id = 2 }, include = { members = { take = 2, include = { goals = true } } } }
    end)))
    local n, rows = waits(function()
      return db.Team:find_many{ take = 1, order_by = { id = "desc" }, include = { members = true } }
    end)
    assert.are.equal(2, n)
    assert.are.equal(4, rows[1].id)
    assert.are.same({}, rows[1].members)
    n = waits(function() return db.Team:find_first{ where = { id = 1 }, include = { members = true } } end)
    assert.are.equal(2, n)
  end)
end)
