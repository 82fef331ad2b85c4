#include "fq/metrics/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/metrics/attention_kernels.hpp"
#include "fq/metrics/fidelity.hpp"

namespace fq::metrics {

namespace {

using detail::k_panel;
using detail::KernelIsa;
using detail::Kernels;
using detail::RowTile;
using detail::Top5;

// Query positions per parallel chunk, and keys per tile: a chunk's rows meet the keys one
// tile at a time (scores, weights, outputs), so the tile's keys and values (4 x 128 KB at
// d = 128) stay in L2 while all of the chunk's queries use them (with the chunk's score and
// weight tiles, 4 x 132 KB, and outputs: each phase under 1 MB). Every per-query value
// depends only on its own row and the tile boundaries (multiples of k_key_tile), never on
// which other queries share its chunk: results are the same for any chunk size, position
// subset or thread count.
constexpr std::size_t k_query_chunk = 120;
constexpr std::size_t k_score_chunk = 16;  // approximate scores: materialised rows, less memory
constexpr std::size_t k_key_tile = 256;
constexpr std::size_t k_top = 5;
// x = c e spans at most k_near over a row (max - min): the centred expm1 forms below neither
// overflow nor lose weights; beyond it the direct forms (two log-sum-exps) are used.
constexpr float k_near = 30.0f;

struct RowState {
    float m = -std::numeric_limits<float>::infinity();   // running max of c s
    float mh = -std::numeric_limits<float>::infinity();  // running max of c s_hat
    float x0 = 0;                                        // centre of the expm1 sums
    float xmin = std::numeric_limits<float>::infinity();
    float xmax = -std::numeric_limits<float>::infinity();
    double sum[detail::k_sums] = {};
    double dsum[detail::k_dsums] = {};
    Top5 top_s, top_sh;
};

// Moves the centre of the expm1 sums by delta (y -> y - delta, u = e^-y -> e^delta u): exact
// identities, each term computed directly (no difference of large terms).
void recentre(double* s, double delta) {
    using namespace detail;
    const double em = std::expm1(delta), ed = 1 + em;
    const double z = s[k_sum_z], a = s[k_sum_wy], b = s[k_sum_wr], ww = s[k_sum_ww],
                 g1 = s[k_sum_wwg], g2 = s[k_sum_wgwg];
    s[k_sum_wy] = a - delta * z;                        // sum w (y - delta)
    s[k_sum_wr] = b + (em - delta) * z + em * (b - a);  // sum w r(y - delta)
    s[k_sum_wwg] = em * ww + ed * g1;                   // sum w^2 (e^delta u - 1)
    s[k_sum_wgwg] = em * em * ww + 2 * em * ed * g1 + ed * ed * g2;
}

// Everything a chunk reads: checked and packed once per call.
struct Inputs {
    const Kernels* kern;
    std::size_t T, d;
    float c;  // score scale in float
    const float *q, *k, *v, *v_hat;
    const float* k_hat;  // null: approximate scores
    // The whole head's keys as panels of k and of k - k_hat, when several query chunks will
    // read each tile (packed once); empty: each chunk packs the tiles it reads.
    std::vector<float> kp, dkp;
    const ScoreRowFn* score_hat;
};

std::size_t round_up(std::size_t n, std::size_t step) {
    return (n + step - 1) / step * step;
}

double cosine_of(const float* a, const float* b, std::size_t n) {
    std::vector<double> x(a, a + n), y(b, b + n);
    return cosine_similarity(x.data(), y.data(), n);
}

// The metrics of one query from its row state (len = t + 1 keys).
void finish_row(const RowState& st, std::size_t len, const float* o, const float* oh, std::size_t d,
                std::size_t i, AttentionMetrics& out) {
    using namespace detail;
    const double* s = st.sum;
    const double Z = s[k_sum_z], ww = s[k_sum_ww];
    double kl = 0, pcos = 1;
    if (len > 1) {
        if (st.xmax - st.xmin <= k_near) {
            // With y = x - x0 (any centre x0: p_hat is unchanged), p_hat_j = p_j u_j / E_p[u],
            // u = e^{-y} = 1 + g, r = g + y; with a = E_p[y], b = E_p[r]:
            //   KL = E_p[y] + log E_p[u] = a + log1p(b - a),
            //   cos(p, p_hat) = sum p^2 u / sqrt(sum p^2 sum p^2 u^2),
            // where r and g come from y itself: nothing cancels when y is small.
            const double a = s[k_sum_wy] / Z, b = s[k_sum_wr] / Z;
            kl = a + std::log1p(b - a);
            const double g1 = s[k_sum_wwg], g2 = s[k_sum_wgwg];
            pcos = (ww + g1) / std::sqrt(ww * (ww + 2 * g1 + g2));
        } else {
            // log p_j - log p_hat_j = x_j - (m - m_hat) - log Z + log Z_hat, x_j = y_j + x0.
            kl = s[k_sum_wy] / Z + double(st.x0) - (double(st.m) - double(st.mh)) +
                 std::log(s[k_sum_zh]) - std::log(Z);
            pcos = s[k_sum_wwh] / std::sqrt(ww * s[k_sum_whwh]);
        }
    }
    out.kl[i] = std::max(0.0, kl);
    out.probability_cosine[i] = std::clamp(pcos, -1.0, 1.0);

    // Score cosine from s and e (sums of exact products in double: 1 - cos keeps the precision
    // of s and e); zero vectors as in cosine_similarity.
    const double ss = st.dsum[k_dsum_ss], se = st.dsum[k_dsum_se], ee = st.dsum[k_dsum_ee];
    const double shsh = std::max(0.0, ss - 2 * se + ee);  // sum s_hat^2, s_hat = s - e
    double scos;
    if (ss == 0 && shsh == 0)
        scos = 1;
    else if (ss == 0 || shsh == 0)
        scos = 0;
    else
        scos = (ss - se) / std::sqrt(ss * shsh);
    out.score_cosine[i] = std::clamp(scos, -1.0, 1.0);

    out.top1[i] = st.top_s.idx[0] == st.top_sh.idx[0] ? 1.0 : 0.0;
    if (len <= k_top) {
        out.top5[i] = 1.0;  // both top sets hold every key
    } else {
        std::size_t common = 0;
        for (std::size_t a = 0; a < k_top; ++a)
            for (std::size_t b = 0; b < k_top; ++b)
                common += static_cast<std::size_t>(st.top_s.idx[a] == st.top_sh.idx[b]);
        out.top5[i] = static_cast<double>(common) / static_cast<double>(k_top);
    }
    if (o != nullptr) out.output_cosine[i] = cosine_of(o, oh, d);
    if (!out.ip_sum.empty()) {
        // e here is s - s_hat = q . (k - k_hat): the inner-product error with its sign flipped.
        out.ip_sum[i] = -st.dsum[k_dsum_e];
        out.ip_sum_sq[i] = st.dsum[k_dsum_ee];
        out.ip_sum_4[i] = s[k_sum_e4];
    }
}

// Queries pos[0..rows) (increasing), results into out at index first.
void run_chunk(const Inputs& in, const std::size_t* pos, std::size_t rows, std::size_t first,
               AttentionMetrics& out) {
    const Kernels& kern = *in.kern;
    const std::size_t d = in.d, nk = k_key_tile;
    const bool with_output = in.v != nullptr;
    // Row blocks start at the first row a tile reaches, so buffers have a block of spare rows.
    const std::size_t cap = rows + std::max(kern.rows_step, kern.out_rows_step);
    std::vector<float> qt(d * cap, 0.0f), S(cap * nk, 0.0f), E(cap * nk, 0.0f), Wt(cap * nk, 0.0f),
        Wh(cap * nk, 0.0f);
    std::vector<float> SH(in.score_hat != nullptr ? cap * nk : 0, 0.0f);
    std::vector<float> O(with_output ? cap * d : 0, 0.0f), Oh(O.size(), 0.0f);
    // Without the head's panels: the tile's keys as panels of k and of k - k_hat, packed
    // here (memory O(tile), not O(T d): long dumps at a few positions copy no whole head).
    const bool own_tiles = in.kp.empty();
    std::vector<float> kp(own_tiles ? nk * d : 0), dkp(own_tiles && in.k_hat ? nk * d : 0);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t i = 0; i < d; ++i) qt[i * cap + r] = in.q[pos[r] * d + i];
    std::vector<RowState> st(rows);

    // Approximate scores: the chunk's rows, read once (row r holds keys 0..pos[r]).
    const std::size_t last = pos[rows - 1], ld_hat = last + 1;
    std::vector<double> shat;
    if (in.score_hat != nullptr) {
        shat.assign(rows * ld_hat, 0.0);
        for (std::size_t r = 0; r < rows; ++r) {
            double* row = shat.data() + r * ld_hat;
            (*in.score_hat)(pos[r], row);
            for (std::size_t j = 0; j <= pos[r]; ++j)
                if (!std::isfinite(row[j]) || std::fabs(row[j]) > 1e30)
                    throw NumericError(
                        "attention metrics: non-finite (or beyond float range) approximate "
                        "score for query " +
                        std::to_string(pos[r]));
        }
    }

    std::vector<std::size_t> len(rows);
    std::size_t r0 = 0;
    for (std::size_t j0 = 0; j0 <= last; j0 += nk) {
        while (pos[r0] < j0) ++r0;
        for (std::size_t r = r0; r < rows; ++r) len[r] = std::min(nk, pos[r] + 1 - j0);
        const std::size_t width = round_up(len[rows - 1], k_panel);
        const float* kt = own_tiles ? kp.data() : in.kp.data() + j0 * d;
        const float* dkt = in.k_hat == nullptr ? nullptr
                           : own_tiles         ? dkp.data()
                                               : in.dkp.data() + j0 * d;
        if (own_tiles) {
            detail::pack_panels(in.k, nullptr, in.T, j0, width, d, kp.data());
            if (in.k_hat != nullptr)
                detail::pack_panels(in.k, in.k_hat, in.T, j0, width, d, dkp.data());
        }

        // Scores (and differences) for the active rows, up to each block's last valid panel.
        for (std::size_t b = r0; b < rows; b += kern.rows_step) {
            const std::size_t lastrow = std::min(rows, b + kern.rows_step) - 1;
            kern.scores(qt.data() + b, cap, kern.rows_step, d, kt, dkt,
                        round_up(len[lastrow], k_panel) / k_panel, S.data() + b * nk,
                        E.data() + b * nk, nk);
        }
        if (!shat.empty()) {
            for (std::size_t r = r0; r < rows; ++r) {
                const double* hr = shat.data() + r * ld_hat + j0;
                for (std::size_t j = 0; j < len[r]; ++j) {
                    E[r * nk + j] = static_cast<float>(double(S[r * nk + j]) - hr[j]);
                    SH[r * nk + j] = static_cast<float>(hr[j]);
                }
            }
        }

        // Weights and sums, rescaling each row's running sums to its new maxima.
        for (std::size_t r = r0; r < rows; ++r) {
            RowState& rs = st[r];
            RowTile t{};
            t.s = S.data() + r * nk;
            t.e = E.data() + r * nk;
            t.sh = SH.empty() ? nullptr : SH.data() + r * nk;
            t.len = len[r];
            t.width = width;
            t.j0 = static_cast<std::uint32_t>(j0);
            t.c = in.c;
            t.m_old = rs.m;
            t.mh_old = rs.mh;
            t.x0_old = rs.x0;
            t.top_s = &rs.top_s;
            t.top_sh = &rs.top_sh;
            t.w = Wt.data() + r * nk;
            t.wh = Wh.data() + r * nk;
            kern.row_tile(t);
            using namespace detail;
            if (rs.m == -std::numeric_limits<float>::infinity()) {
                rs.x0 = t.x0;  // first tile: the sums are still 0
            } else if (t.x0 != rs.x0) {
                recentre(rs.sum, double(t.x0) - double(rs.x0));
                rs.x0 = t.x0;
            }
            if (t.m != rs.m) {
                const double a = std::exp(double(rs.m) - double(t.m));
                for (int k : {k_sum_z, k_sum_wy, k_sum_wr, k_sum_wwh}) rs.sum[k] *= a;
                for (int k : {k_sum_ww, k_sum_wwg, k_sum_wgwg}) rs.sum[k] *= a * a;
                if (with_output)
                    for (std::size_t i = 0; i < d; ++i) O[r * d + i] *= static_cast<float>(a);
                rs.m = t.m;
            }
            if (t.mh != rs.mh) {
                const double a = std::exp(double(rs.mh) - double(t.mh));
                rs.sum[k_sum_zh] *= a;
                rs.sum[k_sum_wwh] *= a;
                rs.sum[k_sum_whwh] *= a * a;
                if (with_output)
                    for (std::size_t i = 0; i < d; ++i) Oh[r * d + i] *= static_cast<float>(a);
                rs.mh = t.mh;
            }
            for (int k = 0; k < k_sums; ++k) {
                double acc = 0;
                for (std::size_t l = 0; l < k_panel; ++l) acc += t.sums[k][l];
                rs.sum[k] += acc;
            }
            for (int k = 0; k < k_dsums; ++k) {
                double acc = 0;
                for (std::size_t l = 0; l < k_panel; ++l) acc += t.dsums[k][l];
                rs.dsum[k] += acc;
            }
            rs.xmin = std::min(rs.xmin, t.xmin);
            rs.xmax = std::max(rs.xmax, t.xmax);
        }

        // Outputs: o += w v, o_hat += w_hat v_hat over the tile's keys (weights past a row's
        // own keys are 0), all active rows in one call so that each block of v is reused from
        // L1 by every row.
        if (with_output) {
            const std::size_t n = rows - r0, keys = len[rows - 1];
            kern.accumulate(Wt.data() + r0 * nk, nk, n, keys, in.v + j0 * d, d, O.data() + r0 * d);
            kern.accumulate(Wh.data() + r0 * nk, nk, n, keys, in.v_hat + j0 * d, d,
                            Oh.data() + r0 * d);
        }
    }

    for (std::size_t r = 0; r < rows; ++r)
        finish_row(st[r], pos[r] + 1, with_output ? O.data() + r * d : nullptr,
                   with_output ? Oh.data() + r * d : nullptr, d, first + r, out);
}

// Largest |x| over n values (in parallel); throws NumericError on a non-finite one.
float checked_max_abs(const float* x, std::size_t n, const char* what) {
    constexpr std::size_t chunk = 1 << 16;
    std::vector<float> mx(core::chunk_count(n, chunk), 0.0f);
    core::parallel_chunks(n, chunk, [&](std::size_t ci, std::size_t begin, std::size_t end) {
        float m = 0;
        for (std::size_t i = begin; i < end; ++i) {
            if (!std::isfinite(x[i]))
                throw NumericError(std::string("attention metrics: non-finite value in ") + what);
            m = std::max(m, std::fabs(x[i]));
        }
        mx[ci] = m;
    });
    return mx.empty() ? 0.0f : *std::max_element(mx.begin(), mx.end());
}

AttentionMetrics evaluate(KernelIsa isa, const float* q, const float* k, const float* k_hat,
                          const ScoreRowFn* score_hat, const float* v, const float* v_hat,
                          std::size_t T, std::size_t d, const AttentionOptions& opts) {
    require(d > 0, "attention metrics: d must be positive");
    require((v == nullptr) == (v_hat == nullptr),
            "attention metrics: give both v and v_hat, or neither");
    require(opts.scale >= 0 && std::isfinite(opts.scale),
            "attention metrics: scale must be finite and non-negative (0 = 1/sqrt(d))");
    require(T < (std::size_t{1} << 31), "attention metrics: too many tokens");
    const double c = opts.scale > 0 ? opts.scale : 1.0 / std::sqrt(static_cast<double>(d));

    AttentionMetrics out;
    out.positions = opts.positions.empty() ? select_positions(T) : opts.positions;
    const std::vector<std::size_t>& pos = out.positions;
    for (std::size_t i = 0; i < pos.size(); ++i) {
        require(pos[i] < T, "attention metrics: query position out of range");
        require(i == 0 || pos[i] > pos[i - 1],
                "attention metrics: query positions must be strictly increasing");
    }
    const std::size_t nq = pos.size();

    Inputs in{};
    in.kern = &detail::kernels(isa);
    in.T = T;
    in.d = d;
    in.c = static_cast<float>(c);
    in.q = q;
    in.v = v;
    in.v_hat = v_hat;
    in.score_hat = score_hat;
    const float qmax = checked_max_abs(q, T * d, "q");
    float kmax = checked_max_abs(k, T * d, "k");
    if (v != nullptr) {
        checked_max_abs(v, T * d, "v");
        checked_max_abs(v_hat, T * d, "v_hat");
    }
    in.k = k;
    in.k_hat = k_hat;
    if (k_hat != nullptr) kmax = std::max(kmax, checked_max_abs(k_hat, T * d, "k_hat"));
    // Scores are float sums of d products: refuse inputs whose scores could overflow.
    if (static_cast<double>(qmax) * 2 * kmax * static_cast<double>(d) * c > 1e37)
        throw NumericError("attention metrics: values too large for float scores");

    out.kl.resize(nq);
    out.top1.resize(nq);
    out.top5.resize(nq);
    out.score_cosine.resize(nq);
    out.probability_cosine.resize(nq);
    if (v != nullptr) out.output_cosine.resize(nq);
    if (k_hat != nullptr) {
        out.ip_sum.resize(nq);
        out.ip_sum_sq.resize(nq);
        out.ip_sum_4.resize(nq);
    }

    const std::size_t chunk = score_hat != nullptr ? k_score_chunk : k_query_chunk;
    // More than two query chunks would pack every tile more than twice: pack the head once
    // (2 T d floats; the same values, so the same results either way).
    if (core::chunk_count(nq, chunk) > 2) {
        const std::size_t padded = round_up(T, k_key_tile);
        in.kp.assign(padded * d, 0.0f);
        if (k_hat != nullptr) in.dkp.assign(padded * d, 0.0f);
        core::parallel_chunks(
            padded / k_key_tile, 1, [&](std::size_t, std::size_t b, std::size_t e) {
                for (std::size_t t = b; t < e; ++t) {
                    const std::size_t j0 = t * k_key_tile;
                    detail::pack_panels(k, nullptr, T, j0, k_key_tile, d, in.kp.data() + j0 * d);
                    if (k_hat != nullptr)
                        detail::pack_panels(k, k_hat, T, j0, k_key_tile, d, in.dkp.data() + j0 * d);
                }
            });
    }
    core::parallel_chunks(nq, chunk, [&](std::size_t, std::size_t begin, std::size_t end) {
        run_chunk(in, pos.data() + begin, end - begin, begin, out);
    });
    return out;
}

}  // namespace

std::size_t kv_head_for_query_head(std::size_t h, std::size_t n_heads, std::size_t n_kv_heads) {
    require(n_kv_heads > 0 && n_heads % n_kv_heads == 0,
            "GQA: " + std::to_string(n_heads) + " query heads cannot share " +
                std::to_string(n_kv_heads) + " KV heads evenly");
    require(h < n_heads, "GQA: query head " + std::to_string(h) + " out of range (" +
                             std::to_string(n_heads) + " heads)");
    return h / (n_heads / n_kv_heads);
}

std::vector<std::size_t> select_positions(std::size_t T, std::size_t stride, std::size_t last) {
    require(stride > 0, "select_positions: stride must be positive");
    const std::size_t first = (last > 0 && last < T) ? T - last : 0;
    std::vector<std::size_t> out;
    if (T == 0) return out;
    // Anchored at T - 1 so the query with the most keys is always evaluated.
    const std::size_t offset = (T - 1 - first) % stride;
    for (std::size_t t = first + offset; t < T; t += stride) out.push_back(t);
    return out;
}

InnerProductError inner_product_error_from(const AttentionMetrics& m) {
    const std::size_t n = m.positions.size();
    require(m.ip_sum.size() == n && m.ip_sum_sq.size() == n && m.ip_sum_4.size() == n,
            "inner_product_error_from: the metrics carry no inner-product sums (approximate "
            "scores?)");
    InnerProductError out;
    out.query_mean.resize(n);
    out.query_mean_sq.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t pairs = m.positions[i] + 1;
        out.pairs += pairs;
        out.sum += m.ip_sum[i];
        out.sum_sq += m.ip_sum_sq[i];
        out.sum_4 += m.ip_sum_4[i];
        out.query_mean[i] = m.ip_sum[i] / static_cast<double>(pairs);
        out.query_mean_sq[i] = m.ip_sum_sq[i] / static_cast<double>(pairs);
    }
    return out;
}

ScoreRowFn score_rows_from_matrix(const double* s_hat, std::size_t T) {
    return [s_hat, T](std::size_t t, double* row) {
        require(t < T, "score_rows_from_matrix: query position out of range");
        std::copy(s_hat + t * T, s_hat + t * T + t + 1, row);
    };
}

AttentionMetrics attention_metrics(const float* q, const float* k, const float* v,
                                   const float* k_hat, const float* v_hat, std::size_t T,
                                   std::size_t d, const AttentionOptions& opts) {
    return evaluate(detail::default_isa(), q, k, k_hat, nullptr, v, v_hat, T, d, opts);
}

AttentionMetrics attention_metrics_from_scores(const float* q, const float* k, const float* v,
                                               const ScoreRowFn& score_hat, const float* v_hat,
                                               std::size_t T, std::size_t d,
                                               const AttentionOptions& opts) {
    require(static_cast<bool>(score_hat), "attention metrics: empty score function");
    return evaluate(detail::default_isa(), q, k, nullptr, &score_hat, v, v_hat, T, d, opts);
}

namespace detail {

AttentionMetrics attention_metrics_isa(KernelIsa isa, const float* q, const float* k,
                                       const float* v, const float* k_hat, const float* v_hat,
                                       std::size_t T, std::size_t d, const AttentionOptions& opts) {
    return evaluate(isa, q, k, k_hat, nullptr, v, v_hat, T, d, opts);
}

AttentionMetrics attention_metrics_from_scores_isa(KernelIsa isa, const float* q, const float* k,
                                                   const float* v, const ScoreRowFn& score_hat,
                                                   const float* v_hat, std::size_t T, std::size_t d,
                                                   const AttentionOptions& opts) {
    require(static_cast<bool>(score_hat), "attention metrics: empty score function");
    return evaluate(isa, q, k, nullptr, &score_hat, v, v_hat, T, d, opts);
}

}  // namespace detail

}  // namespace fq::metrics
