// Rng: a fully specified, platform-independent random generator.
//
// Seeding: state s[0..3] = four successive outputs of SplitMix64 started at
//   seed ^ (0x9E3779B97F4A7C15 * (stream + 1)),
// so (seed, stream) pairs give independent streams. Generator: xoshiro256** (Blackman &
// Vigna). uniform() = (next() >> 11 + 0.5) * 2^-53, in the open interval (0, 1).
// normal(): Box-Muller in double, sqrt(-2 ln u1) * (cos, sin)(2 pi u2); the sine value is
// cached for the next call. Nothing here uses <random>'s implementation-defined
// distributions, so a seed gives the same numbers with every compiler and library
// (up to the last-bit accuracy of the platform's log/cos/sin, which glibc rounds correctly
// for these arguments in practice; rotations store a checksum to detect any difference).
#pragma once

#include <cstdint>

namespace fq::core {

std::uint64_t splitmix64(std::uint64_t& state);

class Rng {
public:
    explicit Rng(std::uint64_t seed, std::uint64_t stream = 0);

    std::uint64_t next_u64();
    // Uniform double in (0, 1): never 0, never 1.
    double uniform();
    // Standard normal deviate (Box-Muller, double).
    double normal();
    // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection).
    std::uint64_t below(std::uint64_t n);

private:
    std::uint64_t m_s[4];
    double m_cached_normal = 0.0;
    bool m_has_cached = false;
};

}  // namespace fq::core
