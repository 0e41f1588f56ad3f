package grading

// The audit reads a chapter's answer files (its non-test .go files) and finds
// what an honest answer never needs: a way to end the process or to read the
// graders and the solutions, or the library's own version of the function a
// task asks for. Findings of severity Reject cost points wherever the tasks
// are graded (go test, scripts/grade, the Classroom steps); findings of
// severity Flag are listed by scripts/grade --audit for an instructor to read.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Severity says what a [Finding] costs.
type Severity string

const (
	// Reject: the tasks the finding is against earn no points.
	Reject Severity = "reject"
	// Flag: listed for the instructor; it costs nothing by itself.
	Flag Severity = "flag"
)

// Finding is one thing the audit found in an answer file.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Severity Severity `json:"severity"`
	Tasks    []string `json:"tasks,omitempty"` // the tests it is against; empty: the whole chapter
	Message  string   `json:"message"`
}

// Against reports whether the finding concerns the task graded by test.
func (f Finding) Against(test string) bool {
	if len(f.Tasks) == 0 {
		return true
	}
	for _, t := range f.Tasks {
		if t == test {
			return true
		}
	}
	return false
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Message)
}

// Import paths the manifest's Forbidden lists use.
const (
	flowlibPkg   = "github.com/flowbook/flowbook/flowlib"
	flowcheckPkg = "github.com/flowbook/flowbook/flowlib/flowcheck"
	trainingPkg  = "github.com/flowbook/flowbook/flowlib/training"
	vaePkg       = "github.com/flowbook/flowbook/flowlib/vae"
	graphPkg     = "github.com/gomlx/gomlx/core/graph"
)

// rejectedImports are packages no answer needs and that can end the process,
// read the graders' or the solutions' files, or reach around Go's type
// safety. The value says why, for the message.
var rejectedImports = map[string]string{
	"os":          "it can end the test process (os.Exit) and read the graders' and the solutions' files",
	"os/exec":     "it can run other programs",
	"os/signal":   "it can take over the process's signals",
	"syscall":     "it can end the test process (syscall.Exit) behind the testing framework's back",
	"unsafe":      "it can reach around Go's type safety into the testing code",
	"plugin":      "it can load other code",
	"io/ioutil":   "it can read the graders' and the solutions' files",
	"runtime/cgo": "it can call C",
	"C":           "cgo can call C",
}

// rejectedPrefixes are import path prefixes no answer may use.
var rejectedPrefixes = map[string]string{
	"github.com/flowbook/flowbook/solutions":          "these are the reference solutions",
	"github.com/flowbook/flowbook/exercises/internal": "these are the graders' own packages",
	"golang.org/x/sys":                                "it can end the process behind the testing framework's back",
}

// flaggedImports are packages an answer does not need but might use for a
// reason of its own: the audit lists them.
var flaggedImports = map[string]string{
	"runtime": "it can stop goroutines and inspect the testing code",
	"reflect": "it can inspect and change the testing code's values",
	"io/fs":   "it can read files through an fs.FS",
	"embed":   "it can embed files of the package directory",
	"net":     "it can fetch answers over the network",
}

// exitCalls end the process (or the goroutine) with no result: no answer
// calls them.
var exitCalls = map[string]string{
	"log.Fatal":       "log.Fatal ends the process",
	"log.Fatalf":      "log.Fatalf ends the process",
	"log.Fatalln":     "log.Fatalln ends the process",
	"runtime.Goexit":  "runtime.Goexit ends the goroutine without a result",
	"os.Exit":         "os.Exit ends the process",
	"syscall.Exit":    "syscall.Exit ends the process",
	"syscall.RawExit": "it ends the process",
}

// AnswerFiles reads the chapter's answer files in dir: its .go files that are
// not tests, by name.
func AnswerFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the answers: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading the answers: %w", err)
		}
		files[name] = data
	}
	return files, nil
}

// Audit returns the findings in chapter c's answer files (name → source), in
// file and line order. A file that does not parse gives no finding: the
// compiler reports it.
func Audit(c Chapter, files map[string][]byte) ([]Finding, error) {
	a := &auditor{chapter: c, fset: token.NewFileSet(), decls: map[string][]ast.Node{}, methods: map[string][]*ast.FuncDecl{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := parser.ParseFile(a.fset, name, files[name], parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		a.files = append(a.files, f)
	}
	a.index()
	for _, f := range a.files {
		a.auditFile(f)
	}
	for _, t := range c.Tasks {
		a.auditForbidden(t)
	}
	sort.SliceStable(a.findings, func(i, j int) bool {
		fi, fj := a.findings[i], a.findings[j]
		if fi.File != fj.File {
			return fi.File < fj.File
		}
		return fi.Line < fj.Line
	})
	return a.findings, nil
}

type auditor struct {
	chapter  Chapter
	fset     *token.FileSet
	files    []*ast.File
	decls    map[string][]ast.Node      // package-level funcs, types, vars and consts by name
	methods  map[string][]*ast.FuncDecl // methods by receiver type name
	byName   map[string][]*ast.FuncDecl // methods by method name
	findings []Finding
}

func (a *auditor) add(pos token.Pos, sev Severity, tasks []string, format string, args ...any) {
	p := a.fset.Position(pos)
	a.findings = append(a.findings, Finding{File: p.Filename, Line: p.Line, Severity: sev, Tasks: tasks, Message: fmt.Sprintf(format, args...)})
}

// index records the package-level declarations.
func (a *auditor) index() {
	a.byName = map[string][]*ast.FuncDecl{}
	for _, f := range a.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) == 0 {
					a.decls[d.Name.Name] = append(a.decls[d.Name.Name], d)
					continue
				}
				recv := receiverName(d.Recv.List[0].Type)
				a.methods[recv] = append(a.methods[recv], d)
				a.byName[d.Name.Name] = append(a.byName[d.Name.Name], d)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						a.decls[s.Name.Name] = append(a.decls[s.Name.Name], s)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							a.decls[n.Name] = append(a.decls[n.Name], s)
						}
					}
				}
			}
		}
	}
}

func receiverName(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// importNames maps each file-level import name to its path ("." for dot
// imports is kept in dots).
func importNames(f *ast.File) (named map[string]string, dots []string) {
	named = map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		switch name {
		case ".":
			dots = append(dots, path)
		case "_":
		default:
			named[name] = path
		}
	}
	return named, dots
}

// auditFile checks one file's imports, directives, goroutines, exit calls
// and string literals.
func (a *auditor) auditFile(f *ast.File) {
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if why, ok := rejectedImports[path]; ok {
			a.add(imp.Pos(), Reject, nil, "imports %q: an answer may not (%s)", path, why)
			continue
		}
		for prefix, why := range rejectedPrefixes {
			if path == prefix || strings.HasPrefix(path, prefix+"/") {
				a.add(imp.Pos(), Reject, nil, "imports %q: an answer may not (%s)", path, why)
			}
		}
		if why, ok := flaggedImports[path]; ok {
			a.add(imp.Pos(), Flag, nil, "imports %q (%s)", path, why)
		}
	}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:linkname") {
				a.add(c.Pos(), Reject, nil, "a //go:linkname directive: an answer may not reach into other packages' unexported code")
			}
		}
	}
	named, _ := importNames(f)
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false // its path is not a string the code uses
		case *ast.GoStmt:
			a.add(n.Pos(), Flag, nil, "starts a goroutine: one that outlives its test can panic after the test passed (no answer needs one)")
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if path, ok := named[x.Name]; ok {
					if why, ok := exitCalls[path+"."+n.Sel.Name]; ok {
						a.add(n.Pos(), Reject, nil, "calls %s.%s: %s; an answer returns its result (or an error)", x.Name, n.Sel.Name, why)
					}
				}
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				s, _ := strconv.Unquote(n.Value)
				for _, word := range []string{"solutions", "_test.go", "exercises/internal", "FLOWBOOK_GRADE"} {
					if strings.Contains(s, word) {
						a.add(n.Pos(), Flag, nil, "a string mentions %q (reading the solutions or the graders?)", word)
						break
					}
				}
			}
		}
		return true
	})
}

// auditForbidden finds, in the code that task t's answer is made of (the
// declarations named in t.Answer and everything in the package they refer
// to), references to the library functions and types t forbids.
func (a *auditor) auditForbidden(t Task) {
	if len(t.Forbidden) == 0 {
		return
	}
	forbidden := map[string]bool{}
	for _, f := range t.Forbidden {
		forbidden[f] = true
	}
	fileOf := map[ast.Node]*ast.File{}
	for _, f := range a.files {
		for _, d := range f.Decls {
			fileOf[d] = f
			if g, ok := d.(*ast.GenDecl); ok {
				for _, s := range g.Specs {
					fileOf[s] = f
				}
			}
		}
	}
	seen := map[ast.Node]bool{}
	var queue []ast.Node
	include := func(nodes ...ast.Node) {
		for _, n := range nodes {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, root := range t.Answer {
		for _, d := range a.decls[root] {
			include(d)
		}
		for _, m := range a.methods[root] {
			include(m)
		}
	}
	reported := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		f := fileOf[n]
		if f == nil {
			continue
		}
		named, dots := importNames(f)
		ast.Inspect(n, func(m ast.Node) bool {
			switch m := m.(type) {
			case *ast.SelectorExpr:
				if x, ok := m.X.(*ast.Ident); ok {
					if path, ok := named[x.Name]; ok {
						a.forbid(t, forbidden, reported, m.Pos(), path, m.Sel.Name, x.Name+"."+m.Sel.Name)
						return false
					}
				}
				for _, meth := range a.byName[m.Sel.Name] {
					include(meth)
				}
			case *ast.Ident:
				if ds, ok := a.decls[m.Name]; ok {
					include(ds...)
					for _, meth := range a.methods[m.Name] {
						include(meth)
					}
					return true
				}
				for _, path := range dots {
					a.forbid(t, forbidden, reported, m.Pos(), path, m.Name, m.Name)
				}
			}
			return true
		})
	}
}

func (a *auditor) forbid(t Task, forbidden, reported map[string]bool, pos token.Pos, path, name, written string) {
	if !forbidden[path+"."+name] {
		return
	}
	key := t.Test + " " + path + "." + name
	if reported[key] {
		return
	}
	reported[key] = true
	a.add(pos, Reject, []string{t.Test}, "%s uses %s, the library's own version of what the task %q asks you to write: write it yourself", strings.Join(t.Answer, "/"), written, t.Title)
}
