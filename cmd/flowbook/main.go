// Command flowbook trains, evaluates and samples normalizing flows from the
// command line, on top of the flowlib library.
//
//	flowbook train  --data moons --model realnvp --checkpoint /tmp/fb-moons
//	flowbook eval   --checkpoint /tmp/fb-moons --data /tmp/fb-moons/test.csv
//	flowbook sample --checkpoint /tmp/fb-moons --n 1000 --out samples.csv
//
//	flowbook train  --model glow --data mnist:.cache/mnist --max-time 30m --checkpoint /tmp/fb-glow
//	flowbook eval   --checkpoint /tmp/fb-glow
//	flowbook sample --checkpoint /tmp/fb-glow --n 64 --temperature 0.7 --out samples.png
//
// A checkpoint directory holds everything needed to use a model again: the
// weights, and the model's description (its architecture) stored as
// parameters of the model store, so eval and sample rebuild the same model
// without being told its flags again.
//
// Errors are reported as one line on stderr starting with "flowbook: ", and the
// exit status is 1 for bad input or a failed run, 2 for a malformed command
// line. Run "flowbook help" for the usage text.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/flowbook/flowbook/flowlib/backend"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // bad input, or a failure while running
	exitUsage = 2 // a malformed command line: unknown flag, missing flag, stray argument
)

// command is one subcommand: its name, a one-line summary for the main usage
// text, and the function that runs it.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order the usage text shows them. It is
// a function rather than a variable because the subcommands' help refers back
// to the program's usage, which would make an initialisation cycle.
func commands() []command {
	return []command{
		{"train", "fit a flow to a toy dataset, a CSV file or MNIST images, saving checkpoints", cmdTrain},
		{"eval", "mean log-likelihood (and bits/dim) of data under a trained flow", cmdEval},
		{"sample", "draw samples from a trained flow into a CSV file, or a PNG grid of images", cmdSample},
		{"quality", "how much a trained image flow's samples look like digits, at several temperatures", cmdQuality},
		{"export", "write a trained model without its optimizer state, for shipping (models/)", cmdExport},
		{"classifier", "train the digit classifier that quality uses (shipped in models/digit-classifier)", cmdClassifier},
		{"backend", "open the compute backend flowlib chooses here and say which one it is, and why", cmdBackend},
	}
}

const mainUsage = `flowbook trains, evaluates and samples normalizing flows.

Usage:
  flowbook <command> [flags]

Commands:
%s  help       show this text, or a command's flags: flowbook help train

Examples:
  flowbook train --data moons --steps 3000 --checkpoint /tmp/fb-moons
  flowbook eval --checkpoint /tmp/fb-moons --data /tmp/fb-moons/test.csv
  flowbook sample --checkpoint /tmp/fb-moons --n 1000 --out samples.csv
  flowbook train --model glow --data mnist:.cache/mnist --max-time 30m --checkpoint /tmp/fb-glow
  flowbook eval --checkpoint /tmp/fb-glow
  flowbook sample --checkpoint /tmp/fb-glow --n 64 --temperature 0.7 --out samples.png
  flowbook quality --checkpoint /tmp/fb-glow --temperatures 0.5,0.7,0.85,1.0

Toy datasets: %s.
Images: mnist:DIR or fashion-mnist:DIR, the MNIST-format files in DIR
(scripts/fetch-mnist DIR downloads them).
CSV files: one point per line, values separated by commas (or by tabs or
spaces when line 1 has no comma); a first line with no number in it is a
header and is skipped; values must be finite and within ±1e6.
Models: %s (realnvp for vectors or images, glow for images).
The compute backend is XLA on CPU when its plugin is installed (scripts/lab and
scripts/test install it), pure Go otherwise; FLOWBOOK_BACKEND (or GOMLX_BACKEND)
forces one: "go", "xla:cpu", "xla:cuda" or "xla:/path/to/plugin.so".
Here: %s.

Run 'flowbook <command> --help' for the flags of a command.
`

// printMainUsage writes the program's usage text to w.
func printMainUsage(w io.Writer) {
	var list strings.Builder
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(&list, "  %-*s %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, list.String(), strings.Join(toyNames(), ", "), strings.Join(modelNames, ", "), backend.Choose())
}

// run executes the command line args (without the program name) and returns
// the exit status. It never panics: a panic anywhere below, such as GoMLX's
// panics while building a graph, becomes an error message like any other.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			status = report(stderr, panicToError(r))
		}
	}()
	if len(args) == 0 {
		return report(stderr, usagef("no command given; use one of %s (run 'flowbook help' for usage)", commandList()))
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if name == "help" && len(args) > 1 {
			// "flowbook help train" is "flowbook train --help".
			if c := lookupCommand(args[1]); c != nil {
				return report(stderr, c.run([]string{"--help"}, stdout, stderr))
			}
			return report(stderr, usagef("unknown command %q; the commands are %s", args[1], commandList()))
		}
		printMainUsage(stdout)
		return exitOK
	}
	c := lookupCommand(name)
	if c == nil {
		return report(stderr, usagef("unknown command %q; the commands are %s (run 'flowbook help' for usage)", name, commandList()))
	}
	return report(stderr, c.run(args[1:], stdout, stderr))
}

// lookupCommand returns the subcommand called name, or nil.
func lookupCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return &c
		}
	}
	return nil
}

// commandList is "train, eval, sample", for error messages.
func commandList() string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// errHelp is returned by a command that printed its usage because it was
// asked to (--help): not a failure, so run exits with status 0.
var errHelp = errors.New("help requested")

// usageError is an error in how the command line is written (an unknown flag,
// a missing required flag); run exits with status 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// report prints err, if any, as one line "flowbook: ..." on stderr and
// returns the matching exit status.
func report(stderr io.Writer, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "flowbook: %s\n", oneLine(err.Error()))
	var u *usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitError
}

// oneLine joins a multi-line message into one line, so that every error is a
// single line on stderr, easy to read and to grep.
func oneLine(msg string) string {
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

// panicToError turns a recovered panic into an error. GoMLX reports mistakes
// in graph building by panicking; they are the user's problem to fix (a
// shape, a value), so they get a message rather than a stack trace. The stack
// is kept for developers behind FLOWBOOK_DEBUG=1.
func panicToError(r any) error {
	if os.Getenv("FLOWBOOK_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "panic: %v\n%s", r, debug.Stack())
	}
	if err, ok := r.(error); ok {
		return fmt.Errorf("internal error: %w (set FLOWBOOK_DEBUG=1 for the stack trace)", err)
	}
	return fmt.Errorf("internal error: %v (set FLOWBOOK_DEBUG=1 for the stack trace)", r)
}
