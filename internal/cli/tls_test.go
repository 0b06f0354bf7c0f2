package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given serial number
// and its key, and returns a pool that trusts it.
func writeCert(t *testing.T, dir string, serial int64) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "scimd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// The key first: a reload between the two writes sees a mismatched pair and keeps the
	// old certificate.
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestServeTLS: serve speaks HTTPS with --tls-cert/--tls-key, prints an https connector
// URL, and takes a renewed certificate on SIGHUP without a restart.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeCert(t, dir, 1)
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t),
		"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem")}, nil, true)
	defer s.stop(t)
	if !strings.Contains(s.stdout.String(), "https://127.0.0.1:") {
		t.Fatalf("the connector URL is not https:\n%s", s.stdout)
	}
	serial := func(pool *x509.CertPool) (int64, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := c.Get("https://" + s.addr + "/scim/v2/ServiceProviderConfig")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401 (no credential)", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
	}
	if n, err := serial(pool); err != nil || n != 1 {
		t.Fatalf("first certificate: serial %d, %v", n, err)
	}
	if resp, err := http.Get("http://" + s.addr + "/scim/v2/Users"); err == nil && resp.StatusCode < 400 {
		t.Fatalf("plain HTTP served: %d", resp.StatusCode)
	}
	pool2 := writeCert(t, dir, 2)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := serial(pool2)
		if err == nil && n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate is not served: serial %d, %v", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := runMain(t, tempDB(t), nil, "serve", "--addr", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "cert.pem"))
	if r.code == 0 || !strings.Contains(r.stderr, "--tls-cert and --tls-key go together") {
		t.Fatalf("--tls-cert alone: %d %q", r.code, r.stderr)
	}
}
