#include "fq/model/llama.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"

namespace fq::model {

namespace {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMap = Eigen::Map<const Mat>;

// x (rows, n) -> RMSNorm(x) * w, row by row (sum of squares in double).
Mat rms_norm(const Mat& x, const std::vector<float>& w, double eps) {
    Mat out(x.rows(), x.cols());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
        double ss = 0;
        for (Eigen::Index i = 0; i < x.cols(); ++i) ss += static_cast<double>(x(r, i)) * x(r, i);
        const auto inv =
            static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(x.cols()) + eps));
        for (Eigen::Index i = 0; i < x.cols(); ++i)
            out(r, i) = x(r, i) * inv * w[static_cast<std::size_t>(i)];
    }
    return out;
}

// y = x W^T for W (out, in) row-major.
Mat linear(const Mat& x, const std::vector<float>& w, int out, int in) {
    const CMap W(w.data(), out, in);
    return x * W.transpose();
}

// RoPE on every head of x (T, heads * hd) in place.
void rope(Mat& x, int heads, int hd, const LlamaConfig& c) {
    const int half = hd / 2;
    std::vector<double> freq(static_cast<std::size_t>(half));
    for (int i = 0; i < half; ++i)
        freq[static_cast<std::size_t>(i)] = std::pow(c.rope_theta, -2.0 * i / hd);
    for (Eigen::Index t = 0; t < x.rows(); ++t)
        for (int i = 0; i < half; ++i) {
            const double a = static_cast<double>(t) * freq[static_cast<std::size_t>(i)];
            const auto cs = static_cast<float>(std::cos(a)), sn = static_cast<float>(std::sin(a));
            for (int h = 0; h < heads; ++h) {
                float* p = x.data() + t * x.cols() + h * hd;
                const int i0 = c.rope == RopeStyle::adjacent_pairs ? 2 * i : i;
                const int i1 = c.rope == RopeStyle::adjacent_pairs ? 2 * i + 1 : i + half;
                const float x0 = p[i0], x1 = p[i1];
                p[i0] = x0 * cs - x1 * sn;
                p[i1] = x0 * sn + x1 * cs;
            }
        }
}

// (T, heads * hd) token-major -> (heads, T, hd) head-major.
std::vector<float> head_major(const Mat& x, int heads, int hd) {
    const auto T = static_cast<std::size_t>(x.rows());
    std::vector<float> out(static_cast<std::size_t>(heads) * T * static_cast<std::size_t>(hd));
    for (std::size_t t = 0; t < T; ++t)
        for (int h = 0; h < heads; ++h)
            std::copy_n(x.data() + t * x.cols() + h * hd, hd,
                        out.data() + (static_cast<std::size_t>(h) * T + t) * hd);
    return out;
}

void check_size(const std::vector<float>& v, std::size_t want, const std::string& what) {
    if (v.size() != want)
        throw UsageError("model weights: " + what + " has " + std::to_string(v.size()) +
                         " values, expected " + std::to_string(want));
}

}  // namespace

void LlamaWeights::validate() const {
    const LlamaConfig& c = config;
    if (c.dim < 1 || c.n_layers < 1 || c.n_heads < 1 || c.n_kv_heads < 1 || c.hidden_dim < 1 ||
        c.vocab_size < 1 || c.seq_len < 1 || c.dim % c.n_heads != 0 ||
        c.n_heads % c.n_kv_heads != 0 || c.head_dim() % 2 != 0 || !(c.norm_eps > 0) ||
        !(c.rope_theta > 1))
        throw UsageError("model config: not a valid Llama (dim " + std::to_string(c.dim) +
                         ", heads " + std::to_string(c.n_heads) + ", kv heads " +
                         std::to_string(c.n_kv_heads) + ", hidden " + std::to_string(c.hidden_dim) +
                         ", layers " + std::to_string(c.n_layers) + ")");
    const auto D = static_cast<std::size_t>(c.dim), F = static_cast<std::size_t>(c.hidden_dim);
    const auto Q = static_cast<std::size_t>(c.n_heads * c.head_dim());
    const auto KV = static_cast<std::size_t>(c.n_kv_heads * c.head_dim());
    check_size(embedding, static_cast<std::size_t>(c.vocab_size) * D, "token embedding");
    if (layers.size() != static_cast<std::size_t>(c.n_layers))
        throw UsageError("model weights: " + std::to_string(layers.size()) + " layers, expected " +
                         std::to_string(c.n_layers));
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const LayerWeights& L = layers[l];
        const std::string p = "layer " + std::to_string(l) + " ";
        check_size(L.attn_norm, D, p + "attention norm");
        check_size(L.wq, Q * D, p + "wq");
        check_size(L.wk, KV * D, p + "wk");
        check_size(L.wv, KV * D, p + "wv");
        check_size(L.wo, D * Q, p + "wo");
        check_size(L.ffn_norm, D, p + "ffn norm");
        check_size(L.w1, F * D, p + "w1");
        check_size(L.w2, D * F, p + "w2");
        check_size(L.w3, F * D, p + "w3");
    }
    check_size(final_norm, D, "final norm");
    if (!classifier.empty())
        check_size(classifier, static_cast<std::size_t>(c.vocab_size) * D, "classifier");
}

std::vector<float> forward(const LlamaWeights& w, const std::vector<std::int32_t>& tokens,
                           const CacheHook* cache, ForwardRecord* record) {
    const LlamaConfig& c = w.config;
    const int hd = c.head_dim(), nh = c.n_heads, nkv = c.n_kv_heads;
    const auto T = static_cast<Eigen::Index>(tokens.size());
    if (T < 1 || T > c.seq_len)
        throw UsageError("model: a sequence of " + std::to_string(T) + " tokens (the context is " +
                         std::to_string(c.seq_len) + ")");
    Mat x(T, c.dim);
    for (Eigen::Index t = 0; t < T; ++t) {
        const std::int32_t id = tokens[static_cast<std::size_t>(t)];
        if (id < 0 || id >= c.vocab_size)
            throw UsageError("model: token id " + std::to_string(id) +
                             " outside the vocabulary of " + std::to_string(c.vocab_size));
        std::copy_n(w.embedding.data() + static_cast<std::size_t>(id) * c.dim, c.dim,
                    x.data() + t * c.dim);
    }
    if (record) *record = ForwardRecord{};
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const auto Tn = static_cast<std::size_t>(T);
    for (int l = 0; l < c.n_layers; ++l) {
        const LayerWeights& L = w.layers[static_cast<std::size_t>(l)];
        const Mat h = rms_norm(x, L.attn_norm, c.norm_eps);
        Mat q = linear(h, L.wq, nh * hd, c.dim);
        Mat k = linear(h, L.wk, nkv * hd, c.dim);
        const Mat v = linear(h, L.wv, nkv * hd, c.dim);
        rope(q, nh, hd, c);
        rope(k, nkv, hd, c);
        const std::vector<float> qh = head_major(q, nh, hd), kh = head_major(k, nkv, hd),
                                 vh = head_major(v, nkv, hd);
        std::vector<float> kc, vc, kw, vw;  // what the cache returns, its window copies
        if (cache) {
            kc.resize(kh.size());
            vc.resize(vh.size());
            kw.resize(kh.size());
            vw.resize(vh.size());
            cache->window(kh.data(), kh.size(), kw.data());
            cache->window(vh.data(), vh.size(), vw.data());
            cache->transform(l, 0, kh.data(), static_cast<std::size_t>(nkv), Tn,
                             static_cast<std::size_t>(hd), kc.data());
            cache->transform(l, 1, vh.data(), static_cast<std::size_t>(nkv), Tn,
                             static_cast<std::size_t>(hd), vc.data());
        }
        Mat o(T, nh * hd);
        core::parallel_chunks(
            static_cast<std::size_t>(nh), 1, [&](std::size_t, std::size_t h0, std::size_t h1) {
                for (std::size_t hq = h0; hq < h1; ++hq) {
                    const std::size_t g = hq / static_cast<std::size_t>(nh / nkv);
                    const CMap Q(qh.data() + hq * Tn * hd, T, hd);
                    // Exact entries read the window copies when there is a cache.
                    const float* ke = cache ? kw.data() : kh.data();
                    const float* ve = cache ? vw.data() : vh.data();
                    const CMap K(ke + g * Tn * hd, T, hd), V(ve + g * Tn * hd, T, hd);
                    Mat S = (Q * K.transpose()) * scale;  // exact scores
                    Mat P(T, T), Pc;                      // probabilities (exact, cached parts)
                    Mat Sc;
                    if (cache) {
                        const CMap Kc(kc.data() + g * Tn * hd, T, hd);
                        Sc = (Q * Kc.transpose()) * scale;
                        Pc = Mat::Zero(T, T);
                    }
                    P.setZero();
                    std::vector<char> use_exact(static_cast<std::size_t>(T));
                    for (Eigen::Index t = 0; t < T; ++t) {
                        float mx = -INFINITY;
                        for (Eigen::Index j = 0; j <= t; ++j) {
                            const bool ex =
                                !cache || cache->exact(l, 0, static_cast<std::size_t>(t),
                                                       static_cast<std::size_t>(j));
                            use_exact[static_cast<std::size_t>(j)] = ex;
                            mx = std::max(mx, ex ? S(t, j) : Sc(t, j));
                        }
                        double z = 0;
                        for (Eigen::Index j = 0; j <= t; ++j) {
                            const float s =
                                use_exact[static_cast<std::size_t>(j)] ? S(t, j) : Sc(t, j);
                            z += std::exp(static_cast<double>(s - mx));
                        }
                        for (Eigen::Index j = 0; j <= t; ++j) {
                            const bool ex = use_exact[static_cast<std::size_t>(j)];
                            const float s = ex ? S(t, j) : Sc(t, j);
                            const auto p =
                                static_cast<float>(std::exp(static_cast<double>(s - mx)) / z);
                            // Values: exact unless the cache says query t reads the cached one.
                            const bool vex =
                                !cache || cache->exact(l, 1, static_cast<std::size_t>(t),
                                                       static_cast<std::size_t>(j));
                            (vex ? P(t, j) : Pc(t, j)) = p;
                        }
                    }
                    Mat out = P * V;
                    if (cache) {
                        const CMap Vc(vc.data() + g * Tn * hd, T, hd);
                        out += Pc * Vc;
                    }
                    for (Eigen::Index t = 0; t < T; ++t)
                        std::copy_n(out.data() + t * hd, hd,
                                    o.data() + t * o.cols() + static_cast<Eigen::Index>(hq) * hd);
                }
            });
        x += linear(o, L.wo, c.dim, nh * hd);
        const Mat h2 = rms_norm(x, L.ffn_norm, c.norm_eps);
        Mat a = linear(h2, L.w1, c.hidden_dim, c.dim);
        const Mat b = linear(h2, L.w3, c.hidden_dim, c.dim);
        for (Eigen::Index i = 0; i < a.size(); ++i) {
            const float u = a.data()[i];
            a.data()[i] = u / (1.0f + std::exp(-u)) * b.data()[i];
        }
        x += linear(a, L.w2, c.dim, c.hidden_dim);
        if (record) {
            record->q.push_back(qh);
            record->k.push_back(kh);
            record->v.push_back(vh);
        }
    }
    const Mat hf = rms_norm(x, w.final_norm, c.norm_eps);
    const Mat logits =
        linear(hf, w.classifier.empty() ? w.embedding : w.classifier, c.vocab_size, c.dim);
    return std::vector<float>(logits.data(), logits.data() + logits.size());
}

}  // namespace fq::model
