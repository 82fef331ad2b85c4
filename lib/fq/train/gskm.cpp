#include "fq/train/gskm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"

namespace fq::train {
namespace {

constexpr std::size_t k_chunk = 2048;  // samples per parallel chunk (fixed: thread-independent)

// core::parallel_chunks, but without opening a parallel region for a single chunk (small
// problems: the region costs more than the work on a loaded machine).
template <class Body>
void chunks(std::size_t n, std::size_t chunk, Body&& body) {
    if (n <= chunk) {
        if (n > 0) body(std::size_t{0}, std::size_t{0}, n);
        return;
    }
    core::parallel_chunks(n, chunk, body);
}

double norm(const double* v, int D) {
    double s = 0;
    for (int t = 0; t < D; ++t) s += v[t] * v[t];
    return std::sqrt(s);
}

}  // namespace

const char* to_string(KmeansMethod m) {
    return m == KmeansMethod::plain ? "plain" : "gain-shape";
}

KmeansMethod kmeans_method_from_string(const std::string& name) {
    if (name == "plain") return KmeansMethod::plain;
    if (name == "gain-shape" || name == "gain_shape") return KmeansMethod::gain_shape;
    throw UsageError("kmeans: unknown method '" + name + "' (plain | gain-shape)");
}

void assign_nearest(const codecs::BlockCodebook& cb, const double* x, std::size_t n,
                    std::uint32_t* idx, double* dist2) {
    const int D = cb.k, K = cb.N;
    chunks(n, k_chunk, [&](std::size_t, std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            const double* xi = x + i * D;
            double best = std::numeric_limits<double>::infinity();
            std::uint32_t bj = 0;
            for (int j = 0; j < K; ++j) {
                const double* c = cb.codeword(j);
                double s = 0;
                for (int t = 0; t < D; ++t) {
                    const double u = xi[t] - c[t];
                    s += u * u;
                }
                if (s < best) {
                    best = s;
                    bj = static_cast<std::uint32_t>(j);
                }
            }
            idx[i] = bj;
            if (dist2) dist2[i] = best;
        }
    });
}

namespace {

// Training assignment of gain-shape with GsAssign::shape: a(i) = argmax_j <x_i, c_j> / ||c_j||
// (ties and zero centroids: lowest j); dist2 = ||x_i - c_a(i)||^2.
void assign_shape(const codecs::BlockCodebook& cb, const double* x, std::size_t n,
                  std::uint32_t* idx, double* dist2) {
    const int D = cb.k, K = cb.N;
    std::vector<double> inv(K);
    for (int j = 0; j < K; ++j) {
        const double nc = norm(cb.codeword(j), D);
        inv[j] = nc > 0 ? 1.0 / nc : 0.0;
    }
    chunks(n, k_chunk, [&](std::size_t, std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            const double* xi = x + i * D;
            double best = -std::numeric_limits<double>::infinity();
            std::uint32_t bj = 0;
            for (int j = 0; j < K; ++j) {
                const double* c = cb.codeword(j);
                double s = 0;
                for (int t = 0; t < D; ++t) s += xi[t] * c[t];
                if (s * inv[j] > best) {
                    best = s * inv[j];
                    bj = static_cast<std::uint32_t>(j);
                }
            }
            idx[i] = bj;
            const double* c = cb.codeword(static_cast<int>(bj));
            double e2 = 0;
            for (int t = 0; t < D; ++t) e2 += (xi[t] - c[t]) * (xi[t] - c[t]);
            dist2[i] = e2;
        }
    });
}

// Statistics of an assignment (idx, dist2) of samples x to codebook cb.
KmeansStats stats_of(const codecs::BlockCodebook& cb, const double* x, std::size_t n,
                     const double* w, const std::uint32_t* idx, const double* dist2) {
    const int D = cb.k, K = cb.N;
    KmeansStats st;
    double wsum = 0, dsum = 0, csum = 0, xnorm_sum = 0;
    std::vector<double> member_norm(K, 0.0);
    std::vector<std::size_t> count(K, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const double wi = w ? w[i] : 1.0;
        const double* xi = x + i * D;
        const double* c = cb.codeword(static_cast<int>(idx[i]));
        const double nx = norm(xi, D), nc = norm(c, D);
        double dot = 0;
        for (int t = 0; t < D; ++t) dot += xi[t] * c[t];
        wsum += wi;
        dsum += wi * dist2[i];
        if (nx > 0 && nc > 0) csum += wi * dot / (nx * nc);
        xnorm_sum += nx;
        member_norm[idx[i]] += nx;
        ++count[idx[i]];
    }
    st.distortion = dsum / wsum;
    st.mean_cosine = csum / wsum;
    double num = 0, den = 0, cnorm_sum = 0;
    for (int j = 0; j < K; ++j) {
        const double nc = norm(cb.codeword(j), D);
        cnorm_sum += nc;
        if (count[j] == 0) {
            ++st.empty;
            continue;
        }
        num += static_cast<double>(count[j]) * nc;
        den += member_norm[j];  // = |C_j| * mean member norm
    }
    st.shrinkage = den > 0 ? num / den : 1.0;
    const double mean_x = xnorm_sum / static_cast<double>(n);
    st.shrinkage_global = mean_x > 0 ? (cnorm_sum / K) / mean_x : 1.0;
    return st;
}

}  // namespace

KmeansStats kmeans_stats(const codecs::BlockCodebook& cb, const double* x, std::size_t n,
                         const double* w) {
    require(n >= 1, "kmeans: no samples");
    std::vector<std::uint32_t> idx(n);
    std::vector<double> dist2(n);
    assign_nearest(cb, x, n, idx.data(), dist2.data());
    return stats_of(cb, x, n, w, idx.data(), dist2.data());
}

KmeansResult kmeans(const double* x, std::size_t n, int D, const double* w,
                    const KmeansOptions& opts) {
    const int K = opts.K;
    require(D >= 1, "kmeans: need D >= 1");
    require(K >= 1, "kmeans: need K >= 1");
    require(n >= static_cast<std::size_t>(K), "kmeans: need at least K = " + std::to_string(K) +
                                                  " samples, got " + std::to_string(n));
    require(opts.max_iter >= 1, "kmeans: need max_iter >= 1");
    for (std::size_t i = 0; i < n * static_cast<std::size_t>(D); ++i)
        if (!std::isfinite(x[i])) throw NumericError("kmeans: non-finite sample value");
    if (w)
        for (std::size_t i = 0; i < n; ++i)
            require(w[i] > 0 && std::isfinite(w[i]), "kmeans: weights must be positive and finite");

    KmeansResult res;
    codecs::BlockCodebook& cb = res.codebook;
    cb.k = D;
    cb.N = K;
    cb.codewords.assign(static_cast<std::size_t>(K) * D, 0.0);
    {
        // K distinct samples: the first K entries of a partial Fisher-Yates shuffle.
        std::vector<std::size_t> perm(n);
        std::iota(perm.begin(), perm.end(), std::size_t{0});
        core::Rng rng(opts.seed, 0);
        for (int j = 0; j < K; ++j) {
            const std::size_t r = j + static_cast<std::size_t>(rng.below(n - j));
            std::swap(perm[j], perm[r]);
            std::copy(x + perm[j] * D, x + perm[j] * D + D, cb.codeword(j));
        }
    }

    std::vector<std::uint32_t> idx(n);
    std::vector<double> dist2(n);
    std::vector<double> sum(static_cast<std::size_t>(K) * D), wsum(K), gain(K), cell_dist(K);
    double prev = std::numeric_limits<double>::infinity();
    for (int it = 1; it <= opts.max_iter; ++it) {
        if (opts.method == KmeansMethod::gain_shape && opts.gs_assign == GsAssign::shape)
            assign_shape(cb, x, n, idx.data(), dist2.data());
        else
            assign_nearest(cb, x, n, idx.data(), dist2.data());
        const KmeansStats st = stats_of(cb, x, n, w, idx.data(), dist2.data());
        KmeansIteration rec;
        rec.iter = it;
        rec.distortion = st.distortion;
        rec.mean_cosine = st.mean_cosine;
        rec.shrinkage = st.shrinkage;
        res.iterations = it;
        if (std::isfinite(prev) && std::fabs(prev - st.distortion) <= opts.tol * prev) {
            res.history.push_back(rec);
            res.converged = true;
            break;
        }
        prev = st.distortion;

        // Update, summing serially in sample order.
        std::fill(sum.begin(), sum.end(), 0.0);
        std::fill(wsum.begin(), wsum.end(), 0.0);
        std::fill(gain.begin(), gain.end(), 0.0);
        std::fill(cell_dist.begin(), cell_dist.end(), 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            const double wi = w ? w[i] : 1.0;
            double* s = &sum[static_cast<std::size_t>(idx[i]) * D];
            const double* xi = x + i * D;
            if (opts.method == KmeansMethod::plain) {
                for (int t = 0; t < D; ++t) s[t] += wi * xi[t];
            } else {
                const double nx = norm(xi, D);
                if (nx > 0)
                    for (int t = 0; t < D; ++t) s[t] += wi * xi[t] / nx;
                gain[idx[i]] += wi * nx;
            }
            wsum[idx[i]] += wi;
            cell_dist[idx[i]] += wi * dist2[i];
        }
        if (opts.method == KmeansMethod::gain_shape && opts.gs_gain == GsGain::least_squares) {
            // g_j = sum w_i <x_i, s_j> / sum w_i with the new shapes s_j.
            std::fill(gain.begin(), gain.end(), 0.0);
            std::vector<double> inv(K);
            for (int j = 0; j < K; ++j) {
                const double ns = norm(&sum[static_cast<std::size_t>(j) * D], D);
                inv[j] = ns > 0 ? 1.0 / ns : 0.0;
            }
            for (std::size_t i = 0; i < n; ++i) {
                const double* s = &sum[static_cast<std::size_t>(idx[i]) * D];
                double dt = 0;
                for (int t = 0; t < D; ++t) dt += x[i * D + t] * s[t];
                gain[idx[i]] += (w ? w[i] : 1.0) * dt * inv[idx[i]];
            }
        }
        for (int j = 0; j < K; ++j) {
            if (wsum[j] == 0) continue;
            double* c = cb.codeword(j);
            const double* s = &sum[static_cast<std::size_t>(j) * D];
            if (opts.method == KmeansMethod::plain) {
                for (int t = 0; t < D; ++t) c[t] = s[t] / wsum[j];
            } else {
                const double ns = norm(s, D);
                if (ns == 0) continue;  // no shape (zero or cancelling members): keep c_j
                const double g = gain[j] / wsum[j];
                for (int t = 0; t < D; ++t) c[t] = g * s[t] / ns;
            }
        }
        // Empty cells: split the cell of largest total distortion at its farthest member.
        for (int j = 0; j < K; ++j) {
            if (wsum[j] != 0) continue;
            const int big = static_cast<int>(std::max_element(cell_dist.begin(), cell_dist.end()) -
                                             cell_dist.begin());
            if (cell_dist[big] <= 0) break;  // every sample sits on a centroid
            std::size_t far = n;
            double fd = -1;
            for (std::size_t i = 0; i < n; ++i)
                if (idx[i] == static_cast<std::uint32_t>(big) && dist2[i] > fd) {
                    fd = dist2[i];
                    far = i;
                }
            std::copy(x + far * D, x + far * D + D, cb.codeword(j));
            cell_dist[big] -= (w ? w[far] : 1.0) * fd;
            dist2[far] = 0;
            idx[far] = static_cast<std::uint32_t>(j);
            ++rec.empty_repaired;
        }
        res.history.push_back(rec);
    }
    res.stats = kmeans_stats(cb, x, n, w);
    return res;
}

}  // namespace fq::train

namespace fq::train {

GsrqTrainResult train_gsrq(const float* x, std::size_t n, int d, const double* w,
                           const GsrqTrainOptions& opts) {
    const int D = opts.D, S = opts.S;
    require(D >= 1 && d >= D && d % D == 0,
            "gsrq: D = " + std::to_string(D) + " must divide d = " + std::to_string(d));
    require(S >= 1, "gsrq: need S >= 1");
    require(opts.K >= 2, "gsrq: need K >= 2");
    require(opts.train_beam >= 1, "gsrq: need train_beam >= 1");
    const int P = d / D;
    const std::size_t nsub = n * static_cast<std::size_t>(P);

    GsrqTrainResult res;
    codecs::GsrqCodebooks& cb = res.codebooks;
    cb.d = d;
    cb.D = D;
    cb.K = opts.K;
    cb.S = S;
    cb.shared = opts.shared;
    cb.method = to_string(opts.kmeans.method);

    // Sub-vectors, position-major: sub[(p * n + i) * D + t] = x[i * d + p * D + t], so that
    // each position's samples are contiguous; resid is what the next stage is trained on.
    std::vector<double> sub(nsub * D);
    for (int p = 0; p < P; ++p)
        for (std::size_t i = 0; i < n; ++i)
            for (int t = 0; t < D; ++t)
                sub[(p * n + i) * D + t] = x[i * static_cast<std::size_t>(d) + p * D + t];
    std::vector<double> resid = sub;
    std::vector<double> wsub;
    if (w) {
        wsub.resize(nsub);
        for (int p = 0; p < P; ++p)
            std::copy(w, w + n, wsub.begin() + static_cast<std::ptrdiff_t>(p * n));
    }

    KmeansOptions ko = opts.kmeans;
    ko.K = opts.K;
    for (int s = 0; s < S; ++s) {
        GsrqStageStats gs;
        gs.stage = s;
        std::vector<codecs::BlockCodebook> books;
        const int groups = opts.shared ? 1 : P;
        const std::size_t per = opts.shared ? nsub : n;
        for (int p = 0; p < groups; ++p) {
            ko.seed = opts.kmeans.seed + 1000003ull * static_cast<std::uint64_t>(s) +
                      static_cast<std::uint64_t>(p);
            KmeansResult kr = kmeans(&resid[p * per * D], per, D, w ? &wsub[p * per] : nullptr, ko);
            books.push_back(kr.codebook);
            gs.positions.push_back(std::move(kr));
        }
        for (const auto& kr : gs.positions) {
            gs.stats.distortion += kr.stats.distortion / groups;
            gs.stats.mean_cosine += kr.stats.mean_cosine / groups;
            gs.stats.shrinkage += kr.stats.shrinkage / groups;
            gs.stats.shrinkage_global += kr.stats.shrinkage_global / groups;
            gs.stats.empty += kr.stats.empty;
        }
        cb.stages.push_back(std::move(books));

        // Residuals after stages 0..s, searched as the encoder does.
        std::vector<double> err(nsub);
        chunks(nsub, 1024, [&](std::size_t, std::size_t b, std::size_t e) {
            std::vector<const codecs::BlockCodebook*> st(static_cast<std::size_t>(s) + 1);
            std::vector<std::uint32_t> idx(st.size());
            std::vector<double> rec(D);
            for (std::size_t j = b; j < e; ++j) {
                const int p = static_cast<int>(j / n);
                for (int t = 0; t <= s; ++t) st[t] = &cb.stages[t][opts.shared ? 0 : p];
                err[j] =
                    codecs::rq_search(st, &sub[j * D], opts.train_beam, idx.data(), rec.data());
                for (int t = 0; t < D; ++t) resid[j * D + t] = sub[j * D + t] - rec[t];
            }
        });
        double num = 0, den = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double wi = w ? w[i] : 1.0;
            double e = 0;
            for (int p = 0; p < P; ++p) e += err[p * n + i];
            num += wi * e;
            den += wi;
        }
        gs.mse_per_coord = num / den / d;
        res.stages.push_back(std::move(gs));
    }
    codecs::validate(cb);
    return res;
}

}  // namespace fq::train
