-- SPDX-License-Identifier: MIT
-- wrk script: 16 pipelined GETs of the URL's path per write (the server's
-- capacity when one wrk thread would otherwise be the bottleneck). Unlike
-- the peers' pipeline16.lua it keeps the path, so "/json" works too.
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", wrk.path) end
  req = table.concat(r)
end
request = function() return req end
