-- W3 through tide's model client with relation_load_strategy = "join": the
-- same calls as w3_model.lua, each one statement (the posts and their
-- comments as JSON columns built by the server).
--
--   tide run bench/w3_model_join.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
W3_RELATION_LOAD_STRATEGY = "join"
dofile(dir .. "/w3_model.lua")
