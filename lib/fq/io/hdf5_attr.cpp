#include "fq/io/hdf5_attr.hpp"

#include <algorithm>
#include <cstddef>

#include "fq/core/error.hpp"
#include "fq/io/hdf5_util.hpp"

namespace fq::io::h5 {

namespace {

// Releases the variable-length parts of an attribute buffer read with `mem_type`.
void reclaim(hid_t mem_type, hid_t space, void* buf) {
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mem_type, space, H5P_DEFAULT, buf);
#else
    H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, buf);
#endif
}

[[noreturn]] void throw_corrupt(hid_t obj, const std::string& what) {
    throw CorruptError(describe(obj) + ": " + what);
}

Attribute open_attr(hid_t obj, const std::string& name) {
    if (H5Aexists(obj, name.c_str()) <= 0) throw_io(obj, "attribute '" + name + "' missing");
    return Attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), obj,
                     ("cannot open attribute '" + name + "'").c_str());
}

// Opens a scalar or one-element attribute; its stored type goes to `type`.
Attribute open_single_attr(hid_t obj, const std::string& name, Datatype& type) {
    Attribute attr = open_attr(obj, name);
    Dataspace space(H5Aget_space(attr.id()), obj, "cannot get attribute dataspace");
    if (H5Sget_simple_extent_npoints(space.id()) != 1)
        throw_corrupt(obj, "attribute '" + name + "': expected a single value");
    type = Datatype(H5Aget_type(attr.id()), obj, "cannot get attribute type");
    return attr;
}

// Replaces attribute `name` of obj by a scalar of file type `ftype` written from `value`.
void write_scalar_attr(hid_t obj, const std::string& name, hid_t ftype, hid_t mtype,
                       const void* value) {
    silence_errors();
    if (H5Aexists(obj, name.c_str()) > 0 && H5Adelete(obj, name.c_str()) < 0)
        throw_io(obj, "cannot replace attribute '" + name + "'");
    Dataspace space(H5Screate(H5S_SCALAR), obj, "cannot create dataspace");
    Attribute attr(H5Acreate2(obj, name.c_str(), ftype, space.id(), H5P_DEFAULT, H5P_DEFAULT), obj,
                   ("cannot create attribute '" + name + "'").c_str());
    if (H5Awrite(attr.id(), mtype, value) < 0)
        throw_io(obj, "cannot write attribute '" + name + "'");
}

herr_t collect_attr(hid_t /*loc*/, const char* name, const H5A_info_t* /*info*/, void* data) {
    static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
}

}  // namespace

bool has_attr(hid_t obj, const std::string& name) {
    silence_errors();
    const htri_t r = H5Aexists(obj, name.c_str());
    if (r < 0) throw_io(obj, "cannot query attribute '" + name + "'");
    return r > 0;
}

std::vector<std::string> list_attrs(hid_t obj) {
    silence_errors();
    std::vector<std::string> names;
    hsize_t idx = 0;
    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &names) < 0)
        throw_io(obj, "cannot list attributes");
    return names;
}

std::int64_t read_attr_int(hid_t obj, const std::string& name) {
    silence_errors();
    Datatype type;
    Attribute attr = open_single_attr(obj, name, type);
    const H5T_class_t cls = H5Tget_class(type.id());
    std::int64_t value = 0;
    if (cls == H5T_INTEGER) {
        if (H5Aread(attr.id(), H5T_NATIVE_INT64, &value) < 0)
            throw_io(obj, "cannot read attribute '" + name + "'");
    } else if (cls == H5T_ENUM) {
        // HDF5 does not convert an enum to an integer: read the raw base-type value, then
        // convert that in place (buf is big enough for either type).
        Datatype base(H5Tget_super(type.id()), obj, "cannot get enum base type");
        Datatype native(H5Tget_native_type(base.id(), H5T_DIR_ASCEND), obj,
                        "cannot get native type");
        alignas(8) unsigned char buf[16] = {};
        Datatype mem(H5Tget_native_type(type.id(), H5T_DIR_ASCEND), obj, "cannot get type");
        if (H5Aread(attr.id(), mem.id(), buf) < 0 ||
            H5Tconvert(native.id(), H5T_NATIVE_INT64, 1, buf, nullptr, H5P_DEFAULT) < 0)
            throw_io(obj, "cannot read attribute '" + name + "'");
        std::copy(buf, buf + sizeof value, reinterpret_cast<unsigned char*>(&value));
    } else {
        throw_corrupt(obj, "attribute '" + name + "': expected an integer");
    }
    return value;
}

double read_attr_double(hid_t obj, const std::string& name) {
    silence_errors();
    Datatype type;
    Attribute attr = open_single_attr(obj, name, type);
    const H5T_class_t cls = H5Tget_class(type.id());
    if (cls == H5T_ENUM) return static_cast<double>(read_attr_int(obj, name));
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        throw_corrupt(obj, "attribute '" + name + "': expected a number");
    double value = 0;
    if (H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &value) < 0)
        throw_io(obj, "cannot read attribute '" + name + "'");
    return value;
}

std::string read_attr_string(hid_t obj, const std::string& name) {
    silence_errors();
    Datatype type;
    Attribute attr = open_single_attr(obj, name, type);
    if (H5Tget_class(type.id()) != H5T_STRING)
        throw_corrupt(obj, "attribute '" + name + "': expected a string");
    if (H5Tis_variable_str(type.id()) > 0) {
        Datatype mem(H5Tcopy(H5T_C_S1), obj, "cannot copy string type");
        H5Tset_size(mem.id(), H5T_VARIABLE);
        H5Tset_cset(mem.id(), H5Tget_cset(type.id()));
        char* ptr = nullptr;
        if (H5Aread(attr.id(), mem.id(), &ptr) < 0)
            throw_io(obj, "cannot read attribute '" + name + "'");
        std::string value = ptr != nullptr ? ptr : "";
        H5free_memory(ptr);
        return value;
    }
    const std::size_t size = H5Tget_size(type.id());
    if (size > k_max_attr_string)
        throw_corrupt(obj, "attribute '" + name + "': string of " + std::to_string(size) +
                               " bytes, more than any fq file holds");
    std::string value(size, '\0');
    if (size > 0 && H5Aread(attr.id(), type.id(), value.data()) < 0)
        throw_io(obj, "cannot read attribute '" + name + "'");
    value.resize(std::min(value.find('\0'), value.size()));
    if (H5Tget_strpad(type.id()) == H5T_STR_SPACEPAD) value.erase(value.find_last_not_of(' ') + 1);
    return value;
}

void write_attr_int(hid_t obj, const std::string& name, std::int64_t value) {
    write_scalar_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void write_attr_double(hid_t obj, const std::string& name, double value) {
    write_scalar_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void write_attr_string(hid_t obj, const std::string& name, const std::string& value) {
    silence_errors();
    Datatype type(H5Tcopy(H5T_C_S1), obj, "cannot copy string type");
    H5Tset_size(type.id(), H5T_VARIABLE);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    const char* ptr = value.c_str();
    write_scalar_attr(obj, name, type.id(), type.id(), &ptr);
}

void write_attr_fixed_string(hid_t obj, const std::string& name, const std::string& value) {
    silence_errors();
    Datatype type(H5Tcopy(H5T_C_S1), obj, "cannot copy string type");
    if (H5Tset_size(type.id(), std::max<std::size_t>(value.size(), 1)) < 0 ||
        H5Tset_strpad(type.id(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(type.id(), H5T_CSET_UTF8) < 0)
        throw_io(obj, "cannot make a string type for attribute '" + name + "'");
    const std::string padded = value.empty() ? std::string(1, '\0') : value;
    write_scalar_attr(obj, name, type.id(), type.id(), padded.data());
}

namespace {

// Copies a variable-length string attribute (any shape) as a fixed-length one.
void copy_string_attr_fixed(hid_t src, hid_t dst, const std::string& name, hid_t attr,
                            hid_t space) {
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0 || static_cast<std::size_t>(n) > k_max_attr_string)
        throw_corrupt(src, "attribute '" + name + "': invalid size");
    Datatype mem(H5Tcopy(H5T_C_S1), src, "cannot copy string type");
    H5Tset_size(mem.id(), H5T_VARIABLE);
    H5Tset_cset(mem.id(), H5T_CSET_UTF8);
    std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
    if (n > 0 && H5Aread(attr, mem.id(), ptrs.data()) < 0)
        throw_io(src, "cannot read attribute '" + name + "'");
    std::vector<std::string> values;
    for (char* p : ptrs) values.emplace_back(p != nullptr ? p : "");
    if (n > 0) reclaim(mem.id(), space, ptrs.data());
    std::size_t width = 1;
    for (const std::string& v : values) width = std::max(width, v.size());
    std::string packed(values.size() * width, '\0');
    for (std::size_t i = 0; i < values.size(); ++i)
        packed.replace(i * width, values[i].size(), values[i]);
    Datatype fixed(H5Tcopy(H5T_C_S1), dst, "cannot copy string type");
    H5Tset_size(fixed.id(), width);
    H5Tset_strpad(fixed.id(), H5T_STR_NULLPAD);
    H5Tset_cset(fixed.id(), H5T_CSET_UTF8);
    if (H5Aexists(dst, name.c_str()) > 0 && H5Adelete(dst, name.c_str()) < 0)
        throw_io(dst, "cannot replace attribute '" + name + "'");
    Attribute out(H5Acreate2(dst, name.c_str(), fixed.id(), space, H5P_DEFAULT, H5P_DEFAULT), dst,
                  ("cannot create attribute '" + name + "'").c_str());
    if (n > 0 && H5Awrite(out.id(), fixed.id(), packed.data()) < 0)
        throw_io(dst, "cannot write attribute '" + name + "'");
}

}  // namespace

void copy_attrs(hid_t src, hid_t dst, const std::vector<std::string>& skip, bool fixed_strings) {
    for (const std::string& name : list_attrs(src)) {
        if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
        Attribute attr = open_attr(src, name);
        Datatype ftype(H5Aget_type(attr.id()), src, "cannot get attribute type");
        if (H5Tdetect_class(ftype.id(), H5T_REFERENCE) > 0) continue;
        if (fixed_strings) {
            if (H5Tget_class(ftype.id()) == H5T_STRING && H5Tis_variable_str(ftype.id()) > 0) {
                Dataspace sp(H5Aget_space(attr.id()), src, "cannot get attribute dataspace");
                copy_string_attr_fixed(src, dst, name, attr.id(), sp.id());
                continue;
            }
            if (contains_vlen(ftype.id()))
                continue;  // variable-length data nested in other types: not carried
        }
        Datatype mtype(H5Tget_native_type(ftype.id(), H5T_DIR_ASCEND), src,
                       "cannot get native type");
        Dataspace space(H5Aget_space(attr.id()), src, "cannot get attribute dataspace");
        const hssize_t n = H5Sget_simple_extent_npoints(space.id());
        const std::size_t bytes =
            static_cast<std::size_t>(std::max<hssize_t>(n, 0)) * H5Tget_size(mtype.id());
        std::vector<std::max_align_t> buf(bytes / sizeof(std::max_align_t) + 1);
        if (n > 0 && H5Aread(attr.id(), mtype.id(), buf.data()) < 0)
            throw_io(src, "cannot read attribute '" + name + "'");
        // Whatever happens next, variable-length parts read above must be freed.
        struct Reclaim {
            hid_t t, s;
            void* b;
            bool on;
            ~Reclaim() {
                if (on) reclaim(t, s, b);
            }
        } guard{mtype.id(), space.id(), buf.data(), n > 0};
        if (H5Aexists(dst, name.c_str()) > 0 && H5Adelete(dst, name.c_str()) < 0)
            throw_io(dst, "cannot replace attribute '" + name + "'");
        Attribute out(
            H5Acreate2(dst, name.c_str(), ftype.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT), dst,
            ("cannot create attribute '" + name + "'").c_str());
        if (n > 0 && H5Awrite(out.id(), mtype.id(), buf.data()) < 0)
            throw_io(dst, "cannot write attribute '" + name + "'");
    }
}

}  // namespace fq::io::h5
