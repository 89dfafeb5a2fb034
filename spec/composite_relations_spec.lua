-- Relations whose foreign key has several fields (a composite key): include,
-- relation filters, relation ordering, _count and nested writes, on real
-- data. A key with a NULL part references nothing, as in SQL.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local function schema()
  local s = tide.schema()
  s:model "Org" {
    t.serial "id" :primary(),
    t.text "name" :unique(),
    members = tide.has_many "Member",
  }
  -- a composite primary key
  s:model "Member" {
    t.integer "org_id",
    t.integer "no",
    t.text "name",
    tide.primary_key { "org_id", "no" },
    org = tide.belongs_to("Org", { on_delete = "cascade" }),
    tasks = tide.has_many "Task",
    badge = tide.has_one "Badge",
    teams = tide.many_to_many("Team", { through = "Membership" }),
  }
  s:model "Task" {
    t.serial "id" :primary(),
    t.text "title",
    t.integer "org_id" :nullable(),
    t.integer "member_no" :nullable(),
    t.integer "points" :default(0),
    assignee = tide.belongs_to("Member", { fields = { "org_id", "member_no" }, on_delete = "cascade" }),
  }
  s:model "Badge" {
    t.serial "id" :primary(),
    t.text "label",
    t.integer "org_id",
    t.integer "member_no",
    tide.unique { "org_id", "member_no" },
    member = tide.belongs_to("Member", { fields = { "org_id", "member_no" }, on_delete = "cascade" }),
  }
  s:model "Team" {
    t.serial "id" :primary(),
    t.text "name" :unique(),
    members = tide.many_to_many("Member", { through = "Membership" }),
  }
  s:model "Membership" {
    t.integer "org_id",
    t.integer "member_no",
    t.integer "team_id",
    tide.primary_key { "org_id", "member_no", "team_id" },
    member = tide.belongs_to("Member", { fields = { "org_id", "member_no" }, on_delete = "cascade" }),
    team = tide.belongs_to("Team", { on_delete = "cascade" }),
  }
  -- text parts: ("ab", "c") and ("a", "bc") must stay two keys
  s:model "Page" {
    t.text "ns",
    t.text "slug",
    t.text "title",
    tide.primary_key { "ns", "slug" },
    revisions = tide.has_many "Revision",
  }
  s:model "Revision" {
    t.serial "id" :primary(),
    t.text "ns",
    t.text "slug",
    t.integer "n",
    page = tide.belongs_to("Page", { fields = { "ns", "slug" }, on_delete = "cascade" }),
  }
  -- a composite unique key (not the primary key) with a nullable part
  s:model "Seat" {
    t.serial "id" :primary(),
    t.text "room" :nullable(),
    t.integer "number",
    tide.unique { "room", "number" },
    bookings = tide.has_many "Booking",
  }
  s:model "Booking" {
    t.serial "id" :primary(),
    t.text "guest",
    t.text "room" :nullable(),
    t.integer "seat_no" :nullable(),
    seat = tide.belongs_to("Seat", { fields = { "room", "seat_no" }, references = { "room", "number" } }),
  }
  -- a join model whose foreign key references a unique field, not the primary key
  s:model "Author" {
    t.serial "id" :primary(),
    t.text "handle" :unique(),
    books = tide.many_to_many("Book", { through = "Credit" }),
  }
  s:model "Book" {
    t.serial "id" :primary(),
    t.text "title",
    authors = tide.many_to_many("Author", { through = "Credit" }),
  }
  s:model "Credit" {
    t.text "handle",
    t.integer "book_id",
    tide.primary_key { "handle", "book_id" },
    author = tide.belongs_to("Author", { fields = { "handle" }, references = { "handle" } }),
    book = tide.belongs_to "Book",
  }
  return s
end

local function titles(rows, field)
  local out = {}
  for i, r in ipairs(rows) do out[i] = r[field or "title"] end
  table.sort(out)
  return table.concat(out, ",")
end

describe("composite relations", function()
  local db

  setup(function()
    db = tide.connect(helper.fresh_database("tide_composite_spec"), { schema = schema(), pool = { max = 1 } })
    db:push()
  end)
  teardown(function() db:close() end)

  -- Two orgs with member numbers 1 and 2 each, so that (org, no) pairs cross:
  -- (1, 2) and (2, 1) are different members.
  local function seed()
    db:exec("truncate orgs, members, tasks, badges, teams, memberships, pages, revisions, seats, bookings restart identity cascade")
    db.Org:create_many{ data = { { name = "acme" }, { name = "globex" } } }
    db.Member:create_many{ data = {
      { org_id = 1, no = 1, name = "ann" }, { org_id = 1, no = 2, name = "bob" },
      { org_id = 2, no = 1, name = "cy" }, { org_id = 2, no = 2, name = "dee" },
    } }
    db.Task:create_many{ data = {
      { title = "a1", org_id = 1, member_no = 1, points = 3 },
      { title = "a2", org_id = 1, member_no = 1, points = 1 },
      { title = "b1", org_id = 1, member_no = 2, points = 5 },
      { title = "c1", org_id = 2, member_no = 1, points = 2 },
    } }
    -- no assignee: a NULL part, and both parts NULL
    db.Task:create{ data = { title = "half", org_id = 2 } }
    db.Task:create{ data = { title = "none" } }
    db.Badge:create_many{ data = { { label = "gold", org_id = 1, member_no = 2 }, { label = "silver", org_id = 2, member_no = 1 } } }
    db.Team:create_many{ data = { { name = "red" }, { name = "blue" } } }
    db.Membership:create_many{ data = {
      { org_id = 1, member_no = 1, team_id = 1 }, { org_id = 1, member_no = 1, team_id = 2 },
      { org_id = 2, member_no = 1, team_id = 1 },
    } }
  end

  local function member(org_id, no)
    return db.Member:find_unique{ where = { org_id = org_id, no = no } }
  end

  describe("include", function()
    before_each(seed)

    it("loads belongs_to, leaving keys with a NULL part without a row", function()
      local tasks = db.Task:find_many{ include = { assignee = true }, order_by = { id = "asc" } }
      local by = {}
      for _, task in ipairs(tasks) do by[task.title] = task end
      assert.are.equal("ann", by.a1.assignee.name)
      assert.are.equal("bob", by.b1.assignee.name)
      assert.are.equal("cy", by.c1.assignee.name)
      assert.is_nil(by.half.assignee)
      assert.is_nil(by.none.assignee)
    end)

    it("loads has_many and has_one per parent, without mixing crossed keys", function()
      local members = db.Member:find_many{ include = { tasks = { order_by = { points = "desc" } }, badge = true },
        order_by = { { org_id = "asc" }, { no = "asc" } } }
      assert.are.equal(4, #members)
      assert.are.equal("a1,a2", titles(members[1].tasks))
      assert.are.equal("a1", members[1].tasks[1].title) -- ordered within the parent
      assert.are.equal("b1", titles(members[2].tasks))
      assert.are.equal("c1", titles(members[3].tasks))
      assert.are.equal(0, #members[4].tasks)
      assert.is_nil(members[1].badge)
      assert.are.equal("gold", members[2].badge.label)
      assert.are.equal("silver", members[3].badge.label)
    end)

    it("keeps take and skip per parent", function()
      local members = db.Member:find_many{ include = { tasks = { order_by = { points = "asc" }, take = 1 } },
        order_by = { { org_id = "asc" }, { no = "asc" } } }
      assert.are.equal("a2", titles(members[1].tasks))
      assert.are.equal("b1", titles(members[2].tasks))
      members = db.Member:find_many{ include = { tasks = { order_by = { points = "asc" }, skip = 1 } },
        where = { org_id = 1 }, order_by = { no = "asc" } }
      assert.are.equal("a1", titles(members[1].tasks))
      assert.are.equal(0, #members[2].tasks)
    end)

    it("loads many_to_many through a model keyed by a composite key, both ways", function()
      local ann = db.Member:find_unique{ where = { org_id = 1, no = 1 }, include = { teams = { order_by = { name = "asc" } } } }
      assert.are.equal("blue,red", titles(ann.teams, "name"))
      local red = db.Team:find_unique{ where = { name = "red" }, include = { members = { order_by = { { org_id = "asc" } } } } }
      assert.are.equal("ann,cy", titles(red.members, "name"))
      local blue = db.Team:find_unique{ where = { name = "blue" }, include = { members = { take = 5 } } }
      assert.are.equal("ann", titles(blue.members, "name"))
    end)

    it("nests, selects only what was asked and still stitches", function()
      local orgs = db.Org:find_many{ order_by = { id = "asc" }, select = { name = true,
        members = { select = { name = true }, order_by = { no = "asc" }, include = { tasks = { select = { title = true } } } } } }
      assert.are.same({ name = "acme", members = {
        { name = "ann", tasks = orgs[1].members[1].tasks }, { name = "bob", tasks = orgs[1].members[2].tasks } } }, orgs[1])
      assert.are.equal("a1,a2", titles(orgs[1].members[1].tasks))
      assert.is_nil(orgs[1].members[1].org_id) -- the key fields added for stitching are removed again
      assert.is_nil(orgs[1].members[1].no)
      assert.are.equal("c1", titles(orgs[2].members[1].tasks))
    end)

    it("takes one statement per relation level", function()
      local function load()
        return db.Org:find_many{ include = { members = { include = { tasks = true, badge = true, teams = true } } } }
      end
      load()
      local before = db:stats().statements
      load()
      assert.are.equal(5, db:stats().statements - before)
    end)

    it("does not mix text keys that concatenate alike", function()
      db.Page:create_many{ data = { { ns = "ab", slug = "c", title = "first" }, { ns = "a", slug = "bc", title = "second" } } }
      db.Revision:create_many{ data = { { ns = "ab", slug = "c", n = 1 }, { ns = "a", slug = "bc", n = 2 }, { ns = "a", slug = "bc", n = 3 } } }
      local pages = db.Page:find_many{ include = { revisions = true }, order_by = { title = "asc" } }
      assert.are.equal(1, #pages[1].revisions)
      assert.are.equal(1, pages[1].revisions[1].n)
      assert.are.equal(2, #pages[2].revisions)
      local revs = db.Revision:find_many{ include = { page = true }, order_by = { n = "asc" } }
      assert.are.equal("first", revs[1].page.title)
      assert.are.equal("second", revs[3].page.title)
    end)

    it("loads through a join model by the field its foreign key references", function()
      db:exec("truncate authors, books, credits restart identity")
      db.Author:create_many{ data = { { handle = "zed" }, { handle = "amy" } } }
      db.Book:create_many{ data = { { title = "one" }, { title = "two" } } }
      db.Credit:create_many{ data = { { handle = "amy", book_id = 1 }, { handle = "amy", book_id = 2 }, { handle = "zed", book_id = 2 } } }
      local authors = db.Author:find_many{ include = { books = true }, order_by = { handle = "asc" } }
      assert.are.equal("one,two", titles(authors[1].books))
      assert.are.equal("two", titles(authors[2].books))
      local two = db.Book:find_unique{ where = { id = 2 }, include = { authors = true } }
      assert.are.equal("amy,zed", titles(two.authors, "handle"))
    end)

    it("gives a parent whose referenced key has a NULL part no related rows", function()
      db.Seat:create_many{ data = { { room = "A", number = 1 }, { number = 1 } } }
      db.Booking:create_many{ data = { { guest = "g1", room = "A", seat_no = 1 }, { guest = "g2", seat_no = 1 } } }
      local seats = db.Seat:find_many{ include = { bookings = true }, order_by = { id = "asc" } }
      assert.are.equal("g1", titles(seats[1].bookings, "guest"))
      assert.are.equal(0, #seats[2].bookings)
      local g2 = db.Booking:find_first{ where = { guest = "g2" }, include = { seat = true } }
      assert.is_nil(g2.seat)
    end)
  end)

  describe("filters, ordering and counts", function()
    before_each(seed)

    it("filters by a list relation: some, every, none", function()
      assert.are.equal("ann", titles(db.Member:find_many{ where = { tasks = { some = { points = { lt = 2 } } } } }, "name"))
      -- dee has no tasks, so every holds for her; bob's and cy's tasks all have points >= 2
      assert.are.equal("bob,cy,dee", titles(db.Member:find_many{ where = { tasks = { every = { points = { gte = 2 } } } } }, "name"))
      assert.are.equal("dee", titles(db.Member:find_many{ where = { tasks = { none = {} } } }, "name"))
      assert.are.equal("ann,cy", titles(db.Member:find_many{ where = { teams = { some = { name = "red" } } } }, "name"))
      assert.are.equal("bob,dee", titles(db.Member:find_many{ where = { teams = { none = {} } } }, "name"))
      assert.are.equal(1, db.Team:count{ where = { members = { some = { org_id = 2 } } } })
    end)

    it("filters by a single relation: is, is_not and null", function()
      assert.are.equal("a1,a2,b1", titles(db.Task:find_many{ where = { assignee = { is = { org = { is = { name = "acme" } } } } } }))
      -- is_not holds where no related row matches: tasks without one too
      assert.are.equal("c1,half,none", titles(db.Task:find_many{ where = { assignee = { is_not = { org_id = 1 } } } }))
      -- a key with a NULL part refers to no member
      assert.are.equal("half,none", titles(db.Task:find_many{ where = { assignee = { is = tide.null } } }))
      assert.are.equal(4, db.Task:count{ where = { assignee = { is_not = tide.null } } })
      assert.are.equal("bob", titles(db.Member:find_many{ where = { badge = { is = { label = "gold" } } } }, "name"))
      assert.are.equal(2, db.Member:count{ where = { badge = { is = tide.null } } })
    end)

    it("orders by a related field and by a relation's count", function()
      local tasks = db.Task:find_many{ where = { assignee = { is_not = tide.null } },
        order_by = { { assignee = { name = "desc" } }, { title = "asc" } } }
      assert.are.equal("c1", tasks[1].title)
      assert.are.equal("b1", tasks[2].title)
      assert.are.equal("a1", tasks[3].title)
      local members = db.Member:find_many{ order_by = { { tasks = { _count = "desc" } }, { org_id = "desc" }, { no = "desc" } } }
      assert.are.equal("ann", members[1].name)
      assert.are.equal("cy", members[2].name)
      assert.are.equal("bob", members[3].name)
      assert.are.equal("dee", members[4].name)
      local first = db.Member:find_first{ order_by = { { teams = { _count = "desc" } } } }
      assert.are.equal("ann", first.name)
    end)

    it("counts related rows", function()
      local members = db.Member:find_many{ include = { _count = true }, order_by = { { org_id = "asc" }, { no = "asc" } } }
      assert.are.same({ tasks = 2, teams = 2 }, members[1]._count)
      assert.are.same({ tasks = 1, teams = 0 }, members[2]._count)
      assert.are.same({ tasks = 1, teams = 1 }, members[3]._count)
      assert.are.same({ tasks = 0, teams = 0 }, members[4]._count)
      local ann = db.Member:find_unique{ where = { org_id = 1, no = 1 },
        select = { name = true, _count = { select = { tasks = { where = { points = { gt = 1 } } } } } } }
      assert.are.same({ name = "ann", _count = { tasks = 1 } }, ann)
      -- a count inside an included list, with a limit per parent
      local org = db.Org:find_unique{ where = { id = 1 },
        include = { members = { take = 1, order_by = { no = "desc" }, include = { _count = { select = { tasks = true } } } } } }
      assert.are.equal("bob", org.members[1].name)
      assert.are.equal(1, org.members[1]._count.tasks)
    end)
  end)

  describe("nested writes", function()
    before_each(seed)

    it("connects, creates and connects-or-creates a belongs_to by its compound key", function()
      local task = db.Task:create{ data = { title = "new", assignee = { connect = { org_id = 2, no = 1 } } },
        include = { assignee = true } }
      assert.are.equal(2, task.org_id)
      assert.are.equal(1, task.member_no)
      assert.are.equal("cy", task.assignee.name)
      task = db.Task:create{ data = { title = "new2", assignee = { create = { org_id = 2, no = 3, name = "eve" } } } }
      assert.are.equal(3, task.member_no)
      assert.are.equal("eve", member(2, 3).name)
      task = db.Task:create{ data = { title = "new3", assignee = { connect_or_create = {
        where = { org_id = 1, no = 2 }, create = { org_id = 1, no = 2, name = "never" } } } } }
      assert.are.same({ 1, 2 }, { task.org_id, task.member_no })
      assert.are.equal("bob", member(1, 2).name)
      local e = helper.raises(function()
        return db.Task:create{ data = { title = "x", assignee = { connect = { org_id = 9, no = 9 } } } }
      end)
      assert.are.equal("not_found", e.code)
      assert.are.equal(0, db.Task:count{ where = { title = "x" } })
    end)

    it("disconnects, updates and upserts through a belongs_to", function()
      local a1 = db.Task:find_first{ where = { title = "a1" } }
      local task = db.Task:update{ where = { id = a1.id }, data = { assignee = { update = { name = "ann2" } } },
        include = { assignee = true } }
      assert.are.equal("ann2", task.assignee.name)
      assert.are.equal("bob", member(1, 2).name) -- only the one the key names
      task = db.Task:update{ where = { id = a1.id }, data = { assignee = { disconnect = true } } }
      assert.is_nil(task.org_id)
      assert.is_nil(task.member_no)
      -- upsert without a related row creates one and links it
      task = db.Task:update{ where = { id = a1.id }, data = { assignee = { upsert = {
        create = { org_id = 1, no = 7, name = "gus" }, update = { name = "unused" } } } }, include = { assignee = true } }
      assert.are.equal("gus", task.assignee.name)
      -- with one, it updates it
      task = db.Task:update{ where = { id = a1.id }, data = { assignee = { upsert = {
        create = { org_id = 1, no = 8, name = "unused" }, update = { name = "gus2" } } } }, include = { assignee = true } }
      assert.are.equal("gus2", task.assignee.name)
      assert.is_nil(member(1, 8))
      -- a key with a NULL part names no row to update
      local half = db.Task:find_first{ where = { title = "half" } }
      local e = helper.raises(function()
        return db.Task:update{ where = { id = half.id }, data = { assignee = { update = { name = "z" } } } }
      end)
      assert.matches("update needs an existing related row", e.message)
    end)

    it("creates children with every part of the key, and reads the parent back by its composite key", function()
      local m = db.Member:create{ data = { org_id = 2, no = 5, name = "fay",
        tasks = { create = { { title = "f1" }, { title = "f2", points = 4 } } },
        badge = { create = { label = "bronze" } },
      }, include = { tasks = { order_by = { title = "asc" } }, badge = true } }
      assert.are.equal("f1,f2", titles(m.tasks))
      assert.are.same({ 2, 5 }, { m.tasks[2].org_id, m.tasks[2].member_no })
      assert.are.equal("bronze", m.badge.label)
      -- a has_many whose children hold part of their own composite key
      local org = db.Org:create{ data = { name = "initech", members = { create = { { no = 1, name = "hal",
        tasks = { create_many = { data = { { title = "h1" }, { title = "h2" } } } } } } } },
        include = { members = { include = { tasks = true } } } }
      assert.are.equal(3, org.members[1].org_id)
      assert.are.equal("h1,h2", titles(org.members[1].tasks))
    end)

    it("connects, sets, disconnects and deletes children of this parent only", function()
      local c1 = db.Task:find_first{ where = { title = "c1" } }
      local half = db.Task:find_first{ where = { title = "half" } }
      local m = db.Member:update{ where = { org_id = 1, no = 2 }, data = { tasks = { connect = { { id = c1.id }, { id = half.id } } } },
        include = { tasks = true } }
      assert.are.equal("b1,c1,half", titles(m.tasks))
      assert.are.equal(0, #db.Member:find_unique{ where = { org_id = 2, no = 1 }, include = { tasks = true } }.tasks)
      m = db.Member:update{ where = { org_id = 1, no = 2 }, data = { tasks = { disconnect = { title = "c1" } } }, include = { tasks = true } }
      assert.are.equal("b1,half", titles(m.tasks))
      local freed = db.Task:find_unique{ where = { id = c1.id } }
      assert.is_nil(freed.org_id)
      assert.is_nil(freed.member_no)
      m = db.Member:update{ where = { org_id = 1, no = 2 }, data = { tasks = { set = { { id = c1.id } } } }, include = { tasks = true } }
      assert.are.equal("c1", titles(m.tasks))
      assert.are.equal(2, db.Task:count{ where = { title = { in_ = { "b1", "half" } }, org_id = tide.null } })
      -- delete and delete_many reach only this member's tasks, however wide the condition
      m = db.Member:update{ where = { org_id = 1, no = 1 }, data = { tasks = { delete = { points = { gte = 0 } } } }, include = { tasks = true } }
      assert.are.equal(0, #m.tasks)
      assert.are.equal(1, db.Task:count{ where = { title = "c1" } })
      db.Member:update{ where = { org_id = 1, no = 2 }, data = { tasks = { delete_many = {} } } }
      assert.are.equal(0, db.Task:count{ where = { title = "c1" } })
      assert.are.equal(3, db.Task:count())
    end)

    it("updates and upserts children of this parent only", function()
      db.Member:update{ where = { org_id = 1, no = 1 }, data = { tasks = {
        update = { where = { title = "a1" }, data = { points = 10 } },
        update_many = { where = {}, data = { title = { set = "mine" } } },
        upsert = { where = { title = "zz" }, create = { title = "a3" }, update = { points = 0 } },
      }, badge = { upsert = { create = { label = "new" }, update = { label = "unused" } } } } }
      local ann = db.Member:find_unique{ where = { org_id = 1, no = 1 }, include = { tasks = { order_by = { points = "desc" } }, badge = true } }
      assert.are.equal("a3,mine,mine", titles(ann.tasks))
      assert.are.equal(10, ann.tasks[1].points)
      assert.are.equal("new", ann.badge.label)
      -- crossed keys are other members: untouched
      assert.are.equal("b1", titles(db.Member:find_unique{ where = { org_id = 1, no = 2 }, include = { tasks = true } }.tasks))
      assert.are.equal("c1", titles(db.Member:find_unique{ where = { org_id = 2, no = 1 }, include = { tasks = true } }.tasks))
      db.Member:update{ where = { org_id = 1, no = 2 }, data = { badge = { update = { label = "platinum" } } } }
      assert.are.equal("platinum", db.Badge:find_first{ where = { org_id = 1, member_no = 2 } }.label)
      assert.are.equal("silver", db.Badge:find_first{ where = { org_id = 2, member_no = 1 } }.label)
      db.Member:update{ where = { org_id = 1, no = 2 }, data = { badge = { delete = true } } }
      assert.are.equal("new,silver", titles(db.Badge:find_many(), "label"))
    end)

    it("leaves nothing written when a nested write fails halfway", function()
      local tasks, members, orgs = db.Task:count(), db.Member:count(), db.Org:count()
      local e = helper.raises(function()
        return db.Org:create{ data = { name = "umbrella", members = { create = {
          { no = 1, name = "ok", tasks = { create = { { title = "fine" } } } },
          { no = 2, name = "bad", tasks = { create = { { title = "fine too" }, { title = tide.null } } } },
        } } } }
      end)
      assert.are.equal("not_null_violation", e.code)
      assert.are.same({ tasks, members, orgs }, { db.Task:count(), db.Member:count(), db.Org:count() })
      -- and in an update: the row's own change and the first writes go with the failing one
      e = helper.raises(function()
        return db.Member:update{ where = { org_id = 1, no = 2 }, data = { name = "renamed",
          tasks = { create = { title = "t" } }, badge = { create = { label = "second" } } } }
      end)
      assert.are.equal("unique_violation", e.code)
      assert.are.equal("bob", member(1, 2).name)
      assert.are.equal(tasks, db.Task:count())
      assert.are.equal(0, db.Badge:count{ where = { label = "second" } })
    end)

    it("refuses to link rows to a key with a NULL part", function()
      local seat = db.Seat:create{ data = { number = 4 } } -- room is NULL
      local e = helper.raises(function()
        return db.Seat:update{ where = { id = seat.id }, data = { bookings = { create = { guest = "g" } } } }
      end)
      assert.are.equal("invalid_argument", e.code)
      assert.matches("key %(room, number%) has a null part", e.message)
      assert.are.equal(0, db.Booking:count())
      -- and a condition on its children matches none of the unlinked rows
      db.Booking:create{ data = { guest = "loose", seat_no = 4 } }
      db.Seat:update{ where = { id = seat.id }, data = { bookings = { delete_many = {} } } }
      assert.are.equal(1, db.Booking:count())
      e = helper.raises(function()
        return db.Booking:create{ data = { guest = "h", seat = { connect = { id = seat.id } } } }
      end)
      assert.matches("the Seat's key %(room, number%) has a null part", e.message)
      assert.are.equal(1, db.Booking:count())
    end)
  end)
end)
