// Package graphpanic keeps a panic in a graph function from hanging GoMLX.
//
// GoMLX v0.28.16's Exec recovers only panics whose value is an error. A panic
// with any other value (a string such as panic("bad shape") from user code)
// escapes the compilation, which then never completes, and the Exec's
// Finalize, usually deferred, waits for it forever: the program hangs instead
// of reporting the panic.
package graphpanic

import "fmt"

// AsError re-panics a non-error panic value as an error, so that GoMLX turns
// it into an error like any other graph-building failure. Defer it first thing
// in a graph function:
//
//	func(scope *model.Scope, x *Node) *Node {
//		defer graphpanic.AsError()
//		...
//	}
func AsError() {
	r := recover()
	if r == nil {
		return
	}
	if err, ok := r.(error); ok {
		panic(err)
	}
	panic(fmt.Errorf("%v", r))
}
