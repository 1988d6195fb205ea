package waitfor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	errNo := errors.New("not yet")
	tests := []struct {
		name    string
		timeout time.Duration
		okAt    int // call on which cond succeeds; 0: never
		wantErr bool
		calls   func(int) bool
	}{
		{name: "at once", timeout: time.Second, okAt: 1, calls: func(n int) bool { return n == 1 }},
		{name: "after polls", timeout: 5 * time.Second, okAt: 4, calls: func(n int) bool { return n == 4 }},
		{name: "zero timeout still calls once", timeout: 0, okAt: 1, calls: func(n int) bool { return n == 1 }},
		{name: "never", timeout: 30 * time.Millisecond, wantErr: true, calls: func(n int) bool { return n >= 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := Until(tt.timeout, func() error {
				n++
				if n == tt.okAt {
					return nil
				}
				return errNo
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Until = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, errNo) || !strings.HasPrefix(err.Error(), "after ")) {
				t.Errorf("Until = %q, want cond's last error with the time waited", err)
			}
			if !tt.calls(n) {
				t.Errorf("cond called %d times", n)
			}
		})
	}
}

func TestUntilKeepsToTheTimeout(t *testing.T) {
	start := time.Now()
	_ = Until(100*time.Millisecond, func() error { return errNotYet })
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("Until with a 100ms timeout returned after %v", d)
	}
}

// fakeTB records a Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestTrue(t *testing.T) {
	var ok fakeTB
	n := 0
	True(&ok, time.Second, "the third call", func() bool { n++; return n == 3 })
	if ok.failed != "" || n != 3 {
		t.Errorf("True failed %q after %d calls, want success on the third", ok.failed, n)
	}
	var bad fakeTB
	True(&bad, 10*time.Millisecond, "never", func() bool { return false })
	if !strings.Contains(bad.failed, "timed out waiting for never") {
		t.Errorf("True on a condition that never holds failed with %q, want it to name what it waited for", bad.failed)
	}
}
