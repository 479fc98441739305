package config

import (
	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/logging"
)

// Format is a compiled log-format string, as used in log-format lines,
// rule arguments (set-header values, redirect targets, lf-string bodies)
// and dynamic use_backend names.
type Format = logging.Format

// CompileFormat compiles a log-format string whose %[...] expressions
// are ACL sample expressions evaluated on the *acl.Txn in Record.Ctx.
func CompileFormat(s string) (*Format, error) { return logging.Compile(s, compileSample) }

func compileSample(expr string) (logging.Expr, error) {
	s, err := acl.ParseSample(expr)
	if err != nil {
		return nil, err
	}
	return sampleExpr{s}, nil
}

type sampleExpr struct{ s *acl.Sample }

func (e sampleExpr) AppendTo(b []byte, r *logging.Record) []byte {
	t, _ := r.Ctx.(*acl.Txn)
	if t == nil {
		return b
	}
	if v, ok := e.s.Eval(t); ok {
		b = append(b, v...)
	}
	return b
}
