-- W4's rows and check for the Lua programs: the rows of bench/w4.h (row i:
-- n = i, label = "label <i> " and i % 20 'x's, at = 2024-01-01 plus i
-- seconds in ISO 8601), and the check read back from w4_rows.
local w4 = {
  SETUP = "truncate w4_rows restart identity; checkpoint",
  CHECK = "select (count(*) + coalesce(sum(n), 0) + coalesce(sum(length(label)), 0) + "
    .. "coalesce(sum(extract(epoch from at)::bigint), 0))::bigint as check from w4_rows",
}

--- The rows as an application holds them: a list of { n =, label =, at = }.
function w4.rows(count)
  local rows = {}
  for i = 1, count do
    rows[i] = {
      n = i,
      label = "label " .. i .. " " .. ("x"):rep(i % 20),
      at = ("2024-01-%02dT%02d:%02d:%02d+00:00"):format(1 + (i // 86400) % 28, (i // 3600) % 24, (i // 60) % 60,
        i % 60),
    }
  end
  return rows
end

return w4
