package models

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEmbeddedSums(t *testing.T) {
	for _, name := range []string{DetectorShort, DetectorFull, Recognizer} {
		f, err := Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Data) == 0 || f.ID() != name+"@"+shipped[name][:12] {
			t.Errorf("%s: bad file %q (%d bytes)", name, f.ID(), len(f.Data))
		}
	}
	if _, err := Embedded("nope"); err == nil {
		t.Error("unknown model accepted")
	}
}

func TestOpenPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "custom.tflite")
	if err := os.WriteFile(p, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Recognizer, p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "custom" || f.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("got %s %s", f.Name, f.SHA256)
	}
	if _, err := Open(Recognizer, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
