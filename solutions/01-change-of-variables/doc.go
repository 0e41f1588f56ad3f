// Package changeofvariables holds the reference solutions of
// exercises/01-change-of-variables: the same functions, written. The graders
// in exercises/01-change-of-variables run on them with `scripts/grade
// --solutions 01`.
package changeofvariables
