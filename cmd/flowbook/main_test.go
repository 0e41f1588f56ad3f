package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

// shared holds files made once for all tests: tiny trained checkpoints and
// a directory of made-up MNIST files.
var shared struct {
	dir       string // the temporary directory holding everything below
	ckpt      string // a 2-D RealNVP checkpoint: moons, 2 couplings, hidden 8
	mnist     string // MNIST-format files of random 28×28 images (see writeMNIST)
	imageCkpt string // a Glow checkpoint for those images: 1 level of 1 step, hidden 4
}

// TestMain trains the shared checkpoints once; it takes well under a second.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flowbook-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.dir, shared.ckpt = dir, filepath.Join(dir, "ckpt")
	code, stdout, stderr := runCLI("train", "--data", "moons", "--n", "1000", "--model", "realnvp",
		"--couplings", "2", "--hidden", "8", "--steps", "20", "--batch", "128",
		"--eval-every", "0", "--checkpoint-every", "0", "--checkpoint", shared.ckpt)
	if code != 0 {
		fmt.Fprintf(os.Stderr, "training the shared checkpoint failed (%d):\n%s\n%s", code, stdout, stderr)
		os.Exit(1)
	}
	shared.mnist, shared.imageCkpt = filepath.Join(dir, "mnist"), filepath.Join(dir, "image-ckpt")
	if err := writeMNIST(shared.mnist, 32, 8); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code, stdout, stderr = runCLI("train", "--data", "mnist:"+shared.mnist, "--model", "glow",
		"--levels", "1", "--steps-per-level", "1", "--hidden", "4", "--steps", "2", "--batch", "4",
		"--eval-every", "0", "--checkpoint-every", "0", "--checkpoint", shared.imageCkpt)
	if code != 0 {
		fmt.Fprintf(os.Stderr, "training the shared image checkpoint failed (%d):\n%s\n%s", code, stdout, stderr)
		os.Exit(1)
	}
	status := m.Run()
	os.RemoveAll(dir)
	os.Exit(status)
}

// mnistSide is the height and width of the images writeMNIST makes, MNIST's.
const mnistSide = 28

// writeMNIST writes the four MNIST files, gzipped, into dir (created if
// needed): nTrain training and nTest test images of random grey levels
// 0..255, 28×28 like MNIST's, with labels 0..9. Always the same images.
func writeMNIST(dir string, nTrain, nTest int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(7, 7))
	files := []struct {
		name string
		dims []int
	}{
		{"train-images-idx3-ubyte.gz", []int{nTrain, mnistSide, mnistSide}},
		{"train-labels-idx1-ubyte.gz", []int{nTrain}},
		{"t10k-images-idx3-ubyte.gz", []int{nTest, mnistSide, mnistSide}},
		{"t10k-labels-idx1-ubyte.gz", []int{nTest}},
	}
	for _, f := range files {
		size, levels := 1, 256
		for _, d := range f.dims {
			size *= d
		}
		if len(f.dims) == 1 {
			levels = 10 // labels
		}
		values := make([]byte, size)
		for i := range values {
			values[i] = byte(rng.IntN(levels))
		}
		if err := data.WriteIDX(filepath.Join(dir, f.name), &data.IDX{Dims: f.dims, Data: values}, true); err != nil {
			return err
		}
	}
	return nil
}

// copyMNIST copies the shared MNIST files into a new directory and returns it.
func copyMNIST(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "mnist")
	if err := os.CopyFS(dst, os.DirFS(shared.mnist)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// runCLI runs the command line in-process and returns the exit status and
// what was written to stdout and stderr.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// checkOneErrorLine fails unless stderr holds exactly one error line,
// "flowbook: ...", as its last line, containing every want substring, and
// nothing but the backend line besides (no stack trace, no panic).
func checkOneErrorLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "flowbook: ") {
		t.Fatalf("the last line of stderr should start with \"flowbook: \", stderr:\n%s", stderr)
	}
	for _, line := range lines[:len(lines)-1] {
		if !strings.HasPrefix(line, "backend: ") {
			t.Errorf("stderr has an unexpected line before the error: %q", line)
		}
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("the error %q should contain %q", last, w)
		}
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Errorf("stderr shows a panic:\n%s", stderr)
	}
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// corruptCopy copies the shared vector checkpoint to a new directory and
// applies damage to each of its files whose name ends with suffix (".json"
// or ".bin"); it returns the new directory.
func corruptCopy(t *testing.T, suffix string, damage func(content []byte) []byte) string {
	t.Helper()
	return corruptCopyOf(t, shared.ckpt, suffix, damage)
}

// corruptCopyOf is corruptCopy for the checkpoint in src.
func corruptCopyOf(t *testing.T, src, suffix string, damage func(content []byte) []byte) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "ckpt")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "checkpoint-") || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		path := filepath.Join(dst, e.Name())
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, damage(content), 0o644); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatalf("no checkpoint file *%s to damage in %s", suffix, dst)
	}
	return dst
}

// editParam returns a damage function for corruptCopy that decodes the
// checkpoint JSON, lets edit change the parameter key (its "Value" and
// "ValueType"), and encodes it again. It fails the test if the parameter is
// not there, so each test damages what it means to.
func editParam(t *testing.T, key string, edit func(param map[string]any)) func([]byte) []byte {
	return func(content []byte) []byte {
		var ckpt map[string]any
		if err := json.Unmarshal(content, &ckpt); err != nil {
			t.Fatal(err)
		}
		params, _ := ckpt["Params"].([]any)
		found := false
		for _, p := range params {
			if param, _ := p.(map[string]any); param["Key"] == key {
				edit(param)
				found = true
			}
		}
		if !found {
			t.Fatalf("the checkpoint has no parameter %q", key)
		}
		out, err := json.Marshal(ckpt)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"help", "train"}, {"train", "--help"}, {"train", "-h"},
		{"help", "eval"}, {"eval", "--help"},
		{"help", "sample"}, {"sample", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			for _, want := range []string{"Usage", "Examples", "flowbook "} {
				if !strings.Contains(stdout, want) {
					t.Errorf("usage should contain %q:\n%s", want, stdout)
				}
			}
			if args[0] != "help" && len(args) > 1 || len(args) == 2 {
				if !strings.Contains(stdout, "--checkpoint") || !strings.Contains(stdout, "Flags") {
					t.Errorf("a command's usage should list its flags:\n%s", stdout)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	ck := shared.ckpt
	threeCols := writeFile(t, dir, "three.csv", "a,b,c\n1,2,3\n4,5,6\n7,8,9\n")
	nanCSV := writeFile(t, dir, "nan.csv", "x0,x1\n1,2\nNaN,3\n")
	infCSV := writeFile(t, dir, "inf.csv", "1,2\n3,+Inf\n")
	ragged := writeFile(t, dir, "ragged.csv", "1,2\n3,4\n5\n")
	empty := writeFile(t, dir, "empty.csv", "")
	headerOnly := writeFile(t, dir, "header.csv", "x0,x1\n")
	aFile := writeFile(t, dir, "not-a-dir", "")
	extreme := writeFile(t, dir, "extreme.csv", "x0,x1\n0.1,0.2\n0.3,0.4\n\n1e30,0.5\n")
	semicolons := writeFile(t, dir, "semicolons.csv", "x0;x1\n0,1;0,2\n")
	spaces3 := writeFile(t, dir, "spaces3.csv", "1 2 3\n4 5 6\n")
	// What a training run that failed, or was killed, before its first
	// checkpoint left behind (before train learnt to clean up).
	onlyTestCSV := t.TempDir()
	writeFile(t, onlyTestCSV, "test.csv", "x0,x1\n1,2\n")
	strayFiles := t.TempDir()
	writeFile(t, strayFiles, "notes.txt", "")
	// A scale bound of 60 lets a coupling scale by e⁶⁰ ≈ 1e26: far points overflow.
	hugeScales := corruptCopy(t, ".json", editParam(t, "realnvp_scale_bound", func(p map[string]any) {
		p["Value"] = 60.0
	}))
	farPoints := writeFile(t, dir, "far.csv", "x0,x1\n0.5,0.2\n1,0\n1e6,1e6\n-1e6,3\n0,0.5\n")

	truncatedJSON := corruptCopy(t, ".json", func(b []byte) []byte { return b[:len(b)/2] })
	garbledJSON := corruptCopy(t, ".json", func(b []byte) []byte { return []byte("garbage{") })
	truncatedBin := corruptCopy(t, ".bin", func(b []byte) []byte { return b[:len(b)/2] })
	emptyBin := corruptCopy(t, ".bin", func(b []byte) []byte { return nil })
	noDescription := corruptCopy(t, ".json", editParam(t, "realnvp_couplings", func(p map[string]any) {
		p["Key"] = "something_else"
	}))
	wrongType := corruptCopy(t, ".json", editParam(t, "realnvp_hidden", func(p map[string]any) {
		p["Value"], p["ValueType"] = "8", "string"
	}))
	moreCouplings := corruptCopy(t, ".json", editParam(t, "realnvp_couplings", func(p map[string]any) {
		p["Value"] = 3
	}))
	otherHidden := corruptCopy(t, ".json", editParam(t, "realnvp_hidden", func(p map[string]any) {
		p["Value"] = []int{9}
	}))

	// Images.
	img := shared.imageCkpt
	mnist := "mnist:" + shared.mnist
	truncatedIDX := copyMNIST(t)
	idxPath := filepath.Join(truncatedIDX, "t10k-images-idx3-ubyte.gz")
	if content, err := os.ReadFile(idxPath); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(idxPath, content[:len(content)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	imageNoLevels := corruptCopyOf(t, img, ".json", editParam(t, "image_flow_levels", func(p map[string]any) {
		p["Key"] = "something_else"
	}))
	imageBadShape := corruptCopyOf(t, img, ".json", editParam(t, "flowbook_shape", func(p map[string]any) {
		p["Value"] = []int{28, 28, 2}
	}))
	wideCSV := writeFile(t, dir, "wide.csv", strings.Repeat("1,", 783)+"1\n"+strings.Repeat("2,", 783)+"2\n")
	png := filepath.Join(dir, "out.png")

	tests := []struct {
		name string
		args []string
		env  string // GOMLX_BACKEND, if not "go"
		code int
		want []string
	}{
		// Data.
		{"wrong dimension", []string{"eval", "--checkpoint", ck, "--data", threeCols}, "", 1,
			[]string{"3 columns", "dimension 2"}},
		{"NaN in CSV", []string{"eval", "--checkpoint", ck, "--data", nanCSV}, "", 1, []string{"NaN/Inf", "line 3 column 1"}},
		{"Inf in CSV", []string{"eval", "--checkpoint", ck, "--data", infCSV}, "", 1, []string{"NaN/Inf", "line 2 column 2"}},
		{"NaN in training CSV", []string{"train", "--data", nanCSV, "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"NaN/Inf"}},
		{"extreme value in CSV", []string{"eval", "--checkpoint", ck, "--data", extreme}, "", 1,
			[]string{"value 1e30 at line 5 column 1 is beyond ±1e6", "float32", "overflow", "standardise"}},
		{"extreme value in training CSV", []string{"train", "--data", extreme, "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"value 1e30 at line 5 column 1 is beyond ±1e6"}},
		{"semicolon-separated CSV", []string{"eval", "--checkpoint", ck, "--data", semicolons}, "", 1,
			[]string{"line 1 is separated by semicolons", "commas, tabs or spaces"}},
		{"space-separated CSV of another dimension", []string{"eval", "--checkpoint", ck, "--data", spaces3}, "", 1,
			[]string{"3 columns", "dimension 2"}},
		{"non-finite log-likelihood", []string{"eval", "--checkpoint", hugeScales, "--data", farPoints}, "", 1,
			[]string{"mean log-likelihood of " + farPoints + " is -Inf", "-Inf for 2 of the 5 points", "data rows 3, 4", "check those points"}},
		{"ragged CSV", []string{"eval", "--checkpoint", ck, "--data", ragged}, "", 1, []string{"ragged row at line 3"}},
		{"empty CSV", []string{"eval", "--checkpoint", ck, "--data", empty}, "", 1, []string{"no data rows"}},
		{"header-only CSV", []string{"eval", "--checkpoint", ck, "--data", headerOnly}, "", 1, []string{"no data rows"}},
		{"missing CSV", []string{"eval", "--checkpoint", ck, "--data", filepath.Join(dir, "nope.csv")}, "", 1,
			[]string{"cannot read CSV file"}},
		{"unknown dataset (eval)", []string{"eval", "--checkpoint", ck, "--data", "moonz"}, "", 1,
			[]string{`unknown dataset "moonz"`, "moons, circles, 8gaussians"}},
		{"unknown dataset (train)", []string{"train", "--data", "moonz", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`unknown dataset "moonz"`}},
		{"data of other dimension on resume", []string{"train", "--data", threeCols, "--model", "realnvp", "--checkpoint", ck}, "", 1,
			[]string{"dimension 3", "dimension 2"}},
		{"1-D data", []string{"train", "--data", writeFile(t, dir, "one.csv", "1\n2\n3\n"), "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"dimension at least 2"}},

		// Model.
		{"unknown model", []string{"train", "--data", "moons", "--model", "nice", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--model nice: unknown model`, "valid: realnvp, glow"}},
		{"glow for vector data", []string{"train", "--data", "moons", "--model", "glow", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"glow needs images", "moons is vector data", "--data mnist:DIR"}},
		{"maf for images", []string{"train", "--data", "mnist:" + shared.mnist, "--model", "maf", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"the model maf is for vector data", "--model glow or realnvp"}},
		{"mask for maf", []string{"train", "--data", "moons", "--model", "maf", "--mask", "alternating", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--mask applies to realnvp", "maf orders its coordinates"}},
		{"no iaf layers", []string{"train", "--data", "moons", "--model", "iaf", "--couplings", "0", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--couplings 0: must be at least 1"}},
		{"unknown nsf wrapper", []string{"train", "--data", "moons", "--model", "nsf", "-set", "vector_flow_wrapper=mask", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"-set vector_flow_wrapper=mask: unknown wrapper; valid: autoregressive, coupling"}},
		{"realnvp key for nsf", []string{"train", "--data", "moons", "--model", "nsf", "-set", "realnvp_couplings=2", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"-set realnvp_couplings: unknown parameter for a nsf model", "vector_flow_bins"}},
		{"unknown base", []string{"train", "--data", "moons", "--model", "realnvp", "--base", "gmm", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--base gmm: unknown base distribution`, "normal, diag, mixture"}},
		{"unknown mask", []string{"train", "--data", "moons", "--model", "realnvp", "--mask", "checker", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--mask checker: unknown mask`}},
		{"unknown activation", []string{"train", "--data", "moons", "--model", "realnvp", "--activation", "foo", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--activation foo: unknown activation`, "relu"}},
		{"bad hidden sizes", []string{"train", "--data", "moons", "--model", "realnvp", "--hidden", "64,x", "--checkpoint", filepath.Join(dir, "x")}, "", 2,
			[]string{"-hidden", "positive integers"}},
		{"architecture differs from checkpoint", []string{"train", "--data", "moons", "--model", "realnvp", "--couplings", "4", "--checkpoint", ck}, "", 1,
			[]string{"another architecture", "--couplings 4 (checkpoint: 2)", "new --checkpoint directory"}},
		{"mixture size for a checkpoint without mixture", []string{"train", "--data", "moons", "--model", "realnvp", "--components", "3", "--checkpoint", ck}, "", 1,
			[]string{"--components 3 (checkpoint: none)"}},

		// Images.
		{"missing MNIST directory", []string{"train", "--data", "mnist:/nonexistent", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"/nonexistent does not exist", "run scripts/fetch-mnist /nonexistent"}},
		{"missing Fashion-MNIST directory", []string{"train", "--data", "fashion-mnist:/nonexistent", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"/nonexistent does not exist", "scripts/fetch-mnist /nonexistent --fashion"}},
		{"MNIST without a directory", []string{"train", "--data", "mnist:", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--data "mnist:" needs the directory`}},
		{"MNIST directory without the files", []string{"train", "--data", "mnist:" + dir, "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"MNIST files not found in " + dir, "scripts/fetch-mnist"}},
		{"truncated IDX file", []string{"train", "--data", "mnist:" + truncatedIDX, "--model", "glow", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{idxPath, "truncated"}},
		{"truncated IDX file (eval)", []string{"eval", "--checkpoint", img, "--data", "mnist:" + truncatedIDX}, "", 1,
			[]string{idxPath}},
		{"levels too many for 28×28", []string{"train", "--data", mnist, "--model", "glow", "--levels", "3", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"3 levels", "divisible by 8", "28×28", "fewer levels"}},
		{"zero levels", []string{"train", "--data", mnist, "--levels", "0", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--levels 0: realnvp needs at least 1 level"}},
		{"unknown dequantization", []string{"train", "--data", mnist, "--dequantization", "bogus", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--dequantization bogus: unknown dequantization`, "uniform, variational"}},
		{"unknown invconv", []string{"train", "--data", mnist, "--model", "glow", "--invconv", "bogus", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--invconv bogus: unknown 1×1 convolution`, "lu, exp"}},
		{"invconv for realnvp", []string{"train", "--data", mnist, "--model", "realnvp", "--invconv", "exp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--invconv applies to glow"}},
		{"actnorm for glow", []string{"train", "--data", mnist, "--model", "glow", "--actnorm=false", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--actnorm applies to realnvp"}},
		{"logit alpha", []string{"train", "--data", mnist, "--logit-alpha", "0.5", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--logit-alpha 0.5: the logit alpha must be in [0, 0.5)"}},
		{"vector flag for images", []string{"train", "--data", mnist, "--couplings", "4", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--couplings applies to vector data", "--levels"}},
		{"test fraction for images", []string{"train", "--data", mnist, "--test-fraction", "0.1", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--test-fraction applies to vector data", "own test split"}},
		{"image flag for vector data", []string{"train", "--data", "moons", "--levels", "3", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--levels applies to image models", "--data mnist:DIR"}},
		{"test-n<0", []string{"train", "--data", mnist, "--test-n", "-1", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--test-n must be 0"}},
		{"max-time<0", []string{"train", "--data", "moons", "--max-time", "-1s", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--max-time must be 0"}},
		{"bad max-time", []string{"train", "--data", "moons", "--max-time", "soon", "--checkpoint", filepath.Join(dir, "x")}, "", 2,
			[]string{`invalid value "soon"`, "-max-time"}},
		{"image architecture differs from checkpoint", []string{"train", "--data", mnist, "--levels", "2", "--checkpoint", img}, "", 1,
			[]string{"another architecture", "--levels 2 (checkpoint: 1)"}},
		{"-set differs from checkpoint", []string{"train", "--data", mnist, "-set", "image_flow_levels=2", "--checkpoint", img}, "", 1,
			[]string{"another architecture", "-set image_flow_levels 2 (checkpoint: 1)"}},
		{"-set and a flag", []string{"train", "--data", "moons", "--couplings", "2", "-set", "realnvp_couplings=3", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--couplings and -set realnvp_couplings both set the parameter realnvp_couplings"}},
		{"-set of an unknown key", []string{"train", "--data", "moons", "-set", "realnvp_depth=3", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"-set realnvp_depth: unknown parameter", "valid parameters:", "realnvp_couplings"}},
		{"-set of an image key for vectors", []string{"train", "--data", "moons", "--set", "image_flow_levels=3", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"-set image_flow_levels: unknown parameter for a realnvp model of vectors of dimension 2"}},
		{"vector data on an image checkpoint", []string{"train", "--data", "moons", "--checkpoint", img}, "", 1,
			[]string{"vectors of dimension 2", "images of 28×28×1"}},
		{"images on a vector checkpoint", []string{"train", "--data", mnist, "--checkpoint", ck}, "", 1,
			[]string{"images of 28×28×1", "vectors of dimension 2"}},
		{"CSV for an image model", []string{"eval", "--checkpoint", img, "--data", wideCSV}, "", 1,
			[]string{"784 columns", "image model for 28×28×1 images", "--data mnist:DIR"}},
		{"toy data for an image model", []string{"eval", "--checkpoint", img, "--data", "moons"}, "", 1,
			[]string{"2-D points", "image model"}},
		{"images for a vector model", []string{"eval", "--checkpoint", ck, "--data", mnist}, "", 1,
			[]string{"holds images", "vector model of dimension 2"}},
		{"truth for an image model", []string{"eval", "--checkpoint", img, "--truth", "rings"}, "", 1,
			[]string{"--truth applies to toy datasets"}},
		{"image checkpoint without levels", []string{"eval", "--checkpoint", imageNoLevels}, "", 1,
			[]string{"cannot be used", `parameter "image_flow_levels" is missing`}},
		{"image checkpoint of inconsistent shape", []string{"sample", "--checkpoint", imageBadShape, "--out", png}, "", 1,
			[]string{"cannot be used", `parameter "flowbook_shape" is [28 28 2]`, "not the dimension 784"}},
		{"PNG from a vector model", []string{"sample", "--checkpoint", ck, "--out", png}, "", 1,
			[]string{"PNG output needs an image model", "vector model of dimension 2", "--out file.csv"}},
		{"reconstruct with a vector model", []string{"sample", "--checkpoint", ck, "--reconstruct", "--out", "-"}, "", 1,
			[]string{"--reconstruct needs an image model"}},
		{"CSV from an image model", []string{"sample", "--checkpoint", img, "--out", filepath.Join(dir, "s.csv")}, "", 1,
			[]string{"image model", "--out FILE.png"}},
		{"image temperature=0", []string{"sample", "--checkpoint", img, "--temperature", "0", "--out", png}, "", 1,
			[]string{"--temperature must be positive"}},
		{"image temperature<0", []string{"sample", "--checkpoint", img, "--temperature", "-0.7", "--out", png}, "", 1,
			[]string{"--temperature must be positive"}},
		{"reconstruct and interpolate", []string{"sample", "--checkpoint", img, "--reconstruct", "--interpolate", "0,1", "--out", png}, "", 1,
			[]string{"give one of them"}},
		{"temperature with reconstruct", []string{"sample", "--checkpoint", img, "--reconstruct", "--temperature", "0.5", "--out", png}, "", 1,
			[]string{"--temperature applies to drawing samples"}},
		{"interpolate one index", []string{"sample", "--checkpoint", img, "--interpolate", "3", "--out", png}, "", 1,
			[]string{"--interpolate 3", "like 0,1"}},
		{"interpolate negative index", []string{"sample", "--checkpoint", img, "--interpolate", "0,-1", "--out", png}, "", 1,
			[]string{`"-1" is not an index`}},
		{"interpolate beyond the test set", []string{"sample", "--checkpoint", img, "--interpolate", "0,8", "--out", png}, "", 1,
			[]string{"has 8 images, numbered 0 to 7"}},
		{"interpolate in one step", []string{"sample", "--checkpoint", img, "--interpolate", "0,1", "--steps", "1", "--out", png}, "", 1,
			[]string{"--steps must be at least 2"}},
		{"steps without interpolate", []string{"sample", "--checkpoint", img, "--steps", "5", "--out", png}, "", 1,
			[]string{"--steps is the number of images of --interpolate"}},

		// Checkpoints.
		{"missing checkpoint (eval)", []string{"eval", "--checkpoint", filepath.Join(dir, "none"), "--data", "moons"}, "", 1,
			[]string{"no checkpoint in", "the directory does not exist", "flowbook train"}},
		{"missing checkpoint (sample)", []string{"sample", "--checkpoint", filepath.Join(dir, "none"), "--out", "-"}, "", 1,
			[]string{"no checkpoint in", "does not exist"}},
		{"empty checkpoint directory", []string{"eval", "--checkpoint", t.TempDir(), "--data", "moons"}, "", 1,
			[]string{"no checkpoint in", "the directory is empty", "flowbook train"}},
		{"checkpoint directory of an unfinished run", []string{"eval", "--checkpoint", onlyTestCSV, "--data", "moons"}, "", 1,
			[]string{"holds test.csv but no model", "the training run that wrote it did not finish", "run that train command again"}},
		{"checkpoint directory without checkpoint files", []string{"sample", "--checkpoint", strayFiles, "--out", "-"}, "", 1,
			[]string{"holds 1 file but no checkpoint files", "flowbook train"}},
		{"checkpoint is a file", []string{"eval", "--checkpoint", aFile, "--data", "moons"}, "", 1,
			[]string{"is a file, not a directory"}},
		{"truncated checkpoint JSON", []string{"eval", "--checkpoint", truncatedJSON, "--data", "moons"}, "", 1,
			[]string{"cannot be used", "corrupt"}},
		{"garbled checkpoint JSON", []string{"sample", "--checkpoint", garbledJSON, "--out", "-"}, "", 1,
			[]string{"cannot be used", "corrupt"}},
		{"truncated checkpoint binary", []string{"eval", "--checkpoint", truncatedBin, "--data", "moons"}, "", 1,
			[]string{"cannot be used", "corrupt"}},
		{"empty checkpoint binary", []string{"eval", "--checkpoint", emptyBin, "--data", "moons"}, "", 1,
			[]string{"cannot be used", "corrupt"}},
		{"checkpoint without description", []string{"eval", "--checkpoint", noDescription, "--data", "moons"}, "", 1,
			[]string{`parameter "realnvp_couplings" is missing`}},
		{"checkpoint parameter of wrong type", []string{"eval", "--checkpoint", wrongType, "--data", "moons"}, "", 1,
			[]string{`parameter "realnvp_hidden"`}},
		{"checkpoint lacking weights", []string{"eval", "--checkpoint", moreCouplings, "--data", "moons"}, "", 1,
			[]string{"lacks weights", "04_actnorm"}},
		{"checkpoint weights of other shape", []string{"sample", "--checkpoint", otherHidden, "--out", "-"}, "", 1,
			[]string{"different shape", "retrain"}},
		{"corrupt checkpoint on resume", []string{"train", "--data", "moons", "--model", "realnvp", "--checkpoint", truncatedJSON}, "", 1,
			[]string{"cannot be used"}},

		// Backends.
		{"XLA without plugin", []string{"eval", "--checkpoint", ck, "--data", "moons", "--n", "10"}, "xla:cpu", 1,
			[]string{"xla:cpu", "PJRT plugin", "GOMLX_BACKEND"}},
		{"unknown backend", []string{"eval", "--checkpoint", ck, "--data", "moons", "--n", "10"}, "bogus", 1,
			[]string{`unknown backend "bogus"`}},

		// Numbers out of range.
		{"train n=0", []string{"train", "--data", "moons", "--n", "0", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--n must be positive"}},
		{"eval n<0", []string{"eval", "--checkpoint", ck, "--data", "moons", "--n", "-3"}, "", 1, []string{"--n must be positive"}},
		{"sample n=0", []string{"sample", "--checkpoint", ck, "--n", "0", "--out", "-"}, "", 1, []string{"--n must be positive"}},
		{"temperature=0", []string{"sample", "--checkpoint", ck, "--temperature", "0", "--out", "-"}, "", 1,
			[]string{"--temperature must be positive"}},
		{"temperature<0", []string{"sample", "--checkpoint", ck, "--temperature", "-1", "--out", "-"}, "", 1,
			[]string{"--temperature must be positive"}},
		{"temperature NaN", []string{"sample", "--checkpoint", ck, "--temperature", "NaN", "--out", "-"}, "", 1,
			[]string{"--temperature must be positive"}},
		{"test fraction", []string{"train", "--data", "moons", "--test-fraction", "1", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--test-fraction"}},
		{"learning rate", []string{"train", "--data", "moons", "--lr", "-1", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--lr must be positive"}},
		{"steps", []string{"train", "--data", "moons", "--steps", "0", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--steps"}},
		{"warm-up as long as training", []string{"train", "--data", "moons", "--steps", "100", "--warmup", "100", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--warmup must be 0 (none) or fewer than --steps (100), got 100"}},
		{"negative warm-up", []string{"train", "--data", "moons", "--warmup", "-1", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--warmup must be 0"}},
		{"export without --out", []string{"export", "--checkpoint", ck}, "", 2, []string{"--out is required"}},
		{"export of a missing checkpoint", []string{"export", "--checkpoint", filepath.Join(dir, "none"), "--out", filepath.Join(dir, "y")}, "", 1,
			[]string{"no checkpoint"}},
		{"export --data of a vector model", []string{"export", "--checkpoint", ck, "--out", filepath.Join(dir, "y"), "--data", "mnist:" + dir}, "", 1,
			[]string{"--data applies to image models"}},
		{"progress", []string{"train", "--data", "moons", "--progress", "maybe", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{"--progress"}},
		{"truth", []string{"eval", "--checkpoint", ck, "--data", "moons", "--truth", "moons"}, "", 1,
			[]string{"--truth", "8gaussians"}},

		// The command line itself.
		{"train without --data", []string{"train", "--model", "realnvp", "--checkpoint", filepath.Join(dir, "x")}, "", 2,
			[]string{"--data is required"}},
		{"empty --model", []string{"train", "--data", "moons", "--model", "", "--checkpoint", filepath.Join(dir, "x")}, "", 1,
			[]string{`--model "": unknown model`, "valid: realnvp"}},
		{"train without --checkpoint", []string{"train", "--data", "moons", "--model", "realnvp"}, "", 2,
			[]string{"--checkpoint is required"}},
		{"eval without --checkpoint", []string{"eval", "--data", "moons"}, "", 2, []string{"--checkpoint is required"}},
		{"eval without --data", []string{"eval", "--checkpoint", ck}, "", 2, []string{"--data is required"}},
		{"sample without --out", []string{"sample", "--checkpoint", ck}, "", 2, []string{"--out is required"}},
		{"unknown flag", []string{"eval", "--bogus"}, "", 2, []string{"not defined: -bogus", "eval --help"}},
		{"flag without value", []string{"sample", "--n"}, "", 2, []string{"needs an argument: -n"}},
		{"non-numeric flag", []string{"sample", "--n", "many"}, "", 2, []string{`invalid value "many"`}},
		{"stray argument", []string{"eval", "--checkpoint", ck, "extra"}, "", 2, []string{`unexpected argument "extra"`}},
		{"unknown command", []string{"fit"}, "", 2, []string{`unknown command "fit"`, "train, eval, sample"}},
		{"help on unknown command", []string{"help", "fit"}, "", 2, []string{`unknown command "fit"`}},
		{"no command", nil, "", 2, []string{"no command given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("GOMLX_BACKEND", tt.env)
			}
			code, _, stderr := runCLI(tt.args...)
			if tt.env == "xla:cpu" && code == 0 {
				t.Skip("an XLA CPU plugin is installed here, so this error cannot happen")
			}
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			checkOneErrorLine(t, stderr, tt.want...)
		})
	}
	// None of the failed train commands should have left a directory behind.
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a failed train command created its checkpoint directory")
	}
}

// TestReport checks the error reporting itself: panics become one line, and
// multi-line messages are joined.
func TestReport(t *testing.T) {
	var stderr bytes.Buffer
	if code := report(&stderr, panicToError(fmt.Errorf("boom\nat line 2"))); code != exitError {
		t.Errorf("a panic exits with %d, want %d", code, exitError)
	}
	if got, want := stderr.String(), "flowbook: internal error: boom at line 2 (set FLOWBOOK_DEBUG=1 for the stack trace)\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if code := report(io.Discard, nil); code != exitOK {
		t.Errorf("no error exits with %d, want 0", code)
	}
	if code := report(io.Discard, errHelp); code != exitOK {
		t.Errorf("--help exits with %d, want 0", code)
	}
}
