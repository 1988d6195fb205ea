package rest

import "context"

// Backend is what the API serves: nicflowd's network manager
// (offload/manager) implements it. Every request it receives has been
// validated and normalized (defaults filled); failures carry a kind (an
// *Error, or wrapping ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable
// or ErrRefused), which the server maps to the HTTP status.
// Implementations must be safe for concurrent use.
type Backend interface {
	NICBackend
	NetworkBackend
	VNICBackend
	StatsBackend
}

// NICBackend reports the host's NIC ports.
type NICBackend interface {
	// NICs returns every NIC port. Each value is marshalled to JSON as is
	// and must be an object carrying at least the keys of NICSummary.
	NICs(ctx context.Context) ([]any, error)
	// NIC returns one NIC port by netdev name or PCI address
	// (ErrNotFound when there is none).
	NIC(ctx context.Context, name string) (any, error)
}

// NetworkBackend manages networks.
type NetworkBackend interface {
	Networks(ctx context.Context) ([]Network, error)
	Network(ctx context.Context, name string) (Network, error)
	// CreateNetwork returns ErrConflict when the name is taken.
	CreateNetwork(ctx context.Context, spec NetworkSpec) (Network, error)
	// UpdateNetwork replaces the spec of an existing network (spec.Name
	// equals name).
	UpdateNetwork(ctx context.Context, name string, spec NetworkSpec) (Network, error)
	// DeleteNetwork returns ErrConflict while vNICs are attached to it.
	DeleteNetwork(ctx context.Context, name string) error
}

// VNICBackend attaches vNICs to networks.
type VNICBackend interface {
	VNICs(ctx context.Context) ([]VNIC, error)
	VNIC(ctx context.Context, id string) (VNIC, error)
	// AttachVNIC is idempotent per id: attaching an id that is attached
	// with the same spec returns it with created false; with another spec
	// it fails with ErrConflict. An unknown network is ErrNotFound.
	AttachVNIC(ctx context.Context, spec VNICSpec) (v VNIC, created bool, err error)
	// DetachVNIC is idempotent per id too: detaching an id that is not
	// attached succeeds.
	DetachVNIC(ctx context.Context, id string) error
}

// StatsBackend reports counters.
type StatsBackend interface {
	// Flows returns a network's rules with their placement and merged
	// counters (ErrNotFound for an unknown network).
	Flows(ctx context.Context, network string) ([]Flow, error)
	// Ports returns a network's ports with their counters.
	Ports(ctx context.Context, network string) ([]Port, error)
	// Tables returns the tables of a network that are in use (a rule or a
	// lookup), in table order, with their counters.
	Tables(ctx context.Context, network string) ([]Table, error)
	// Metrics returns the figures /metrics exposes.
	Metrics(ctx context.Context) (*Metrics, error)
}

// HealthChecker is optionally implemented by a Backend: /healthz answers
// 503 with the error while Health fails.
type HealthChecker interface {
	Health(ctx context.Context) error
}
