-- The blog schema: users, profiles, posts, comments, categories and tags.
local tide = require "tide"
local t = tide.types

local schema = tide.schema()
local Role = schema:enum("role", { "user", "admin", "moderator" })

schema:model "User" {
  t.bigserial "id" :primary(),
  t.text "email" :unique(),
  t.text "name" :nullable(),
  t.text "password_hash" :omit(),            -- never returned unless asked for
  Role "role" :default "user",
  t.timestamps(),
  posts = tide.has_many "Post",
  comments = tide.has_many "Comment",
  profile = tide.has_one "Profile",
}

schema:model "Profile" {
  t.bigserial "id" :primary(),
  t.text "bio" :nullable(),
  t.text "avatar" :nullable(),
  t.bigint "user_id" :unique(),
  user = tide.belongs_to("User", { on_delete = "cascade" }),
}

schema:model "Category" {
  t.serial "id" :primary(),
  t.text "name" :unique(),
  t.text "slug" :unique(),
  posts = tide.has_many "Post",
}

schema:model "Post" {
  t.bigserial "id" :primary(),
  t.text "title",
  t.text "content" :nullable(),
  t.boolean "published" :default(false),
  t.bigint "author_id",
  t.integer "category_id" :nullable(),
  t.integer "views" :default(0),
  t.timestamps(),
  author = tide.belongs_to("User", { on_delete = "cascade" }),
  category = tide.belongs_to("Category", { on_delete = "set_null" }),
  comments = tide.has_many "Comment",
  tags = tide.many_to_many "Tag",
  tide.index { "author_id", "published" },
  tide.index { { "created_at", desc = true } },
}

schema:model "Comment" {
  t.bigserial "id" :primary(),
  t.text "content",
  t.bigint "post_id",
  t.bigint "author_id",
  t.timestamptz "created_at" :default(tide.now),
  post = tide.belongs_to("Post", { on_delete = "cascade" }),
  author = tide.belongs_to("User", { on_delete = "cascade" }),
  tide.index { "post_id" },
}

schema:model "Tag" {
  t.serial "id" :primary(),
  t.text "name" :unique(),
  posts = tide.many_to_many "Post",
}

return schema
