package mqtt

import (
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// wsBridge is an MQTT-over-WebSocket front for a TCP broker (this machine's
// mosquitto cannot open a WebSocket listener): each WebSocket connection is
// piped to a TCP connection to the broker.
func wsBridge(t *testing.T, brokerAddr string, tls bool) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: []string{"mqtt"}, CheckOrigin: func(*http.Request) bool { return true }}
	var wg sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		tcp, err := net.Dial("tcp", brokerAddr)
		if err != nil {
			ws.Close()
			return
		}
		wg.Add(1)
		go func() { // broker → websocket
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := tcp.Read(buf)
				if n > 0 && ws.WriteMessage(websocket.BinaryMessage, buf[:n]) != nil {
					break
				}
				if err != nil {
					break
				}
			}
			ws.Close()
		}()
		for { // websocket → broker
			_, r, err := ws.NextReader()
			if err != nil {
				break
			}
			if _, err := io.Copy(tcp, r); err != nil {
				break
			}
		}
		tcp.Close()
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); wg.Wait() })
	return srv
}

// TestWebSocket: ws:// and wss:// brokers work (wss with the server's
// certificate as the CA, verification on).
func TestWebSocket(t *testing.T) {
	br := startBroker(t)
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "ws", true: "wss"}[secure]
		t.Run(name, func(t *testing.T) {
			srv := wsBridge(t, br.addr(), secure)
			url := name + "://" + strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://") + "/mqtt"
			caFile := ""
			if secure {
				caFile = writeFile(t, t.TempDir(), "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
			}
			w := newWatcher(t, br.url())
			g := &fakeGallery{}
			g.add("김민수")
			startBridge(t, url, g, func(o *Options) { o.CAFile = caFile })
			w.waitOnline()
			r := w.request(w.responses, w.base, "list", name, nil)
			if r.Status != "ok" || !strings.Contains(string(r.Data), "김민수") {
				t.Fatalf("list over %s: %s %s", name, r.Status, r.Data)
			}
		})
	}
}
