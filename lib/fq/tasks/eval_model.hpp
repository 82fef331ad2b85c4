// fq-eval model: a Llama model (io/model_file.hpp) run over token sequences twice — with its
// exact KV cache, and with every key and value passed through the codec as it is written to
// the cache (every layer, every position; attention reads only what the cache returns) —
// and the difference in its next-token predictions (metrics/prediction.hpp):
//   perplexity with and without the codec (± standard error), their ratio and difference
//   (paired standard errors from per-token covariances, as llama.cpp's perplexity tool),
//   logit KL(p_base || p_codec) mean ± SE and percentiles, top-1 agreement ± SE, the change
//   of the correct token's probability, the same by position bucket, and the exact rate of
//   the codec configuration (bits per coordinate, as fq-encode would store the cache).
// Codecs: as fq-encode (tasks/codec_plan.hpp: --k-codec / --v-codec / --config per layer,
// default fib at --rate for the head dimension). Windows (--keep-first / --keep-last, or the
// config's): query t reads the first keep_first tokens and the tokens j > t - keep_last of
// its sequence from a float16 copy; a codec coding groups of G tokens (int per_channel)
// codes a group once it is complete (KIVI), earlier tokens read from the float16 copy too.
// Tokens: a KV dump's token_ids with its sequences (io/sequences.hpp), a token file (one id
// per line, or .npy), or a text with the llama2.c tokenizer (BOS first); each sequence cut
// into pieces of at most the model's context.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/group_coding.hpp"
#include "fq/io/report.hpp"
#include "fq/model/llama.hpp"

namespace fq::tasks {

struct ModelEvalOptions {
    std::string model;             // llama2.c .bin, or a Hugging Face directory
    std::string input;             // KV dump (token_ids) or token file (.txt / .npy)
    std::string tokenizer;         // llama2.c tokenizer (with --text)
    std::string text;              // text file to tokenize ("" = use input)
    std::int64_t segment_len = 0;  // dump: sequences of this many tokens (0: the dump's)
    double rate = 2.0;             // default codec: fib at this payload rate
    std::string k_codec, v_codec, codebook, config;  // as fq-encode
    std::string header = "norm", header_type = "float16";
    std::int64_t keep_first = -1, keep_last = -1;  // -1: the config's, else 0
    std::string codebooks;                         // codebook directory
    bool train_missing = true;  // train fib codebooks not shipped for the head dim
    std::string json, csv;      // reports ("-" = stdout, "" = none)
    int threads = 0;
    int verbosity = 0;
};

// The scalar results (the JSON's top-level numbers).
struct ModelEvalResult {
    nlohmann::ordered_json report;  // everything, as written to --json
    io::Table table;                // one row: the main numbers (--csv)
};

ModelEvalResult evaluate_model(const ModelEvalOptions& opts);
void run_eval_model(const ModelEvalOptions& opts);

// The parts fq-eval sweep shares (a "model" entry in a sweep config):
// Token sequences for the model (each cut to its context), and where they came from.
struct ModelTokens {
    std::vector<std::vector<std::int32_t>> sequences;
    std::string source;
    // The exact-cache logits of each sequence, computed once by compare_on_model for the
    // model in base_model and reused by later calls with the same model (plan, sweep).
    mutable std::vector<std::vector<float>> base_logits;
    mutable const model::LlamaWeights* base_model = nullptr;
};
// From a KV dump (token_ids, sequences) or a token file (input), or a text (with tokenizer).
ModelTokens model_tokens(const std::string& input, const std::string& tokenizer,
                         const std::string& text, std::int64_t segment_len,
                         const model::LlamaWeights& w);
// The comparison part of the report (ppl_base ... by_position, rate, tokens) of w on tokens,
// exact cache against per_layer[l] = {K codec, V codec} (every codec's d = the head dim; a
// null codec leaves that tensor exact; a centred one subtracts each sequence's per-head means).
nlohmann::ordered_json compare_on_model(
    const model::LlamaWeights& w, const ModelTokens& tokens,
    const std::vector<std::array<codecs::HeadCodec, 2>>& per_layer, std::int64_t keep_first,
    std::int64_t keep_last);

}  // namespace fq::tasks
