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

// TestClientConfigs: per-connection configurations carry the SNI sent;
// health checks send only check-sni (HAProxy's checks ignore sni, even a
// constant one); the session cache is shared.
func TestClientConfigs(t *testing.T) {
	c, _, err := ClientConfig(ClientOptions{Verify: "none", SNI: "fixed.test", ALPN: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config("fixed.test"); got.ServerName != "fixed.test" || got != c.Config("fixed.test") {
		t.Error("the fixed SNI's configuration is built once")
	}
	dyn := c.Config("other.test")
	if dyn.ServerName != "other.test" || dyn.ClientSessionCache != c.Base().ClientSessionCache || dyn.NextProtos[0] != "http/1.1" {
		t.Errorf("dynamic SNI configuration: %q %v", dyn.ServerName, dyn.NextProtos)
	}
	if chk := c.CheckConfig("", []string{"x"}); chk.ServerName != "" || chk.NextProtos[0] != "x" {
		t.Errorf("check configuration: SNI %q ALPN %v", chk.ServerName, chk.NextProtos)
	}
	if chk := c.CheckConfig("chk.test", nil); chk.ServerName != "chk.test" {
		t.Errorf("check-sni: %q", chk.ServerName)
	}
}
