package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"facegate/pipeline/gallery"
)

// crashChildEnv, when set to a directory, makes TestCrashSafety act as the
// child: it enrolls (and sometimes deletes) people in a tight loop on a
// store in that directory, printing each committed change, until killed.
const crashChildEnv = "FACEGATE_STORE_CRASH_CHILD"

func crashChild(dir string) {
	s, err := OpenDir(dir, Options{Timeout: 10 * time.Second}) // fsync on: the real thing
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	var live []string
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		n := 1 + r.IntN(3)
		samples := make([]gallery.Sample, n)
		for j := range samples {
			samples[j] = sample(r)
		}
		p, _, err := s.Enroll(fmt.Sprintf("child %d %d", os.Getpid(), i), true, samples)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		// printed only after the commit returned
		fmt.Fprintf(out, "enrolled %s %d\n", p.ID, n)
		out.Flush()
		live = append(live, p.ID)
		if r.IntN(4) == 0 {
			k := r.IntN(len(live))
			// announced first: a kill between the commit and the next
			// line leaves the parent knowing it may be gone
			fmt.Fprintf(out, "deleting %s\n", live[k])
			out.Flush()
			if _, err := s.DeletePerson(live[k]); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
			fmt.Fprintf(out, "deleted %s\n", live[k])
			out.Flush()
			live = append(live[:k], live[k+1:]...)
		}
	}
}

// TestCrashSafety kills a writing child with SIGKILL at random moments, ten
// times: after each the store opens, every enrollment the child reported
// is there with its samples, every reported deletion is gone, and no
// person lacks samples.
func TestCrashSafety(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	want := map[string]int{} // person ID → samples, from every run
	gone := map[string]bool{}
	deleting := map[string]bool{} // maybe deleted: killed before "deleted"
	for run := range 10 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// let it commit a little, then kill it at a random moment
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("run %d: the child printed nothing", run)
		}
		time.Sleep(time.Duration(r.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		reported := []string{first}
		for l := range lines { // the pipe's remaining complete lines
			reported = append(reported, l)
		}
		cmd.Wait()
		for _, l := range reported {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "enrolled":
				n, _ := strconv.Atoi(f[2])
				want[f[1]] = n
			case len(f) == 2 && f[0] == "deleting":
				deleting[f[1]] = true
			case len(f) == 2 && f[0] == "deleted":
				delete(want, f[1])
				gone[f[1]] = true
			default:
				t.Fatalf("run %d: child said %q", run, l)
			}
		}

		s, err := OpenDir(dir, Options{})
		if err != nil {
			t.Fatalf("run %d: store does not open after SIGKILL: %v", run, err)
		}
		d, err := s.Load()
		if err != nil {
			t.Fatalf("run %d: load: %v", run, err)
		}
		have := map[string]int{}
		for _, sm := range d.Samples {
			have[sm.PersonID]++
		}
		for _, p := range d.People {
			if have[p.ID] == 0 || have[p.ID] != p.Samples {
				t.Fatalf("run %d: person %s has %d samples, record says %d", run, p.ID, have[p.ID], p.Samples)
			}
			if gone[p.ID] {
				t.Fatalf("run %d: deleted person %s is back", run, p.ID)
			}
		}
		for id, n := range want {
			if have[id] == 0 && deleting[id] {
				continue
			}
			if have[id] != n {
				t.Fatalf("run %d: reported enrollment %s (%d samples) has %d", run, id, n, have[id])
			}
		}
		s.Close()
		if err := Validate(s.Path()); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d: %d lines reported, %d people stored", run, len(reported), len(d.People))
	}
}
