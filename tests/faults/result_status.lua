-- tests/faults/result_status.lua: for each key vc:result:{id}, the status field of the stored
-- DetectionResult (msgpack map), '-' when the key is absent, '?' when it does not decode.
-- Read-only; used by the fault audit through `redis-cli --eval`.
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if not v then
    out[i] = '-'
  else
    local ok, r = pcall(cmsgpack.unpack, v)
    if ok and type(r) == 'table' and type(r.status) == 'string' then
      out[i] = r.status
    else
      out[i] = '?'
    end
  end
end
return out
