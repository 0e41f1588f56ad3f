package realnvp

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
)

// The graders' reference model: a linear-Gaussian VAE in 2D,
//
//	z ~ N(0, I),   x = W z + b + σ·noise,
//
// whose marginal is known in closed form, p(x) = N(x; b, W Wᵀ + σ² I), and
// whose true posterior p(z|x) = N(S Wᵀ (x − b)/σ², S) with
// S = (I + Wᵀ W/σ²)⁻¹ is diagonal, because W's columns are orthogonal
// (Wᵀ W = diag(2.08, 1.17)): a diagonal Gaussian encoder can be exact.
var (
	linW     = [2][2]float64{{1.2, -0.6}, {0.8, 0.9}}
	linB     = [2]float64{0.3, -0.2}
	linSigma = 0.5
)

// encoder is a diagonal Gaussian encoder of the linear model: the true
// posterior, scaled (mean·meanScale + meanShift, log σ + logStdShift).
type encoder struct {
	meanScale   float64
	meanShift   [2]float64
	logStdShift float64
}

var (
	trueEncoder      = encoder{meanScale: 1}
	imperfectEncoder = encoder{meanScale: 0.7, meanShift: [2]float64{0.1, -0.05}, logStdShift: 0.4}
)

// posterior returns S (the diagonal of the posterior covariance) and
// M = S Wᵀ/σ² (posterior mean = M (x − b)).
func posterior() (s [2]float64, m [2][2]float64) {
	for k := range 2 {
		wtw := linW[0][k]*linW[0][k] + linW[1][k]*linW[1][k]
		s[k] = 1 / (1 + wtw/(linSigma*linSigma))
		for j := range 2 {
			m[k][j] = s[k] * linW[j][k] / (linSigma * linSigma)
		}
	}
	return s, m
}

// encode is the encoder in float64.
func (e encoder) encode(x [2]float64) (mean, logStd [2]float64) {
	s, m := posterior()
	for k := range 2 {
		mean[k] = e.meanScale*(m[k][0]*(x[0]-linB[0])+m[k][1]*(x[1]-linB[1])) + e.meanShift[k]
		logStd[k] = 0.5*math.Log(s[k]) + e.logStdShift
	}
	return mean, logStd
}

// vae returns the linear VAE with this encoder, as graph functions.
func (e encoder) vae() *VAE {
	s, m := posterior()
	mT := [2][2]float64{{m[0][0], m[1][0]}, {m[0][1], m[1][1]}}
	wT := [2][2]float64{{linW[0][0], linW[1][0]}, {linW[0][1], linW[1][1]}}
	return &VAE{
		Latent: 2,
		Encode: func(_ *model.Scope, x *Node) (mean, logStd *Node) {
			mean = MatMul(Sub(x, constRow(x, linB[:]...)), constMatrix(x, mT))
			mean = Add(MulScalar(mean, e.meanScale), constRow(x, e.meanShift[:]...))
			logStd = Add(ZerosLike(mean), constRow(x, 0.5*math.Log(s[0])+e.logStdShift, 0.5*math.Log(s[1])+e.logStdShift))
			return mean, logStd
		},
		Decode: func(_ *model.Scope, z *Node) (mean, logStd *Node) {
			mean = Add(MatMul(z, constMatrix(z, wT)), constRow(z, linB[:]...))
			return mean, AddScalar(ZerosLike(mean), math.Log(linSigma))
		},
	}
}

// decode returns the decoder mean W z + b.
func decode(z [2]float64) [2]float64 {
	return [2]float64{linW[0][0]*z[0] + linW[0][1]*z[1] + linB[0], linW[1][0]*z[0] + linW[1][1]*z[1] + linB[1]}
}

// marginalCov returns C = W Wᵀ + σ² I.
func marginalCov() [2][2]float64 {
	var c [2][2]float64
	for i := range 2 {
		for j := range 2 {
			c[i][j] = linW[i][0]*linW[j][0] + linW[i][1]*linW[j][1]
		}
		c[i][i] += linSigma * linSigma
	}
	return c
}

// logMarginal is the exact log p(x) = log N(x; b, C).
func logMarginal(x [2]float64) float64 {
	c := marginalCov()
	det := c[0][0]*c[1][1] - c[0][1]*c[1][0]
	d0, d1 := x[0]-linB[0], x[1]-linB[1]
	quad := (c[1][1]*d0*d0 - 2*c[0][1]*d0*d1 + c[0][0]*d1*d1) / det
	return -0.5*quad - 0.5*math.Log(det) - math.Log(2*math.Pi)
}

// elboTerms holds the parts of a single-sample ELBO, and the same for some
// plausible mistakes in sampling z.
type elboTerms struct {
	logLik, logPrior, logQ float64
}

func (t elboTerms) elbo() float64 { return t.logLik + t.logPrior - t.logQ }

// terms evaluates the three log-densities at z.
func terms(x, z, mean, logStd [2]float64) elboTerms {
	logSigma := [2]float64{math.Log(linSigma), math.Log(linSigma)}
	return elboTerms{
		logLik:   logNormal2(x, decode(z), logSigma),
		logPrior: logNormal2(z, [2]float64{}, [2]float64{}),
		logQ:     logNormal2(z, mean, logStd),
	}
}

// elboSample returns the terms of the single-sample ELBO at z = μ + σ·ε.
func (e encoder) elboSample(x, eps [2]float64) elboTerms {
	mean, logStd := e.encode(x)
	var z [2]float64
	for k := range 2 {
		z[k] = mean[k] + math.Exp(logStd[k])*eps[k]
	}
	return terms(x, z, mean, logStd)
}

// expectedELBO is E_q[log p(x, z) − log q(z|x)] in closed form.
func (e encoder) expectedELBO(x [2]float64) float64 {
	mean, logStd := e.encode(x)
	dec := decode(mean)
	sq := (x[0]-dec[0])*(x[0]-dec[0]) + (x[1]-dec[1])*(x[1]-dec[1])
	traceWSW := 0.0
	for k := range 2 {
		v := math.Exp(2 * logStd[k])
		traceWSW += v * (linW[0][k]*linW[0][k] + linW[1][k]*linW[1][k])
	}
	logLik := -math.Log(2*math.Pi) - 2*math.Log(linSigma) - (sq+traceWSW)/(2*linSigma*linSigma)
	logPrior := -math.Log(2 * math.Pi)
	logQ := -math.Log(2*math.Pi) - 1
	for k := range 2 {
		logPrior -= 0.5 * (mean[k]*mean[k] + math.Exp(2*logStd[k]))
		logQ -= logStd[k]
	}
	return logLik + logPrior - logQ
}

// linearBijector is z = A (x − b), a flowlib.Bijector with the constant
// log-det log|det A|.
type linearBijector struct {
	a [2][2]float64
	b [2]float64
}

func (l linearBijector) logDetA() float64 {
	return math.Log(math.Abs(l.a[0][0]*l.a[1][1] - l.a[0][1]*l.a[1][0]))
}

func (l linearBijector) Forward(_ *model.Scope, x *Node) (z, logDet *Node) {
	aT := [2][2]float64{{l.a[0][0], l.a[1][0]}, {l.a[0][1], l.a[1][1]}}
	z = MatMul(Sub(x, constRow(x, l.b[:]...)), constMatrix(x, aT))
	return z, AddScalar(ReduceSum(ZerosLike(x), 1), l.logDetA())
}

func (l linearBijector) Inverse(_ *model.Scope, z *Node) (x, logDet *Node) {
	det := l.a[0][0]*l.a[1][1] - l.a[0][1]*l.a[1][0]
	inv := [2][2]float64{{l.a[1][1] / det, -l.a[0][1] / det}, {-l.a[1][0] / det, l.a[0][0] / det}}
	invT := [2][2]float64{{inv[0][0], inv[1][0]}, {inv[0][1], inv[1][1]}}
	x = Add(MatMul(z, constMatrix(z, invT)), constRow(z, l.b[:]...))
	return x, AddScalar(ReduceSum(ZerosLike(z), 1), -l.logDetA())
}

// apply returns A (x − b).
func (l linearBijector) apply(x [2]float64) [2]float64 {
	d0, d1 := x[0]-l.b[0], x[1]-l.b[1]
	return [2]float64{l.a[0][0]*d0 + l.a[0][1]*d1, l.a[1][0]*d0 + l.a[1][1]*d1}
}

// logDensity is the exact log-density of the flow with this bijector and a
// standard normal base.
func (l linearBijector) logDensity(x [2]float64) float64 {
	return logNormal2(l.apply(x), [2]float64{}, [2]float64{}) + l.logDetA()
}

// linearFlow returns a flow with a standard normal base and this bijector.
func (l linearBijector) flow() *flowlib.Flow {
	return &flowlib.Flow{Base: flowlib.NewStandardNormal(2), Bijector: l}
}

// vaeMarginalFlow is the flow whose density is the linear VAE's marginal
// N(b, C): z = L⁻¹ (x − b) with C = L Lᵀ (Cholesky).
func vaeMarginalFlow() linearBijector {
	c := marginalCov()
	l11 := math.Sqrt(c[0][0])
	l21 := c[1][0] / l11
	l22 := math.Sqrt(c[1][1] - l21*l21)
	return linearBijector{a: [2][2]float64{{1 / l11, 0}, {-l21 / (l11 * l22), 1 / l22}}, b: linB}
}
