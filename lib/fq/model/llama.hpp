// A Llama-architecture decoder-only transformer in float32, run over whole token sequences
// (teacher forcing: every position at once, causal), with a hook on its key/value cache.
//
// Per layer l, for a sequence x_0..x_{T-1} of hidden states (T, dim):
//   h = RMSNorm(x) * attn_norm            RMSNorm(x) = x / sqrt(mean(x^2) + eps)
//   Q = h Wq^T, K = h Wk^T, V = h Wv^T    (T, n_heads hd), (T, n_kv hd), hd = dim / n_heads
//   RoPE on Q and K (theta; adjacent pairs (2i, 2i+1) as llama2.c, or rotate-half (i, i+hd/2)
//   as Hugging Face), position t = index in the sequence
//   cache: K, V -> what attention reads (CacheHook; identity without one)
//   o_t = sum_{j<=t} softmax_j(q_t . k'_tj / sqrt(hd)) v'_tj, query head h reading KV head
//         h / (n_heads / n_kv) (GQA), k'_tj / v'_tj the cached key/value of token j as
//         query t sees it (CacheHook::exact)
//   x += o Wo^T;  h = RMSNorm(x) * ffn_norm;  x += (silu(h W1^T) * (h W3^T)) W2^T
// logits = RMSNorm(x) * final_norm  C^T, C = classifier (or the token embedding when tied).
// Weights are row-major [out, in] as both checkpoint formats store them. Arithmetic is float32
// (Eigen matrix products, contraction off); the result does not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fq::model {

enum class RopeStyle {
    adjacent_pairs,  // llama2.c: (x_{2i}, x_{2i+1}) rotated by angle t theta^(-2i/hd)
    rotate_half,     // Hugging Face: (x_i, x_{i + hd/2}) rotated by angle t theta^(-2i/hd)
};

struct LlamaConfig {
    int dim = 0;         // model width
    int hidden_dim = 0;  // SwiGLU width
    int n_layers = 0;
    int n_heads = 0;     // query heads
    int n_kv_heads = 0;  // key/value heads (divides n_heads)
    int vocab_size = 0;
    int seq_len = 0;  // trained context
    double norm_eps = 1e-5;
    double rope_theta = 10000;
    RopeStyle rope = RopeStyle::adjacent_pairs;
    int head_dim() const { return n_heads > 0 ? dim / n_heads : 0; }
};

struct LayerWeights {
    std::vector<float> attn_norm;  // (dim)
    std::vector<float> wq;         // (n_heads hd, dim)
    std::vector<float> wk, wv;     // (n_kv hd, dim)
    std::vector<float> wo;         // (dim, n_heads hd)
    std::vector<float> ffn_norm;   // (dim)
    std::vector<float> w1, w3;     // (hidden, dim)
    std::vector<float> w2;         // (dim, hidden)
};

struct LlamaWeights {
    LlamaConfig config;
    std::vector<float> embedding;  // (vocab, dim)
    std::vector<LayerWeights> layers;
    std::vector<float> final_norm;  // (dim)
    std::vector<float> classifier;  // (vocab, dim); empty: tied to the embedding

    // UsageError naming the first array whose size does not match the config, or a config
    // that is not a valid Llama (dim % n_heads, n_heads % n_kv_heads, hd even, ...).
    void validate() const;
};

// What the cache does to keys and values. For layer l, K and V (n_kv, T, hd) of one sequence
// (keys after RoPE) are replaced by what the cache returns (decode(encode(.)) of a codec);
// exact(t, j) says whether query t reads token j's exact key/value instead (a float16 window
// of first or recent tokens, a group not yet complete). Both called from one thread.
class CacheHook {
public:
    virtual ~CacheHook() = default;
    // kv: 0 keys, 1 values; x: (n_kv, T, hd) row-major; writes x_hat (same shape).
    virtual void transform(int layer, int kv, const float* x, std::size_t n_kv, std::size_t T,
                           std::size_t hd, float* x_hat) const = 0;
    // Whether query t reads token j's window copy (below) instead of the transformed one.
    virtual bool exact(int layer, int kv, std::size_t t, std::size_t j) const = 0;
    // The window copy of count values x (e.g. rounded to float16); default: x itself.
    virtual void window(const float* x, std::size_t count, float* out) const {
        std::copy_n(x, count, out);
    }
};

// Optional per-layer record of a forward pass (for checks against dumps).
struct ForwardRecord {
    // Per layer: q (n_heads, T, hd), k, v (n_kv, T, hd), after RoPE for q and k, exact.
    std::vector<std::vector<float>> q, k, v;
};

// logits: (T, vocab) row-major, for tokens (T <= seq_len; each < vocab: UsageError).
std::vector<float> forward(const LlamaWeights& w, const std::vector<std::int32_t>& tokens,
                           const CacheHook* cache = nullptr, ForwardRecord* record = nullptr);

}  // namespace fq::model
