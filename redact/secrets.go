package redact

import (
	"bytes"
	"regexp"
)

// token returns a validator for prefixed tokens: bounded by non-token bytes, not a placeholder,
// and (when minEntropy > 0) random enough.
func token(minEntropy float64) func([]byte, int, int) bool {
	inToken := func(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
	return func(text []byte, s, e int) bool {
		v := text[s:e]
		return bounded(text, s, e, inToken) && !looksLikePlaceholder(v) && (minEntropy == 0 || entropy(v) >= minEntropy)
	}
}

func secret(id, typ string, risk Risk, maxLen int, pattern string, minEntropy float64, tp, fp []string) *Detector {
	return &Detector{ID: id, Type: typ, Risk: risk, MaxLen: maxLen, Pattern: regexp.MustCompile(pattern),
		Validate: token(minEntropy), TruePositives: tp, FalsePositives: fp}
}

// Secrets returns detectors for credentials with a recognisable shape.
func Secrets() []*Detector {
	anthropic := secret("anthropic-api-key", "anthropic_api_key", RiskCritical, 130,
		`sk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{80,110}`, 3.5,
		[]string{"x-api-key: sk-ant-api03-" + randomish(95) + "AA"}, []string{"sk-ant-api03-your-key-here"})
	openai := secret("openai-api-key", "openai_api_key", RiskCritical, 220,
		`sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,200}`, 3.5,
		[]string{"Authorization: Bearer sk-proj-" + randomish(48)}, []string{"sk-...your-key-here", "sk-your-openai-key-goes-here-xxxxxxxxxxxx", "${OPENAI_API_KEY}"})
	openaiValidate := openai.Validate
	openai.Validate = func(text []byte, s, e int) bool { // Anthropic's keys start with sk- too
		return !bytes.HasPrefix(text[s:e], []byte("sk-ant-")) && openaiValidate(text, s, e)
	}
	return []*Detector{
		withQuick(secret("aws-access-key-id", "aws_access_key_id", RiskCritical, 20, `(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}`, 3.0,
			[]string{"aws_access_key_id = AKIAZ7Q3B5KD2MXW4RTE"}, []string{"AKIAIOSFODNN7EXAMPLE", "AKIA0000000000000000"}),
			func(t []byte, s int) bool {
				if s+4 > len(t) {
					return false
				}
				switch string(t[s : s+4]) {
				case "AKIA", "ASIA", "ABIA", "ACCA":
					return true
				}
				return false
			}),
		{
			ID: "aws-secret-access-key", Type: "aws_secret_access_key", Risk: RiskCritical, MaxLen: 40,
			Keywords: []string{"aws_secret", "secret_access_key", "secretaccesskey", "aws secret"},
			Pattern:  regexp.MustCompile(`[A-Za-z0-9/+]{40}`),
			Validate: func(text []byte, s, e int) bool {
				inToken := func(c byte) bool { return isAlnum(c) || c == '/' || c == '+' }
				v := text[s:e]
				return bounded(text, s, e, inToken) && !looksLikePlaceholder(v) && entropy(v) >= 4.0
			},
			TruePositives:  []string{"aws_secret_access_key=Zq8r3Jf/9KsL2mXpQ7vB4nT6wY1cE5hR0uG+aD3k"},
			FalsePositives: []string{"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "commit 0123456789abcdef0123456789abcdef01234567"},
		},
		secret("github-token", "github_token", RiskCritical, 40, `gh[pousr]_[A-Za-z0-9]{36}`, 3.0,
			[]string{"GITHUB_TOKEN=ghp_" + randomish(36)}, []string{"ghp_your_token_here"}),
		secret("github-fine-grained-pat", "github_token", RiskCritical, 93, `github_pat_[A-Za-z0-9_]{82}`, 3.0,
			[]string{"github_pat_" + randomish(82)}, nil),
		secret("gitlab-pat", "gitlab_token", RiskCritical, 26, `glpat-[A-Za-z0-9_\-]{20}`, 3.0,
			[]string{"glpat-" + randomish(20)}, []string{"glpat-xxxxxxxxxxxxxxxxxxxx"}),
		anthropic,
		openai,
		secret("google-api-key", "google_api_key", RiskHigh, 39, `AIza[0-9A-Za-z_\-]{35}`, 3.0,
			[]string{"key=AIza" + randomish(35)}, []string{"AIzaYOUR_API_KEY_xxxxxxxxxxxxxxxxxxxxxxx"}),
		{
			// Cohere keys have no prefix: 40 alphanumerics with "cohere" or "co_api_key" nearby.
			ID: "cohere-api-key", Type: "cohere_api_key", Risk: RiskCritical, MaxLen: 40,
			Keywords: []string{"cohere", "co_api_key"},
			Pattern:  regexp.MustCompile(`[A-Za-z0-9]{40}`),
			Validate: func(text []byte, s, e int) bool {
				v := text[s:e]
				return bounded(text, s, e, isAlnum) && !looksLikePlaceholder(v) && entropy(v) >= 4.0
			},
			TruePositives:  []string{"COHERE_API_KEY=" + randomish(40), `cohere.Client("` + randomish(40) + `")`},
			FalsePositives: []string{"cohere commit 3f786850e387550fdab836ed7e6dc881de23001b", "COHERE_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		},
		secret("huggingface-token", "huggingface_token", RiskHigh, 37, `hf_[A-Za-z0-9]{34}`, 3.0,
			[]string{"HF_TOKEN=hf_" + randomish(34)}, []string{"hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}),
		secret("slack-token", "slack_token", RiskHigh, 80, `xox[baprs]-[0-9A-Za-z\-]{10,72}`, 3.0,
			[]string{"xoxb-" + "2410" + "9348-" + randomish(24)}, []string{"xoxb-your-token"}),
		keywordStart(secret("stripe-secret-key", "stripe_key", RiskCritical, 107, `(?:sk|rk)_live_[0-9A-Za-z]{24,99}`, 3.0,
			[]string{"sk_live_" + randomish(24)}, []string{"sk_test_4eC39HqLyjWDarjtT1zdp7dc"}),
			"sk_live_", "rk_live_"),
		{
			// Signatures run from 43 characters (HS256) to 683 (RS512 with a 4096-bit key):
			// Kubernetes service-account, OIDC and Google ID tokens are RS256, 342.
			ID: "jwt", Type: "jwt", Risk: RiskHigh, MaxLen: 2800,
			Pattern:  regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{8,1000}\.eyJ[A-Za-z0-9_\-]{8,1000}\.[A-Za-z0-9_\-]{8,700}`),
			Validate: token(0),
			TruePositives: []string{"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
				"Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzIiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmRlZmF1bHQ6ZGVmYXVsdCJ9." + randomish(342)},
			FalsePositives: []string{"eyJhbGciOiJIUzI1NiJ9"},
		},
		{
			// A PEM private key, header to footer; the body is up to 8,000 bytes (an RSA-4096
			// key fits), including JSON-escaped line breaks.
			ID: "private-key", Type: "private_key", Risk: RiskCritical, MaxLen: 8100,
			Literal:        []byte("-----BEGIN "),
			Extend:         pemBlock,
			TruePositives:  []string{"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBjxUQ5S3M7\n-----END EC PRIVATE KEY-----"},
			FalsePositives: []string{"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"},
		},
		{
			// The value runs to its closing quote when quoted (so "&", ";" and JSON escapes such
			// as \u0026 stay inside it), else to the next separator; MaxLen bounds it.
			ID: "generic-secret-assignment", Type: "secret", Risk: RiskHigh, MaxLen: 3200, Group: -1, KeywordStart: true,
			Keywords: []string{"password", "passwd", "pwd", "secret", "token", "api", "access", "auth"},
			Pattern: regexp.MustCompile(`(?i)(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|auth)["']?\s{0,3}[:=]\s{0,3}` +
				`(?:\\?"((?:[^"\\\s]|\\u[0-9a-fA-F]{4}|\\/){8,})|'([^'\s]{8,})|([^\s"',;&\\]{8,}))`),
			Validate: func(text []byte, s, e int) bool {
				v := text[s:e]
				i := bytes.IndexAny(v, ":=")
				val := bytes.TrimLeft(v[i+1:], " \t\"'")
				return (s == 0 || !isAlnum(text[s-1])) && !looksLikePlaceholder(val) && entropy(val) >= 3.0
			},
			TruePositives: []string{`password=Tr0ub4dor-3x!Qz#9`, `"api_key": "9f8e7d6c5b4a3f2e1d0c"`, `{"password":"Xk9#mQ2vL8&pW4z"}`,
				`{"password":"Xk9#mQ2vL8\u0026pW4z"}`, `access_token='ya29.a0Af;H6SM'`},
			FalsePositives: []string{`password=${DB_PASSWORD}`, `token: <your token>`, `password=aaaaaaaaaa`},
		},
	}
}

// randomish returns a deterministic, random-looking alphanumeric string of length n, for the
// samples: real-looking keys must not be committed.
func randomish(n int) string {
	const alphabet = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}

// Default returns every built-in detector: PII, secrets, prompt injection, then model weights.
func Default() []*Detector {
	d := append([]*Detector{SSN(), Email(), CreditCard(), IBAN(), Phone()}, Secrets()...)
	d = append(d, PromptInjection()...)
	d = append(d, ModelWeights()...)
	// gitleaks' rules come last: where one and Airlock's own detectors find the same value,
	// Airlock's (which validate more) name it.
	return append(d, Gitleaks()...)
}

var (
	pemHeader = regexp.MustCompile(`^-----BEGIN (?:[A-Z]{1,10} )?PRIVATE KEY(?: BLOCK)?-----`)
	pemFooter = regexp.MustCompile(`^-----END (?:[A-Z]{1,10} )?PRIVATE KEY(?: BLOCK)?-----`)
)

// pemBlock finds the end of a PEM private key starting at s: a private-key header, a body of
// base64, headers and line breaks (raw or escaped), and the matching footer.
func pemBlock(text []byte, s int) (int, bool) {
	h := pemHeader.FindIndex(text[s:])
	if h == nil {
		return 0, false
	}
	window := text[s+h[1] : min(len(text), s+8100)]
	i := bytes.Index(window, []byte("-----END "))
	if i < 16 {
		return 0, false
	}
	for _, c := range window[:i] {
		if !isAlnum(c) && bytes.IndexByte([]byte("+/=:,- \t\r\n\\"), c) < 0 {
			return 0, false
		}
	}
	f := pemFooter.FindIndex(window[i:])
	if f == nil {
		return 0, false
	}
	return s + h[1] + i + f[1], true
}

// keywordStart makes the scan jump between occurrences of prefixes every candidate starts with.
func keywordStart(d *Detector, prefixes ...string) *Detector {
	d.Keywords, d.KeywordStart = prefixes, true
	return d
}

func withQuick(d *Detector, quick func([]byte, int) bool) *Detector {
	d.Quick = quick
	return d
}
