package gitstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// dialProxy is a loopback HTTP proxy that one git invocation uses for all of
// its connections, so that they are made by the caller's dialer. That is
// where SSRF checks belong: at dial time, on the address actually dialled,
// after DNS, which a URL check before running git cannot do. It serves
// CONNECT (https) and absolute-form requests (http), and only to a client
// that knows its random password.
type dialProxy struct {
	ln     net.Listener
	srv    *http.Server
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	ctx    context.Context
	user   string
	pass   string
	tr     *http.Transport
	wg     sync.WaitGroup
	closed chan struct{}

	mu      sync.Mutex
	dialErr error // the first refused dial, to explain git's 502
}

// startProxy starts a proxy that lives until Close; ctx bounds the
// connections it makes.
func startProxy(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*dialProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		ln.Close()
		return nil, err
	}
	p := &dialProxy{ln: ln, ctx: ctx, user: "git", pass: hex.EncodeToString(secret), closed: make(chan struct{})}
	// The transport for plain-http requests: no environment proxy, no
	// redirects (RoundTrip never follows them), the caller's dialer.
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			p.mu.Lock()
			if p.dialErr == nil {
				p.dialErr = err
			}
			p.mu.Unlock()
		}
		return c, err
	}
	p.tr = &http.Transport{DialContext: p.dial, Proxy: nil, ForceAttemptHTTP2: false, ResponseHeaderTimeout: 5 * time.Minute}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: time.Minute, BaseContext: func(net.Listener) context.Context { return ctx }}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// URL is the value for git's http.proxy; it carries the proxy password, so
// it goes in environment config and the password in the scrub list.
func (p *dialProxy) URL() string {
	return "http://" + p.user + ":" + p.pass + "@" + p.ln.Addr().String()
}

// DialErr is the first error of the caller's dialer, if any.
func (p *dialProxy) DialErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dialErr
}

// Close stops the proxy and every connection it holds.
func (p *dialProxy) Close() {
	close(p.closed)
	_ = p.srv.Close()
	p.tr.CloseIdleConnections()
	p.wg.Wait()
}

func (p *dialProxy) authorized(r *http.Request) bool {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
	return r.Header.Get("Proxy-Authorization") == want
}

func (p *dialProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="gitstore"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "absolute http URL required", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range []string{"Proxy-Authorization", "Proxy-Connection", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// connect tunnels https: dial the target with the caller's dialer, then
// splice bytes both ways.
func (p *dialProxy) connect(w http.ResponseWriter, r *http.Request) {
	upstream, err := p.dial(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "proxy: cannot hijack", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() {
		// Bytes the client sent after the CONNECT head are in buf.
		_, _ = io.Copy(upstream, buf)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, upstream)
		done <- struct{}{}
	}()
	select {
	case <-done:
	case <-p.closed:
	}
	client.Close()
	upstream.Close()
	<-done
}
