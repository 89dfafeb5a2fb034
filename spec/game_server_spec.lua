-- examples/game-server: a C host with a fixed 20 Hz tick whose Lua scripts
-- load and save players through the model client. Against a database whose
-- every save takes 200 ms (four ticks), the ticks keep their schedule while
-- the saves complete.
local helper = require "helper"

local function run(seconds, mode)
  local url = helper.fresh_database("tide_game_server")
  local cmd = ("%s/examples/game-server/game_server '%s' %s/examples/game-server/game.lua %d %s 2>&1")
    :format(helper.build_dir(), url, os.getenv "TIDE_SOURCE_DIR" or ".", seconds, mode or "")
  local p = io.popen(cmd)
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

describe("the game server example", function()
  it("keeps its tick within 5 ms of schedule while slow saves complete", function()
    local ok, out = run(3, "slow")
    assert.is_true(ok, out)
    local ticks, p50, p99, max = out:match("ticks (%d+) late_p50_ms ([%d.]+) late_p99_ms ([%d.]+) late_max_ms ([%d.]+)")
    assert.is_truthy(ticks, out)
    assert.are.equal(60, tonumber(ticks))
    assert.is_true(tonumber(max) < 5, out)
    local loads, saves, skipped, errors = out:match("loads (%d+) saves (%d+) skipped (%d+) errors (%d+)")
    assert.are.equal(0, tonumber(errors), out)
    -- 16 players, a visit every 100 ms while the last is not done, each
    -- save 200 ms over 8 connections: many saves done, many visits skipped
    assert.is_true(tonumber(saves) >= 32, out)
    assert.is_true(tonumber(skipped) > 0, out)
    assert.is_true(tonumber(loads) >= tonumber(saves), out)
  end)
end)
