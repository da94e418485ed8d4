-- Settle a reservation atomically: return it as it was and record the new charge (ARGV[1]), or
-- forget it when final (ARGV[2] == '1'). A missing reservation returns nil, so it is settled once.
local v = redis.call('HMGET', KEYS[1], 'ns', 'ep', 'charged')
if not v[3] then
  return nil
end
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'charged', ARGV[1])
end
return {v[1], v[2], v[3]}
