package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRootCAs(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	good, junk := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pool, err := RootCAs(""); pool != nil || err != nil {
		t.Errorf(`RootCAs(""): %v, %v; want nil (system roots), nil`, pool, err)
	}
	if pool, err := RootCAs(good); pool == nil || err != nil {
		t.Errorf("RootCAs(good): %v, %v; want a pool", pool, err)
	}
	for _, bad := range []string{junk, filepath.Join(dir, "missing.pem")} {
		if _, err := RootCAs(bad); err == nil || !strings.Contains(err.Error(), "tls_ca_file") {
			t.Errorf("RootCAs(%s): %v; want an error naming tls_ca_file", filepath.Base(bad), err)
		}
	}
}
