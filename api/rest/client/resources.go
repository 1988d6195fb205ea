package client

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/nicflow/nicflow/api/rest"
)

// Health returns the daemon's health; a failing daemon is an *APIError
// with status 503.
func (c *Client) Health(ctx context.Context) (rest.Health, error) {
	var h rest.Health
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil, &h)
	return h, err
}

// Metrics returns the Prometheus exposition text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var s string
	_, err := c.do(ctx, http.MethodGet, "/metrics", nil, &s)
	return s, err
}

// NICs returns every NIC port as the daemon reports it (objects with at
// least the keys of rest.NICSummary).
func (c *Client) NICs(ctx context.Context) ([]json.RawMessage, error) {
	var out []json.RawMessage
	_, err := c.do(ctx, http.MethodGet, "/v1/nics", nil, &out)
	return out, err
}

// NIC returns one NIC port by netdev name or PCI address.
func (c *Client) NIC(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := c.do(ctx, http.MethodGet, "/v1/nics/"+esc(name), nil, &out)
	return out, err
}

// Networks returns every network.
func (c *Client) Networks(ctx context.Context) ([]rest.Network, error) {
	var out []rest.Network
	_, err := c.do(ctx, http.MethodGet, "/v1/networks", nil, &out)
	return out, err
}

// Network returns one network.
func (c *Client) Network(ctx context.Context, name string) (rest.Network, error) {
	var out rest.Network
	_, err := c.do(ctx, http.MethodGet, "/v1/networks/"+esc(name), nil, &out)
	return out, err
}

// CreateNetwork creates a network.
func (c *Client) CreateNetwork(ctx context.Context, spec rest.NetworkSpec) (rest.Network, error) {
	var out rest.Network
	_, err := c.do(ctx, http.MethodPost, "/v1/networks", spec, &out)
	return out, err
}

// UpdateNetwork replaces a network's spec.
func (c *Client) UpdateNetwork(ctx context.Context, name string, spec rest.NetworkSpec) (rest.Network, error) {
	var out rest.Network
	_, err := c.do(ctx, http.MethodPut, "/v1/networks/"+esc(name), spec, &out)
	return out, err
}

// DeleteNetwork deletes a network.
func (c *Client) DeleteNetwork(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/networks/"+esc(name), nil, nil)
	return err
}

// VNICs returns every attached vNIC.
func (c *Client) VNICs(ctx context.Context) ([]rest.VNIC, error) {
	var out []rest.VNIC
	_, err := c.do(ctx, http.MethodGet, "/v1/vnics", nil, &out)
	return out, err
}

// VNIC returns one vNIC.
func (c *Client) VNIC(ctx context.Context, id string) (rest.VNIC, error) {
	var out rest.VNIC
	_, err := c.do(ctx, http.MethodGet, "/v1/vnics/"+esc(id), nil, &out)
	return out, err
}

// AttachVNIC attaches a vNIC; created is false when it was already
// attached with the same settings.
func (c *Client) AttachVNIC(ctx context.Context, spec rest.VNICSpec) (v rest.VNIC, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, "/v1/vnics", spec, &v)
	return v, status == http.StatusCreated, err
}

// DetachVNIC detaches a vNIC.
func (c *Client) DetachVNIC(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/vnics/"+esc(id), nil, nil)
	return err
}

// Flows returns a network's rules with their tiers and counters.
func (c *Client) Flows(ctx context.Context, network string) ([]rest.Flow, error) {
	var out []rest.Flow
	_, err := c.do(ctx, http.MethodGet, "/v1/networks/"+esc(network)+"/flows", nil, &out)
	return out, err
}

// Tables returns a network's tables in use with their counters.
func (c *Client) Tables(ctx context.Context, network string) ([]rest.Table, error) {
	var out []rest.Table
	_, err := c.do(ctx, http.MethodGet, "/v1/networks/"+esc(network)+"/tables", nil, &out)
	return out, err
}

// Ports returns a network's ports with their counters.
func (c *Client) Ports(ctx context.Context, network string) ([]rest.Port, error) {
	var out []rest.Port
	_, err := c.do(ctx, http.MethodGet, "/v1/networks/"+esc(network)+"/ports", nil, &out)
	return out, err
}
