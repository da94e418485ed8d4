package redact

import (
	"bytes"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// SSN finds US social security numbers: dashed or spaced, or nine bare digits with a context word
// nearby. Area 000, 666 and 900-999, group 00 and serial 0000 are never issued, so are rejected.
func SSN() *Detector {
	return &Detector{
		ID: "us-ssn", Type: "ssn", Risk: RiskHigh, MaxLen: 11, WordStart: true,
		Quick: func(t []byte, s int) bool {
			return s+2 < len(t) && isDigit(t[s+1]) && isDigit(t[s+2]) && numberStart(t, s) && digitsAhead(t, s, 11, "- ") >= 9
		},
		Pattern: regexp.MustCompile(`\d{3}[- ]?\d{2}[- ]?\d{4}`),
		Validate: func(text []byte, s, e int) bool {
			v := text[s:e]
			if !numberBounded(text, s, e) {
				return false
			}
			switch len(v) {
			case 11:
				if v[3] != v[6] { // separators must match: 123-45 6789 is not an SSN
					return false
				}
			case 9:
				window := bytes.ToLower(text[max(0, s-Context):s])
				if !bytes.Contains(window, []byte("ssn")) && !bytes.Contains(window, []byte("social security")) &&
					!bytes.Contains(window, []byte("social_security")) {
					return false
				}
			default:
				return false
			}
			d := digitsOf(v)
			area, _ := strconv.Atoi(string(d[:3]))
			return area != 0 && area != 666 && area < 900 && string(d[3:5]) != "00" && string(d[5:]) != "0000"
		},
		TruePositives:  []string{"SSN 123-45-6789", "ssn: 078 05 1120", "my social security number is 123456789", "id=219-09-9999;"},
		FalsePositives: []string{"000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000", "123456789", "123-45 6789", "v1.123-45-6789", "2024-01-1234"},
	}
}

// Email finds e-mail addresses, except at the domains reserved for documentation.
func Email() *Detector {
	return &Detector{
		ID: "email", Type: "email", Risk: RiskMedium, MaxLen: 254, Require: '@', RequireWithin: 64,
		RequireRun: func(c byte) bool { return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' },
		// Unbounded repetitions keep the program small enough for Go's backtracker (counted
		// ones made it 763 instructions, run by the slower NFA); Validate checks the lengths.
		// A label ends with a letter or digit, so "bob@acme.io-" is found without its hyphen.
		Pattern: regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+`),
		Validate: func(text []byte, s, e int) bool {
			inLocal := func(c byte) bool { return isAlnum(c) || bytes.IndexByte([]byte("._%+-"), c) >= 0 }
			if s > 0 && inLocal(text[s-1]) {
				return false
			}
			v := text[s:e]
			at := bytes.IndexByte(v, '@')
			local, domain := v[:at], bytes.ToLower(v[at+1:])
			if len(local) > 64 || len(domain) > 253 {
				return false
			}
			if local[0] == '.' || local[len(local)-1] == '.' || bytes.Contains(local, []byte("..")) {
				return false
			}
			labels := bytes.Split(domain, []byte("."))
			tld := labels[len(labels)-1]
			if len(tld) < 2 || !bytes.ContainsFunc(tld, func(r rune) bool { return r >= 'a' && r <= 'z' }) {
				return false
			}
			for _, l := range labels {
				if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
					return false
				}
			}
			for _, reserved := range []string{"example.com", "example.org", "example.net", "test", "invalid", "localhost"} {
				if bytes.Equal(domain, []byte(reserved)) || bytes.HasSuffix(domain, []byte("."+reserved)) {
					return false
				}
			}
			return true
		},
		TruePositives: []string{"mail jane.doe+ai@acme-corp.io now", "<bob@mail.co.uk>", "ops@mail.eu.west.corp.acme.io", "write to bob@acme.io-or call"},
		FalsePositives: []string{"user@example.com", "git@github", "a@b.c", "x@-bad.com",
			strings.Repeat("a", 65) + "@acme-corp.io", "jane@" + strings.Repeat("b", 64) + ".io"},
	}
}

// CreditCard finds payment card numbers (13-19 digits, optionally grouped by spaces or dashes)
// that pass Luhn and start with an issuer's range.
func CreditCard() *Detector {
	return &Detector{
		ID: "credit-card", Type: "credit_card", Risk: RiskCritical, MaxLen: 37, WordStart: true,
		// A card number's first digit starts a run: skip digits inside a longer token.
		Quick:   func(t []byte, s int) bool { return numberStart(t, s) && digitsAhead(t, s, 37, " -") >= 13 },
		Pattern: regexp.MustCompile(`\d(?:[ -]?\d){12,18}`),
		Validate: func(text []byte, s, e int) bool {
			if !numberBounded(text, s, e) {
				return false
			}
			v := text[s:e]
			var sep byte
			for _, c := range v {
				if !isDigit(c) {
					if sep != 0 && c != sep {
						return false // mixed separators
					}
					sep = c
				}
			}
			d := digitsOf(v)
			return !allSame(d) && issuerRange(d) && luhn(d)
		},
		TruePositives:  []string{"card 4111 1111 1111 1111 exp", "5555-5555-5555-4444", "amex 378282246310005", "6011111111111117"},
		FalsePositives: []string{"4111 1111 1111 1112", "1234567812345678", "0000000000000000", "1700000000000", "4111-1111 1111-1111", "id 41111111111111110000"},
	}
}

// issuerRange reports whether a card number starts with a known issuer's prefix at a length
// that issuer uses.
func issuerRange(d []byte) bool {
	n := len(d)
	p := func(k int) int { v, _ := strconv.Atoi(string(d[:k])); return v }
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720: // Mastercard
		return n == 16
	case p(2) == 34 || p(2) == 37: // American Express
		return n == 15
	case p(4) == 6011, p(2) == 65, p(3) >= 644 && p(3) <= 649, p(6) >= 622126 && p(6) <= 622925: // Discover
		return n >= 16 && n <= 19
	case p(4) >= 3528 && p(4) <= 3589: // JCB
		return n >= 16 && n <= 19
	case p(3) >= 300 && p(3) <= 305, p(2) == 36, p(2) == 38: // Diners Club
		return n >= 14 && n <= 19
	case p(2) == 62: // UnionPay
		return n >= 16 && n <= 19
	}
	return false
}

// ibanLengths is the IBAN length of each country (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
	"FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
	"HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
	"LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
	"NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
	"SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}

// IBAN finds international bank account numbers with the right length for their country and a
// valid mod-97 check.
func IBAN() *Detector {
	return &Detector{
		ID: "iban", Type: "iban", Risk: RiskHigh, MaxLen: 42, WordStart: true,
		Quick: func(t []byte, s int) bool {
			return s+3 < len(t) && t[s+1] >= 'A' && t[s+1] <= 'Z' && isDigit(t[s+2]) && isDigit(t[s+3])
		},
		Pattern: regexp.MustCompile(`[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?`),
		Validate: func(text []byte, s, e int) bool {
			if !bounded(text, s, e, isAlnum) {
				return false
			}
			v := bytes.ReplaceAll(text[s:e], []byte(" "), nil)
			if ibanLengths[string(v[:2])] != len(v) {
				return false
			}
			rearranged := append(append([]byte{}, v[4:]...), v[:4]...)
			var num []byte
			for _, c := range rearranged {
				if isDigit(c) {
					num = append(num, c)
				} else {
					num = strconv.AppendInt(num, int64(c-'A'+10), 10)
				}
			}
			n, ok := new(big.Int).SetString(string(num), 10)
			return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
		},
		TruePositives:  []string{"IBAN DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"},
		FalsePositives: []string{"DE89 3704 0044 0532 0130 01", "GB82WEST1234569876543", "XX82WEST12345698765432"},
	}
}

// Phone finds telephone numbers: North American numbers written with separators or a +1, and
// international E.164 numbers starting with +.
func Phone() *Detector {
	return &Detector{
		ID: "phone", Type: "phone", Risk: RiskMedium, MaxLen: 22, WordStart: true,
		// Every number Validate accepts has at least 8 digits (E.164's shortest it checks).
		Quick: func(t []byte, s int) bool {
			return numberStart(t, s) && (s == 0 || t[s-1] != '+') && digitsAhead(t, s, 22, "()+ .-") >= 8
		},
		Pattern: regexp.MustCompile(`(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{1,4})(?:[ .-]?\d{2,4}){1,4}`),
		Validate: func(text []byte, s, e int) bool {
			if !numberBounded(text, s, e) || (s > 0 && text[s-1] == '+') {
				return false
			}
			v := text[s:e]
			d := digitsOf(v)
			intl := v[0] == '+'
			seps := len(v) - len(d)
			if intl {
				seps-- // the +
			}
			switch {
			case intl && (d[0] == '1'):
				return nanp(d[1:]) && nanpGroups(v, true)
			case intl:
				// International numbers are checked against the numbering plans of
				// libphonenumber (country code, length, valid prefixes).
				if len(d) < 8 || len(d) > 15 || d[0] == '0' {
					return false
				}
				n, err := phonenumbers.Parse("+"+string(d), "")
				return err == nil && phonenumbers.IsValidNumber(n)
			case len(d) == 10 && (seps >= 1 || bytes.IndexByte(v, '(') >= 0):
				return nanp(d) && consistentSeparators(v) && nanpGroups(v, false)
			}
			return false
		},
		TruePositives: []string{"call (415) 555-2671", "tel 415-555-2671.", "+1 415 555 2671", "+44 20 7946 0958", "+4930901820", "+33 1 42 68 53 00"},
		FalsePositives: []string{"4155552671", "2024-01-15", "v1.2.3.4", "415-055-2671", "012-555-2671", "+0 123 456 789", "10.0.0.125", "+44 12", "+999 1234 5678",
			"at 2024-01-15 10:30:00 UTC", "2026-11-03 22:15", "+1 2024-01-15 10"},
	}
}

// nanpGroups checks that a North American number is written in its groups, 3-3-4 (or 3 then 7,
// or 10 together after +1), so a date and hour such as "2024-01-15 10" is not read as one.
func nanpGroups(v []byte, intl bool) bool {
	var groups []int
	n := 0
	for _, c := range v {
		if isDigit(c) {
			n++
			continue
		}
		if n > 0 {
			groups = append(groups, n)
		}
		n = 0
	}
	if n > 0 {
		groups = append(groups, n)
	}
	if intl && len(groups) > 0 && groups[0] == 1 {
		groups = groups[1:] // the country code 1
	}
	return slices.Equal(groups, []int{3, 3, 4}) || slices.Equal(groups, []int{3, 7}) || slices.Equal(groups, []int{10})
}

// nanp checks a 10-digit North American number: area and exchange codes start 2-9.
func nanp(d []byte) bool {
	return len(d) == 10 && d[0] >= '2' && d[3] >= '2'
}

// consistentSeparators rejects dotted quads and dates: separators other than a single space,
// dash or dot between groups, or dots mixed with others.
func consistentSeparators(v []byte) bool {
	dots := bytes.Count(v, []byte("."))
	return dots == 0 || dots == 2 && bytes.Count(v, []byte("-")) == 0 && bytes.Count(v, []byte(" ")) == 0
}
