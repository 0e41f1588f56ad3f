package notebook

import (
	"fmt"
	"image"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/flowlib/images"
	"github.com/flowbook/flowbook/flowlib/plot"
)

// MNISTDir is where the workbook keeps its MNIST files, relative to the
// repository root: scripts/fetch-mnist .cache/mnist puts them there.
const MNISTDir = ".cache/mnist"

// MNIST loads the workbook's MNIST digits (data.LoadMNIST) from MNISTDir under
// the repository root, $FLOWBOOK_ROOT (the notebooks' kernel sets it). If
// they are missing it stops the cell, as [Check] does, with the command that
// fetches them.
func MNIST() (train, test *data.Samples) {
	dir := filepath.Join(os.Getenv("FLOWBOOK_ROOT"), MNISTDir)
	train, test, err := data.LoadMNIST(dir)
	if err != nil {
		Check(fmt.Errorf("MNIST is missing: from the repository root run  scripts/fetch-mnist %s\n(%w)", MNISTDir, err))
	}
	return train, test
}

// First returns the first n examples of s (all of them when n ≥ s.N), with
// their labels; the values are shared with s, not copied.
func First(s *data.Samples, n int) *data.Samples {
	n = max(min(n, s.N), 0)
	out := &data.Samples{Values: s.Values[:n*s.Dim], N: n, Dim: s.Dim, Shape: s.Shape}
	if s.Labels != nil {
		out.Labels = s.Labels[:n]
	}
	return out
}

// FirstBatch returns the first n examples of s as a float32 tensor of shape
// [n, event shape...], e.g. [n, 28, 28, 1] for MNIST: the input of a graph
// that runs a flow on them. n must not exceed s.N.
func FirstBatch(s *data.Samples, n int) *tensors.Tensor {
	if n < 1 || n > s.N {
		panic(fmt.Sprintf("notebook.FirstBatch: %d examples of %d", n, s.N))
	}
	return tensors.FromFlatDataAndDimensions(s.Values[:n*s.Dim], append([]int{n}, s.EventShape()...)...)
}

// ImageGrid draws n images of the given shape ([height, width, channels],
// values 0…255) side by side, columns per row, as images.NewGrid does; it
// stops the cell on an error, as [Must] does.
func ImageGrid(values []float32, n int, shape []int, columns int) image.Image {
	return Must(images.NewGrid(values, n, shape).Columns(columns).Image())
}

// ImagePanel returns a grey image as a figure with a title, width pixels
// wide (the height follows the image's aspect ratio, plus room for the
// title), so that several images can stand side by side with captions in one
// SVG: notebook.Show(ImagePanel(...), ImagePanel(...)). The grey level of a
// pixel is its red channel; a colour image loses its colours.
func ImagePanel(title string, img image.Image, width int) *plot.Figure {
	b := img.Bounds()
	rows := make([][]float64, b.Dy())
	for y := range b.Dy() {
		row := make([]float64, b.Dx())
		for x := range b.Dx() {
			r, _, _, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			row[x] = float64(r >> 8)
		}
		rows[b.Dy()-1-y] = row // a heatmap's row 0 is the bottom
	}
	return plot.New().Size(width, width*b.Dy()/b.Dx()+36).Title(title).NoAxes().
		Heatmap(rows, 0, float64(b.Dx()), 0, float64(b.Dy()), plot.Colormap("gray"), plot.ValueRange(0, 255))
}
