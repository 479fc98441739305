// Package suggest finds the closest known word to a misspelt one, for the
// "did you mean" hints of both configuration parsers.
package suggest

import "strings"

// Closest returns the candidate nearest to word, or "" when none is near
// enough to be a plausible typo (edit distance at most a third of the
// word's length, and at least 1).
func Closest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestD := "", len(w)/3+1
	if bestD < 2 {
		bestD = 2
	}
	for _, c := range candidates {
		d := Distance(w, strings.ToLower(c))
		if d < bestD || (d == bestD && best != "" && c < best) {
			if d < bestD || best == "" {
				best, bestD = c, d
			}
		}
	}
	return best
}

// Hint formats Closest as "; did you mean 'x'?" or "" when nothing is close.
func Hint(word string, candidates []string) string {
	if c := Closest(word, candidates); c != "" {
		return "; did you mean '" + c + "'?"
	}
	return ""
}

// Distance is the optimal-string-alignment edit distance (insertions,
// deletions, substitutions and adjacent transpositions each cost 1).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
