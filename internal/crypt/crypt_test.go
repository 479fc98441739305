package crypt

import (
	"errors"
	"os/exec"
	"testing"
)

// Hashes made with openssl passwd -6 / -5 (OpenSSL's implementation of
// the same specification).
func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{`$6$saltsalt$zM85MwF7wzNFxhHekCkSASe1NaC/xUx1S2eoXlbcx1w6LkHRO4n1DK7q.d/HKoYFUjJ10GWDs5jLq2A53OAzU1`, "secret pw", true},
		{`$6$saltsalt$zM85MwF7wzNFxhHekCkSASe1NaC/xUx1S2eoXlbcx1w6LkHRO4n1DK7q.d/HKoYFUjJ10GWDs5jLq2A53OAzU1`, "secret pX", false},
		{`$5$abc$sCOGUciM.GdmYMCUvmUcgu03oRH87O0clF96.9mwWGB`, "x", true},
		{`$5$abc$sCOGUciM.GdmYMCUvmUcgu03oRH87O0clF96.9mwWGB`, "", false},
		{`$6$rounds=1000$abcdefghijklmnop$qoo7y05rEH8pmuj9oaFvWFmB5rR2AS5Wer0WfeETKntjO/Ld5MPVWvNIDYkLMEIsNiMibH5t9shg62xXjtNnG/`, "longer password than the digest size of sha256 hashes here 1234567890", true},
		{"$6$nodollar", "x", false},
	} {
		if got := Verify(tc.hash, tc.pw); got != tc.want {
			t.Errorf("Verify(%q, %q) = %v, want %v", tc.hash, tc.pw, got, tc.want)
		}
	}
}

// TestAgainstOpenSSL cross-checks fresh hashes when openssl is installed.
func TestAgainstOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, alg := range []string{"-5", "-6"} {
		for _, pw := range []string{"a", "correct horse battery staple", "pässwörd$$"} {
			out, err := exec.Command("openssl", "passwd", alg, pw).Output()
			if err != nil {
				t.Fatal(err)
			}
			h := string(out[:len(out)-1])
			if !Verify(h, pw) || Verify(h, pw+"x") {
				t.Errorf("openssl %s hash %q of %q not verified correctly", alg, h, pw)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check(`$6$saltsalt$zM85MwF7wzNFxhHekCkSASe1NaC/xUx1S2eoXlbcx1w6LkHRO4n1DK7q.d/HKoYFUjJ10GWDs5jLq2A53OAzU1`); err != nil {
		t.Error(err)
	}
	for _, h := range []string{"$1$abc$def", "$y$j9T$abc$def", "abXyz12345678"} {
		if err := Check(h); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Check(%q) = %v, want ErrUnsupported", h, err)
		}
	}
}
