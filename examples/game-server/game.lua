-- Gameplay for server.c: players wander and pick up gold. Every few ticks
-- each player's state is loaded and saved through the model client, in a
-- coroutine of its own, so the tick never waits for the database.
local tide = require "tide"
local t = tide.types

local schema = tide.schema()
schema:model "Player" {
  t.serial "id" :primary(),
  t.text "name" :unique(),
  t.integer "x" :default(0),
  t.integer "y" :default(0),
  t.integer "gold" :default(0),
  t.integer "saves" :default(0),
  t.timestamps(),
}

local PLAYERS = 16
local game = {}
local busy = {}        -- a player whose load/save is in flight is skipped
local stats = { loads = 0, saves = 0, skipped = 0, errors = 0 }

-- Called once, before the first tick (blocking is fine here).
function game.setup(slow)
  tide.attach(db, schema)
  db:exec("drop table if exists players")
  db:push()
  if slow ~= 0 then
    -- every save takes 200 ms on the server: four ticks
    db:exec([[create or replace function players_slow() returns trigger language plpgsql as
      $$ begin perform pg_sleep(0.2); return new; end $$]])
    db:exec("create or replace trigger players_slow before update on players for each row execute function players_slow()")
  end
  for i = 1, PLAYERS do db.Player:create{ data = { name = "player" .. i } } end
end

local function visit(id)
  busy[id] = true
  local p = db.Player:find_unique{ where = { id = id } } -- yields
  stats.loads = stats.loads + 1
  db.Player:update{                                        -- yields
    where = { id = id },
    data = { x = p.x + math.random(-1, 1), y = p.y + math.random(-1, 1),
             gold = { increment = 1 }, saves = { increment = 1 } },
  }
  stats.saves = stats.saves + 1
  busy[id] = nil
end

function game.tick(frame)
  if frame % 2 ~= 0 then return end -- every 100 ms
  for id = 1, PLAYERS do
    if busy[id] then
      stats.skipped = stats.skipped + 1
    else
      local task = tide.spawn(visit, id)
      if task.done and not task.ok then stats.errors = stats.errors + 1 end
    end
  end
end

function game.report()
  local total = db:one("select sum(saves)::int as n from players").n
  print(("loads %d saves %d skipped %d errors %d saved_in_db %d")
    :format(stats.loads, stats.saves, stats.skipped, stats.errors, total))
  assert(total == stats.saves, "every save the script counted is in the database")
end

tide.on_error = function(e) stats.errors = stats.errors + 1; io.stderr:write("game: ", tostring(e), "\n") end

return game
