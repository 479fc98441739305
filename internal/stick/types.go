package stick

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// KeyType is the type of a table's keys.
type KeyType int

// The key types of HAProxy 2.6.
const (
	KeyIP KeyType = iota
	KeyIPv6
	KeyInteger
	KeyString
	KeyBinary
)

var keyTypeNames = [...]string{"ip", "ipv6", "integer", "string", "binary"}

func (k KeyType) String() string { return keyTypeNames[k] }

// ParseKeyType parses the type of a stick-table line.
func ParseKeyType(s string) (KeyType, bool) {
	for i, n := range keyTypeNames {
		if n == s {
			return KeyType(i), true
		}
	}
	return 0, false
}

// DefaultKeyLen is the key length of string and binary tables without
// "len".
const DefaultKeyLen = 32

// Data is a data type a table stores.
type Data int

// The data types halo stores, in HAProxy's order (the order of `show
// table` columns).
const (
	ServerID Data = iota
	GPT0
	GPC0
	GPC0Rate
	ConnCnt
	ConnRate
	ConnCur
	SessCnt
	SessRate
	HTTPReqCnt
	HTTPReqRate
	HTTPErrCnt
	HTTPErrRate
	BytesInCnt
	BytesInRate
	BytesOutCnt
	BytesOutRate
	GPC1
	GPC1Rate
	numData
)

var dataNames = [numData]string{"server_id", "gpt0", "gpc0", "gpc0_rate", "conn_cnt", "conn_rate", "conn_cur",
	"sess_cnt", "sess_rate", "http_req_cnt", "http_req_rate", "http_err_cnt", "http_err_rate",
	"bytes_in_cnt", "bytes_in_rate", "bytes_out_cnt", "bytes_out_rate", "gpc1", "gpc1_rate"}

func (d Data) String() string { return dataNames[d] }

// IsRate reports a data type measured over a period.
func (d Data) IsRate() bool { return strings.HasSuffix(dataNames[d], "_rate") }

// ParseData finds a data type by name.
func ParseData(name string) (Data, bool) {
	for i, n := range dataNames {
		if n == name {
			return Data(i), true
		}
	}
	return 0, false
}

// OtherData are HAProxy 2.6 data types halo does not store yet.
var OtherData = map[string]bool{"server_key": true, "server_name": true, "gpt": true, "gpc": true, "gpc_rate": true,
	"http_fail_cnt": true, "http_fail_rate": true}

// Store is one data type of a table and, for a rate, its period in
// milliseconds.
type Store struct {
	Data   Data
	Period int64
}

// key encodes a key of type t (length n for string and binary) for the
// table's map; ok is false when the value cannot be a key of that type
// (an IPv6 address in an ip table, text in an integer table).
func encodeKey(t KeyType, n int, s string) (string, bool) {
	switch t {
	case KeyIP:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", false
		}
		a = a.Unmap()
		if !a.Is4() {
			return "", false
		}
		b := a.As4()
		return string(b[:]), true
	case KeyIPv6:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", false
		}
		b := a.As16()
		return string(b[:]), true
	case KeyInteger:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatInt(int64(int32(v)), 10), true
	case KeyString:
		if len(s) > n {
			s = s[:n]
		}
		return s, true
	case KeyBinary:
		b := make([]byte, n)
		copy(b, s)
		return string(b), true
	}
	return "", false
}

// formatKey prints an encoded key as `show table` does.
func formatKey(t KeyType, k string) string {
	switch t {
	case KeyIP:
		return netip.AddrFrom4([4]byte([]byte(k))).String()
	case KeyIPv6:
		return netip.AddrFrom16([16]byte([]byte(k))).String()
	case KeyBinary:
		return hex.EncodeToString([]byte(k))
	}
	return k
}

// ParseCLIKey parses a key given to the runtime API: binary keys are
// written in hexadecimal there.
func ParseCLIKey(t KeyType, n int, s string) (string, error) {
	if t == KeyBinary {
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", errors.New("Invalid key.")
		}
		s = string(b)
	}
	k, ok := encodeKey(t, n, s)
	if !ok {
		return "", fmt.Errorf("Invalid key.")
	}
	return k, nil
}
