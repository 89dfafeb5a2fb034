-- W3's check over a nested result, for the Lua programs: the same shape
-- checks and sum as w3_sum in bench/w3.h (user id + number of posts + post
-- ids + number of comments + comment ids). Every field is read.
local w3 = { USERS = 10000, TAKE = 5 }

function w3.sum(prog, u, key)
  if not u or u.id ~= key or u.email == "" or u.name == "" or not u.created_at then
    error(("%s: user %d: unexpected user row"):format(prog, key))
  end
  local posts = u.posts
  local s = u.id + #posts
  for i = 1, #posts do
    local p = posts[i]
    local comments = p.comments
    if p.author_id ~= key or p.title == "" or p.body == "" or not p.created_at or type(p.published) ~= "boolean"
      or #comments > w3.TAKE then
      error(("%s: user %d: unexpected post %s"):format(prog, key, tostring(p.id)))
    end
    s = s + p.id + #comments
    local last
    for j = 1, #comments do
      local c = comments[j]
      if c.post_id ~= p.id or c.body == "" or not c.author_id or (last and c.id >= last) then
        error(("%s: user %d: unexpected comment %s"):format(prog, key, tostring(c.id)))
      end
      last = c.id
      s = s + c.id
    end
  end
  return s
end

return w3
