package data_test

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

func TestToyDatasets(t *testing.T) {
	const n = 2000
	for _, name := range data.Names() {
		t.Run(name, func(t *testing.T) {
			s, err := data.Toy(name, n, 1)
			if err != nil {
				t.Fatalf("Toy: %v", err)
			}
			if s.N != n || s.Dim != 2 || len(s.Values) != 2*n {
				t.Fatalf("got N=%d Dim=%d len(Values)=%d, want %d×2", s.N, s.Dim, len(s.Values), n)
			}

			// Finite, inside the common plotting box, not degenerate, centred.
			var sum [2]float64
			var maxAbs float64
			for i, v := range s.Values {
				f := float64(v)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					t.Fatalf("value %d is %v", i, v)
				}
				maxAbs = max(maxAbs, math.Abs(f))
				sum[i%2] += f
			}
			if maxAbs > 4.5 {
				t.Errorf("max |coordinate| = %.2f, want the data within about [-4, 4]²", maxAbs)
			}
			if maxAbs < 0.5 {
				t.Errorf("max |coordinate| = %.2f: the data is collapsed near the origin", maxAbs)
			}
			for j, total := range sum {
				if mean := total / n; math.Abs(mean) > 0.2 {
					t.Errorf("mean of coordinate %d = %.3f, want ≈ 0", j, mean)
				}
			}

			again, _ := data.Toy(name, n, 1)
			if !slices.Equal(s.Values, again.Values) {
				t.Error("the same seed gave different samples")
			}
			other, _ := data.Toy(name, n, 2)
			if slices.Equal(s.Values, other.Values) {
				t.Error("different seeds gave identical samples")
			}
		})
	}
}

func TestToyErrors(t *testing.T) {
	tests := []struct {
		name string
		toy  string
		n    int
		want []string
	}{
		{"unknown name", "moon", 10, append([]string{`"moon"`, "valid names"}, data.Names()...)},
		{"empty name", "", 10, data.Names()},
		{"names are case sensitive", "8Gaussians", 10, data.Names()},
		{"zero n", "moons", 0, []string{"n must be > 0", "got 0"}},
		{"negative n", "rings", -3, []string{"n must be > 0", "got -3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := data.Toy(tc.toy, tc.n, 1)
			if err == nil {
				t.Fatalf("Toy(%q, %d) = %d samples, want an error", tc.toy, tc.n, s.N)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNamesReturnsACopy(t *testing.T) {
	names := data.Names()
	names[0] = "changed"
	if data.Names()[0] == "changed" {
		t.Error("modifying the result of Names changed the package's list")
	}
}

func TestEightGaussians(t *testing.T) {
	s, err := data.Toy("8gaussians", 20000, 3)
	if err != nil {
		t.Fatal(err)
	}
	var mx, my, dist float64
	for i := range s.N {
		x, y := float64(s.Row(i)[0]), float64(s.Row(i)[1])
		mx += x
		my += y
		dist += math.Hypot(x, y)
	}
	n := float64(s.N)
	mx, my, dist = mx/n, my/n, dist/n
	if math.Abs(mx) > 0.05 || math.Abs(my) > 0.05 {
		t.Errorf("sample mean = (%.3f, %.3f), want ≈ (0, 0)", mx, my)
	}
	if math.Abs(dist-data.EightGaussiansRadius) > 0.05 {
		t.Errorf("mean distance from the origin = %.3f, want ≈ %v", dist, data.EightGaussiansRadius)
	}

	// The components barely overlap, so the mixture's entropy is that of one
	// 2D Gaussian, log(2πσ²)+1, plus log 8 for the choice of component.
	const sigma2 = data.EightGaussiansStd * data.EightGaussiansStd
	want := -(math.Log(2*math.Pi*sigma2) + 1) - math.Log(8)
	got, err := data.MeanTrueLogLikelihood("8gaussians", s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MeanTrueLogLikelihood = %.4f, analytic ≈ %.4f", got, want)
	if math.Abs(got-want) > 0.02 {
		t.Errorf("MeanTrueLogLikelihood = %.4f, want %.4f ± 0.02", got, want)
	}
}

func TestTrueLogDensityIntegratesToOne(t *testing.T) {
	tests := []struct {
		name string
		step float64 // grid spacing: small against the narrowest feature
	}{
		{"8gaussians", 0.02},   // σ = 0.25
		{"checkerboard", 0.02}, // the midpoints never fall on a square's edge
		{"rings", 0.01},        // σ = 0.08
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logp, ok := data.TrueLogDensity(tc.name)
			if !ok {
				t.Fatal("no closed-form density")
			}
			// Midpoint rule on [-4, 4]²: very accurate for smooth densities,
			// and exact for the checkerboard on this aligned grid.
			cells := int(math.Round(8 / tc.step))
			var total float64
			for i := range cells {
				x := -4 + (float64(i)+0.5)*tc.step
				for j := range cells {
					y := -4 + (float64(j)+0.5)*tc.step
					total += math.Exp(logp(x, y))
				}
			}
			total *= tc.step * tc.step
			t.Logf("∫ p over [-4, 4]² ≈ %.8f", total)
			if math.Abs(total-1) > 1e-3 {
				t.Errorf("∫ p over [-4, 4]² ≈ %.6f, want 1 ± 1e-3", total)
			}
		})
	}
}

func TestTrueLogDensityAvailability(t *testing.T) {
	closed := map[string]bool{"8gaussians": true, "checkerboard": true, "rings": true}
	for _, name := range append(data.Names(), "no-such-dataset") {
		t.Run(name, func(t *testing.T) {
			logp, ok := data.TrueLogDensity(name)
			if ok != closed[name] || (logp != nil) != ok {
				t.Fatalf("TrueLogDensity: ok=%v, logp nil=%v; want ok=%v", ok, logp == nil, closed[name])
			}
			s, err := data.Toy(name, 500, 4)
			if err != nil {
				return // the unknown name: nothing more to check
			}
			mean, err := data.MeanTrueLogLikelihood(name, s)
			switch {
			case ok && err != nil:
				t.Errorf("MeanTrueLogLikelihood: %v", err)
			case ok && (math.IsNaN(mean) || math.IsInf(mean, 0)):
				t.Errorf("MeanTrueLogLikelihood = %v, want a finite value on the dataset's own samples", mean)
			case !ok && (err == nil || !strings.Contains(err.Error(), "no closed-form density")):
				t.Errorf("MeanTrueLogLikelihood error = %v, want one saying there is no closed-form density", err)
			}
		})
	}
}

func TestMeanTrueLogLikelihoodNeeds2D(t *testing.T) {
	s := &data.Samples{Values: make([]float32, 6), N: 2, Dim: 3}
	_, err := data.MeanTrueLogLikelihood("8gaussians", s)
	if err == nil || !strings.Contains(err.Error(), "Dim 3") {
		t.Errorf("error = %v, want one about Dim 3", err)
	}
}

func TestCheckerboard(t *testing.T) {
	s, err := data.Toy("checkerboard", 20000, 5)
	if err != nil {
		t.Fatal(err)
	}
	logp, _ := data.TrueLogDensity("checkerboard")
	for i := range s.N {
		x, y := float64(s.Row(i)[0]), float64(s.Row(i)[1])
		col, row := int(math.Floor(x+2)), int(math.Floor(y+2))
		if col < 0 || col > 3 || row < 0 || row > 3 || (col+row)%2 != 0 {
			t.Fatalf("sample %d = (%v, %v) is not on a dark square", i, x, y)
		}
		if got := logp(x, y); got != -math.Log(8) {
			t.Fatalf("log p(%v, %v) = %v, want log(1/8)", x, y, got)
		}
	}
	if got := logp(-1.5, -0.5); !math.IsInf(got, -1) { // a light square
		t.Errorf("log p on a light square = %v, want -Inf", got)
	}
	if got := logp(3, 3); !math.IsInf(got, -1) { // off the board
		t.Errorf("log p off the board = %v, want -Inf", got)
	}
}

func TestRingsDensityShape(t *testing.T) {
	logp, _ := data.TrueLogDensity("rings")
	onRing, between := logp(1, 0), logp(0, 1.25)
	if !(onRing > between+3) {
		t.Errorf("log p on a ring = %.2f, between rings = %.2f; want much higher on the ring", onRing, between)
	}
	if a, b := logp(1.5, 0), logp(0, -1.5); math.Abs(a-b) > 1e-12 {
		t.Errorf("density is not rotation invariant: %v vs %v", a, b)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	moons, err := data.Toy("moons", 200, 6)
	if err != nil {
		t.Fatal(err)
	}
	awkward := &data.Samples{
		// -1e6 is the largest magnitude ReadCSV accepts (data.MaxAbsValue).
		Values: []float32{0, -0, 1, 1e-30, -1e6, 123456.789, 1.0 / 3, -2.5e-7, 7},
		N:      3, Dim: 3,
	}
	for _, tc := range []struct {
		name string
		s    *data.Samples
	}{{"moons", moons}, {"awkward values", awkward}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := data.WriteCSV(&buf, tc.s); err != nil {
				t.Fatal(err)
			}
			wantHeader := "x0,x1"
			if tc.s.Dim == 3 {
				wantHeader += ",x2"
			}
			if header, _, _ := strings.Cut(buf.String(), "\n"); header != wantHeader {
				t.Errorf("header = %q, want %q", header, wantHeader)
			}
			got, err := data.ReadCSV(&buf, "roundtrip.csv", tc.s.Dim)
			if err != nil {
				t.Fatal(err)
			}
			assertExact(t, got, tc.s)
		})
	}

	t.Run("SaveCSV and LoadCSV", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "moons.csv")
		if err := data.SaveCSV(path, moons); err != nil {
			t.Fatal(err)
		}
		got, err := data.LoadCSV(path, 2)
		if err != nil {
			t.Fatal(err)
		}
		assertExact(t, got, moons)
	})
}

// assertExact checks that got and want have the same shape and exactly the
// same float32 values (WriteCSV writes the shortest decimal that reads back
// as the same float32).
func assertExact(t *testing.T, got, want *data.Samples) {
	t.Helper()
	if got.N != want.N || got.Dim != want.Dim {
		t.Fatalf("read back %d×%d, wrote %d×%d", got.N, got.Dim, want.N, want.Dim)
	}
	for i, w := range want.Values {
		if got.Values[i] != w {
			t.Errorf("value %d: read back %v, wrote %v", i, got.Values[i], w)
		}
	}
}

func TestReadCSVFormat(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  [][]float64
	}{
		{"no header", "1,2\n3,4\n", [][]float64{{1, 2}, {3, 4}}},
		{"header", "a,b\n1,2\n", [][]float64{{1, 2}}},
		{"spaces, blank lines and CRLF", "\r\n  x , y \r\n\r\n 0.5 ,\t-2 \r\n   \r\n1e1,+3\r\n", [][]float64{{0.5, -2}, {10, 3}}},
		{"byte-order mark", "\ufeffx,y\n1,2\n", [][]float64{{1, 2}}},
		{"no final newline", "1\n2", [][]float64{{1}, {2}}},
		{"space-separated, no header", "1.5 2\n  3   -25e-2\n", [][]float64{{1.5, 2}, {3, -0.25}}},
		{"space-separated with header", "x y\n1 2\n", [][]float64{{1, 2}}},
		{"numpy.savetxt default", "1.000000000000000000e+00 2.500000000000000000e+00\n", [][]float64{{1, 2.5}}},
		{"tab-separated with header", "a\tb\n1\t 2\n", [][]float64{{1, 2}}},
		{"at the magnitude bound", "-1e6,1000000\n", [][]float64{{-1e6, 1e6}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := data.ReadCSV(strings.NewReader(tc.input), "test.csv", 0)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Float64()
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantDim int
		want    []string // substrings the message must contain, besides the file name
	}{
		{"empty", "", 0, []string{"no data rows", "empty"}},
		{"only blank lines", "\n  \n\n", 0, []string{"no data rows", "empty"}},
		{"header only", "x,y\n", 0, []string{"no data rows", "only a header", "line 1"}},
		{"ragged row, too long", "x,y\n1,2\n3,4,5\n", 0, []string{"ragged", "line 3", "expected 2", "got 3", "column 3 is extra"}},
		{"ragged row, too short", "1,2\n\n3\n", 0, []string{"ragged", "line 3", "expected 2", "got 1", "column 2 is missing"}},
		{"header and data disagree", "a,b,c\n1,2\n", 0, []string{"header", "line 1", "line 2", "3 columns"}},
		{"not a number", "x,y\n1,2\n3,abc\n", 0, []string{"not a number", `"abc"`, "line 3 column 2"}},
		{"typo in the first row", "1.5,2,x\n", 0, []string{"not a number", `"x"`, "line 1 column 3"}},
		{"empty value", "1,2\n3,\n", 0, []string{"empty value", "line 2 column 2"}},
		{"NaN", "x,y\n1,2\n\n4,NaN\n", 0, []string{"NaN/Inf at line 4 column 2", "finite", "remove or impute"}},
		{"Inf", "1,2\n-Inf,3\n", 0, []string{"NaN/Inf at line 2 column 1"}},
		{"outside float32 range", "1e39,1\n", 0, []string{"value 1e39 at line 1 column 1 is beyond ±1e6", "float32", "rescale"}},
		{"finite but extreme", "x,y\n1,2\n\n1e30,0.5\n", 0, []string{"value 1e30 at line 4 column 1 is beyond ±1e6", "squares", "overflow"}},
		{"just beyond the bound", "1,-1000001\n", 0, []string{"value -1000001 at line 1 column 2 is beyond ±1e6"}},
		{"space-separated typo in line 1", "1.5 x\n2 3\n", 0, []string{"not a number", `"x"`, "line 1 column 2"}},
		{"space-separated ragged", "1 2\n3\n", 0, []string{"ragged row at line 2", "expected 2"}},
		{"semicolons", "x;y\n1,5;2\n", 0, []string{"line 1 is separated by semicolons", "commas, tabs or spaces"}},
		{"spaces in a comma file", "1,2\n3 4\n", 0, []string{"ragged row at line 2", "separated by commas, as on line 1"}},
		{"a space in a comma field", "1,2\n3 4,5\n", 0, []string{"not a number", `"3 4"`, "line 2 column 1", "separated by commas, as on line 1"}},
		{"wrong dimension", "1,2,3\n4,5,6\n", 2, []string{"data has 3 columns but the model expects 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := data.ReadCSV(strings.NewReader(tc.input), "test.csv", tc.wantDim)
			if err == nil {
				t.Fatalf("got %d×%d samples, want an error", s.N, s.Dim)
			}
			for _, w := range append(tc.want, "test.csv") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadCSVMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.csv")
	_, err := data.LoadCSV(path, 2)
	if err == nil {
		t.Fatal("LoadCSV of a missing file succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	for _, w := range []string{"nope.csv", "check the path"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestWriteCSVRejectsInvalidSamples(t *testing.T) {
	tests := []struct {
		name string
		s    *data.Samples
		want string
	}{
		{"nil", nil, "nil"},
		{"wrong length", &data.Samples{Values: make([]float32, 5), N: 2, Dim: 2}, "5 values"},
		{"zero dimension", &data.Samples{N: 3, Dim: 0}, "Dim 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := data.WriteCSV(&bytes.Buffer{}, tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// counting returns n examples of dimension 2 whose rows are (i, -i), so
// every row can be recognised after shuffling.
func counting(n int) *data.Samples {
	s := &data.Samples{Values: make([]float32, 2*n), N: n, Dim: 2}
	for i := range n {
		s.Values[2*i], s.Values[2*i+1] = float32(i), float32(-i)
	}
	return s
}

func TestSplit(t *testing.T) {
	s := counting(100)
	train, test := s.Split(0.25, 7)
	if train.N != 75 || test.N != 25 || train.Dim != 2 || test.Dim != 2 {
		t.Fatalf("sizes: train %d×%d, test %d×%d; want 75×2 and 25×2", train.N, train.Dim, test.N, test.Dim)
	}
	// Every row lands in exactly one part, intact.
	seen := make([]bool, s.N)
	for _, part := range []*data.Samples{train, test} {
		for i := range part.N {
			row := part.Row(i)
			k := int(row[0])
			if row[1] != -row[0] || seen[k] {
				t.Fatalf("row %v is corrupted or duplicated", row)
			}
			seen[k] = true
		}
	}
	if slices.Equal(train.Values, s.Values[:150]) {
		t.Error("train is the first 75 rows in order: Split did not shuffle")
	}

	train2, test2 := s.Split(0.25, 7)
	if !slices.Equal(train.Values, train2.Values) || !slices.Equal(test.Values, test2.Values) {
		t.Error("the same seed gave a different split")
	}
	train3, _ := s.Split(0.25, 8)
	if slices.Equal(train.Values, train3.Values) {
		t.Error("different seeds gave the same split")
	}
	if s.Values[2] != 1 {
		t.Error("Split modified its receiver")
	}
}

func TestSplitSizes(t *testing.T) {
	tests := []struct {
		n         int
		fraction  float64
		wantTrain int
		wantTest  int
	}{
		{10, 0.2, 8, 2},
		{2, 0.01, 1, 1}, // rounding would leave test empty
		{2, 0.99, 1, 1}, // rounding would leave train empty
		{1, 0.3, 1, 0},  // one example cannot be split
		{0, 0.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.n)+"@"+strconv.FormatFloat(tc.fraction, 'g', -1, 64), func(t *testing.T) {
			train, test := counting(tc.n).Split(tc.fraction, 1)
			if train.N != tc.wantTrain || test.N != tc.wantTest {
				t.Errorf("got train %d, test %d; want %d, %d", train.N, test.N, tc.wantTrain, tc.wantTest)
			}
		})
	}
}

func TestSplitPanicsOnBadFraction(t *testing.T) {
	for _, f := range []float64{0, 1, -0.1, 1.5, math.NaN()} {
		t.Run(strconv.FormatFloat(f, 'g', -1, 64), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Split(%v) did not panic", f)
				}
			}()
			counting(10).Split(f, 1)
		})
	}
}

func TestRowAndFloat64(t *testing.T) {
	s := counting(3)
	row := s.Row(1)
	if !slices.Equal(row, []float32{1, -1}) {
		t.Fatalf("Row(1) = %v", row)
	}
	row[0] = 42
	if s.Values[2] != 42 {
		t.Error("Row is not a view into Values")
	}
	_ = append(row, 99)
	if s.Values[4] != 2 {
		t.Error("appending to a Row overwrote the next example")
	}

	rows := s.Float64()
	if want := [][]float64{{0, 0}, {42, -1}, {2, -2}}; !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("Float64() = %v, want %v", rows, want)
	}
	rows[0][0] = 7
	if s.Values[0] != 0 {
		t.Error("Float64 returned a view, want a copy")
	}
}

// TestReadCSVQuotedFields checks what encoding/csv adds to ReadCSV: quoted
// fields, in the header and in data rows, with commas and doubled quotes
// inside them; and that a stray quote is reported with its line.
func TestReadCSVQuotedFields(t *testing.T) {
	s, err := data.ReadCSV(strings.NewReader("\"x, in m\",\"y \"\"2\"\"\"\n\"1.5\", \"-2\"\n3,\"4\"\n"), "quoted.csv", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Float64(), [][]float64{{1.5, -2}, {3, 4}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %v, want %v", got, want)
	}
	tab, err := data.ReadCSV(strings.NewReader("\"a\"\t\"b\"\n\"1\"\t2\n"), "quoted.tsv", 2)
	if err != nil || !slices.EqualFunc(tab.Float64(), [][]float64{{1, 2}}, slices.Equal) {
		t.Errorf("tab-separated quoted fields: got %v, %v; want [[1 2]]", tab, err)
	}
	_, err = data.ReadCSV(strings.NewReader("1,2\n3,4\"5\n"), "stray.csv", 0)
	for _, w := range []string{"stray.csv", "misplaced quote at line 2", "quote a whole field"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("stray quote: error %v, want one containing %q", err, w)
		}
	}
}

// TestReadCSVLongLine checks that a line beyond 16 MiB (a binary file
// given by mistake, say) is refused with its line number, for both
// tokenisers.
func TestReadCSVLongLine(t *testing.T) {
	long := strings.Repeat("1", 17<<20)
	for _, input := range []string{"1,2\n3," + long + "\n", "1 2\n3 " + long + "\n"} {
		_, err := data.ReadCSV(strings.NewReader(input), "big.csv", 0)
		if err == nil || !strings.Contains(err.Error(), "line 2 is longer than 16 MiB") {
			t.Errorf("error %v, want one saying line 2 is longer than 16 MiB", err)
		}
	}
}

// TestFloat64Samples checks the float64 path of the package: CSV read at
// float64 precision keeps digits float32 would round away, WriteCSV writes
// them back exactly, and Convert copies between the two precisions.
func TestFloat64Samples(t *testing.T) {
	const precise = 0.1234567890123 // float32 keeps about 7 digits of it
	in := "x\n0.1234567890123\n-2.5\n"
	s, err := data.ReadCSVOf[float64](strings.NewReader(in), "precise.csv", 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Values[0] != precise || s.Values[1] != -2.5 {
		t.Errorf("ReadCSVOf[float64] read %v, want [%v -2.5]", s.Values, precise)
	}
	var buf bytes.Buffer
	if err := data.WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	if want := "x0\n0.1234567890123\n-2.5\n"; buf.String() != want {
		t.Errorf("WriteCSV of float64 samples wrote %q, want %q", buf.String(), want)
	}
	s32 := data.Convert[float32](s)
	if s32.Values[0] != float32(precise) || s32.N != 2 || s32.Dim != 1 {
		t.Errorf("Convert[float32] gave %+v, want the values rounded to float32", s32)
	}
	labelled := &data.Samples{Values: []float32{1, 2, 3, 4}, N: 1, Dim: 4, Shape: []int{2, 2, 1}, Labels: []int{7}}
	back := data.Convert[float64](labelled)
	if !slices.Equal(back.Values, []float64{1, 2, 3, 4}) || !slices.Equal(back.Shape, labelled.Shape) || !slices.Equal(back.Labels, labelled.Labels) {
		t.Errorf("Convert[float64] gave %+v, want the same values, shape and labels", back)
	}
	back.Shape[0], back.Labels[0] = 9, 9
	if labelled.Shape[0] != 2 || labelled.Labels[0] != 7 {
		t.Errorf("changing Convert's result changed its input: %+v", labelled)
	}
}
