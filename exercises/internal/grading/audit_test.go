package grading

import (
	"strings"
	"testing"
)

func TestAudit(t *testing.T) {
	chapter := Chapter{Dir: "99-test", Tasks: []Task{
		{Test: "TestLU", Answer: []string{"LogAbsDetLU"}, Forbidden: []string{flowcheckPkg + ".LogAbsDet"}},
		{Test: "TestInverse", Answer: []string{"TriangularInverse"}, Forbidden: []string{graphPkg + ".Inverse"}},
		{Test: "TestCoupling", Answer: []string{"Coupling"}, Forbidden: []string{flowlibPkg + ".AffineCoupling"}},
		{Test: "TestOther"},
	}}
	cases := []struct {
		name     string
		src      string
		severity Severity // "" for no finding
		against  string   // a test the finding must be against ("" for the whole chapter)
		message  string
	}{
		{"clean", `package p
import "math"
// LogAbsDetLU mentions flowcheck.LogAbsDet in a comment only.
func LogAbsDetLU(a [][]float64) float64 { return math.Log(math.Abs(a[0][0])) }`, "", "", ""},
		{"imports os", `package p
import "os"
func F() { os.Getenv("x") }`, Reject, "", `imports "os"`},
		{"imports syscall", `package p
import "syscall"
func F() { syscall.Exit(0) }`, Reject, "", `imports "syscall"`},
		{"imports unsafe", `package p
import _ "unsafe"`, Reject, "", `imports "unsafe"`},
		{"imports the solutions", `package p
import sol "github.com/flowbook/flowbook/solutions/02-jacobians"
func LogAbsDetLU(a [][]float64) float64 { return sol.LogAbsDetLU(a) }`, Reject, "", "reference solutions"},
		{"imports the graders", `package p
import "github.com/flowbook/flowbook/exercises/internal/grading"
var _ = grading.Chapters`, Reject, "", "graders' own packages"},
		{"linkname", `package p
import _ "strings"
//go:linkname f runtime.f
func f()`, Reject, "", "go:linkname"},
		{"log.Fatal", `package p
import "log"
func F() { log.Fatal("x") }`, Reject, "", "log.Fatal ends the process"},
		{"goroutine", `package p
func F() { go func() {}() }`, Flag, "", "starts a goroutine"},
		{"reflect", `package p
import "reflect"
var _ = reflect.TypeOf(0)`, Flag, "", `imports "reflect"`},
		{"a string naming the solutions", `package p
var path = "../../solutions/02-jacobians/determinants.go"`, Flag, "", `"solutions"`},
		{"the library's function, directly", `package p
import "github.com/flowbook/flowbook/flowlib/flowcheck"
func LogAbsDetLU(a [][]float64) float64 { return flowcheck.LogAbsDet(a) }`, Reject, "TestLU", "flowcheck.LogAbsDet"},
		{"the library's function, through a helper and an alias", `package p
import fc "github.com/flowbook/flowbook/flowlib/flowcheck"
func LogAbsDetLU(a [][]float64) float64 { return helper(a) }
func helper(a [][]float64) float64 { return fc.LogAbsDet(a) }`, Reject, "TestLU", "fc.LogAbsDet"},
		{"the library's function, through a package variable", `package p
import "github.com/flowbook/flowbook/flowlib/flowcheck"
var impl = flowcheck.LogAbsDet
func LogAbsDetLU(a [][]float64) float64 { return impl(a) }`, Reject, "TestLU", "flowcheck.LogAbsDet"},
		{"a dot-imported library function", `package p
import . "github.com/gomlx/gomlx/core/graph"
func TriangularInverse(n *Node) *Node { return Inverse(n) }`, Reject, "TestInverse", "Inverse"},
		{"the library's type, embedded in a method's receiver", `package p
import "github.com/flowbook/flowbook/flowlib"
type Coupling struct{ flowlib.AffineCoupling }`, Reject, "TestCoupling", "flowlib.AffineCoupling"},
		{"the library's type in a method", `package p
import "github.com/flowbook/flowbook/flowlib"
type Coupling struct{ m flowlib.Mask }
func (c *Coupling) Forward() { _ = (&flowlib.AffineCoupling{}).Name() }`, Reject, "TestCoupling", "flowlib.AffineCoupling"},
		{"a forbidden function used by another task's code is allowed", `package p
import "github.com/flowbook/flowbook/flowlib/flowcheck"
func AffineLogDet(a [][]float64) float64 { return flowcheck.LogAbsDet(a) }`, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			findings, err := Audit(chapter, map[string][]byte{"answer.go": []byte(tc.src)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.severity == "" {
				if len(findings) != 0 {
					t.Fatalf("findings %v, want none", findings)
				}
				return
			}
			var f Finding
			for _, g := range findings {
				if g.Severity != tc.severity {
					t.Errorf("finding %s is %s, want %s", g, g.Severity, tc.severity)
				}
				if strings.Contains(g.Message, tc.message) {
					f = g
				}
			}
			if f.Message == "" {
				t.Fatalf("findings %v, want one containing %q", findings, tc.message)
			}
			if tc.against == "" && len(f.Tasks) != 0 {
				t.Errorf("finding against %v, want the whole chapter", f.Tasks)
			}
			if tc.against != "" && (!f.Against(tc.against) || f.Against("TestOther")) {
				t.Errorf("finding against %v, want only %s", f.Tasks, tc.against)
			}
		})
	}
}

// The record a worker sends is accepted only with the run's nonce.
func TestReadRecord(t *testing.T) {
	good := `{"nonce":"n1","event":"start","test":"TestA"}` + "\n" + `{"nonce":"n1","event":"complete"}` + "\n"
	events, err := readRecord(strings.NewReader(good), "n1")
	if err != nil || len(events) != 2 {
		t.Errorf("a good record: %v, %v", events, err)
	}
	for name, bad := range map[string]string{
		"another nonce": `{"nonce":"n2","event":"complete"}` + "\n",
		"not JSON":      "--- PASS: TestA\n",
	} {
		if _, err := readRecord(strings.NewReader(good+bad), "n1"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestChapterAt(t *testing.T) {
	for dir, want := range map[string]bool{
		"/x/exercises/01-change-of-variables": true,
		"/x/exercises/01":                     false,
		"/x/solutions/01-change-of-variables": false,
		"/x/exercises/internal/grading":       false,
	} {
		if _, ok := chapterAt(dir); ok != want {
			t.Errorf("chapterAt(%s) = %v, want %v", dir, ok, want)
		}
	}
}
