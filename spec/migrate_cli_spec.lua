-- tide migrate from the command line: tide.config.lua found from a
-- subdirectory, dev, status, a destructive change refused then accepted.
local helper = require "helper"
local tide = require "tide"

local sh, write = helper.sh, helper.write

describe("tide migrate (the command)", function()
  it("finds tide.config.lua upward, makes and applies migrations, refuses data loss until accepted", function()
    local url = helper.fresh_database("tide_migrate_cli")
    local root = os.tmpname()
    os.remove(root)
    os.execute("mkdir -p " .. root .. "/app/sub")
    write(root .. "/app/tide.config.lua", ("return { url = %q, schema = 'schema.lua' }\n"):format(url))
    local function schema(with_age)
      write(root .. "/app/schema.lua", ([[
        local tide = require "tide"
        local t = tide.types
        local s = tide.schema()
        s:model "Note" { t.serial "id" :primary(), t.text "body" %s }
        return s
      ]]):format(with_age and ', t.integer "age" :nullable()' or ""))
    end
    local tide_bin = helper.build_dir() .. "/tide"
    local function run(args)
      return sh(("cd %s/app/sub && %s migrate %s"):format(root, tide_bin, args))
    end
    schema(true)
    local out, code = run("dev --name init")
    assert.are.equal(0, code, out)
    assert.matches("applying %d+_init", out)
    out, code = run("status")
    assert.are.equal(0, code, out)
    assert.matches("applied%s+%d+_init", out)
    local db = tide.connect(url, { pool = { max = 1 } })
    db:exec("insert into notes (body, age) values ('x', 3)")
    schema(false)
    out, code = run("dev --name drop_age")
    assert.are.equal(1, code, out)
    assert.matches("drop column notes.age; notes holds 1 row", out, 1, true)
    out, code = run("dev --name drop_age --accept-data-loss")
    assert.are.equal(0, code, out)
    assert.is_nil(db:one("select to_regclass('notes') is not null as t, " ..
      "(select attname from pg_attribute where attrelid = 'notes'::regclass and attname = 'age') as a").a)
    out, code = run("dev --name again")
    assert.are.equal(0, code, out)
    assert.matches("nothing to do", out, 1, true)
    out, code = run("deploy")
    assert.matches("no pending migrations", out, 1, true)
    out, code = sh(("cd %s && %s migrate status --url %q --dir app/migrations"):format(root, tide_bin, url))
    assert.are.equal(0, code, out)
    db:close()
    os.execute("rm -rf " .. root)
  end)
end)
