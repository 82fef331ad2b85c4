// The tasks behind fq-eval dump mode (tasks/eval): the documented columns, evaluate_dump on a
// small GQA dump against hand-computed expectations, and run_eval on a compressed file
// (decoded in memory, no temporary file) against the same evaluation of its decoded dump.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/report.hpp"
#include "fq/metrics/fidelity.hpp"
#include "fq/metrics/stats.hpp"
#include "fq/tasks/decode.hpp"
#include "fq/tasks/encode.hpp"
#include "fq/tasks/eval.hpp"

#include "test_support.hpp"

using fq::io::Table;
using fq::test::TempDir;

namespace {

const std::string k_sample = std::string(FQ_SOURCE_DIR) + "/data/sample_kv_d64.h5";
const std::string k_4seg = std::string(FQ_SOURCE_DIR) + "/data/sample_kv_d64_4seg.h5";

// A deterministic "decoder": x (1 + 0.1 n1) + 0.05 n2, n ~ N(0, 1) seeded by the dataset.
std::vector<float> perturbed(const fq::io::DatasetInfo& info, const std::vector<float>& x) {
    fq::core::Rng rng(17, static_cast<std::uint64_t>(info.layer * 4 + static_cast<int>(info.kind)));
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        y[i] = static_cast<float>(x[i] * (1 + 0.1 * rng.normal()) + 0.05 * rng.normal());
    return y;
}

// Every attention metric of the whole dump (means over all queries of all layers and query
// heads) and the keys' inner-product bias and RMSE, computed plainly: for each sequence (a
// list of token indices), query t of the sequence sees its keys 0..t.
struct Plain {
    double kl = 0, top1 = 0, top5 = 0, score = 0, prob = 0, out = 0, ip_bias = 0, ip_ms = 0;
    std::size_t queries = 0;
};

double plain_cos(const std::vector<double>& a, const std::vector<double>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    if (aa == 0 && bb == 0) return 1;
    if (aa == 0 || bb == 0) return 0;
    return ab / std::sqrt(aa * bb);
}

Plain plain_attention(const fq::io::KvDumpReader& dump,
                      const std::vector<std::vector<std::int64_t>>& sequences) {
    Plain p;
    for (int layer = 0; layer < 5; ++layer) {
        const std::string L = "layer_" + std::to_string(layer) + "/";
        const auto qi = dump.info(L + "q"), ki = dump.info(L + "k"), vi = dump.info(L + "v");
        const auto q = dump.read_all(qi), k = dump.read_all(ki), v = dump.read_all(vi);
        const auto kh = perturbed(ki, k), vh = perturbed(vi, v);
        const std::size_t T = ki.tokens, d = ki.d;
        const double c = 1 / std::sqrt(static_cast<double>(d));
        for (int qh = 0; qh < qi.heads; ++qh) {
            const std::size_t h = qh / (qi.heads / ki.heads);
            const auto at = [&](const std::vector<float>& x, std::size_t head, std::int64_t t,
                                std::size_t i) {
                return static_cast<double>(x[(head * T + t) * d + i]);
            };
            for (const auto& seq : sequences)
                for (std::size_t t = 0; t < seq.size(); ++t) {
                    const std::size_t n = t + 1;
                    std::vector<double> s(n), sh(n);
                    double e_sum = 0, e_sq = 0;
                    for (std::size_t j = 0; j < n; ++j) {
                        for (std::size_t i = 0; i < d; ++i) {
                            s[j] += at(q, qh, seq[t], i) * at(k, h, seq[j], i);
                            sh[j] += at(q, qh, seq[t], i) * at(kh, h, seq[j], i);
                        }
                        e_sum += sh[j] - s[j];
                        e_sq += (sh[j] - s[j]) * (sh[j] - s[j]);
                    }
                    const auto softmax = [&](const std::vector<double>& x) {
                        double mx = x[0];
                        for (double e : x) mx = std::max(mx, e);
                        std::vector<double> pr(n);
                        double z = 0;
                        for (std::size_t j = 0; j < n; ++j) z += pr[j] = std::exp(c * (x[j] - mx));
                        for (double& e : pr) e /= z;
                        return pr;
                    };
                    const auto pp = softmax(s), ph = softmax(sh);
                    double kl = 0;
                    for (std::size_t j = 0; j < n; ++j)
                        if (pp[j] > 0) kl += pp[j] * std::log(pp[j] / ph[j]);
                    const auto rank = [&](const std::vector<double>& x) {
                        std::vector<std::size_t> idx(n);
                        for (std::size_t j = 0; j < n; ++j) idx[j] = j;
                        std::stable_sort(idx.begin(), idx.end(),
                                         [&](std::size_t a, std::size_t b) { return x[a] > x[b]; });
                        return idx;
                    };
                    const auto r = rank(s), rh = rank(sh);
                    std::size_t common = 0;
                    const std::size_t top = std::min<std::size_t>(5, n);
                    for (std::size_t a = 0; a < top; ++a)
                        for (std::size_t b = 0; b < top; ++b) common += r[a] == rh[b];
                    std::vector<double> o(d), oh(d);
                    for (std::size_t j = 0; j < n; ++j)
                        for (std::size_t i = 0; i < d; ++i) {
                            o[i] += pp[j] * at(v, h, seq[j], i);
                            oh[i] += ph[j] * at(vh, h, seq[j], i);
                        }
                    p.kl += std::max(kl, 0.0);
                    p.top1 += r[0] == rh[0];
                    p.top5 += static_cast<double>(common) / static_cast<double>(top);
                    p.score += plain_cos(s, sh);
                    p.prob += plain_cos(pp, ph);
                    p.out += plain_cos(o, oh);
                    p.ip_bias += e_sum / static_cast<double>(n);
                    p.ip_ms += e_sq / static_cast<double>(n);
                    ++p.queries;
                }
        }
    }
    for (double* x : {&p.kl, &p.top1, &p.top5, &p.score, &p.prob, &p.out, &p.ip_bias, &p.ip_ms})
        *x /= static_cast<double>(p.queries);
    return p;
}

// A tiny GQA dump: 1 layer, 4 query heads, 2 KV heads, T tokens, d = 8, random values.
std::string write_gqa_dump(const std::string& dir, int T) {
    const std::string path = dir + "/gqa.h5";
    fq::io::KvDumpWriter w(path);
    unsigned state = 12345;
    const auto rnd = [&] {
        state = state * 1103515245u + 12345u;
        return static_cast<float>((state >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    };
    for (const auto& [name, heads] :
         {std::pair{"layer_0/q", 4}, std::pair{"layer_0/k", 2}, std::pair{"layer_0/v", 2}}) {
        std::vector<float> x(static_cast<std::size_t>(heads) * T * 8);
        for (auto& e : x) e = rnd();
        w.create(name, heads, T, 8);
        w.write(name, fq::io::Slab{0, heads, 0, T}, x.data());
    }
    w.commit();
    return path;
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

// Sets an environment variable for the lifetime of the object.
struct ScopedEnv {
    std::string name, old;
    bool had = false;
    ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
        if (const char* v = std::getenv(name.c_str())) {
            had = true;
            old = v;
        }
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (had)
            ::setenv(name.c_str(), old.c_str(), 1);
        else
            ::unsetenv(name.c_str());
    }
};

}  // namespace

TEST_SUITE("eval") {
    TEST_CASE("Pareto frontier of (compression, fidelity)") {
        const std::vector<double> x = {2, 4, 4, 8, 3, 16};
        const std::vector<double> y = {0.999, 0.99, 0.98, 0.95, 0.97, 0.5};
        const auto f = fq::tasks::pareto_front(x, y);
        CHECK(f == std::vector<bool>{true, true, false, true, false, true});
    }

    TEST_CASE("eval columns are the documented ones") {
        const auto& c = fq::tasks::eval_columns();
        REQUIRE(c.size() == 39);
        CHECK(c.front() == "codec");
        CHECK(c[9] == "compression_ratio");
        CHECK(c.back() == "out_cos_min");
    }

    TEST_CASE("evaluate_dump: GQA mapping, causal masking, row layout, refusal claim") {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "fq_test_report.XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        const int T = 16;
        const fq::io::KvDumpReader dump(write_gqa_dump(tmpl, T));
        // Decoding changes only the keys of KV head 1 at the last token (t = T-1).
        const fq::tasks::DecodeFn decode = [&](const fq::io::DatasetInfo& info,
                                               const std::vector<float>& x) {
            std::vector<float> y = x;
            if (info.kind == fq::io::KvKind::k)
                for (int i = 0; i < 8; ++i)
                    y[(static_cast<std::size_t>(1) * T + (T - 1)) * 8 + i] += 0.5f;
            return y;
        };
        fq::tasks::CodecLabel codec;
        codec.k.nominal_bits = codec.k.achieved_bits = 2.25;
        codec.v.nominal_bits = codec.v.achieved_bits = 2.25;
        const auto ev = fq::tasks::evaluate_dump(dump, decode, codec, {});
        const Table& t = ev.table;
        CHECK(ev.queries_in_dump);
        CHECK(ev.n_heads == 4);
        CHECK(ev.n_kv_heads == 2);
        // 3 overall + 3 per layer + 2 K + 2 V + 4 attention rows
        REQUIRE(t.rows.size() == 14);
        CHECK(t.text(0, "tensor") == "k");
        CHECK(t.text(2, "tensor") == "attn");
        CHECK(t.real(2, "queries") == 4 * T);
        CHECK(t.real(0, "compression_ratio") == doctest::Approx(16 / 2.25));
        for (std::size_t r = 6; r < t.rows.size(); ++r) {
            const std::string tensor = t.text(r, "tensor");
            const double head = t.real(r, "head");
            if (tensor == "k") {
                CHECK((t.real(r, "mse") > 0) == (head == 1));
            } else if (tensor == "v") {
                CHECK(t.real(r, "mse") == 0);
            } else {
                // Query heads 0, 1 read KV head 0 (untouched); 2, 3 read KV head 1, where only
                // the last query sees the changed key: KL > 0 but only for 1 query in T.
                const double kl = t.real(r, "kl");
                if (head < 2) {
                    CHECK(kl == 0);
                    CHECK(t.real(r, "out_cos") == doctest::Approx(1.0).epsilon(1e-12));
                } else {
                    CHECK(kl > 0);
                    CHECK(t.real(r, "top1") >= (T - 1.0) / T);
                }
            }
        }
        const auto claim = fq::tasks::claim_of(ev, codec);
        CHECK(claim.total_sq_error == doctest::Approx(8 * 0.25));
        CHECK(fq::io::refusal_reason(claim).empty());
        const auto same = fq::tasks::evaluate_dump(
            dump, [](const fq::io::DatasetInfo&, const std::vector<float>& x) { return x; }, codec,
            {});
        CHECK(fq::io::zero_distortion_reason(fq::tasks::claim_of(same, codec)) != "");
        std::filesystem::remove_all(tmpl);
    }

    TEST_CASE(
        "fq-eval -c decodes in memory: same metrics as -d on its decoded dump, no temp file") {
        TempDir tmp;
        for (const char* spec : {"scalar:bits=2", "int:bits=4,group=32"}) {
            CAPTURE(spec);
            fq::tasks::EncodeOptions eo;
            eo.input = k_sample;
            eo.output = tmp / "c.fq.h5";
            eo.k_codec = eo.v_codec = spec;
            eo.force = true;
            eo.verbosity = -1;
            fq::tasks::run_encode(eo);
            fq::tasks::DecodeOptions dopt;
            dopt.input = eo.output;
            dopt.output = tmp / "decoded.h5";
            dopt.force = true;
            dopt.verbosity = -1;
            fq::tasks::run_decode(dopt);

            const std::string temp_dir = tmp / "tmpdir";
            std::filesystem::create_directories(temp_dir);
            fq::tasks::EvalOptions e;
            e.input = k_sample;
            e.compressed = eo.output;
            e.json = tmp / "c.json";
            e.verbosity = -1;
            {
                const ScopedEnv env("TMPDIR", temp_dir);
                fq::tasks::run_eval(e);
            }
            CHECK(std::filesystem::is_empty(temp_dir));
            e.compressed.clear();
            e.decoded = dopt.output;
            e.json = tmp / "d.json";
            fq::tasks::run_eval(e);

            const nlohmann::json c = read_json(tmp / "c.json"), d = read_json(tmp / "d.json");
            REQUIRE(c["rows"].size() == d["rows"].size());
            std::size_t compared = 0;
            for (std::size_t r = 0; r < c["rows"].size(); ++r)
                for (const char* col : {"mse", "nmse", "cos_mean", "ip_rmse", "kl", "top1",
                                        "out_cos", "score_cos", "prob_cos"}) {
                    const auto& a = c["rows"][r];
                    if (!a.contains(col)) continue;
                    CAPTURE(r);
                    CAPTURE(col);
                    CHECK(a[col] == d["rows"][r][col]);
                    ++compared;
                }
            CHECK(compared > 20);
            // The compressed path knows the rate; the decoded dump alone does not.
            CHECK(c["rate"]["k"]["nominal_bits"].get<double>() > 0);
            CHECK(d["rate"]["k"]["nominal_bits"].is_null());
        }
    }

    TEST_CASE("attention within each sequence of the 4-segment dump equals a plain loop") {
        const fq::io::KvDumpReader dump(k_4seg);
        fq::tasks::CodecLabel codec;
        fq::tasks::EvalSettings per_seq;  // sequences from the dump's segment_id
        const auto ev = fq::tasks::evaluate_dump(dump, perturbed, codec, per_seq);
        CHECK(ev.sequences == 4);
        CHECK(ev.sequence_source == "segment_id");
        fq::tasks::EvalSettings one;
        one.segment_len = 512;  // the whole dump as one sequence, as before
        const auto ev1 = fq::tasks::evaluate_dump(dump, perturbed, codec, one);
        CHECK(ev1.sequences == 1);

        std::vector<std::vector<std::int64_t>> four(4), all(1);
        for (std::int64_t t = 0; t < 512; ++t) {
            four[static_cast<std::size_t>(t / 128)].push_back(t);
            all[0].push_back(t);
        }
        const Plain want = plain_attention(dump, four), want1 = plain_attention(dump, all);
        for (const auto& [e, w] : {std::pair{&ev, &want}, std::pair{&ev1, &want1}}) {
            const Table& t = e->table;
            CHECK(t.text(2, "tensor") == "attn");
            CHECK(t.real(2, "queries") == static_cast<double>(w->queries));
            // Scores are computed in float (metrics/attention.hpp): 1e-6 relative, against a
            // plain double computation (observed differences ~3e-8).
            const auto close = [](double got, double exp) {
                return std::fabs(got - exp) <= 1e-6 * std::fabs(exp) + 1e-12;
            };
            CHECK(close(t.real(2, "kl"), w->kl));
            CHECK(close(t.real(2, "top1"), w->top1));
            CHECK(close(t.real(2, "top5"), w->top5));
            CHECK(close(t.real(2, "score_cos"), w->score));
            CHECK(close(t.real(2, "prob_cos"), w->prob));
            CHECK(close(t.real(2, "out_cos"), w->out));
            CHECK(t.text(0, "tensor") == "k");
            CHECK(close(t.real(0, "ip_bias"), w->ip_bias));
            CHECK(close(t.real(0, "ip_rmse"), std::sqrt(w->ip_ms)));
        }
        // Across sequences the answer is another one.
        CHECK(want1.kl > 1.2 * want.kl);
        CHECK(std::fabs(want1.out - want.out) > 1e-3);
    }

    TEST_CASE(
        "evaluate_dump streams head by head: any thread count, same as whole datasets, "
        "vector rows as summarize() over every vector") {
        const fq::io::KvDumpReader dump(k_sample);
        fq::tasks::CodecLabel codec;
        const auto g = [](float x) { return x + 0.05f * std::sin(7.0f * x) - 0.01f; };
        const fq::tasks::HeadDecodeFn by_head = [&](const fq::io::DatasetInfo& info, int,
                                                    const float* x, float* out) {
            const std::size_t n = static_cast<std::size_t>(info.tokens) * info.d;
            for (std::size_t i = 0; i < n; ++i) out[i] = g(x[i]);
        };
        const fq::tasks::DecodeFn whole = [&](const fq::io::DatasetInfo&,
                                              const std::vector<float>& x) {
            std::vector<float> y(x.size());
            for (std::size_t i = 0; i < x.size(); ++i) y[i] = g(x[i]);
            return y;
        };
        fq::tasks::EvalSettings settings;
        settings.stride = 3;
        const int saved = fq::core::max_threads();
        fq::core::set_threads(1);
        const auto ev1 = fq::tasks::evaluate_dump(dump, by_head, codec, settings);
        fq::core::set_threads(2);
        const auto ev2 = fq::tasks::evaluate_dump(dump, by_head, codec, settings);
        const auto ev3 = fq::tasks::evaluate_dump(dump, whole, codec, settings);
        fq::core::set_threads(saved);
        const std::string j1 = fq::io::to_json(ev1.table).dump();
        CHECK(j1 == fq::io::to_json(ev2.table).dump());
        CHECK(j1 == fq::io::to_json(ev3.table).dump());

        // The K rows (overall, layer 1, layer 1 head 1) against summarize() over their vectors.
        const Table& t = ev1.table;
        const auto row_of = [&](const std::string& layer, const std::string& head) {
            for (std::size_t r = 0; r < t.rows.size(); ++r)
                if (t.text(r, "tensor") == "k" && t.text(r, "layer") == layer &&
                    t.text(r, "head") == head)
                    return r;
            FAIL("no row");
            return std::size_t{0};
        };
        std::vector<double> all[3], layer1[3], head11[3];  // mse, nmse, cos
        for (const auto& info : dump.datasets()) {
            if (info.kind != fq::io::KvKind::k) continue;
            const std::vector<float> x = dump.read_all(info);
            std::vector<float> y(x.size());
            for (std::size_t i = 0; i < x.size(); ++i) y[i] = g(x[i]);
            const auto f = fq::metrics::vector_fidelity(
                x.data(), y.data(), static_cast<std::size_t>(info.heads) * info.tokens, info.d);
            const auto T = static_cast<std::size_t>(info.tokens);
            for (int m = 0; m < 3; ++m) {
                const auto& v = m == 0 ? f.mse : m == 1 ? f.nmse : f.cosine;
                all[m].insert(all[m].end(), v.begin(), v.end());
                if (info.layer == 1) {
                    layer1[m].insert(layer1[m].end(), v.begin(), v.end());
                    head11[m].insert(head11[m].end(), v.begin() + T, v.begin() + 2 * T);
                }
            }
        }
        for (const auto& [row, values] :
             {std::pair{row_of("all", "all"), &all}, std::pair{row_of("1", "all"), &layer1},
              std::pair{row_of("1", "1"), &head11}}) {
            CAPTURE(row);
            const auto mse = fq::metrics::summarize((*values)[0]);
            const auto nmse = fq::metrics::summarize((*values)[1]);
            const auto cos = fq::metrics::summarize((*values)[2]);
            CHECK(t.real(row, "vectors") == static_cast<double>(mse.n));
            CHECK(t.real(row, "mse") == doctest::Approx(mse.mean).epsilon(1e-15));
            CHECK(t.real(row, "mse_se") == doctest::Approx(mse.std_error).epsilon(1e-12));
            CHECK(t.real(row, "nmse") == doctest::Approx(nmse.mean).epsilon(1e-15));
            CHECK(t.real(row, "nmse_se") == doctest::Approx(nmse.std_error).epsilon(1e-12));
            CHECK(t.real(row, "cos_mean") == doctest::Approx(cos.mean).epsilon(1e-15));
            CHECK(t.real(row, "cos_se") == doctest::Approx(cos.std_error).epsilon(1e-12));
            CHECK(t.real(row, "cos_p5") == cos.p5);  // exact: the same order statistics
            CHECK(t.real(row, "cos_min") == cos.min);
        }
    }
}
