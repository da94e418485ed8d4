// Package ratelimiter meters sensitive endpoints per namespace with token buckets: requests, and
// LLM tokens reserved before a call and settled with the provider's reported usage after it.
//
// A bucket holds up to Capacity units and refills Amount units every Per, continuously. Buckets
// live in a Store: Memory for one process, Redis for counting shared by every replica (each
// decision is one atomic round trip, a Lua script run on Redis's clock). The Limiter resolves which
// AirlockPolicy rate limits apply to a call, applies them all, and, when Redis cannot be reached,
// fails closed or falls back to local buckets of capacity/N per replica, as each limit says. The
// HTTP JSON API and Envoy's RateLimitService gRPC API both call the Limiter.
package ratelimiter
