#include "fq/io/faiss_file.hpp"

#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/text_file.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

namespace {

std::string to_hex(const std::vector<std::uint8_t>& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(2 * b.size());
    for (std::uint8_t x : b) {
        s.push_back(digits[x >> 4]);
        s.push_back(digits[x & 15]);
    }
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

std::string faiss_content_hash(const std::vector<std::uint8_t>& index_bytes) {
    core::Sha256 h;
    h.update(std::string_view("fq-faiss/1"));
    h.update(index_bytes.data(), index_bytes.size());
    return "sha256:" + h.finish_hex();
}

std::string serialize_faiss(const FaissCodebookFile& f) {
    const std::vector<std::uint8_t> bytes = f.codec.to_bytes();
    Json j = Json::object();
    j["format"] = k_faiss_format;
    j["format_version"] = k_faiss_format_version;
    j["kind"] = codecs::to_string(f.codec.kind());
    j["d"] = f.codec.dim();
    j["M"] = f.codec.M();
    j["nbits"] = f.codec.nbits();
    j["code_bytes"] = f.codec.code_bytes();
    j["code_bits"] = f.codec.code_bits();
    j["construction"] = f.construction.is_object() ? f.construction : Json::object();
    j["content_hash"] = faiss_content_hash(bytes);
    j["index"] = to_hex(bytes);
    return seal_json_file(j.dump(2) + "\n");
}

FaissCodebookFile parse_faiss(const std::string& text, const std::string& name) {
    auto fail = [&](const std::string& what) -> void {
        throw CorruptError("faiss codebook file '" + name + "': " + what);
    };
    const std::string inner =
        unseal_json_file(text, JsonReader("faiss codebook file '" + name + "'", ExitCode::corrupt));
    Json j;
    try {
        j = Json::parse(inner);
    } catch (const std::exception& e) {
        fail(std::string("not JSON: ") + e.what());
    }
    try {
        if (!j.is_object() || j.value("format", std::string()) != k_faiss_format)
            fail(std::string("not an ") + k_faiss_format + " file");
        if (j.value("format_version", -1) != k_faiss_format_version)
            fail("unsupported format_version (this build reads version 1)");
        const std::string hex = j.at("index").get<std::string>();
        if (hex.size() % 2 != 0) fail("index: odd number of hex digits");
        std::vector<std::uint8_t> bytes(hex.size() / 2);
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) fail("index: not lowercase hex");
            bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        const std::string hash = faiss_content_hash(bytes);
        if (j.at("content_hash").get<std::string>() != hash)
            fail("content_hash does not match the index bytes (" + hash + ")");
        FaissCodebookFile f{codecs::FaissCodec::from_bytes(bytes), Json::object(), hash};
        if (j.at("kind").get<std::string>() != codecs::to_string(f.codec.kind()) ||
            j.at("d").get<int>() != f.codec.dim() || j.at("M").get<int>() != f.codec.M() ||
            j.at("nbits").get<int>() != f.codec.nbits() ||
            j.at("code_bytes").get<std::size_t>() != f.codec.code_bytes())
            fail("kind, d, M, nbits or code_bytes differ from the FAISS index");
        if (j.contains("construction") && j["construction"].is_object())
            f.construction = j["construction"];
        return f;
    } catch (const nlohmann::json::exception& e) {
        fail(std::string("bad key: ") + e.what());
    } catch (const CorruptError& e) {
        const std::string what = e.what();
        if (what.rfind("faiss codebook file", 0) == 0) throw;
        fail(what);
    }
    throw CorruptError("unreachable");
}

void save_faiss(const FaissCodebookFile& f, const std::string& path, bool force) {
    write_text_file(path, serialize_faiss(f), force);
}

FaissCodebookFile load_faiss(const std::string& path) {
    return parse_faiss(read_text_file(path, "faiss codebook file"), path);
}

}  // namespace fq::io
