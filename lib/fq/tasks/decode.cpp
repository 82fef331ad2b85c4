#include "fq/tasks/decode.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/metadata_copy.hpp"
#include "fq/io/mpi_run.hpp"
#include "fq/io/slab_pipeline.hpp"
#include "fq/tasks/paths.hpp"
#include "fq/tasks/run_main.hpp"

namespace fs = std::filesystem;

namespace fq::tasks {

namespace {

using Clock = std::chrono::steady_clock;

bool selected(const std::vector<std::string>& globs, const std::string& path) {
    if (globs.empty()) return true;
    for (const std::string& g : globs)
        if (io::glob_match(g, path)) return true;
    return false;
}

// Adds a -c codebook file of any family to the store; returns its content hash.
std::string add_codebook_file(io::CodebookStore& store, const std::string& path) {
    io::StoredCodebook cb = io::load_stored_codebook(path);
    std::string hash = cb.content_hash;
    store.add(std::move(cb));
    return hash;
}

}  // namespace

DecodeSummary run_decode(const DecodeOptions& o) {
    const auto t_start = Clock::now();
    set_verbosity(static_cast<Verbosity>(std::clamp(o.verbosity, -1, 1)));
    require(!o.input.empty(), "no input (-i)");
    require(!o.output.empty(), "no output (-o)");
    require(o.dtype == "float32" || o.dtype == "float16",
            "--dtype must be float32 or float16, got '" + o.dtype + "'");
    refuse_existing_output(o.output, o.input, o.force);
    core::set_threads(o.threads);

    io::EncodedFileReader reader(o.input);

    std::vector<const io::EncodedDataset*> encoded;
    for (const io::EncodedDataset& e : reader.datasets())
        if (selected(o.select, e.path)) encoded.push_back(&e);
    std::vector<std::string> copied;
    for (const std::string& c : reader.copied_datasets())
        if (selected(o.select, c)) copied.push_back(c);
    if (encoded.empty() && copied.empty())
        throw IoError(o.input + ": no dataset matches the selection");
    const bool sliced = !o.tokens.empty() || !o.heads.empty();

    // Codebooks: given ones must match the file; the others come from the file.
    io::CodebookStore store(o.codebook_dir);
    std::set<std::string> given;
    for (const std::string& path : o.codebooks) {
        given.insert(add_codebook_file(store, path));
    }
    for (const io::EncodedDataset* e : encoded) {
        const std::string needed = io::needed_codebook(e->codec);
        if (needed.empty()) continue;  // qjl, scalar+qjl, int, block: no codebook
        if (!given.empty() && given.count(needed) == 0)
            throw CorruptError(o.input + ": " + e->path +
                               ": codebook hash mismatch: the file needs " + needed +
                               ", -c gives " + *given.begin());
        // Containers written before FAISS codebooks were embedded name a file instead.
        if (store.has(needed) || (e->codebook.empty() && !reader.has_codebook(needed))) continue;
        store.add(reader.stored_codebook(needed));
    }

    io::KvDumpWriter writer(o.output);
    io::ContainerToDump metadata(reader, writer);
    metadata.root();

    DecodeSummary s;
    std::map<std::pair<std::string, int>, io::BuiltCodec> built;  // (description, d)
    std::vector<float> x[2];
    io::FetchedSlab fetched[2];
    std::int64_t block_index = 0;  // running index of checksum blocks (MPI: whose block)
    ProgressBar bar;
    for (const io::EncodedDataset* ep : encoded) {
        const io::EncodedDataset& e = *ep;
        // Datasets stored with the same description share one codec (built once: a haar
        // rotation or a codebook's search structures are not free).
        auto it = built.find({e.codec.dump(), e.d});
        if (it == built.end())
            it = built
                     .emplace(std::make_pair(e.codec.dump(), e.d),
                              io::make_codec(e.codec, store, o.input + ": " + e.path + ": codec",
                                             ExitCode::corrupt, e.d))
                     .first;
        const codecs::Codec& codec = *it->second.codec;
        if (codec.dim() != e.d || codec.code_bytes() != e.code_bytes ||
            std::abs(codec.code_bits() - e.code_bits) > 1e-6 ||
            static_cast<std::int64_t>(codec.block_vectors()) != e.block_vectors)
            throw CorruptError(
                o.input + ": " + e.path + ": codec sizes (d " + std::to_string(codec.dim()) + ", " +
                std::to_string(codec.code_bytes()) + " bytes) differ from the " + "dataset's (d " +
                std::to_string(e.d) + ", " + std::to_string(e.code_bytes) + " bytes)");
        const auto [h0, h1] = o.heads.empty() ? std::pair<std::int64_t, std::int64_t>{0, e.heads}
                                              : io::parse_range(o.heads, e.heads, "--heads");
        if (e.tokens == 0 && !o.tokens.empty())
            throw UsageError(e.path + ": has no tokens to slice");
        const auto [t0, t1] = o.tokens.empty() ? std::pair<std::int64_t, std::int64_t>{0, e.tokens}
                                               : io::parse_range(o.tokens, e.tokens, "--tokens");
        const int hn = static_cast<int>(h1 - h0);
        // A batched original is restored with its batch axis when the tokens cover whole
        // batch rows; a slice across rows is written without it (one row of those tokens).
        const int batch = e.batch();
        const std::int64_t row_tokens = e.tokens / batch;
        const bool whole_rows =
            batch > 1 && row_tokens > 0 && t0 % row_tokens == 0 && (t1 - t0) % row_tokens == 0;
        std::string axes = e.axes;
        if (batch > 1 && !whole_rows) axes.erase(axes.find('b'), 1);
        writer.create(e.path, hn, t1 - t0, e.d, o.dtype, axes,
                      whole_rows ? static_cast<int>((t1 - t0) / row_tokens) : 1);
        metadata.decoded(e.path, sliced ? "heads [" + std::to_string(h0) + ", " +
                                              std::to_string(h1) + "), tokens [" +
                                              std::to_string(t0) + ", " + std::to_string(t1) + ")"
                                        : std::string());

        const std::size_t d = static_cast<std::size_t>(e.d);
        const std::int64_t B = e.block_tokens;
        // Under an MPI run each rank decodes the blocks it owns (a running index over every
        // dataset's blocks) and writes them; failures are agreed on before going on.
        std::exception_ptr failure;
        try {
            std::vector<io::Slab> slabs;  // this rank's checksum blocks, clipped to the slice
            for (std::int64_t bs = (t0 / B) * B; bs < t1; bs += B)
                if (io::mpi::owns(block_index++))
                    slabs.push_back(io::Slab{static_cast<int>(h0), static_cast<int>(h1),
                                             std::max(bs, t0), std::min(bs + B, t1)});
            // Read and verify slab i + 1 and write slab i - 1 while slab i is decoded.
            io::SlabStages stages;
            stages.read = [&](std::size_t i, int buf) { reader.fetch(e, slabs[i], fetched[buf]); };
            stages.code = [&](std::size_t i, int buf) {
                x[buf].resize(slabs[i].vectors() * d);
                reader.decode_fetched(e, codec, fetched[buf], x[buf].data());
                s.vectors += slabs[i].vectors();
            };
            stages.write = [&](std::size_t i, int buf) {
                writer.write(e.path, io::Slab{0, hn, slabs[i].t0 - t0, slabs[i].t1 - t0},
                             x[buf].data());
            };
            io::run_slab_pipeline(slabs.size(), stages, io::overlap_io());
        } catch (...) {
            failure = std::current_exception();
        }
        io::mpi::agree(failure);
        ++s.datasets;
        bar.update("decoding " + e.path,
                   static_cast<double>(s.datasets) / static_cast<double>(encoded.size()));
        log_verbose("decoded " + e.path);
    }
    for (const std::string& c : copied) {
        metadata.verbatim(c);
        ++s.copied;
    }
    bar.finish();
    writer.commit();
    s.vectors = io::mpi::sum(s.vectors);  // every rank's share
    std::error_code ec;
    s.output_bytes = fs::file_size(o.output, ec);
    s.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    if (verbosity() != Verbosity::quiet) {
        char line[512];
        std::snprintf(line, sizeof line,
                      "fq-decode: %s -> %s: %llu datasets, %llu vectors decoded (%s), %llu "
                      "copied, %llu bytes, %.3f s, %.0f vectors/s\n",
                      o.input.c_str(), o.output.c_str(),
                      static_cast<unsigned long long>(s.datasets),
                      static_cast<unsigned long long>(s.vectors), o.dtype.c_str(),
                      static_cast<unsigned long long>(s.copied),
                      static_cast<unsigned long long>(s.output_bytes), s.seconds,
                      s.seconds > 0 ? static_cast<double>(s.vectors) / s.seconds : 0.0);
        std::cout << line << std::flush;
    }
    return s;
}

}  // namespace fq::tasks
