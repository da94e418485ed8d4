-- Refill a token bucket to Redis's own clock and take a cost, atomically.
-- KEYS[1]: the bucket. ARGV: capacity, amount, per (microseconds), cost, force (1 or 0).
-- Returns {allowed, tokens (as a string: Lua numbers are doubles), retry_after_us, reset_us}.
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / tonumber(ARGV[3]) -- tokens per microsecond
local cost = tonumber(ARGV[4])
local force = ARGV[5] == '1'
-- Waits are bounded as bucket.go's MaxWait (365 days, in microseconds), so a huge debt still gives
-- a TTL and durations that fit.
local MAXWAIT = 31536000000000

-- Redis's clock, not the callers': replicas with skewed clocks still share one bucket exactly.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil or ts == nil then
  tokens, ts = capacity, now
elseif now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end

local allowed, retry = 0, 0
if cost <= 0 or force or tokens >= cost then
  tokens = math.min(capacity, tokens - cost)
  allowed = 1
elseif cost > capacity then
  retry = -1
else
  retry = math.min(math.ceil((cost - tokens) / rate), MAXWAIT)
end

local reset = math.min(math.ceil((capacity - tokens) / rate), MAXWAIT)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%d', ts))
-- A full bucket is the same as none: let Redis drop it a second after it would be full.
redis.call('PEXPIRE', KEYS[1], math.ceil(reset / 1000) + 1000)
return {allowed, string.format('%.17g', tokens), retry, reset}
