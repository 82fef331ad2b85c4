// Thin RAII layer over the HDF5 C API (libhdf5 >= 1.10, serial), shared by every fq reader
// and writer of HDF5 files (KV dumps, compressed files). Layer 2 only: include it from
// io/ and tasks/ .cpp files, never from a header of layer 1.
//
// - Handles (File, Group, Dataset, Dataspace, Datatype, Attribute, PropList) own one
//   hid_t each and close it with the matching H5?close on destruction; move-only.
// - HDF5's automatic printing of its error stack is switched off (silence_errors(), called
//   by every function here); failures become fq::IoError with a one-line message
//   "<file>: <object>: <problem> (HDF5: <innermost HDF5 message>)".
// - Paths inside a file are written without the leading '/' in messages and listings
//   ("layer_0/k"); functions accept them with or without it.
// - Deterministic output: every file, group and dataset created here is created with
//   object time tracking off (H5Pset_obj_track_times(false) on its creation property list;
//   HDF5 records creation and modification times by default), with the default (earliest)
//   format bounds, so the same content written the same way gives byte-identical files.
// - Not thread-safe: the serial HDF5 library must be called from one thread at a time.
// - The attribute helpers (read_attr_*, write_attr_*, copy_attrs) are declared in
//   io/hdf5_attr.hpp, included here.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fq/io/hdf5_attr.hpp"

namespace fq::io::h5 {

// Switches off HDF5's automatic error-stack printing for the process (idempotent).
void silence_errors();

// The innermost message of HDF5's current error stack ("" if empty); clears the stack.
std::string last_hdf5_message();

// Throws IoError("<where>: <what> (HDF5: <last_hdf5_message()>)"), the HDF5 part omitted
// when the stack is empty. Compute `where` without HDF5 calls (each API call clears the
// stack); to name an HDF5 object use the hid_t overload, which reads the stack first.
[[noreturn]] void throw_io(const std::string& where, const std::string& what);
// Same with where = describe(obj).
[[noreturn]] void throw_io(hid_t obj, const std::string& what);

// "<file>: <object path>" for any open file-resident object (file name as it was opened,
// object path without the leading '/'); just "<file>" for a file id or the root group.
std::string describe(hid_t obj);

// Owns one HDF5 identifier; closes it with `close` on destruction.
class Handle {
public:
    using Closer = herr_t (*)(hid_t);

    Handle() = default;
    Handle(hid_t id, Closer close) noexcept : m_id(id), m_close(close) {}
    ~Handle() { reset(); }
    Handle(Handle&& o) noexcept : m_id(o.m_id), m_close(o.m_close) { o.m_id = H5I_INVALID_HID; }
    Handle& operator=(Handle&& o) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    hid_t id() const noexcept { return m_id; }
    bool valid() const noexcept { return m_id >= 0; }
    // Closes now (errors ignored: use the explicit close functions where they matter).
    void reset() noexcept;
    // Gives up ownership without closing.
    hid_t release() noexcept;

private:
    hid_t m_id = H5I_INVALID_HID;
    Closer m_close = nullptr;
};

// One typed handle per kind of HDF5 object, so that each is closed the right way. The
// two-argument constructor adopts an id just returned by the C API and, if that id is
// negative (the C API's failure value), throws
// IoError("<describe(context)>: <what> (HDF5: ...)"); the one-argument one only adopts.
template <herr_t (*Close)(hid_t)>
class TypedHandle : public Handle {
public:
    TypedHandle() = default;
    explicit TypedHandle(hid_t id) noexcept : Handle(id, Close) {}
    TypedHandle(hid_t id, hid_t context, const char* what) : Handle(id, Close) {
        if (id < 0) throw_io(context, what);
    }
};
using File = TypedHandle<H5Fclose>;
using Group = TypedHandle<H5Gclose>;
using Dataset = TypedHandle<H5Dclose>;
using Dataspace = TypedHandle<H5Sclose>;
using Datatype = TypedHandle<H5Tclose>;
using Attribute = TypedHandle<H5Aclose>;
using PropList = TypedHandle<H5Pclose>;

// A new creation property list of class `cls` (H5P_FILE_CREATE, H5P_GROUP_CREATE,
// H5P_DATASET_CREATE, ...) with object time tracking off, for objects created outside these
// helpers that must not carry timestamps either.
PropList untimed_plist(hid_t cls);

// --- files -------------------------------------------------------------------------------

// Opens an existing file, read-only (H5F_ACC_RDONLY: the input is never modified) unless
// `writable`. IoError "<path>: no such file" / "<path>: not an HDF5 file" / HDF5 failure.
File open_file(const std::string& path, bool writable = false);
// open_file(path) for a file fq reads as input: one that carries the HDF5 signature but that
// libhdf5 cannot open is damaged or truncated (CorruptError, exit 3); a missing file or one
// that is not HDF5 at all stays IoError.
File open_input_file(const std::string& path);
// How a new file is laid out. `legacy`: HDF5's default, oldest file-format objects (readable
// by HDF5 1.8; what h5py writes). `checksummed`: the HDF5 1.10 format (superblock v3,
// version 2 object headers, new chunk indexes), every metadata object checksummed, so that a
// damaged byte in metadata is refused by the library instead of parsed (fq containers).
enum class FileLayout { legacy, checksummed };
// Creates `path`, truncating an existing file; its root group records no times.
File create_file(const std::string& path, FileLayout layout = FileLayout::legacy);
// Flushes and closes, reporting a failure (a destructor cannot) as IoError.
void close_file(File& file);

// An HDF5 file written under a temporary name in the directory of `path` and renamed onto
// `path` by commit(), so that readers never see a half-written output. The destructor of an
// uncommitted PendingFile closes and removes the temporary file. Overwrites an existing
// `path` on commit (refusing to, without --force, is the caller's decision).
class PendingFile {
public:
    explicit PendingFile(std::string path, FileLayout layout = FileLayout::legacy);
    ~PendingFile();
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;

    const File& file() const { return m_file; }
    hid_t id() const { return m_file.id(); }
    const std::string& path() const { return m_path; }
    const std::string& temp_path() const { return m_temp; }
    // Flushes, closes and renames onto path(). IoError on failure (the temp file is removed).
    void commit();

private:
    std::string m_path;
    std::string m_temp;
    File m_file;
    bool m_committed = false;
};

// --- groups, links, listing --------------------------------------------------------------

// True if `path` (relative to loc, or absolute) names an existing object. Every
// intermediate component is checked, so a missing parent is not an error; dangling soft
// links count as absent.
bool exists(hid_t loc, const std::string& path);
// True if `path` exists and is a dataset.
bool is_dataset(hid_t loc, const std::string& path);

Group open_group(hid_t loc, const std::string& path);
// Opens the group if it exists, else creates it and any missing intermediate groups (all
// untimed).
Group create_group(hid_t loc, const std::string& path);

// Every dataset reachable from loc through hard links, as paths relative to loc without a
// leading '/', sorted by natural_less ("layer_2/k" before "layer_10/k"). Soft and external
// links are not followed. A dataset reachable by two hard links is listed under both.
std::vector<std::string> list_datasets(hid_t loc);

// Natural order: runs of digits compare as numbers, everything else bytewise; ties broken
// bytewise so the order is total.
bool natural_less(std::string_view a, std::string_view b);

// Copies the dataset at src_path (values, type, shape, chunking and filters, attributes) to
// dst_path in dst_loc (which may be another file), creating intermediate groups (untimed).
// By value, slab by slab (at most 64 MiB in memory), after check_extent(): not H5Ocopy, whose
// metadata copying crashed inside libhdf5 on damaged input files. The copy records no
// times, so the output depends only on the input's bytes. With `fixed_string_attrs`, the
// attributes go through copy_attrs(..., fixed_strings) (fq containers).
void copy_dataset(hid_t src_loc, const std::string& src_path, hid_t dst_loc,
                  const std::string& dst_path, bool fixed_string_attrs = false);

// --- datasets ----------------------------------------------------------------------------

Dataset open_dataset(hid_t loc, const std::string& path);  // IoError "...: no such dataset"
// Creates an untimed dataset of `file_type` and shape `dims` (C order), creating
// intermediate groups.
// `chunk` empty = contiguous storage; otherwise chunk dimensions (same rank as dims).
Dataset create_dataset(hid_t loc, const std::string& path, hid_t file_type,
                       const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk = {});

std::vector<hsize_t> dataset_dims(hid_t dataset);  // current extent, C order
Datatype dataset_type(hid_t dataset);
// Whether a datatype holds variable-length data anywhere: a variable-length string or
// sequence, also inside arrays, compounds and enums (H5Tdetect_class alone misses an array
// of variable-length strings).
bool contains_vlen(hid_t type);
// The logical size a dataset from an untrusted file may declare: its data is read in full
// (copied, hashed), so a few-KB file claiming 2^50 fill-value bytes must be refused.
double max_plausible_bytes(hid_t dataset);

// Refuses (CorruptError "<where>: ...") a dataset whose extent a damaged file could fake:
// a dimension beyond its maximum, or contiguous unfiltered data larger than the whole file.
// Call before sizing anything by the dims of a dataset from an untrusted file.
void check_extent(hid_t dataset, const std::string& where);  // the stored (file) type

// Reads / writes the hyperslab [start, start + count) (one entry per axis, C order) between
// the dataset and a dense C-order buffer of prod(count) elements of `mem_type`; HDF5
// converts between mem_type and the stored type. Empty start and count = whole dataset.
void read_slab(hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& start,
               const std::vector<hsize_t>& count, void* buf);
void write_slab(hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& start,
                const std::vector<hsize_t>& count, const void* buf);

// IEEE 754 binary16 as an HDF5 float type (what h5py writes for numpy.float16), built with
// H5Tcopy(H5T_IEEE_F32LE) + H5Tset_fields(15, 10, 5, 0, 10) + H5Tset_size(2) +
// H5Tset_ebias(15); little-endian unless big_endian.
Datatype make_float16_type(bool big_endian = false);
// True if `type` is an HDF5 float type with exactly the binary16 bit layout (any order).
bool is_ieee_half(hid_t type);
// True if `type` is an HDF5 float type with the bfloat16 layout (1, 8, 7 bits; bias 127).
bool is_bfloat16_float(hid_t type);

}  // namespace fq::io::h5
