package httpx

import (
	"strconv"
	"sync"
)

// pages are the bodies of locally generated error responses, with the
// titles and sentences HAProxy 2.6 uses, so that monitoring that greps
// them keeps working. halo adds pages for 414, 431 and 505, which HAProxy
// answers with a plain 400.
var pages = map[int][2]string{
	400: {"400 Bad request", "Your browser sent an invalid request."},
	401: {"401 Unauthorized", "You need a valid user and password to access this content."},
	403: {"403 Forbidden", "Request forbidden by administrative rules."},
	404: {"404 Not Found", "The resource could not be found."},
	405: {"405 Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"},
	407: {"407 Unauthorized", "You need a valid user and password to access this content."},
	408: {"408 Request Time-out", "Your browser didn't send a complete request in time."},
	410: {"410 Gone", "The resource is no longer available and will not be available again."},
	413: {"413 Payload Too Large", "The request entity exceeds the maximum allowed."},
	414: {"414 URI Too Long", "The request target is longer than the server accepts."},
	421: {"421 Misdirected Request", "Request sent to a non-authoritative server."},
	422: {"422 Unprocessable Content", "The server cannot process the contained instructions."},
	425: {"425 Too Early", "Your browser sent early data."},
	429: {"429 Too Many Requests", "You have sent too many requests in a given amount of time."},
	431: {"431 Request Header Fields Too Large", "The request header fields are larger than the server accepts."},
	500: {"500 Internal Server Error", "An internal server error occurred."},
	501: {"501 Not Implemented", ".The server does not support the functionality required to fulfill the request."},
	502: {"502 Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"503 Service Unavailable", "No server is available to handle this request."},
	504: {"504 Gateway Time-out", "The server didn't respond in time."},
	505: {"505 HTTP Version Not Supported", "The server only speaks HTTP/1.x on this connection."},
}

var (
	renderOnce sync.Once
	rendered   map[int][]byte
)

// ErrorResponse returns the complete response bytes halo sends for a
// locally generated error. Errors the connection layer raises while
// reading a request (400, 408, 413, 414, 422, 431, 501, 505) close the
// connection and use HAProxy's capitalised header layout (its 422 has no
// Connection header); the others use lower-case names as HAProxy's HTX
// path emits them. Unknown codes get a 500 page.
func ErrorResponse(status int) []byte {
	renderOnce.Do(func() {
		rendered = map[int][]byte{}
		for code, p := range pages {
			rendered[code] = render(code, p[0], p[1])
		}
	})
	if b, ok := rendered[status]; ok {
		return b
	}
	return rendered[500]
}

// ClosesConnection reports whether the error response for status ends
// the connection.
func ClosesConnection(status int) bool {
	switch status {
	case 400, 408, 413, 414, 422, 431, 501, 505:
		return true
	}
	return false
}

func render(code int, title, text string) []byte {
	body := "<html><body><h1>" + title + "</h1>\n" + text + "\n</body></html>\n"
	reason := title[4:]
	n := strconv.Itoa(len(body))
	var h string
	switch {
	case code == 422:
		h = "HTTP/1.1 " + title[:3] + " " + reason + "\r\nContent-length: " + n + "\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n"
	case ClosesConnection(code):
		h = "HTTP/1.1 " + title[:3] + " " + reason + "\r\nContent-length: " + n + "\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n"
	default:
		h = "HTTP/1.1 " + title[:3] + " " + reason + "\r\ncontent-length: " + n + "\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
		if code == 401 {
			h += "www-authenticate: Basic realm=\"HAProxy Statistics\"\r\n"
		}
		h += "\r\n"
	}
	return []byte(h + body)
}

// HeadOnly returns the head of a complete response (through the empty
// line), what is sent to a HEAD request: Content-Length stays, as in
// HAProxy.
func HeadOnly(resp []byte) []byte {
	if end := headEnd(resp); end > 0 {
		return resp[:end]
	}
	return resp
}

// Reason returns the reason phrase halo uses for a status code.
func Reason(status int) string {
	if p, ok := pages[status]; ok {
		return p[0][4:]
	}
	switch status {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 204:
		return "No Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	}
	return "Unknown"
}
