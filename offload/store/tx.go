package store

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Tx is one transaction, valid only inside the function given to
// Store.Update or Store.View. Writes in a View transaction fail.
type Tx struct {
	tx *bolt.Tx
}

// Network returns the network name or a *NotFoundError.
func (t *Tx) Network(name string) (Network, error) {
	var n Network
	err := get(t.tx.Bucket(bucketNetworks), "network", name, &n)
	return n, err
}

// PutNetwork creates or replaces network n (keyed by n.Name).
func (t *Tx) PutNetwork(n Network) error {
	if n.Name == "" {
		return errors.New("put network: empty name")
	}
	return put(t.tx.Bucket(bucketNetworks), "network", n.Name, n)
}

// DeleteNetwork deletes a network; a missing one is a *NotFoundError.
func (t *Tx) DeleteNetwork(name string) error {
	return del(t.tx.Bucket(bucketNetworks), "network", name)
}

// Networks returns every network, sorted by name.
func (t *Tx) Networks() ([]Network, error) {
	var ns []Network
	err := each(t.tx.Bucket(bucketNetworks), "network", func(n Network) { ns = append(ns, n) })
	return ns, err
}

// VNIC returns the vNIC id or a *NotFoundError.
func (t *Tx) VNIC(id string) (VNIC, error) {
	var v VNIC
	err := get(t.tx.Bucket(bucketVNICs), "vnic", id, &v)
	return v, err
}

// PutVNIC creates or replaces vNIC v (keyed by v.ID).
func (t *Tx) PutVNIC(v VNIC) error {
	if v.ID == "" {
		return errors.New("put vnic: empty id")
	}
	return put(t.tx.Bucket(bucketVNICs), "vnic", v.ID, v)
}

// DeleteVNIC deletes a vNIC; a missing one is a *NotFoundError.
func (t *Tx) DeleteVNIC(id string) error {
	return del(t.tx.Bucket(bucketVNICs), "vnic", id)
}

// VNICs returns the vNICs of network (all when network is empty), sorted
// by id.
func (t *Tx) VNICs(network string) ([]VNIC, error) {
	var vs []VNIC
	err := each(t.tx.Bucket(bucketVNICs), "vnic", func(v VNIC) {
		if network == "" || v.Network == network {
			vs = append(vs, v)
		}
	})
	return vs, err
}

func get(b *bolt.Bucket, kind, key string, v any) error {
	raw := b.Get([]byte(key))
	if raw == nil {
		return &NotFoundError{Kind: kind, Key: key}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", kind, key, err)
	}
	return nil
}

func put(b *bolt.Bucket, kind, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", kind, key, err)
	}
	if err := b.Put([]byte(key), raw); err != nil {
		return fmt.Errorf("put %s %q: %w", kind, key, err)
	}
	return nil
}

func del(b *bolt.Bucket, kind, key string) error {
	if b.Get([]byte(key)) == nil {
		return &NotFoundError{Kind: kind, Key: key}
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, key, err)
	}
	return nil
}

// each decodes every record of b in key order.
func each[T any](b *bolt.Bucket, kind string, fn func(T)) error {
	return b.ForEach(func(k, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %s %q: %w", kind, k, err)
		}
		fn(v)
		return nil
	})
}
