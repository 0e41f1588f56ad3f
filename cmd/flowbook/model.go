package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ui/commandline"

	"github.com/flowbook/flowbook/flowlib"
)

// modelNames are the models flowbook can build (flowlib.ModelKinds): realnvp
// is RealNVP on vectors (flowlib.RealNVP) for vector data, and the
// multi-scale RealNVP (flowlib.RealNVPImage) for images; glow (flowlib.Glow)
// is for images only; maf, iaf and nsf (flowlib.MAF, IAF, NSF) are for
// vectors only; resflow (flowlib.ResidualFlow), ffjord (flowlib.FFJORD)
// and flowmatch (flowlib.FlowMatching) are the residual and continuous
// flows, for vectors only.
var modelNames = kindNames(flowlib.ModelKinds)

// baseNames are the base distributions of vector models (flowlib.BaseKinds):
// N(0, I), a learnable diagonal Gaussian, and a learnable mixture of
// Gaussians. Image models always have a standard normal base.
var baseNames = kindNames(flowlib.BaseKinds)

func kindNames[K ~string](kinds []K) []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return names
}

// paramData (string) is the training data, as --data names it (images:
// SCHEME:/abs/dir), stored next to the model's description (flowlib's
// SetParams) in the root scope of the store, so that eval and sample find
// the test images by themselves.
const paramData = "flowbook_data"

// paramFlags are train's flags that set a parameter of the model's
// description: the flag, and the parameter it sets for a vector RealNVP,
// for image models, for the vector flows maf, iaf and nsf, for resflow and
// for the continuous flows ffjord and flowmatch ("" where it does not
// apply; checkFlagsForData and checkModelFlags reject those).
var paramFlags = []struct{ flag, vectorKey, imageKey, flowKey, resKey, cnfKey string }{
	{"model", flowlib.ParamModel, flowlib.ParamModel, flowlib.ParamModel, flowlib.ParamModel, flowlib.ParamModel},
	{"couplings", flowlib.ParamRealNVPCouplings, "", flowlib.ParamVectorFlowLayers, flowlib.ParamResFlowBlocks, ""},
	{"hidden", flowlib.ParamRealNVPHidden, flowlib.ParamImageFlowHidden, flowlib.ParamVectorFlowHidden, flowlib.ParamResFlowHidden, flowlib.ParamCNFHidden},
	{"mask", flowlib.ParamRealNVPMask, "", "", "", ""},
	{"actnorm", flowlib.ParamRealNVPActNorm, flowlib.ParamImageFlowActNorm, flowlib.ParamVectorFlowActNorm, flowlib.ParamResFlowActNorm, ""},
	{"activation", flowlib.ParamRealNVPActivation, "", flowlib.ParamVectorFlowActivation, flowlib.ParamResFlowActivation, flowlib.ParamCNFActivation},
	{"base", flowlib.ParamBase, "", flowlib.ParamBase, flowlib.ParamBase, flowlib.ParamBase},
	{"components", flowlib.ParamComponents, "", flowlib.ParamComponents, flowlib.ParamComponents, flowlib.ParamComponents},
	{"levels", "", flowlib.ParamImageFlowLevels, "", "", ""},
	{"steps-per-level", "", flowlib.ParamImageFlowSteps, "", "", ""},
	{"learned-prior", "", flowlib.ParamImageFlowLearnedPrior, "", "", ""},
	{"invconv", "", flowlib.ParamImageFlowInvConv, "", "", ""},
	{"dequantization", "", flowlib.ParamImageFlowDequantization, "", "", ""},
	{"logit-alpha", "", flowlib.ParamImageFlowLogitAlpha, "", "", ""},
}

// isVectorFlow reports whether the model is one of flowlib's MAF, IAF and NSF.
func isVectorFlow(kind flowlib.ModelKind) bool {
	return kind == flowlib.ModelMAF || kind == flowlib.ModelIAF || kind == flowlib.ModelNSF
}

// isContinuous reports whether the model is one of flowlib's continuous
// flows, ffjord and flowmatch.
func isContinuous(kind flowlib.ModelKind) bool {
	return kind == flowlib.ModelFFJORD || kind == flowlib.ModelFlowMatch
}

// isVectorOnly reports whether the model is for vector data only.
func isVectorOnly(kind flowlib.ModelKind) bool {
	return isVectorFlow(kind) || isContinuous(kind) || kind == flowlib.ModelResFlow
}

// requested is the model a train command line asks for: its description,
// and the parameters the command line gave (by a flag or -set), with how
// it gave each, for messages and for the comparison with a checkpoint.
type requested struct {
	spec   *flowlib.Spec
	given  map[string]any    // parameter key → value as given
	origin map[string]string // parameter key → "--levels" or "-set image_flow_levels"
}

// buildSpec makes the description of the model that the flags given (set)
// and the -set settings ask for, on data of the given shape ([dim] for
// vectors): the builder's defaults, then --seed (image models), the flags,
// then the settings. Errors name the flag or setting to fix.
func buildSpec(fs *flag.FlagSet, set map[string]bool, settings string, seed uint64, shape []int) (*requested, error) {
	image := len(shape) == 3
	kind := flowlib.ModelKind(fs.Lookup("model").Value.String())
	// The model is always given, for messages: its default is the flag's.
	r := &requested{given: map[string]any{}, origin: map[string]string{flowlib.ParamModel: "--model"}}
	spec, err := flowlib.NewSpec(kind, shape...)
	if err != nil {
		return nil, r.flagError(err)
	}
	store := model.NewStore()
	root := store.RootScope()
	if err := spec.SetParams(root); err != nil {
		return nil, err
	}
	if image {
		root.SetParam(flowlib.ParamImageFlowSeed, int(seed%(1<<31)))
	} else if _, found := root.GetParam(flowlib.ParamComponents); !found {
		root.SetParam(flowlib.ParamComponents, 0) // For -set to know its type; unused without a mixture.
	}
	if set["model"] {
		r.given[flowlib.ParamModel] = string(kind)
	}
	for _, pf := range paramFlags {
		key := pf.vectorKey
		if image {
			key = pf.imageKey
		} else if isVectorFlow(kind) {
			key = pf.flowKey
		} else if kind == flowlib.ModelResFlow {
			key = pf.resKey
		} else if isContinuous(kind) {
			key = pf.cnfKey
		}
		if !set[pf.flag] || key == "" || key == flowlib.ParamModel {
			continue
		}
		value := fs.Lookup(pf.flag).Value.(flag.Getter).Get()
		if pf.flag == "activation" {
			value = strings.ToLower(value.(string)) // "ReLU" and "relu" are one activation: store one name.
		}
		if pf.flag == "steps-per-level" && value == 0 {
			continue // 0 asks for the model's default.
		}
		root.SetParam(key, value)
		r.given[key], r.origin[key] = value, "--"+pf.flag
	}
	if err := r.applySettings(store, settings, spec); err != nil {
		return nil, err
	}
	if base, _ := root.GetParam(flowlib.ParamBase); base == string(flowlib.BaseMixture) {
		if n, _ := root.GetParam(flowlib.ParamComponents); n == 0 && r.origin[flowlib.ParamComponents] == "" {
			root.SetParam(flowlib.ParamComponents, 8) // --components' default.
		}
	}
	if r.spec, err = flowlib.ReadSpec(root); err != nil {
		return nil, r.flagError(err)
	}
	return r, nil
}

// applySettings applies -set "key=value;key=value" to the parameters in
// store, which hold every parameter of spec's model with its type. GoMLX's
// commandline.ParseSettings parses the values by the types of the
// parameters there; the keys are checked first, for errors that list the
// valid ones.
func (r *requested) applySettings(store *model.Store, settings string, spec *flowlib.Spec) error {
	if settings == "" {
		return nil
	}
	var valid []string
	for path := range store.IterParams() {
		scope, key := model.SplitPath(path)
		if (scope == model.RootScopePath || scope == "") &&
			key != flowlib.ParamModel && key != flowlib.ParamDim && key != flowlib.ParamShape {
			valid = append(valid, key)
		}
	}
	slices.Sort(valid)
	for setting := range strings.SplitSeq(settings, ";") {
		key, _, ok := strings.Cut(setting, "=")
		key = strings.TrimSpace(key)
		switch {
		case strings.TrimSpace(setting) == "":
			continue
		case !ok:
			return fmt.Errorf("-set %q: want key=value settings separated by \";\", like image_flow_steps=8;image_flow_hidden=128,128", setting)
		case key == flowlib.ParamModel || key == flowlib.ParamDim || key == flowlib.ParamShape:
			return fmt.Errorf("-set %s: give the model with --model; the data decide the dimension and shape", key)
		case !slices.Contains(valid, key):
			return fmt.Errorf("-set %s: unknown parameter for a %s model of %s; valid parameters: %s",
				key, spec.Kind(), describeData(spec), strings.Join(valid, ", "))
		case r.origin[key] != "":
			return fmt.Errorf("%s and -set %s both set the parameter %s: give one of them", r.origin[key], key, key)
		}
	}
	modified, err := commandline.ParseSettings(store, settings)
	if err != nil {
		return fmt.Errorf("-set: %v", err)
	}
	for _, key := range modified {
		r.given[key], _ = store.GetParam(key)
		r.origin[key] = "-set " + key
	}
	return nil
}

// flagError rewrites a flowlib.ParamError about a parameter that the command
// line gave in the command line's terms: "--levels 0: ..." rather than
// "parameter image_flow_levels is 0: ...".
func (r *requested) flagError(err error) error {
	var perr *flowlib.ParamError
	if !errors.As(err, &perr) || r.origin[perr.Key] == "" || perr.Missing {
		return err
	}
	value := formatValue(perr.Value)
	if origin := r.origin[perr.Key]; strings.HasPrefix(origin, "-set ") {
		return fmt.Errorf("%s=%s: %s", origin, value, perr.Reason)
	}
	return fmt.Errorf("%s %s: %s", r.origin[perr.Key], value, perr.Reason)
}

// formatValue writes a parameter value the way the command line takes it:
// 64,64 for sizes.
func formatValue(v any) string {
	switch v := v.(type) {
	case []int:
		return joinInts(v)
	case string:
		if v == "" {
			return `""`
		}
	}
	return fmt.Sprint(v)
}

// trained is a model restored from a checkpoint directory.
type trained struct {
	*flowlib.Model
	dir   string
	store *model.Store
	spec  *flowlib.Spec
	flow  *flowlib.Flow
	step  int64  // the global training step the checkpoint was saved at
	data  string // what the model was trained on (paramData), or ""
}

// openCheckpoint restores the latest checkpoint in dir with flowlib.Load. It
// returns found=false (and no error) when dir does not exist or holds no
// checkpoint, and an error when the checkpoint cannot be read or does not
// describe a model.
func openCheckpoint(dir string) (t *trained, found bool, err error) {
	m, err := flowlib.Load(dir)
	if errors.Is(err, flowlib.ErrNoCheckpoint) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, errors.New(strings.TrimPrefix(err.Error(), "flowlib: "))
	}
	t = &trained{Model: m, dir: dir, store: m.Store, spec: m.Spec, flow: m.Flow, step: m.Step}
	if data, ok := m.Store.RootScope().GetParam(paramData); ok {
		t.data, _ = data.(string) // Optional: it only labels what the model was trained on.
	}
	return t, true, nil
}

// checkComplete is flowlib's CheckComplete, in the command line's words.
func (t *trained) checkComplete() error {
	if err := t.CheckComplete(); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "flowlib: "))
	}
	return nil
}

// isFinite reports whether x is neither NaN nor ±Inf.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// plural writes a count and a noun, like "1 level" or "2 levels".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// openCheckpointForUse is openCheckpoint for eval and sample, which need a
// checkpoint: a missing one is an error that says how to make one.
func openCheckpointForUse(cmd, dir string) (*trained, error) {
	t, found, err := openCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if !found {
		return nil, fmt.Errorf("%s: no checkpoint in %q: %s", cmd, dir, whyNoCheckpoint(dir))
	}
	return t, nil
}

// whyNoCheckpoint says what the directory dir, which openCheckpoint found no
// checkpoint in, holds instead. A test.csv alone is what a vector training
// run writes before its first checkpoint: that run did not finish.
func whyNoCheckpoint(dir string) string {
	trainFirst := "train one first: flowbook train --data moons --checkpoint " + dir
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return "the directory does not exist; " + trainFirst
	case err != nil:
		return err.Error()
	case len(entries) == 0:
		return "the directory is empty; " + trainFirst
	}
	for _, e := range entries {
		if e.Name() == "test.csv" {
			return "it holds test.csv but no model, so the training run that wrote it did not finish " +
				"(it failed, or was stopped before its first checkpoint); run that train command again"
		}
	}
	return fmt.Sprintf("it holds %s but no checkpoint files (checkpoint-*); give the directory train wrote, or %s",
		plural(len(entries), "file"), trainFirst)
}

// trainableParams counts the scalars in the store's trainable variables: the
// model's weights, without the optimizer's state.
func trainableParams(store *model.Store) int {
	n := 0
	for v := range store.IterVariables() {
		if v.Trainable {
			n += v.Shape().Size()
		}
	}
	return n
}

// runError shortens the error of a failed graph execution. GoMLX wraps the
// panic that stopped graph building in the names of its internal functions;
// the part after "panicked: " is the actual cause.
func runError(what string, err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "panicked: "); i >= 0 {
		msg = msg[i+len("panicked: "):]
	}
	return fmt.Errorf("%s failed: %s; if the checkpoint was edited or damaged, retrain it", what, msg)
}
