package tlsx

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
)

// TestMatchesHost: server certificate names are checked as HAProxy does:
// DNS names then common names, without case, a leading "*" covering one
// label, and an IP compared as a name.
func TestMatchesHost(t *testing.T) {
	san := &x509.Certificate{DNSNames: []string{"backend.test", "*.wild.test"}, Subject: pkix.Name{CommonName: "cn.test"}}
	cnOnly := &x509.Certificate{Subject: pkix.Name{CommonName: "Legacy.Test"}}
	for _, tc := range []struct {
		cert *x509.Certificate
		host string
		want bool
	}{
		{san, "backend.test", true},
		{san, "BACKEND.test.", true},
		{san, "evil.test", false},
		{san, "a.wild.test", true},
		{san, "a.b.wild.test", false},
		{san, "wild.test", false},
		{san, "cn.test", true},
		{cnOnly, "legacy.test", true},
		{cnOnly, "127.0.0.1", false},
	} {
		if got := MatchesHost(tc.cert, tc.host); got != tc.want {
			t.Errorf("%v / %q: %v, want %v", tc.cert.DNSNames, tc.host, got, tc.want)
		}
	}
}
