package ratelimiter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Descriptor entry keys the RLS server reads. Envoy's rate-limit actions produce them, for
// example a generic_key or request_headers action with descriptor_key "namespace".
const (
	DescriptorNamespace = "namespace" // required
	DescriptorEndpoint  = "endpoint"  // host and path; or:
	DescriptorHost      = "host"      // the host (":authority")
	DescriptorPath      = "path"      // the path (":path")
	DescriptorKind      = "kind"      // requests (default) or tokens
)

// RLS serves Envoy's RateLimitService (v3) from a Limiter, so Envoy, Istio or Cilium's Envoy can
// enforce Airlock's limits. Each descriptor is one Request; its hits_addend (or the request's)
// is the cost. The answer is OVER_LIMIT when any descriptor is, with the RateLimit headers
// for Envoy to add to the response.
type RLS struct {
	rlsv3.UnimplementedRateLimitServiceServer
	Limiter *Limiter
}

// ShouldRateLimit implements rlsv3.RateLimitServiceServer.
func (s *RLS) ShouldRateLimit(ctx context.Context, req *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	if len(req.GetDescriptors()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "ratelimiter: no descriptors: send at least one with a namespace entry")
	}
	resp := &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK}
	var headerFrom *Result
	for i, d := range req.GetDescriptors() {
		r, err := descriptorRequest(d, req.GetHitsAddend())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "ratelimiter: descriptor %d: %v", i, err)
		}
		res, err := s.Limiter.Check(ctx, r)
		if err != nil {
			code := codes.Unavailable
			if errors.Is(err, ErrInvalidRequest) {
				code = codes.InvalidArgument
			}
			return nil, status.Errorf(code, "ratelimiter: descriptor %d: %v", i, err)
		}
		st := &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK}
		if !res.Allowed {
			st.Code = rlsv3.RateLimitResponse_OVER_LIMIT
			resp.OverallCode = rlsv3.RateLimitResponse_OVER_LIMIT
		}
		if a, ok := tightest(res); ok {
			st.CurrentLimit = envoyLimit(a)
			st.LimitRemaining = uint32(min(a.Remaining, math.MaxUint32))
			st.DurationUntilReset = durationpb.New(a.Reset)
		}
		resp.Statuses = append(resp.Statuses, st)
		if headerFrom == nil || !res.Allowed && headerFrom.Allowed {
			headerFrom = &res
		}
	}
	h := http.Header{}
	SetHeaders(h, *headerFrom)
	for k, vs := range h {
		for _, v := range vs {
			resp.ResponseHeadersToAdd = append(resp.ResponseHeadersToAdd, &corev3.HeaderValue{Key: k, Value: v})
		}
	}
	return resp, nil
}

func descriptorRequest(d *commonrl.RateLimitDescriptor, requestHits uint32) (Request, error) {
	var r Request
	var host, path string
	for _, e := range d.GetEntries() {
		switch e.GetKey() {
		case DescriptorNamespace:
			r.Namespace = e.GetValue()
		case DescriptorEndpoint:
			r.Endpoint = e.GetValue()
		case DescriptorHost:
			host = e.GetValue()
		case DescriptorPath:
			path = e.GetValue()
		case DescriptorKind:
			k, err := ParseKind(e.GetValue())
			if err != nil {
				return r, err
			}
			r.Kind = k
		}
	}
	if r.Namespace == "" {
		return r, fmt.Errorf("no %q entry", DescriptorNamespace)
	}
	if r.Endpoint == "" {
		r.Endpoint = host + path
	}
	r.Cost = int64(requestHits)
	if h := d.GetHitsAddend(); h != nil {
		r.Cost = int64(h.GetValue())
	}
	if r.Cost == 0 {
		r.Cost = 1 // Envoy's default: a request is one hit
	}
	return r, nil
}

// tightest is the applied limit with the least remaining (a denying one first).
func tightest(r Result) (Applied, bool) {
	var best Applied
	found := false
	for _, a := range r.Applied {
		if !found || (!a.Allowed && best.Allowed) || (a.Allowed == best.Allowed && a.Remaining < best.Remaining) {
			best, found = a, true
		}
	}
	return best, found
}

// envoyLimit describes a limit in Envoy's terms: Amount per the largest unit that divides Per,
// with a multiplier when Per is several units.
func envoyLimit(a Applied) *rlsv3.RateLimitResponse_RateLimit {
	out := &rlsv3.RateLimitResponse_RateLimit{Name: a.Name + "/" + string(a.Kind), RequestsPerUnit: uint32(min(a.Limit.Amount, math.MaxUint32))}
	for _, u := range []struct {
		d    time.Duration
		unit rlsv3.RateLimitResponse_RateLimit_Unit
	}{{24 * time.Hour, rlsv3.RateLimitResponse_RateLimit_DAY}, {time.Hour, rlsv3.RateLimitResponse_RateLimit_HOUR},
		{time.Minute, rlsv3.RateLimitResponse_RateLimit_MINUTE}, {time.Second, rlsv3.RateLimitResponse_RateLimit_SECOND}} {
		if a.Limit.Per >= u.d && a.Limit.Per%u.d == 0 {
			out.Unit = u.unit
			if m := a.Limit.Per / u.d; m > 1 {
				out.UnitMultiplier = wrapperspb.UInt32(uint32(min(m, math.MaxUint32)))
			}
			break
		}
	}
	return out
}
