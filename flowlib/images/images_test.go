package images_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbook/flowbook/flowlib/images"
)

// B is the default background level (white) in expected pixel tables.
const B = 255

// wantPixels fails the test unless img is as wide and high as want and its
// red, green and blue are rgb(want[y][x]) at each pixel, fully opaque.
func wantPixels(t *testing.T, img image.Image, want [][]uint8, rgb func(v uint8) [3]uint8) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != len(want[0]) || b.Dy() != len(want) {
		t.Fatalf("image is %d×%d, want %d×%d", b.Dx(), b.Dy(), len(want[0]), len(want))
	}
	for y, row := range want {
		for x, v := range row {
			got := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			w := rgb(v)
			if got != (color.RGBA{w[0], w[1], w[2], 255}) {
				t.Errorf("pixel (x=%d, y=%d) = %v, want RGB %v", x, y, got, w)
			}
		}
	}
}

// grey draws a level as grey.
func grey(v uint8) [3]uint8 { return [3]uint8{v, v, v} }

func TestGridGrey(t *testing.T) {
	// Four 2×2 grey images: values beyond [0, 255] are clamped, fractions
	// are rounded to the nearest level.
	values := []float32{
		0, 50, 100, 150, // image 0
		10, 20, 30, 40, // image 1
		255, 300, -5, 127.6, // image 2
		1, 2, 3, 4, // image 3
	}
	tests := []struct {
		name string
		grid *images.Grid
		want [][]uint8
	}{
		{"2×2 grid, padding 1", images.NewGrid(values, 4, []int{2, 2, 1}).Padding(1), [][]uint8{
			{0, 50, B, 10, 20},
			{100, 150, B, 30, 40},
			{B, B, B, B, B},
			{255, 255, B, 1, 2},
			{0, 128, B, 3, 4},
		}},
		{"shape [H, W] means grey", images.NewGrid(values, 4, []int{2, 2}).Padding(1), [][]uint8{
			{0, 50, B, 10, 20},
			{100, 150, B, 30, 40},
			{B, B, B, B, B},
			{255, 255, B, 1, 2},
			{0, 128, B, 3, 4},
		}},
		{"one row, no padding, black background", images.NewGrid(values[:8], 2, []int{2, 2, 1}).
			Columns(4).Padding(0).Background(color.Black), [][]uint8{
			{0, 50, 10, 20},
			{100, 150, 30, 40},
		}},
		{"3 columns leave an empty cell", images.NewGrid(values, 4, []int{2, 2, 1}).Columns(3).Padding(1).
			Background(color.Gray{7}), [][]uint8{
			{0, 50, 7, 10, 20, 7, 255, 255},
			{100, 150, 7, 30, 40, 7, 0, 128},
			{7, 7, 7, 7, 7, 7, 7, 7},
			{1, 2, 7, 7, 7, 7, 7, 7},
			{3, 4, 7, 7, 7, 7, 7, 7},
		}},
		{"scale 2", images.NewGrid(values[:4], 1, []int{2, 2, 1}).Scale(2), [][]uint8{
			{0, 0, 50, 50},
			{0, 0, 50, 50},
			{100, 100, 150, 150},
			{100, 100, 150, 150},
		}},
		{"range [-100, 155]", images.NewGrid([]float32{-100, 0, 155, 27.5}, 1, []int{2, 2, 1}).Range(-100, 155),
			[][]uint8{
				{0, 100},
				{255, 128},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := tt.grid.Image()
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			wantPixels(t, img, tt.want, grey)
		})
	}
}

func TestGridDefaultLayout(t *testing.T) {
	// 5 images of 3×4 pixels: ceil(sqrt(5)) = 3 columns, 2 rows, padding 2.
	img, err := images.NewGrid(make([]float32, 5*3*4), 5, []int{3, 4, 1}).Image()
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 3*4+2*2 || h != 2*3+1*2 {
		t.Errorf("grid is %d×%d, want 16×8", w, h)
	}
}

func TestGridRGB(t *testing.T) {
	// Two 1×2 RGB images with values in [0, 1], side by side with padding 1.
	values := []float32{
		1, 0, 0, 0, 1, 0, // image 0: red, green
		0, 0, 1, 0.5, 0.5, 0.5, // image 1: blue, grey
	}
	img, err := images.NewGrid(values, 2, []int{1, 2, 3}).Range(0, 1).Padding(1).Background(color.Black).Image()
	if err != nil {
		t.Fatal(err)
	}
	want := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 0, 255}, {0, 0, 255, 255}, {128, 128, 128, 255}}
	if img.Bounds().Dx() != len(want) || img.Bounds().Dy() != 1 {
		t.Fatalf("image is %v, want 5×1", img.Bounds())
	}
	for x, w := range want {
		if got := img.RGBAAt(x, 0); got != w {
			t.Errorf("pixel %d = %v, want %v", x, got, w)
		}
	}
}

func TestGridErrors(t *testing.T) {
	four := make([]float32, 16)
	withNaN := make([]float32, 16)
	withNaN[13] = float32(math.NaN()) // image 3, row 0, column 1
	withInf := make([]float32, 12)
	withInf[11] = float32(math.Inf(-1)) // image 1, row 0, column 1, channel 2
	tests := []struct {
		name  string
		grid  *images.Grid
		wants []string
	}{
		{"rank 1 shape", images.NewGrid(four, 4, []int{4}), []string{"shape [4] has rank 1", "[height, width, channels]"}},
		{"rank 4 shape", images.NewGrid(four, 1, []int{2, 2, 2, 2}), []string{"rank 4"}},
		{"zero width", images.NewGrid(nil, 4, []int{2, 0, 1}), []string{"non-positive height or width"}},
		{"4 channels", images.NewGrid(four, 1, []int{2, 2, 4}), []string{"4 channels", "only 1 (grey) and 3 (RGB)"}},
		{"2 channels", images.NewGrid(four, 2, []int{2, 2, 2}), []string{"2 channels"}},
		{"too few values", images.NewGrid(four[:15], 4, []int{2, 2, 1}),
			[]string{"got 15 values, but n×height×width×channels = 4×2×2×1 = 16"}},
		{"too many values", images.NewGrid(four, 3, []int{2, 2, 1}), []string{"got 16 values", "= 12"}},
		{"no images", images.NewGrid(nil, 0, []int{2, 2, 1}), []string{"n = 0 images"}},
		{"NaN", images.NewGrid(withNaN, 4, []int{2, 2, 1}),
			[]string{"image 3 has the value NaN at row 0, column 1, channel 0", "diverged"}},
		{"-Inf in RGB", images.NewGrid(withInf, 2, []int{1, 2, 3}),
			[]string{"image 1 has the value -Inf at row 0, column 1, channel 2"}},
		{"negative columns", images.NewGrid(four, 4, []int{2, 2, 1}).Columns(-1), []string{"Columns(-1)"}},
		{"negative padding", images.NewGrid(four, 4, []int{2, 2, 1}).Padding(-2), []string{"Padding(-2)"}},
		{"zero scale", images.NewGrid(four, 4, []int{2, 2, 1}).Scale(0), []string{"Scale(0)"}},
		{"empty range", images.NewGrid(four, 4, []int{2, 2, 1}).Range(1, 1), []string{"Range(1, 1)", "lo < hi"}},
		{"NaN range", images.NewGrid(four, 4, []int{2, 2, 1}).Range(math.NaN(), 1), []string{"Range(NaN, 1)"}},
		{"huge", images.NewGrid(four, 4, []int{2, 2, 1}).Scale(1 << 14), []string{"more than the limit", "smaller Scale"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := tt.grid.Image()
			if err == nil {
				t.Fatalf("got a %v image, want an error", img.Bounds())
			}
			for _, w := range append([]string{"images: "}, tt.wants...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPNGRoundTrip(t *testing.T) {
	values := make([]float32, 3*5*4*3)
	for i := range values {
		values[i] = float32(i * 17 % 256)
	}
	img, err := images.NewGrid(values, 3, []int{5, 4, 3}).Scale(2).Image()
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := images.EncodePNG(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := images.WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	fromFile, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"EncodePNG": buf.Bytes(), "WritePNG": fromFile} {
		back, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: decoding: %v", name, err)
		}
		if back.Bounds() != img.Bounds() {
			t.Fatalf("%s: decoded bounds %v, want %v", name, back.Bounds(), img.Bounds())
		}
		for y := range img.Bounds().Dy() {
			for x := range img.Bounds().Dx() {
				if got, want := color.RGBAModel.Convert(back.At(x, y)), img.RGBAAt(x, y); got != want {
					t.Fatalf("%s: pixel (%d, %d) = %v after decoding, want %v", name, x, y, got, want)
				}
			}
		}
	}
}

func TestPNGErrors(t *testing.T) {
	dir := t.TempDir()
	if err := images.EncodePNG(&bytes.Buffer{}, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("EncodePNG(nil) = %v, want an error about the nil image", err)
	}
	if err := images.WritePNG(filepath.Join(dir, "nil.png"), nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("WritePNG(nil) = %v, want an error about the nil image", err)
	}
	path := filepath.Join(dir, "missing", "grid.png")
	err := images.WritePNG(path, image.NewRGBA(image.Rect(0, 0, 1, 1)))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "directory exists") {
		t.Errorf("WritePNG into a missing directory = %v, want an error naming %s and the directory", err, path)
	}
	// An empty image cannot be a PNG; no file may be left behind.
	path = filepath.Join(dir, "empty.png")
	if err := images.WritePNG(path, image.NewRGBA(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("WritePNG of an empty image succeeded")
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a failed WritePNG left a file behind")
	}
}

func ExampleNewGrid() {
	// Three 2×2 grey images (MNIST would be 28×28, with [28 28 1] as shape).
	values := []float32{
		0, 255, 255, 0,
		255, 255, 0, 0,
		128, 128, 128, 128,
	}
	img, err := images.NewGrid(values, 3, []int{2, 2, 1}).Columns(3).Padding(1).Scale(2).Image()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("size:", img.Bounds().Dx(), "×", img.Bounds().Dy())
	fmt.Println("top row:", img.Pix[0:4], img.Pix[4*4:4*4+4], "(RGBA of x=0 and of padding x=4)")

	var buf bytes.Buffer
	if err := images.EncodePNG(&buf, img); err != nil { // or images.WritePNG("grid.png", img)
		log.Fatal(err)
	}
	fmt.Println("PNG signature:", bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG")))

	_, err = images.NewGrid(values, 3, []int{2, 2, 4}).Image()
	fmt.Println(err)
	// Output:
	// size: 14 × 4
	// top row: [0 0 0 255] [255 255 255 255] (RGBA of x=0 and of padding x=4)
	// PNG signature: true
	// images: image shape [2 2 4] has 4 channels; only 1 (grey) and 3 (RGB) are supported
}
