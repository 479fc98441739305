package proxy

import "unsafe"

// headText turns the fields of one parsed message head into strings with
// a single allocation: the head is copied into one string once, and each
// field that lies inside the head becomes a substring of it. Fields the
// parser built elsewhere (merged duplicates) are copied on their own.
type headText struct {
	raw  []byte
	text string
}

func newHeadText(raw []byte) headText { return headText{raw: raw, text: string(raw)} }

// str returns b as a string, sharing the head's copy when b is part of
// the head.
func (h headText) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(h.raw)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p-base+uintptr(len(b)) > uintptr(len(h.raw)) {
		return string(b)
	}
	off := int(p - base)
	return h.text[off : off+len(b)]
}
