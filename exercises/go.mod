// The exercises module: the learner's stubs and their graders. It is used
// through the repository's go.work, which supplies github.com/flowbook/flowbook
// from the parent directory.
module github.com/flowbook/flowbook/exercises

go 1.27

toolchain go1.27.4

require (
	github.com/gomlx/compute v0.1.14
	github.com/gomlx/gomlx v0.28.16
)
