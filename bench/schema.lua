-- The bench schema for the model client: the tables of bench/dataset.sql
-- (users, posts, comments, with the same column names and types), plus
-- w4_rows, the empty table W4 fills, and w7_rows, which W7 streams (both
-- created by bench/driver.lua's setup).
--
--   local db = tide.connect(url, { schema = require "schema" })
--
-- The bench never pushes this schema: dataset.sql builds the tables. It
-- declares them so that db.User, db.Post, ... compile their SQL against them.
-- (`schema:ddl()` gives the same tables, constraints and indexes.)
local tide = require "tide"
local t = tide.types

local schema = tide.schema()

schema:model "User" {
  table = "users",
  t.bigserial "id" :primary(),
  t.text "email" :unique(),
  t.text "name",
  t.timestamptz "created_at" :default(tide.now),
  posts = tide.has_many "Post",
}

schema:model "Post" {
  table = "posts",
  t.bigserial "id" :primary(),
  t.bigint "author_id",
  t.text "title",
  t.text "body",
  t.boolean "published" :default(false),
  t.timestamptz "created_at",
  author = tide.belongs_to("User", { fields = { "author_id" }, on_delete = "cascade" }),
  comments = tide.has_many "Comment",
  tide.index { "author_id", { "created_at", desc = true } },
}

schema:model "Comment" {
  table = "comments",
  t.bigserial "id" :primary(),
  t.bigint "post_id",
  t.bigint "author_id",
  t.text "body",
  post = tide.belongs_to("Post", { on_delete = "cascade" }),
  author = tide.belongs_to("User", { on_delete = "cascade" }),
  tide.index { "post_id", { "id", desc = true } },
}

-- W4's bulk insert target: w4_rows(id serial pk, n int, label text, at timestamptz).
schema:model "W4Row" {
  table = "w4_rows",
  t.serial "id" :primary(),
  t.integer "n",
  t.text "label",
  t.timestamptz "at",
}

-- W7's 1,000,000 rows to stream (created by bench/driver.lua's setup).
schema:model "W7Row" {
  table = "w7_rows",
  t.bigint "id" :primary(),
  t.integer "n",
  t.text "label",
  t.timestamptz "at",
}

return schema
