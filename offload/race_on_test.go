//go:build race

package offload

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
