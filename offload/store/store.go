package store

import (
	"errors"
	"fmt"
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
// clear error when another process holds the file, and when the file was
// written with another schema version.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open state: state file %s is in use by another nicflowd", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
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
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// View runs fn in a read-only transaction (a consistent snapshot).
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
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
