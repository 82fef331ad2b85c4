// HDF5 attributes: read, write and copy small named values on any HDF5 object, the way
// h5py stores them. Part of the fq::io::h5 layer (io/hdf5_util.hpp, which includes this
// header and whose error conventions apply: IoError "<file>: <object>: <problem> (HDF5:
// ...)", CorruptError for a value of the wrong type). Layer 2 only; not thread-safe.
//
// Attributes carry no timestamps of their own; each is created in the file's compact
// attribute storage in the order written, and copy_attrs writes in name order, so the same
// attributes give the same bytes.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fq::io::h5 {

// --- attributes --------------------------------------------------------------------------
// `obj` is any open object (file id = root group). Readers accept a scalar or a
// one-element attribute; they throw IoError if it is missing and CorruptError if its type
// does not fit (e.g. a string read as an integer). Writers replace an existing attribute.

bool has_attr(hid_t obj, const std::string& name);
std::vector<std::string> list_attrs(hid_t obj);  // in name order
// Integer or enum (h5py's bool) attribute as int64.
std::int64_t read_attr_int(hid_t obj, const std::string& name);
// Float or integer attribute as double.
double read_attr_double(hid_t obj, const std::string& name);
// Fixed- or variable-length string attribute (trailing NULs and padding removed). A fixed
// length above k_max_attr_string is refused (CorruptError) before anything is allocated.
std::string read_attr_string(hid_t obj, const std::string& name);
inline constexpr std::size_t k_max_attr_string = std::size_t{1} << 24;

// Scalar attributes stored as I64LE, F64LE and variable-length UTF-8 strings (as h5py does).
void write_attr_int(hid_t obj, const std::string& name, std::int64_t value);
void write_attr_double(hid_t obj, const std::string& name, double value);
void write_attr_string(hid_t obj, const std::string& name, const std::string& value);
// A scalar fixed-length UTF-8 string of value.size() bytes (one NUL byte if empty), NUL-padded:
// read without HDF5's global heap, whose collections carry no checksum (fq containers).
void write_attr_fixed_string(hid_t obj, const std::string& name, const std::string& value);

// Copies every attribute of src onto dst (replacing same-named ones), each read and written
// in its own stored type: numbers, enums, strings (fixed or variable length), arrays and
// compounds of these. Attributes holding object or region references are skipped (they
// would dangle in another file), as are the names in `skip`.
// With `fixed_strings`, scalar and array variable-length string attributes are written as
// fixed-length ones (the longest value's size) and other variable-length data is skipped.
void copy_attrs(hid_t src, hid_t dst, const std::vector<std::string>& skip = {},
                bool fixed_strings = false);

}  // namespace fq::io::h5
