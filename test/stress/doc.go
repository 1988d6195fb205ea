// Package stress runs a real nicflowd for long and feeds it bad input, as
// issue 14 asks: the soak (soak_test.go: a thousand OpenFlow client
// sessions and a thousand ovs-ofctl sessions while hosts ping through the
// switch; the pings must follow the fail mode throughout, and file
// descriptors, goroutines and memory must come back to a warmed-up
// baseline) and fuzzing on the wire (wirefuzz_test.go: seeded mutations of
// a corpus of valid OpenFlow 1.3 messages serialized by os-ken, and random
// messages, each followed by an ECHO that must be answered; restfuzz_test.go:
// random and mutated JSON bodies to every write endpoint of the REST API,
// each answered 4xx naming the field with nothing changed, or 2xx and
// undone). nicflowd must not crash or panic.
//
// The tests need root (network namespaces, veth pairs) and ip, ping and
// ovs-ofctl; without root they skip, and under CI=true a missing tool or a
// skip is a failure. The wire fuzz prints its seed; NICFLOW_FUZZ_SEED
// repeats a run and NICFLOW_FUZZ_CASES changes its length. The package has
// no non-test code.
//
// It imports no other nicflow package.
package stress
