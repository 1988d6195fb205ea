package nic

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/jaypipes/pcidb"
)

// DefaultPCIIDs is where Debian's pci.ids package (and pciutils) puts the PCI
// id database.
const DefaultPCIIDs = "/usr/share/misc/pci.ids"

// pciNames resolves PCI vendor and device ids to names. It loads the
// database once, on first use; a missing or unreadable database leaves every
// name empty and is reported by note.
type pciNames struct {
	path string

	once sync.Once
	db   *pcidb.DB // nil when the database could not be loaded
	note string
}

func newPCINames(path string) *pciNames {
	if path == "" {
		path = DefaultPCIIDs
	}
	return &pciNames{path: path}
}

func (p *pciNames) load() {
	p.once.Do(func() {
		db, err := loadPCIDB(p.path)
		if err != nil {
			p.note = fmt.Sprintf("PCI names not resolved: %v (install Debian's pci.ids package)", err)
			return
		}
		p.db = db
	})
}

// loadPCIDB parses the pci.ids file at path. The file is checked first so
// that pcidb never falls back to other locations or to a network fetch, and
// a parser panic on a malformed file becomes an error.
func loadPCIDB(path string) (db *pcidb.DB, err error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no pci.ids at %s", path)
		}
		return nil, fmt.Errorf("pci.ids: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("parse pci.ids %s: malformed file (%v)", path, r)
		}
	}()
	noFetch := false
	db, err = pcidb.New(pcidb.WithPath(path), &pcidb.WithOption{EnableNetworkFetch: &noFetch})
	if err != nil {
		return nil, fmt.Errorf("load pci.ids %s: %w", path, err)
	}
	return db, nil
}

// names returns the vendor and device names of the ids (lower-case hex), and
// a note when the database is missing.
func (p *pciNames) names(vendor, device string) (vendorName, deviceName, note string) {
	p.load()
	if p.db == nil {
		return "", "", p.note
	}
	if v := p.db.Vendors[vendor]; v != nil {
		vendorName = v.Name
	}
	if d := p.db.Products[vendor+device]; d != nil {
		deviceName = d.Name
	}
	return vendorName, deviceName, ""
}
