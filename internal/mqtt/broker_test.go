package mqtt

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const mosquittoPath = "/usr/sbin/mosquitto"

// generous bounds a wait for a message; it is not a performance assertion,
// only a way for a broken test to end.
const generous = 30 * time.Second

// broker is a real mosquitto started by a test on a free loopback port.
type broker struct {
	t    testing.TB
	dir  string
	port int
	conf string
	cmd  *exec.Cmd
}

// startBroker starts mosquitto with the given extra configuration lines
// (TLS, passwords); "%d" is not needed, the listener line is written here.
func startBroker(t testing.TB, extra ...string) *broker {
	t.Helper()
	if _, err := os.Stat(mosquittoPath); err != nil {
		t.Skipf("mosquitto is not installed (%s): apt-get install mosquitto mosquitto-clients", mosquittoPath)
	}
	b := &broker{t: t, dir: t.TempDir(), port: freePort(t)}
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", b.port),
		"persistence false",
		"log_dest file " + filepath.Join(b.dir, "mosquitto.log"),
		"log_type error",
		"log_type warning",
	}
	if len(extra) == 0 {
		lines = append(lines, "allow_anonymous true")
	}
	if u, err := user.Current(); err == nil && os.Getuid() == 0 {
		lines = append(lines, "user "+u.Username) // mosquitto drops root to "mosquitto", who cannot read the temp dir
	}
	lines = append(lines, extra...)
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *broker) start() {
	b.t.Helper()
	b.cmd = exec.Command(mosquittoPath, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = os.Stderr, os.Stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no broker outlives a killed test
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	deadline := time.Now().Add(generous)
	for {
		c, err := net.DialTimeout("tcp", b.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
			b.t.Fatalf("mosquitto did not listen on %s: %v\n%s", b.addr(), err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *broker) stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	b.cmd = nil
}

func (b *broker) restart() {
	b.t.Helper()
	b.stop()
	b.start()
}

func (b *broker) addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

func (b *broker) url() string { return "tcp://" + b.addr() }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var clientSeq atomic.Int64

// testClient is the test's own MQTT client: what Home Assistant or a script
// would be.
type testClient struct {
	t testing.TB
	c paho.Client
}

func newTestClient(t testing.TB, url string, opts ...func(*paho.ClientOptions)) *testClient {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("test-%d-%d", os.Getpid(), clientSeq.Add(1))).
		SetAutoReconnect(false).SetCleanSession(true).SetConnectTimeout(10 * time.Second)
	for _, f := range opts {
		f(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(generous) || tok.Error() != nil {
		t.Fatalf("test client connect: %v", tok.Error())
	}
	tc := &testClient{t: t, c: c}
	t.Cleanup(func() { c.Disconnect(100) })
	return tc
}

// sub subscribes and returns the messages as they arrive (retained first).
func (tc *testClient) sub(topic string) <-chan paho.Message {
	tc.t.Helper()
	ch := make(chan paho.Message, 4096)
	tok := tc.c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		select {
		case ch <- m:
		default:
			tc.t.Errorf("test subscriber on %s overflowed", topic)
		}
	})
	if !tok.WaitTimeout(generous) || tok.Error() != nil {
		tc.t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	return ch
}

func (tc *testClient) pub(topic string, payload any, retained bool) {
	tc.t.Helper()
	tok := tc.c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(generous) || tok.Error() != nil {
		tc.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitFor returns the first message on ch that satisfies ok.
func waitFor(t testing.TB, ch <-chan paho.Message, what string, ok func(paho.Message) bool) paho.Message {
	t.Helper()
	timeout := time.After(generous)
	for {
		select {
		case m := <-ch:
			if ok == nil || ok(m) {
				return m
			}
		case <-timeout:
			t.Fatalf("no message: %s", what)
			return nil
		}
	}
}

// decodedResponse is a response as a client sees it.
type decodedResponse struct {
	Transaction json.RawMessage `json:"transaction"`
	Status      string          `json:"status"`
	Error       *string         `json:"error"`
	Data        json.RawMessage `json:"data"`
}

// request publishes one request and waits for the response with the same
// transaction.
func (tc *testClient) request(responses <-chan paho.Message, base, op, tx string, body map[string]any) decodedResponse {
	tc.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["transaction"] = tx
	payload, err := json.Marshal(body)
	if err != nil {
		tc.t.Fatal(err)
	}
	return tc.rawRequest(responses, base, op, tx, payload)
}

func (tc *testClient) rawRequest(responses <-chan paho.Message, base, op, tx string, payload []byte) decodedResponse {
	tc.t.Helper()
	tc.pub(base+"/request/"+op, payload, false)
	var r decodedResponse
	want, _ := json.Marshal(tx)
	if tx == "" {
		want = []byte("null")
	}
	waitFor(tc.t, responses, "response to "+op+" "+tx, func(m paho.Message) bool {
		if json.Unmarshal(m.Payload(), &r) != nil {
			tc.t.Errorf("response is not JSON: %q", m.Payload())
			return false
		}
		return string(r.Transaction) == string(want)
	})
	return r
}
