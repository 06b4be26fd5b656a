package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Generated certificate files in the state directory.
const (
	certName = "tls-cert.pem"
	keyName  = "tls-key.pem"
)

// certificate returns the configured certificate, or the generated one in
// the state directory, generating it on first start (or when it expired).
func (s *Server) certificate() (tls.Certificate, error) {
	if s.opt.HTTP.CertFile != "" {
		c, err := tls.LoadX509KeyPair(s.opt.HTTP.CertFile, s.opt.HTTP.KeyFile)
		if err != nil {
			return c, fmt.Errorf("web: http.cert_file/key_file: %w", err)
		}
		return c, nil
	}
	if s.opt.StateDir == "" {
		return tls.Certificate{}, errors.New("web: no state directory for the generated certificate")
	}
	certPath := filepath.Join(s.opt.StateDir, certName)
	keyPath := filepath.Join(s.opt.StateDir, keyName)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		if c.Leaf != nil && s.now().Before(c.Leaf.NotAfter.Add(-24*time.Hour)) {
			return c, nil
		}
		s.log.Info("generated certificate expired; making a new one", "file", certPath)
	} else if !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("generated certificate unreadable; making a new one", "file", certPath, "err", err)
	}
	hosts, ips := localNames()
	certPEM, keyPEM, err := GenerateCert(hosts, ips, s.now())
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(s.opt.StateDir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("web: %w", err)
	}
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	s.log.Info("generated a self-signed certificate", "file", certPath, "names", hosts, "addresses", len(ips))
	return tls.X509KeyPair(certPEM, keyPEM)
}

// localNames returns the names and addresses the certificate should cover:
// the host name, host.local (mDNS), localhost and every local address.
func localNames() ([]string, []net.IP) {
	hosts := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		h = strings.ToLower(h)
		hosts = append(hosts, h)
		if !strings.Contains(h, ".") {
			hosts = append(hosts, h+".local")
		}
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalMulticast() {
				ips = append(ips, n.IP)
			}
		}
	}
	return hosts, ips
}

// GenerateCert makes a self-signed ECDSA P-256 server certificate for the
// given names and addresses, valid from now for five years, and returns it
// and its key in PEM.
func GenerateCert(hosts []string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	cn := "facegate"
	if len(hosts) > 1 {
		cn = hosts[1]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"facegate"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              hosts,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("web: create certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, so a crash leaves the old file or the new one, never half.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("web: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("web: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("web: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}
