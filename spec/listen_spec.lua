-- LISTEN/NOTIFY: db:listen(channel, fn) on a connection of the db's own,
-- db:notify(channel, payload); notifications are delivered when the program
-- polls or waits.
local tide = require "tide"
local helper = require "helper"

describe("LISTEN/NOTIFY", function()
  local db, other
  setup(function()
    db = helper.connect({ pool = { max = 3 } })
    other = helper.connect({ pool = { max = 1 } })
  end)
  teardown(function() db:close(); other:close() end)

  local function poll_until(cond)
    local t0 = tide.clock()
    while not cond() and tide.clock() - t0 < 5 do tide.poll(0.05) end
    return cond()
  end

  it("delivers notifications to handlers when the program polls", function()
    local got = {}
    local sub = db:listen("jobs", function(payload, channel, pid)
      got[#got + 1] = { payload = payload, channel = channel, pid = pid }
    end)
    local in_use = db:stats().in_use
    assert.are.equal(1, in_use) -- the listening connection
    other:notify("jobs", "one")
    other:notify("jobs", "it's \"two\"")
    other:notify("elsewhere", "not for us")
    assert.are.same({}, got) -- nothing until the program polls
    assert.is_true(poll_until(function() return #got == 2 end))
    assert.are.equal("one", got[1].payload)
    assert.are.equal("it's \"two\"", got[2].payload)
    assert.are.equal("jobs", got[1].channel)
    local other_pid = other:one("select pg_backend_pid() as p").p
    assert.are.equal(other_pid, got[1].pid)
    sub.unlisten()
    assert.are.equal(0, db:stats().in_use) -- the last subscription gave the connection back
  end)

  it("keeps several channels and handlers apart, with names that need quoting", function()
    local a, b, c = {}, {}, {}
    local weird = 'we"ird chan'
    local s1 = db:listen(weird, function(p) a[#a + 1] = p end)
    local s2 = db:listen(weird, function(p) b[#b + 1] = p end)
    local s3 = db:listen("plain", function(p) c[#c + 1] = p end)
    other:notify(weird, "x")
    other:notify("plain", "y")
    assert.is_true(poll_until(function() return #a == 1 and #b == 1 and #c == 1 end))
    s1.unlisten()
    other:notify(weird, "z")
    assert.is_true(poll_until(function() return #b == 2 end))
    assert.are.same({ "x" }, a)
    s2.unlisten()
    other:notify(weird, "gone")
    other:notify("plain", "still")
    assert.is_true(poll_until(function() return #c == 2 end))
    assert.are.same({ "x", "z" }, b)
    s3.unlisten()
    assert.are.equal(0, db:stats().in_use)
  end)

  it("delivers while tasks run, and a notification sent from a task", function()
    local seen
    local sub = db:listen("events", function(p) seen = p end)
    tide.run(function()
      tide.spawn(function()
        tide.sleep(0.05)
        db:notify("events", "from a task")
      end)
      local t0 = tide.clock()
      while not seen and tide.clock() - t0 < 5 do tide.sleep(0.01) end
    end)
    assert.are.equal("from a task", seen)
    sub.unlisten()
  end)

  it("tells the subscriber when the listening connection is lost", function()
    local lost
    local sub = db:listen("fragile", function() end, { on_lost = function(e) lost = e end })
    local pid = rawget(db, "_listen").conn:backend_pid()
    other:exec("select pg_terminate_backend($1)", pid)
    assert.is_true(poll_until(function() return lost ~= nil end))
    assert.are.equal("connection_failure", lost.code)
    sub.unlisten() -- harmless after the loss
    assert.are.equal(0, db:stats().in_use)
    -- listening again works on a fresh connection
    local got
    local again = db:listen("fragile", function(p) got = p end)
    other:notify("fragile", "back")
    assert.is_true(poll_until(function() return got == "back" end))
    again.unlisten()
  end)
end)
