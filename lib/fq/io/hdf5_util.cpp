#include "fq/io/hdf5_util.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "fq/core/error.hpp"
#include "fq/io/mpi_run.hpp"

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

// One group, untimed (see untimed_plist).
Group create_one_group(hid_t loc, const std::string& path) {
    PropList gcpl = untimed_plist(H5P_GROUP_CREATE);
    return Group(H5Gcreate2(loc, path.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT), loc,
                 (strip_slash(path) + ": cannot create group").c_str());
}

// Creates the missing groups among the ancestors of `path` (not path itself). Done by hand:
// HDF5's own intermediate-group creation (H5Pset_create_intermediate_group) gives them the
// default, timed, group creation property list.
void make_parents(hid_t loc, const std::string& path) {
    for (std::size_t pos = path.find('/', 1); pos != std::string::npos;
         pos = path.find('/', pos + 1)) {
        const std::string parent = path.substr(0, pos);
        if (!exists(loc, parent)) create_one_group(loc, parent);
    }
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
    // Once per thread: a thread-safe HDF5 keeps one error stack, with its printing
    // setting, per thread (fq-encode's and fq-decode's I/O thread, io/slab_pipeline).
    thread_local bool silenced = false;
    if (!silenced) {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        silenced = true;
    }
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

PropList untimed_plist(hid_t cls) {
    silence_errors();
    PropList p(H5Pcreate(cls), H5P_DEFAULT, "cannot create property list");
    if (H5Pset_obj_track_times(p.id(), false) < 0) throw_io("HDF5", "cannot set time tracking");
    return p;
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

namespace {
// The HDF5 signature at offset 0, 512, 1024, ... (a user block may precede it).
bool has_hdf5_signature(const std::string& path) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    std::ifstream in(path, std::ios::binary);
    for (std::uint64_t off = 0; in && off <= (1u << 20); off = off == 0 ? 512 : off * 2) {
        in.seekg(static_cast<std::streamoff>(off));
        unsigned char buf[8] = {};
        if (!in.read(reinterpret_cast<char*>(buf), 8)) return false;
        if (std::memcmp(buf, sig, 8) == 0) return true;
    }
    return false;
}
}  // namespace

File open_input_file(const std::string& path) {
    silence_errors();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw IoError(path + ": no such file");
    if (std::filesystem::is_directory(path, ec)) throw IoError(path + ": is a directory");
    const bool signature = has_hdf5_signature(path);
    const hid_t id = signature ? H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (id >= 0) return File(id);
    if (!signature) throw IoError(path + ": not an HDF5 file");
    try {
        throw_io(path, "cannot open file");
    } catch (const IoError& e) {
        throw CorruptError(path + ": damaged or truncated HDF5 file (" + e.what() + ")");
    }
}

File create_file(const std::string& path, FileLayout layout) {
    silence_errors();
    // Strong close: H5Fclose also closes objects still open, so close_file() really ends
    // all writing before a PendingFile is renamed.
    PropList fapl(H5Pcreate(H5P_FILE_ACCESS), H5P_DEFAULT, "cannot create property list");
    H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG);
    // Both bounds pinned: the same objects whatever HDF5 1.10+ writes the file.
    if (layout == FileLayout::checksummed &&
        H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V110, H5F_LIBVER_V110) < 0)
        throw_io(path, "cannot set the HDF5 1.10 file format");
    mpi::use_mpio(fapl.id());  // under an MPI run: one file written by every rank (MPI-IO)
    PropList fcpl = untimed_plist(H5P_FILE_CREATE);  // the root group's times
    const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.id(), fapl.id());
    if (id < 0) throw_io(path, "cannot create file");
    return File(id);
}

void close_file(File& file) {
    if (!file.valid()) return;
    const hid_t id = file.release();
    std::string name = describe(id);
    if (H5Fflush(id, H5F_SCOPE_LOCAL) < 0 || H5Fclose(id) < 0) throw_io(name, "cannot close file");
}

PendingFile::PendingFile(std::string path, FileLayout layout) : m_path(std::move(path)) {
    static std::atomic<unsigned> counter{0};
    const std::filesystem::path dir = std::filesystem::path(m_path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
        throw IoError(m_path + ": cannot create output: no such directory " + dir.string());
    // Under an MPI run every rank opens the root's name.
    m_temp = mpi::broadcast(m_path + ".tmp." + std::to_string(::getpid()) + "." +
                            std::to_string(counter++));
    m_file = create_file(m_temp, layout);
}

PendingFile::~PendingFile() {
    if (m_committed) return;
    m_file.reset();  // collective under an MPI run: every rank unwinds after mpi::agree
    mpi::barrier();
    if (mpi::is_root()) {
        std::error_code ec;
        std::filesystem::remove(m_temp, ec);
    }
}

void PendingFile::commit() {
    std::exception_ptr failure;
    try {
        close_file(m_file);
    } catch (...) {
        failure = std::current_exception();
    }
    m_committed = true;
    try {
        mpi::agree(failure);
        mpi::root_only([&] {
            std::error_code ec;
            std::filesystem::rename(m_temp, m_path, ec);
            if (ec)
                throw IoError(m_path +
                              ": cannot rename temporary output into place: " + ec.message());
        });
    } catch (...) {
        if (mpi::is_root()) {
            std::error_code ec;
            std::filesystem::remove(m_temp, ec);
        }
        throw;
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
    make_parents(loc, path);
    return create_one_group(loc, path);
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

void copy_dataset(hid_t src_loc, const std::string& src_path, hid_t dst_loc,
                  const std::string& dst_path, bool fixed_string_attrs) {
    silence_errors();
    const std::string where = describe(src_loc) + ": " + strip_slash(src_path);
    Dataset src = open_dataset(src_loc, src_path);
    check_extent(src.id(), where);
    Datatype ftype(H5Dget_type(src.id()), src.id(), "cannot get datatype");
    Datatype type(H5Tcopy(ftype.id()), src.id(), "cannot copy datatype");  // transient
    const bool vlen = contains_vlen(type.id());
    Dataspace fspace(H5Dget_space(src.id()), src.id(), "cannot get dataspace");
    const std::vector<hsize_t> dims = dataset_dims(src.id());
    PropList dcpl(H5Dget_create_plist(src.id()), src.id(), "cannot get creation properties");
    // Data in other files (external storage, virtual datasets) is copied into this one.
    if (H5Pget_layout(dcpl.id()) == H5D_VIRTUAL || H5Pget_external_count(dcpl.id()) != 0)
        dcpl = PropList(H5Pcreate(H5P_DATASET_CREATE), src.id(), "cannot create property list");
    // Under an MPI run: contiguous storage (parallel HDF5 writes no filtered data
    // independently), no fill; only the root writes the values.
    if (mpi::active()) {
        if (vlen)
            throw UsageError(where +
                             ": a variable-length dataset cannot be copied under MPI "
                             "(parallel HDF5 does not write them); leave it out with "
                             "--select or run without mpirun");
        dcpl = PropList(H5Pcreate(H5P_DATASET_CREATE), src.id(), "cannot create property list");
        if (H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER) < 0)
            throw_io(src.id(), "cannot set the fill time");
    }
    if (H5Pset_obj_track_times(dcpl.id(), false) < 0) throw_io(src.id(), "cannot set track times");
    make_parents(dst_loc, dst_path);
    Dataspace dspace(H5Scopy(fspace.id()), src.id(), "cannot copy dataspace");
    if (!dims.empty() && H5Sset_extent_simple(dspace.id(), static_cast<int>(dims.size()),
                                              dims.data(), dims.data()) < 0)
        throw_io(src.id(), "cannot size dataspace");
    Dataset dst(H5Dcreate2(dst_loc, dst_path.c_str(), type.id(), dspace.id(), H5P_DEFAULT,
                           dcpl.id(), H5P_DEFAULT),
                dst_loc, (strip_slash(dst_path) + ": cannot create dataset").c_str());

    // Slabs of whole rows along the first axis (one slab for a scalar); nothing for a null
    // dataspace (h5py's Empty).
    if (H5Sget_simple_extent_type(fspace.id()) == H5S_NULL) {
        copy_attrs(src.id(), dst.id(), {}, fixed_string_attrs);
        return;
    }
    const std::size_t elem = H5Tget_size(type.id());
    double row = static_cast<double>(elem);
    for (std::size_t i = 1; i < dims.size(); ++i) row *= static_cast<double>(dims[i]);
    if (row * static_cast<double>(dims.empty() ? 1 : dims[0]) > max_plausible_bytes(src.id()))
        throw CorruptError(where + ": declares more data than the file can hold");
    constexpr double k_slab = 64.0 * (1 << 20);
    if (row > k_slab) throw CorruptError(where + ": rows too large to copy");
    const hsize_t rows = dims.empty() ? 1 : dims[0];
    const hsize_t step =
        dims.empty() || row == 0 ? rows : std::max<hsize_t>(1, static_cast<hsize_t>(k_slab / row));
    std::vector<unsigned char> buf;
    mpi::root_only([&] {
        for (hsize_t r = 0; r < rows; r += step) {
            const hsize_t n = std::min(step, rows - r);
            Dataspace fs(H5Scopy(fspace.id()), src.id(), "cannot copy dataspace");
            Dataspace ds(H5Scopy(dspace.id()), src.id(), "cannot copy dataspace");
            Dataspace ms(H5Screate(H5S_SCALAR), src.id(), "cannot create dataspace");
            if (!dims.empty()) {
                std::vector<hsize_t> start(dims.size(), 0), count = dims;
                start[0] = r;
                count[0] = n;
                ms = Dataspace(
                    H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                    src.id(), "cannot create dataspace");
                for (hid_t sp : {fs.id(), ds.id()})
                    if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, start.data(), nullptr, count.data(),
                                            nullptr) < 0)
                        throw_io(src.id(), "cannot select");
            }
            const hssize_t points = H5Sget_select_npoints(ms.id());
            if (points <= 0) continue;
            buf.assign(static_cast<std::size_t>(points) * elem, 0);
            if (H5Dread(src.id(), type.id(), ms.id(), fs.id(), H5P_DEFAULT, buf.data()) < 0)
                throw_io(src.id(), "cannot read " + strip_slash(src_path));
            const herr_t wrote =
                H5Dwrite(dst.id(), type.id(), ms.id(), ds.id(), H5P_DEFAULT, buf.data());
            if (vlen) {
#if H5_VERSION_GE(1, 12, 0)
                H5Treclaim(type.id(), ms.id(), H5P_DEFAULT, buf.data());
#else
                H5Dvlen_reclaim(type.id(), ms.id(), H5P_DEFAULT, buf.data());
#endif
            }
            if (wrote < 0) throw_io(dst_loc, "cannot write " + strip_slash(dst_path));
        }
    });
    copy_attrs(src.id(), dst.id(), {}, fixed_string_attrs);
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
    PropList dcpl = untimed_plist(H5P_DATASET_CREATE);
    // Parallel HDF5 allocates datasets at creation; every fq output is written in full, so
    // no fill values are written first.
    if (mpi::active() && H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER) < 0)
        throw_io(loc, name + ": cannot set the fill time");
    if (!chunk.empty()) {
        if (chunk.size() != dims.size())
            throw UsageError(describe(loc) + ": " + name + ": chunk rank differs from rank");
        if (H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()) < 0)
            throw_io(loc, name + ": invalid chunk shape");
    }
    make_parents(loc, path);
    return Dataset(
        H5Dcreate2(loc, path.c_str(), file_type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
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

bool contains_vlen(hid_t type) {
    const H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_VLEN) return true;
    if (cls == H5T_STRING) return H5Tis_variable_str(type) > 0;
    if (cls == H5T_ARRAY || cls == H5T_ENUM) {
        const hid_t base = H5Tget_super(type);
        if (base < 0) return true;  // unknown: treat as variable-length (never hashed raw)
        const bool v = contains_vlen(base);
        H5Tclose(base);
        return v;
    }
    if (cls == H5T_COMPOUND) {
        const int n = H5Tget_nmembers(type);
        if (n < 0) return true;
        for (int i = 0; i < n; ++i) {
            const hid_t m = H5Tget_member_type(type, static_cast<unsigned>(i));
            if (m < 0) return true;
            const bool v = contains_vlen(m);
            H5Tclose(m);
            if (v) return true;
        }
    }
    return false;
}

double max_plausible_bytes(hid_t dataset) {
    const hid_t file = H5Iget_file_id(dataset);
    hsize_t size = 0;
    if (file >= 0) {
        if (H5Fget_filesize(file, &size) < 0) size = 0;
        H5Fclose(file);
    }
    // Compression can make data much larger than the file, but not beyond this.
    return std::max(1024.0 * static_cast<double>(size), 1073741824.0);
}

void check_extent(hid_t dataset, const std::string& where) {
    Dataspace space(H5Dget_space(dataset), dataset, "cannot get dataspace");
    const int rank = H5Sget_simple_extent_ndims(space.id());
    if (rank < 0 || rank > H5S_MAX_RANK) throw CorruptError(where + ": invalid dataspace");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), max(static_cast<std::size_t>(rank));
    if (H5Sget_simple_extent_dims(space.id(), dims.data(), max.data()) < 0)
        throw CorruptError(where + ": invalid dataspace");
    double bytes = static_cast<double>(
        H5Tget_size(Datatype(H5Dget_type(dataset), dataset, "cannot get datatype").id()));
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (max[i] != H5S_UNLIMITED && dims[i] > max[i])
            throw CorruptError(where + ": dimension " + std::to_string(i) + " (" +
                               std::to_string(dims[i]) + ") exceeds its maximum (" +
                               std::to_string(max[i]) + "): damaged");
        bytes *= static_cast<double>(dims[i]);
    }
    PropList dcpl(H5Dget_create_plist(dataset), dataset, "cannot get creation properties");
    if (H5Pget_layout(dcpl.id()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.id()) != 0) return;
    const hid_t file = H5Iget_file_id(dataset);
    hsize_t size = 0;
    const herr_t rc = file < 0 ? -1 : H5Fget_filesize(file, &size);
    if (file >= 0) H5Fclose(file);
    if (rc < 0) throw_io(dataset, "cannot get the file size");
    // Unwritten contiguous data has no storage (and reads as fill values).
    if (bytes > static_cast<double>(size) && H5Dget_storage_size(dataset) > 0)
        throw CorruptError(where + ": " + std::to_string(static_cast<std::uint64_t>(bytes)) +
                           " bytes of data in a file of " + std::to_string(size) +
                           ": truncated or damaged");
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

}  // namespace fq::io::h5
