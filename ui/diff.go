package ui

import "strings"

// DiffView is the line diff of two versions' definitions.
type DiffView struct {
	A, B  string
	Lines []DiffLine
}

// DiffLine is one line of a diff: Op is ' ', '-' or '+'.
type DiffLine struct {
	Op   string
	Text string
}

// maxDiffLines bounds the quadratic diff; longer inputs are shown as a
// whole removal and addition.
const maxDiffLines = 2000

// Diff is the line diff of a and b by longest common subsequence, with
// common lines more than three lines away from a change folded into one
// "…" line.
func Diff(a, b string) []DiffLine {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	var raw []DiffLine
	if len(x) > maxDiffLines || len(y) > maxDiffLines {
		for _, l := range x {
			raw = append(raw, DiffLine{"-", l})
		}
		for _, l := range y {
			raw = append(raw, DiffLine{"+", l})
		}
		return raw
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			raw = append(raw, DiffLine{" ", x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			raw = append(raw, DiffLine{"-", x[i]})
			i++
		default:
			raw = append(raw, DiffLine{"+", y[j]})
			j++
		}
	}
	return fold(raw, 3)
}

// fold keeps ctx common lines around each change and replaces longer
// runs of common lines by one "…" line.
func fold(lines []DiffLine, ctx int) []DiffLine {
	near := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op != " " {
			for k := max(0, i-ctx); k <= min(len(lines)-1, i+ctx); k++ {
				near[k] = true
			}
		}
	}
	var out []DiffLine
	for i, l := range lines {
		if near[i] {
			out = append(out, l)
		} else if len(out) == 0 || out[len(out)-1].Op != "…" {
			out = append(out, DiffLine{"…", ""})
		}
	}
	return out
}
