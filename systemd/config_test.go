package systemd

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"facegate/internal/config"
)

// systemdEnv is what systemd gives a Type=notify service.
func systemdEnv(k string) string {
	if k == "INVOCATION_ID" {
		return "0123456789abcdef"
	}
	return ""
}

func TestExampleConfigLoadsAndMatchesSystemdDefaults(t *testing.T) {
	got, err := config.Load("config.example.yaml", systemdEnv)
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.Load("", systemdEnv)
	if err != nil {
		t.Fatal(err)
	}
	// Apart from the example camera, the file spells out the defaults.
	if len(got.Cameras) != 1 || got.Cameras[0].Source != "/dev/video0" {
		t.Fatalf("example cameras: %+v", got.Cameras)
	}
	got.Cameras = want.Cameras
	if got.StateDir != want.StateDir || got.HTTP != want.HTTP || got.Detector != want.Detector ||
		got.Recognition != want.Recognition || got.Events != want.Events || got.Log != want.Log ||
		got.Models != want.Models || got.WebRTC.MaxPeers != want.WebRTC.MaxPeers ||
		got.MQTT.QoS != want.MQTT.QoS || got.MQTT.Keepalive != want.MQTT.Keepalive || got.MQTT.Discovery != want.MQTT.Discovery {
		t.Fatalf("example differs from the defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestDevConfigLoads(t *testing.T) {
	c, err := config.Load("dev.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "./data" || c.HTTP.Listen != ":8443" || len(c.Cameras) != 0 {
		t.Fatalf("dev config: %+v", c)
	}
}

// keys collects the dotted paths of every mapping key in a YAML node; list
// elements are written as "name[]".
func keys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keys(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			out[k] = true
			keys(n.Content[i+1], k, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			keys(c, prefix+"[]", out)
		}
	}
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	keys(&doc, "", have)
	row := regexp.MustCompile("^\\| `([^`]+)` \\|")
	n := 0
	for _, line := range strings.Split(config.Reference(), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		if !have[m[1]] {
			t.Errorf("config.example.yaml lacks %s", m[1])
		}
	}
	if n < 20 {
		t.Fatalf("only %d keys in config.Reference(): table format changed?", n)
	}
}
