package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func boolp(b bool) *bool { return &b }

var (
	created = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	netA    = Network{Name: "a", Mode: "nic", Uplink: "eth0", DPID: 0xa, Controllers: []string{"tcp:127.0.0.1:6653"}, FailMode: "secure", Offload: "auto", Created: created}
	netB    = Network{Name: "b", Mode: "host", DPID: 0xb, Created: created}
	vnic1   = VNIC{ID: "vm1-0", Network: "a", PF: "eth0", VFIndex: 1, VFPCI: "0000:03:00.2", VFNetdev: "eth0v1", Representor: "eth0_1", OFPort: 2,
		Settings: VFSettings{MAC: "02:00:00:00:00:01", VLAN: 100, QoS: 3, VLANProto: "802.1Q", SpoofCheck: boolp(true), MinTxRate: 10, MaxTxRate: 100, LinkState: "enable"},
		Original: VFSettings{MAC: "00:00:00:00:00:00", SpoofCheck: boolp(false), Trust: boolp(false), LinkState: "auto"},
		Attached: created}
	vnic2 = VNIC{ID: "vm2-0", Network: "b", PF: "eth1", VFIndex: 0, Attached: created}
)

func TestRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	for _, n := range []Network{netB, netA} {
		if err := s.PutNetwork(n); err != nil {
			t.Fatalf("PutNetwork(%s): %v", n.Name, err)
		}
	}
	for _, v := range []VNIC{vnic2, vnic1} {
		if err := s.PutVNIC(v); err != nil {
			t.Fatalf("PutVNIC(%s): %v", v.ID, err)
		}
	}
	gotN, err := s.GetNetwork("a")
	if err != nil {
		t.Fatalf("GetNetwork: %v", err)
	}
	if diff := cmp.Diff(netA, gotN); diff != "" {
		t.Errorf("GetNetwork (-want +got):\n%s", diff)
	}
	gotV, err := s.GetVNIC("vm1-0")
	if err != nil {
		t.Fatalf("GetVNIC: %v", err)
	}
	if diff := cmp.Diff(vnic1, gotV); diff != "" {
		t.Errorf("GetVNIC (-want +got):\n%s", diff)
	}
	ns, err := s.Networks()
	if err != nil {
		t.Fatalf("Networks: %v", err)
	}
	if diff := cmp.Diff([]Network{netA, netB}, ns); diff != "" {
		t.Errorf("Networks sorted by name (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		network string
		want    []VNIC
	}{
		{"", []VNIC{vnic1, vnic2}},
		{"a", []VNIC{vnic1}},
		{"b", []VNIC{vnic2}},
		{"none", nil},
	} {
		got, err := s.VNICs(tc.network)
		if err != nil {
			t.Fatalf("VNICs(%q): %v", tc.network, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("VNICs(%q) (-want +got):\n%s", tc.network, diff)
		}
	}
	if err := s.DeleteVNIC("vm1-0"); err != nil {
		t.Fatalf("DeleteVNIC: %v", err)
	}
	if err := s.DeleteNetwork("a"); err != nil {
		t.Fatalf("DeleteNetwork: %v", err)
	}
	if _, err := s.GetVNIC("vm1-0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetVNIC after delete: err = %v, want ErrNotFound", err)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := openTemp(t)
	for name, err := range map[string]error{
		"GetNetwork":    func() error { _, err := s.GetNetwork("x"); return err }(),
		"DeleteNetwork": s.DeleteNetwork("x"),
		"GetVNIC":       func() error { _, err := s.GetVNIC("y"); return err }(),
		"DeleteVNIC":    s.DeleteVNIC("y"),
	} {
		var nf *NotFoundError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) {
			t.Errorf("%s: err = %v, want a *NotFoundError matching ErrNotFound", name, err)
		}
	}
	if _, err := s.GetVNIC("y"); err == nil || err.Error() != `vnic "y" not found` {
		t.Errorf("GetVNIC message = %v, want %q", err, `vnic "y" not found`)
	}
}

func TestEmptyKeyRefused(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.PutNetwork(Network{}); err == nil {
		t.Error("PutNetwork with an empty name succeeded")
	}
	if err := s.PutVNIC(VNIC{}); err == nil {
		t.Error("PutVNIC with an empty id succeeded")
	}
}

func TestSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	if err := s.PutNetwork(netA); err != nil {
		t.Fatal(err)
	}
	if err := s.PutVNIC(vnic1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	ns, err := s2.Networks()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Network{netA}, ns); diff != "" {
		t.Errorf("networks after reopen (-want +got):\n%s", diff)
	}
	vs, err := s2.VNICs("")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]VNIC{vnic1}, vs); diff != "" {
		t.Errorf("vNICs after reopen (-want +got):\n%s", diff)
	}
}

func TestInUseByAnotherProcess(t *testing.T) {
	_, path := openTemp(t)
	// flock conflicts between two open file descriptions even in one process.
	start := time.Now()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a held state file succeeded")
	}
	want := fmt.Sprintf("state file %s is in use by another nicflowd", path)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v, want about %v", d, lockTimeout)
	}
}

func TestSchemaVersionMismatch(t *testing.T) {
	s, path := openTemp(t)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("Open of a file with schema 99 succeeded")
	}
	if !strings.Contains(err.Error(), `schema version "99"`) {
		t.Errorf("err = %v, want it to name schema version 99", err)
	}
}

func TestCorruptValueNamesKey(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketVNICs).Put([]byte("broken-1"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"GetVNIC": func() error { _, err := s.GetVNIC("broken-1"); return err }(),
		"VNICs":   func() error { _, err := s.VNICs(""); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), `vnic "broken-1"`) {
			t.Errorf("%s: err = %v, want an error naming vnic \"broken-1\"", name, err)
		}
	}
}

func TestUpdateIsAtomic(t *testing.T) {
	s, _ := openTemp(t)
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutNetwork(netA); err != nil {
			return err
		}
		if err := tx.PutVNIC(vnic1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update err = %v, want boom", err)
	}
	if _, err := s.GetNetwork("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("network written by a failed Update: err = %v", err)
	}
	if _, err := s.GetVNIC(vnic1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("vNIC written by a failed Update: err = %v", err)
	}
	if err := s.View(func(tx *Tx) error { return tx.PutNetwork(netB) }); err == nil {
		t.Error("PutNetwork inside View succeeded")
	}
}

// TestConcurrentWriters has 16 goroutines each claim slots 0..7 with a
// check-then-put inside Update; every slot must be claimed exactly once.
func TestConcurrentWriters(t *testing.T) {
	s, _ := openTemp(t)
	const writers, slots = 16, 8
	var wg sync.WaitGroup
	claims := make(chan string, writers*slots)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for slot := range slots {
				err := s.Update(func(tx *Tx) error {
					vs, err := tx.VNICs("")
					if err != nil {
						return err
					}
					for _, v := range vs {
						if v.VFIndex == slot {
							return nil // taken
						}
					}
					claims <- fmt.Sprintf("w%d-s%d", w, slot)
					return tx.PutVNIC(VNIC{ID: fmt.Sprintf("w%d-s%d", w, slot), PF: "eth0", VFIndex: slot})
				})
				if err != nil {
					t.Errorf("writer %d slot %d: %v", w, slot, err)
				}
				// Readers run alongside writers.
				if _, err := s.VNICs(""); err != nil {
					t.Errorf("VNICs: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(claims)
	if n := len(claims); n != slots {
		t.Errorf("%d claims committed, want %d (one per slot)", n, slots)
	}
	vs, err := s.VNICs("")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]string{}
	for _, v := range vs {
		if prev, ok := seen[v.VFIndex]; ok {
			t.Errorf("slot %d claimed by %s and %s", v.VFIndex, prev, v.ID)
		}
		seen[v.VFIndex] = v.ID
	}
	if len(seen) != slots {
		t.Errorf("%d slots claimed, want %d", len(seen), slots)
	}
}
