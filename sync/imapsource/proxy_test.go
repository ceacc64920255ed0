package imapsource

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy is a loopback TCP relay the tests control: it can cut every
// connection (a server restart), refuse new ones (a server down), or cut
// a connection after the server sent a number of bytes (a drop mid-FETCH),
// without touching the server itself, which other tests may share.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	n      int   // connections accepted
	open   int   // connections open now
	peak   int   // most connections open at once
	isDown bool  // refuse connections
	budget int64 // one shot: cut after this many server bytes; 0 = never
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.isDown
		if !down {
			p.n++
		}
		p.mu.Unlock()
		if down {
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.open++
		p.peak = max(p.peak, p.open)
		p.mu.Unlock()
		go func() {
			io.Copy(server, client) // until the client closes its end
			server.Close()
			p.mu.Lock()
			p.open--
			p.mu.Unlock()
		}()
		go func() {
			p.relay(client, server)
			client.Close()
			server.Close()
		}()
	}
}

// relay copies server to client, cutting both when the budget runs out.
func (p *proxy) relay(client, server net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cut := false
			if p.budget > 0 {
				if int64(n) >= p.budget {
					n, cut, p.budget = int(p.budget), true, 0
				} else {
					p.budget -= int64(n)
				}
			}
			p.mu.Unlock()
			if _, werr := client.Write(buf[:n]); werr != nil || cut {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// accepted returns how many connections the proxy relayed.
func (p *proxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// peakOpen returns the most connections that were open at once.
func (p *proxy) peakOpen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// cut closes every open connection.
func (p *proxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// cutAfter cuts the connection that next carries n bytes from the server.
func (p *proxy) cutAfter(n int64) {
	p.mu.Lock()
	p.budget = n
	p.mu.Unlock()
}

// down cuts every connection and refuses new ones until up.
func (p *proxy) down() {
	p.mu.Lock()
	p.isDown = true
	p.mu.Unlock()
	p.cut()
}

func (p *proxy) up() {
	p.mu.Lock()
	p.isDown = false
	p.mu.Unlock()
}
