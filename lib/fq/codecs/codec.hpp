// Codec: the one interface every quantizer family implements (fib, scalar, qjl, ...).
//
// A codec maps each vector x in R^d independently to a fixed-size code of code_bytes()
// bytes (random access: vector i's code sits at offset i * code_bytes()). code_bits() is the
// exact information content of one code (header + payload bits, mixed-radix packing
// counted at log2 N bits per index); rate() = code_bits() / d bits per coordinate.
// encode/decode are const and thread-safe; callers parallelise over vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fq::codecs {

class InnerProductEstimator;

class Codec {
public:
    virtual ~Codec() = default;

    virtual std::string family() const = 0;      // registry name: "fib", "scalar", ...
    virtual int dim() const = 0;                 // d
    virtual std::size_t code_bytes() const = 0;  // fixed stride of one code in bytes
    virtual double code_bits() const = 0;        // exact bits of one code, headers included
    double rate() const { return code_bits() / dim(); }
    // The part of code_bits() that is side information rather than payload: norm headers,
    // group scales and offsets (per vector, like code_bits()). 0 when codes are indices only.
    virtual double side_bits() const { return 0; }

    // Vectors coded jointly, B = block_vectors() (1 for every per-vector codec). B > 1 is the
    // one exception to per-vector codes, for codecs whose side information spans several
    // vectors (KIVI per-channel groups of B tokens, codecs/int_quant.hpp). Then:
    //   - a *code* is the code of a block of B consecutive vectors: code_bytes() is the size
    //     of one block's code, block j's code sits at offset j * code_bytes();
    //   - code_bits() stays per vector: (exact bits of one block's code) / B, so rate() is
    //     still bits per coordinate;
    //   - encode/decode take n a multiple of B (UsageError otherwise) and codes of
    //     (n / B, code_bytes()) bytes. Random access is per block.
    virtual std::size_t block_vectors() const { return 1; }

    // x: (n, d) row-major float -> codes: (n, code_bytes()) bytes.
    virtual void encode(const float* x, std::size_t n, std::uint8_t* codes) const = 0;
    // codes: (n, code_bytes()) -> x: (n, d) row-major float.
    virtual void decode(const std::uint8_t* codes, std::size_t n, float* x) const = 0;

    // The codec's inner-product estimator (below), or null when it has none.
    virtual const InnerProductEstimator* inner_product_estimator() const { return nullptr; }
};

// Implemented (besides Codec) by codecs that estimate inner products from codes better than
// through the decoded vectors (qjl, scalar+qjl: an unbiased estimator). fq-eval finds it by
// Codec::inner_product_estimator(). Const and thread-safe like encode.
class InnerProductEstimator {
public:
    virtual ~InnerProductEstimator() = default;
    // q: (nq, d) row-major float queries; codes: (n, code_bytes()) codes of n vectors x_j;
    // out: (nq, n) row-major double, out[i * n + j] ~ <q_i, x_j>.
    virtual void estimate_inner_products(const float* q, std::size_t nq, const std::uint8_t* codes,
                                         std::size_t n, double* out) const = 0;
};

}  // namespace fq::codecs
