// KvDumpWriter: writes a KV dump (io/kv_dump.hpp describes the format, the reader, and the
// Slab and KvDumpReader types used here; that header includes this one, so include it).
//
// Output is deterministic: the file, its groups and datasets are created without HDF5's
// object times (io/hdf5_util.hpp), so the same calls in the same order give byte-identical
// files, whenever and with however many threads they are made.
//
// HDF5 never appears in this header. Not thread-safe (serial HDF5): one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace fq::io {

struct Slab;         // io/kv_dump.hpp
class KvDumpReader;  // io/kv_dump.hpp

// Writes a KV dump (decoded output, tests). The file is written under a temporary name
// beside `path` and renamed onto it by commit(); destroyed uncommitted, it leaves nothing
// behind. An existing `path` is replaced on commit: refusing that is the caller's job.
//
// Stored types: float32 (IEEE F32LE); float16 (IEEE binary16 little-endian, an HDF5 float
// type that h5py reads as numpy.float16; values rounded to nearest even by
// core::float_to_half); bfloat16 (uint16 bit patterns + dataset attribute
// dtype = "bfloat16", rounded by core::float_to_bfloat16); float64.
class KvDumpWriter {
public:
    explicit KvDumpWriter(const std::string& path);
    ~KvDumpWriter();
    KvDumpWriter(const KvDumpWriter&) = delete;
    KvDumpWriter& operator=(const KvDumpWriter&) = delete;

    // Creates vector dataset `dataset` of heads x tokens vectors of dimension d, stored in
    // axis order `axes` (AxisOrder; heads must be 1 for a 2-D order) with element type
    // `dtype` ("float32", "float16", "bfloat16", "float64"); intermediate groups are made.
    // A batched order (bhtd, ...) stores `batch` rows of tokens / batch tokens each (tokens
    // must be a multiple of batch); slabs still address the concatenated token axis.
    void create(const std::string& dataset, int heads, std::int64_t tokens, int d,
                const std::string& dtype = "float32", const std::string& axes = "htd",
                int batch = 1);
    // Writes x: (slab.heads(), slab.tokens(), d) row-major float into the slab of a dataset
    // made by create(). Slabs may be written in any order; unwritten vectors read as 0.
    void write(const std::string& dataset, const Slab& slab, const float* x);

    // Copies the attributes of object src_object of src ("" or "/" = root) onto
    // dst_object here, each in its stored type, in name order. dst_object must exist
    // (UsageError otherwise: create() it, or make the group with h5::create_group). When
    // dst_object is a dataset the attributes dtype and fq_dtype are not copied: the writer
    // sets them from the type it stores.
    void copy_attributes(const KvDumpReader& src, const std::string& src_object,
                         const std::string& dst_object);
    // Copies a dataset of src (data, type, shape and attributes) verbatim to the same path,
    // e.g. token_ids, positions, segment_id (h5::copy_object: object times the source
    // records, if any, are copied too; new parent groups record none).
    void copy_dataset(const KvDumpReader& src, const std::string& dataset);

    // The HDF5 identifier of the file being written (an hid_t), for fq::io::h5 helpers.
    std::int64_t file_id() const;
    // Flushes, closes and renames onto the final path. Nothing may be written afterwards.
    void commit();

private:
    // write() of one batch row (row 0 without a batch axis) of a created dataset.
    void write_row(const std::string& name, std::int64_t row, const Slab& slab, const float* x);

    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace fq::io
