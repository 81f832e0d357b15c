-- yield_from_chain: values pass through a 50-deep chain of coroutines, each
-- re-yielding what its inner one yields and returning its result + 1
-- (twin of yield_from_chain.co; create/resume, since the return value matters).
local create, resume, yield, status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status

local function leaf(n)
  return create(function()
    local i = 0
    while i < n do
      yield(i)
      i = i + 1
    end
    return n
  end)
end

local function link(depth, n)
  return create(function()
    local sub
    if depth == 0 then sub = leaf(n) else sub = link(depth - 1, n) end
    while true do
      local ok, v = resume(sub)
      if not ok then error(v) end
      if status(sub) == "dead" then return v + 1 end
      yield(v)
    end
  end)
end

local total = 0
local g = link(50, 500000)
while true do
  local ok, v = resume(g)
  if not ok then error(v) end
  if status(g) == "dead" then break end
  total = total + v
end
print("yield_from_chain " .. total)
