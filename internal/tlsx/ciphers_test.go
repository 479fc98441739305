package tlsx

import (
	"slices"
	"strings"
	"testing"
)

// TestCipherStrings: OpenSSL cipher strings evaluated over Go's suites.
func TestCipherStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // OpenSSL names; nil = Go's defaults
		warn string
		err  string
	}{
		{in: "HIGH:!aNULL:!MD5"},
		{in: "DEFAULT:@STRENGTH"},
		{in: "ECDHE+AESGCM", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}},
		{in: "EECDH+AESGCM:EDH+AESGCM", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}, warn: "ciphers EDH+AESGCM are not implemented"},
		{in: "kEECDH+aECDSA+AES128:!SHA1", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256"}},
		{in: "ALL:-CHACHA20:+CHACHA20", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA",
			"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-SHA"}}, // "+" only reorders what is listed
		{in: "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", want: []string{"ECDHE-RSA-AES128-GCM-SHA256"}, warn: "ciphers DHE-RSA-AES128-GCM-SHA256 are not implemented by Go's TLS stack"},
		{in: "AES128-SHA", want: []string{"AES128-SHA"}},
		{in: "ECDHE-RSA-AES128-GCM-SHA256:!ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", err: "leaves no cipher suite"},
		{in: "ECDHE-RSA-AES128-GCM-SHA265", err: "unknown cipher 'ECDHE-RSA-AES128-GCM-SHA265'"},
		{in: "HIGH:aRSA:HGIH", err: "unknown cipher 'HGIH'"},
		{in: "DHE-RSA-AES256-GCM-SHA384:CAMELLIA256-SHA", err: "none of the ciphers in 'DHE-RSA-AES256-GCM-SHA384:CAMELLIA256-SHA' is implemented"},
		{in: "DHE+AESGCM", err: "none of the ciphers in 'DHE+AESGCM' is implemented"},
		{in: "TLS_AES_128_GCM_SHA256", err: "is a TLS 1.3 suite: list it in 'ciphersuites'"},
		{in: "@FOO", err: "unknown cipher directive '@FOO'"},
	} {
		ids, warn, err := Ciphers(tc.in, nil)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		var got []string
		for _, id := range ids {
			got = append(got, CipherName(id))
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tc.in, got, want)
		}
		if w := strings.Join(warn, "\n"); tc.warn != "" && !strings.Contains(w, tc.warn) || tc.warn == "" && w != "" {
			t.Errorf("%s: warnings %q, want %q", tc.in, w, tc.warn)
		}
	}
}
