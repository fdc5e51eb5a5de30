package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// serverTLSConfig loads the certificate and key of the Flight SQL service and, with a
// client CA, requires and verifies client certificates (mutual TLS).
func serverTLSConfig(cfg Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCA != "" {
		pem, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s: no PEM certificate found", cfg.TLSClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// maxIPCAllocation is the largest single buffer a client's IPC stream may make the server
// allocate: a buffer arrives inside one gRPC message, so it cannot legitimately exceed the
// message limit, except when compressed (LZ4/ZSTD), hence the factor of 4.
func maxIPCAllocation(maxRecvMsgBytes int) int {
	return 4 * maxRecvMsgBytes
}
