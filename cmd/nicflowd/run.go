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

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/openflow/ofnetwork"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/cmd/internal/version"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/sriov/nic"
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

// network is one configured network with its OpenFlow switch.
type network struct {
	cfg *NetworkConfig
	net *offload.Network
	sw  *openflow.Switch
}

// serve brings up every network, logs "ready", and runs until ctx is done.
func serve(ctx context.Context, cfg *Config, log *zap.Logger) error {
	log.Info("starting", zap.String("version", version.String()), zap.Int("networks", len(cfg.Networks)))
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	var nets []*network
	defer func() {
		for _, n := range nets {
			n.net.Close()
		}
	}()
	for i := range cfg.Networks {
		n, err := buildNetwork(&cfg.Networks[i], cfg.RunDir, log)
		if err != nil {
			return err
		}
		nets = append(nets, n)
	}
	offNets := make([]*offload.Network, len(nets))
	for i, n := range nets {
		offNets[i] = n.net
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := watchLinks(ctx, offNets, log); err != nil {
		log.Warn("port link changes will not be reported", zap.Error(err))
	}

	var wg sync.WaitGroup
	errc := make(chan error, 2*len(nets)+1)
	if err := serveAPI(ctx, cfg, nets, log, &wg, errc); err != nil {
		return err
	}
	for _, n := range nets {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := n.net.Run(ctx); err != nil {
				errc <- err
			}
		}()
		go func() {
			defer wg.Done()
			if err := n.sw.Serve(ctx); err != nil {
				errc <- fmt.Errorf("network %s: %w", n.net.Name(), err)
			}
		}()
		addrs := []string{}
		for _, a := range n.sw.Addrs() {
			addrs = append(addrs, a.Network()+":"+a.String())
		}
		log.Info("network up", zap.String(logKeyNetwork, n.net.Name()),
			zap.String("dpid", fmt.Sprintf("%016x", n.net.DPID())), zap.Strings("listening", addrs))
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

// buildNetwork opens a network's ports and its OpenFlow listeners.
func buildNetwork(nc *NetworkConfig, runDir string, log *zap.Logger) (_ *network, err error) {
	dpid, _ := parseDPID(nc.DPID) // validated by normalize
	failMode, _ := offload.ParseFailMode(nc.FailMode)
	var infos []offload.PortInfo
	for i, name := range nc.Ports {
		info, err := linkInfo(name, uint32(i+1))
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", nc.Name, err)
		}
		infos = append(infos, info)
	}
	if dpid == 0 {
		dpid = dpidFromMAC(infos[0].HWAddr)
	}
	policy, _ := offload.ParsePolicy(nc.Offload)
	ocfg := offload.Config{Name: nc.Name, DPID: dpid, FailMode: failMode, Logger: log, Offload: policy, PortCounters: netdevCounters}
	tc, err := openTC(nc.Name, policy, &ocfg, log)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", nc.Name, err)
	}
	n := offload.New(ocfg)
	if tc != nil {
		if err := n.Datapath().AddMissSource(tc.MissPeer, tc.Miss); err != nil {
			return nil, fmt.Errorf("network %s: %w", nc.Name, err)
		}
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	for _, info := range infos {
		// With a tc tier, the port's frames reach the fast path through the
		// miss device; reading the port too would handle them twice.
		sock, err := afpacket.Open(info.Name, afpacket.Options{NoReceive: tc != nil})
		if err != nil {
			return nil, fmt.Errorf("network %s: open port %s: %w", nc.Name, info.Name, err)
		}
		if err := n.AddPort(info, sock); err != nil {
			sock.Close()
			return nil, fmt.Errorf("network %s: %w", nc.Name, err)
		}
	}
	targets := append([]string{}, nc.Controllers...)
	targets = append(targets, nc.Listeners...)
	targets = append(targets, "punix:"+filepath.Join(runDir, nc.Name+".mgmt"))
	sw, err := openflow.New(openflow.Config{
		Datapath: ofnetwork.New(n),
		Targets:  targets,
		Logger:   log.With(zap.String(logKeyNetwork, nc.Name)),
	})
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", nc.Name, err)
	}
	if err := sw.Listen(); err != nil {
		return nil, fmt.Errorf("network %s: %w", nc.Name, err)
	}
	return &network{cfg: nc, net: n, sw: sw}, nil
}

// serveAPI serves the REST API on the unix socket cfg.API (and on TCP when
// cfg.APIListen is set) until ctx is done.
func serveAPI(ctx context.Context, cfg *Config, nets []*network, log *zap.Logger, wg *sync.WaitGroup, errc chan<- error) error {
	if err := checkAPIListen(cfg.APIListen); err != nil {
		return fmt.Errorf("api_listen: %w", err)
	}
	srv, err := rest.New(rest.Config{Backend: &apiBackend{nets: nets, disc: nic.NewDiscoverer()}, Logger: log.Named("api"), Version: version.String()})
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

// openTC sets up the network's tc tier when its policy asks for one. When
// the kernel cannot have one it says so once and the network runs every
// rule in the fast path (the reason shows on every rule).
func openTC(name string, policy offload.Policy, cfg *offload.Config, log *zap.Logger) (*tcport.Setup, error) {
	if policy == offload.PolicyOff {
		log.Info("offload policy off: every rule runs in the fast path", zap.String(logKeyNetwork, name))
		return nil, nil
	}
	s, err := tcport.Open(name)
	var ue *tcport.UnavailableError
	if errors.As(err, &ue) {
		lvl := log.Warn
		if policy == offload.PolicyHW {
			lvl = log.Error
		}
		lvl("tc tier unavailable: every rule runs in the fast path", zap.String(logKeyNetwork, name),
			zap.String("offload", string(policy)), zap.String("reason", ue.Reason))
		cfg.TCUnavailable = ue.Reason
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg.TC = &offload.TCConfig{Kernel: s.Handle, Block: s.Block, MissDev: s.MissDev}
	log.Info("tc tier up", zap.String(logKeyNetwork, name), zap.String("offload", string(policy)),
		zap.Uint32("block", s.Block), zap.String("miss_device", s.MissDev))
	return s, nil
}

// dpidFromMAC derives a datapath id from a MAC address, as Open vSwitch
// does: the MAC in the low 48 bits.
func dpidFromMAC(mac []byte) uint64 {
	var v uint64
	for _, b := range mac {
		v = v<<8 | uint64(b)
	}
	if v == 0 {
		v = 1
	}
	return v
}
