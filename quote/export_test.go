package quote

// RaceDetector is raceDetector for the external tests (package
// quote_test); it exists only in the test binary.
const RaceDetector = raceDetector
