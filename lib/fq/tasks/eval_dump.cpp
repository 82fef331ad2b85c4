// evaluate_dump and the human summary: the metric core shared by `fq-eval` and
// `fq-eval sweep`.
#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <sstream>

#include "fq/core/error.hpp"
#include "fq/io/mpi_run.hpp"
#include "fq/io/sequences.hpp"
#include "fq/metrics/attention.hpp"
#include "fq/metrics/fidelity.hpp"
#include "fq/metrics/stats.hpp"
#include "fq/tasks/eval.hpp"
#include "fq/tasks/eval_accumulators.hpp"

namespace fq::tasks {

namespace {

using detail::Accumulators;
using detail::AttnAcc;
using detail::k_p5;
using detail::LowStats;
using detail::VectorAcc;

// The fixed chunks (tokens of one head) per-vector values are accumulated in: the moments
// depend on them, so they never depend on the slab size or the thread count.
constexpr std::size_t k_stat_chunk = 1024;

struct LayerData {
    const io::DatasetInfo* q = nullptr;
    const io::DatasetInfo* k = nullptr;
    const io::DatasetInfo* v = nullptr;
};

io::Cell scope_cell(int x) {
    return x < 0 ? io::Cell{std::string("all")} : io::Cell{static_cast<std::int64_t>(x)};
}

void set_rate(io::Table& t, std::size_t r, const RateInfo& rate) {
    t.set(r, "nominal_bits", rate.nominal_bits);
    t.set(r, "achieved_bits", rate.achieved_bits);
    const double bits = std::isnan(rate.achieved_bits) ? rate.nominal_bits : rate.achieved_bits;
    t.set(r, "compression_ratio", 16.0 / bits);
}

// The codec label and rate of one tensor ('k' or 'v') at a layer (-1: all layers).
std::pair<std::string, RateInfo> layer_codec(const CodecLabel& codec, char tensor, int layer) {
    const auto& m = tensor == 'k' ? codec.layers_k : codec.layers_v;
    if (const auto it = m.find(layer); layer >= 0 && it != m.end())
        return {it->second.name, it->second.rate};
    return {codec.name, tensor == 'k' ? codec.k : codec.v};
}

void set_common(io::Table& t, std::size_t r, const CodecLabel& codec, const char* tensor, int layer,
                int head) {
    const char which = tensor[0] == 'a' ? 'k' : tensor[0];
    t.set(r, "codec", layer_codec(codec, which, layer).first);
    t.set(r, "family", codec.family);
    t.set(r, "tensor", std::string(tensor));
    t.set(r, "layer", scope_cell(layer));
    t.set(r, "head", scope_cell(head));
}

void add_vector_row(io::Table& t, const CodecLabel& codec, const char* tensor, int layer, int head,
                    const VectorAcc& a, const RateInfo& rate, int d) {
    t.add_row();
    const std::size_t r = t.rows.size() - 1;
    set_common(t, r, codec, tensor, layer, head);
    const auto vectors = static_cast<double>(a.mse.count());
    t.set(r, "vectors", static_cast<std::int64_t>(a.mse.count()));
    set_rate(t, r, rate);
    if (!std::isnan(rate.achieved_bits))
        t.set(r, "bytes_coded", rate.achieved_bits * vectors * d / 8.0);
    t.set(r, "bytes_raw_f16", 2.0 * vectors * d);
    t.set(r, "mse", a.mse.mean());
    t.set(r, "mse_se", a.mse.std_error());
    const double nmse = a.nmse.mean();
    t.set(r, "nmse", nmse);
    t.set(r, "nmse_se", a.nmse.std_error());
    const double bits = std::isnan(rate.nominal_bits) ? rate.achieved_bits : rate.nominal_bits;
    if (!std::isnan(bits) && nmse > 0)
        t.set(r, "db_above_shannon", metrics::db_above_shannon(nmse, bits));
    t.set(r, "cos_mean", a.cos.mean());
    t.set(r, "cos_se", a.cos.std_error());
    t.set(r, "cos_p5", a.cos_low.p5);
    t.set(r, "cos_min", a.cos_low.min);
    if (a.ip_mean.size() > 0) {
        const auto b = a.ip_mean.summary();
        const auto ms = a.ip_mean_sq.summary();
        t.set(r, "queries", static_cast<std::int64_t>(b.n));
        t.set(r, "ip_bias", b.mean);
        t.set(r, "ip_bias_se", b.std_error);
        const double rmse = std::sqrt(ms.mean);
        t.set(r, "ip_rmse", rmse);
        t.set(r, "ip_rmse_se", rmse > 0 ? ms.std_error / (2 * rmse) : 0.0);
    }
}

void add_attn_row(io::Table& t, const CodecLabel& codec, int layer, int head, const AttnAcc& a,
                  const RateInfo& rate) {
    t.add_row();
    const std::size_t r = t.rows.size() - 1;
    set_common(t, r, codec, "attn", layer, head);
    set_rate(t, r, rate);
    const auto put = [&](const metrics::Accumulator& acc, const char* name, const char* se) {
        const auto s = acc.summary();
        t.set(r, name, s.mean);
        t.set(r, se, s.std_error);
        return s;
    };
    const auto kl = put(a.kl, "kl", "kl_se");
    t.set(r, "queries", static_cast<std::int64_t>(kl.n));
    put(a.top1, "top1", "top1_se");
    put(a.top5, "top5", "top5_se");
    put(a.score, "score_cos", "score_cos_se");
    put(a.prob, "prob_cos", "prob_cos_se");
    const auto out = put(a.out, "out_cos", "out_cos_se");
    t.set(r, "out_cos_p5", out.p5);
    t.set(r, "out_cos_min", out.min);
}

// K and V rates combined (mean over the coordinates of both tensors).
RateInfo combined_rate(const RateInfo& k, const RateInfo& v) {
    RateInfo r;
    r.nominal_bits = (k.nominal_bits + v.nominal_bits) / 2;
    r.achieved_bits = (k.achieved_bits + v.achieved_bits) / 2;
    r.padding_bits = std::max(k.padding_bits, v.padding_bits);
    r.bytes_coded = k.bytes_coded + v.bytes_coded;
    return r;
}

// The rows of a few (T, d) arrays at the tokens of one sequence, as (T_s, d) arrays: the
// arrays themselves at an offset when the tokens are consecutive, else gathered copies.
class SequenceRows {
public:
    SequenceRows(const std::vector<std::int64_t>& tok, int d, std::vector<const float*> arrays)
        : m_arrays(std::move(arrays)) {
        const auto dd = static_cast<std::size_t>(d);
        const bool run =
            tok.empty() || tok.back() - tok.front() + 1 == static_cast<std::int64_t>(tok.size());
        if (run) {
            const std::size_t off = tok.empty() ? 0 : static_cast<std::size_t>(tok.front()) * dd;
            for (const float*& p : m_arrays) p += off;
            return;
        }
        m_copies.resize(m_arrays.size());
        for (std::size_t a = 0; a < m_arrays.size(); ++a) {
            m_copies[a].resize(tok.size() * dd);
            for (std::size_t i = 0; i < tok.size(); ++i)
                std::copy_n(m_arrays[a] + static_cast<std::size_t>(tok[i]) * dd, dd,
                            m_copies[a].data() + i * dd);
            m_arrays[a] = m_copies[a].data();
        }
    }
    const float* get(std::size_t a) const { return m_arrays[a]; }

private:
    std::vector<const float*> m_arrays;
    std::vector<std::vector<float>> m_copies;
};

// Tokens per read of a dump: slabs of about 2^20 values whatever d, so the reader's
// buffers stay small (the values land in the head's buffer).
std::int64_t read_tokens(int d) {
    return std::max<std::int64_t>(1, (std::int64_t{1} << 20) / d);
}

// Head h of info's dataset into out: (tokens, d) row-major float, read a slab at a time and
// checked finite (NaN/Inf reported at their head and token).
void read_head(const io::KvDumpReader& dump, const io::DatasetInfo& info, int h, float* out) {
    const auto d = static_cast<std::size_t>(info.d);
    const std::int64_t step = read_tokens(info.d);
    for (std::int64_t t0 = 0; t0 < info.tokens; t0 += step) {
        const io::Slab slab{h, h + 1, t0, std::min(info.tokens, t0 + step)};
        float* x = out + static_cast<std::size_t>(t0) * d;
        dump.read(info, slab, x);
        io::check_finite(x, slab, info.d, dump.path(), info.path);
    }
}

// The per-vector statistics of one head: x, x_hat (T, d) row-major float. Moments over fixed
// chunks of k_stat_chunk tokens in token order; its cosines into its own tail (p5, minimum)
// and into its layer's and the whole dump's (layer_low, all_low).
void add_head_fidelity(VectorAcc& a, metrics::LowTail& layer_low, metrics::LowTail& all_low,
                       const float* x, const float* x_hat, std::size_t T, std::size_t d) {
    const metrics::VectorFidelity f = metrics::vector_fidelity(x, x_hat, T, d);
    for (double e : f.sq_error) a.sq_error += e;
    for (std::size_t c0 = 0; c0 < T; c0 += k_stat_chunk) {
        const std::size_t n = std::min(k_stat_chunk, T - c0);
        a.mse.add(std::span(f.mse).subspan(c0, n));
        a.nmse.add(std::span(f.nmse).subspan(c0, n));
        a.cos.add(std::span(f.cosine).subspan(c0, n));
    }
    metrics::LowTail head(metrics::LowTail::keep_for(k_p5, T));
    head.add(f.cosine);
    a.cos_low = LowStats::of(head);
    layer_low.add(f.cosine);
    all_low.add(f.cosine);
}

}  // namespace

const std::vector<std::string>& eval_columns() {
    static const std::vector<std::string> cols = {"codec",
                                                  "family",
                                                  "tensor",
                                                  "layer",
                                                  "head",
                                                  "vectors",
                                                  "queries",
                                                  "nominal_bits",
                                                  "achieved_bits",
                                                  "compression_ratio",
                                                  "bytes_coded",
                                                  "bytes_raw_f16",
                                                  "mse",
                                                  "mse_se",
                                                  "nmse",
                                                  "nmse_se",
                                                  "db_above_shannon",
                                                  "cos_mean",
                                                  "cos_se",
                                                  "cos_p5",
                                                  "cos_min",
                                                  "ip_bias",
                                                  "ip_bias_se",
                                                  "ip_rmse",
                                                  "ip_rmse_se",
                                                  "kl",
                                                  "kl_se",
                                                  "top1",
                                                  "top1_se",
                                                  "top5",
                                                  "top5_se",
                                                  "score_cos",
                                                  "score_cos_se",
                                                  "prob_cos",
                                                  "prob_cos_se",
                                                  "out_cos",
                                                  "out_cos_se",
                                                  "out_cos_p5",
                                                  "out_cos_min"};
    return cols;
}

DumpEvaluation evaluate_dump(const io::KvDumpReader& dump, const HeadDecodeFn& decode,
                             const CodecLabel& codec, const EvalSettings& settings,
                             const ScoreFn& scores) {
    std::map<int, LayerData> layers;
    for (const auto& info : dump.datasets()) {
        auto& L = layers[info.layer];
        if (info.kind == io::KvKind::q) L.q = &info;
        if (info.kind == io::KvKind::k) L.k = &info;
        if (info.kind == io::KvKind::v) L.v = &info;
    }
    DumpEvaluation ev;
    ev.table.columns = eval_columns();
    bool any_q = false, all_q = true;
    std::uint64_t vectors = 0;  // K vectors in the dump (V has as many): sizes the cosine tails
    for (const auto& [layer, L] : layers) {
        if (!L.k || !L.v)
            throw CorruptError(dump.path() + ": layer " + std::to_string(layer) +
                               ": needs both k and v datasets");
        any_q = any_q || L.q;
        all_q = all_q && L.q;
        vectors += static_cast<std::uint64_t>(L.k->heads) * static_cast<std::uint64_t>(L.k->tokens);
    }
    if (layers.empty()) throw CorruptError(dump.path() + ": no k/v datasets");
    if (any_q && !all_q)
        throw CorruptError(dump.path() + ": some layers have q datasets and others do not");
    ev.queries_in_dump = all_q;
    ev.estimated_scores = static_cast<bool>(scores);

    Accumulators acc;
    acc.k_all = acc.v_all = metrics::LowTail(metrics::LowTail::keep_for(k_p5, vectors));
    io::Sequences seqs;
    std::vector<std::vector<std::size_t>> seq_positions;  // per sequence, its query positions
    std::int64_t layer_index = 0;                         // MPI: whose layer
    std::exception_ptr failure;  // MPI: this rank's failure, agreed on after the layers
    // One KV head's arrays, (T, d) row-major float each, reused from head to head.
    std::vector<float> q, k, v, k_hat, v_hat;

    for (const auto& [layer, L] : layers) {
        const io::DatasetInfo& ki = *L.k;
        const io::DatasetInfo& vi = *L.v;
        if (vi.heads != ki.heads || vi.tokens != ki.tokens || vi.d != ki.d)
            throw CorruptError(dump.path() + ": layer " + std::to_string(layer) +
                               ": k and v shapes differ");
        const int d = ki.d;
        const std::int64_t T = ki.tokens;
        const int n_kv = ki.heads;
        if (ev.layers == 0) {
            ev.d = d;
            ev.tokens = T;
            ev.n_kv_heads = n_kv;
            seqs = io::find_sequences(dump, ki, settings.segment_len);
            ev.sequences = seqs.count();
            ev.sequence_source = seqs.source;
            ev.positions = 0;
            for (const auto& tok : seqs.tokens) {
                seq_positions.push_back(
                    metrics::select_positions(tok.size(), settings.stride, settings.last));
                ev.positions += seq_positions.back().size();
            }
        } else if (d != ev.d || T != ev.tokens || n_kv != ev.n_kv_heads) {
            throw CorruptError(dump.path() + ": layer " + std::to_string(layer) +
                               ": shape differs from the first layer");
        }
        ++ev.layers;
        int n_q = n_kv;
        if (L.q) {
            if (L.q->tokens != T || L.q->d != d)
                throw CorruptError(dump.path() + ": " + L.q->path + ": shape does not match k");
            n_q = L.q->heads;
        }
        if (ev.n_heads == 0) ev.n_heads = n_q;
        // Under an MPI run each rank evaluates the layers it owns (whole layers: every
        // accumulator below is one rank's, so gathering them gives the serial numbers).
        if (!io::mpi::owns(layer_index++) || failure) continue;
        try {
            const auto Tn = static_cast<std::size_t>(T);
            const auto dd = static_cast<std::size_t>(d);
            const std::size_t per_head = Tn * dd;
            for (auto* x : {&k, &v, &k_hat, &v_hat}) x->resize(per_head);
            if (L.q) q.resize(per_head);
            // GQA: the query heads reading each KV head, in increasing order.
            std::vector<std::vector<int>> queries_of(static_cast<std::size_t>(n_kv));
            for (int qh = 0; qh < n_q; ++qh)
                queries_of[metrics::kv_head_for_query_head(static_cast<std::size_t>(qh),
                                                           static_cast<std::size_t>(n_q),
                                                           static_cast<std::size_t>(n_kv))]
                    .push_back(qh);
            // The layer's smallest cosines (its p5 and minimum).
            const std::size_t keep_layer = metrics::LowTail::keep_for(
                k_p5, static_cast<std::uint64_t>(n_kv) * static_cast<std::uint64_t>(T));
            metrics::LowTail klayer(keep_layer), vlayer(keep_layer);

            for (int h = 0; h < n_kv; ++h) {
                const io::Slab head{h, h + 1, 0, T};
                read_head(dump, ki, h, k.data());
                read_head(dump, vi, h, v.data());
                decode(ki, h, k.data(), k_hat.data());
                io::check_finite(k_hat.data(), head, d, "decoded", ki.path);
                decode(vi, h, v.data(), v_hat.data());
                io::check_finite(v_hat.data(), head, d, "decoded", vi.path);
                VectorAcc& a = acc.k[{layer, h}];
                add_head_fidelity(a, klayer, acc.k_all, k.data(), k_hat.data(), Tn, dd);
                add_head_fidelity(acc.v[{layer, h}], vlayer, acc.v_all, v.data(), v_hat.data(), Tn,
                                  dd);

                for (const int qh : queries_of[static_cast<std::size_t>(h)]) {
                    if (L.q) read_head(dump, *L.q, qh, q.data());
                    const float* qp = L.q ? q.data() : k.data();
                    AttnAcc& at = acc.attn[{layer, qh}];
                    const std::vector<double> S =
                        scores ? scores(ki, h, qp) : std::vector<double>();
                    if (scores && S.size() != Tn * Tn)
                        throw UsageError("estimated scores of " + ki.path + " have the wrong size");
                    // Causal attention within each sequence: its tokens as a T_s-token
                    // sequence.
                    for (std::size_t si = 0; si < seqs.count(); ++si) {
                        const std::vector<std::int64_t>& tok = seqs.tokens[si];
                        const std::size_t n = tok.size();
                        const SequenceRows rows(
                            tok, d, {qp, k.data(), v.data(), k_hat.data(), v_hat.data()});
                        const float *qs = rows.get(0), *ks = rows.get(1), *vs = rows.get(2),
                                    *khs = rows.get(3), *vhs = rows.get(4);
                        metrics::AttentionOptions aopts;
                        aopts.positions = seq_positions[si];
                        metrics::AttentionMetrics m;
                        if (scores) {
                            // Estimated scores: the inner-product error is estimate - exact
                            // over the causal pairs of each evaluated query, averaged per query
                            // as below.
                            std::vector<double> Ss(n * n);
                            for (std::size_t i = 0; i < n; ++i)
                                for (std::size_t j = 0; j <= i; ++j)
                                    Ss[i * n + j] = S[static_cast<std::size_t>(tok[i]) * Tn +
                                                      static_cast<std::size_t>(tok[j])];
                            for (std::size_t t : aopts.positions) {
                                double sum = 0, sum_sq = 0;
                                for (std::size_t j = 0; j <= t; ++j) {
                                    double exact = 0;
                                    for (int i = 0; i < d; ++i)
                                        exact += static_cast<double>(
                                                     qs[t * dd + static_cast<std::size_t>(i)]) *
                                                 ks[j * dd + static_cast<std::size_t>(i)];
                                    const double e = Ss[t * n + j] - exact;
                                    sum += e;
                                    sum_sq += e * e;
                                }
                                a.ip_mean.add(sum / static_cast<double>(t + 1));
                                a.ip_mean_sq.add(sum_sq / static_cast<double>(t + 1));
                            }
                            m = metrics::attention_metrics_from_scores(
                                qs, ks, vs, metrics::score_rows_from_matrix(Ss.data(), n), vhs, n,
                                dd, aopts);
                        } else {
                            // The inner-product error from the attention pass's own sums of
                            // e = q.(k - k_hat) (one pass over the scores instead of two).
                            m = metrics::attention_metrics(qs, ks, vs, khs, vhs, n, dd, aopts);
                            const auto ip = metrics::inner_product_error_from(m);
                            a.ip_mean.add(ip.query_mean);
                            a.ip_mean_sq.add(ip.query_mean_sq);
                        }
                        at.kl.add(m.kl);
                        at.top1.add(m.top1);
                        at.top5.add(m.top5);
                        at.score.add(m.score_cosine);
                        at.prob.add(m.probability_cosine);
                        at.out.add(m.output_cosine);
                    }
                }
            }
            acc.k_layer[layer] = LowStats::of(klayer);
            acc.v_layer[layer] = LowStats::of(vlayer);
        } catch (...) {
            failure = std::current_exception();
        }
    }
    io::mpi::agree(failure);
    gather_accumulators(acc);

    // Rows: overall (K, V, attention), then per layer, then per layer and head.
    const RateInfo arate = combined_rate(codec.k, codec.v);
    VectorAcc kall, vall;
    AttnAcc aall;
    std::map<int, VectorAcc> klay, vlay;
    std::map<int, AttnAcc> alay;
    for (const auto& [key, a] : acc.k) kall.merge(a), klay[key.first].merge(a);
    for (const auto& [key, a] : acc.v) vall.merge(a), vlay[key.first].merge(a);
    for (const auto& [key, a] : acc.attn) aall.merge(a), alay[key.first].merge(a);
    kall.cos_low = LowStats::of(acc.k_all);
    vall.cos_low = LowStats::of(acc.v_all);
    for (const auto& [layer, low] : acc.k_layer) klay[layer].cos_low = low;
    for (const auto& [layer, low] : acc.v_layer) vlay[layer].cos_low = low;
    ev.sq_error_k = kall.sq_error;
    ev.sq_error_v = vall.sq_error;
    ev.raw_f16_bytes_k = 2.0 * static_cast<double>(kall.mse.count() + kall.mse.skipped()) * ev.d;
    ev.raw_f16_bytes_v = 2.0 * static_cast<double>(vall.mse.count() + vall.mse.skipped()) * ev.d;
    io::Table& t = ev.table;
    add_vector_row(t, codec, "k", -1, -1, kall, codec.k, ev.d);
    add_vector_row(t, codec, "v", -1, -1, vall, codec.v, ev.d);
    add_attn_row(t, codec, -1, -1, aall, arate);
    const auto rate_k = [&](int layer) { return layer_codec(codec, 'k', layer).second; };
    const auto rate_v = [&](int layer) { return layer_codec(codec, 'v', layer).second; };
    const auto rate_a = [&](int layer) { return combined_rate(rate_k(layer), rate_v(layer)); };
    for (const auto& [layer, a] : klay) {
        add_vector_row(t, codec, "k", layer, -1, a, rate_k(layer), ev.d);
        add_vector_row(t, codec, "v", layer, -1, vlay[layer], rate_v(layer), ev.d);
        add_attn_row(t, codec, layer, -1, alay[layer], rate_a(layer));
    }
    for (const auto& [key, a] : acc.k)
        add_vector_row(t, codec, "k", key.first, key.second, a, rate_k(key.first), ev.d);
    for (const auto& [key, a] : acc.v)
        add_vector_row(t, codec, "v", key.first, key.second, a, rate_v(key.first), ev.d);
    for (const auto& [key, a] : acc.attn)
        add_attn_row(t, codec, key.first, key.second, a, rate_a(key.first));
    return ev;
}

DumpEvaluation evaluate_dump(const io::KvDumpReader& dump, const DecodeFn& decode,
                             const CodecLabel& codec, const EvalSettings& settings,
                             const ScoreFn& scores) {
    // The decoded datasets of the layer being evaluated, each decoded whole once.
    std::map<std::string, std::vector<float>> decoded;
    int decoded_layer = -1;
    const HeadDecodeFn by_head = [&](const io::DatasetInfo& info, int h, const float*, float* out) {
        if (info.layer != decoded_layer) decoded.clear(), decoded_layer = info.layer;
        auto it = decoded.find(info.path);
        if (it == decoded.end()) {
            const std::vector<float> x = dump.read_all(info);
            io::check_finite(x.data(), io::full_slab(info), info.d, dump.path(), info.path);
            std::vector<float> y = decode(info, x);
            if (y.size() != x.size())
                throw CorruptError(dump.path() + ": layer " + std::to_string(info.layer) +
                                   ": decoded tensor has the wrong size");
            it = decoded.emplace(info.path, std::move(y)).first;
        }
        const std::size_t per_head =
            static_cast<std::size_t>(info.tokens) * static_cast<std::size_t>(info.d);
        std::copy_n(it->second.data() + static_cast<std::size_t>(h) * per_head, per_head, out);
    };
    return evaluate_dump(dump, by_head, codec, settings, scores);
}

io::ResultClaim claim_of(const DumpEvaluation& ev, const CodecLabel& codec) {
    io::ResultClaim c;
    c.lossy = true;
    c.total_sq_error = ev.sq_error_k + ev.sq_error_v;
    const RateInfo r = combined_rate(codec.k, codec.v);
    c.nominal_bits = r.nominal_bits;
    c.achieved_bits = r.achieved_bits;
    c.padding_bits = r.padding_bits;
    return c;
}

}  // namespace fq::tasks
