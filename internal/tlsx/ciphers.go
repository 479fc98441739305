package tlsx

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// opensslCiphers maps OpenSSL's TLS 1.2 cipher names to Go's suites.
var opensslCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// suiteTags are the OpenSSL keywords (cipher string aliases) a Go suite
// belongs to, derived from its OpenSSL name.
func suiteTags(name string) map[string]bool {
	t := map[string]bool{"ALL": true, "TLSv1.2": true}
	rest := name
	switch {
	case strings.HasPrefix(name, "ECDHE-ECDSA-"):
		rest = name[len("ECDHE-ECDSA-"):]
		for _, k := range []string{"kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH", "aECDSA", "ECDSA"} {
			t[k] = true
		}
	case strings.HasPrefix(name, "ECDHE-RSA-"):
		rest = name[len("ECDHE-RSA-"):]
		for _, k := range []string{"kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH", "aRSA"} {
			t[k] = true
		}
	default:
		t["kRSA"], t["aRSA"], t["RSA"] = true, true, true
	}
	switch {
	case strings.Contains(rest, "CHACHA20"):
		t["CHACHA20"] = true
	case strings.Contains(rest, "GCM"):
		t["AESGCM"], t["AES"] = true, true
	case strings.Contains(rest, "DES-CBC3"):
		t["3DES"], t["CBC"] = true, true
	default:
		t["AES"], t["CBC"] = true, true
	}
	switch {
	case strings.Contains(rest, "AES128"):
		t["AES128"] = true
	case strings.Contains(rest, "AES256"):
		t["AES256"] = true
	}
	switch {
	case strings.HasSuffix(rest, "-SHA"):
		t["SHA1"], t["SHA"] = true, true
		t["TLSv1.2"] = false
		t["TLSv1.0"], t["TLSv1"], t["SSLv3"] = true, true, true
	case strings.HasSuffix(rest, "SHA256"):
		t["SHA256"] = true
	case strings.HasSuffix(rest, "SHA384"):
		t["SHA384"] = true
	}
	if t["3DES"] {
		t["MEDIUM"] = true
	} else {
		t["HIGH"] = true
	}
	if t["aECDSA"] && t["AESGCM"] && !t["kRSA"] {
		t["SUITEB128"], t["SUITEB192"] = t["AES128"] || t["AES256"], t["AES256"]
		t["SUITEB128ONLY"] = t["AES128"]
	}
	return t
}

// opensslKeywords are OpenSSL's cipher string aliases. Those no Go suite
// carries (DHE, CAMELLIA, PSK, ...) select nothing.
var opensslKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`DEFAULT COMPLEMENTOFDEFAULT ALL COMPLEMENTOFALL HIGH MEDIUM LOW EXP EXPORT
		eNULL NULL aNULL kRSA aRSA RSA kDHr kDHd kDH kDHE kEDH DH DHE EDH ADH kEECDH kECDHE ECDH ECDHE EECDH AECDH
		aDSS DSS aDH aECDSA ECDSA TLSv1.2 TLSv1.0 TLSv1 SSLv3 AES128 AES256 AES AESGCM AESCCM AESCCM8 ARIA128 ARIA256
		ARIA ARIAGCM CAMELLIA128 CAMELLIA256 CAMELLIA CHACHA20 3DES DES RC4 RC2 IDEA SEED MD5 SHA1 SHA SHA256 SHA384
		aGOST aGOST01 aGOST12 kGOST kGOST18 GOST94 GOST89MAC GOST12 PSK kPSK kECDHEPSK kDHEPSK kRSAPSK aPSK
		SUITEB128 SUITEB128ONLY SUITEB192 CBC kSRP aSRP SRP`) {
		opensslKeywords[k] = true
	}
}

// goOmits are OpenSSL ciphers that exist but that Go's TLS stack does
// not implement: they are skipped with a warning.
func goOmits(name string) bool {
	for _, p := range []string{"DHE-", "EDH-", "ADH-", "AECDH-", "ECDH-", "PSK-", "SRP-", "RSA-PSK-", "ECDHE-PSK-", "DHE-PSK-", "GOST"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, p := range []string{"CAMELLIA", "ARIA", "CCM", "RC4", "NULL", "SEED", "IDEA", "DES-CBC-", "EXP-"} {
		if strings.Contains(name, p) {
			return true
		}
	}
	switch name {
	case "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "AES256-SHA256":
		return true
	}
	return false
}

// goDefaultSuites is the set of TLS 1.2 suites Go offers when
// CipherSuites is nil: its secure suites minus the ones it leaves out by
// default (RSA key exchange since Go 1.22).
func goDefaultSuites() map[uint16]bool {
	out := map[uint16]bool{}
	for _, cs := range tls.CipherSuites() {
		if cs.SupportedVersions[0] == tls.VersionTLS13 || suiteTags(CipherName(cs.ID))["kRSA"] {
			continue
		}
		out[cs.ID] = true
	}
	return out
}

// Ciphers evaluates an OpenSSL TLS 1.2 cipher string over Go's suites,
// as OpenSSL does (":" or "," separated; "a+b" is an intersection; "!x"
// removes for good, "-x" removes, "+x" reorders; "@STRENGTH" and
// "@SECLEVEL=n" are accepted). Keywords (HIGH, ECDHE, AESGCM, ...) select
// among the suites Go offers by default, so a keyword never enables a
// suite Go considers weak; a suite named explicitly is enabled as asked.
// A name OpenSSL does not know is an error; a cipher Go does not
// implement is skipped with a warning; a string that leaves no suite is
// an error. nil means Go's defaults.
func Ciphers(s string, warn Warnings) ([]uint16, Warnings, error) {
	if s == "" {
		return nil, warn, nil
	}
	defaults := goDefaultSuites()
	var list []uint16
	gone := map[uint16]bool{}
	var skipped []string
	for _, elem := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if strings.HasPrefix(elem, "@") {
			if elem == "@STRENGTH" || strings.HasPrefix(elem, "@SECLEVEL=") {
				continue
			}
			return nil, warn, fmt.Errorf("unknown cipher directive '%s' in '%s'", elem, s)
		}
		op := byte(0)
		if elem[0] == '!' || elem[0] == '-' || elem[0] == '+' {
			op, elem = elem[0], elem[1:]
		}
		var sel []uint16 // the suites elem selects, in Go's order
		first, partSkipped := true, false
		for _, part := range strings.Split(elem, "+") {
			set, skip, err := selectSuites(part, defaults)
			if err != nil {
				return nil, warn, fmt.Errorf("%v in '%s'", err, s)
			}
			if skip && op == 0 {
				skipped, partSkipped = append(skipped, part), true
			}
			if first {
				sel, first = set, false
			} else {
				sel = slices.DeleteFunc(sel, func(id uint16) bool { return !slices.Contains(set, id) })
			}
		}
		if op == 0 && len(sel) == 0 && !partSkipped {
			skipped = append(skipped, elem) // keywords selecting nothing Go has (DHE, CAMELLIA, ...)
		}
		switch op {
		case '!':
			for _, id := range sel {
				gone[id] = true
			}
			list = slices.DeleteFunc(list, func(id uint16) bool { return gone[id] })
		case '-':
			list = slices.DeleteFunc(list, func(id uint16) bool { return slices.Contains(sel, id) })
		case '+':
			var moved []uint16
			list = slices.DeleteFunc(list, func(id uint16) bool {
				if slices.Contains(sel, id) {
					moved = append(moved, id)
					return true
				}
				return false
			})
			list = append(list, moved...)
		default:
			for _, id := range sel {
				if !gone[id] && !slices.Contains(list, id) {
					list = append(list, id)
				}
			}
		}
	}
	if len(skipped) > 0 {
		warn = append(warn, fmt.Sprintf("ciphers %s are not implemented by Go's TLS stack and will not be offered", strings.Join(skipped, ", ")))
	}
	if len(list) == 0 {
		if len(skipped) > 0 {
			return nil, warn, fmt.Errorf("none of the ciphers in '%s' is implemented by Go's TLS stack", s)
		}
		return nil, warn, fmt.Errorf("cipher list '%s' leaves no cipher suite that Go's TLS stack implements", s)
	}
	if len(list) == len(defaults) && !slices.ContainsFunc(list, func(id uint16) bool { return !defaults[id] }) {
		return nil, warn, nil // exactly Go's defaults
	}
	return list, warn, nil
}

// selectSuites is what one cipher name or keyword selects; skip reports
// a real OpenSSL cipher Go does not implement.
func selectSuites(part string, defaults map[uint16]bool) (sel []uint16, skip bool, err error) {
	if id, ok := opensslCiphers[part]; ok {
		return []uint16{id}, false, nil
	}
	if opensslKeywords[part] {
		for _, cs := range tls.CipherSuites() {
			if !defaults[cs.ID] {
				continue
			}
			if part == "DEFAULT" || suiteTags(CipherName(cs.ID))[part] {
				sel = append(sel, cs.ID)
			}
		}
		return sel, false, nil
	}
	if goOmits(part) {
		return nil, true, nil
	}
	if strings.HasPrefix(part, "TLS_") {
		return nil, false, fmt.Errorf("cipher '%s' is a TLS 1.3 suite: list it in 'ciphersuites', not 'ciphers'", part)
	}
	return nil, false, fmt.Errorf("unknown cipher '%s'", part)
}
