// Package loadgen is airsock's load generator: it drives a server with many
// connections on a few event loops of package loop (no goroutine per
// connection), speaking a protocol of package internal/proto, and measures
// latency in HdrHistograms.
//
// Closed loop (Config.Rate == 0): each connection keeps Depth requests in
// flight and sends a new one for each reply; this finds peak throughput.
// Open loop (Rate > 0): requests leave at a constant total rate whatever
// the replies do, and each latency is measured from the request's intended
// send time, so a stalled server shows up in the percentiles instead of
// quietly slowing the generator (no coordinated omission).
//
// With Verify, every byte of every reply is checked by the protocol's client
// codec, and the first wrong or missing byte fails the run with its
// connection and offset in that connection's stream (VerifyError).
//
// Each loop records into its own histogram with no lock (recorder.go); a
// collector goroutine swaps the histograms once a second for the progress
// report (Config.Progress) and merges them into the result.
package loadgen
