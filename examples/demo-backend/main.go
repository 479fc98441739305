// Command demo-backend is a tiny HTTP server for the quick start: it
// answers every request with its own name, so that a browser or curl
// pointed at halo shows the load balancing at work.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9001", "address to listen on")
	name := flag.String("name", "web1", "name to answer with")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello from %s (%s %s)\n", *name, r.Method, r.URL.Path)
	})
	log.Printf("demo backend %s listening on %s", *name, *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
