package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of the record layout this package writes.
const SchemaVersion = "1"

// lockTimeout is how long Open waits for another process's lock on the file.
const lockTimeout = time.Second

// Bucket and key names.
var (
	bucketMeta     = []byte("meta")
	bucketNetworks = []byte("networks")
	bucketVNICs    = []byte("vnics")
	keySchema      = []byte("schema")
)

// ErrNotFound is returned (wrapped in a *NotFoundError) when a record does
// not exist.
var ErrNotFound = errors.New("not found")

// NotFoundError names the record that does not exist; it matches ErrNotFound.
type NotFoundError struct {
	Kind string // "network" or "vnic"
	Key  string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.Key) }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Store is the state file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (creating if needed) the state file at path. It fails with a
// clear error when another process holds the file, when the file was
// written with another schema version, and when it is damaged: empty
// (truncated to 0 bytes), truncated, or with pages overwritten. A damaged
// file is checked read-only first, so nothing in it is overwritten, and
// the error says how to recover (see DamagedError).
func Open(path string) (*Store, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, &DamagedError{Path: path, Err: errors.New("the file is empty (0 bytes): it was truncated, and every network and vNIC it held is lost")}
	}
	if _, err := os.Stat(path); err == nil {
		if err := check(path); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open state: state file %s is in use by another nicflowd", path)
	}
	if err != nil {
		return nil, &DamagedError{Path: path, Err: err}
	}
	s := &Store{db: db, path: path}
	if err := s.db.Update(func(tx *bolt.Tx) error { return guard(path, func() error { return initSchema(tx) }) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	return s, nil
}

// DamagedError is a state file that bbolt cannot read: nicflowd refuses to
// start with it and leaves it as it is.
type DamagedError struct {
	Path string
	Err  error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("state file %s is damaged: %v; nicflowd changed nothing in it. Restore it from a backup, "+
		"or move it aside (mv %s %s.damaged) to start with no networks: the networks and vNICs it held are then "+
		"forgotten, and their netdevs (nicflow's veths and tc miss pairs) stay on the host until removed", e.Path, e.Err, e.Path, e.Path)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// check opens the existing file at path read-only and reads every page a
// reader can reach (every bucket and key) and bbolt's consistency check
// (Tx.Check: pages reachable or free, once), turning a panic or a memory
// fault in bbolt into a *DamagedError.
func check(path string) error {
	db, err := openBolt(path, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("open state: state file %s is in use by another nicflowd", path)
	}
	if err != nil {
		return &DamagedError{Path: path, Err: err}
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		return guard(path, func() error {
			if err := walk(tx.Cursor(), func(name []byte) *bolt.Bucket { return tx.Bucket(name) }); err != nil {
				return err
			}
			var errs []error
			for err := range tx.Check() {
				if len(errs) < 3 {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		})
	})
	if err != nil {
		var de *DamagedError
		if errors.As(err, &de) {
			return err
		}
		return &DamagedError{Path: path, Err: err}
	}
	return nil
}

// walk reads every key and value under c, descending into nested buckets.
func walk(c *bolt.Cursor, bucket func(name []byte) *bolt.Bucket) error {
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		b := bucket(k)
		if b == nil {
			return fmt.Errorf("bucket %q cannot be read", k)
		}
		if err := walk(b.Cursor(), b.Bucket); err != nil {
			return fmt.Errorf("bucket %q: %w", k, err)
		}
	}
	return nil
}

// openBolt is bolt.Open with its panics and memory faults (a page past a
// truncated file's end) turned into errors.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	err = guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, o)
		return err
	})
	return db, err
}

// guard runs fn, turning a panic in bbolt (a page that is not what its
// parent says, "Page expected to be: 9, but self identifies as 0") and a
// memory fault in the file's mapping (SIGBUS past a truncated file's end)
// into a *DamagedError. Every bbolt call goes through it: a damage the
// check at Open missed must fail a request, never the daemon.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &DamagedError{Path: path, Err: fmt.Errorf("bbolt: %v", r)}
		}
	}()
	return fn()
}

// initSchema creates the buckets and checks or writes the schema version.
func initSchema(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketNetworks, bucketVNICs} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get(keySchema); {
	case v == nil:
		return meta.Put(keySchema, []byte(SchemaVersion))
	case string(v) != SchemaVersion:
		return fmt.Errorf("schema version %q, this nicflowd reads version %q", v, SchemaVersion)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file (and its lock).
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", s.path, err)
	}
	return nil
}

// Update runs fn in one read-write transaction: every change fn makes is
// committed together when it returns nil, and none when it returns an error.
// Transactions are serialized; keep fn short and free of kernel calls.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return guard(s.path, func() error {
		return s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
	})
}

// View runs fn in a read-only transaction (a consistent snapshot).
func (s *Store) View(fn func(tx *Tx) error) error {
	return guard(s.path, func() error {
		return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
	})
}

// PutNetwork creates or replaces a network.
func (s *Store) PutNetwork(n Network) error {
	return s.Update(func(tx *Tx) error { return tx.PutNetwork(n) })
}

// GetNetwork returns the network name or a *NotFoundError.
func (s *Store) GetNetwork(name string) (n Network, err error) {
	err = s.View(func(tx *Tx) error { n, err = tx.Network(name); return err })
	return n, err
}

// DeleteNetwork deletes a network; a missing one is a *NotFoundError.
func (s *Store) DeleteNetwork(name string) error {
	return s.Update(func(tx *Tx) error { return tx.DeleteNetwork(name) })
}

// Networks returns every network, sorted by name.
func (s *Store) Networks() (ns []Network, err error) {
	err = s.View(func(tx *Tx) error { ns, err = tx.Networks(); return err })
	return ns, err
}

// PutVNIC creates or replaces a vNIC allocation.
func (s *Store) PutVNIC(v VNIC) error {
	return s.Update(func(tx *Tx) error { return tx.PutVNIC(v) })
}

// GetVNIC returns the vNIC id or a *NotFoundError.
func (s *Store) GetVNIC(id string) (v VNIC, err error) {
	err = s.View(func(tx *Tx) error { v, err = tx.VNIC(id); return err })
	return v, err
}

// DeleteVNIC deletes a vNIC allocation; a missing one is a *NotFoundError.
func (s *Store) DeleteVNIC(id string) error {
	return s.Update(func(tx *Tx) error { return tx.DeleteVNIC(id) })
}

// VNICs returns the vNICs of network (every vNIC when network is empty),
// sorted by id.
func (s *Store) VNICs(network string) (vs []VNIC, err error) {
	err = s.View(func(tx *Tx) error { vs, err = tx.VNICs(network); return err })
	return vs, err
}
