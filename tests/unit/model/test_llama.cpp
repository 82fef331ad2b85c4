// model/llama and io/model_file against the checks of data/models/fq_stories_d64/README.md:
// the forward pass reproduces the dumped q, k, v of data/sample_kv_d64.h5 (float16
// precision), the next-token losses 1.51758 (sample tokens) and 1.56129 (the four segments
// of data/sample_kv_d64_4seg.h5), the greedy continuation of "Once upon a time"; the
// Hugging Face layout written by scripts/llama2c_to_hf.py (float32, float16, bfloat16)
// gives the same logits; a cache hook that returns its input changes nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/model_file.hpp"
#include "fq/metrics/prediction.hpp"
#include "fq/model/llama.hpp"

#include "test_support.hpp"

using namespace fq;
using fq::test::TempDir;

namespace {

const std::string k_root = FQ_SOURCE_DIR;
const std::string k_model = k_root + "/data/models/fq_stories_d64/fq_stories_d64.bin";
const std::string k_tok = k_root + "/data/models/fq_stories_d64/tok512.bin";

const model::LlamaWeights& weights() {
    static const model::LlamaWeights w = io::load_model(k_model);
    return w;
}

std::vector<std::int32_t> dump_tokens(const io::KvDumpReader& r) {
    std::vector<std::int32_t> out;
    for (std::int64_t x : r.read_integers("token_ids", 512))
        out.push_back(static_cast<std::int32_t>(x));
    return out;
}

// Mean next-token loss (nats) of the sequences, computed from the logits plainly.
double mean_nll(const std::vector<std::vector<std::int32_t>>& seqs) {
    double sum = 0;
    std::size_t n = 0;
    for (const auto& s : seqs) {
        const auto logits = model::forward(weights(), s);
        const std::size_t V = 512;
        for (std::size_t t = 0; t + 1 < s.size(); ++t) {
            const float* l = logits.data() + t * V;
            double mx = l[0];
            for (std::size_t i = 0; i < V; ++i) mx = std::max(mx, static_cast<double>(l[i]));
            double z = 0;
            for (std::size_t i = 0; i < V; ++i) z += std::exp(l[i] - mx);
            sum += mx + std::log(z) - l[static_cast<std::size_t>(s[t + 1])];
            ++n;
        }
    }
    return sum / static_cast<double>(n);
}

std::string python() {
    if (const char* p = std::getenv("FQ_PYTHON")) return p;
    return std::system("test -x /usr/bin/python3") == 0 ? "/usr/bin/python3" : "python3";
}

// A cache that stores exactly what it is given.
struct Identity final : model::CacheHook {
    void transform(int, int, const float* x, std::size_t n, std::size_t T, std::size_t hd,
                   float* y) const override {
        std::copy_n(x, n * T * hd, y);
    }
    bool exact(int, int, std::size_t, std::size_t) const override { return false; }
};

}  // namespace

TEST_SUITE("llama") {
    TEST_CASE("the model and its config load, damaged files are refused") {
        const model::LlamaConfig& c = weights().config;
        CHECK(c.dim == 256);
        CHECK(c.n_layers == 5);
        CHECK(c.n_heads == 4);
        CHECK(c.n_kv_heads == 2);
        CHECK(c.head_dim() == 64);
        CHECK(c.vocab_size == 512);
        CHECK(weights().classifier.empty());  // tied
        TempDir tmp;
        const std::string cut = tmp / "cut.bin";
        CHECK(std::system(("head -c 1000000 " + k_model + " > " + cut).c_str()) == 0);
        CHECK_THROWS_AS(io::load_model(cut), CorruptError);
        CHECK_THROWS_AS(io::load_model(tmp / "none.bin"), IoError);
        CHECK_THROWS_AS(io::load_tokenizer(k_tok, 600), UsageError);  // vocabulary mismatch
        CHECK_THROWS_AS(model::forward(weights(), {1, 600}), UsageError);
    }

    TEST_CASE("forward reproduces the dumped q, k, v to float16 precision") {
        const io::KvDumpReader dump(k_root + "/data/sample_kv_d64.h5");
        model::ForwardRecord rec;
        model::forward(weights(), dump_tokens(dump), nullptr, &rec);
        REQUIRE(rec.q.size() == 5);
        for (int l = 0; l < 5; ++l)
            for (const char* n : {"q", "k", "v"}) {
                CAPTURE(l);
                CAPTURE(n);
                const auto& ours = n[0] == 'q' ? rec.q[l] : n[0] == 'k' ? rec.k[l] : rec.v[l];
                const auto want = dump.read_all(dump.info("layer_" + std::to_string(l) + "/" + n));
                REQUIRE(ours.size() == want.size());
                std::size_t bad = 0;
                for (std::size_t i = 0; i < ours.size(); ++i)
                    bad += std::fabs(ours[i] - want[i]) > 0x1p-10 * std::fabs(want[i]) + 2e-3;
                CHECK(bad == 0);
            }
    }

    TEST_CASE("next-token loss: 1.51758 on the sample, 1.56129 on the four segments") {
        const io::KvDumpReader one(k_root + "/data/sample_kv_d64.h5");
        CHECK(mean_nll({dump_tokens(one)}) == doctest::Approx(1.51758).epsilon(2e-5));
        const auto all = dump_tokens(io::KvDumpReader(k_root + "/data/sample_kv_d64_4seg.h5"));
        std::vector<std::vector<std::int32_t>> four;
        for (int s = 0; s < 4; ++s)
            four.emplace_back(all.begin() + 128 * s, all.begin() + 128 * (s + 1));
        CHECK(mean_nll(four) == doctest::Approx(1.56129).epsilon(2e-5));
    }

    TEST_CASE("greedy continuation of Once upon a time") {
        const model::Tokenizer tok = io::load_tokenizer(k_tok, 512);
        std::vector<std::int32_t> ids = tok.encode("Once upon a time", true);
        CHECK(ids.front() == 1);
        CHECK(tok.decode(ids) == "Once upon a time");
        while (ids.size() < 60) {
            const auto logits = model::forward(weights(), ids);
            const float* last = logits.data() + (ids.size() - 1) * 512;
            ids.push_back(static_cast<std::int32_t>(std::max_element(last, last + 512) - last));
        }
        const std::string text = tok.decode(ids);
        CAPTURE(text);
        CHECK(text.rfind("Once upon a time, there was a little girl named Lily. She loved to play "
                         "outside in the park.",
                         0) == 0);
    }

    TEST_CASE("an identity cache changes nothing, the HF layout gives the same logits") {
        const std::vector<std::int32_t> ids =
            dump_tokens(io::KvDumpReader(k_root + "/data/sample_kv_d64.h5"));
        const std::vector<std::int32_t> head(ids.begin(), ids.begin() + 96);
        const auto base = model::forward(weights(), head);
        const Identity id;
        const auto same = model::forward(weights(), head, &id);
        double worst = 0;
        for (std::size_t i = 0; i < base.size(); ++i)
            worst = std::max(worst, std::fabs(double(base[i]) - same[i]));
        CHECK(worst < 1e-4);
        TempDir tmp;
        for (const char* dtype : {"float32", "float16", "bfloat16"}) {
            CAPTURE(dtype);
            const std::string dir = tmp / dtype;
            REQUIRE(std::system((python() + " " + k_root + "/scripts/llama2c_to_hf.py " + k_model +
                                 " " + dir + " --dtype " + dtype + " > /dev/null")
                                    .c_str()) == 0);
            const model::LlamaWeights hf = io::load_model(dir);
            CHECK(hf.config.rope == model::RopeStyle::rotate_half);
            const auto logits = model::forward(hf, head);
            const auto p = metrics::compare_predictions(base.data(), logits.data(), head.size(),
                                                        512, head.data());
            double kl = 0, diff = 0;
            for (const auto& x : p) kl = std::max(kl, x.kl);
            for (std::size_t i = 0; i < base.size(); ++i)
                diff = std::max(diff, std::fabs(double(base[i]) - logits[i]));
            if (std::string(dtype) == "float32")
                CHECK(diff < 1e-3);  // the same model: rounding only
            else
                CHECK(kl < 0.05);  // weights rounded to 16 bits
        }
        // Anything but a Llama is refused by name.
        std::system(("mkdir -p " + (tmp / "gpt2") + " && echo '{\"model_type\": \"gpt2\"}' > " +
                     (tmp / "gpt2/config.json"))
                        .c_str());
        try {
            io::load_model(tmp / "gpt2");
            FAIL("gpt2 loaded");
        } catch (const UsageError& e) {
            CHECK(std::string(e.what()).find("gpt2") != std::string::npos);
        }
    }
}
