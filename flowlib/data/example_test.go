package data_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowbook/flowbook/flowlib/data"
)

func ExampleToy() {
	s, err := data.Toy("8gaussians", 1000, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("shape:", s.N, "×", s.Dim)

	// The true density is known, so we can say how good a model could be.
	logp, _ := data.TrueLogDensity("8gaussians")
	fmt.Printf("log p at a centre: %.3f\n", logp(data.EightGaussiansRadius, 0))
	fmt.Printf("log p at the origin: %.1f\n", logp(0, 0))
	best, _ := data.MeanTrueLogLikelihood("8gaussians", s)
	fmt.Printf("best achievable mean log-likelihood ≈ %.2f\n", best)

	_, err = data.Toy("8gausians", 1000, 1)
	fmt.Println(err)
	// Output:
	// shape: 1000 × 2
	// log p at a centre: -1.145
	// log p at the origin: -31.1
	// best achievable mean log-likelihood ≈ -2.18
	// data: unknown toy dataset "8gausians"; valid names are: moons, circles, 8gaussians, checkerboard, spirals, pinwheel, rings
}

func ExampleReadCSV() {
	const input = `x, y
0.25, 1.5

-2, 0.75
`
	s, err := data.ReadCSV(strings.NewReader(input), "points.csv", 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.N, "examples of dimension", s.Dim)
	fmt.Println(s.Float64())

	// Bad values are reported with their line and column.
	_, err = data.ReadCSV(strings.NewReader("x,y\n1,2\n3,NaN\n"), "points.csv", 2)
	fmt.Println(err)
	// Output:
	// 2 examples of dimension 2
	// [[0.25 1.5] [-2 0.75]]
	// data: points.csv: NaN/Inf at line 3 column 2; flows need finite data: remove or impute these rows
}

func ExampleLoadCSV() {
	dir, err := os.MkdirTemp("", "flowbook-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "moons.csv")

	moons, _ := data.Toy("moons", 500, 1)
	if err := data.SaveCSV(path, moons); err != nil {
		log.Fatal(err)
	}
	s, err := data.LoadCSV(path, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("loaded", s.N, "examples of dimension", s.Dim)

	// Asking for the wrong dimension is caught at load time.
	_, err = data.LoadCSV(path, 3)
	fmt.Println(strings.TrimPrefix(err.Error(), "data: "+path+": "))
	// Output:
	// loaded 500 examples of dimension 2
	// data has 2 columns but the model expects 3; load the matching file or build the model with dimension 2
}

func ExampleSamples_Split() {
	s, _ := data.Toy("spirals", 1000, 1)
	train, test := s.Split(0.2, 42)
	fmt.Println("train:", train.N, "test:", test.N)
	// Output:
	// train: 800 test: 200
}
