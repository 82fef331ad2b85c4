#include "fq/train/fib_train.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fq/codecs/nearest.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/source/spherical_beta.hpp"

namespace fq::train {

namespace {

// Independent seeds for the training sample, the validation sample and each restart's
// jitter, derived from the user's seed and the block dimension (so a tail codebook trained
// for r coordinates does not reuse the main codebook's samples).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t tag, int k) {
    std::uint64_t s = seed ^ (tag * 0xD1B54A32D192ED03ULL) ^ (static_cast<std::uint64_t>(k) << 48);
    return core::splitmix64(s);
}
constexpr std::uint64_t k_tag_train = 1, k_tag_val = 2, k_tag_jitter = 3;

// Mean distance from each codeword to its nearest other codeword.
double mean_spacing(const codecs::BlockCodebook& cb) {
    double total = 0;
    for (int i = 0; i < cb.N; ++i) {
        double best = std::numeric_limits<double>::infinity();
        for (int j = 0; j < cb.N; ++j) {
            if (j == i) continue;
            double d2 = 0;
            for (int t = 0; t < cb.k; ++t) {
                const double diff = cb.codeword(i)[t] - cb.codeword(j)[t];
                d2 += diff * diff;
            }
            best = std::min(best, d2);
        }
        total += std::sqrt(best);
    }
    return total / cb.N;
}

codecs::BlockCodebook jittered(const codecs::BlockCodebook& cb, double amplitude,
                               std::uint64_t seed) {
    core::Rng rng(seed);
    codecs::BlockCodebook out = cb;
    const double sigma = amplitude / std::sqrt(static_cast<double>(cb.k));
    for (int n = 0; n < cb.N; ++n) {
        double* c = out.codeword(n);
        double norm2 = 0;
        for (int t = 0; t < cb.k; ++t) {
            c[t] += sigma * rng.normal();
            norm2 += c[t] * c[t];
        }
        // Keep codewords inside the unit ball, where all the source mass lies.
        if (norm2 >= 1.0) {
            const double s = 0.999 / std::sqrt(norm2);
            for (int t = 0; t < cb.k; ++t) c[t] *= s;
        }
    }
    return out;
}

// Scales cb by the MSE-optimal common gain for its nearest-codeword cells, three times
// (each fit and reassignment can only lower the distortion). Returns the total scale.
double fit_scale(codecs::BlockCodebook& cb, const double* y, std::size_t n) {
    double total = 1.0;
    for (int pass = 0; pass < 3; ++pass) {
        const codecs::NearestCodeword search(cb);
        constexpr std::size_t chunk = 8192;
        const std::size_t nchunks = core::chunk_count(n, chunk);
        std::vector<double> dots(nchunks), norms(nchunks);
        core::parallel_chunks(n, chunk, [&](std::size_t c, std::size_t b, std::size_t e) {
            std::vector<std::uint32_t> idx(e - b);
            std::vector<double> d2(e - b);
            search.assign(y + b * cb.k, e - b, idx.data(), d2.data());
            double dot = 0, nn = 0;
            for (std::size_t i = b; i < e; ++i) {
                const double* cw = cb.codeword(static_cast<int>(idx[i - b]));
                for (int t = 0; t < cb.k; ++t) {
                    dot += y[i * cb.k + t] * cw[t];
                    nn += cw[t] * cw[t];
                }
            }
            dots[c] = dot;
            norms[c] = nn;
        });
        double dot = 0, nn = 0;
        for (std::size_t c = 0; c < nchunks; ++c) {
            dot += dots[c];
            nn += norms[c];
        }
        if (!(nn > 0) || !(dot > 0)) break;
        const double alpha = dot / nn;
        for (auto& v : cb.codewords) v *= alpha;
        total *= alpha;
    }
    return total;
}

BlockTrainResult train_block(const FibParams& p, int k, int N, const Progress& progress,
                             const std::string& stage, std::size_t M, std::size_t V) {
    const int d = p.d;
    const auto train = source::sample(d, k, M, derive_seed(p.seed, k_tag_train, k));
    const auto val = source::sample(d, k, V, derive_seed(p.seed, k_tag_val, k));
    BlockTrainResult res;

    // Structured initialisation. For k = 3 the shell count is chosen among the divisors of N
    // by the initial distortion on the training sample, unless given.
    int shells = p.k3_shells;
    if (k == 3 && shells == 0) {
        double best = std::numeric_limits<double>::infinity();
        for (int L = 1; L <= N; ++L) {
            if (N % L != 0 || N / L < 2) continue;
            const auto cb = codecs::init_multishell(d, N, L, p.radial);
            const double dist = mean_distortion(cb, train.data(), M);
            res.shell_choices.emplace_back(L, dist);
            if (dist < best) {
                best = dist;
                shells = L;
            }
        }
        if (shells == 0) shells = 1;
    }
    auto init = codecs::init_structured(d, k, N, p.radial, shells, &res.init_name);
    res.init_scale = fit_scale(init, train.data(), M);
    res.init_distortion = mean_distortion(init, train.data(), M);
    {
        // Control: N training samples as codewords (the usual k-means initialisation).
        codecs::BlockCodebook rnd{k, N, std::vector<double>(train.begin(), train.begin() + N * k)};
        res.random_init_distortion = mean_distortion(rnd, train.data(), M);
    }

    const double spacing = mean_spacing(init);
    LloydOptions opts;
    opts.max_iter = p.max_iter;
    opts.tol = p.tol;
    double best_val = std::numeric_limits<double>::infinity();
    for (int r = 0; r < p.restarts; ++r) {
        if (progress) progress(stage, static_cast<double>(r) / p.restarts);
        RestartStats st;
        st.restart = r;
        codecs::BlockCodebook cb = init;
        if (r > 0) {
            st.seed = derive_seed(p.seed, k_tag_jitter + 16 * static_cast<std::uint64_t>(r), k);
            cb = jittered(init, p.jitter * spacing, st.seed);
        }
        st.init_distortion = mean_distortion(cb, train.data(), M);
        lloyd_refine(cb, train.data(), M, opts, st);
        st.val_distortion = mean_distortion(cb, val.data(), V);
        if (st.val_distortion < best_val) {
            best_val = st.val_distortion;
            res.best_restart = r;
            res.codebook = cb;
            res.train_distortion = st.train_distortion;
            res.val_distortion = st.val_distortion;
        }
        res.restarts.push_back(std::move(st));
    }
    if (progress) progress(stage, 1.0);
    return res;
}

}  // namespace

int tail_codebook_size(int N, int k, int r) {
    const double b = std::log2(static_cast<double>(N)) / k;
    return std::max(2, static_cast<int>(std::lround(std::exp2(b * r))));
}

FibTrainResult train_fib(const FibParams& params, const Progress& progress) {
    const FibParams& p = params;
    require(p.d >= 2, "fib: need d >= 2");
    require(p.k >= 1 && p.k < p.d, "fib: need 1 <= k < d");
    require(p.N >= 2, "fib: need N >= 2");
    require(p.restarts >= 1, "fib: need at least one restart");
    require(p.max_iter >= 0, "fib: max_iter must be >= 0");
    require(p.tol >= 0, "fib: tol must be >= 0");
    require(p.jitter >= 0, "fib: jitter must be >= 0");
    require(p.k == 3 || p.k3_shells == 0, "fib: shells apply to k = 3 only");
    require(p.k3_shells == 0 || p.N % p.k3_shells == 0, "fib: shells must divide N");

    FibTrainResult out;
    out.params = p;
    out.train_samples =
        p.train_samples ? p.train_samples : std::max<std::size_t>(256 * std::size_t(p.N), 1 << 18);
    out.val_samples = p.val_samples ? p.val_samples : out.train_samples / 2;
    require(out.train_samples >= static_cast<std::size_t>(p.N),
            "fib: need at least N training samples");
    require(out.val_samples >= 1, "fib: need validation samples");

    const int blocks = p.d / p.k;
    const int r = p.d % p.k;
    out.main =
        train_block(p, p.k, p.N, progress, "main codebook", out.train_samples, out.val_samples);
    double bits = blocks * std::log2(static_cast<double>(p.N));
    out.train_total_mse = blocks * out.main.train_distortion;
    out.val_total_mse = blocks * out.main.val_distortion;
    if (r > 0) {
        const int Nr = tail_codebook_size(p.N, p.k, r);
        FibParams tp = p;
        tp.k3_shells = 0;
        const std::size_t Mr = std::max<std::size_t>(256 * std::size_t(Nr), 1 << 18);
        out.tail = train_block(tp, r, Nr, progress, "tail codebook", Mr, out.val_samples);
        bits += std::log2(static_cast<double>(Nr));
        out.train_total_mse += out.tail->train_distortion;
        out.val_total_mse += out.tail->val_distortion;
    }
    out.rate = bits / p.d;
    return out;
}

}  // namespace fq::train
