// evaluate_dump and the human summary: the metric core shared by `fq-eval` and
// `fq-eval sweep`.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <sstream>

#include "fq/core/error.hpp"
#include "fq/io/mpi_run.hpp"
#include "fq/io/sequences.hpp"
#include "fq/metrics/attention.hpp"
#include "fq/metrics/fidelity.hpp"
#include "fq/metrics/stats.hpp"
#include "fq/tasks/eval.hpp"

namespace fq::tasks {

namespace {

// Per-vector values of one group (a head, a layer, everything) of one tensor.
struct VectorAcc {
    metrics::Accumulator mse, nmse, cos, ip_mean, ip_mean_sq;
    double sq_error = 0;
    void merge(const VectorAcc& o) {
        mse.merge(o.mse);
        nmse.merge(o.nmse);
        cos.merge(o.cos);
        ip_mean.merge(o.ip_mean);
        ip_mean_sq.merge(o.ip_mean_sq);
        sq_error += o.sq_error;
    }
};

// Per-query values of one group of attention heads.
struct AttnAcc {
    metrics::Accumulator kl, top1, top5, score, prob, out;
    void merge(const AttnAcc& o) {
        kl.merge(o.kl);
        top1.merge(o.top1);
        top5.merge(o.top5);
        score.merge(o.score);
        prob.merge(o.prob);
        out.merge(o.out);
    }
};

// Accumulators as bytes (MPI gather): per entry its key, then each accumulator's values.
void put(std::vector<std::uint8_t>& b, const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), c, c + n);
}
void put_values(std::vector<std::uint8_t>& b, const metrics::Accumulator& a) {
    const std::uint64_t n = a.size();
    put(b, &n, sizeof n);
    put(b, a.values().data(), n * sizeof(double));
}
struct Bytes {
    const std::vector<std::uint8_t>& b;
    std::size_t at = 0;
    void get(void* p, std::size_t n) {
        if (n > b.size() - at) throw IoError("MPI: truncated accumulator message");
        std::copy_n(b.data() + at, n, static_cast<std::uint8_t*>(p));
        at += n;
    }
    void values(metrics::Accumulator& a) {
        std::uint64_t n = 0;
        get(&n, sizeof n);
        if (n > (b.size() - at) / sizeof(double))
            throw IoError("MPI: truncated accumulator message");
        std::vector<double> v(n);
        get(v.data(), n * sizeof(double));
        a.add(v);
    }
};

using Key = std::pair<int, int>;

// An entry's accumulators in a fixed order, and its extra sum (for the bytes).
std::array<metrics::Accumulator*, 5> parts(VectorAcc& a) {
    return {&a.mse, &a.nmse, &a.cos, &a.ip_mean, &a.ip_mean_sq};
}
std::array<metrics::Accumulator*, 6> parts(AttnAcc& a) {
    return {&a.kl, &a.top1, &a.top5, &a.score, &a.prob, &a.out};
}
double* extra(VectorAcc& a) {
    return &a.sq_error;
}
double* extra(AttnAcc&) {
    return nullptr;
}

template <class Acc>
void put_map(std::vector<std::uint8_t>& b, std::map<Key, Acc>& m) {
    const std::uint64_t n = m.size();
    put(b, &n, sizeof n);
    for (auto& [key, a] : m) {
        put(b, &key.first, sizeof key.first);
        put(b, &key.second, sizeof key.second);
        for (const metrics::Accumulator* x : parts(a)) put_values(b, *x);
        if (const double* e = extra(a)) put(b, e, sizeof *e);
    }
}

template <class Acc>
void get_map(Bytes& in, std::map<Key, Acc>& m) {
    std::uint64_t n = 0;
    in.get(&n, sizeof n);
    for (std::uint64_t i = 0; i < n; ++i) {
        Key key;
        in.get(&key.first, sizeof key.first);
        in.get(&key.second, sizeof key.second);
        Acc& a = m[key];
        for (metrics::Accumulator* x : parts(a)) in.values(*x);
        if (double* e = extra(a)) in.get(e, sizeof *e);
    }
}

// Under an MPI run: every rank's accumulators into the root's maps (the other ranks keep
// theirs, unused: only the root reports). Keys never collide (whole layers per rank).
void gather_accumulators(std::map<Key, VectorAcc>& kacc, std::map<Key, VectorAcc>& vacc,
                         std::map<Key, AttnAcc>& aacc) {
    if (io::mpi::size() == 1) return;
    std::vector<std::uint8_t> b;
    put_map(b, kacc);
    put_map(b, vacc);
    put_map(b, aacc);
    const std::vector<std::vector<std::uint8_t>> all = io::mpi::gather(b);
    for (std::size_t r = 1; r < all.size(); ++r) {
        Bytes in{all[r]};
        get_map(in, kacc);
        get_map(in, vacc);
        get_map(in, aacc);
    }
}

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
    const auto mse = a.mse.summary();
    const auto nmse = a.nmse.summary();
    const auto cos = a.cos.summary();
    t.set(r, "vectors", static_cast<std::int64_t>(mse.n));
    set_rate(t, r, rate);
    if (!std::isnan(rate.achieved_bits))
        t.set(r, "bytes_coded", rate.achieved_bits * static_cast<double>(mse.n) * d / 8.0);
    t.set(r, "bytes_raw_f16", 2.0 * static_cast<double>(mse.n) * d);
    t.set(r, "mse", mse.mean);
    t.set(r, "mse_se", mse.std_error);
    t.set(r, "nmse", nmse.mean);
    t.set(r, "nmse_se", nmse.std_error);
    const double bits = std::isnan(rate.nominal_bits) ? rate.achieved_bits : rate.nominal_bits;
    if (!std::isnan(bits) && nmse.mean > 0)
        t.set(r, "db_above_shannon", metrics::db_above_shannon(nmse.mean, bits));
    t.set(r, "cos_mean", cos.mean);
    t.set(r, "cos_se", cos.std_error);
    t.set(r, "cos_p5", cos.p5);
    t.set(r, "cos_min", cos.min);
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

const float* head_ptr(const std::vector<float>& x, int h, std::int64_t T, int d) {
    return x.data() + static_cast<std::size_t>(h) * static_cast<std::size_t>(T) * d;
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

DumpEvaluation evaluate_dump(const io::KvDumpReader& dump, const DecodeFn& decode,
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
    for (const auto& [layer, L] : layers) {
        if (!L.k || !L.v)
            throw CorruptError(dump.path() + ": layer " + std::to_string(layer) +
                               ": needs both k and v datasets");
        any_q = any_q || L.q;
        all_q = all_q && L.q;
    }
    if (layers.empty()) throw CorruptError(dump.path() + ": no k/v datasets");
    if (any_q && !all_q)
        throw CorruptError(dump.path() + ": some layers have q datasets and others do not");
    ev.queries_in_dump = all_q;
    ev.estimated_scores = static_cast<bool>(scores);

    std::map<std::pair<int, int>, VectorAcc> kacc, vacc;  // (layer, kv head)
    std::map<std::pair<int, int>, AttnAcc> aacc;          // (layer, query head)
    io::Sequences seqs;
    std::vector<std::vector<std::size_t>> seq_positions;  // per sequence, its query positions
    std::int64_t layer_index = 0;                         // MPI: whose layer
    std::exception_ptr failure;  // MPI: this rank's failure, agreed on after the layers

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
            const std::vector<float> k = dump.read_all(ki);
            const std::vector<float> v = dump.read_all(vi);
            io::check_finite(k.data(), io::full_slab(ki), d, dump.path(), ki.path);
            io::check_finite(v.data(), io::full_slab(vi), d, dump.path(), vi.path);
            std::vector<float> q;
            if (L.q) {
                q = dump.read_all(*L.q);
                io::check_finite(q.data(), io::full_slab(*L.q), d, dump.path(), L.q->path);
            }
            const std::vector<float> k_hat = decode(ki, k);
            const std::vector<float> v_hat = decode(vi, v);
            const std::size_t per_head = static_cast<std::size_t>(T) * d;
            if (k_hat.size() != k.size() || v_hat.size() != v.size())
                throw CorruptError(dump.path() + ": layer " + std::to_string(layer) +
                                   ": decoded tensor has the wrong size");
            io::check_finite(k_hat.data(), io::full_slab(ki), d, "decoded", ki.path);
            io::check_finite(v_hat.data(), io::full_slab(vi), d, "decoded", vi.path);

            for (int h = 0; h < n_kv; ++h) {
                for (int which = 0; which < 2; ++which) {
                    const auto& x = which == 0 ? k : v;
                    const auto& xh = which == 0 ? k_hat : v_hat;
                    auto f = metrics::vector_fidelity(head_ptr(x, h, T, d), head_ptr(xh, h, T, d),
                                                      static_cast<std::size_t>(T), d);
                    VectorAcc& a = (which == 0 ? kacc : vacc)[{layer, h}];
                    a.mse.add(f.mse);
                    a.nmse.add(f.nmse);
                    a.cos.add(f.cosine);
                    for (double e : f.sq_error) a.sq_error += e;
                }
            }
            for (int qh = 0; qh < n_q; ++qh) {
                const int h = static_cast<int>(metrics::kv_head_for_query_head(
                    static_cast<std::size_t>(qh), static_cast<std::size_t>(n_q),
                    static_cast<std::size_t>(n_kv)));
                const float* qp = L.q ? head_ptr(q, qh, T, d) : head_ptr(k, h, T, d);
                VectorAcc& a = kacc[{layer, h}];
                AttnAcc& at = aacc[{layer, qh}];
                const auto Tn = static_cast<std::size_t>(T);
                const std::vector<double> S = scores ? scores(ki, h, qp) : std::vector<double>();
                if (scores && S.size() != Tn * Tn)
                    throw UsageError("estimated scores of " + ki.path + " have the wrong size");
                // Causal attention within each sequence: its tokens as a T_s-token sequence.
                for (std::size_t si = 0; si < seqs.count(); ++si) {
                    const std::vector<std::int64_t>& tok = seqs.tokens[si];
                    const std::size_t n = tok.size();
                    const SequenceRows rows(tok, d,
                                            {qp, head_ptr(k, h, T, d), head_ptr(v, h, T, d),
                                             head_ptr(k_hat, h, T, d), head_ptr(v_hat, h, T, d)});
                    const float *qs = rows.get(0), *ks = rows.get(1), *vs = rows.get(2),
                                *khs = rows.get(3), *vhs = rows.get(4);
                    metrics::AttentionOptions aopts;
                    aopts.positions = seq_positions[si];
                    metrics::AttentionMetrics m;
                    if (scores) {
                        // Estimated scores: the inner-product error is estimate - exact over the
                        // causal pairs of each evaluated query, averaged per query as below.
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
                                    exact += static_cast<double>(qs[t * d + i]) * ks[j * d + i];
                                const double e = Ss[t * n + j] - exact;
                                sum += e;
                                sum_sq += e * e;
                            }
                            a.ip_mean.add(sum / static_cast<double>(t + 1));
                            a.ip_mean_sq.add(sum_sq / static_cast<double>(t + 1));
                        }
                        m = metrics::attention_metrics_from_scores(
                            qs, ks, vs, metrics::score_rows_from_matrix(Ss.data(), n), vhs, n, d,
                            aopts);
                    } else {
                        const auto ip = metrics::inner_product_error(
                            qs, n, ks, khs, n, d, metrics::PairSet::causal, aopts.positions);
                        a.ip_mean.add(ip.query_mean);
                        a.ip_mean_sq.add(ip.query_mean_sq);
                        m = metrics::attention_metrics(qs, ks, vs, khs, vhs, n, d, aopts);
                    }
                    at.kl.add(m.kl);
                    at.top1.add(m.top1);
                    at.top5.add(m.top5);
                    at.score.add(m.score_cosine);
                    at.prob.add(m.probability_cosine);
                    at.out.add(m.output_cosine);
                }
            }
            (void)per_head;
        } catch (...) {
            failure = std::current_exception();
        }
    }
    io::mpi::agree(failure);
    gather_accumulators(kacc, vacc, aacc);

    // Rows: overall (K, V, attention), then per layer, then per layer and head.
    const RateInfo arate = combined_rate(codec.k, codec.v);
    VectorAcc kall, vall;
    AttnAcc aall;
    std::map<int, VectorAcc> klay, vlay;
    std::map<int, AttnAcc> alay;
    for (const auto& [key, a] : kacc) kall.merge(a), klay[key.first].merge(a);
    for (const auto& [key, a] : vacc) vall.merge(a), vlay[key.first].merge(a);
    for (const auto& [key, a] : aacc) aall.merge(a), alay[key.first].merge(a);
    ev.sq_error_k = kall.sq_error;
    ev.sq_error_v = vall.sq_error;
    ev.raw_f16_bytes_k = 2.0 * static_cast<double>(kall.mse.size()) * ev.d;
    ev.raw_f16_bytes_v = 2.0 * static_cast<double>(vall.mse.size()) * ev.d;
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
    for (const auto& [key, a] : kacc)
        add_vector_row(t, codec, "k", key.first, key.second, a, rate_k(key.first), ev.d);
    for (const auto& [key, a] : vacc)
        add_vector_row(t, codec, "v", key.first, key.second, a, rate_v(key.first), ev.d);
    for (const auto& [key, a] : aacc)
        add_attn_row(t, codec, key.first, key.second, a, rate_a(key.first));
    return ev;
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
