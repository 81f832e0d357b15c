-- gen_iter: a `for` loop over a counting generator (twin of gen_iter.co).
local function count(n)
  return coroutine.wrap(function()
    local i = 0
    while i < n do
      coroutine.yield(i)
      i = i + 1
    end
  end)
end

local total = 0
for x in count(15000000) do
  total = total + (x & 1023)
end
print("gen_iter " .. total)
