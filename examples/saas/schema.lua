-- The multi-tenant SaaS schema: organizations, members, projects and tasks.
local tide = require "tide"
local t = tide.types

local schema = tide.schema()
local Plan = schema:enum("plan", { "free", "pro", "enterprise" })
local MemberRole = schema:enum("member_role", { "owner", "admin", "member" })
local Status = schema:enum("project_status", { "active", "archived", "deleted" })
local Priority = schema:enum("priority", { "low", "medium", "high", "urgent" })
local TaskStatus = schema:enum("task_status", { "todo", "in_progress", "review", "done" })

schema:model "Organization" {
  t.uuid "id" :primary() :default(tide.uuid),
  t.text "name",
  t.text "slug" :unique(),
  Plan "plan" :default "free",
  t.timestamps(),
  members = tide.has_many "Member",
  projects = tide.has_many "Project",
}

schema:model "Member" {
  t.uuid "id" :primary() :default(tide.uuid),
  t.uuid "user_id",
  t.uuid "organization_id",
  MemberRole "role" :default "member",
  t.timestamptz "joined_at" :default(tide.now),
  organization = tide.belongs_to("Organization", { on_delete = "cascade" }),
  tide.unique { "user_id", "organization_id" },
  tide.index { "organization_id" },
}

schema:model "Project" {
  t.uuid "id" :primary() :default(tide.uuid),
  t.text "name",
  t.uuid "organization_id",
  Status "status" :default "active",
  t.timestamps(),
  organization = tide.belongs_to("Organization", { on_delete = "cascade" }),
  tasks = tide.has_many "Task",
  tide.index { "organization_id" },
}

schema:model "Task" {
  t.uuid "id" :primary() :default(tide.uuid),
  t.text "title",
  t.text "description" :nullable(),
  t.uuid "project_id",
  t.uuid "assignee_id" :nullable(),
  Priority "priority" :default "medium",
  TaskStatus "status" :default "todo",
  t.timestamptz "due_date" :nullable(),
  t.timestamps(),
  project = tide.belongs_to("Project", { on_delete = "cascade" }),
  tide.index { "project_id" },
  tide.index { "assignee_id" },
  tide.index { "status" },
}

return schema
