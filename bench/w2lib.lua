-- W2's per-operation check, shared by its Lua tools: every row's fields read,
-- summed as bench/w2_libpq.c sums them.
local M = {}

function M.check_rows(rows, author)
  local sum = #rows
  for _, r in ipairs(rows) do
    local id, title, created_at, name = r.id, r.title, r.created_at, r.author
    if math.type(id) ~= "integer" or id <= 0 or not created_at or not name or name == "" then
      error(("w2: author %d: unexpected row"):format(author))
    end
    sum = sum + id + #title + #name
  end
  return sum
end

return M
