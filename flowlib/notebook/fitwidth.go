package notebook

import (
	"regexp"
	"strconv"
	"strings"
)

// WideFigure is the width in px from which a figure scales with the notebook.
// JupyterLab shows an SVG output at its own width even where that is wider
// than the output area (1,072 px in a 1,440 px window with the file browser
// open), so a 4-panel row of 1,316 px would be cut off at the right edge.
const WideFigure = 800

var (
	rootSize    = regexp.MustCompile(`\swidth="([0-9.]+)"\s+height="[0-9.]+"`)
	rootViewBox = regexp.MustCompile(`\sviewBox="`)
)

// FitWidth returns svg with its root element's fixed width and height
// replaced by width="100%" when it is at least [WideFigure] px wide: the
// figure then fills the output area at its aspect ratio (its viewBox), smaller
// on a narrow screen and a little larger on a wide one. Narrower figures, and
// SVG whose root has no viewBox to scale by, are returned unchanged.
func FitWidth(svg string) string {
	start := strings.Index(svg, "<svg")
	if start < 0 {
		return svg
	}
	length := strings.IndexByte(svg[start:], '>')
	if length < 0 {
		return svg
	}
	root := svg[start : start+length]
	size := rootSize.FindStringSubmatchIndex(root)
	if size == nil || !rootViewBox.MatchString(root) {
		return svg
	}
	if width, err := strconv.ParseFloat(root[size[2]:size[3]], 64); err != nil || width < WideFigure {
		return svg
	}
	return svg[:start] + root[:size[0]] + ` width="100%"` + root[size[1]:] + svg[start+length:]
}
