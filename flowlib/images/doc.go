// Package images turns batches of images held as flat float32 values (as in
// data.Samples and model samples) into PNG grids, for the notebooks and the
// flowbook command.
//
// A batch is n examples of shape [height, width, channels], row-major, with
// 1 (grey) or 3 (RGB) channels: the layout data.LoadMNIST produces. [NewGrid]
// lays them out in rows and columns, maps values linearly to grey levels
// (0..255 by default, so MNIST pixels need no conversion; models that work
// in [0, 1] use Range(0, 1)) and can enlarge each pixel so that 28×28 digits
// are visible:
//
//	img, err := images.NewGrid(train.Values[:64*784], 64, train.EventShape()).Scale(2).Image()
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = images.WritePNG("digits.png", img)
//
// Only the standard library is used (image, image/color, image/png).
package images
