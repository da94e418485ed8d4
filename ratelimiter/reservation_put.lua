-- Record a reservation. KEYS[1]: the reservation. ARGV: namespace, endpoint, charged, ttl (ms).
redis.call('HSET', KEYS[1], 'ns', ARGV[1], 'ep', ARGV[2], 'charged', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
