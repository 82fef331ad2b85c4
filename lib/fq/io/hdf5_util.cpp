#include "fq/io/hdf5_util.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "fq/core/error.hpp"

namespace fq::io::h5 {

namespace {

std::string strip_slash(const std::string& path) {
    std::size_t i = 0;
    while (i < path.size() && path[i] == '/') ++i;
    return path.substr(i);
}

herr_t walk_errors(unsigned /*n*/, const H5E_error2_t* e, void* data) {
    // Walking downward, the last entry is the innermost: where the problem was detected.
    if (e->desc != nullptr && e->desc[0] != '\0') *static_cast<std::string*>(data) = e->desc;
    return 0;
}

// Releases the variable-length parts of an attribute buffer read with `mem_type`.
void reclaim(hid_t mem_type, hid_t space, void* buf) {
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mem_type, space, H5P_DEFAULT, buf);
#else
    H5Dvlen_reclaim(mem_type, space, H5P_DEFAULT, buf);
#endif
}

PropList intermediate_lcpl() {
    PropList lcpl(H5Pcreate(H5P_LINK_CREATE), H5P_DEFAULT, "cannot create link property list");
    if (H5Pset_create_intermediate_group(lcpl.id(), 1) < 0)
        throw_io("HDF5", "cannot set intermediate group creation");
    return lcpl;
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

herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t* info, void* data) {
    if (info->type != H5L_TYPE_HARD) return 0;
    const hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) return -1;
    const bool is_ds = H5Iget_type(obj) == H5I_DATASET;
    H5Oclose(obj);
    if (is_ds) static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
}

bool check_fields(hid_t type, std::size_t spos, std::size_t epos, std::size_t esize,
                  std::size_t mpos, std::size_t msize, std::size_t ebias) {
    if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 2) return false;
    std::size_t f[5] = {};
    if (H5Tget_fields(type, &f[0], &f[1], &f[2], &f[3], &f[4]) < 0) return false;
    return f[0] == spos && f[1] == epos && f[2] == esize && f[3] == mpos && f[4] == msize &&
           H5Tget_ebias(type) == ebias && H5Tget_offset(type) == 0 &&
           H5Tget_precision(type) == 16 && H5Tget_norm(type) == H5T_NORM_IMPLIED;
}

}  // namespace

// --- errors and handles ------------------------------------------------------------------

void silence_errors() {
    static std::once_flag once;
    std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string last_hdf5_message() {
    const hid_t stack = H5Eget_current_stack();  // copies and clears the current stack
    if (stack < 0) return {};
    std::string msg;
    H5Ewalk2(stack, H5E_WALK_DOWNWARD, walk_errors, &msg);
    H5Eclose_stack(stack);
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return msg;
}

void throw_io(const std::string& where, const std::string& what) {
    const std::string hdf5 = last_hdf5_message();
    throw IoError(where + ": " + what + (hdf5.empty() ? "" : " (HDF5: " + hdf5 + ")"));
}

void throw_io(hid_t obj, const std::string& what) {
    const std::string hdf5 = last_hdf5_message();
    throw IoError(describe(obj) + ": " + what + (hdf5.empty() ? "" : " (HDF5: " + hdf5 + ")"));
}

std::string describe(hid_t obj) {
    const ssize_t flen = obj < 0 ? -1 : H5Fget_name(obj, nullptr, 0);
    if (flen < 0) {
        H5Eclear2(H5E_DEFAULT);
        return "HDF5";
    }
    std::string file(static_cast<std::size_t>(flen) + 1, '\0');
    H5Fget_name(obj, file.data(), file.size());
    file.resize(static_cast<std::size_t>(flen));
    if (H5Iget_type(obj) == H5I_FILE) return file;
    const ssize_t olen = H5Iget_name(obj, nullptr, 0);
    if (olen <= 0) return file;
    std::string name(static_cast<std::size_t>(olen) + 1, '\0');
    H5Iget_name(obj, name.data(), name.size());
    name.resize(static_cast<std::size_t>(olen));
    name = strip_slash(name);
    return name.empty() ? file : file + ": " + name;
}

Handle& Handle::operator=(Handle&& o) noexcept {
    if (this != &o) {
        reset();
        m_id = o.m_id;
        m_close = o.m_close;
        o.m_id = H5I_INVALID_HID;
    }
    return *this;
}

void Handle::reset() noexcept {
    if (m_id >= 0 && m_close != nullptr) m_close(m_id);
    m_id = H5I_INVALID_HID;
}

hid_t Handle::release() noexcept {
    const hid_t id = m_id;
    m_id = H5I_INVALID_HID;
    return id;
}

// --- files -------------------------------------------------------------------------------

File open_file(const std::string& path, bool writable) {
    silence_errors();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw IoError(path + ": no such file");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw IoError(path + ": not an HDF5 file");
    }
    const hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) throw_io(path, "cannot open file");
    return File(id);
}

File create_file(const std::string& path) {
    silence_errors();
    // Strong close: H5Fclose also closes objects still open, so close_file() really ends
    // all writing before a PendingFile is renamed.
    PropList fapl(H5Pcreate(H5P_FILE_ACCESS), H5P_DEFAULT, "cannot create property list");
    H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG);
    const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
    if (id < 0) throw_io(path, "cannot create file");
    return File(id);
}

void close_file(File& file) {
    if (!file.valid()) return;
    const hid_t id = file.release();
    std::string name = describe(id);
    if (H5Fflush(id, H5F_SCOPE_LOCAL) < 0 || H5Fclose(id) < 0) throw_io(name, "cannot close file");
}

PendingFile::PendingFile(std::string path) : m_path(std::move(path)) {
    static std::atomic<unsigned> counter{0};
    const std::filesystem::path dir = std::filesystem::path(m_path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
        throw IoError(m_path + ": cannot create output: no such directory " + dir.string());
    m_temp = m_path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    m_file = create_file(m_temp);
}

PendingFile::~PendingFile() {
    if (m_committed) return;
    m_file.reset();
    std::error_code ec;
    std::filesystem::remove(m_temp, ec);
}

void PendingFile::commit() {
    try {
        close_file(m_file);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(m_temp, ec);
        m_committed = true;
        throw;
    }
    std::error_code ec;
    std::filesystem::rename(m_temp, m_path, ec);
    m_committed = true;
    if (ec) {
        std::filesystem::remove(m_temp, ec);
        throw IoError(m_path + ": cannot rename temporary output into place: " + ec.message());
    }
}

// --- groups, links, listing --------------------------------------------------------------

bool exists(hid_t loc, const std::string& path) {
    silence_errors();
    if (strip_slash(path).empty()) return true;
    // H5Lexists fails (rather than answering false) when a parent is missing: walk down.
    for (std::size_t pos = path.find('/', 1); pos != std::string::npos;
         pos = path.find('/', pos + 1)) {
        if (H5Lexists(loc, path.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
    }
    const bool found = H5Lexists(loc, path.c_str(), H5P_DEFAULT) > 0 &&
                       H5Oexists_by_name(loc, path.c_str(), H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    return found;
}

bool is_dataset(hid_t loc, const std::string& path) {
    if (!exists(loc, path)) return false;
    const hid_t obj = H5Oopen(loc, path.c_str(), H5P_DEFAULT);
    if (obj < 0) return false;
    const bool ds = H5Iget_type(obj) == H5I_DATASET;
    H5Oclose(obj);
    return ds;
}

Group open_group(hid_t loc, const std::string& path) {
    if (!exists(loc, path)) throw_io(loc, strip_slash(path) + ": no such group");
    return Group(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), loc,
                 (strip_slash(path) + ": cannot open group").c_str());
}

Group create_group(hid_t loc, const std::string& path) {
    if (exists(loc, path)) return open_group(loc, path);
    PropList lcpl = intermediate_lcpl();
    return Group(H5Gcreate2(loc, path.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), loc,
                 (strip_slash(path) + ": cannot create group").c_str());
}

std::vector<std::string> list_datasets(hid_t loc) {
    silence_errors();
    std::vector<std::string> names;
    if (H5Lvisit(loc, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names) < 0)
        throw_io(loc, "cannot list datasets");
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return natural_less(a, b); });
    return names;
}

bool natural_less(std::string_view a, std::string_view b) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            std::size_t ie = i, je = j;
            while (ie < a.size() && digit(a[ie])) ++ie;
            while (je < b.size() && digit(b[je])) ++je;
            // Compare the numbers without leading zeros: longer is larger, then bytewise.
            std::size_t is = i, js = j;
            while (is + 1 < ie && a[is] == '0') ++is;
            while (js + 1 < je && b[js] == '0') ++js;
            if (ie - is != je - js) return ie - is < je - js;
            const int c = a.substr(is, ie - is).compare(b.substr(js, je - js));
            if (c != 0) return c < 0;
            i = ie;
            j = je;
        } else {
            if (a[i] != b[j])
                return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
            ++i;
            ++j;
        }
    }
    if (i < a.size() || j < b.size()) return j < b.size();
    return a < b;  // equal up to leading zeros: any total order will do
}

void copy_object(hid_t src_loc, const std::string& src_path, hid_t dst_loc,
                 const std::string& dst_path) {
    silence_errors();
    PropList lcpl = intermediate_lcpl();
    if (H5Ocopy(src_loc, src_path.c_str(), dst_loc, dst_path.c_str(), H5P_DEFAULT, lcpl.id()) < 0)
        throw_io(src_loc, "cannot copy " + strip_slash(src_path));
}

// --- datasets ----------------------------------------------------------------------------

Dataset open_dataset(hid_t loc, const std::string& path) {
    if (!is_dataset(loc, path)) throw_io(loc, strip_slash(path) + ": no such dataset");
    return Dataset(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), loc,
                   (strip_slash(path) + ": cannot open dataset").c_str());
}

Dataset create_dataset(hid_t loc, const std::string& path, hid_t file_type,
                       const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk) {
    silence_errors();
    const std::string name = strip_slash(path);
    Dataspace space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), loc,
                    (name + ": cannot create dataspace").c_str());
    PropList dcpl(H5Pcreate(H5P_DATASET_CREATE), loc, "cannot create property list");
    if (!chunk.empty()) {
        if (chunk.size() != dims.size())
            throw UsageError(describe(loc) + ": " + name + ": chunk rank differs from rank");
        if (H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()) < 0)
            throw_io(loc, name + ": invalid chunk shape");
    }
    PropList lcpl = intermediate_lcpl();
    return Dataset(
        H5Dcreate2(loc, path.c_str(), file_type, space.id(), lcpl.id(), dcpl.id(), H5P_DEFAULT),
        loc, (name + ": cannot create dataset").c_str());
}

std::vector<hsize_t> dataset_dims(hid_t dataset) {
    Dataspace space(H5Dget_space(dataset), dataset, "cannot get dataspace");
    const int rank = H5Sget_simple_extent_ndims(space.id());
    if (rank < 0) throw_io(dataset, "cannot get rank");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
    return dims;
}

Datatype dataset_type(hid_t dataset) {
    return Datatype(H5Dget_type(dataset), dataset, "cannot get datatype");
}

namespace {

// File and memory dataspaces for the hyperslab [start, start + count); false if empty.
bool select_slab(hid_t dataset, const std::vector<hsize_t>& start,
                 const std::vector<hsize_t>& count, Dataspace& fspace, Dataspace& mspace) {
    fspace = Dataspace(H5Dget_space(dataset), dataset, "cannot get dataspace");
    const std::vector<hsize_t> dims = dataset_dims(dataset);
    if (start.empty() && count.empty()) {
        for (hsize_t n : dims)
            if (n == 0) return false;
        mspace = Dataspace(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                           dataset, "cannot create dataspace");
        return true;
    }
    if (start.size() != dims.size() || count.size() != dims.size())
        throw UsageError(describe(dataset) + ": slab rank differs from dataset rank");
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (start[i] > dims[i] || count[i] > dims[i] - start[i])
            throw UsageError(describe(dataset) + ": slab [" + std::to_string(start[i]) + ", " +
                             std::to_string(start[i] + count[i]) + ") exceeds axis " +
                             std::to_string(i) + " of length " + std::to_string(dims[i]));
        if (count[i] == 0) return false;
    }
    if (H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr) < 0)
        throw_io(dataset, "cannot select hyperslab");
    mspace = Dataspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                       dataset, "cannot create dataspace");
    return true;
}

}  // namespace

void read_slab(hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& start,
               const std::vector<hsize_t>& count, void* buf) {
    silence_errors();
    Dataspace fspace, mspace;
    if (!select_slab(dataset, start, count, fspace, mspace)) return;
    if (H5Dread(dataset, mem_type, mspace.id(), fspace.id(), H5P_DEFAULT, buf) < 0)
        throw_io(dataset, "cannot read");
}

void write_slab(hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& start,
                const std::vector<hsize_t>& count, const void* buf) {
    silence_errors();
    Dataspace fspace, mspace;
    if (!select_slab(dataset, start, count, fspace, mspace)) return;
    if (H5Dwrite(dataset, mem_type, mspace.id(), fspace.id(), H5P_DEFAULT, buf) < 0)
        throw_io(dataset, "cannot write");
}

Datatype make_float16_type(bool big_endian) {
    silence_errors();
    Datatype t(H5Tcopy(H5T_IEEE_F32LE), H5I_INVALID_HID, "cannot copy float type");
    if (H5Tset_fields(t.id(), 15, 10, 5, 0, 10) < 0 || H5Tset_size(t.id(), 2) < 0 ||
        H5Tset_ebias(t.id(), 15) < 0 || (big_endian && H5Tset_order(t.id(), H5T_ORDER_BE) < 0))
        throw_io("HDF5", "cannot build the float16 type");
    return t;
}

bool is_ieee_half(hid_t type) {
    return check_fields(type, 15, 10, 5, 0, 10, 15);
}

bool is_bfloat16_float(hid_t type) {
    return check_fields(type, 15, 7, 8, 0, 7, 127);
}

// --- attributes --------------------------------------------------------------------------

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

void copy_attrs(hid_t src, hid_t dst, const std::vector<std::string>& skip) {
    for (const std::string& name : list_attrs(src)) {
        if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
        Attribute attr = open_attr(src, name);
        Datatype ftype(H5Aget_type(attr.id()), src, "cannot get attribute type");
        if (H5Tdetect_class(ftype.id(), H5T_REFERENCE) > 0) continue;
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
