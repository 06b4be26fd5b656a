package mqtt

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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// testCA is a certificate authority made by the test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a server certificate for 127.0.0.1 and returns PEM cert and key.
func (ca *testCA) issue(t *testing.T) (certPEM, keyPEM []byte) {
	return ca.issueFor(t, x509.ExtKeyUsageServerAuth)
}

// issueFor makes a certificate for 127.0.0.1 with the given usage.
func (ca *testCA) issueFor(t *testing.T, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsBroker starts mosquitto with TLS and a password file (user "facegate").
func tlsBroker(t *testing.T, password string) (*broker, *testCA, string) {
	t.Helper()
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Skip("mosquitto_passwd is not installed (package mosquitto)")
	}
	dir := t.TempDir()
	ca := newCA(t, "facegate test CA")
	cert, key := ca.issue(t)
	caFile := writeFile(t, dir, "ca.pem", ca.pem)
	certFile := writeFile(t, dir, "server.pem", cert)
	keyFile := writeFile(t, dir, "server.key", key)
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pwFile, "facegate", password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	br := startBroker(t,
		"cafile "+caFile, "certfile "+certFile, "keyfile "+keyFile,
		"allow_anonymous false", "password_file "+pwFile)
	return br, ca, caFile
}

// waitStats polls the bridge until ok holds (a generous wait, not a timing
// assertion).
func waitStats(t *testing.T, b *Bridge, what string, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(generous)
	for {
		s := b.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTLSAndPassword: with the right CA and password the bridge connects
// and works; with a wrong CA it refuses and says it is the certificate; with
// a wrong password the broker refuses it and the error says so.
func TestTLSAndPassword(t *testing.T) {
	const password = "s3cret-파스워드"
	br, ca, caFile := tlsBroker(t, password)
	url := "ssl://" + br.addr()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	w := &watcher{testClient: newTestClient(t, url, func(o *paho.ClientOptions) {
		o.SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}).SetUsername("facegate").SetPassword(password)
	}), base: "facegate/" + testDevice}
	w.status = w.sub(w.base + "/status")
	w.responses = w.sub(w.base + "/response/+")

	g := &fakeGallery{}
	g.add("Jane")
	b := startBridge(t, url, g, func(o *Options) {
		o.CAFile, o.Username, o.Password = caFile, "facegate", password
	})
	w.waitOnline()
	if r := w.request(w.responses, w.base, "list", "tls", nil); r.Status != "ok" || !strings.Contains(string(r.Data), "Jane") {
		t.Fatalf("list over TLS: %s %s", r.Status, r.Data)
	}
	if s := b.Stats(); !s.Connected || s.LastError != "" {
		t.Fatalf("stats %+v", s)
	}

	t.Run("wrong CA", func(t *testing.T) {
		other := newCA(t, "some other CA")
		otherFile := writeFile(t, t.TempDir(), "other.pem", other.pem)
		b := startBridge(t, url, g, func(o *Options) {
			o.DeviceID = "wrongca"
			o.CAFile, o.Username, o.Password = otherFile, "facegate", password
		})
		s := waitStats(t, b, "a connection error", func(s Stats) bool { return s.LastError != "" })
		if s.Connected || !strings.Contains(s.LastError, "certificate verification failed") || !strings.Contains(s.LastError, "ca_file") {
			t.Fatalf("error does not say why: %+v", s)
		}
		if strings.Contains(s.LastError, password) {
			t.Fatal("error leaks the password")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		b := startBridge(t, url, g, func(o *Options) {
			o.DeviceID = "wrongpw"
			o.CAFile, o.Username, o.Password = caFile, "facegate", "guess"
		})
		s := waitStats(t, b, "a connection error", func(s Stats) bool { return s.LastError != "" })
		if s.Connected || !strings.Contains(strings.ToLower(s.LastError), "not authori") {
			t.Fatalf("error does not say why: %+v", s)
		}
	})
}

// TestClientCertificate: a broker that requires client certificates takes
// the bridge with cert_file and key_file, and refuses it without.
func TestClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "facegate test CA")
	cert, key := ca.issue(t)
	clientCert, clientKey := ca.issueFor(t, x509.ExtKeyUsageClientAuth)
	caFile := writeFile(t, dir, "ca.pem", ca.pem)
	br := startBroker(t,
		"cafile "+caFile, "certfile "+writeFile(t, dir, "server.pem", cert), "keyfile "+writeFile(t, dir, "server.key", key),
		"require_certificate true", "allow_anonymous true")
	url := "ssl://" + br.addr()
	ccFile, ckFile := writeFile(t, dir, "client.pem", clientCert), writeFile(t, dir, "client.key", clientKey)

	b := startBridge(t, url, &fakeGallery{}, func(o *Options) { o.CAFile, o.CertFile, o.KeyFile = caFile, ccFile, ckFile })
	waitStats(t, b, "connected with a client certificate", func(s Stats) bool { return s.Connected })

	nocert := startBridge(t, url, &fakeGallery{}, func(o *Options) { o.DeviceID, o.CAFile = "nocert", caFile })
	s := waitStats(t, nocert, "refused without a client certificate", func(s Stats) bool { return s.LastError != "" })
	if s.Connected || !strings.Contains(s.LastError, "client certificate") {
		t.Fatalf("refusal does not say why: %+v", s)
	}
}
