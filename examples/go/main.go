// Command egresskit-example sends one GET request through an egresskit mTLS proxy and prints
// the HTTP status and the response body. Standard library only.
//
//	PROXY_URL=https://localhost:8443 PROXY_CA=certs/ca.crt \
//	CLIENT_CERT=certs/client.crt CLIENT_KEY=certs/client.key \
//	TARGET_URL=https://example.com/ go run .
//
// Environment:
//
//	PROXY_URL    https://HOST:PORT of the proxy (required)
//	PROXY_CA     CA that signed the proxy's certificate; when set, it is the only CA trusted
//	             for the proxy hop (otherwise the system roots are)
//	CLIENT_CERT  client certificate (PEM) and CLIENT_KEY its private key (PEM), or
//	CLIENT_PEM   one file with certificate, chain and key (egresskit's client.pem)
//	TARGET_URL   http:// or https:// URL to fetch through the proxy (required)
//	TARGET_CA    extra CA for the destination, ADDED to the system roots (optional)
//
// Exit status: 0 on a 2xx/3xx answer, 2 on a 4xx/5xx answer, 1 when the request failed.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	status, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		if hint := hintFor(err); hint != "" {
			fmt.Fprintf(os.Stderr, "hint: %s\n", hint)
		}
		os.Exit(1)
	}
	if status >= 400 {
		os.Exit(2)
	}
}

func run() (int, error) {
	proxyURL, err := url.Parse(mustEnv("PROXY_URL"))
	if err != nil {
		return 0, fmt.Errorf("PROXY_URL: %w", err)
	}
	if proxyURL.Scheme != "https" {
		return 0, fmt.Errorf("PROXY_URL must be https://HOST:PORT for an mTLS proxy, got %q", proxyURL.String())
	}
	target := mustEnv("TARGET_URL")

	clientCert, err := loadClientCert()
	if err != nil {
		return 0, err
	}
	proxyRoots, err := rootsFor("PROXY_CA", false)
	if err != nil {
		return 0, err
	}
	targetRoots, err := rootsFor("TARGET_CA", true)
	if err != nil {
		return 0, err
	}

	// In Go 1.19 an https:// proxy and an https:// target would share TLSClientConfig: one
	// RootCAs pool and one client certificate for both hops. That works, but it hands the
	// proxy's client certificate to every destination that asks for one and trusts the
	// proxy's private CA for every destination. Instead the proxy hop is dialled by
	// DialTLSContext (the Transport uses it for the connection to an https:// proxy), and
	// TLSClientConfig only describes the destination, inside the CONNECT tunnel.
	proxyTLS := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      proxyRoots,
		Certificates: []tls.Certificate{clientCert},
		ServerName:   proxyURL.Hostname(),
	}
	proxyAddr := canonicalAddr(proxyURL)
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: proxyTLS}

	transport := &http.Transport{
		Proxy: http.ProxyURL(proxyURL),
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != proxyAddr {
				return nil, fmt.Errorf("refusing to dial %s directly: every request must go through the proxy %s", addr, proxyAddr)
			}
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, fmt.Errorf("TLS connection to the proxy %s: %w", addr, err)
			}
			return conn, nil
		},
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: targetRoots},
		TLSHandshakeTimeout: 10 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	resp, err := client.Get(target)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		return 0, fmt.Errorf("reading the response body: %w", err)
	}
	fmt.Println()
	return resp.StatusCode, nil
}

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "error: %s is not set (see examples/README.md)\n", name)
		os.Exit(1)
	}
	return v
}

// loadClientCert reads CLIENT_PEM (certificate, chain and key in one file), or CLIENT_CERT
// and CLIENT_KEY.
func loadClientCert() (tls.Certificate, error) {
	if pem := os.Getenv("CLIENT_PEM"); pem != "" {
		data, err := os.ReadFile(pem)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("CLIENT_PEM: %w", err)
		}
		// X509KeyPair takes the CERTIFICATE blocks from the first argument and the key block
		// from the second, so the same bytes serve as both.
		cert, err := tls.X509KeyPair(data, data)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("CLIENT_PEM %s: %w", pem, err)
		}
		return cert, nil
	}
	certFile, keyFile := os.Getenv("CLIENT_CERT"), os.Getenv("CLIENT_KEY")
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, errors.New("set CLIENT_CERT and CLIENT_KEY (or CLIENT_PEM): the mTLS proxy requires a client certificate")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("CLIENT_CERT/CLIENT_KEY: %w", err)
	}
	return cert, nil
}

// rootsFor builds the trust pool from the CA file in the named variable. With addToSystem the
// CA is added to the system roots; otherwise, when set, it is the only trusted CA.
func rootsFor(name string, addToSystem bool) (*x509.CertPool, error) {
	file := os.Getenv(name)
	var pool *x509.CertPool
	if file == "" || addToSystem {
		system, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("loading the system roots: %w", err)
		}
		pool = system
	} else {
		pool = x509.NewCertPool()
	}
	if file == "" {
		return pool, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s %s: no PEM certificate found", name, file)
	}
	return pool, nil
}

func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func hintFor(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || (strings.Contains(msg, "remote error") && strings.Contains(msg, "unknown certificate authority")):
		return "the proxy refused the client certificate: use one issued by the CA the proxy trusts (--client-ca), e.g. egresskit certs issue --kind client"
	case strings.Contains(msg, "connection reset by peer") || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// A proxy that rejects a client certificate after a TLS 1.3 handshake may just close.
		return "the proxy closed the connection: is the client certificate issued by the CA it trusts (--client-ca)?"
	case strings.Contains(msg, "TLS connection to the proxy") && strings.Contains(msg, "x509:"):
		return "the proxy's certificate did not verify: set PROXY_CA to the CA that signed it (certs/ca.crt) and use a host name in its SANs"
	case strings.Contains(msg, "x509:"):
		return "the destination's certificate did not verify: set TARGET_CA to its CA if it is private (an inspecting proxy's CA, or a test CA)"
	case strings.Contains(msg, "proxyconnect"):
		return "could not reach or talk to the proxy: check PROXY_URL"
	case strings.Contains(msg, "Forbidden"):
		return "the proxy refused the destination (policy): its log line says which rule"
	}
	return ""
}
