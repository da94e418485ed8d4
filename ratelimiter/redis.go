package ratelimiter

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
)

//go:embed bucket.lua
var bucketScript string

var bucketLua = redis.NewScript(bucketScript)

// Redis is a Store shared by every replica: each Apply is one round trip running bucket.lua,
// which refills and takes atomically on Redis's clock (so the callers' clocks do not matter, and
// now is ignored). Keys are prefixed with Prefix.
type Redis struct {
	// Client is anything that runs scripts: a *redis.Client, a *redis.ClusterClient (every
	// bucket is one key, so one slot), or a test double.
	Client redis.Scripter
	Prefix string
}

// Apply implements Store.
func (r *Redis) Apply(ctx context.Context, key string, l Limit, cost int64, force bool, _ time.Time) (Decision, error) {
	f := "0"
	if force {
		f = "1"
	}
	res, err := bucketLua.Run(ctx, r.Client, []string{r.Prefix + key},
		l.Capacity, l.Amount, max(1, l.Per.Microseconds()), cost, f).Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimiter: redis: %w", err)
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("ratelimiter: redis: bucket script returned %d values, want 4", len(res))
	}
	allowed, _ := res[0].(int64)
	tokensText, _ := res[1].(string)
	retry, _ := res[2].(int64)
	reset, _ := res[3].(int64)
	tokens, err := strconv.ParseFloat(tokensText, 64)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimiter: redis: bucket script returned tokens %q: %w", tokensText, err)
	}
	d := Decision{Allowed: allowed == 1, Remaining: max(0, int64(math.Floor(tokens))), Reset: time.Duration(reset) * time.Microsecond}
	if retry < 0 {
		d.RetryAfter = -1
	} else {
		d.RetryAfter = time.Duration(retry) * time.Microsecond
	}
	return d, nil
}

// SetRedisLogger routes go-redis's own messages (a failed dial, every time) to log at debug
// level: the Limiter already logs a store failure once, with what it does about it.
func SetRedisLogger(log logr.Logger) { redis.SetLogger(redisLog{log}) }

type redisLog struct{ log logr.Logger }

func (r redisLog) Printf(_ context.Context, format string, v ...any) {
	r.log.V(1).Info(fmt.Sprintf(format, v...))
}
