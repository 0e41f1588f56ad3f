package notebook

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/data"
)

func TestFirstAndFirstBatch(t *testing.T) {
	s := &data.Samples{Values: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, N: 3, Dim: 4, Shape: []int{2, 2, 1}, Labels: []int{7, 8, 9}}
	for _, tc := range []struct {
		n, wantN  int
		wantLabel []int
	}{{2, 2, []int{7, 8}}, {3, 3, []int{7, 8, 9}}, {10, 3, []int{7, 8, 9}}, {0, 0, []int{}}} {
		got := First(s, tc.n)
		if got.N != tc.wantN || len(got.Values) != tc.wantN*4 || len(got.Labels) != tc.wantN || got.Dim != 4 {
			t.Errorf("First(s, %d): N %d, %d values, %d labels; want N %d", tc.n, got.N, len(got.Values), len(got.Labels), tc.wantN)
		}
		for i, l := range tc.wantLabel {
			if got.Labels[i] != l {
				t.Errorf("First(s, %d).Labels = %v, want %v", tc.n, got.Labels, tc.wantLabel)
			}
		}
	}
	batch := FirstBatch(s, 2)
	if dims := batch.Shape().Dimensions; len(dims) != 4 || dims[0] != 2 || dims[1] != 2 || dims[3] != 1 {
		t.Errorf("FirstBatch(s, 2) has shape %v, want [2 2 2 1]", dims)
	}
	if v := batch.Value().([][][][]float32); v[1][1][0][0] != 6 {
		t.Errorf("FirstBatch(s, 2)[1][1][0][0] = %v, want 6", v[1][1][0][0])
	}
}

func TestMNISTSaysHowToFetchIt(t *testing.T) {
	t.Setenv("FLOWBOOK_ROOT", t.TempDir())
	defer func() {
		err, _ := recover().(error)
		if err == nil || !strings.Contains(err.Error(), "scripts/fetch-mnist .cache/mnist") {
			t.Errorf("MNIST() without the files: recovered %v, want an error naming scripts/fetch-mnist", err)
		}
	}()
	MNIST()
}

func TestMNISTLoadsTheWorkbooksCopy(t *testing.T) {
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, MNISTDir)); err != nil {
		t.Skip("no MNIST in .cache/mnist (scripts/fetch-mnist .cache/mnist)")
	}
	t.Setenv("FLOWBOOK_ROOT", root)
	train, test := MNIST()
	if train.N == 0 || test.N == 0 || train.Dim != 784 || len(test.Labels) != test.N {
		t.Errorf("MNIST(): %d train, %d test examples of %d values", train.N, test.N, train.Dim)
	}
}

func TestImagePanelKeepsTheImage(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 2))
	img.Set(0, 0, color.Gray{255}) // top left white, the rest black
	for _, tc := range []struct{ width, wantHeight int }{{200, 136}, {40, 56}} {
		svg := ImagePanel("digit", img, tc.width).SVG()
		if !strings.Contains(svg, ">digit<") {
			t.Errorf("ImagePanel's SVG lacks its title")
		}
		if want := `height="` + strconv.Itoa(tc.wantHeight) + `"`; !strings.Contains(svg, want) {
			t.Errorf("ImagePanel(width %d) of a 4×2 image: want %s (aspect ratio and 36 px of title)", tc.width, want)
		}
		pic := embeddedPNG(t, svg)
		if b := pic.Bounds(); b.Dx() != 4 || b.Dy() != 2 {
			t.Fatalf("embedded picture is %v, want 4×2", b)
		}
		for _, px := range []struct {
			x, y int
			grey uint32
		}{{0, 0, 0xffff}, {1, 0, 0}, {0, 1, 0}} {
			if r, _, _, _ := pic.At(px.x, px.y).RGBA(); r != px.grey {
				t.Errorf("pixel (%d, %d) of the panel has red %#x, want %#x (the image upside down?)", px.x, px.y, r, px.grey)
			}
		}
	}
}

// embeddedPNG decodes the first base64 PNG embedded in an SVG.
func embeddedPNG(t *testing.T, svg string) image.Image {
	t.Helper()
	const prefix = "data:image/png;base64,"
	i := strings.Index(svg, prefix)
	if i < 0 {
		t.Fatal("no embedded PNG in the SVG")
	}
	rest := svg[i+len(prefix):]
	raw, err := base64.StdEncoding.DecodeString(rest[:strings.IndexAny(rest, `"'`)])
	if err != nil {
		t.Fatal(err)
	}
	pic, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return pic
}
