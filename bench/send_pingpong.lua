-- send_pingpong: send values into a running-average coroutine (twin of send_pingpong.co).
local function averager()
  return coroutine.create(function()
    local total, count, average = 0, 0, nil
    while true do
      local value = coroutine.yield(average)
      total = total + value
      count = count + 1
      average = total // count
    end
  end)
end

local avg = averager()
local resume = coroutine.resume
resume(avg)
local checksum = 0
local i = 0
while i < 7000000 do
  local ok, v = resume(avg, i % 1000)
  if not ok then error(v) end
  checksum = checksum + v
  i = i + 1
end
print("send_pingpong " .. checksum)
