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
	mask := make([][]float64, height)
	for i := range mask {
		mask[i] = make([]float64, width)
		for j := range mask[i] {
			if ((i+j)%2 == 0) != flipped {
				mask[i][j] = 1
			}
		}
	}
	return mask
}
