// Helpers the unit tests share (header-only): a temporary directory, random arrays, a small
// exact codebook, and codes computed under different thread counts.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "fq/codecs/codebook.hpp"
#include "fq/codecs/codec.hpp"
#include "fq/codecs/scalar.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codebook_file.hpp"

namespace fq::test {

// A fresh directory under the system's temporary directory, removed with everything in it
// when the test leaves its scope.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "fq_test.XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    // The path of `name` inside the directory.
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// count values scale * N(0, 1) from core::Rng(seed, stream) (platform-independent), as T.
// Tests draw random numbers only from core::Rng, never from <random>'s distributions, whose
// output is implementation-defined: a test must see the same data with every standard library.
template <class T>
std::vector<T> normal_array(std::size_t count, std::uint64_t seed, std::uint64_t stream = 0,
                            double scale = 1.0) {
    core::Rng rng(seed, stream);
    std::vector<T> x(count);
    for (auto& v : x) v = static_cast<T>(scale * rng.normal());
    return x;
}

// count draws of N(0, sigma^2) as float: normal_array<float>(count, seed, 0, sigma).
inline std::vector<float> randn(std::size_t count, std::uint64_t seed, float sigma = 1.0f) {
    return normal_array<float>(count, seed, 0, sigma);
}

// The exact Lloyd-Max scalar codebook of b = bits at dimension d (Haar rotation, seed 1).
// A JSON file as written, without its file_sha256 seal line (io/json_util.hpp): what a
// hand edit must produce, so tests can edit it and reach the reader's other checks.
inline std::string drop_file_seal(const std::string& text) {
    const std::string prefix = "{\n \"file_sha256\": \"sha256:";
    REQUIRE(text.rfind(prefix, 0) == 0);
    return "{\n" + text.substr(prefix.size() + 64 + 3);
}

// The same elements bit for bit (memcmp never sees the null data() of an empty vector).
template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// N codewords in R^k with N(0, 0.3^2) coordinates (nearest-search tests).
inline codecs::BlockCodebook random_codebook(int k, int N, std::uint64_t seed) {
    core::Rng rng(seed);
    codecs::BlockCodebook cb{k, N, std::vector<double>(static_cast<std::size_t>(k) * N)};
    for (auto& c : cb.codewords) c = rng.normal() * 0.3;
    return cb;
}

inline io::UniversalCodebook scalar_codebook(int d, int bits) {
    return io::make_scalar_codebook(codecs::lloyd_max_scalar(d, bits), 1e-12,
                                    core::RotationKind::haar, 1);
}

// The codes of x: (rows G, d) row-major float (G = codec.block_vectors(), d = codec.dim()),
// encoded by core::parallel_chunks over chunks of `chunk` codes, first with 1 thread, then
// with 2: {codes with 1 thread, codes with 2 threads}, each (rows, code_bytes). The thread
// count is restored afterwards.
inline std::vector<std::vector<std::uint8_t>> codes_per_thread_count(const codecs::Codec& codec,
                                                                     const float* x,
                                                                     std::size_t rows,
                                                                     std::size_t chunk) {
    const std::size_t d = static_cast<std::size_t>(codec.dim());
    const std::size_t G = codec.block_vectors(), cb = codec.code_bytes();
    std::vector<std::vector<std::uint8_t>> out;
    const int saved = core::max_threads();
    for (int threads : {1, 2}) {
        core::set_threads(threads);
        std::vector<std::uint8_t> codes(rows * cb);
        core::parallel_chunks(rows, chunk, [&](std::size_t, std::size_t b, std::size_t e) {
            codec.encode(&x[b * G * d], (e - b) * G, &codes[b * cb]);
        });
        out.push_back(codes);
    }
    core::set_threads(saved);
    return out;
}

}  // namespace fq::test
