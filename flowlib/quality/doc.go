// Package quality measures whether images drawn from a flow trained on MNIST
// look like digits, with numbers a learner can read next to the pictures.
//
// A small convolutional [Classifier], trained on the 7,996 training digits of
// the workbook's MNIST ([Train], or `flowbook classifier`) and shipped in
// models/digit-classifier ([DefaultDir], loaded by [LoadClassifier]), reads
// every image. [Measure] then reports, for a set of N images of grey levels
// 0…255 and Shape [28, 28, 1]:
//
//   - Confident: the fraction the classifier takes for a digit with a softmax
//     probability of at least 0.9, and Classes, how those split over the
//     digits 0…9;
//   - NotDigit: the fraction it takes for no digit at all: its eleventh
//     class, trained on noise, blank images, blocks and blobs;
//   - Ink: the mean grey level over all pixels, over 255 (real digits ≈ 0.13);
//   - Saturated: the fraction of pixels at grey level 250 or more;
//   - MeanMax: the mean of each image's brightest pixel;
//   - Blocks: the fraction of images more than 30% saturated, white blobs
//     that an unstable flow draws at high temperature;
//
// each with its standard error. [Reference] is the same report for the real
// test digits, the row to read the others against: samples that look like
// digits come close to it on every column, and a flow that draws only one
// digit shows it in Classes.
//
// Such a classifier-based score is in the spirit of the Inception score
// (Salimans et al. 2016, https://arxiv.org/abs/1606.03498), simplified to
// what a digit classifier can say honestly: "confidently a digit", not a
// distance between distributions. An image can fool a classifier, so read
// the numbers with the samples in view.
//
//	be := backend.MustShared()
//	classifier, err := quality.LoadClassifier(quality.DefaultDir)
//	samples, err := inference.Sample(be, store, flow, 256, 0.7)
//	report, err := quality.Measure(be, classifier, samples)
//	fmt.Printf("%.3f of the samples are confidently a digit\n", report.Confident)
package quality
