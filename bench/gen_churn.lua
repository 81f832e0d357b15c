-- gen_churn: create, start, send into, "throw" into and close many coroutines
-- (twin of gen_churn.co). Lua cannot throw into a coroutine, so the throw is
-- a sentinel value the coroutine handles the way the .co handles Stop.
local create, resume, yield, close = coroutine.create, coroutine.resume, coroutine.yield, coroutine.close
local STOP = {}

local function worker(seed)
  return create(function()
    local acc = seed
    while true do
      local v = yield(acc)
      if v == STOP then
        acc = acc * 3 % 1000003
      else
        acc = acc + v
      end
    end
  end)
end

local checksum = 0
local i = 0
while i < 600000 do
  local g = worker(i)
  local _, a = resume(g)
  local _, b = resume(g, 7)
  local _, c = resume(g, STOP)
  local _, d = resume(g, i & 15)
  checksum = checksum + a + b + c + d
  close(g)
  checksum = checksum % 1000000007
  i = i + 1
end
print("gen_churn " .. checksum)
