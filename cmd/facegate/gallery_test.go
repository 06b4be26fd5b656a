package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facegate/internal/store"
	"facegate/internal/testenv"
)

func galleryFaces(t *testing.T) string {
	return filepath.Dir(testenv.Testdata(t, "faces", "MANIFEST.tsv"))
}

// cli runs one facegate command and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), stdio{strings.NewReader(""), &out, &errb}, args)
	return code, out.String(), errb.String()
}

// identifyNames runs identify and returns the name of each file's faces
// ("" for unknown), one string per file.
func identifyNames(t *testing.T, dir string, files ...string) []string {
	t.Helper()
	code, out, errs := cli(t, append([]string{"identify", "--state-dir", dir}, files...)...)
	if code != 0 {
		t.Fatalf("identify: %d %s", code, errs)
	}
	var names []string
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var line struct {
			File  string `json:"file"`
			Faces []struct {
				Box        [4]float32 `json:"box"`
				PersonID   *string    `json:"person_id"`
				Name       *string    `json:"name"`
				Similarity float32    `json:"similarity"`
				Known      bool       `json:"known"`
			} `json:"faces"`
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("identify output %q: %v", out, err)
		}
		if line.File != files[len(names)] {
			t.Fatalf("line for %q, want %q", line.File, files[len(names)])
		}
		var ns []string
		for _, f := range line.Faces {
			if f.Known != (f.Name != nil) || (f.Name == nil) != (f.PersonID == nil) || f.Box[2] <= 0 {
				t.Fatalf("inconsistent face %+v", f)
			}
			n := ""
			if f.Name != nil {
				n = *f.Name
			}
			ns = append(ns, n)
		}
		names = append(names, strings.Join(ns, ","))
	}
	return names
}

type personJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Samples int    `json:"samples"`
}

func peopleJSON(t *testing.T, dir string) []personJSON {
	t.Helper()
	code, out, errs := cli(t, "people", "--json", "--state-dir", dir)
	if code != 0 {
		t.Fatalf("people: %d %s", code, errs)
	}
	var ps []personJSON
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("people --json %q: %v", out, err)
	}
	return ps
}

func TestGalleryCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face models")
	}
	faces := galleryFaces(t)
	f := func(p string) string { return filepath.Join(faces, p) }
	dir := filepath.Join(t.TempDir(), "state")

	// reading commands do not create a store
	if code, out, _ := cli(t, "people", "--json", "--state-dir", dir); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("people on nothing: %d %q", code, out)
	}
	if code, _, errs := cli(t, "identify", "--state-dir", dir, f("Katy_Perry/1.jpg")); code != 1 || !strings.Contains(errs, "no gallery") {
		t.Fatalf("identify on nothing: %d %s", code, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a reading command created %s: %v", dir, err)
	}

	code, out, errs := cli(t, "enroll", "--state-dir", dir, "--name", "김민수",
		f("Mark_Zuckerberg/1.jpg"), f("Mark_Zuckerberg/2.jpg"), f("_noface/object_banana.jpg"), f("_group/bbt2.jpg"), f("nope.jpg"))
	if code != 0 || strings.Count(out, ": enrolled") != 2 || !strings.Contains(out, "2 of 5 photos") {
		t.Fatalf("enroll: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"object_banana.jpg: refused: no face found", "bbt2.jpg: refused: several faces found (2)", "--largest", "nope.jpg: refused"} {
		if !strings.Contains(errs, want) {
			t.Errorf("enroll stderr lacks %q:\n%s", want, errs)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v %v", st.Mode(), err)
	}
	for name, photo := range map[string]string{"Katy": "Katy_Perry/1.jpg", "Scarlett": "Scarlett_Johansson/1.jpg"} {
		if code, out, errs := cli(t, "enroll", "--state-dir", dir, "--name", name, f(photo)); code != 0 {
			t.Fatalf("enroll %s: %d %s %s", name, code, out, errs)
		}
	}
	if code, _, errs := cli(t, "enroll", "--state-dir", dir, "--name", "Nobody", f("_noface/landscape_sea.jpg")); code != 1 || !strings.Contains(errs, "nothing enrolled") {
		t.Fatalf("enroll of nothing: %d %s", code, errs)
	}
	if code, _, errs := cli(t, "enroll", "--state-dir", dir, "--new", "--name", "Katy", f("Katy_Perry/2.jpg")); code != 1 || !strings.Contains(errs, "taken") {
		t.Fatalf("enroll --new of a taken name: %d %s", code, errs)
	}
	if code, _, _ := cli(t, "enroll", "--state-dir", dir, "--name", " ", f("Katy_Perry/2.jpg")); code != 2 {
		t.Fatalf("empty name: exit %d", code)
	}

	ps := peopleJSON(t, dir)
	if len(ps) != 3 || ps[2].Name != "김민수" || ps[2].Samples != 2 || !bytes.Equal([]byte(ps[2].Name), []byte("\xea\xb9\x80\xeb\xaf\xbc\xec\x88\x98")) {
		t.Fatalf("people: %+v", ps)
	}
	probes := []string{f("Mark_Zuckerberg/3.jpg"), f("Katy_Perry/5.jpg"), f("Scarlett_Johansson/2.jpg"), f("Elon_Musk/1.jpg")}
	before := identifyNames(t, dir, probes...)
	if strings.Join(before, "|") != "김민수|Katy|Scarlett|" {
		t.Fatalf("identify: %q", before)
	}

	backup := filepath.Join(t.TempDir(), "gallery.backup")
	if code, _, errs := cli(t, "backup", "--state-dir", dir, backup); code != 0 {
		t.Fatalf("backup: %s", errs)
	}
	if code, _, errs := cli(t, "forget", "--state-dir", dir, "김민수"); code != 0 {
		t.Fatalf("forget: %s", errs)
	}
	if code, _, _ := cli(t, "forget", "--state-dir", dir, "김민수"); code != 1 {
		t.Fatalf("second forget: exit %d", code)
	}
	if got := identifyNames(t, dir, probes[0]); got[0] != "" {
		t.Fatalf("forgotten person still named: %q", got)
	}
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.backup")
	if err := os.WriteFile(truncated, data[:len(data)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli(t, "restore", "--state-dir", dir, truncated); code != 1 || !strings.Contains(errs, "untouched") {
		t.Fatalf("truncated restore: %d %s", code, errs)
	}
	if n := len(peopleJSON(t, dir)); n != 2 {
		t.Fatalf("refused restore changed the store: %d people", n)
	}
	if code, _, errs := cli(t, "restore", "--state-dir", dir, backup); code != 0 {
		t.Fatalf("restore: %s", errs)
	}
	if after := identifyNames(t, dir, probes...); strings.Join(after, "|") != strings.Join(before, "|") {
		t.Fatalf("after restore %q, before %q", after, before)
	}

	ps = peopleJSON(t, dir)
	if code, out, errs := cli(t, "rename", "--state-dir", dir, ps[0].ID, "Kaitlyn"); code != 0 || !strings.Contains(out, `"Kaitlyn"`) {
		t.Fatalf("rename: %d %s %s", code, out, errs)
	}
	if code, _, errs := cli(t, "rename", "--state-dir", dir, ps[1].ID, "Kaitlyn"); code != 1 || !strings.Contains(errs, "taken") {
		t.Fatalf("rename to a taken name: %d %s", code, errs)
	}
	if code, out, _ := cli(t, "people", "--state-dir", dir); code != 0 || !strings.Contains(out, "Kaitlyn") || !strings.Contains(out, "김민수") {
		t.Fatalf("people table:\n%s", out)
	}

	// a user threshold kept by the daemon applies to the CLI too
	st, err := store.OpenDir(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting("recognition", map[string]float64{"threshold": 0.99}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if got := identifyNames(t, dir, probes[1]); got[0] != "" {
		t.Fatalf("threshold 0.99 still named %q", got)
	}

	// while another process (here: this one) holds the store
	st, err = store.OpenDir(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if code, _, errs := cli(t, "people", "--state-dir", dir); code != 1 || !strings.Contains(errs, "in use") {
		t.Fatalf("people on a busy store: %d %s", code, errs)
	}
}
