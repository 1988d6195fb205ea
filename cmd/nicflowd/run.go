package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/cmd/internal/version"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/nic"
	"github.com/nicflow/nicflow/sriov/vf"
	"github.com/nicflow/nicflow/vepa"
)

// Run is nicflowd: it parses args, brings up every network and serves until
// SIGINT or SIGTERM.
func Run(args []string) error {
	o, fs, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.version {
		fmt.Println(version.String())
		return nil
	}
	cfg, err := o.config(fs)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, log)
}

// serve opens the state store, brings up the configuration's networks and
// the stored ones with their vNICs, serves the API, logs "ready", and runs
// until ctx is done.
func serve(ctx context.Context, cfg *Config, log *zap.Logger) error {
	log.Info("starting", zap.String("version", version.String()), zap.Int("networks", len(cfg.Networks)),
		zap.String("state", cfg.StatePath))
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.StatePath), 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	st, err := store.Open(cfg.StatePath)
	if err != nil {
		return err
	}
	defer st.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 8)
	mcfg := managerConfig{RunDir: cfg.RunDir, Store: st, Log: log, Ports: kernelPorts{}, Links: netlinkLinks{}, Errc: errc, Stale: kernelSweeper{}}
	k, err := vf.NewNetlink(vf.NetlinkOptions{})
	if err != nil {
		log.Warn("no SR-IOV access: networks in mode nic are unavailable", zap.Error(err))
	} else {
		defer k.Close()
		mcfg.VF = k
	}
	vh, err := vepa.Open()
	if err != nil {
		log.Warn("no rtnetlink bridge access: networks in mode hairpin are unavailable", zap.Error(err))
	} else {
		defer vh.Close()
		mcfg.VEPA = vh
	}
	m, err := newManager(ctx, mcfg)
	if err != nil {
		return err
	}
	defer m.close()
	for i := range cfg.Networks {
		if err := m.startConfig(&cfg.Networks[i]); err != nil {
			return err
		}
	}
	if err := m.restore(); err != nil {
		return err
	}
	m.sweepAfterStart()
	if err := watchLinks(ctx, m.running, log); err != nil {
		log.Warn("port link changes will not be reported", zap.Error(err))
	}

	var wg sync.WaitGroup
	if err := serveREST(ctx, cfg, &apiBackend{m: m, disc: nic.NewDiscoverer()}, log, &wg, errc); err != nil {
		return err
	}
	log.Info("ready")

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		log.Error("stopping", zap.Error(runErr))
	}
	cancel()
	wg.Wait()
	return runErr
}

// serveAPI serves the REST API over networks that run already (started
// by the caller), without a state store: the API reads them and cannot
// create networks or attach vNICs.
func serveAPI(ctx context.Context, cfg *Config, nets []*network, log *zap.Logger, wg *sync.WaitGroup, errc chan<- error) error {
	m, err := newManager(ctx, managerConfig{RunDir: cfg.RunDir, Log: log, Ports: kernelPorts{}, Links: netlinkLinks{}, Errc: errc})
	if err != nil {
		return err
	}
	for _, n := range nets {
		m.adopt(n)
	}
	return serveREST(ctx, cfg, &apiBackend{m: m, disc: nic.NewDiscoverer()}, log, wg, errc)
}

// serveREST serves the REST API on the unix socket cfg.API (and on TCP when
// cfg.APIListen is set) until ctx is done.
func serveREST(ctx context.Context, cfg *Config, b rest.Backend, log *zap.Logger, wg *sync.WaitGroup, errc chan<- error) error {
	if err := checkAPIListen(cfg.APIListen); err != nil {
		return fmt.Errorf("api_listen: %w", err)
	}
	srv, err := rest.New(rest.Config{Backend: b, Logger: log.Named("api"), Version: version.String()})
	if err != nil {
		return err
	}
	var lns []net.Listener
	ln, err := rest.ListenUnix(cfg.apiSocket(), 0)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	lns = append(lns, ln)
	if cfg.APIListen != "" {
		tl, err := rest.ListenTCP(cfg.APIListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("api: %w", err)
		}
		lns = append(lns, tl)
	}
	for _, l := range lns {
		log.Info("api listening", zap.String("addr", l.Addr().Network()+":"+l.Addr().String()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ctx, l); err != nil {
				errc <- fmt.Errorf("api: %w", err)
			}
		}()
	}
	return nil
}
