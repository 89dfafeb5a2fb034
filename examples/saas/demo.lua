-- The multi-tenant SaaS schema: organizations, members, projects and tasks,
-- with a middleware that scopes every query to the current organization.
--   tide run examples/saas/demo.lua      (DATABASE_URL set; uses tide_saas_demo)
local tide = require "tide"
local here = (arg and arg[0] or "examples/saas/demo.lua"):match("^(.*)/[^/]*$") or "."
local schema = dofile(here .. "/schema.lua")

local url = assert(os.getenv "DATABASE_URL", "set DATABASE_URL")
do
  local admin = tide.connect(url, { pool = { max = 1 } })
  admin:exec("drop database if exists tide_saas_demo with (force)")
  admin:exec("create database tide_saas_demo")
  admin:close()
end
local db = tide.connect(tide.url_with_database(url, "tide_saas_demo"), { schema = schema })
db:push()

local acme = db.Organization:create{ data = { name = "Acme", slug = "acme", plan = "pro",
  projects = { create = { { name = "Rocket", tasks = { create = {
    { title = "Design", priority = "high", status = "done" },
    { title = "Build", priority = "urgent", status = "in_progress" },
    { title = "Test", status = "todo" },
  } } } } } } }
local globex = db.Organization:create{ data = { name = "Globex", slug = "globex",
  projects = { create = { { name = "Secret", tasks = { create = { { title = "Hide" } } } } } } } }

-- Tenant scoping: every read of a project or task is limited to the current
-- organization, included relations too.
local current
db:use(function(p, next)
  if current and (p.model == "Project" or p.model == "Task") and p.operation:match("^find") or
     current and p.operation == "count" or current and p.operation == "group_by" then
    local scope = p.model == "Project" and { organization_id = current }
      or p.model == "Task" and { project = { is = { organization_id = current } } } or nil
    if scope then
      p.args = p.args or {}
      p.args.where = p.args.where and { AND = { p.args.where, scope } } or scope
    end
  end
  return next(p)
end)

current = acme.id
print("Acme sees tasks:", db.Task:count())
for _, g in ipairs(db.Task:group_by{ by = "status", _count = true, order_by = { status = "asc" } }) do
  print(("  %-12s %d"):format(g.status, g._count))
end
current = globex.id
print("Globex sees tasks:", db.Task:count())
current = nil
print("unscoped:", db.Task:count())

local urgent = db.Task:find_first{ where = { priority = "urgent" }, include = { project = { include = { organization = true } } } }
print(("urgent: %s in %s (%s, plan %s)"):format(urgent.title, urgent.project.name, urgent.project.organization.name,
  urgent.project.organization.plan))
db:close()
print("saas demo ok")
