package proxy

import "github.com/halo-lb/halo/internal/tlsx"

// Certificates is the configuration's certificate registry, for the
// runtime API's ssl commands (cli.CertTarget).
func (rt *Runtime) Certificates() *tlsx.Registry { return rt.cfg.Certs }
