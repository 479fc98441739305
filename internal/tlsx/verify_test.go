package tlsx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

type testIssuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func mkCert(t *testing.T, parent *testIssuer, cn string, ca bool, nb, na time.Time) *testIssuer {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	pc, pk := tmpl, k
	if parent != nil {
		pc, pk = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pc, &k.PublicKey, pk)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testIssuer{c, k}
}

func mkCRL(t *testing.T, iss *testIssuer, next time.Time, revoked ...*x509.Certificate) *x509.RevocationList {
	t.Helper()
	var ents []x509.RevocationListEntry
	for _, r := range revoked {
		ents = append(ents, x509.RevocationListEntry{SerialNumber: r.SerialNumber, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: next, RevokedCertificateEntries: ents}, iss.cert, iss.key)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := x509.ParseRevocationList(der)
	return l
}

// TestClientVerifier: OpenSSL's error codes and depths for chains with
// an intermediate CA, CRLs needed at every level (CRL_CHECK_ALL), and
// the ignore lists.
func TestClientVerifier(t *testing.T) {
	now := time.Now()
	valid := func(p *testIssuer, cn string, ca bool) *testIssuer {
		return mkCert(t, p, cn, ca, now.Add(-time.Hour), now.Add(time.Hour))
	}
	root := valid(nil, "root", true)
	inter := valid(root, "inter", true)
	leaf := valid(inter, "leaf", false)
	expiredInter := mkCert(t, root, "old inter", true, now.Add(-2*time.Hour), now.Add(-time.Hour))
	leafOfExpired := valid(expiredInter, "leaf2", false)
	rootCRL, interCRL := mkCRL(t, root, now.Add(time.Hour)), mkCRL(t, inter, now.Add(time.Hour))
	revokingCRL := mkCRL(t, inter, now.Add(time.Hour), leaf.cert)
	all := IgnoreSet{All: true}
	for _, tc := range []struct {
		name      string
		certs     []*x509.Certificate
		crls      []*x509.RevocationList
		ca, crt   IgnoreSet
		want      Verdict
		failCode  int
		failDepth int
	}{
		{name: "chain with intermediate", certs: []*x509.Certificate{leaf.cert, inter.cert}},
		{name: "intermediate not sent", certs: []*x509.Certificate{leaf.cert}, crt: all, want: Verdict{Result: 21, CertErr: 20}},
		{name: "intermediate not sent, refused", certs: []*x509.Certificate{leaf.cert}, failCode: 20},
		{name: "CRLs for every level", certs: []*x509.Certificate{leaf.cert, inter.cert}, crls: []*x509.RevocationList{rootCRL, interCRL}},
		{name: "no CRL for the intermediate's certificates", certs: []*x509.Certificate{leaf.cert, inter.cert}, crls: []*x509.RevocationList{rootCRL}, failCode: 3},
		{name: "revoked by the intermediate", certs: []*x509.Certificate{leaf.cert, inter.cert}, crls: []*x509.RevocationList{rootCRL, revokingCRL}, crt: all, want: Verdict{Result: 23, CertErr: 23}},
		{name: "expired intermediate", certs: []*x509.Certificate{leafOfExpired.cert, expiredInter.cert}, failCode: 10, failDepth: 1},
		{name: "expired intermediate ignored", certs: []*x509.Certificate{leafOfExpired.cert, expiredInter.cert}, ca: IgnoreSet{Codes: map[int]bool{10: true}},
			want: Verdict{Result: 10, CAErr: 10, CADepth: 1}},
		{name: "self-signed client", certs: []*x509.Certificate{valid(nil, "self", false).cert}, crt: all, want: Verdict{Result: 18, CertErr: 18}},
	} {
		v := &clientVerifier{roots: []*x509.Certificate{root.cert}, pool: x509.NewCertPool(), crls: tc.crls, caIgnore: tc.ca, crtIgnore: tc.crt, now: time.Now}
		v.pool.AddCert(root.cert)
		got, err := v.verify(tc.certs)
		var ve *VerifyError
		switch {
		case tc.failCode != 0:
			if !errors.As(err, &ve) || ve.Code != tc.failCode || ve.Depth != tc.failDepth {
				t.Errorf("%s: %v, want error %d at depth %d", tc.name, err, tc.failCode, tc.failDepth)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case got != tc.want:
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if _, err := ParseIgnoreErr("10,bogus"); err == nil || err.Error() != "ID 'bogus' out of range (1..94) in error IDs list '10,bogus'" {
		t.Errorf("ParseIgnoreErr: %v", err)
	}
}
