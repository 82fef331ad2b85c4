// Compressed KV files ("fq-compressed" container, version 1): one HDF5 file holding, per
// vector dataset of a KV dump, the fixed-stride codes of a codecs::Codec, with the codebooks
// embedded so the file decodes on its own. Specified in docs/FORMAT.md §2.
//
//   /                       attrs fq_format = "fq-compressed", fq_format_version = 1,
//                           fq_version, fq_index (JSON: encoded and copied paths),
//                           + the dump's root attributes
//   /codebooks/<hex>        uint8 [n]: the codebook file text (JSON), hex = its content
//                           hash without "sha256:"; attr content_hash; attr format =
//                           "fq-gsrq-codebook" / "fq-faiss-codebook" (absent: universal)
//   /<path>/                one group per encoded dataset (e.g. layer_0/k), attrs: codec
//                           description, codebook hash, code_bytes, code_bits, shape, ...
//   /<path>/codes           uint8 [heads, rows, code_bytes]: one code per row; rows = tokens
//                           (vector (h, t) at a fixed offset) unless the codec codes
//                           groups of G = block_vectors() > 1 vectors (int per_channel):
//                           then rows = ceil(tokens / G), row j codes tokens [j G, j G + G)
//                           of its head, a last partial group padded by repeating its last
//                           vector; chunks [1, block_tokens / G, code_bytes]; carries the
//                           original dataset's attributes
//   /<path>/block_sha256    uint8 [heads, ceil(tokens / block_tokens), 32]: SHA-256 of the
//                           code rows of head h covering tokens [b B, min((b+1) B, tokens))
//                           (B a multiple of G)
//   payload_sha256 (attr)   SHA-256 of block_sha256 (all digests in (head, block) order)
//   /<path>/window_tokens   int64 [W] (only with windows, attrs keep_first / keep_last): the
//                           tokens kept exactly, increasing; the codes then cover only the
//                           other tokens ("coded" tokens, in order: rows, blocks and
//                           write_block count coded tokens)
//   /<path>/window          float16 [heads, W, d]: their values; attr window_sha256 on the
//                           group = SHA-256 of window_tokens (int64 LE) then window (LE)
//   /<path>/center          float16 [heads, d] (only when the codec description has
//                           "center": "head"): the per-head means subtracted before coding,
//                           added back when decoding; attr center_sha256 on the group =
//                           SHA-256 of its values (LE)
//   /<other>                non-vector datasets (and queries, if kept) copied verbatim
//
// Reading verifies the format and version, every size before allocating, the payload
// checksum against the block table and each block read against its digest; any mismatch
// is a CorruptError naming the file, dataset and block. Not thread-safe (serial HDF5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fq/codecs/codec.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/gsrq_file.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/stored_codebook.hpp"

namespace fq::io {

inline constexpr const char* k_container_format = "fq-compressed";
// Written: version 2 (docs/FORMAT.md §2 changelog); read: versions 1 and 2.
inline constexpr int k_container_version = 2;
inline constexpr int k_container_min_version = 1;

// One encoded dataset, as stored in its group's attributes.
struct EncodedDataset {
    std::string path;                  // dataset path in the dump, e.g. "layer_0/k"
    KvKind kind = KvKind::other;       // attr kind: "q" | "k" | "v" | "other"
    int layer = -1;                    // attr layer
    std::vector<std::uint64_t> shape;  // attr shape: original stored shape (axis order `axes`)
    std::string axes = "htd";          // attr axes: original axis order
    std::string dtype;                 // attr dtype: original element type
    int heads = 0;                     // attr heads
    std::int64_t tokens = 0;           // attr tokens
    int d = 0;                         // attr d
    nlohmann::ordered_json codec;      // attr codec: stored codec description (JSON text)
    std::string codebook;              // attr codebook: "sha256:<64 hex>", "" = none needed
    std::size_t code_bytes = 0;        // attr code_bytes: stride of one code (one row)
    double code_bits = 0;              // attr code_bits: exact bits per *vector* (Codec)
    std::int64_t block_vectors = 1;    // attr block_vectors: G, vectors per code (absent: 1)
    // Batch rows of a batched original (axes with b, e.g. "bhtd"; the tokens of the rows
    // follow one another), 1 otherwise.
    int batch() const;
    std::int64_t block_tokens = 0;  // attr block_tokens: B, coded tokens per checksum block
    std::string payload_sha256;     // attr payload_sha256: "sha256:<64 hex>"
    std::int64_t keep_first = 0;    // attr keep_first (absent: 0): window at each sequence's start
    std::int64_t keep_last = 0;     // attr keep_last (absent: 0): ... and at its end
    std::vector<std::int64_t> window;  // dataset window_tokens: tokens kept exactly (increasing)
    std::string window_sha256;         // attr window_sha256 ("" without a window)
    // dataset center: (heads, d) float16 bit patterns, the per-head means of the coded tokens
    // (empty: not centred; present exactly when codec has "center": "head").
    std::vector<std::uint16_t> center;
    std::string center_sha256;  // attr center_sha256 ("" when not centred)

    // Tokens with codes: every token but the window's. Code rows, blocks, write_block and
    // read_codes count these ("coded index" c: the c-th token outside the window).
    std::int64_t coded() const { return tokens - static_cast<std::int64_t>(window.size()); }
    std::int64_t blocks() const {
        return coded() == 0 ? 0 : (coded() + block_tokens - 1) / block_tokens;
    }
    // Code rows per head: coded(), or ceil(coded() / G) groups.
    std::int64_t rows() const { return (coded() + block_vectors - 1) / block_vectors; }
    // Code rows of coded tokens [c0, c1) (c0 a multiple of G): [c0 / G, ceil(c1 / G)).
    std::int64_t row_of(std::int64_t c) const { return c / block_vectors; }
    std::int64_t row_end(std::int64_t c) const { return (c + block_vectors - 1) / block_vectors; }
    double rate() const { return code_bits / d; }  // bits per coordinate of a code (exact)
    // Bits stored for the window: 16 per coordinate plus 64 per window token (its index).
    double window_bits() const {
        return window.empty()
                   ? 0.0
                   : 16.0 * static_cast<double>(heads) * static_cast<double>(window.size()) * d +
                         64.0 * static_cast<double>(window.size());
    }
    // Bits stored for the centre: 16 per coordinate of its (heads, d) means.
    double center_bits() const { return 16.0 * static_cast<double>(center.size()); }
    // Bits stored besides the codes: the window and the centre.
    double extra_bits() const { return window_bits() + center_bits(); }
    // Bits per coordinate as stored, over every token: byte padding of a code and, for G > 1,
    // the padding of the last partial group included, the window and the centre: (8 C rows
    // heads + extra_bits()) / (heads tokens d).
    double stored_rate() const {
        if (window.empty() && center.empty() && (block_vectors == 1 || tokens == 0))
            return 8.0 * static_cast<double>(code_bytes) / (static_cast<double>(block_vectors) * d);
        if (tokens == 0) return 0;
        return (8.0 * static_cast<double>(code_bytes) * static_cast<double>(rows()) *
                    static_cast<double>(heads) +
                extra_bits()) /
               (static_cast<double>(heads) * static_cast<double>(tokens) * d);
    }
    // Exact bits per coordinate over every token (codes at code_bits, no byte padding, plus
    // the window and the centre): the rate of a windowed or centred configuration.
    double exact_rate() const {
        if (tokens == 0) return rate();
        return (code_bits * static_cast<double>(heads) * static_cast<double>(coded()) +
                extra_bits()) /
               (static_cast<double>(heads) * static_cast<double>(tokens) * d);
    }
};

// Writes a container under a temporary name beside `path`; commit() renames it into place
// (replacing an existing file: refusing that is the caller's job). Destroyed uncommitted,
// it leaves nothing behind.
class EncodedFileWriter {
public:
    explicit EncodedFileWriter(const std::string& path);
    ~EncodedFileWriter();
    EncodedFileWriter(const EncodedFileWriter&) = delete;
    EncodedFileWriter& operator=(const EncodedFileWriter&) = delete;

    // Embeds a codebook file of any family (once per content hash; later calls with the same
    // hash do nothing): its text in /codebooks/<hex>, attribute format for every format but
    // the universal one. The typed overloads serialize their argument.
    void add_codebook(const StoredCodebook& cb);
    void add_codebook(const UniversalCodebook& cb);
    void add_codebook(const GsrqCodebookFile& cb);

    // Starts dataset info.path (info.blocks(), code_bytes, window, ... must be set;
    // payload_sha256 and window_sha256 are computed). Codes must then be written block by
    // block (any order), the window (if any) written, and the dataset finished. The codebook
    // info.codebook must have been added (unless ""). UsageError on bad sizes (block_tokens
    // must be a multiple of block_vectors; the window increasing and within tokens).
    void create(const EncodedDataset& info);
    // codes: (heads, rows, code_bytes) bytes for coded tokens [c0, c1) of every head, rows =
    // info.row_end(c1) - info.row_of(c0) (= c1 - c0 when G = 1); c0 must be a multiple of
    // block_tokens and c1 = min(c0 + block_tokens, coded()).
    void write_block(const std::string& path, std::int64_t c0, std::int64_t c1,
                     const std::uint8_t* codes);
    // values: (heads, W, d) float16 bit patterns of the window tokens.
    void write_window(const std::string& path, const std::uint16_t* values);
    // Writes the block table and payload checksum; UsageError if a block was not written.
    void finish(const std::string& path);

    // Copies the attributes of object src_object of HDF5 file src_file (an hid_t; "" = root)
    // onto object dst_object here ("" = root; the codes dataset of an encoded path if
    // `onto_codes`), skipping the container's own root attribute names.
    void copy_attrs(std::int64_t src_file, const std::string& src_object,
                    const std::string& dst_object, bool onto_codes = false);
    // Copies a dataset of src_file (an hid_t) verbatim to the same path; listed as copied.
    void copy_dataset(std::int64_t src_file, const std::string& path);

    std::int64_t file_id() const;
    const std::string& path() const;
    // Writes the root attributes and renames the file into place.
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Reads a container, opened read-only. The constructor checks fq_format and
// fq_format_version and reads every dataset's attributes (CorruptError if a file is not a
// container, has another version, inconsistent attributes or dataset shapes; a file that
// starts with the HDF5 signature but cannot be opened, e.g. truncated, is CorruptError too;
// a missing file is IoError).
// What EncodedFileReader::fetch reads for a slab, and decode_fetched's scratch.
struct FetchedSlab {
    Slab slab;                          // the tokens asked for
    std::int64_t c0 = 0, c1 = 0;        // its coded tokens [c0, c1)
    std::int64_t w0 = 0, w1 = 0;        // its window entries [w0, w1) of info.window
    std::vector<std::uint8_t> codes;    // code rows covering [c0, c1): (heads, rows, code_bytes)
    std::vector<std::uint16_t> window;  // the dataset's window values (when w1 > w0)
    std::vector<float> rows, coded;     // decode_fetched's scratch
};

class EncodedFileReader {
public:
    explicit EncodedFileReader(const std::string& path);
    ~EncodedFileReader();
    EncodedFileReader(EncodedFileReader&&) noexcept;
    EncodedFileReader& operator=(EncodedFileReader&&) noexcept;

    const std::string& path() const;
    int format_version() const;
    const std::string& writer_version() const;                     // root attr fq_version
    const std::vector<EncodedDataset>& datasets() const;           // encoded, in natural order
    const std::vector<std::string>& copied_datasets() const;       // copied verbatim
    const EncodedDataset& dataset(const std::string& path) const;  // IoError if absent
    std::vector<std::string> codebook_hashes() const;              // embedded universal codebooks
    std::vector<std::string> gsrq_codebook_hashes() const;         // embedded gsrq codebooks

    // The embedded codebook file of that hash, of any family, validated (CorruptError if
    // absent or damaged, or if its content does not hash to `hash`).
    StoredCodebook stored_codebook(const std::string& hash) const;
    bool has_codebook(const std::string& hash) const;  // whether one of that hash is embedded
    // The same, parsed as a universal codebook.
    UniversalCodebook codebook(const std::string& hash) const;
    // The same for an embedded gsrq codebook file.
    GsrqCodebookFile gsrq_codebook(const std::string& hash) const;

    // The window values (heads, W, d) as float16 bit patterns, verified against
    // window_sha256 (CorruptError on a mismatch); empty without a window.
    std::vector<std::uint16_t> read_window(const EncodedDataset& info) const;

    // Code rows of heads [slab.h0, slab.h1) x rows [slab.t0, slab.t1) into
    // out: (slab.heads(), slab.tokens(), code_bytes) bytes. A row is a token when
    // info.block_vectors == 1 (then slab.t0/t1 are tokens), else a group of G tokens
    // (info.row_of / row_end convert). Reads only the checksum blocks covering the rows for
    // those heads, verifies each against the block table (and the table against
    // payload_sha256), CorruptError on a mismatch or read failure.
    // Memory: one block of the requested heads besides out.
    void read_codes(const EncodedDataset& info, const Slab& slab, std::uint8_t* out) const;

    // Decodes the vectors of heads [slab.h0, slab.h1) x tokens [slab.t0, slab.t1) with codec
    // (made from info.codec) into out: (slab.heads(), slab.tokens(), d) float: reads the code
    // rows covering the slab's coded tokens (whole groups when G > 1), decodes them with
    // core::parallel_chunks over fixed chunks (output independent of the thread count),
    // drops the vectors outside the slab (and the padding of a last partial group), and puts
    // the window's tokens back exactly (float16 -> float). A slice equals the same slice of a
    // full decode bit for bit. decode = fetch + decode_fetched.
    void decode(const EncodedDataset& info, const codecs::Codec& codec, const Slab& slab,
                float* out) const;

    // The two halves of decode, for a caller that overlaps I/O with compute
    // (io/slab_pipeline): fetch reads and verifies what the slab needs (HDF5 calls, checksum
    // checks; CorruptError as read_codes / read_window); decode_fetched decodes it and calls
    // no HDF5 function. A FetchedSlab's buffers are reused when it is fetched again.
    void fetch(const EncodedDataset& info, const Slab& slab, FetchedSlab& out) const;
    void decode_fetched(const EncodedDataset& info, const codecs::Codec& codec, FetchedSlab& in,
                        float* out) const;

    std::int64_t file_id() const;  // the HDF5 file (hid_t), valid while the reader lives

private:
    // decode_fetched of the coded tokens [in.c0, in.c1) (no window between them to restore).
    void decode_coded(const EncodedDataset& info, const codecs::Codec& codec, FetchedSlab& in,
                      float* out) const;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Parses "a:b" (half-open, either side may be empty: ":" = all, "5:" = from 5) against a
// length n; a single "a" means a:a+1. UsageError if out of range or empty.
std::pair<std::int64_t, std::int64_t> parse_range(const std::string& text, std::int64_t n,
                                                  const std::string& what);

}  // namespace fq::io
