package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"facegate/models"
	"facegate/models/tflite"
)

// runModel dispatches `facegate model inspect|run|bench`: tools to look at
// a TFLite file, run it on raw tensors (so the runtime can be checked
// against another) and time it.
func runModel(ctx context.Context, s stdio, args []string) error {
	usage := func() {
		fmt.Fprint(s.err, `usage:
  facegate model inspect FILE
  facegate model run FILE --input a.f32[,b.f32] --out DIR [--shape 1,112,112,3[:...]] [--threads N]
  facegate model bench FILE [--shape ...] [--threads N] [--runs N]
FILE is a .tflite path or the name of an embedded model (`+strings.Join(embeddedModelNames(), ", ")+`).
Tensors are raw little-endian float32, NHWC.
`)
	}
	if len(args) == 0 {
		usage()
		return errUsage
	}
	switch args[0] {
	case "inspect":
		return modelInspect(s, args[1:])
	case "run":
		return modelRun(s, args[1:])
	case "bench":
		return modelBench(ctx, s, args[1:])
	case "-h", "--help", "help":
		usage()
		return nil
	}
	fmt.Fprintf(s.err, "facegate model: unknown subcommand %q\n", args[0])
	usage()
	return errUsage
}

func embeddedModelNames() []string {
	return []string{models.DetectorShort, models.DetectorFull, models.Recognizer}
}

// parseModelArgs parses flags that may come before or after the one
// positional FILE argument.
func parseModelArgs(fl *flag.FlagSet, args []string) (string, error) {
	if err := fl.Parse(args); err != nil {
		return "", errUsage
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return "", errUsage
	}
	file := fl.Arg(0)
	if err := fl.Parse(fl.Args()[1:]); err != nil {
		return "", errUsage
	}
	if fl.NArg() != 0 {
		fmt.Fprintf(fl.Output(), "facegate model %s: unexpected arguments %q\n", fl.Name(), fl.Args())
		return "", errUsage
	}
	return file, nil
}

// readModelBytes reads a model file, or an embedded model by name.
func readModelBytes(file string) (string, []byte, error) {
	data, err := os.ReadFile(file)
	if err == nil {
		return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), data, nil
	}
	if errors.Is(err, fs.ErrNotExist) && slices.Contains(embeddedModelNames(), file) {
		f, eerr := models.Embedded(file)
		if eerr != nil {
			return "", nil, eerr
		}
		return f.Name, f.Data, nil
	}
	return "", nil, err
}

func loadModelFile(file string) (string, *tflite.Model, error) {
	name, data, err := readModelBytes(file)
	if err != nil {
		return "", nil, err
	}
	m, err := tflite.Load(data)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", file, err)
	}
	return name, m, nil
}

func modelInspect(s stdio, args []string) error {
	fl := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fl.SetOutput(s.err)
	fl.Usage = func() { fmt.Fprintln(s.err, "usage: facegate model inspect FILE") }
	file, err := parseModelArgs(fl, args)
	if err != nil {
		return err
	}
	name, m, err := loadModelFile(file)
	if err != nil {
		return err
	}
	st := m.Stats()
	fmt.Fprintf(s.out, "model: %s\n", name)
	if st.Description != "" {
		fmt.Fprintf(s.out, "description: %s\n", st.Description)
	}
	for i, t := range m.Inputs() {
		fmt.Fprintf(s.out, "input %d: %s %s\n", i, t.Name, modelShapeString(t.Shape))
	}
	for i, t := range m.Outputs() {
		fmt.Fprintf(s.out, "output %d: %s %s\n", i, t.Name, modelShapeString(t.Shape))
	}
	fmt.Fprintf(s.out, "operators: %s\n", st.OpsString())
	fmt.Fprintf(s.out, "steps after graph passes: %s\n", st.StepsString())
	fmt.Fprintf(s.out, "MACs: %d (%.1f M)\n", st.MACs, float64(st.MACs)/1e6)
	fmt.Fprintf(s.out, "parameters: %d\n", st.Params)
	return nil
}

func modelShapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// parseModelShapes reads "1,112,112,3[:1,24,24,3]": one shape per input.
func parseModelShapes(v string) ([][]int, error) {
	if v == "" {
		return nil, nil
	}
	var out [][]int
	for _, part := range strings.Split(v, ":") {
		var s []int
		for _, d := range strings.Split(part, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad shape %q", part)
			}
			s = append(s, n)
		}
		out = append(out, s)
	}
	return out, nil
}

// applyModelShapes resizes the interpreter's inputs to the given shapes.
func applyModelShapes(ip *tflite.Interpreter, n int, shapes [][]int) error {
	if len(shapes) > n {
		return fmt.Errorf("%d shapes for %d inputs", len(shapes), n)
	}
	for i, s := range shapes {
		if slices.Equal(s, ip.InputShape(i)) {
			continue
		}
		if err := ip.ResizeInput(i, s); err != nil {
			return err
		}
	}
	return nil
}

func readF32File(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float32", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func writeF32File(path string, v []float32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return os.WriteFile(path, b, 0o644)
}

func modelRun(s stdio, args []string) error {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	fl.SetOutput(s.err)
	inputs := fl.String("input", "", "comma-separated input files (raw float32), one per model input")
	outDir := fl.String("out", "", "directory for output_<i>.f32")
	shape := fl.String("shape", "", "input shapes, e.g. 1,112,112,3 (inputs separated by ':'); default: the model's, with the batch following the file size")
	threads := fl.Int("threads", 1, "inference threads")
	fl.Usage = func() {
		fmt.Fprintln(s.err, "usage: facegate model run FILE --input a.f32[,b.f32] --out DIR [--shape 1,112,112,3] [--threads N]")
		fl.PrintDefaults()
	}
	file, err := parseModelArgs(fl, args)
	if err != nil {
		return err
	}
	if *inputs == "" || *outDir == "" {
		fmt.Fprintln(s.err, "facegate model run: --input and --out are required")
		return errUsage
	}
	shapes, err := parseModelShapes(*shape)
	if err != nil {
		fmt.Fprintf(s.err, "facegate model run: %v\n", err)
		return errUsage
	}
	_, m, err := loadModelFile(file)
	if err != nil {
		return err
	}
	files := strings.Split(*inputs, ",")
	if len(files) != len(m.Inputs()) {
		return fmt.Errorf("the model has %d inputs, %d files given", len(m.Inputs()), len(files))
	}
	data := make([][]float32, len(files))
	for i, f := range files {
		if data[i], err = readF32File(f); err != nil {
			return err
		}
	}
	ip, err := tflite.NewInterpreter(m, tflite.Options{Threads: max(*threads, 1)})
	if err != nil {
		return err
	}
	defer ip.Close()
	if err := applyModelShapes(ip, len(files), shapes); err != nil {
		return err
	}
	// Inputs without a named shape follow their file's size along the batch.
	for i := len(shapes); i < len(files); i++ {
		s := ip.InputShape(i)
		per := 1
		for _, d := range s[1:] {
			per *= d
		}
		if len(data[i]) == len(ip.Input(i)) {
			continue
		}
		if per == 0 || len(data[i]) == 0 || len(data[i])%per != 0 {
			return fmt.Errorf("%s has %d values; input %d of shape %s wants a multiple of %d (or give --shape)",
				files[i], len(data[i]), i, modelShapeString(s), per)
		}
		s[0] = len(data[i]) / per
		if err := ip.ResizeInput(i, s); err != nil {
			return err
		}
	}
	for i := range files {
		if len(data[i]) != len(ip.Input(i)) {
			return fmt.Errorf("%s has %d values, input %d of shape %s wants %d",
				files[i], len(data[i]), i, modelShapeString(ip.InputShape(i)), len(ip.Input(i)))
		}
		copy(ip.Input(i), data[i])
	}
	if err := ip.Invoke(); err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	for i := range m.Outputs() {
		p := filepath.Join(*outDir, fmt.Sprintf("output_%d.f32", i))
		if err := writeF32File(p, ip.Output(i)); err != nil {
			return err
		}
		fmt.Fprintf(s.out, "%s %s\n", p, modelShapeString(ip.OutputShape(i)))
	}
	return nil
}

// modelBenchResult is the JSON line printed by `model bench`.
type modelBenchResult struct {
	Model    string  `json:"model"`
	Shape    []int   `json:"shape"`
	Threads  int     `json:"threads"`
	Runs     int     `json:"runs"`
	MsMedian float64 `json:"ms_median"`
	MsP90    float64 `json:"ms_p90"`
	GMACs    float64 `json:"gmacs"` // GMAC/s at the median time
}

func modelBench(ctx context.Context, s stdio, args []string) error {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(s.err)
	shape := fl.String("shape", "", "input shapes, e.g. 1,112,112,3 (inputs separated by ':')")
	threads := fl.Int("threads", 1, "inference threads")
	runs := fl.Int("runs", 50, "timed runs (after 3 warm-up runs)")
	fl.Usage = func() {
		fmt.Fprintln(s.err, "usage: facegate model bench FILE [--shape 1,112,112,3] [--threads N] [--runs N]")
		fmt.Fprintln(s.err, `prints {"model","shape","threads","runs","ms_median","ms_p90","gmacs"}; gmacs is GMAC/s at the median`)
		fl.PrintDefaults()
	}
	file, err := parseModelArgs(fl, args)
	if err != nil {
		return err
	}
	shapes, err := parseModelShapes(*shape)
	if err != nil || *runs < 1 || *threads < 1 {
		fmt.Fprintln(s.err, "facegate model bench: bad --shape, --runs or --threads")
		return errUsage
	}
	name, m, err := loadModelFile(file)
	if err != nil {
		return err
	}
	ip, err := tflite.NewInterpreter(m, tflite.Options{Threads: *threads})
	if err != nil {
		return err
	}
	defer ip.Close()
	if err := applyModelShapes(ip, len(m.Inputs()), shapes); err != nil {
		return err
	}
	for i := range m.Inputs() {
		modelNoise(ip.Input(i))
	}
	times := make([]float64, 0, *runs)
	for r := range *runs + 3 {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		if err := ip.Invoke(); err != nil {
			return err
		}
		if r >= 3 {
			times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	slices.Sort(times)
	res := modelBenchResult{Model: name, Shape: ip.InputShape(0), Threads: *threads, Runs: *runs,
		MsMedian: modelRound3(modelPercentile(times, 0.5)), MsP90: modelRound3(modelPercentile(times, 0.9))}
	res.GMACs = modelRound3(float64(ip.MACs()) / (res.MsMedian * 1e6))
	return modelJSONLine(s.out, res)
}

func modelJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// modelPercentile returns the p-quantile of sorted values, by nearest rank.
func modelPercentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func modelRound3(v float64) float64 { return math.Round(v*1000) / 1000 }

// modelNoise fills v with the golden inputs' SplitMix64 pixels (seed 1) mapped
// to [−1, 1]; timings do not depend on the values, but NaNs or denormals
// would make them lie.
func modelNoise(v []float32) {
	var st uint64 = 1
	for i := range v {
		st += 0x9e3779b97f4a7c15
		z := st
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		v[i] = float32((float64(uint8(z>>56)) - 127.5) / 127.5)
	}
}
