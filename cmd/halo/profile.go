package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the serving process to the file named by
// HALO_CPUPROFILE, for the benchmarks in bench/ (bench/http.sh PROFILE=1).
// It returns the function that ends the profile.
func startProfile() func() {
	path := os.Getenv("HALO_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
