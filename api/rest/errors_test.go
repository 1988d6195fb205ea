package rest_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestBackendErrorsSetTheStatus checks the mapping of backend errors to
// statuses and bodies.
func TestBackendErrorsSetTheStatus(t *testing.T) {
	f := populated()
	hc := httpClient(resttest.Serve(t, f))
	tests := []struct {
		name      string
		err       error
		status    int
		wantError string
		wantField string
	}{
		{"plain", errors.New("netlink: operation not permitted"), 500, "list networks: netlink: operation not permitted", ""},
		{"not found", fmt.Errorf("uplink gone: %w", rest.ErrNotFound), 404, "list networks: uplink gone: not found", ""},
		{"conflict", rest.ErrConflict, 409, "list networks: conflict", ""},
		{"invalid", fmt.Errorf("%w: too many networks", rest.ErrInvalid), 400, "list networks: invalid request: too many networks", ""},
		{"unavailable", fmt.Errorf("store closed: %w", rest.ErrUnavailable), 503, "list networks: store closed: service unavailable", ""},
		{"typed", fmt.Errorf("load: %w", rest.Invalid("uplink", "ens9 has no SR-IOV")), 400, "list networks: load: uplink: ens9 has no SR-IOV", "uplink"},
		{"refused", rest.Refused("max_tx_rate", errors.New("set VF 0 rate: invalid argument")), http.StatusUnprocessableEntity,
			"list networks: max_tx_rate: set VF 0 rate: invalid argument", "max_tx_rate"},
		{"unavailable with a field", rest.Unavailable("mode", "no SR-IOV access"), 503, "list networks: mode: no SR-IOV access", "mode"},
		{"typed without kind", &rest.Error{Field: "x", Msg: "odd"}, 500, "list networks: x: odd", "x"},
		{"typed without kind around a kind", &rest.Error{Msg: "odd", Err: rest.ErrConflict}, 409, "list networks: odd", ""},
		{"outer kind wins", rest.Conflict("id", fmt.Sprintf("in use: %v", rest.NotFound("vf", "gone"))), 409, "list networks: id: in use: vf: gone", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Err = tt.err
			defer func() { f.Err = nil }()
			status, _, body := do(t, hc, "GET", "/v1/networks", "")
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			e := errorBody(t, body)
			if e.Error != tt.wantError || e.Field != tt.wantField {
				t.Errorf("error = %+v, want {Error:%s Field:%s}", e, tt.wantError, tt.wantField)
			}
		})
	}
}

func TestErrorIsSentinel(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{rest.Invalid("vlan", "x"), rest.ErrInvalid},
		{rest.NotFound("network", "x"), rest.ErrNotFound},
		{fmt.Errorf("wrapped: %w", rest.Conflict("id", "x")), rest.ErrConflict},
		{&rest.Error{Kind: rest.ErrUnavailable}, rest.ErrUnavailable},
		{rest.Refused("mode", errors.New("EOPNOTSUPP")), rest.ErrRefused},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.want)
		}
		if errors.Is(tt.err, errors.New("other")) {
			t.Errorf("errors.Is(%v, other) = true", tt.err)
		}
	}
	if errors.Is(rest.Invalid("x", "y"), rest.ErrNotFound) {
		t.Error("an invalid error matches ErrNotFound")
	}
	if errors.Is(&rest.Error{Msg: "no kind"}, nil) {
		t.Error("an error without a kind matches nil")
	}
	cause := errors.New("the kernel's words")
	if err := rest.Refused("mtu", cause); !errors.Is(err, cause) || err.Error() != "mtu: the kernel's words" {
		t.Errorf("Refused(mtu, cause) = %q, want the cause's words, and errors.Is the cause", err)
	}
}
