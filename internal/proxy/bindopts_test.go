package proxy

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/config"
)

// TestBindV4V6: v4v6 clears IPV6_V6ONLY on an IPv6 listening socket
// (which Go sets for ipv6@ binds) and v6only sets it; neither touches an
// IPv4 socket. The sockets are never bound to an address.
func TestBindV4V6(t *testing.T) {
	for _, tc := range []struct {
		bd   config.Bind
		want int
	}{
		{config.Bind{V4V6: true}, 0},
		{config.Bind{V6Only: true}, 1},
		{config.Bind{}, 1}, // left as Go set it
	} {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Skipf("no IPv6 sockets: %v", err)
		}
		unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_V6ONLY, 1)
		if err := bindOpts(fd, "tcp6", &tc.bd); err != nil {
			t.Fatal(err)
		}
		got, _ := unix.GetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_V6ONLY)
		unix.Close(fd)
		if got != tc.want {
			t.Errorf("%+v: IPV6_V6ONLY %d, want %d", tc.bd, got, tc.want)
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := bindOpts(fd, "tcp4", &config.Bind{V4V6: true, V6Only: true}); err != nil {
		t.Errorf("IPv6 options on an IPv4 socket: %v", err)
	}
}
