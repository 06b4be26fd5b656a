package tflite

import (
	"os"
	"testing"
)

func BenchmarkLoadMobileFaceNet(b *testing.B) {
	data, err := os.ReadFile(modelPath(b, "MobileFaceNet"))
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
