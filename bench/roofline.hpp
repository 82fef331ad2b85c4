// Roofline accounting for the benchmarks (issue 14): this machine's measured peaks, taken
// in-process so that a ratio to them is read on the same machine state as the throughput,
// and the nominal work of one vector per codec configuration.
//
// Peaks: an in-register loop of independent single-precision vector operations (AVX-512
// when the CPU has it, else AVX2, else SSE2), on `threads` threads at once:
//   fma      fused multiply-adds (2 flops each);
//   mul_add  separate multiplies and adds (1 flop each), what fq's own code runs: the build
//            forbids contraction (-ffp-contract=off), so "% of peak" uses this one;
// and memory bandwidth: a triad a[i] = b[i] + s c[i] over arrays far larger than the caches
// (bytes read + written per second).
#pragma once

#include <cstddef>
#include <string>

namespace fq::bench {

struct Peaks {
    std::string isa;  // "avx512", "avx2", "sse2"
    int threads = 1;
    double fma_gflops = 0;      // all threads together
    double mul_add_gflops = 0;  // all threads together
    double triad_gbps = 0;      // bytes moved per second, all threads together
};

// Best of `repeats` runs of each loop (about 0.1 s each).
Peaks measure_peaks(int threads, int repeats = 3);

// Nominal single-precision flops of one vector through a radial-angular block codec
// (BlockVqCodec: norm, dense rotation, nearest codeword by distance expansion over `blocks`
// blocks of dimension k with N codewords each) and back (inverse rotation, scaling).
double block_vq_encode_flops(int d, int k, int N, int blocks);
double block_vq_decode_flops(int d);

}  // namespace fq::bench
