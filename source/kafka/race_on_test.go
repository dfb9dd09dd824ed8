//go:build race

package kafka

// raceEnabled: the race detector makes sync.Pool drop items on purpose, so allocation bounds
// that rely on pooling do not hold.
const raceEnabled = true
