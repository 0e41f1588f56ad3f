package flowcheck_test

import (
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
	"github.com/flowbook/flowbook/flowlib/flowcheck"
)

// TestRandomizedSummaries checks that Randomized passes right bijectors, that
// each buggy one fails in the number that measures its bug, and that it
// randomizes (a zero-initialised coupling is the identity, whose log-det
// error would be 0 even with the sign bug).
func TestRandomizedSummaries(t *testing.T) {
	be := backend.MustShared()
	x := flowcheck.RandomInput(dtypes.Float64, 3, 1, 8, 2)
	coupling := func() flowlib.AffineCoupling {
		return *flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(8).Done())
	}
	for _, tc := range []struct {
		name                            string
		b                               flowlib.Bijector
		badRoundTrip, badSum, badLogDet bool
	}{
		{"affine coupling", flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(8).Done()), false, false, false},
		{"elementwise affine", flowlib.NewElementwiseAffine(2), false, false, false},
		{"log-det of the wrong sign", &wrongLogDet{AffineCoupling: coupling(), bug: "sign"}, false, true, true},
		{"inverse multiplies by exp(s)", &wrongLogDet{AffineCoupling: coupling(), bug: "inverse_uses_exp_s"}, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := flowcheck.Randomized(be, tc.b, x, 0.3, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what  string
				value float64
				bad   bool
			}{{"round trip", s.RoundTrip, tc.badRoundTrip}, {"log-det sum", s.LogDetSum, tc.badSum}, {"log-det error", s.LogDetError, tc.badLogDet}} {
				if got := c.value > 1e-6; got != c.bad {
					t.Errorf("%s = %.2g, want it %s", c.what, c.value, map[bool]string{true: "large", false: "below 1e-6"}[c.bad])
				}
			}
			if str := s.String(); !strings.Contains(str, "round trip") || !strings.Contains(str, "brute force") {
				t.Errorf("String() = %q", str)
			}
		})
	}
}

func TestSummarizeUsesTheStoreAsItIs(t *testing.T) {
	be := backend.MustShared()
	x := flowcheck.RandomInput(dtypes.Float64, 3, 1, 8, 2)
	b := &wrongLogDet{AffineCoupling: *flowlib.NewAffineCoupling(flowlib.HalfMask(2), flowlib.MLP(8).Done()), bug: "sign"}
	s, err := flowcheck.Summarize(be, model.NewStore(), b, x)
	if err != nil {
		t.Fatal(err)
	}
	if s.LogDetError != 0 || s.RoundTrip != 0 {
		t.Errorf("an untrained coupling is the identity: want zero errors, got %v", s)
	}
}
