// BlockCodebook: N codewords c_1..c_N in R^k, shared by every k-coordinate block of every
// rotated unit vector (SPEC 4.1 with k = 1, SPEC 4.2 for k >= 1).
#pragma once

#include <cstddef>
#include <vector>

namespace fq::codecs {

struct BlockCodebook {
    int k = 0;                      // block dimension
    int N = 0;                      // number of codewords
    std::vector<double> codewords;  // (N, k) row-major

    const double* codeword(int n) const {
        return codewords.data() + static_cast<std::size_t>(n) * k;
    }
    double* codeword(int n) { return codewords.data() + static_cast<std::size_t>(n) * k; }
};

}  // namespace fq::codecs
