// Command tcpbench is the load side of bench/tcp.sh: an echo server to
// stand behind the proxies, and a connection-rate client.
//
//	tcpbench echo -listen 127.0.0.1:9500
//	tcpbench connrate -target 127.0.0.1:9400 -c 32 -d 5s
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tcpbench echo|connrate [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:9500", "echo: address to listen on")
	target := fs.String("target", "127.0.0.1:9400", "connrate: address to connect to")
	conc := fs.Int("c", 32, "connrate: concurrent clients")
	dur := fs.Duration("d", 5*time.Second, "connrate: duration")
	fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "echo":
		echo(*listen)
	case "connrate":
		connrate(*target, *conc, *dur)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func echo(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// connrate opens, uses (1-byte echo) and closes connections for d and
// prints the number of completed connections per second.
func connrate(target string, conc int, d time.Duration) {
	var ok, failed atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1)
			for time.Now().Before(stop) {
				c, err := net.DialTimeout("tcp", target, 2*time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write([]byte{'x'}); err == nil {
					if _, err := io.ReadFull(c, buf); err == nil {
						ok.Add(1)
					} else {
						failed.Add(1)
					}
				} else {
					failed.Add(1)
				}
				// RST close: avoid exhausting ephemeral ports with TIME_WAIT.
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%.0f %d\n", float64(ok.Load())/d.Seconds(), failed.Load())
}
