package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ticketgate/ticketgate/admin"
)

// AdminSocketName is the admin API's unix socket in data_dir.
const AdminSocketName = "admin.sock"

// startAdmin serves the admin API on data_dir/admin.sock and, when
// configured, on TCP with agent tokens. It also gives both sockets the
// configured group, so the MTA's `deliver` and agents' CLI need no root.
func (d *Daemon) startAdmin() error {
	cfg := d.Config()
	srv := admin.NewServer(d.store, d.Config, admin.Options{Now: d.now, Engine: d.engine}, d.log.With("component", "admin"))
	srv.Wake = d.sender.Wake
	sock := filepath.Join(cfg.DataDir, AdminSocketName)
	ln, err := Listen("unix:" + sock)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if g := cfg.Admin.SocketGroup; g != "" {
		grp, err := user.LookupGroup(g)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin.socket_group: %w", err)
		}
		gid, _ := strconv.Atoi(grp.Gid)
		for _, p := range []string{sock, filepath.Join(cfg.DataDir, SocketName)} {
			if err := os.Chown(p, -1, gid); err != nil {
				ln.Close()
				return fmt.Errorf("admin.socket_group: chown %s: %w", p, err)
			}
		}
	}
	d.admin = append(d.admin, d.serveHTTP("admin", ln, srv))
	if cfg.Admin.Listen == "" {
		return nil
	}
	tokens, err := cfg.Admin.LoadTokens()
	if err != nil {
		return err
	}
	tcpSrv := admin.NewServer(d.store, d.Config, admin.Options{Now: d.now, Tokens: tokens, Engine: d.engine}, d.log.With("component", "admin-tcp"))
	tcpSrv.Wake = d.sender.Wake
	tln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return fmt.Errorf("admin.listen: %w", err)
	}
	if cfg.Admin.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Admin.TLSCertFile, cfg.Admin.TLSKeyFile)
		if err != nil {
			tln.Close()
			return fmt.Errorf("admin TLS: %w", err)
		}
		tln = tls.NewListener(tln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	d.admin = append(d.admin, d.serveHTTP("admin-tcp", tln, tcpSrv))
	return nil
}

func (d *Daemon) serveHTTP(name string, ln net.Listener, h http.Handler) *httpServer {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("listener stopped", "listener", name, "err", err)
		}
	}()
	return &httpServer{name: name, srv: hs, ln: ln}
}

type httpServer struct {
	name string
	srv  *http.Server
	ln   net.Listener
}
