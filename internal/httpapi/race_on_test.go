//go:build race

package httpapi_test

// raceDetector: the tests run under the race detector, several times slower; bounded load
// tests do less.
const raceDetector = true
