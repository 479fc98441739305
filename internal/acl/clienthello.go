package acl

import "errors"

// ClientHello is what req.ssl_* fetches read from the first bytes a TLS
// client sends.
type ClientHello struct {
	// Type is the handshake message type of the first record: 1 for a
	// ClientHello (what req.ssl_hello_type returns).
	Type int
	// SNI is the server_name extension's host name, "" when absent.
	SNI string
}

var errShort = errors.New("incomplete or invalid TLS record")

// ParseClientHello parses a TLS record holding a handshake message. It
// only reads; it never panics on garbage and returns an error when the
// bytes are not (yet) a complete ClientHello.
func ParseClientHello(b []byte) (ClientHello, error) {
	var h ClientHello
	// Record header: type 22 (handshake), version, length.
	if len(b) < 5 || b[0] != 22 || b[1] != 3 {
		return h, errShort
	}
	rlen := int(b[3])<<8 | int(b[4])
	rec := b[5:]
	if len(rec) < rlen {
		return h, errShort
	}
	rec = rec[:rlen]
	if len(rec) < 4 {
		return h, errShort
	}
	h.Type = int(rec[0])
	if h.Type != 1 {
		return h, nil
	}
	mlen := int(rec[1])<<16 | int(rec[2])<<8 | int(rec[3])
	msg := rec[4:]
	if len(msg) < mlen {
		// A ClientHello split over several records: keep what we have.
		mlen = len(msg)
	}
	msg = msg[:mlen]
	// client_version(2) random(32)
	p := 34
	if len(msg) < p+1 {
		return h, errShort
	}
	p += 1 + int(msg[p]) // session id
	if len(msg) < p+2 {
		return h, errShort
	}
	p += 2 + (int(msg[p])<<8 | int(msg[p+1])) // cipher suites
	if len(msg) < p+1 {
		return h, errShort
	}
	p += 1 + int(msg[p]) // compression methods
	if len(msg) < p+2 {
		return h, nil // no extensions
	}
	elen := int(msg[p])<<8 | int(msg[p+1])
	p += 2
	if len(msg) < p+elen {
		return h, errShort
	}
	ext := msg[p : p+elen]
	for len(ext) >= 4 {
		typ := int(ext[0])<<8 | int(ext[1])
		l := int(ext[2])<<8 | int(ext[3])
		if len(ext) < 4+l {
			return h, errShort
		}
		data := ext[4 : 4+l]
		ext = ext[4+l:]
		if typ != 0 || len(data) < 2 {
			continue
		}
		list := data[2:]
		for len(list) >= 3 {
			nt := list[0]
			nl := int(list[1])<<8 | int(list[2])
			if len(list) < 3+nl {
				return h, errShort
			}
			if nt == 0 {
				h.SNI = string(list[3 : 3+nl])
				return h, nil
			}
			list = list[3+nl:]
		}
	}
	return h, nil
}
