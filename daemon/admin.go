package daemon

import (
	"context"
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
	"github.com/ticketgate/ticketgate/config"
)

// AdminSocketName is the admin API's unix socket in data_dir.
const AdminSocketName = "admin.sock"

// startAdmin serves the admin API on data_dir/admin.sock and, when
// configured, on TCP with agent tokens. It also gives both sockets the
// configured group, so the MTA's `deliver` and agents' CLI need no root.
func (d *Daemon) startAdmin() error {
	cfg := d.Config()
	srv := admin.NewServer(d.store, d.Config, admin.Options{Now: d.now, Engine: d.engine, Version: d.version, HookTLS: d.hookTLS}, d.log.With("component", "admin"))
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
	// The caller on the socket is whoever the kernel says opened it.
	d.admin = append(d.admin, d.serveHTTP("admin", ln, srv, admin.ConnContext))
	if cfg.Admin.Listen == "" {
		return nil
	}
	tokens, err := cfg.Admin.LoadTokens()
	if err != nil {
		return err
	}
	d.adminTokens.Store(&tokens)
	tcpSrv := admin.NewServer(d.store, d.Config, admin.Options{Now: d.now, Tokens: d.currentTokens, Engine: d.engine, Version: d.version, HookTLS: d.hookTLS}, d.log.With("component", "admin-tcp"))
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
	d.admin = append(d.admin, d.serveHTTP("admin-tcp", tln, tcpSrv, nil))
	return nil
}

// currentTokens are the admin TCP tokens of the configuration in force.
func (d *Daemon) currentTokens() map[string]string {
	if t := d.adminTokens.Load(); t != nil {
		return *t
	}
	return nil
}

// reloadTokens re-reads the token files, so a rotated or removed token
// stops working at the reload, not at the next restart. A token file that
// cannot be read takes every token away (the error says why): keeping the
// old set would keep a token the sysadmin meant to revoke.
func (d *Daemon) reloadTokens(cfg *config.Config) {
	if d.adminTokens.Load() == nil {
		return // no TCP listener
	}
	tokens, err := cfg.Admin.LoadTokens()
	if err != nil {
		d.log.Error("reload: admin tokens could not be read; the TCP admin API refuses every token until the next reload", "err", err)
		tokens = map[string]string{}
	}
	d.adminTokens.Store(&tokens)
}

func (d *Daemon) serveHTTP(name string, ln net.Listener, h http.Handler, connContext func(context.Context, net.Conn) context.Context) *httpServer {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn), ConnContext: connContext}
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
