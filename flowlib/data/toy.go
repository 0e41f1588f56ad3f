package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Parameters of the "8gaussians" dataset, exported because the sampler and
// TrueLogDensity must agree on them and tests and notebooks quote them.
const (
	// EightGaussiansRadius is the radius of the circle carrying the 8 centres.
	EightGaussiansRadius = 2.0
	// EightGaussiansStd is the standard deviation of each component, per coordinate.
	EightGaussiansStd = 0.25
)

// Parameters of the other datasets. They are documented on Toy; keeping them
// here, named, lets TrueLogDensity reuse exactly what the samplers use.
const (
	moonsNoise     = 0.05 // std of the Gaussian noise added to each moon point
	moonsScale     = 1.5  // zoom applied after centring, to fill the plotting box
	circlesNoise   = 0.05 // std of the Gaussian noise added to each circle point
	spiralsTurns   = 1.5  // each spiral arm winds through 1.5 turns = 3π radians
	spiralsNoise   = 0.1  // std of the Gaussian noise added to each spiral point
	pinwheelArms   = 5
	pinwheelRadial = 0.3  // std along an arm, before the twist
	pinwheelTangle = 0.1  // std across an arm
	pinwheelRate   = 0.25 // how strongly arms twist with distance
	pinwheelScale  = 2.0
	ringsStd       = 0.08 // std of the radius around each ring
)

var (
	circlesRadii = [...]float64{1, 2}
	ringsRadii   = [...]float64{0.5, 1, 1.5, 2}
)

// pointSampler draws one 2D point.
type pointSampler func(r *rand.Rand) (x, y float64)

// toys lists the datasets in the order Names reports them.
var toys = []struct {
	name   string
	sample pointSampler
}{
	{"moons", sampleMoons},
	{"circles", sampleCircles},
	{"8gaussians", sampleEightGaussians},
	{"checkerboard", sampleCheckerboard},
	{"spirals", sampleSpirals},
	{"pinwheel", samplePinwheel},
	{"rings", sampleRings},
}

// Names returns the names of the toy 2D datasets accepted by Toy, in a fixed
// order. The slice is a fresh copy that the caller may modify.
func Names() []string {
	names := make([]string, len(toys))
	for i, t := range toys {
		names[i] = t.name
	}
	return names
}

// Toy returns n points (an n×2 Samples) drawn from the named 2D dataset.
// The same name, n and seed always give the same points. It returns an error
// listing the valid names if name is unknown, and an error if n ≤ 0.
//
// Each dataset is a mixture: every point first picks a component uniformly
// at random (a moon, a circle, a Gaussian, a square, an arm, a ring), so
// component sizes vary slightly from draw to draw. The datasets are:
//
//   - "moons": two interleaving half circles of radius 1, the upper one
//     (cos t, sin t) and the lower one (1−cos t, 0.5−sin t), t uniform in
//     [0, π], plus N(0, 0.05²) noise per coordinate; the result is centred
//     by subtracting (0.5, 0.25) (the exact mean) and scaled by 1.5, giving
//     roughly [-2.3, 2.3]×[-1.2, 1.2].
//   - "circles": two concentric circles of radius 1 and 2, angle uniform,
//     plus N(0, 0.05²) noise per coordinate.
//   - "8gaussians": 8 isotropic Gaussians with standard deviation
//     EightGaussiansStd, centred at EightGaussiansRadius·(cos kπ/4, sin kπ/4)
//     for k = 0..7.
//   - "checkerboard": uniform on the 8 dark squares of a 4×4 board of unit
//     squares covering [-2, 2)², the square [i-2, i-1)×[j-2, j-1) being dark
//     when i+j is even (so the one with corner (-2, -2) is dark).
//   - "spirals": two interleaved spiral arms. Along an arm the angle θ is
//     3π·√u with u uniform in [0, 1) (√u spreads points evenly along the arm
//     instead of crowding the centre) and the point is (θ/3)·(−cos θ, sin θ);
//     the second arm is the first rotated by π. N(0, 0.1²) noise is added per
//     coordinate. The arms reach radius π.
//   - "pinwheel": the classic 5-armed pinwheel. A point on arm k starts at
//     (a, b) with a ~ N(1, 0.3²) along the arm and b ~ N(0, 0.1²) across it,
//     is rotated by 2πk/5 + 0.25·exp(a) (the exp twists the outer ends) and
//     scaled by 2.
//   - "rings": 4 concentric rings of radius 0.5, 1, 1.5 and 2; the angle is
//     uniform and the radius is N(r_k, 0.08²) truncated to positive values,
//     so TrueLogDensity can give the density exactly.
func Toy(name string, n int, seed uint64) (*Samples, error) {
	sample, err := lookupToy(name)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("data: Toy(%q): n must be > 0, got %d", name, n)
	}
	r := newRNG(seed)
	s := &Samples{Values: make([]float32, 2*n), N: n, Dim: 2}
	for i := range n {
		x, y := sample(r)
		s.Values[2*i] = float32(x)
		s.Values[2*i+1] = float32(y)
	}
	return s, nil
}

// lookupToy finds a dataset's sampler, or explains which names exist.
func lookupToy(name string) (pointSampler, error) {
	for _, t := range toys {
		if t.name == name {
			return t.sample, nil
		}
	}
	return nil, fmt.Errorf("data: unknown toy dataset %q; valid names are: %s",
		name, strings.Join(Names(), ", "))
}

func sampleMoons(r *rand.Rand) (x, y float64) {
	t := math.Pi * r.Float64()
	if r.IntN(2) == 0 {
		x, y = math.Cos(t), math.Sin(t)
	} else {
		x, y = 1-math.Cos(t), 0.5-math.Sin(t)
	}
	x += moonsNoise * r.NormFloat64()
	y += moonsNoise * r.NormFloat64()
	// Each moon's mean is (0, 2/π) and (1, 0.5−2/π), so the mixture's mean
	// is exactly (0.5, 0.25).
	return moonsScale * (x - 0.5), moonsScale * (y - 0.25)
}

func sampleCircles(r *rand.Rand) (x, y float64) {
	radius := circlesRadii[r.IntN(len(circlesRadii))]
	t := 2 * math.Pi * r.Float64()
	return radius*math.Cos(t) + circlesNoise*r.NormFloat64(),
		radius*math.Sin(t) + circlesNoise*r.NormFloat64()
}

// eightGaussiansCentre returns the centre of component k.
func eightGaussiansCentre(k int) (cx, cy float64) {
	angle := float64(k) * math.Pi / 4
	return EightGaussiansRadius * math.Cos(angle), EightGaussiansRadius * math.Sin(angle)
}

func sampleEightGaussians(r *rand.Rand) (x, y float64) {
	cx, cy := eightGaussiansCentre(r.IntN(8))
	return cx + EightGaussiansStd*r.NormFloat64(), cy + EightGaussiansStd*r.NormFloat64()
}

func sampleCheckerboard(r *rand.Rand) (x, y float64) {
	// Pick one of the 16 cells of row j, then the column i with i+j even:
	// in each row the dark squares are every other column.
	j := r.IntN(4)
	i := 2*r.IntN(2) + j%2
	return uniformInCell(r, float64(i-2)), uniformInCell(r, float64(j-2))
}

// uniformInCell returns a uniform value in [lo, lo+1) that stays in that
// interval after conversion to float32. Without the clamp, a value just
// below lo+1 can round up to lo+1, onto a light square, where the true
// density is zero and the log-likelihood of the sample would be -Inf.
func uniformInCell(r *rand.Rand, lo float64) float64 {
	v := float32(lo + r.Float64())
	if hi := float32(lo + 1); v >= hi {
		v = math.Nextafter32(hi, float32(lo))
	}
	return float64(v)
}

func sampleSpirals(r *rand.Rand) (x, y float64) {
	theta := 2 * math.Pi * spiralsTurns * math.Sqrt(r.Float64())
	radius := theta / 3
	x, y = -radius*math.Cos(theta), radius*math.Sin(theta)
	if r.IntN(2) == 1 {
		x, y = -x, -y
	}
	return x + spiralsNoise*r.NormFloat64(), y + spiralsNoise*r.NormFloat64()
}

func samplePinwheel(r *rand.Rand) (x, y float64) {
	arm := r.IntN(pinwheelArms)
	a := 1 + pinwheelRadial*r.NormFloat64()
	b := pinwheelTangle * r.NormFloat64()
	angle := 2*math.Pi*float64(arm)/pinwheelArms + pinwheelRate*math.Exp(a)
	sin, cos := math.Sincos(angle)
	return pinwheelScale * (a*cos - b*sin), pinwheelScale * (a*sin + b*cos)
}

func sampleRings(r *rand.Rand) (x, y float64) {
	centre := ringsRadii[r.IntN(len(ringsRadii))]
	radius := centre + ringsStd*r.NormFloat64()
	for radius <= 0 { // truncation; with these radii it (almost) never loops
		radius = centre + ringsStd*r.NormFloat64()
	}
	t := 2 * math.Pi * r.Float64()
	return radius * math.Cos(t), radius * math.Sin(t)
}
