package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"syscall"
	"time"
)

// errNoDaemon means nothing answers on the socket.
var errNoDaemon = errors.New("no daemon running")

// apiGet fetches path from the daemon's API on the unix socket and returns
// the body of a 200 answer. It returns an error wrapping errNoDaemon when
// the socket is missing or refuses connections.
func apiGet(ctx context.Context, socket, path string) ([]byte, error) {
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://touchbase"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, socketError(socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query daemon on %s: %w", socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("daemon: %s %s: %s", path, resp.Status, e.Error)
		}
		return nil, fmt.Errorf("daemon: %s: %s", path, resp.Status)
	}
	return body, nil
}

// socketError explains a failed request to the daemon's socket: errNoDaemon
// when nothing listens there, and what to do when this user may not use it.
func socketError(socket string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (nothing listens on %s)", errNoDaemon, socket)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("query daemon on %s: %w; your user needs the socket's group "+
			"(usermod -aG touchbase $USER, then log in again)", socket, err)
	}
	return fmt.Errorf("query daemon on %s: %w", socket, err)
}
