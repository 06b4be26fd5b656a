package app

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"facegate/internal/testenv"
)

// listed is what `go list -json` says of one package.
type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func moduleRoot(t *testing.T) string {
	return testenv.ModuleRoot(t)
}

func goList(t *testing.T, env []string, patterns ...string) []listed {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, patterns...)...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// TestImportDirection keeps the layering of DESIGN.md: imports point down,
// adapters never import each other, and only cmd/facegate sees internal/app.
func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	adapters := []string{"facegate/internal/web", "facegate/internal/rtc", "facegate/internal/mqtt", "facegate/internal/store"}
	for _, p := range goList(t, nil, "./...") {
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, "facegate") {
				continue
			}
			bad := ""
			switch {
			case under(imp, "facegate/internal/app") && p.ImportPath != "facegate/cmd/facegate" && !under(p.ImportPath, "facegate/internal/app"):
				bad = "only cmd/facegate imports internal/app"
			case under(p.ImportPath, "facegate/pipeline/frame"):
				bad = "pipeline/frame is the leaf vocabulary and imports nothing of ours"
			case under(p.ImportPath, "facegate/models") && !under(imp, "facegate/models") && !under(imp, "facegate/pipeline/frame"):
				bad = "models/... import only models/... and pipeline/frame"
			case under(p.ImportPath, "facegate/pipeline") && (under(imp, "facegate/internal") || under(imp, "facegate/device") || under(imp, "facegate/cmd")):
				bad = "pipeline never imports device/*, internal/* or cmd"
			case under(p.ImportPath, "facegate/device") && !under(imp, "facegate/pipeline/frame") && !under(imp, "facegate/device"):
				bad = "device/* imports only pipeline/frame of ours"
			}
			for _, a := range adapters {
				if under(p.ImportPath, a) {
					for _, b := range adapters {
						if a != b && under(imp, b) {
							bad = "the adapters in internal/ never import each other"
						}
					}
					if under(imp, "facegate/device") {
						bad = "internal adapters reach devices only through internal/app"
					}
				}
			}
			if bad != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, bad)
			}
		}
	}
}

// TestPureGoCore checks that the models and the pipeline need no cgo and no
// heavy adapter libraries, so they build for any board with CGO_ENABLED=0.
func TestPureGoCore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	forbidden := []string{"gocv.io/x/gocv", "github.com/pion", "github.com/eclipse/paho.mqtt.golang", "go.etcd.io/bbolt", "runtime/cgo"}
	for _, p := range goList(t, []string{"CGO_ENABLED=0"}, "./pipeline/...", "./models/...") {
		for _, d := range p.Deps {
			for _, f := range forbidden {
				if under(d, f) {
					t.Errorf("%s depends on %s", p.ImportPath, d)
				}
			}
		}
	}
}

// TestDaemonWithoutOpenCV checks that the daemon's binary does not link
// OpenCV: only the capture helper does, so Debian's OpenCV (some 240
// shared libraries, about 70 MB resident) stays out of the daemon.
func TestDaemonWithoutOpenCV(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	for _, p := range goList(t, nil, "./cmd/facegate") {
		for _, d := range p.Deps {
			if under(d, "gocv.io/x/gocv") || under(d, "facegate/device/opencv") {
				t.Errorf("%s depends on %s", p.ImportPath, d)
			}
		}
	}
	for _, p := range goList(t, nil, "./cmd/facegate-capture") {
		found := false
		for _, d := range p.Deps {
			found = found || under(d, "gocv.io/x/gocv")
		}
		if !found {
			t.Errorf("%s does not link gocv: who reads GStreamer pipelines and streams?", p.ImportPath)
		}
	}
}
