-- LuaLS stubs (tide.stubs, `tide generate types`): the blog schema's stubs
-- are exactly spec/golden/blog_types.lua, load as Lua without touching any
-- global, and say what each field and method is.
local tide = require "tide"
local helper = require "helper"
local stubs = require "tide.stubs"
local t = tide.types

-- The annotation lines of class name, up to the next blank line.
local function class_block(text, name)
  local start = text:find("---@class " .. name .. "\n", 1, true)
  assert(start, "no class " .. name)
  local stop = text:find("\n\n", start, true) or #text
  local lines = {}
  for l in text:sub(start, stop):gmatch("[^\n]+") do lines[#lines + 1] = l end
  return lines
end

local function has(lines, line)
  for _, l in ipairs(lines) do if l == line then return true end end
  error(("%q not among:\n%s"):format(line, table.concat(lines, "\n")), 2)
end

describe("LuaLS stubs", function()
  local text
  setup(function() text = stubs.generate(helper.example_schema("blog"), "schema.lua") end)

  it("are the golden file for the blog schema, and load as Lua without globals", function()
    local f = assert(io.open("spec/golden/blog_types.lua"))
    local golden = f:read("a")
    f:close()
    assert.are.equal(golden, text)
    local env = setmetatable({}, { __newindex = function(_, k) error("a global: " .. k) end })
    assert(load(text, "=blog_types.lua", "t", env))()
    assert.are.equal("---@meta", text:match("^[^\n]+"))
  end)

  it("type fields, nullability, enums and relations", function()
    assert.is_truthy(text:find('\n---@alias tide.enum.role "user"|"admin"|"moderator"\n', 1, true))
    local user = class_block(text, "tide.row.User")
    has(user, "---@field id integer")
    has(user, "---@field name string|nil")          -- nullable
    has(user, "---@field password_hash string|nil") -- :omit(): absent unless selected
    has(user, "---@field role tide.enum.role")
    has(user, "---@field posts tide.row.Post[]|nil")  -- has_many
    has(user, "---@field profile tide.row.Profile|nil") -- has_one
    local post = class_block(text, "tide.row.Post")
    has(post, "---@field author tide.row.User|nil")   -- belongs_to
    has(post, "---@field tags tide.row.Tag[]|nil")    -- many_to_many
    has(post, "---@field published boolean")
    local create = class_block(text, "tide.create.Post")
    has(create, "---@field title string")             -- required: no default
    has(create, "---@field id? integer|tide.null")    -- bigserial
    has(create, "---@field published? boolean|tide.null") -- a default
    has(class_block(text, "tide.where.Post"), "---@field AND? tide.where.Post|tide.where.Post[]")
    has(class_block(text, "tide.include.Post"), "---@field comments? boolean|tide.find.Comment")
  end)

  it("type the model client's methods, its chain, and db.<Model>", function()
    for _, expect in ipairs {
      "---@param args? tide.find.Post\n---@return tide.row.Post[]\nfunction Post:find_many(args) end",
      "---@param args? tide.find.Post\n---@return fun(): tide.row.Post|nil\nfunction Post:find_many_iter(args) end",
      "---@param args tide.find.Post\n---@return tide.row.Post|nil\nfunction Post:find_unique(args) end",
      "---@return integer\nfunction Post:count(args) end",
      "---@param w tide.where.Post\n---@return tide.chain.Post\nfunction Post:where(w) end",
    } do
      assert.is_truthy(text:find(expect, 1, true), expect)
    end
    local chain = class_block(text, "tide.chain.Post")
    has(chain, "---@field all fun(self: tide.chain.Post): tide.row.Post[]")
    has(chain, "---@field iter fun(self: tide.chain.Post): fun(): tide.row.Post|nil")
    for _, class in ipairs { "tide.db", "tide.tx" } do
      local db = class_block(text, class)
      has(db, "---@field Post tide.client.Post")
      has(db, "---@field Tag tide.client.Tag")
    end
  end)

  it("map every kind of column to its Lua type", function()
    local s = tide.schema()
    local Mood = s:enum("mood", { "ok", "meh" })
    s:model "Thing" {
      t.bigint "id" :primary(),
      t.double "ratio",
      t.numeric(10, 2) "price",
      t.jsonb "doc" :nullable(),
      t.integer "scores" :array(),
      t.text "grid" :array(2),
      Mood "mood",
      Mood "moods" :array(),
      t.text "secret" :codec { encode = function(v) return v end, decode = function(v) return v end },
      t.timestamptz "seen" :default(tide.now),
    }
    local row = class_block(stubs.generate(s), "tide.row.Thing")
    has(row, "---@field ratio number")
    has(row, "---@field price string")      -- numeric stays exact: text
    has(row, "---@field doc any|nil")
    has(row, "---@field scores integer[]")
    has(row, "---@field grid string[][]")
    has(row, "---@field mood tide.enum.mood")
    has(row, "---@field moods tide.enum.mood[]")      -- arrays of enums read as lists of their values
    has(row, "---@field secret any")        -- whatever the codec's decode gives
    has(row, "---@field seen string")
  end)
end)
