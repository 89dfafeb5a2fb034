-- W5's values for the Lua programs (the same as bench/w5.h).
return {
  USERS = 10000,
  SETUP = "delete from posts where title like 'w5 %'",
  BODY = "Body of a post written inside the W5 transaction benchmark: one user renamed, one post inserted, committed; "
    .. "about one hundred and seventy characters long.",
  CREATED_AT = "2025-01-01T00:00:00+00:00",
}
