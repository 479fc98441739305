// Package packaging tests the Debian package and the systemd units with
// the real tools: systemd-analyze, groff, nfpm (through make deb) and
// dpkg-deb.
package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var root, _ = filepath.Abs(filepath.Join("..", ".."))

func need(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// TestUnits verifies the systemd units with systemd-analyze, pointing
// them at freshly built binaries.
func TestUnits(t *testing.T) {
	need(t, "systemd-analyze", "go")
	dir := t.TempDir()
	run(t, root, "go", "build", "-o", filepath.Join(dir, "halo"), "./cmd/halo")
	run(t, root, "go", "build", "-o", filepath.Join(dir, "halo-vrrp"), "./cmd/halo-vrrp")
	var units []string
	for _, u := range []string{"halo.service", "halo-vrrp.service"} {
		data, err := os.ReadFile(filepath.Join(root, "packaging", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/usr/sbin/", dir+"/")
		p := filepath.Join(dir, u)
		os.WriteFile(p, []byte(text), 0o644)
		units = append(units, p)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestManPages renders the man pages with groff's warnings on.
func TestManPages(t *testing.T) {
	need(t, "groff")
	for _, m := range []string{"halo.8", "halo-vrrp.8"} {
		out, err := exec.Command("groff", "-man", "-ww", "-z", filepath.Join(root, "packaging", "man", m)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", m, err, out)
		}
	}
}

// TestDeb builds the package with `make deb`, inspects it with dpkg-deb,
// extracts it and checks the installed default configurations with the
// installed binaries.
func TestDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the .deb (downloads nfpm through the module proxy)")
	}
	need(t, "make", "dpkg-deb", "go", "git")
	out := t.TempDir()
	run(t, root, "make", "deb", "DEBDIR="+out)
	debs, _ := filepath.Glob(filepath.Join(out, "halo_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb produced %v", debs)
	}
	deb := debs[0]
	info := run(t, "", "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: halo", "Architecture: ", "/etc/halo/halo.cfg", "/etc/halo/keepalived.conf", "/etc/rsyslog.d/49-halo.conf"} {
		if !strings.Contains(info+run(t, "", "dpkg-deb", "--field", deb, "Package")+run(t, "", "sh", "-c", "dpkg-deb --ctrl-tarfile "+deb+" | tar -xO ./conffiles"), want) {
			t.Errorf("package metadata lacks %q", want)
		}
	}
	contents := run(t, "", "dpkg-deb", "--contents", deb)
	for _, want := range []string{"./usr/sbin/halo", "./usr/sbin/halo-vrrp", "./lib/systemd/system/halo.service",
		"./lib/systemd/system/halo-vrrp.service", "./usr/share/man/man8/halo.8.gz", "./etc/logrotate.d/halo", "./usr/share/doc/halo/config.md"} {
		if !strings.Contains(contents, want) {
			t.Errorf("package lacks %s", want)
		}
	}
	inst := t.TempDir()
	run(t, "", "dpkg-deb", "-x", deb, inst)
	if out := run(t, "", filepath.Join(inst, "usr/sbin/halo"), "-c", "-f", filepath.Join(inst, "etc/halo/halo.cfg")); !strings.Contains(out, "Configuration file is valid") {
		t.Errorf("installed halo -c: %s", out)
	}
	if out := run(t, "", filepath.Join(inst, "usr/sbin/halo-vrrp"), "-t", "-f", filepath.Join(inst, "etc/halo/keepalived.conf")); strings.Contains(out, "rror") {
		t.Errorf("installed halo-vrrp -t: %s", out)
	}
	if _, err := exec.LookPath("man"); err == nil {
		if out := run(t, "", "man", "-l", filepath.Join(inst, "usr/share/man/man8/halo.8.gz")); !strings.Contains(out, "haproxy.cfg") {
			t.Errorf("man page: %s", out)
		}
	}
	t.Run("install", func(t *testing.T) { installAndStart(t, deb) })
}
