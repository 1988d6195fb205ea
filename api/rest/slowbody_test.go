package rest_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestSlowBodyIsCutOff: a client that sends its headers at once and then
// trickles its body, a byte at a time, is answered 408 and its connection
// closed once the read timeout has passed; it does not hold the
// connection until shutdown. The backend is never called.
func TestSlowBodyIsCutOff(t *testing.T) {
	f := resttest.NewFake()
	srv, err := rest.New(rest.Config{Backend: f, ReadTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"slow","mode":"host","offload":"off","ports":["veth0"]}` + strings.Repeat(" ", 200)
	fmt.Fprintf(conn, "POST /v1/networks HTTP/1.1\r\nHost: nicflowd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := range len(body) { // 5 s of body: far beyond the timeout
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return // the server closed the connection
			}
			<-tick.C
		}
	}()

	// The answer must come well before the body is complete, and the
	// connection close after it.
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a body sent slowly: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(msg), "request body") {
		t.Errorf("answer = %d %s, want 408 saying the request body was not received in time", resp.StatusCode, msg)
	}
	// Closed with the rest of the body unread: EOF, or a reset.
	if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("after the answer, read = %v, want EOF or a reset (the connection closed)", err)
	}
	conn.Close()
	<-trickled
	if calls := f.CallLog(); len(calls) != 0 {
		t.Errorf("backend calls %q, want none", calls)
	}
}
