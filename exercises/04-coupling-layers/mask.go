package coupling

// CheckerboardMask returns the checkerboard mask of RealNVP's image couplings
// for height×width images, as height rows of width values: mask[i][j] is 1
// where pixel (i, j) is kept and 0 where it is transformed. Pixel (i, j) is
// kept when i+j is even, so pixel (0, 0) is kept and every neighbour of a
// kept pixel is transformed. With flipped, the 1s and 0s are swapped (the
// mask of the next layer).
//
// It must agree with flowlib.CheckerboardMask(height, width) (and its Flip),
// applied to every channel of an image.
func CheckerboardMask(height, width int, flipped bool) [][]float64 {
	// TODO(exercise): build the height×width grid of 1s and 0s.
	return nil
}
