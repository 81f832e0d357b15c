-- round_robin: a round-robin scheduler of 10,000 coroutine tasks over a
-- queue (twin of round_robin.co).
local create, resume, yield, status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status

local function task(ident, steps)
  return create(function()
    local acc = 0
    local i = 0
    while i < steps do
      acc = acc + (ident ~ i)
      yield()
      i = i + 1
    end
    return acc
  end)
end

local queue, head, tail = {}, 1, 0
local n = 10000
for ident = 0, n - 1 do
  tail = tail + 1
  queue[tail] = task(ident, 400 + ident % 200)
end
local total, finished = 0, 0
while head <= tail do
  local t = queue[head]
  queue[head] = nil
  head = head + 1
  local ok, v = resume(t)
  if not ok then error(v) end
  if status(t) == "dead" then
    total = total + v
    finished = finished + 1
  else
    tail = tail + 1
    queue[tail] = t
  end
end
print("round_robin " .. finished .. " " .. total)
