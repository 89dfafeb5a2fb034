rockspec_format = "3.0"
package = "tide"
version = "scm-1"
source = {
  url = "git+file:///dev/null",  -- built from a checkout: luarocks make rockspec/tide-scm-1.rockspec
}
description = {
  summary = "A PostgreSQL ORM with a C core: pooled libpq connections, prepared statements, typed results",
  detailed = [[
tide keeps a thread-safe pool of libpq connections in C, prepares each
statement once per connection, binds every value as a parameter and decodes
results into typed Lua values. require "tide", then tide.connect(url).
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- libpq and Lua's headers are found by CMake through pkg-config (libpq-dev,
-- liblua5.4-dev), which knows Debian's include/postgresql layout.
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    TIDE_LUA_LIBDIR = "$(LIBDIR)",
    TIDE_LUA_DIR = "$(LUADIR)",
    TIDE_BUILD_TESTS = "OFF",
    TIDE_INSTALL_C = "OFF",
  },
}
