package main

import (
	"strings"
	"testing"
)

const base = `{"file":"a.jpg","faces":[{"score":0.91,"box":[10,20,100,120],"keypoints":[[40,60],[80,60]]}]}
{"file":"b.jpg","faces":[]}
`

func TestCompare(t *testing.T) {
	want, err := read(strings.NewReader(base))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got string
		ok        bool
	}{
		{"identical", base, true},
		{"float noise", strings.Replace(base, "0.91", "0.9131", 1), true},
		{"half a pixel", strings.Replace(base, "[10,20", "[10.5,20", 1), true},
		{"box moved", strings.Replace(base, "[10,20", "[14,20", 1), false},
		{"score differs", strings.Replace(base, "0.91", "0.7", 1), false},
		{"keypoint moved", strings.Replace(base, "[80,60]", "[90,60]", 1), false},
		{"face missing", strings.Replace(base, `[{"score":0.91,"box":[10,20,100,120],"keypoints":[[40,60],[80,60]]}]`, "[]", 1), false},
		{"image missing", strings.SplitAfter(base, "\n")[0], false},
		{"other file", strings.Replace(base, "b.jpg", "c.jpg", 1), false},
	}
	for _, tt := range tests {
		got, err := read(strings.NewReader(tt.got))
		if err != nil {
			t.Fatal(err)
		}
		if err := compare(want, got); (err == nil) != tt.ok {
			t.Errorf("%s: compare = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if err := compare(nil, nil); err == nil {
		t.Error("empty outputs compared equal")
	}
	if _, err := read(strings.NewReader("{bad")); err == nil {
		t.Error("bad JSON accepted")
	}
}
