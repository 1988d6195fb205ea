package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/cmd/internal/version"
	"github.com/nicflow/nicflow/cmd/nicflowd/internal/config"
	"github.com/nicflow/nicflow/offload/manager"
	"github.com/nicflow/nicflow/offload/store"
)

// Run is nicflowd: it parses args, brings up every network and serves until
// SIGINT or SIGTERM.
func Run(args []string) error {
	o, fs, err := config.ParseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Version {
		fmt.Println(version.String())
		return nil
	}
	cfg, err := o.Config(fs)
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

// serve opens the state store and the kernel access, brings up the
// configuration's networks and the stored ones with their vNICs through
// the network manager, serves the API over it, logs "ready", and runs
// until ctx is done.
func serve(ctx context.Context, cfg *config.Config, log *zap.Logger) error {
	log.Info("starting", zap.String("version", version.String()), zap.Int("configured_networks", len(cfg.Networks)),
		zap.String("state", cfg.StatePath))
	fixed, err := cfg.Specs()
	if err != nil {
		return err
	}
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
	tlsSet, err := mtls.NewSet(cfg.Files, log.Named("tls"))
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	errc := make(chan error, 8)
	mcfg := manager.Config{RunDir: cfg.RunDir, APISocket: cfg.APISocketPath(), Store: st, Log: log, Errc: errc, TLS: tlsSet,
		ReconcileDelay: cfg.ReconcileDelay, InactivityProbe: cfg.DefaultInactivityProbe()}
	release, err := mcfg.OpenKernel()
	if err != nil {
		return err
	}
	defer release()
	m, err := manager.New(mcfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := m.Shutdown(context.Background()); err != nil {
			log.Warn("shut down", zap.Error(err))
		}
	}()
	if err := m.Start(ctx, fixed...); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if err := serveREST(ctx, cfg, m, tlsSet, log, &wg, errc); err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchTLS(ctx, tlsSet, log)
	}()
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

// watchTLS reads the TLS material again on SIGHUP, and when its files
// change (polled), until ctx is done.
func watchTLS(ctx context.Context, set *mtls.Set, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(mtls.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reading the TLS material again")
			set.Reload() // logs each failure; the previous material stays
		case <-t.C:
			set.Poll()
		}
	}
}

// serveREST serves the REST API on the unix socket cfg.API (and on TCP when
// cfg.APIListen is set: over mutual TLS when the daemon has TLS material)
// until ctx is done.
func serveREST(ctx context.Context, cfg *config.Config, b rest.Backend, tlsSet *mtls.Set, log *zap.Logger, wg *sync.WaitGroup, errc chan<- error) error {
	if err := config.CheckAPIListen(cfg.APIListen, !cfg.Files.IsZero()); err != nil {
		return fmt.Errorf("api_listen: %w", err)
	}
	srv, err := rest.New(rest.Config{Backend: b, Logger: log.Named("api"), Version: version.String()})
	if err != nil {
		return err
	}
	var lns []net.Listener
	ln, err := rest.ListenUnix(cfg.APISocketPath(), 0)
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
		if !cfg.Files.IsZero() {
			mat, err := tlsSet.Get(cfg.Files)
			if err != nil {
				ln.Close()
				tl.Close()
				return fmt.Errorf("api: %w", err)
			}
			tl = tls.NewListener(tl, mat.ServerConfig())
			log.Info("api on TCP over TLS with mutual authentication", zap.String("addr", cfg.APIListen),
				zap.String("subject", mat.Subject()), zap.String("ca_cert", cfg.CACert))
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
