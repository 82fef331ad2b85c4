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
#include "fq/codecs/head_center.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/json_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/metadata_copy.hpp"
#include "fq/io/mpi_run.hpp"
#include "fq/io/sequences.hpp"
#include "fq/io/slab_pipeline.hpp"
#include "fq/tasks/codec_plan.hpp"
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

// The window: the first keep_first and last keep_last tokens of every sequence, increasing.
std::vector<std::int64_t> window_tokens(const io::Sequences& seqs, std::int64_t keep_first,
                                        std::int64_t keep_last) {
    std::vector<std::int64_t> w;
    for (const auto& tok : seqs.tokens) {
        const auto n = static_cast<std::int64_t>(tok.size());
        for (std::int64_t i = 0; i < n; ++i)
            if (i < keep_first || i >= n - keep_last) w.push_back(tok[static_cast<std::size_t>(i)]);
    }
    std::sort(w.begin(), w.end());
    return w;
}

// Every token outside the window, increasing (empty when there is no window: then the
// coded tokens are the tokens themselves).
std::vector<std::int64_t> coded_tokens(std::int64_t tokens,
                                       const std::vector<std::int64_t>& window) {
    std::vector<std::int64_t> out;
    if (window.empty()) return out;
    out.reserve(static_cast<std::size_t>(tokens) - window.size());
    std::size_t wi = 0;
    for (std::int64_t t = 0; t < tokens; ++t) {
        if (wi < window.size() && window[wi] == t) {
            ++wi;
            continue;
        }
        out.push_back(t);
    }
    return out;
}

std::int64_t token_of(const std::vector<std::int64_t>& coded, std::int64_t c) {
    return coded.empty() ? c : coded[static_cast<std::size_t>(c)];
}

// x: (heads, c1 - c0, d), the vectors of coded tokens [c0, c1), checked finite.
void read_coded(const io::KvDumpReader& reader, const io::DatasetInfo& info,
                const std::vector<std::int64_t>& coded, std::int64_t c0, std::int64_t c1,
                std::vector<float>& x, std::vector<float>& scratch) {
    const auto d = static_cast<std::size_t>(info.d), nt = static_cast<std::size_t>(c1 - c0);
    const io::Slab span{0, info.heads, token_of(coded, c0), token_of(coded, c1 - 1) + 1};
    x.resize(static_cast<std::size_t>(info.heads) * nt * d);
    if (static_cast<std::size_t>(span.tokens()) == nt) {  // no window token inside
        reader.read(info, span, x.data());
    } else {
        scratch.resize(span.vectors() * d);
        reader.read(info, span, scratch.data());
        const auto ns = static_cast<std::size_t>(span.tokens());
        for (std::size_t h = 0; h < static_cast<std::size_t>(info.heads); ++h)
            for (std::size_t i = 0; i < nt; ++i) {
                const auto t =
                    static_cast<std::size_t>(coded[static_cast<std::size_t>(c0) + i] - span.t0);
                std::copy_n(scratch.data() + (h * ns + t) * d, d, x.data() + (h * nt + i) * d);
            }
    }
    // NaN/Inf are reported at their token (not the coded index).
    for (std::size_t h = 0; h < static_cast<std::size_t>(info.heads); ++h)
        for (std::size_t i = 0; i < nt; ++i) {
            const std::int64_t t = token_of(coded, c0 + static_cast<std::int64_t>(i));
            io::check_finite(x.data() + (h * nt + i) * d,
                             io::Slab{static_cast<int>(h), static_cast<int>(h) + 1, t, t + 1},
                             info.d, reader.path(), info.path);
        }
}

// The window's values (heads, W, d) as float16 bit patterns (round to nearest even; exact
// for float16 input), checked finite.
std::vector<std::uint16_t> window_values(const io::KvDumpReader& reader,
                                         const io::DatasetInfo& info,
                                         const std::vector<std::int64_t>& window,
                                         const std::string& file) {
    const auto d = static_cast<std::size_t>(info.d), W = window.size();
    std::vector<std::uint16_t> out(static_cast<std::size_t>(info.heads) * W * d);
    std::vector<float> run;
    for (std::size_t a = 0; a < W;) {  // runs of consecutive window tokens, one read each
        std::size_t b = a + 1;
        while (b < W && window[b] == window[b - 1] + 1) ++b;
        const io::Slab slab{0, info.heads, window[a], window[b - 1] + 1};
        run.resize(slab.vectors() * d);
        reader.read(info, slab, run.data());
        io::check_finite(run.data(), slab, info.d, file, info.path);
        const std::size_t n = b - a;
        for (std::size_t h = 0; h < static_cast<std::size_t>(info.heads); ++h)
            for (std::size_t i = 0; i < n * d; ++i) {
                const std::uint16_t v = core::float_to_half(run[h * n * d + i]);
                if ((v & 0x7C00u) == 0x7C00u)
                    throw NumericError(file + ": " + info.path + ": " +
                                       std::to_string(run[h * n * d + i]) +
                                       " in the float16 window is beyond the float16 range");
                out[(h * W + a) * d + i] = v;
            }
        a = b;
    }
    return out;
}

std::string summary_text(const EncodeSummary& s, const EncodeOptions& o, bool has_queries,
                         std::int64_t keep_first, std::int64_t keep_last) {
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
        const auto n_codecs = 1 + std::count(r.codec.begin(), r.codec.end(), ';');
        const std::string codec =
            n_codecs > 1 ? std::to_string(n_codecs) + " codecs (per dataset below)" : r.codec;
        std::snprintf(line, sizeof line,
                      "%-6s %-28s %9llu %4d %8.4f %8.4f %12llu %12llu %8.2f %8.3f %12.0f\n",
                      r.tensor.c_str(), codec.c_str(), static_cast<unsigned long long>(r.vectors),
                      r.d, r.rate, r.stored_rate, static_cast<unsigned long long>(r.input_bytes),
                      static_cast<unsigned long long>(r.output_bytes), ratio, r.seconds,
                      r.seconds > 0 ? static_cast<double>(r.vectors) / r.seconds : 0.0);
        out << line;
    }
    // The rate, exactly and by part (bits per coordinate over every token), per tensor and
    // in total; per dataset too when datasets of a tensor differ (per-layer codecs) or -v.
    bool differ = verbosity() == Verbosity::verbose;
    for (const EncodeRow& r : s.datasets)
        for (const EncodeRow& k : s.rows)
            differ = differ || (k.tensor == (r.tensor.back() == 'k' ? "K" : "V") &&
                                std::fabs(r.rate - k.rate) > 1e-12);
    std::snprintf(line, sizeof line, "%-24s %-28s %8s %8s %8s %8s %8s\n", "rate (bits/coord)",
                  "codec", "payload", "side", "window", "total", "stored");
    out << "\n" << line;
    const auto part_line = [&](const std::string& name, const std::string& codec,
                               const RateParts& p) {
        std::snprintf(line, sizeof line, "%-24s %-28s %8.4f %8.4f %8.4f %8.4f %8.4f\n",
                      name.c_str(), codec.c_str(), p.per_coord(p.payload), p.per_coord(p.side),
                      p.per_coord(p.window), p.per_coord(p.exact()), p.per_coord(p.stored));
        out << line;
    };
    if (differ)
        for (const EncodeRow& r : s.datasets) part_line(r.tensor, r.codec, r.bits);
    for (const EncodeRow& r : s.rows)
        part_line(r.tensor, r.codec.find(';') == std::string::npos ? r.codec : "", r.bits);
    part_line("K+V", "", s.total);
    if (keep_first > 0 || keep_last > 0)
        out << "window: first " << keep_first << " and last " << keep_last
            << " tokens of each sequence kept in float16 (counted in the rate above)\n";
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
    return out.str();
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
    // fast and leave no output. Datasets given the same description share one codec.
    io::CodebookStore store(o.codebooks);
    if (o.train_missing) store.set_training([](const std::string& note) { log_info(note); });
    const CodecPlan plan(o);
    // Layers of the whole file (not only the selection): "-1" is the model's last layer.
    int n_layers = 0;
    for (const io::DatasetInfo& info : reader.datasets())
        n_layers = std::max(n_layers, info.layer + 1);
    for (const std::string& other : reader.other_datasets())
        n_layers = std::max(n_layers, io::classify_kv_path(other).layer + 1);
    std::map<std::pair<std::string, int>, io::BuiltCodec> built;  // (description, d)
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
        std::string context;
        const Json desc = plan.description(info, n_layers, store, &context);
        const auto key = std::make_pair(desc.dump(), info.d);
        auto it = built.find(key);
        if (it == built.end())
            it = built
                     .emplace(key, io::make_codec(desc, store,
                                                  o.input + ": " + info.path + ": " + context,
                                                  ExitCode::usage, info.d))
                     .first;
        jobs.push_back({info, &it->second});
    }
    bool has_queries = false;
    for (const io::DatasetInfo& info : reader.datasets())
        has_queries = has_queries || info.kind == io::KvKind::q;
    bool any = false;
    for (const Job& j : jobs) any = any || j.codec != nullptr;
    if (!any) throw IoError(o.input + ": no key or value dataset selected");

    io::EncodedFileWriter writer(o.output);
    for (const Job& j : jobs)  // in dataset order (the writer embeds each file once)
        if (j.codec && !j.codec->stored.empty()) writer.add_codebook(j.codec->stored);
    io::DumpToContainer metadata(reader, writer);
    metadata.root();

    std::map<io::KvKind, EncodeRow> rows;
    std::vector<EncodeRow> dataset_rows;
    std::vector<float> x[2], scratch, padded;  // two slabs in flight (io/slab_pipeline)
    std::vector<std::uint8_t> codes[2];
    ProgressBar bar;
    std::uint64_t total_vectors = 0, done_vectors = 0;
    std::int64_t block_index = 0;  // running index of checksum blocks (MPI: whose block)
    for (const Job& j : jobs)
        if (j.codec) total_vectors += static_cast<std::uint64_t>(j.info.heads) * j.info.tokens;
    const std::int64_t keep_first = o.keep_first >= 0 ? o.keep_first : plan.keep_first;
    const std::int64_t keep_last = o.keep_last >= 0 ? o.keep_last : plan.keep_last;

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
        if (keep_first > 0 || keep_last > 0) {
            e.keep_first = keep_first;
            e.keep_last = keep_last;
            e.window = window_tokens(io::find_sequences(reader, info, o.segment_len), keep_first,
                                     keep_last);
        }
        // Coded tokens (every token outside the window), in checksum blocks of B.
        const std::vector<std::int64_t> coded = coded_tokens(info.tokens, e.window);
        const std::size_t d = static_cast<std::size_t>(info.d), cb = codec.code_bytes();
        const auto hn = static_cast<std::size_t>(info.heads);
        if (j.codec->center) {  // a first pass: the per-head means of the coded tokens
            codecs::HeadMeans means(hn, d);
            for (std::int64_t c0 = 0; c0 < e.coded(); c0 += e.block_tokens) {
                const std::int64_t c1 = std::min(c0 + e.block_tokens, e.coded());
                read_coded(reader, info, coded, c0, c1, x[0], scratch);
                means.add(x[0].data(), static_cast<std::size_t>(c1 - c0));
            }
            try {
                e.center = means.float16();
            } catch (const NumericError& err) {
                throw NumericError(o.input + ": " + info.path + ": " + err.what());
            }
        }
        writer.create(e);
        metadata.encoded(info.path);
        if (!e.window.empty())
            writer.write_window(info.path, window_values(reader, info, e.window, o.input).data());
        // Under an MPI run each rank codes the blocks it owns (a running index over every
        // dataset's blocks); their failures are agreed on before the collective finish.
        std::exception_ptr failure;
        try {
            std::vector<std::int64_t> starts;  // this rank's checksum blocks (first coded token)
            for (std::int64_t c0 = 0; c0 < e.coded(); c0 += e.block_tokens)
                if (io::mpi::owns(block_index++)) starts.push_back(c0);
            const auto end_of = [&](std::size_t i) {
                return std::min(starts[i] + e.block_tokens, e.coded());
            };
            // Read slab i + 1 and write slab i - 1 while slab i is coded.
            io::SlabStages stages;
            stages.read = [&](std::size_t i, int b) {
                read_coded(reader, info, coded, starts[i], end_of(i), x[b], scratch);
            };
            stages.code = [&](std::size_t i, int b) {
                const std::int64_t c0 = starts[i], c1 = end_of(i);
                const auto nt = static_cast<std::size_t>(c1 - c0);
                if (!e.center.empty())
                    codecs::subtract_center(x[b].data(), hn, nt, d, e.center.data());
                codes[b].resize(hn * codecs::group_rows(codec, nt) * cb);
                try {
                    codecs::encode_heads(codec, x[b].data(), hn, nt, codes[b].data(), padded);
                } catch (const NumericError& err) {  // e.g. a norm beyond the float16 header
                    throw NumericError(o.input + ": " + info.path + ": tokens [" +
                                       std::to_string(token_of(coded, c0)) + ", " +
                                       std::to_string(token_of(coded, c1 - 1) + 1) +
                                       "): " + err.what());
                }
                done_vectors += hn * nt;
                bar.update("encoding " + info.path,
                           static_cast<double>(done_vectors) / static_cast<double>(total_vectors));
            };
            stages.write = [&](std::size_t i, int b) {
                writer.write_block(info.path, starts[i], end_of(i), codes[b].data());
            };
            io::run_slab_pipeline(starts.size(), stages, io::overlap_io());
        } catch (...) {
            failure = std::current_exception();
        }
        io::mpi::agree(failure);
        writer.finish(info.path);

        EncodeRow r;
        r.tensor = info.path;
        r.codec = io::codec_label(*j.codec);
        r.vectors = static_cast<std::uint64_t>(info.heads) * info.tokens;
        r.d = info.d;
        r.input_bytes = r.vectors * d * dtype_bytes(info.dtype);
        const double coded_vectors = static_cast<double>(hn) * static_cast<double>(e.coded());
        r.bits.coords = static_cast<double>(r.vectors) * static_cast<double>(d);
        r.bits.side = codec.side_bits() * coded_vectors;
        r.bits.payload = codec.code_bits() * coded_vectors - r.bits.side;
        r.bits.side += e.center_bits();  // the centre is side information of the dataset
        r.bits.window = e.window_bits();
        r.bits.stored = 8.0 * static_cast<double>(cb) * static_cast<double>(hn) *
                            static_cast<double>(e.rows()) +
                        e.extra_bits();
        r.output_bytes = static_cast<std::uint64_t>(hn) * e.rows() * cb +
                         static_cast<std::uint64_t>(std::llround(e.extra_bits() / 8.0));
        r.rate = r.bits.per_coord(r.bits.exact());
        r.stored_rate = r.bits.per_coord(r.bits.stored);
        r.seconds = seconds_since(t0);
        dataset_rows.push_back(r);

        EncodeRow& k = rows[info.kind];
        k.tensor = info.kind == io::KvKind::k ? "K" : "V";
        if (k.codec.empty())
            k.codec = r.codec;
        else if (k.codec.find(r.codec) == std::string::npos)
            k.codec += "; " + r.codec;
        k.vectors += r.vectors;
        k.d = info.d;
        k.input_bytes += r.input_bytes;
        k.output_bytes += r.output_bytes;
        k.bits.add(r.bits);
        k.rate = k.bits.per_coord(k.bits.exact());
        k.stored_rate = k.bits.per_coord(k.bits.stored);
        k.seconds += r.seconds;
        log_verbose("encoded " + info.path + ": " + std::to_string(r.vectors) + " vectors");
    }
    for (const std::string& other : reader.other_datasets()) metadata.verbatim(other);
    bar.finish();
    writer.commit();

    EncodeSummary s;
    for (auto& [kind, r] : rows) {
        s.rows.push_back(r);
        s.total.add(r.bits);
    }
    s.datasets = std::move(dataset_rows);
    std::error_code ec;
    s.input_file_bytes = fs::file_size(o.input, ec);
    s.output_file_bytes = fs::file_size(o.output, ec);
    s.seconds = seconds_since(t_start);
    if (verbosity() != Verbosity::quiet)
        std::cout << summary_text(s, o, has_queries, keep_first, keep_last) << std::flush;
    return s;
}

}  // namespace fq::tasks
