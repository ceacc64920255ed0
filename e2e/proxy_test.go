package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// throttle is a TCP proxy in front of a server that can slow down what the
// server sends, so that a test can catch a client in the middle of a long
// read (a sync's FETCH). Both directions pass untouched otherwise, TLS
// included.
type throttle struct {
	ln       net.Listener
	upstream string
	rate     atomic.Int64 // bytes per second from the server; 0: unlimited
	slowed   atomic.Int64 // bytes passed from the server while slowed

	mu    sync.Mutex
	conns []net.Conn
}

func newThrottle(t *testing.T, upstream string) *throttle {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &throttle{ln: ln, upstream: upstream}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *throttle) addr() string { return p.ln.Addr().String() }

// slow limits what the server sends to bytesPerSec on each connection and
// starts counting it afresh; fast lifts the limit.
func (p *throttle) slow(bytesPerSec int64) {
	p.slowed.Store(0)
	p.rate.Store(bytesPerSec)
}

func (p *throttle) fast() { p.rate.Store(0) }

func (p *throttle) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() {
			io.Copy(up, c)
			up.Close()
		}()
		go func() {
			p.copyDown(c, up)
			c.Close()
		}()
	}
}

// copyDown passes the server's bytes to the client, at the limit if one
// is set.
func (p *throttle) copyDown(dst, src net.Conn) {
	buf := make([]byte, 512)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if rate := p.rate.Load(); rate > 0 {
				p.slowed.Add(int64(n))
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / rate))
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *throttle) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// pidOfConn returns which of pids has the TCP connection whose local end
// is addr (a receiver's view of its peer, 127.0.0.1:port), from
// /proc/net/tcp's socket inodes and each process's descriptors (Linux).
func pidOfConn(addr string, pids []int) (int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	ip := net.ParseIP(host).To4()
	n, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return 0, fmt.Errorf("not an IPv4 address: %s", addr)
	}
	// /proc/net/tcp writes the address as the 32-bit word in host order
	// (little-endian here) and the port in big-endian hex.
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], n)
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	inode := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[1] == local {
			inode = fields[9]
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("no connection from %s in /proc/net/tcp", addr)
	}
	want := "socket:[" + inode + "]"
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone
		}
		for _, fd := range fds {
			if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && l == want {
				return pid, nil
			}
		}
	}
	return 0, errors.New("no daemon owns the connection from " + addr)
}
