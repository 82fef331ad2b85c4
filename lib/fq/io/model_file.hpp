// Model and tokenizer files for fq-eval model (model/llama.hpp, model/tokenizer.hpp):
//  - llama2.c legacy checkpoints (.bin): seven int32 (dim, hidden_dim, n_layers, n_heads,
//    n_kv_heads, vocab_size — negative when the classifier is stored, untied —, seq_len), then
//    float32 arrays: token embedding, attention norms, wq, wk, wv, wo, FFN norms, w1, w2, w3,
//    final norm, the RoPE cos and sin tables [seq_len, hd/2] (ignored: recomputed), and the
//    classifier when untied. RoPE on adjacent pairs, theta 10000, RMSNorm eps 1e-5.
//  - Hugging Face Llama directories: config.json (model_type "llama" or architectures
//    LlamaForCausalLM; hidden_act silu; no rope_scaling, attention or MLP biases) and
//    model.safetensors (F32, F16 or BF16 tensors model.embed_tokens.weight,
//    model.layers.<i>.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
//    mlp.{gate,up,down}_proj}.weight, model.norm.weight, lm_head.weight unless tied); RoPE
//    rotate-half. Anything else is refused in one line naming what is unsupported.
//  - llama2.c tokenizers (tok512.bin): int32 max token length, then per token float32 score,
//    int32 length, bytes.
// Every size is checked against the file before anything is allocated; a damaged or
// truncated file is a CorruptError naming the file and what is wrong; a missing one IoError.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fq/model/llama.hpp"
#include "fq/model/tokenizer.hpp"

namespace fq::io {

// A llama2.c checkpoint (a file) or a Hugging Face directory (or its config.json).
model::LlamaWeights load_model(const std::string& path);
model::LlamaWeights load_llama2c(const std::string& path);
model::LlamaWeights load_hf_llama(const std::string& dir);

// vocab_size: the model's (the file holds exactly that many entries).
model::Tokenizer load_tokenizer(const std::string& path, int vocab_size);

// Token ids from a text file (one integer per line; blank lines and lines starting with '#'
// ignored) or a .npy file (int32 or int64, any shape, C order). UsageError/CorruptError.
std::vector<std::int32_t> read_token_file(const std::string& path);

}  // namespace fq::io
