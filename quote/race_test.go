//go:build race

package quote

// raceDetector is set when the tests run with -race, ten times slower:
// the tests that compare pure functions on many inputs then take fewer.
const raceDetector = true
