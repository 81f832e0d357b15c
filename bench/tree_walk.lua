-- tree_walk: recursive in-order walk of a binary tree where every node is its
-- own coroutine re-yielding its children's values (twin of tree_walk.co).
local wrap, yield = coroutine.wrap, coroutine.yield

local function tree(lo, hi)
  if lo >= hi then return nil end
  local mid = (lo + hi) // 2
  return { left = tree(lo, mid), value = mid, right = tree(mid + 1, hi) }
end

local function iter(node)
  return wrap(function()
    if node.left ~= nil then
      for v in iter(node.left) do yield(v) end
    end
    yield(node.value)
    if node.right ~= nil then
      for v in iter(node.right) do yield(v) end
    end
  end)
end

local t = tree(0, 100000)
local total = 0
for rep = 1, 10 do
  for v in iter(t) do total = total + v end
end
print("tree_walk " .. total)
