-- Shared by the specs: the test database and a few conveniences.
local tide = require "tide"

local helper = {}

function helper.url()
  local u = os.getenv "TIDE_TEST_URL" or os.getenv "DATABASE_URL"
  assert(u, "TIDE_TEST_URL is not set: run the specs under scripts/with-pg.sh (ctest does)")
  return u
end

function helper.connect(opts)
  return tide.connect(helper.url(), opts)
end

-- Calls f and returns the error it raised (failing when it does not raise).
function helper.raises(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error, got none")
  return e
end

function helper.build_dir()
  return os.getenv "TIDE_BUILD_DIR" or "build"
end

return helper
