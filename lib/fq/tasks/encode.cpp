#include "fq/tasks/encode.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fq/codecs/group_coding.hpp"
#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/metadata_copy.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/tasks/paths.hpp"
#include "fq/tasks/run_main.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace fq::tasks {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::size_t dtype_bytes(const std::string& dtype) {
    return dtype == "float64" ? 8 : dtype == "float32" ? 4 : 2;
}

// Codec description source for one kind: a JSON description or a SPEC string.
struct Choice {
    bool given = false;
    bool is_spec = false;
    std::string spec;
    Json desc;
};

Choice choice_from_json(const Json& v, const std::string& where) {
    Choice c;
    c.given = true;
    if (v.is_string()) {
        c.is_spec = true;
        c.spec = v.get<std::string>();
    } else if (v.is_object()) {
        c.desc = v;
    } else {
        throw UsageError(where + ": expected a codec description (object) or a SPEC string");
    }
    return c;
}

// The per-kind choices from the options (before d is known).
std::map<io::KvKind, Choice> codec_choices(const EncodeOptions& o) {
    std::map<io::KvKind, Choice> out;
    if (!o.config.empty()) {
        std::ifstream in(o.config, std::ios::binary);
        if (!in) throw IoError("cannot read config '" + o.config + "'");
        std::ostringstream ss;
        ss << in.rdbuf();
        const io::JsonReader rd("config '" + o.config + "'", ExitCode::usage);
        const Json doc = rd.parse(ss.str());
        if (doc.is_object() && !doc.contains("codec")) {
            for (auto it = doc.begin(); it != doc.end(); ++it) {
                if (it.key() != "k" && it.key() != "v")
                    rd.fail("unknown key '" + it.key() +
                            "' (expected k, v or a codec description)");
                out[it.key() == "k" ? io::KvKind::k : io::KvKind::v] =
                    choice_from_json(it.value(), "config '" + o.config + "': " + it.key());
            }
        } else {
            const Choice c = choice_from_json(doc, "config '" + o.config + "'");
            out[io::KvKind::k] = c;
            out[io::KvKind::v] = c;
        }
    }
    if (!o.codebook.empty()) {
        std::error_code ec;
        if (!fs::exists(o.codebook, ec))
            throw IoError("codebook file '" + o.codebook + "': no such file");
        for (io::KvKind k : {io::KvKind::k, io::KvKind::v}) {
            Choice c;
            c.given = true;
            c.is_spec = true;
            c.spec = o.codebook;
            out[k] = c;
        }
    }
    for (auto [kind, spec] :
         {std::pair{io::KvKind::k, &o.k_codec}, std::pair{io::KvKind::v, &o.v_codec}})
        if (!spec->empty()) {
            Choice c;
            c.given = true;
            c.is_spec = true;
            c.spec = *spec;
            out[kind] = c;
        }
    return out;
}

}  // namespace

EncodeSummary run_encode(const EncodeOptions& o) {
    const auto t_start = Clock::now();
    set_verbosity(static_cast<Verbosity>(std::clamp(o.verbosity, -1, 1)));
    require(!o.input.empty(), "no input (-i)");
    require(!o.output.empty(), "no output (-o)");
    require(o.chunk_tokens >= 1 && o.chunk_tokens <= (1 << 24),
            "--chunk-tokens must be in 1..2^24");
    require(o.rate > 0, "--rate must be positive");
    refuse_existing_output(o.output, o.input, o.force);
    core::set_threads(o.threads);

    io::KvDumpLayout layout;
    layout.select = o.select;
    layout.axes = o.axes;
    io::KvDumpReader reader(o.input, layout);

    // Resolve every codec before writing anything: d mismatches and missing codebooks fail
    // fast and leave no output.
    io::CodebookStore store(o.codebooks);
    const std::map<io::KvKind, Choice> choices = codec_choices(o);
    std::map<std::pair<io::KvKind, int>, io::BuiltCodec> built;
    struct Job {
        io::DatasetInfo info;
        const io::BuiltCodec* codec = nullptr;  // null: copied verbatim (queries)
    };
    std::vector<Job> jobs;
    for (const io::DatasetInfo& info : reader.datasets()) {
        if (info.kind == io::KvKind::q) {
            if (o.keep_queries) jobs.push_back({info, nullptr});
            continue;
        }
        if (info.kind == io::KvKind::other)
            throw UsageError(o.input + ": " + info.path +
                             ": cannot tell whether it holds keys or values (name its last "
                             "component k or v, or do not select it)");
        const auto key = std::make_pair(info.kind, info.d);
        auto it = built.find(key);
        if (it == built.end()) {
            const auto ch = choices.find(info.kind);
            Json desc;
            std::string context = "default codec";
            if (ch == choices.end()) {
                desc = io::default_description(info.d, o.rate, store, o.header, o.header_type);
            } else if (ch->second.is_spec) {
                desc =
                    io::parse_codec_spec(ch->second.spec, info.d, store, o.header, o.header_type);
                context = "codec '" + ch->second.spec + "'";
            } else {
                desc = io::with_header_defaults(ch->second.desc, o.header, o.header_type);
                context = "config '" + o.config + "'";
            }
            desc = io::with_tensor_defaults(std::move(desc), info.kind);
            io::BuiltCodec b = io::make_codec(
                desc, store, o.input + ": " + info.path + ": " + context, ExitCode::usage, info.d);
            it = built.emplace(key, std::move(b)).first;
        }
        jobs.push_back({info, &it->second});
    }
    bool has_queries = false;
    for (const io::DatasetInfo& info : reader.datasets())
        has_queries = has_queries || info.kind == io::KvKind::q;
    bool any = false;
    for (const Job& j : jobs) any = any || j.codec != nullptr;
    if (!any) throw IoError(o.input + ": no key or value dataset selected");

    io::EncodedFileWriter writer(o.output);
    for (const auto& [key, b] : built)
        if (!b.stored.empty()) writer.add_codebook(b.stored);
    io::DumpToContainer metadata(reader, writer);
    metadata.root();

    std::map<io::KvKind, EncodeRow> rows;
    std::vector<float> x, padded;
    std::vector<std::uint8_t> codes;
    ProgressBar bar;
    std::uint64_t total_vectors = 0, done_vectors = 0;
    for (const Job& j : jobs)
        if (j.codec) total_vectors += static_cast<std::uint64_t>(j.info.heads) * j.info.tokens;

    for (const Job& j : jobs) {
        const io::DatasetInfo& info = j.info;
        if (j.codec == nullptr) {
            metadata.verbatim(info.path);
            log_verbose("copied " + info.path + " verbatim");
            continue;
        }
        const auto t0 = Clock::now();
        const codecs::Codec& codec = *j.codec->codec;
        io::EncodedDataset e;
        e.path = info.path;
        e.kind = info.kind;
        e.layer = info.layer;
        e.shape = info.dims;
        e.axes = info.axes;
        e.dtype = info.dtype;
        e.heads = info.heads;
        e.tokens = info.tokens;
        e.d = info.d;
        e.codec = j.codec->description;
        e.codebook = j.codec->codebook_attr();
        e.code_bytes = codec.code_bytes();
        e.code_bits = codec.code_bits();
        e.block_vectors = static_cast<std::int64_t>(codec.block_vectors());
        // A checksum block holds whole groups: B rounded up to a multiple of G.
        e.block_tokens = (o.chunk_tokens + e.block_vectors - 1) / e.block_vectors * e.block_vectors;
        writer.create(e);
        metadata.encoded(info.path);

        const std::size_t d = static_cast<std::size_t>(info.d), cb = codec.code_bytes();
        for (std::int64_t t = 0; t < info.tokens; t += e.block_tokens) {
            const io::Slab slab{0, info.heads, t, std::min(t + e.block_tokens, info.tokens)};
            const std::size_t n = slab.vectors();
            x.resize(n * d);
            reader.read(info, slab, x.data());
            io::check_finite(x.data(), slab, info.d, o.input, info.path);
            const auto nt = static_cast<std::size_t>(slab.tokens());
            const auto hn = static_cast<std::size_t>(info.heads);
            codes.resize(hn * codecs::group_rows(codec, nt) * cb);
            try {
                codecs::encode_heads(codec, x.data(), hn, nt, codes.data(), padded);
            } catch (const NumericError& err) {  // e.g. a norm beyond the float16 header
                throw NumericError(o.input + ": " + info.path + ": tokens [" +
                                   std::to_string(slab.t0) + ", " + std::to_string(slab.t1) +
                                   "): " + err.what());
            }
            writer.write_block(info.path, slab.t0, slab.t1, codes.data());
            done_vectors += n;
            bar.update("encoding " + info.path,
                       static_cast<double>(done_vectors) / static_cast<double>(total_vectors));
        }
        writer.finish(info.path);

        EncodeRow& r = rows[info.kind];
        r.tensor = info.kind == io::KvKind::k ? "K" : "V";
        const std::string label = io::codec_label(*j.codec);
        if (r.codec.empty())
            r.codec = label;
        else if (r.codec.find(label) == std::string::npos)
            r.codec += "; " + label;
        const std::uint64_t nv = static_cast<std::uint64_t>(info.heads) * info.tokens;
        r.vectors += nv;
        r.d = info.d;
        r.rate = codec.rate();
        r.input_bytes += nv * d * dtype_bytes(info.dtype);
        r.output_bytes += static_cast<std::uint64_t>(info.heads) * e.rows() * cb;
        r.stored_rate = 8.0 * static_cast<double>(r.output_bytes) /
                        (static_cast<double>(std::max<std::uint64_t>(r.vectors, 1)) * info.d);
        r.seconds += seconds_since(t0);
        log_verbose("encoded " + info.path + ": " + std::to_string(nv) + " vectors");
    }
    for (const std::string& other : reader.other_datasets()) metadata.verbatim(other);
    bar.finish();
    writer.commit();

    EncodeSummary s;
    for (auto& [kind, r] : rows) s.rows.push_back(r);
    std::error_code ec;
    s.input_file_bytes = fs::file_size(o.input, ec);
    s.output_file_bytes = fs::file_size(o.output, ec);
    s.seconds = seconds_since(t_start);

    if (verbosity() != Verbosity::quiet) {
        std::ostringstream out;
        out << "fq-encode: " << o.input << " -> " << o.output << "\n";
        char line[512];
        std::snprintf(line, sizeof line, "%-6s %-28s %9s %4s %8s %8s %12s %12s %8s %8s %12s\n",
                      "tensor", "codec", "vectors", "d", "rate", "stored", "in_bytes", "out_bytes",
                      "vs_f16", "time_s", "vectors/s");
        out << line;
        for (const EncodeRow& r : s.rows) {
            const double ratio = static_cast<double>(r.vectors) * r.d * 2.0 /
                                 static_cast<double>(std::max<std::uint64_t>(r.output_bytes, 1));
            std::snprintf(line, sizeof line,
                          "%-6s %-28s %9llu %4d %8.4f %8.4f %12llu %12llu %8.2f %8.3f %12.0f\n",
                          r.tensor.c_str(), r.codec.c_str(),
                          static_cast<unsigned long long>(r.vectors), r.d, r.rate, r.stored_rate,
                          static_cast<unsigned long long>(r.input_bytes),
                          static_cast<unsigned long long>(r.output_bytes), ratio, r.seconds,
                          r.seconds > 0 ? static_cast<double>(r.vectors) / r.seconds : 0.0);
            out << line;
        }
        std::snprintf(line, sizeof line,
                      "files: input %llu bytes, output %llu bytes (%.2fx smaller, queries %s), "
                      "%.3f s\n",
                      static_cast<unsigned long long>(s.input_file_bytes),
                      static_cast<unsigned long long>(s.output_file_bytes),
                      static_cast<double>(s.input_file_bytes) /
                          static_cast<double>(std::max<std::uint64_t>(s.output_file_bytes, 1)),
                      !has_queries     ? "none"
                      : o.keep_queries ? "kept"
                                       : "dropped",
                      s.seconds);
        out << line;
        std::cout << out.str() << std::flush;
    }
    return s;
}

}  // namespace fq::tasks
