package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// socketMode lets the daemon's user and group (operators added to the
// touchbase group) use the CLI; nobody else.
const socketMode = 0o660

// servers are the API listeners of a running daemon.
type servers struct {
	socket string
	list   []*http.Server
	wg     sync.WaitGroup
}

// serve starts the unix socket API and, when configured, the TCP listener.
func (d *Daemon) serve() (*servers, error) {
	cfg := d.Config()
	s := &servers{socket: cfg.Listen.Socket}
	var (
		listeners []net.Listener
		handlers  []http.Handler
		names     []string
	)
	if cfg.Listen.Socket != "" {
		l, err := listenSocket(cfg.Listen.Socket)
		if err != nil {
			return nil, err
		}
		listeners, handlers, names = append(listeners, l), append(handlers, d.Handler()), append(names, cfg.Listen.Socket)
	}
	if cfg.Listen.HTTP != "" {
		l, err := net.Listen("tcp", cfg.Listen.HTTP)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			s.removeSocket()
			return nil, fmt.Errorf("listen on %s: %w", cfg.Listen.HTTP, err)
		}
		listeners, handlers = append(listeners, l), append(handlers, d.authenticated(d.Handler()))
		names = append(names, l.Addr().String())
	}
	for i, l := range listeners {
		srv := &http.Server{Handler: handlers[i], ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(d.log)}
		s.list = append(s.list, srv)
		d.log.Info("api listening", zap.String(keyAddr, names[i]))
		s.wg.Go(func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("api server", zap.String(keyAddr, names[i]), zap.Error(err))
			}
		})
	}
	return s, nil
}

// shutdown stops accepting, lets requests in flight finish until ctx ends,
// and removes the socket file.
func (s *servers) shutdown(ctx context.Context) {
	for _, srv := range s.list {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	s.wg.Wait()
	s.removeSocket()
}

func (s *servers) removeSocket() {
	if s.socket != "" {
		os.Remove(s.socket)
	}
}

// listenSocket listens on a unix socket at path with socketMode, creating
// its folder. A stale socket file (a crashed daemon's) is replaced; a live
// one (another daemon answering) or a file that is not a socket is an error.
// The socket is bound under a temporary name, given its mode, then renamed
// into place, so it is never reachable with looser permissions.
func listenSocket(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket folder: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen on %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: another daemon is running", path)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("listen on %s: probe existing socket: %w", path, err)
		}
	}
	tmp := path + ".new"
	os.Remove(tmp)
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The listener would unlink tmp on Close, which no longer exists after
	// the rename; servers.shutdown removes path instead.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, socketMode); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}
