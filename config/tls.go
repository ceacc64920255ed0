package config

import (
	"crypto/x509"
	"fmt"
	"os"
)

// RootCAs returns the certificate roots for a connection with tls_ca_file
// set to caFile: the system's roots plus the PEM bundle in caFile. It
// returns nil (the system roots alone) when caFile is empty.
func RootCAs(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read tls_ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls_ca_file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}
