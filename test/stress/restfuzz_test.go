package stress

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/netns"
)

// restFuzzCases is the default number of REST fuzz cases
// (NICFLOW_FUZZ_CASES).
const restFuzzCases = 1500

// restSeed is a valid request of a write endpoint, and how to undo it.
type restSeed struct {
	method, path string
	body         map[string]any
	// undo returns the request that undoes an accepted body (nil: none
	// needed).
	undo func(body map[string]any) (method, path string, b []byte)
}

// TestRESTFuzz sends nicflowd's REST API random and mutated JSON bodies
// (keys dropped, values replaced by random values of every JSON type,
// unknown keys, bytes flipped or cut, random JSON values) on every write
// endpoint: creating, replacing and deleting a network, attaching and
// detaching a vNIC. A request must be answered 4xx with a JSON error (a
// body that is a JSON object: naming the field) and leave the networks and
// vNICs as they were, or 2xx and then be undone, after which they are as
// they were too; never 5xx. nicflowd must not exit or log a panic. It runs
// in a network namespace of its own, so that no fuzzed port or uplink can
// name one of the host's netdevs.
func TestRESTFuzz(t *testing.T) {
	if !netns.InFresh(t) {
		return
	}
	daemontest.Require(t)
	var links []string
	for i := range 3 {
		a, b := fmt.Sprintf("fz%d", i), fmt.Sprintf("fz%dp", i)
		netns.Veth(t, a, nil, b, nil)
		links = append(links, a)
	}
	d := startDaemon(t, "info", "--port", links[0], "--fail-mode", "secure", "--offload", "off")
	seed, cases := fuzzParams(t, restFuzzCases)
	rng := rand.New(rand.NewPCG(seed, 0x4e57))

	put := map[string]any{"name": "fz0", "mode": "host", "fail_mode": "secure", "offload": "off",
		"ports": []any{links[1]}, "controllers": []any{"punix:" + filepath.Join(d.RunDir, "fz0.sock")}}
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if status, body, err := d.request("POST", "/v1/networks", mustJSON(put)); err != nil || status != http.StatusCreated {
		t.Fatalf("create network fz0: %d %v\n%s", status, err, body)
	}
	str := func(body map[string]any, key string) string { s, _ := body[key].(string); return s }
	seeds := []restSeed{
		{"POST", "/v1/networks", map[string]any{"name": "fz1", "mode": "host", "fail_mode": "standalone", "offload": "off",
			"ports": []any{links[2]}, "datapath_id": "0x2a", "controllers": []any{"punix:" + filepath.Join(d.RunDir, "fz1.sock")}},
			func(body map[string]any) (string, string, []byte) {
				return "DELETE", "/v1/networks/" + str(body, "name"), nil
			}},
		{"PUT", "/v1/networks/fz0", put, func(map[string]any) (string, string, []byte) {
			return "PUT", "/v1/networks/fz0", mustJSON(put)
		}},
		{"POST", "/v1/vnics", map[string]any{"id": "vm-fz", "network": "fz0", "mac": "02:00:00:00:aa:01", "vlan": 0,
			"link_state": "auto", "spoof_check": true},
			func(body map[string]any) (string, string, []byte) {
				return "DELETE", "/v1/vnics/" + str(body, "id"), nil
			}},
		{"DELETE", "/v1/networks/", nil, nil},
		{"DELETE", "/v1/vnics/", nil, nil},
	}

	state := func() string {
		t.Helper()
		var b strings.Builder
		for _, p := range []string{"/v1/networks", "/v1/vnics"} {
			status, body, err := d.request("GET", p, nil)
			if err != nil || status != http.StatusOK {
				t.Fatalf("GET %s: %d %v\n%s", p, status, err, body)
			}
			b.Write(body)
		}
		return b.String()
	}
	state0 := state()

	var failures int
	fail := func(i int, method, path string, body []byte, format string, args ...any) {
		t.Helper()
		failures++
		t.Errorf("case %d (seed %d) %s %s %s: %s", i, seed, method, path, body, fmt.Sprintf(format, args...))
		if failures >= 20 {
			t.Fatalf("stopping after %d failures", failures)
		}
	}
	statuses := map[int]int{}
	start := time.Now()
	for i := range cases {
		if !d.Alive() {
			t.Fatalf("nicflowd exited at case %d: %v", i, d.ExitErr())
		}
		s := seeds[rng.IntN(len(seeds))]
		method, path := s.method, s.path
		var body []byte
		var obj map[string]any // the body when it is a JSON object
		if s.body == nil {
			path += randomName(rng)
		} else {
			body, obj = mutateJSON(rng, s.body)
		}
		status, answer, err := d.request(method, path, body)
		if err != nil {
			fail(i, method, path, body, "%v", err)
			continue
		}
		statuses[status]++
		switch {
		case status >= 200 && status < 300:
			if s.undo == nil {
				// Detaching is idempotent per vNIC ID (rest.VNICSpec);
				// a network that is not there is not found.
				if s.path != "/v1/vnics/" {
					fail(i, method, path, body, "answered %d, want 4xx (nothing of that name exists)", status)
				}
				break
			}
			um, up, ub := s.undo(obj)
			if us, ua, err := d.request(um, up, ub); err != nil || us >= 300 {
				fail(i, method, path, body, "answered %d; undoing it (%s %s) answered %d %v: %s", status, um, up, us, err, ua)
			}
		case status >= 400 && status < 500:
			var e struct {
				Error string `json:"error"`
				Field string `json:"field"`
			}
			if err := json.Unmarshal(answer, &e); err != nil || e.Error == "" {
				fail(i, method, path, body, "answered %d without a JSON error: %s", status, answer)
			} else if obj != nil && e.Field == "" && status != http.StatusNotFound {
				fail(i, method, path, body, "answered %d naming no field: %s", status, answer)
			}
		default:
			fail(i, method, path, body, "answered %d: %s", status, answer)
		}
		if got := state(); got != state0 {
			fail(i, method, path, body, "answered %d %s; the networks and vNICs changed:\n%s\nwant:\n%s", status, answer, got, state0)
			state0 = got // report each change once
		}
	}
	t.Logf("%d cases in %v: statuses %v", cases, time.Since(start).Round(time.Millisecond), statuses)
}

// randomName is a path element: a name that is probably not there, or
// one with characters a name may not hold.
func randomName(rng *rand.Rand) string {
	names := []string{"nope", "fz9", "..", "%2e%2e", "a%2Fb", strings.Repeat("n", 300), "vm-fz-gone", "%00", "nf0x"}
	return names[rng.IntN(len(names))]
}

// mutateJSON returns a mutated copy of seed as bytes and, when those are
// a JSON object, decoded.
func mutateJSON(rng *rand.Rand, seed map[string]any) ([]byte, map[string]any) {
	if rng.IntN(12) == 0 {
		b, _ := json.Marshal(randomValue(rng, 2))
		return b, nil
	}
	obj := map[string]any{}
	for k, v := range seed {
		obj[k] = v
	}
	keys := []string{"name", "mode", "uplink", "datapath_id", "controllers", "fail_mode", "offload", "ports",
		"eswitch_mode", "num_vfs", "vnic_type", "allow_host_netdev", "private_key", "certificate", "ca_cert",
		"id", "network", "mac", "vlan", "qos", "vlan_proto", "spoof_check", "trust", "min_tx_rate", "max_tx_rate", "link_state"}
	for k := 1 + rng.IntN(3); k > 0; k-- {
		switch rng.IntN(6) {
		case 0: // drop a key
			for key := range obj {
				delete(obj, key)
				break
			}
		case 1: // an unknown key
			obj["x_"+randomName(rng)[:1]] = randomValue(rng, 1)
		default: // a key of either spec set to a random value
			obj[keys[rng.IntN(len(keys))]] = randomValue(rng, 1)
		}
	}
	b, _ := json.Marshal(obj)
	if rng.IntN(8) == 0 { // broken bytes: cut, flipped or inserted
		switch rng.IntN(3) {
		case 0:
			b = b[:rng.IntN(len(b))]
		case 1:
			b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
		default:
			i := rng.IntN(len(b) + 1)
			const junk = "{}[],:\"\\ 0e-"
			b = append(b[:i:i], append([]byte{junk[rng.IntN(len(junk))]}, b[i:]...)...)
		}
		var back map[string]any
		if json.Unmarshal(b, &back) != nil {
			return b, nil
		}
		return b, back
	}
	return b, obj
}

// randomValue is a random JSON value: edge numbers, strings that mean
// something to the API and some that do not, nested arrays and objects.
func randomValue(rng *rand.Rand, depth int) any {
	strs := []string{"", "x", "host", "nic", "hairpin", "secure", "standalone", "auto", "hw", "tc", "off",
		"switchdev", "legacy", "vf", "macvlan", "macvtap", "802.1Q", "802.1ad", "enable", "disable",
		"ptcp:6653", "ptcp:0:127.0.0.1", "tcp:127.0.0.1:1", "punix:/nonexistent/x.sock", "punix:relative.sock",
		"unix:/run/nicflow/nicflowd.sock", "ssl:127.0.0.1:6653", "lo", "fz2", "fz0", "nf0", "0x0", "0xffffffffffffffff",
		"0x1ffffffffffffffff", "-1", "02:00:00:00:aa:02", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "00:00:00:00:00:00",
		"/etc/passwd", "../../x", strings.Repeat("a", 300), "é\u0000\u202e", "1e3"}
	nums := []any{0, 1, -1, 7, 8, 4094, 4095, 65535, 1 << 31, -(1 << 31), 1 << 53, 1e300, -1e300, 3.5, 1e-9, 18446744073709551615.0}
	max := 5
	if depth <= 0 {
		max = 4
	}
	switch rng.IntN(max) {
	case 0:
		return strs[rng.IntN(len(strs))]
	case 1:
		return nums[rng.IntN(len(nums))]
	case 2:
		return rng.IntN(2) == 0
	case 3:
		return nil
	default:
		if rng.IntN(2) == 0 {
			a := make([]any, rng.IntN(3))
			for i := range a {
				a[i] = randomValue(rng, depth-1)
			}
			return a
		}
		return map[string]any{"k": randomValue(rng, depth-1)}
	}
}
