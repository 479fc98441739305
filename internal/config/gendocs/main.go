// Command gendocs writes docs/config.md from halo's keyword tables.
package main

import (
	"os"

	"github.com/halo-lb/halo/internal/config"
)

func main() {
	os.Stdout.WriteString(config.KeywordDoc())
}
