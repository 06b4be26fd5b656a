// Command detectcmp compares two `facegate detect` outputs (JSON lines) and
// fails when they disagree beyond float noise: scripts/cross.sh uses it to
// check that the arm64 build under qemu finds the same faces as the amd64
// build. Usage: detectcmp WANT.jsonl GOT.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

// result is one line of `facegate detect`.
type result struct {
	File  string `json:"file"`
	Faces []struct {
		Score     float64      `json:"score"`
		Box       [4]float64   `json:"box"`
		Keypoints [][2]float64 `json:"keypoints"`
	} `json:"faces"`
}

// Tolerances: different kernels (AVX2 vs NEON, FMA contraction) change the
// last bits, never a face.
const (
	pixelTol = 1.0
	scoreTol = 0.01
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: detectcmp WANT.jsonl GOT.jsonl")
		os.Exit(2)
	}
	want, err := readFile(os.Args[1])
	if err == nil {
		var got []result
		got, err = readFile(os.Args[2])
		if err == nil {
			err = compare(want, got)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "detectcmp:", err)
		os.Exit(1)
	}
	n := 0
	for _, r := range want {
		n += len(r.Faces)
	}
	fmt.Printf("detectcmp: %d images, %d faces agree\n", len(want), n)
}

func readFile(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f)
}

func read(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var res result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(out)+1, err)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

func compare(want, got []result) error {
	if len(want) == 0 {
		return fmt.Errorf("no results to compare")
	}
	if len(want) != len(got) {
		return fmt.Errorf("%d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if w.File != g.File {
			return fmt.Errorf("result %d is %s, want %s", i, g.File, w.File)
		}
		if len(w.Faces) != len(g.Faces) {
			return fmt.Errorf("%s: %d faces, want %d", w.File, len(g.Faces), len(w.Faces))
		}
		for j, wf := range w.Faces {
			gf := g.Faces[j]
			if math.Abs(wf.Score-gf.Score) > scoreTol {
				return fmt.Errorf("%s face %d: score %.4f, want %.4f", w.File, j, gf.Score, wf.Score)
			}
			for k := range wf.Box {
				if math.Abs(wf.Box[k]-gf.Box[k]) > pixelTol {
					return fmt.Errorf("%s face %d: box %v, want %v", w.File, j, gf.Box, wf.Box)
				}
			}
			if len(wf.Keypoints) != len(gf.Keypoints) {
				return fmt.Errorf("%s face %d: %d keypoints, want %d", w.File, j, len(gf.Keypoints), len(wf.Keypoints))
			}
			for k := range wf.Keypoints {
				for c := range 2 {
					if math.Abs(wf.Keypoints[k][c]-gf.Keypoints[k][c]) > pixelTol {
						return fmt.Errorf("%s face %d: keypoint %d %v, want %v", w.File, j, k, gf.Keypoints[k], wf.Keypoints[k])
					}
				}
			}
		}
	}
	return nil
}
