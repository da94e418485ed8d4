package ratelimiter

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPAPI(t *testing.T) {
	now := time.Unix(1000, 0)
	srv := httptest.NewServer((&Server{Limiter: newTestLimiter(t, &now)}).Handler())
	defer srv.Close()
	post := func(path, body string) (*http.Response, Response) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out Response
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: response is not JSON: %q", path, b)
		}
		return resp, out
	}
	check := `{"namespace":"team-b","endpoint":"api.openai.com/v1/chat/completions"}`
	resp, out := post("/v1/check", check)
	if resp.StatusCode != 200 || !out.Allowed || *out.Remaining != 1 || resp.Header.Get("RateLimit") != `"default/requests";r=1;t=30` {
		t.Fatalf("first check: %d %+v %v", resp.StatusCode, out, resp.Header)
	}
	post("/v1/check", check)
	resp, out = post("/v1/check", check)
	if resp.StatusCode != 429 || out.Allowed || resp.Header.Get("Retry-After") != "30" || out.RetryAfter != 30 {
		t.Fatalf("third check: %d %+v %v", resp.StatusCode, out, resp.Header)
	}

	resp, out = post("/v1/reserve", `{"namespace":"team-a","endpoint":"api.openai.com/v1/chat/completions","prompt":"`+strings.Repeat("abcd", 100)+`","maxTokens":200}`)
	if resp.StatusCode != 200 || out.Reserved != 300 || *out.Remaining != 700 {
		t.Fatalf("reserve from a 400-byte prompt and 200 max tokens: %d %+v", resp.StatusCode, out)
	}
	if out.Reservation == "" {
		t.Fatalf("reserve returned no reservation: %+v", out)
	}
	settle := `{"reservation":"` + out.Reservation + `","used":120,"final":true}`
	resp, out = post("/v1/settle", settle)
	if resp.StatusCode != 200 || *out.Remaining != 880 {
		t.Fatalf("settle: %d %+v", resp.StatusCode, out)
	}
	if resp, out = post("/v1/settle", settle); resp.StatusCode != 404 || !strings.Contains(out.Error, "unknown or expired reservation") {
		t.Fatalf("settling twice: %d %+v, want 404", resp.StatusCode, out)
	}

	for _, c := range []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"empty body", "/v1/check", ``, 400, "empty body"},
		{"not JSON", "/v1/check", `namespace=a`, 400, "invalid character"},
		{"truncated", "/v1/check", `{"namespace":"a"`, 400, "unexpected EOF"},
		{"unknown field", "/v1/check", `{"namespace":"a","endpont":"x"}`, 400, `unknown field "endpont"`},
		{"two values", "/v1/check", `{"namespace":"a"} {}`, 400, "more than one JSON value"},
		{"no namespace", "/v1/check", `{"endpoint":"x"}`, 400, "namespace is required"},
		{"not a namespace name", "/v1/check", `{"namespace":"Team A/../x"}`, 400, "a lowercase RFC 1123 label"},
		{"bad kind", "/v1/check", `{"namespace":"a","kind":"bytes"}`, 400, `unknown kind "bytes"`},
		{"negative cost", "/v1/check", `{"namespace":"a","cost":-5}`, 400, "negative"},
		{"negative used", "/v1/settle", `{"reservation":"x","used":-1}`, 400, "must be between 0 and"},
		{"settle without a reservation", "/v1/settle", `{"used":5}`, 400, "reservation is required"},
		{"settle the old way", "/v1/settle", `{"namespace":"a","endpoint":"x/","reserved":1,"used":0}`, 400, "unknown field"},
		{"huge body", "/v1/reserve", `{"namespace":"a","prompt":"` + strings.Repeat("x", MaxRequestBytes) + `"}`, 413, "too large"},
	} {
		resp, out := post(c.path, c.body)
		if resp.StatusCode != c.status || !strings.Contains(out.Error, c.msg) {
			t.Errorf("%s: %d %q, want %d mentioning %q", c.name, resp.StatusCode, out.Error, c.status, c.msg)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/check")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/check: %d, want 405", resp.StatusCode)
	}
}

func TestNotReadyUntilRulesLoad(t *testing.T) {
	srv := httptest.NewServer((&Server{Limiter: &Limiter{}}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz before rules: %d, want 503", resp.StatusCode)
	}
}
