package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// newFlagSet returns an empty flag set for a subcommand. Its output is
// discarded: parseFlags reports errors itself, as one line, and prints the
// usage only when asked for it.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs. On --help it prints usage (a text with
// examples, then the flags) to stdout and returns errHelp; on a malformed
// command line it returns a usageError that names the problem. Flags and
// positional arguments cannot be mixed, since no subcommand takes any.
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fmt.Fprintln(stdout, "\nFlags (written with one dash or two):")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		return usagef("%s: %v; run 'flowbook %s --help' for the flags", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q: every input is given by a flag, e.g. --data %s; run 'flowbook %s --help'",
			fs.Name(), fs.Arg(0), fs.Arg(0), fs.Name())
	}
	return nil
}

// flagsSet returns the names of the flags given on the command line, as
// opposed to those left at their defaults.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// requireFlags returns a usageError naming the first required flag that is
// empty. Each pair is the flag's name and its value.
func requireFlags(fs *flag.FlagSet, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return usagef("%s: the flag --%s is required; run 'flowbook %s --help' for the flags and examples",
				fs.Name(), pairs[i], fs.Name())
		}
	}
	return nil
}

// checkPositive returns an error unless v is positive and finite; name is
// the flag, e.g. "--lr". (The negated test also rejects NaN.)
func checkPositive[T int | float64](name string, v T) error {
	if !(v > 0) || math.IsInf(float64(v), 0) {
		return fmt.Errorf("%s must be positive, got %v", name, v)
	}
	return nil
}

// intList is a flag holding comma-separated positive integers, like
// --hidden 64,64.
type intList []int

// String implements flag.Value.
func (l *intList) String() string {
	if l == nil {
		return ""
	}
	return joinInts(*l)
}

// Get implements flag.Getter: the sizes, as a []int.
func (l *intList) Get() any { return []int(*l) }

// Set implements flag.Value.
func (l *intList) Set(s string) error {
	var out []int
	for _, field := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || v <= 0 {
			return fmt.Errorf("want positive integers separated by commas, like 64,64")
		}
		out = append(out, v)
	}
	*l = out
	return nil
}

// joinInts formats sizes as "64,64", the way --hidden takes them.
func joinInts(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, v := range sizes {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}
