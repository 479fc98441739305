// Command gendocs writes docs/keepalived.md from halo-vrrp's keyword tables.
package main

import (
	"os"

	"github.com/halo-lb/halo/internal/vrrp/kaconf"
)

func main() {
	os.Stdout.WriteString(kaconf.KeywordDoc())
}
