// Package inference runs a [flowlib.Flow] whose variables live in a
// [model.Store] on data held on the host: log-densities ([LogProbs],
// [MeanLogProb]), samples ([Sample], [SampleOf]), reconstructions
// x → f⁻¹(f(x)) ([Reconstruct]) and straight lines in the latent space
// ([InterpolateLatents]). Package training fits the model; this package only
// reads it, so it can run on a checkpoint loaded without any training.
//
// # Precision
//
// The graphs compute in the model's dtype, the dtype of the store's
// trainable variables ([ModelDType]): a model trained or built on float64
// data computes in float64 throughout. The data may be float32
// ([data.Samples]) or float64 ([data.SamplesOf] float64): it is converted to
// the model's dtype inside the graph (float32 → float64 is exact). Log-densities
// come back as float64, read from the graph in the model's precision, so a
// float64 model's log-probabilities keep all their digits; samples and
// reconstructions come back in the precision of the data asked for
// ([SampleOf] float64 for float64 samples). A store without trainable
// variables yet (a flow of fixed layers, or a model not run yet) computes in
// the dtype of the data, and its variables are created in it.
//
// Every function checks its data first ([CheckSamples]): examples of the
// shape the flow models, finite, and in the domain of its first layer; the
// graph itself cannot report bad values.
//
// # Batches and compilation
//
// Data is evaluated in batches of at most 4096 examples (fewer for large
// ones such as images), so memory stays bounded. Each function call compiles
// its graphs anew; [Evaluator] keeps them for repeated log-density
// evaluations, as training's periodic evaluation does.
package inference
