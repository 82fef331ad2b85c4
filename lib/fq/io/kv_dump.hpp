// KV dumps: HDF5 files holding a model's per-layer query, key and value vectors (SPEC 1).
//
// Canonical in-memory layout: one dataset's vectors as [heads, tokens, d] row-major float32
// (d = head dimension; vector (h, t) starts at float offset (h * tokens + t) * d).
//
// Default file layout (what scripts/write_kv_dump.py and the shipped samples use):
//   layer_<L>/q, layer_<L>/k, layer_<L>/v    [heads, tokens, d]   L = 0, 1, ...
// plus optional non-vector datasets (token_ids, positions, segment_id) and attributes
// (n_heads, n_kv_heads, head_dim, ...), carried along verbatim by the tools.
//
// Other layouts: KvDumpLayout selects datasets by glob patterns on their full path and
// names the stored axis order with the letters b (batch), h (head), t (token), d
// (coordinate):
//   "htd" [heads, tokens, d] (default), "thd" [tokens, heads, d], any other permutation of
//   h, t, d, or "td" / "dt" for a dataset holding a single head; with a batch axis b,
//   e.g. "bhtd" [batch, heads, tokens, d] (Hugging Face past_key_values). A 4-D dataset
//   under a 3-D order gets a leading batch axis ("htd" -> "bhtd", "thd" -> "bthd").
// Batched datasets: each batch row is an independent sequence of T tokens; in memory the
// rows follow one another on the token axis (tokens = batch x T, token b T + t is token t
// of row b), so everything that works on [heads, tokens, d] works on them unchanged.
//
// Stored element types ("dtype"):
//   float32  HDF5 float, 4 bytes (either byte order)
//   float64  HDF5 float, 8 bytes; rounded to float32 on reading
//   float16  HDF5 float, 2 bytes, IEEE binary16 layout (what h5py writes for numpy.float16)
//   bfloat16 either (a) a 16-bit integer dataset (uint16 or int16) holding the bfloat16 bit
//            patterns, with a string attribute dtype = "bfloat16" (or fq_dtype =
//            "bfloat16") on the dataset, or (b) an HDF5 float type of 2 bytes with the
//            bfloat16 layout (1 sign, 8 exponent, 7 mantissa bits, bias 127).
// Any other type, and integer data without that attribute, is refused (CorruptError).
// 16-bit data is read as raw bits (HDF5 only fixes the byte order) and widened with
// fq::core::half_to_float / bfloat16_to_float: exact, and independent of HDF5's own soft
// conversion of unusual float types.
//
// Errors are one line "<file>: <dataset>: <problem>": IoError for a missing file or dataset
// and HDF5 failures, CorruptError for a wrong rank or unsupported type, UsageError for bad
// options or slabs, NumericError (check_finite) for NaN or Inf.
//
// Writing: KvDumpWriter, declared in io/kv_dump_writer.hpp and included here.
//
// HDF5 never appears in this header. Not thread-safe (serial HDF5): one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fq/io/kv_dump_writer.hpp"

namespace fq::io {

// ---- naming and layout -------------------------------------------------------------------

// Which attention tensor a dataset holds.
enum class KvKind { q, k, v, other };
const char* to_string(KvKind kind);  // "q", "k", "v", "other"

struct KvRole {
    KvKind kind = KvKind::other;  // q, k or v; other if the name says none of them
    int layer = -1;               // first integer in the path; -1 if there is none
};

// Default classification of a dataset path: kind from its last component (q, k, v, query,
// key, value, queries, keys, values; case-insensitive), layer = the first run of digits
// anywhere in the path ("model/layers.12/key" -> k, 12).
KvRole classify_kv_path(std::string_view path);

// Glob match of a whole dataset path (leading '/' ignored on both sides): '?' matches one
// character other than '/', '*' any run of characters other than '/', "**" any run
// including '/'. Everything else matches itself.
bool glob_match(std::string_view pattern, std::string_view path);

// Order of the stored axes, e.g. "htd", "thd" or "bhtd" (letters b, h, t, d, each at most
// once; t and d required; h optional: "td" and "dt" hold a single head; b optional: a batch
// of sequences). Throws UsageError otherwise.
class AxisOrder {
public:
    AxisOrder() = default;  // "htd"
    explicit AxisOrder(std::string_view letters);

    const std::string& str() const { return m_letters; }
    int rank() const { return static_cast<int>(m_letters.size()); }
    // Position of axis 'b', 'h', 't' or 'd' in the stored order; -1 if absent.
    int axis_of(char letter) const;
    bool has_batch() const { return axis_of('b') >= 0; }
    // The order with a batch axis in front ("htd" -> "bhtd"); itself if it has one.
    AxisOrder with_batch() const;

private:
    std::string m_letters = "htd";
};

// Which datasets of a dump are vector datasets, and how their axes are stored.
struct KvDumpLayout {
    // Glob patterns on full dataset paths (see glob_match); a dataset is selected if any
    // matches. Empty: the default layout, every dataset named layer_<integer>/{q,k,v}.
    std::vector<std::string> select;
    std::string axes = "htd";  // stored axis order of every selected dataset (AxisOrder)
    // Optional overrides of classify_kv_path's kind: a path matching q_glob is a query,
    // k_glob a key, v_glob a value (checked in that order; empty = not used).
    std::string q_glob, k_glob, v_glob;
};

// The largest head dimension a dump may have (MLA latents are 576): a larger d is refused as
// damaged (CorruptError) rather than sized into buffers or codebooks.
inline constexpr std::uint64_t k_max_head_dim = 1 << 16;

// What a vector dataset holds, from its metadata only (no data read).
struct DatasetInfo {
    std::string path;                 // full path without the leading '/', e.g. "layer_0/k"
    std::vector<std::uint64_t> dims;  // stored shape, in file axis order
    std::string dtype;                // "float32", "float64", "float16" or "bfloat16"
    std::string axes = "htd";         // stored axis order (AxisOrder::str())
    int heads = 0;                    // after axis mapping (1 for a 2-D order)
    std::int64_t tokens = 0;          // all tokens: batch x batch_tokens
    int batch = 1;                    // batch rows (1 without a batch axis)
    std::int64_t batch_tokens = 0;    // tokens per batch row (= tokens when batch = 1)
    int d = 0;
    KvKind kind = KvKind::other;  // classify_kv_path or the layout's overrides
    int layer = -1;
};

// A block of vectors: heads [h0, h1) x tokens [t0, t1), all d coordinates; as a buffer,
// (h1 - h0, t1 - t0, d) row-major float.
struct Slab {
    int h0 = 0, h1 = 0;
    std::int64_t t0 = 0, t1 = 0;

    int heads() const { return h1 - h0; }
    std::int64_t tokens() const { return t1 - t0; }
    std::size_t vectors() const { return static_cast<std::size_t>(heads()) * tokens(); }
};
Slab full_slab(const DatasetInfo& info);  // every head and token

// Throws NumericError("<file>: <dataset>: NaN at [head h, token t, dim i]") (or "Inf") for
// the first non-finite value of x in row-major order; h and t are absolute (slab.h0 + ...,
// slab.t0 + ...). x: (slab.heads(), slab.tokens(), d) row-major float. Separate from
// reading so that the caller decides whether non-finite data is an error.
void check_finite(const float* x, const Slab& slab, int d, const std::string& file,
                  const std::string& dataset);

// ---- reading -----------------------------------------------------------------------------

// Reads a KV dump, opened read-only (the input is never modified). The constructor lists
// and validates the selected datasets (rank, axis lengths, dtype) so that problems surface
// before any work; IoError if the file is missing or nothing is selected.
//
// Memory: read() touches only the requested hyperslab of the file; for a stored order
// other than htd / td it also needs one scratch buffer of the slab's size. Processing a
// dump slab by slab therefore needs memory bounded by the slab, not the file.
class KvDumpReader {
public:
    explicit KvDumpReader(const std::string& path, const KvDumpLayout& layout = {});
    ~KvDumpReader();
    KvDumpReader(KvDumpReader&&) noexcept;
    KvDumpReader& operator=(KvDumpReader&&) noexcept;

    const std::string& path() const;
    const KvDumpLayout& layout() const;
    // The selected vector datasets, in natural path order (layer_2 before layer_10).
    const std::vector<DatasetInfo>& datasets() const;
    // Every other dataset of the file (token_ids, positions, ...), in natural order.
    const std::vector<std::string>& other_datasets() const;

    // Info of any dataset of the file, selected or not, under axis order `axes` (empty: the
    // layout's). IoError "<file>: <path>: no such dataset"; CorruptError for a wrong rank
    // or dtype; UsageError for an invalid axis order.
    DatasetInfo info(const std::string& dataset, const std::string& axes = "") const;

    // Reads the slab of `info`'s dataset into out: (slab.heads(), slab.tokens(), info.d)
    // row-major float32. UsageError if the slab is empty-ranged or outside the dataset.
    void read(const DatasetInfo& info, const Slab& slab, float* out) const;
    std::vector<float> read(const DatasetInfo& info, const Slab& slab) const;
    std::vector<float> read_all(const DatasetInfo& info) const;  // (heads, tokens, d)

    // Whether the file has a dataset at that path (selected or not).
    bool has_dataset(const std::string& dataset) const;
    // An integer dataset of any rank (token_ids, segment_id, ...) flattened in C order, as
    // int64. CorruptError unless its type is an integer type and it holds exactly
    // `expected` elements (checked before reading); IoError if it is missing.
    std::vector<std::int64_t> read_integers(const std::string& dataset,
                                            std::uint64_t expected) const;

    // The HDF5 file identifier (an hid_t), for the fq::io::h5 attribute helpers and for
    // KvDumpWriter's copies. Valid while the reader lives.
    std::int64_t file_id() const;

private:
    // read() of one batch row (row 0 without a batch axis); slab in that row's tokens.
    void read_row(const DatasetInfo& info, std::int64_t row, const Slab& slab, float* out) const;

    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace fq::io
