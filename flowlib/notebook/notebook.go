// Package notebook holds the few helpers the workbook's GoNB notebooks share:
// showing figures and images, a training curve that redraws while training
// runs, the switch between a notebook's quick and full runs, and Must/Check
// for stopping a cell on an error.
//
// Outside a notebook (in a test or a program) the Show functions print a one
// line note instead, so notebook code can be run and tested anywhere.
package notebook

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"

	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/plot"
)

// QuickEnvVar is the environment variable that selects the quick run: the test
// suite sets FLOWBOOK_QUICK=1 so that heavy cells (training, mostly) run for a
// few seconds instead of minutes.
const QuickEnvVar = "FLOWBOOK_QUICK"

// Quick reports whether the notebook runs in quick mode (FLOWBOOK_QUICK=1).
func Quick() bool { return os.Getenv(QuickEnvVar) == "1" }

// Pick returns quick in quick mode and full otherwise. Notebooks write the
// size of their heavy cells with it, e.g. steps := notebook.Pick(100, 3000).
func Pick[T any](quick, full T) T {
	if Quick() {
		return quick
	}
	return full
}

// About prints what the notebook runs on: Go version, CPU cores, whether this
// is the quick or the full run, and the GoMLX backend that flowlib/backend
// chose, with the reason (it opens the shared backend to find out).
func About() {
	mode := "full run"
	if Quick() {
		mode = "quick run (" + QuickEnvVar + "=1): heavy cells are shortened"
	}
	choice := backend.SharedChoice().String()
	if root := os.Getenv("FLOWBOOK_ROOT"); root != "" {
		choice = strings.ReplaceAll(choice, root+string(os.PathSeparator), "") // Paths relative to the repository.
	}
	fmt.Printf("Go %s, %d CPU cores, %s\nbackend: %s\n", runtime.Version(), runtime.NumCPU(), mode, choice)
}

// SVGer is anything that renders itself as SVG, such as a *plot.Figure.
type SVGer interface{ SVG() string }

// Show displays figures, side by side when there are several.
func Show(figures ...*plot.Figure) {
	if len(figures) == 1 {
		ShowSVG(figures[0].SVG())
		return
	}
	ShowSVG(plot.Row(figures...))
}

// ShowSVG displays an SVG document as an image (MIME image/svg+xml), which
// JupyterLab shows inline and GitHub renders in stored notebooks. Figures
// [WideFigure] px wide or more scale to the output area ([FitWidth]).
func ShowSVG(svg string) {
	if !gonbui.IsNotebook {
		fmt.Printf("[figure: %d bytes of SVG]\n", len(svg))
		return
	}
	gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMEImageSVG: FitWidth(svg),
		// What JupyterLab shows instead of the SVG of a notebook it does not
		// trust (scripts/lab trusts the stored ones).
		protocol.MIMETextPlain: "[figure: run the cell, or open the notebook with scripts/lab, to see it]",
	}})
	// Wait until GoNB has the figure: a cell that ends right after showing
	// one could otherwise exit before it is delivered.
	gonbui.Sync()
}

// ShowImage displays an image as a PNG.
func ShowImage(img image.Image) {
	if !gonbui.IsNotebook {
		b := img.Bounds()
		fmt.Printf("[image %dx%d]\n", b.Dx(), b.Dy())
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		fmt.Println("notebook.ShowImage:", err)
		return
	}
	gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMEImagePNG:  buf.Bytes(),
		protocol.MIMETextPlain: "[image]",
	}})
	gonbui.Sync()
}

// ShowMarkdown displays Markdown (with LaTeX between $ signs), e.g. a table
// of results computed by the cell.
func ShowMarkdown(markdown string) {
	if !gonbui.IsNotebook {
		fmt.Println(markdown)
		return
	}
	gonbui.DisplayMarkdown(markdown)
	gonbui.Sync()
}

// Curve is a line chart that redraws while it grows: add points during a
// training run and the notebook shows the curve so far (at most every half
// second), then Done leaves the final figure in the output.
type Curve struct {
	mu         sync.Mutex
	figure     func() *plot.Figure
	names      []string
	xs, ys     map[string][]float64
	id         string
	lastUpdate time.Time
}

// NewCurve starts a curve; style is called for each redraw to make an empty
// figure with the titles, labels and ranges wanted, e.g.
//
//	curve := notebook.NewCurve(func() *plot.Figure {
//		return plot.New().Title("held-out NLL").XLabel("step").YLabel("nats")
//	})
func NewCurve(style func() *plot.Figure) *Curve {
	if style == nil {
		style = plot.New
	}
	return &Curve{figure: style, xs: map[string][]float64{}, ys: map[string][]float64{},
		id: "flowbook_curve_" + gonbui.UniqueID()}
}

// Add appends the point (x, y) to the named series and redraws the figure if
// the last redraw is more than half a second old.
func (c *Curve) Add(series string, x, y float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.xs[series]; !ok {
		c.names = append(c.names, series)
	}
	c.xs[series] = append(c.xs[series], x)
	c.ys[series] = append(c.ys[series], y)
	if time.Since(c.lastUpdate) > 500*time.Millisecond {
		c.lastUpdate = time.Now()
		if gonbui.IsNotebook {
			// Live updates go through an HTML display that Done erases: only
			// the final figure stays in the saved notebook.
			gonbui.UpdateHTML(c.id, "<div>"+c.draw().SVG()+"</div>")
		}
	}
}

// Figure returns the curve drawn so far.
func (c *Curve) Figure() *plot.Figure {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draw()
}

// Done erases the live display and shows the final figure.
func (c *Curve) Done() {
	c.mu.Lock()
	fig := c.draw()
	c.mu.Unlock()
	if gonbui.IsNotebook {
		gonbui.UpdateHTML(c.id, "")
	}
	Show(fig)
}

func (c *Curve) draw() *plot.Figure {
	fig := c.figure()
	for _, name := range c.names {
		fig.Line(c.xs[name], c.ys[name], plot.Label(name))
	}
	return fig
}

// Must returns v, or stops the cell with err's message if err is not nil: in
// a notebook a failed step should stop the cell loudly, e.g.
//
//	flow := notebook.Must(flowlib.NewRealNVP(2).Done())
//
// In a notebook the message goes to the cell's error output and the cell
// exits with status 1, without a Go stack trace; elsewhere (tests, programs)
// Must panics with err.
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Must2 is [Must] for calls that return two values and an error.
func Must2[A, B any](a A, b B, err error) (A, B) {
	Check(err)
	return a, b
}

// Check stops the cell with err's message if err is not nil, as [Must] does.
func Check(err error) {
	if err == nil {
		return
	}
	if gonbui.IsNotebook {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	panic(err)
}
