#include "fq/train/lloyd.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fq/codecs/nearest.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"

namespace fq::train {

namespace {

// Samples per parallel chunk. Fixed, so that sums are combined in the same order whatever
// the thread count.
constexpr std::size_t k_chunk = 8192;

struct Assignment {
    std::vector<std::uint32_t> idx;  // n cell indices
    std::vector<double> dist2;       // n squared distances
    std::vector<double> sums;        // (N, k) per-cell coordinate sums
    std::vector<double> counts;      // N per-cell counts
    std::vector<double> cell_dist;   // N per-cell total distortion
    double total = 0;                // sum of dist2
};

void assign_all(const codecs::BlockCodebook& cb, const double* y, std::size_t n, Assignment& a) {
    const codecs::NearestCodeword search(cb);
    const int k = cb.k, N = cb.N;
    a.idx.resize(n);
    a.dist2.resize(n);
    const std::size_t nchunks = core::chunk_count(n, k_chunk);
    // Per-chunk partial sums, reduced below in chunk order.
    std::vector<double> part_sums(nchunks * N * k), part_counts(nchunks * N),
        part_dist(nchunks * N), part_total(nchunks);
    core::parallel_chunks(n, k_chunk, [&](std::size_t c, std::size_t b, std::size_t e) {
        search.assign(y + b * k, e - b, a.idx.data() + b, a.dist2.data() + b);
        double* s = part_sums.data() + c * N * k;
        double* cnt = part_counts.data() + c * N;
        double* dist = part_dist.data() + c * N;
        double tot = 0;
        for (std::size_t i = b; i < e; ++i) {
            const std::uint32_t j = a.idx[i];
            for (int t = 0; t < k; ++t) s[j * k + t] += y[i * k + t];
            cnt[j] += 1;
            dist[j] += a.dist2[i];
            tot += a.dist2[i];
        }
        part_total[c] = tot;
    });
    a.sums.assign(static_cast<std::size_t>(N) * k, 0.0);
    a.counts.assign(N, 0.0);
    a.cell_dist.assign(N, 0.0);
    a.total = 0;
    for (std::size_t c = 0; c < nchunks; ++c) {
        for (std::size_t j = 0; j < a.sums.size(); ++j) a.sums[j] += part_sums[c * N * k + j];
        for (int j = 0; j < N; ++j) {
            a.counts[j] += part_counts[c * N + j];
            a.cell_dist[j] += part_dist[c * N + j];
        }
        a.total += part_total[c];
    }
}

}  // namespace

double mean_distortion(const codecs::BlockCodebook& cb, const double* y, std::size_t n) {
    require(n > 0, "mean distortion: no samples");
    Assignment a;
    assign_all(cb, y, n, a);
    return a.total / static_cast<double>(n);
}

void lloyd_refine(codecs::BlockCodebook& cb, const double* y, std::size_t n,
                  const LloydOptions& opts, RestartStats& stats) {
    require(n >= static_cast<std::size_t>(cb.N), "Lloyd: fewer samples than codewords");
    const int k = cb.k, N = cb.N;
    stats.history.clear();
    stats.converged = false;
    Assignment a;
    double prev = 0;
    for (int it = 1;; ++it) {
        assign_all(cb, y, n, a);
        const double dist = a.total / static_cast<double>(n);
        if (!std::isfinite(dist)) throw NumericError("Lloyd: distortion is not finite");
        LloydIteration rec;
        rec.iter = it;
        rec.distortion = dist;
        // Stop on the codebook just measured, so the reported distortion is exactly that of
        // the returned codebook.
        if (it > 1 && std::abs(prev - dist) <= opts.tol * dist) stats.converged = true;
        if (stats.converged || it > opts.max_iter) {
            stats.history.push_back(rec);
            stats.iterations = it - 1;
            stats.train_distortion = dist;
            return;
        }
        prev = dist;
        // Centroid update.
        std::vector<int> empty;
        for (int j = 0; j < N; ++j) {
            if (a.counts[j] > 0) {
                for (int t = 0; t < k; ++t) cb.codeword(j)[t] = a.sums[j * k + t] / a.counts[j];
            } else {
                empty.push_back(j);
            }
        }
        // Empty cells: split the cell of largest distortion by moving the empty codeword to
        // that cell's member farthest from its old codeword; that cell's distortion is then
        // discounted so the next empty cell splits another one.
        for (const int j : empty) {
            const auto worst = static_cast<std::uint32_t>(
                std::max_element(a.cell_dist.begin(), a.cell_dist.end()) - a.cell_dist.begin());
            std::size_t far = n;
            double far_d = -1;
            for (std::size_t i = 0; i < n; ++i)
                if (a.idx[i] == worst && a.dist2[i] > far_d) {
                    far_d = a.dist2[i];
                    far = i;
                }
            if (far == n) break;
            for (int t = 0; t < k; ++t) cb.codeword(j)[t] = y[far * k + t];
            a.dist2[far] = 0;
            a.cell_dist[worst] *= 0.5;
            ++rec.empty_repaired;
        }
        stats.history.push_back(rec);
    }
}

}  // namespace fq::train
