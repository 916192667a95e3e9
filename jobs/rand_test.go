package jobs

import "math/rand"

// newRand is the property tests' seeded source (reproducible failures).
func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
