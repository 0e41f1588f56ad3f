// Command flowbench is flowlib's side of flowbook's benchmark: a worker that
// builds one benchmark case on one GoMLX backend and answers the driver's
// requests, so that the driver (bench/run.py, started by scripts/bench) can
// interleave it with the same case in PyTorch and JAX (bench/reference/).
//
//	flowbench [--mnist DIR] [--seed N] [--conv-form auto|matmul|builtin] CASE
//
// The backend is the one flowlib/backend chooses (GOMLX_BACKEND, which the
// driver sets, or FLOWBOOK_BACKEND; XLA CPU when its plugin is installed,
// pure Go otherwise). --conv-form forces Conv2D's form. The worker
// speaks JSON lines on stdin and stdout; bench/README.md describes the
// protocol and the cases. Run "flowbench --list" for the case names.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/flowbook/flowbook/flowlib"
	"github.com/flowbook/flowbook/flowlib/backend"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("flowbench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	mnistDir := flags.String("mnist", ".cache/mnist", "directory with the MNIST IDX files (scripts/fetch-mnist fills .cache/mnist)")
	seed := flags.Uint64("seed", 1, "seed of the data and of the models' initialisation")
	list := flags.Bool("list", false, "list the benchmark cases and exit")
	cpuProfile := flags.String("cpuprofile", "", "write a CPU profile of the requests (after the warm-up) to this file")
	convForm := flags.String("conv-form", flowlib.ConvFormAuto, "how flowlib.Conv2D computes convolutions: auto, matmul or builtin (flowlib.ParamConvForm)")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintf(stdout, "%-20s %s\n", c.name, c.summary)
		}
		return 0
	}
	if flags.NArg() != 1 {
		fmt.Fprintf(stderr, "flowbench: give one case name (flowbench --list shows them)\n")
		return 2
	}
	spec, ok := lookupCase(flags.Arg(0))
	if !ok {
		fmt.Fprintf(stderr, "flowbench: unknown case %q; valid cases: %s\n", flags.Arg(0), caseNames())
		return 2
	}
	b, err := backend.New()
	if err != nil {
		fmt.Fprintf(stderr, "flowbench: %v\n", err)
		return 1
	}
	start := time.Now()
	env := &environment{backend: b, mnistDir: *mnistDir, seed: *seed, convForm: *convForm}
	w, err := spec.build(env)
	if err == nil {
		// Two warm-up calls: the first compiles the graph.
		err = w.call(2)
	}
	if err != nil {
		fmt.Fprintf(stderr, "flowbench: %s: %v\n", spec.name, err)
		return 1
	}
	out := json.NewEncoder(stdout)
	_ = out.Encode(map[string]any{
		"ready": true, "impl": "flowlib", "backend": backend.Config(), "description": b.Description(),
		"version": goVersion(), "threads": runtime.GOMAXPROCS(0), "case": spec.name, "unit": spec.unit,
		"items_per_call": w.itemsPerCall, "params": w.params, "setup_seconds": time.Since(start).Seconds(),
	})
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "flowbench: --cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := serve(w, stdin, out); err != nil {
		fmt.Fprintf(stderr, "flowbench: %v\n", err)
		return 1
	}
	return 0
}

// request is one line from the driver.
type request struct {
	Op    string `json:"op"`
	Calls int    `json:"calls"`
	Steps int    `json:"steps"`
}

// serve answers requests until "quit" or the end of stdin. A failed request
// is answered with an error and does not stop the worker.
func serve(w *worker, stdin io.Reader, out *json.Encoder) error {
	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		var req request
		if err := json.Unmarshal(lines.Bytes(), &req); err != nil {
			_ = out.Encode(map[string]any{"error": fmt.Sprintf("malformed request %q: %v", lines.Text(), err)})
			continue
		}
		switch req.Op {
		case "quit":
			return nil
		case "time":
			if req.Calls < 1 {
				_ = out.Encode(map[string]any{"error": "time needs calls >= 1"})
				continue
			}
			t0 := time.Now()
			if err := w.call(req.Calls); err != nil {
				_ = out.Encode(map[string]any{"error": err.Error()})
				continue
			}
			_ = out.Encode(map[string]any{"seconds": time.Since(t0).Seconds()})
		case "learn":
			if w.learn == nil {
				_ = out.Encode(map[string]any{"error": "learn is only for training cases"})
				continue
			}
			t0 := time.Now()
			res, err := w.learn(max(req.Steps, 1))
			if err != nil {
				_ = out.Encode(map[string]any{"error": err.Error()})
				continue
			}
			res.Seconds = time.Since(t0).Seconds()
			_ = out.Encode(res)
		default:
			_ = out.Encode(map[string]any{"error": fmt.Sprintf("unknown op %q (valid: time, learn, quit)", req.Op)})
		}
	}
	if err := lines.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func goVersion() string {
	v := runtime.Version()
	if simdBuild {
		v += " GOEXPERIMENT=simd"
	}
	return v
}
