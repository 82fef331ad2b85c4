#include "fq/train/tcq_train.hpp"

#include <cmath>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"

namespace fq::train {

namespace {
constexpr std::size_t k_chunk = 64;  // vectors per parallel chunk

// Paths (as states) and squared errors of every vector, in parallel; deterministic.
void assign_all(const codecs::TrellisSearch& search, int d, const std::vector<float>& x,
                std::vector<std::uint32_t>* states, std::vector<double>& err) {
    const auto du = static_cast<std::size_t>(d);
    const std::size_t n = x.size() / du, T = static_cast<std::size_t>(search.steps());
    err.assign(n, 0.0);
    if (states) states->assign(n * T, 0);
    core::parallel_chunks(n, k_chunk, [&](std::size_t, std::size_t b, std::size_t e) {
        codecs::TrellisWorkspace w;
        codecs::TrellisPath path;
        std::vector<float> y(du);
        std::vector<std::uint32_t> st(T);
        for (std::size_t i = b; i < e; ++i) {
            const float* xi = &x[i * du];
            search.encode(xi, w, path);
            search.decode(path, y.data(), st.data());
            double s = 0;
            for (std::size_t j = 0; j < du; ++j) {
                const double diff = static_cast<double>(xi[j]) - y[j];
                s += diff * diff;
            }
            err[i] = s / static_cast<double>(d);  // per unit vector (x = sqrt(d) z)
            if (states) std::copy(st.begin(), st.end(), states->begin() + static_cast<long>(i * T));
        }
    });
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}
}  // namespace

std::vector<float> tcq_source_samples(int d, std::size_t n, std::uint64_t seed,
                                      std::uint64_t stream) {
    core::Rng rng(seed, stream);
    const auto du = static_cast<std::size_t>(d);
    std::vector<float> x(n * du);
    std::vector<double> g(du);
    const double scale = std::sqrt(static_cast<double>(d));
    for (std::size_t i = 0; i < n; ++i) {
        double nn = 0;
        for (auto& v : g) {
            v = rng.normal();
            nn += v * v;
        }
        const double f = scale / std::sqrt(nn);
        for (std::size_t j = 0; j < du; ++j) x[i * du + j] = static_cast<float>(g[j] * f);
    }
    return x;
}

double tcq_distortion(const codecs::Trellis& t, int d, const std::vector<float>& x) {
    const codecs::TrellisSearch search(t, d / t.V);
    std::vector<double> err;
    assign_all(search, d, x, nullptr, err);
    return mean(err);
}

TcqTrainResult train_tcq(const TcqParams& params,
                         const std::function<void(const std::string&, double)>& progress) {
    TcqTrainResult r;
    TcqParams p = params;
    require(p.K >= 1 && p.K <= 8 && p.L >= p.K && p.L <= 20 && p.V >= 1 && p.V <= 8,
            "tcq: need 1 <= K <= 8, K <= L <= 20, 1 <= V <= 8");
    require(p.d >= 2 && p.d % p.V == 0, "tcq: d must be a multiple of V");
    require(p.max_iter >= 1 && p.tol >= 0, "tcq: max_iter >= 1 and tol >= 0");
    const int T = p.d / p.V;
    if (p.train_vectors == 0)
        p.train_vectors =
            std::max<std::size_t>(1024, (std::size_t{256} << p.L) / static_cast<std::size_t>(T));
    if (p.val_vectors == 0) p.val_vectors = p.train_vectors / 2;
    r.params = p;

    codecs::Trellis& t = r.trellis;
    t.L = p.L;
    t.K = p.K;
    t.V = p.V;
    t.lut.resize(static_cast<std::size_t>(t.states()) * static_cast<std::size_t>(p.V));
    core::Rng rng(p.seed, 0);
    for (float& v : t.lut) v = static_cast<float>(rng.normal());
    codecs::validate(t);

    const std::vector<float> train = tcq_source_samples(p.d, p.train_vectors, p.seed, 1);
    const std::vector<float> val = tcq_source_samples(p.d, p.val_vectors, p.seed, 2);
    const auto du = static_cast<std::size_t>(p.d);
    const std::size_t n = p.train_vectors, Tn = static_cast<std::size_t>(T);
    const std::size_t V = static_cast<std::size_t>(p.V);
    std::vector<std::uint32_t> states;
    std::vector<double> err;
    double prev = 0;
    for (int it = 0; it < p.max_iter; ++it) {
        if (progress) progress("tcq Lloyd", static_cast<double>(it) / p.max_iter);
        const codecs::TrellisSearch search(t, T);
        assign_all(search, p.d, train, &states, err);
        const double dist = mean(err);
        if (it == 0) r.init_distortion = dist;
        // Means of the tuples landing on each state, in vector order.
        std::vector<double> sum(t.lut.size(), 0.0);
        std::vector<std::size_t> count(t.states(), 0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t s = 0; s < Tn; ++s) {
                const std::uint32_t st = states[i * Tn + s];
                ++count[st];
                for (std::size_t v = 0; v < V; ++v) sum[st * V + v] += train[i * du + s * V + v];
            }
        TcqIteration rec;
        rec.iter = it;
        rec.train_distortion = dist;
        for (std::size_t st = 0; st < count.size(); ++st) {
            if (count[st] == 0) {
                ++rec.empty_states;
                continue;
            }
            for (std::size_t v = 0; v < V; ++v)
                t.lut[st * V + v] =
                    static_cast<float>(sum[st * V + v] / static_cast<double>(count[st]));
        }
        r.iterations.push_back(rec);
        if (it > 0 && prev > 0 && (prev - dist) / prev < p.tol) break;
        prev = dist;
    }
    if (progress) progress("tcq Lloyd", 1.0);
    r.train_distortion = tcq_distortion(t, p.d, train);
    r.val_distortion = tcq_distortion(t, p.d, val);
    return r;
}

}  // namespace fq::train
