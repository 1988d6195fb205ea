//go:build race

package softpath_test

// raceEnabled is set when the race detector runs (tests shrink their
// random workloads: it slows them tenfold).
const raceEnabled = true
