// Deterministic parallel loops.
//
// Work is cut into fixed chunks whose boundaries depend only on the problem size and the
// chunk size, never on the thread count; each chunk is processed by exactly one thread and
// reductions combine per-chunk results in chunk order. So results are byte-identical
// whatever the number of OpenMP threads. Exceptions thrown inside a chunk are captured and
// the first one (lowest chunk index) is rethrown after the loop: none escapes the OpenMP
// region.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <vector>

namespace fq::core {

inline std::size_t chunk_count(std::size_t n, std::size_t chunk) {
    return chunk == 0 ? 0 : (n + chunk - 1) / chunk;
}

// Calls body(chunk_index, begin, end) for every chunk [begin, end) of [0, n), in parallel.
template <class Body>
void parallel_chunks(std::size_t n, std::size_t chunk, Body&& body) {
    const std::size_t nchunks = chunk_count(n, chunk);
    if (nchunks == 0) return;
    std::vector<std::exception_ptr> errors(nchunks);
    const auto count = static_cast<long long>(nchunks);
#pragma omp parallel for schedule(dynamic, 1)
    for (long long c = 0; c < count; ++c) {
        const auto ci = static_cast<std::size_t>(c);
        try {
            const std::size_t begin = ci * chunk;
            body(ci, begin, std::min(n, begin + chunk));
        } catch (...) {
            errors[ci] = std::current_exception();
        }
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

// Number of OpenMP threads to use: n > 0 sets it, 0 keeps the current default.
void set_threads(int n);
int max_threads();

}  // namespace fq::core
