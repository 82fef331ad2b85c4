#include "fq/io/model_file.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/text_file.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

// The bytes of a file, refusing anything above max_bytes before reading.
std::string read_bytes(const std::string& path, std::uint64_t max_bytes, const std::string& what) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw IoError(what + " '" + path + "': no such file");
    if (fs::is_directory(path, ec)) throw IoError(what + " '" + path + "': is a directory");
    const std::uint64_t size = fs::file_size(path, ec);
    if (ec) throw IoError(what + " '" + path + "': cannot get its size");
    if (size > max_bytes)
        throw CorruptError(what + " '" + path + "': " + std::to_string(size) +
                           " bytes, more than this reader accepts");
    std::ifstream in(path, std::ios::binary);
    std::string bytes(static_cast<std::size_t>(size), '\0');
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
        throw IoError(what + " '" + path + "': cannot read");
    return bytes;
}

constexpr std::uint64_t k_max_model_bytes = 16ull << 30;  // 16 GiB
constexpr int k_max_dim = 1 << 16, k_max_layers = 1024, k_max_vocab = 1 << 22, k_max_seq = 1 << 22;

// A cursor over a llama2.c file's float arrays.
struct Cursor {
    const std::string& bytes;
    std::size_t pos = 0;
    std::string where;
    std::vector<float> floats(std::size_t n) {
        if (n > (bytes.size() - pos) / 4)
            throw CorruptError(where + ": truncated (" + std::to_string(bytes.size()) + " bytes)");
        std::vector<float> v(n);
        std::memcpy(v.data(), bytes.data() + pos, n * 4);
        pos += n * 4;
        return v;
    }
};

}  // namespace

model::LlamaWeights load_llama2c(const std::string& path) {
    const std::string bytes = read_bytes(path, k_max_model_bytes, "model file");
    const std::string where = "model file '" + path + "'";
    if (bytes.size() < 28) throw CorruptError(where + ": too short for a llama2.c header");
    std::int32_t h[7];
    std::memcpy(h, bytes.data(), sizeof h);
    model::LlamaWeights w;
    model::LlamaConfig& c = w.config;
    c.dim = h[0];
    c.hidden_dim = h[1];
    c.n_layers = h[2];
    c.n_heads = h[3];
    c.n_kv_heads = h[4];
    const bool tied = h[5] > 0;
    c.vocab_size = h[5] == std::numeric_limits<std::int32_t>::min() ? 0 : std::abs(h[5]);
    c.seq_len = h[6];
    c.rope = model::RopeStyle::adjacent_pairs;
    if (c.dim < 2 || c.dim > k_max_dim || c.hidden_dim < 1 || c.hidden_dim > 4 * k_max_dim ||
        c.n_layers < 1 || c.n_layers > k_max_layers || c.n_heads < 1 || c.n_kv_heads < 1 ||
        c.n_heads > c.dim || c.n_heads % c.n_kv_heads != 0 || c.dim % c.n_heads != 0 ||
        c.vocab_size < 1 || c.vocab_size > k_max_vocab || c.seq_len < 1 || c.seq_len > k_max_seq)
        throw CorruptError(where + ": not a llama2.c checkpoint (header dim " +
                           std::to_string(h[0]) + ", hidden " + std::to_string(h[1]) + ", layers " +
                           std::to_string(h[2]) + ", heads " + std::to_string(h[3]) + "/" +
                           std::to_string(h[4]) + ", vocab " + std::to_string(h[5]) + ", seq_len " +
                           std::to_string(h[6]) + ")");
    const auto D = static_cast<std::uint64_t>(c.dim), F = static_cast<std::uint64_t>(c.hidden_dim),
               L = static_cast<std::uint64_t>(c.n_layers),
               V = static_cast<std::uint64_t>(c.vocab_size);
    const std::uint64_t hd = D / static_cast<std::uint64_t>(c.n_heads);
    const std::uint64_t kv = hd * static_cast<std::uint64_t>(c.n_kv_heads);
    const std::uint64_t floats = V * D + L * (2 * D + D * D + 2 * kv * D + D * D + 3 * F * D) + D +
                                 2 * static_cast<std::uint64_t>(c.seq_len) * (hd / 2) +
                                 (tied ? 0 : V * D);
    if (28 + 4 * floats != bytes.size())
        throw CorruptError(where + ": " + std::to_string(bytes.size()) +
                           " bytes, the header implies " + std::to_string(28 + 4 * floats) +
                           " (truncated, or not this format)");
    Cursor cur{bytes, 28, where};
    w.embedding = cur.floats(V * D);
    w.layers.resize(L);
    const auto per_layer = [&](auto member, std::uint64_t n) {
        for (auto& layer : w.layers) layer.*member = cur.floats(n);
    };
    per_layer(&model::LayerWeights::attn_norm, D);
    per_layer(&model::LayerWeights::wq, D * D);
    per_layer(&model::LayerWeights::wk, kv * D);
    per_layer(&model::LayerWeights::wv, kv * D);
    per_layer(&model::LayerWeights::wo, D * D);
    per_layer(&model::LayerWeights::ffn_norm, D);
    per_layer(&model::LayerWeights::w1, F * D);
    per_layer(&model::LayerWeights::w2, D * F);
    per_layer(&model::LayerWeights::w3, F * D);
    w.final_norm = cur.floats(D);
    (void)cur.floats(2 * static_cast<std::uint64_t>(c.seq_len) * (hd / 2));  // RoPE tables
    if (!tied) w.classifier = cur.floats(V * D);
    try {
        w.validate();
    } catch (const UsageError& e) {
        throw CorruptError(where + ": " + e.what());
    }
    return w;
}

namespace {

// A safetensors file: header JSON and the data section.
struct SafeTensors {
    std::string bytes;
    std::size_t data_start = 0;
    Json header;
    std::string where;

    std::vector<float> tensor(const std::string& name, std::vector<std::uint64_t> shape) const {
        if (!header.contains(name)) throw CorruptError(where + ": missing tensor " + name);
        const Json& t = header[name];
        const JsonReader rd(where + ": " + name, ExitCode::corrupt);
        if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") ||
            !t.contains("data_offsets"))
            rd.fail("malformed tensor entry");
        const std::string dtype = rd.get_string(t, "dtype");
        std::vector<std::uint64_t> got;
        for (const Json& s : t["shape"]) {
            if (!s.is_number_unsigned()) rd.fail("malformed shape");
            got.push_back(s.get<std::uint64_t>());
        }
        if (got != shape) {
            std::string g, want;
            for (auto x : got) g += (g.empty() ? "" : ", ") + std::to_string(x);
            for (auto x : shape) want += (want.empty() ? "" : ", ") + std::to_string(x);
            rd.fail("shape [" + g + "], expected [" + want + "]");
        }
        std::uint64_t n = 1;
        for (auto x : shape) n *= x;
        const Json& off = t["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
            !off[1].is_number_unsigned())
            rd.fail("malformed data_offsets");
        const std::uint64_t b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
        const std::uint64_t elem = dtype == "F32" ? 4 : (dtype == "F16" || dtype == "BF16") ? 2 : 0;
        if (elem == 0) rd.fail("unsupported dtype " + dtype + " (F32, F16 or BF16)");
        if (e < b || e - b != n * elem || e > bytes.size() - data_start)
            rd.fail("data_offsets do not fit the shape, dtype and file");
        std::vector<float> v(static_cast<std::size_t>(n));
        const char* p = bytes.data() + data_start + b;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (elem == 4) {
                std::memcpy(&v[i], p + 4 * i, 4);
            } else {
                std::uint16_t u;
                std::memcpy(&u, p + 2 * i, 2);
                v[i] = dtype == "F16" ? core::half_to_float(u) : core::bfloat16_to_float(u);
            }
        }
        return v;
    }
};

SafeTensors read_safetensors(const std::string& path) {
    SafeTensors s;
    s.where = "model file '" + path + "'";
    s.bytes = read_bytes(path, k_max_model_bytes, "model file");
    if (s.bytes.size() < 8) throw CorruptError(s.where + ": too short for safetensors");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(s.bytes[static_cast<std::size_t>(i)]);
    if (n > s.bytes.size() - 8 || n > (100u << 20))
        throw CorruptError(s.where + ": safetensors header size " + std::to_string(n) +
                           " does not fit the file");
    const JsonReader rd(s.where, ExitCode::corrupt);
    s.header = rd.parse(s.bytes.substr(8, static_cast<std::size_t>(n)));
    if (!s.header.is_object()) rd.fail("safetensors header is not a JSON object");
    s.data_start = 8 + static_cast<std::size_t>(n);
    return s;
}

}  // namespace

model::LlamaWeights load_hf_llama(const std::string& dir_or_config) {
    fs::path dir = dir_or_config;
    if (dir.filename() == "config.json") dir = dir.parent_path();
    const std::string cfg_path = (dir / "config.json").string();
    const std::string where = "model config '" + cfg_path + "'";
    const JsonReader rd(where, ExitCode::usage);
    const Json cfg = rd.parse(read_text_file(cfg_path, "model config"));
    if (!cfg.is_object()) rd.fail("not a JSON object");
    const std::string type = cfg.value("model_type", std::string());
    bool llama = type == "llama";
    if (cfg.contains("architectures") && cfg["architectures"].is_array())
        for (const Json& a : cfg["architectures"]) llama = llama || a == "LlamaForCausalLM";
    if (!llama)
        rd.fail("unsupported architecture (model_type \"" + type +
                "\"): fq-eval model runs Llama models (LlamaForCausalLM)");
    const auto refuse_if = [&](bool bad, const std::string& what) {
        if (bad) rd.fail("unsupported: " + what);
    };
    refuse_if(cfg.contains("rope_scaling") && !cfg["rope_scaling"].is_null(), "rope_scaling");
    refuse_if(cfg.value("attention_bias", false), "attention_bias");
    refuse_if(cfg.value("mlp_bias", false), "mlp_bias");
    refuse_if(cfg.value("hidden_act", std::string("silu")) != "silu",
              "hidden_act \"" + cfg.value("hidden_act", std::string()) + "\" (silu only)");
    model::LlamaWeights w;
    model::LlamaConfig& c = w.config;
    c.dim = rd.get_int(cfg, "hidden_size", 2, k_max_dim);
    c.hidden_dim = rd.get_int(cfg, "intermediate_size", 1, 4 * k_max_dim);
    c.n_layers = rd.get_int(cfg, "num_hidden_layers", 1, k_max_layers);
    c.n_heads = rd.get_int(cfg, "num_attention_heads", 1, k_max_dim);
    c.n_kv_heads = cfg.contains("num_key_value_heads")
                       ? rd.get_int(cfg, "num_key_value_heads", 1, k_max_dim)
                       : c.n_heads;
    c.vocab_size = rd.get_int(cfg, "vocab_size", 1, k_max_vocab);
    c.seq_len = rd.get_int(cfg, "max_position_embeddings", 1, k_max_seq);
    c.norm_eps = cfg.contains("rms_norm_eps") ? rd.get_double(cfg, "rms_norm_eps") : 1e-6;
    c.rope_theta = cfg.contains("rope_theta") ? rd.get_double(cfg, "rope_theta") : 10000.0;
    c.rope = model::RopeStyle::rotate_half;
    if (cfg.contains("head_dim") && !cfg["head_dim"].is_null())
        refuse_if(
            static_cast<std::int64_t>(rd.get_int(cfg, "head_dim", 1, k_max_dim)) * c.n_heads !=
                c.dim,
            "head_dim * num_attention_heads != hidden_size");
    if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0)
        rd.fail("hidden_size / heads / kv heads do not divide");
    const bool tied = cfg.value("tie_word_embeddings", false);

    const SafeTensors st = read_safetensors((dir / "model.safetensors").string());
    const auto D = static_cast<std::uint64_t>(c.dim), F = static_cast<std::uint64_t>(c.hidden_dim),
               V = static_cast<std::uint64_t>(c.vocab_size);
    const std::uint64_t kv =
        D / static_cast<std::uint64_t>(c.n_heads) * static_cast<std::uint64_t>(c.n_kv_heads);
    w.embedding = st.tensor("model.embed_tokens.weight", {V, D});
    w.layers.resize(static_cast<std::size_t>(c.n_layers));
    for (int l = 0; l < c.n_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        model::LayerWeights& L = w.layers[static_cast<std::size_t>(l)];
        L.attn_norm = st.tensor(p + "input_layernorm.weight", {D});
        L.wq = st.tensor(p + "self_attn.q_proj.weight", {D, D});
        L.wk = st.tensor(p + "self_attn.k_proj.weight", {kv, D});
        L.wv = st.tensor(p + "self_attn.v_proj.weight", {kv, D});
        L.wo = st.tensor(p + "self_attn.o_proj.weight", {D, D});
        L.ffn_norm = st.tensor(p + "post_attention_layernorm.weight", {D});
        L.w1 = st.tensor(p + "mlp.gate_proj.weight", {F, D});
        L.w3 = st.tensor(p + "mlp.up_proj.weight", {F, D});
        L.w2 = st.tensor(p + "mlp.down_proj.weight", {D, F});
    }
    w.final_norm = st.tensor("model.norm.weight", {D});
    if (!tied) w.classifier = st.tensor("lm_head.weight", {V, D});
    w.validate();
    return w;
}

model::LlamaWeights load_model(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw IoError("model '" + path + "': no such file or directory");
    if (fs::is_directory(path, ec) || fs::path(path).filename() == "config.json")
        return load_hf_llama(path);
    return load_llama2c(path);
}

model::Tokenizer load_tokenizer(const std::string& path, int vocab_size) {
    const std::string bytes = read_bytes(path, 1ull << 30, "tokenizer");
    const std::string where = "tokenizer '" + path + "'";
    model::Tokenizer t;
    std::size_t pos = 0;
    const auto i32 = [&]() {
        if (bytes.size() - pos < 4) throw CorruptError(where + ": truncated");
        std::int32_t x;
        std::memcpy(&x, bytes.data() + pos, 4);
        pos += 4;
        return x;
    };
    t.max_token_length = i32();
    if (t.max_token_length < 1 || t.max_token_length > 1 << 16)
        throw CorruptError(where + ": max token length " + std::to_string(t.max_token_length));
    for (int i = 0; i < vocab_size; ++i) {
        if (pos >= bytes.size())
            throw UsageError(where + ": holds " + std::to_string(i) +
                             " tokens, the model's vocabulary has " + std::to_string(vocab_size));
        float score;
        const std::int32_t s = i32();
        std::memcpy(&score, &s, 4);
        const std::int32_t len = i32();
        if (len < 0 || len > t.max_token_length ||
            static_cast<std::size_t>(len) > bytes.size() - pos)
            throw CorruptError(where + ": token " + std::to_string(i) + " has a bad length");
        t.pieces.emplace_back(bytes.data() + pos, static_cast<std::size_t>(len));
        t.scores.push_back(score);
        pos += static_cast<std::size_t>(len);
    }
    if (pos != bytes.size())
        throw UsageError(where + ": holds more tokens than the model's vocabulary of " +
                         std::to_string(vocab_size));
    return t;
}

std::vector<std::int32_t> read_token_file(const std::string& path) {
    const std::string bytes = read_bytes(path, 1ull << 32, "token file");
    std::vector<std::int32_t> ids;
    const std::string where = "token file '" + path + "'";
    if (path.size() >= 4 && path.substr(path.size() - 4) == ".npy") {
        if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
            throw CorruptError(where + ": not a .npy file");
        const int major = static_cast<unsigned char>(bytes[6]);
        const std::size_t hlen_bytes = major == 1 ? 2 : 4;
        if (bytes.size() < 8 + hlen_bytes) throw CorruptError(where + ": truncated");
        std::size_t hlen = 0;
        for (std::size_t i = 0; i < hlen_bytes; ++i)
            hlen |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
        const std::size_t start = 8 + hlen_bytes + hlen;
        if (start > bytes.size()) throw CorruptError(where + ": truncated header");
        const std::string header = bytes.substr(8 + hlen_bytes, hlen);
        const bool i4 = header.find("'<i4'") != std::string::npos;
        const bool i8 = header.find("'<i8'") != std::string::npos;
        if (!i4 && !i8) throw UsageError(where + ": dtype must be little-endian int32 or int64");
        if (header.find("'fortran_order': True") != std::string::npos)
            throw UsageError(where + ": Fortran order is not supported");
        const std::size_t elem = i4 ? 4 : 8, n = (bytes.size() - start) / elem;
        if ((bytes.size() - start) % elem != 0) throw CorruptError(where + ": truncated data");
        for (std::size_t i = 0; i < n; ++i) {
            std::int64_t x = 0;
            if (i4) {
                std::int32_t y;
                std::memcpy(&y, bytes.data() + start + 4 * i, 4);
                x = y;
            } else {
                std::memcpy(&x, bytes.data() + start + 8 * i, 8);
            }
            if (x < 0 || x > std::numeric_limits<std::int32_t>::max())
                throw UsageError(where + ": token id " + std::to_string(x) + " out of range");
            ids.push_back(static_cast<std::int32_t>(x));
        }
        return ids;
    }
    std::istringstream in(bytes);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        std::size_t pos = 0;
        long long x = -1;
        try {
            x = std::stoll(line.substr(first), &pos);
        } catch (...) {
            pos = 0;
        }
        if (pos == 0 || line.find_first_not_of(" \t\r", first + pos) != std::string::npos ||
            x < 0 || x > std::numeric_limits<std::int32_t>::max())
            throw UsageError(where + ": line " + std::to_string(n) + ": expected one token id");
        ids.push_back(static_cast<std::int32_t>(x));
    }
    return ids;
}

}  // namespace fq::io
