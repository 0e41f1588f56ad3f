package nice

import "fmt"

// This file holds the graders' own helpers, not tasks; the ones the chapters
// share are in the grading package.

func itoa(n int) string { return fmt.Sprint(n) }
