#include "fq/io/kv_dump.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "fq/core/error.hpp"
#include "fq/core/finite.hpp"
#include "fq/core/half.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/kv_dump_detail.hpp"

namespace fq::io {

using namespace detail;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool glob_rec(std::string_view p, std::string_view s) {
    while (!p.empty()) {
        if (p.size() >= 2 && p[0] == '*' && p[1] == '*') {
            p.remove_prefix(2);
            for (std::size_t i = 0; i <= s.size(); ++i)
                if (glob_rec(p, s.substr(i))) return true;
            return false;
        }
        if (p[0] == '*') {
            p.remove_prefix(1);
            for (std::size_t i = 0; i <= s.size(); ++i) {
                if (glob_rec(p, s.substr(i))) return true;
                if (i < s.size() && s[i] == '/') return false;
            }
            return false;
        }
        if (s.empty()) return false;
        if (p[0] == '?' ? s[0] == '/' : p[0] != s[0]) return false;
        p.remove_prefix(1);
        s.remove_prefix(1);
    }
    return s.empty();
}

// The default layout: exactly layer_<digits>/{q,k,v}.
bool default_selected(std::string_view path) {
    constexpr std::string_view prefix = "layer_";
    if (path.substr(0, prefix.size()) != prefix) return false;
    std::size_t i = prefix.size();
    const std::size_t digits = i;
    while (i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]))) ++i;
    if (i == digits || path.size() != i + 2 || path[i] != '/') return false;
    return path[i + 1] == 'q' || path[i + 1] == 'k' || path[i + 1] == 'v';
}

// An open vector dataset with the memory type that reads its elements: float / double as
// such, 16-bit types as their raw bits in native byte order (HDF5 only swaps bytes).
struct Opened {
    h5::Dataset ds;
    Stored stored = Stored::f32;
    h5::Datatype raw16;  // 16-bit float types: the file type in native byte order
    hid_t mem = H5I_INVALID_HID;
    std::size_t elem = 4;  // bytes per element in memory
};

Opened open_vector_dataset(hid_t file, const std::string& where, const std::string& path) {
    Opened o;
    o.ds = h5::open_dataset(file, path);
    h5::Datatype type = h5::dataset_type(o.ds.id());
    const H5T_class_t cls = H5Tget_class(type.id());
    const std::size_t size = H5Tget_size(type.id());
    if (cls == H5T_FLOAT && size == 4) {
        o.stored = Stored::f32;
        o.mem = H5T_NATIVE_FLOAT;
        o.elem = 4;
    } else if (cls == H5T_FLOAT && size == 8) {
        o.stored = Stored::f64;
        o.mem = H5T_NATIVE_DOUBLE;
        o.elem = 8;
    } else if (cls == H5T_FLOAT &&
               (h5::is_ieee_half(type.id()) || h5::is_bfloat16_float(type.id()))) {
        o.stored = h5::is_ieee_half(type.id()) ? Stored::f16 : Stored::bf16;
        o.raw16 = h5::Datatype(H5Tcopy(type.id()), o.ds.id(), "cannot copy datatype");
        if (H5Tset_order(o.raw16.id(), H5Tget_order(H5T_NATIVE_FLOAT)) < 0)
            h5::throw_io(o.ds.id(), "cannot set byte order");
        o.mem = o.raw16.id();
        o.elem = 2;
    } else if (cls == H5T_INTEGER) {
        std::string tag;
        for (const char* attr : {"dtype", "fq_dtype"})
            if (tag.empty() && h5::has_attr(o.ds.id(), attr)) {
                try {
                    tag = lower(h5::read_attr_string(o.ds.id(), attr));
                } catch (const CorruptError&) {
                    tag.clear();  // a non-string tag is no bfloat16 declaration
                }
            }
        if (tag != "bfloat16" || size != 2)
            throw CorruptError(where + ": " + path + ": " + std::to_string(8 * size) +
                               "-bit integer data is not a vector dtype (bfloat16 is stored as "
                               "16-bit integers with attribute dtype = \"bfloat16\")");
        o.stored = Stored::bf16;
        // Signed or unsigned, the bits must come through unchanged (no clipping).
        o.mem = H5Tget_sign(type.id()) == H5T_SGN_NONE ? H5T_NATIVE_UINT16 : H5T_NATIVE_INT16;
        o.elem = 2;
    } else {
        const char* name = cls == H5T_FLOAT      ? "float"
                           : cls == H5T_STRING   ? "string"
                           : cls == H5T_COMPOUND ? "compound"
                           : cls == H5T_ENUM     ? "enum"
                                                 : "non-numeric";
        throw CorruptError(where + ": " + path + ": unsupported element type (" + name + ", " +
                           std::to_string(size) +
                           " bytes); expected float32, float16, bfloat16 or float64");
    }
    return o;
}

}  // namespace

// ---- shared with the writer (kv_dump_detail.hpp) ---------------------------------------

namespace detail {

const char* dtype_name(Stored s) {
    switch (s) {
        case Stored::f32:
            return "float32";
        case Stored::f64:
            return "float64";
        case Stored::f16:
            return "float16";
        case Stored::bf16:
            return "bfloat16";
    }
    return "?";
}

Stored stored_from_name(const std::string& where, const std::string& name) {
    for (Stored s : {Stored::f32, Stored::f64, Stored::f16, Stored::bf16})
        if (name == dtype_name(s)) return s;
    throw UsageError(where + ": unsupported output dtype '" + name +
                     "' (float32, float16, bfloat16 or float64)");
}

FileSlab file_slab(const AxisOrder& axes, const Slab& slab, int d, std::int64_t row) {
    FileSlab f;
    const int r = axes.rank();
    f.start.assign(static_cast<std::size_t>(r), 0);
    f.count.assign(static_cast<std::size_t>(r), 0);
    for (int a = 0; a < r; ++a) {
        const char c = axes.str()[static_cast<std::size_t>(a)];
        const auto ua = static_cast<std::size_t>(a);
        f.start[ua] = static_cast<hsize_t>(c == 'h'   ? slab.h0
                                           : c == 't' ? slab.t0
                                           : c == 'b' ? row
                                                      : 0);
        f.count[ua] = static_cast<hsize_t>(c == 'h'   ? slab.heads()
                                           : c == 't' ? slab.tokens()
                                           : c == 'b' ? 1
                                                      : d);
    }
    std::size_t stride = 1;
    std::size_t unused = 0;
    for (int a = r - 1; a >= 0; --a) {
        const char c = axes.str()[static_cast<std::size_t>(a)];
        (c == 'h' ? f.sh : c == 't' ? f.st : c == 'd' ? f.sd : unused) = stride;
        stride *= static_cast<std::size_t>(f.count[static_cast<std::size_t>(a)]);
    }
    return f;
}

void check_slab(const std::string& where, const Slab& s, int heads, std::int64_t tokens) {
    if (s.h0 < 0 || s.h0 > s.h1 || s.h1 > heads || s.t0 < 0 || s.t0 > s.t1 || s.t1 > tokens)
        throw UsageError(where + ": slab heads [" + std::to_string(s.h0) + ", " +
                         std::to_string(s.h1) + ") x tokens [" + std::to_string(s.t0) + ", " +
                         std::to_string(s.t1) + ") outside " + std::to_string(heads) + " x " +
                         std::to_string(tokens));
}

}  // namespace detail

// ---- naming and layout -------------------------------------------------------------------

const char* to_string(KvKind kind) {
    switch (kind) {
        case KvKind::q:
            return "q";
        case KvKind::k:
            return "k";
        case KvKind::v:
            return "v";
        case KvKind::other:
            return "other";
    }
    return "other";
}

KvRole classify_kv_path(std::string_view path) {
    KvRole role;
    const std::size_t slash = path.find_last_of('/');
    const std::string last = lower(slash == std::string_view::npos ? path : path.substr(slash + 1));
    if (last == "q" || last == "query" || last == "queries") role.kind = KvKind::q;
    if (last == "k" || last == "key" || last == "keys") role.kind = KvKind::k;
    if (last == "v" || last == "value" || last == "values") role.kind = KvKind::v;
    const std::size_t first = path.find_first_of("0123456789");
    if (first != std::string_view::npos) {
        long long layer = 0;
        for (std::size_t i = first;
             i < path.size() && std::isdigit(static_cast<unsigned char>(path[i])) &&
             layer < INT_MAX;
             ++i)
            layer = layer * 10 + (path[i] - '0');
        role.layer = static_cast<int>(std::min<long long>(layer, INT_MAX));
    }
    return role;
}

bool glob_match(std::string_view pattern, std::string_view path) {
    return glob_rec(strip_slash(pattern), strip_slash(path));
}

AxisOrder::AxisOrder(std::string_view letters) : m_letters(letters) {
    const auto count = [&](char c) { return std::count(letters.begin(), letters.end(), c); };
    const bool ok = letters.size() >= 2 && letters.size() <= 4 && count('t') == 1 &&
                    count('d') == 1 && count('h') <= 1 && count('b') <= 1 &&
                    static_cast<std::size_t>(2 + count('h') + count('b')) == letters.size();
    if (!ok)
        throw UsageError("axis order '" + std::string(letters) +
                         "': expected a permutation of htd (or td / dt for a single head), "
                         "optionally with a batch axis b (bhtd)");
}

AxisOrder AxisOrder::with_batch() const {
    return has_batch() ? *this : AxisOrder("b" + m_letters);
}

int AxisOrder::axis_of(char letter) const {
    const std::size_t p = m_letters.find(letter);
    return p == std::string::npos ? -1 : static_cast<int>(p);
}

Slab full_slab(const DatasetInfo& info) {
    return Slab{0, info.heads, 0, info.tokens};
}

void check_finite(const float* x, const Slab& slab, int d, const std::string& file,
                  const std::string& dataset) {
    const std::size_t n = slab.vectors() * static_cast<std::size_t>(d);
    if (core::all_finite(x, n)) return;
    for (std::size_t j = 0; j < n; ++j) {
        if (std::isfinite(x[j])) continue;
        const std::size_t vec = j / static_cast<std::size_t>(d);
        const auto tokens = static_cast<std::size_t>(slab.tokens());
        const std::string what = std::isnan(x[j]) ? "NaN" : x[j] > 0 ? "Inf" : "-Inf";
        throw NumericError(
            file + ": " + std::string(strip_slash(dataset)) + ": " + what + " at [head " +
            std::to_string(slab.h0 + static_cast<long long>(vec / tokens)) + ", token " +
            std::to_string(slab.t0 + static_cast<long long>(vec % tokens)) + ", dim " +
            std::to_string(j % static_cast<std::size_t>(d)) + "]");
    }
}

// ---- reading -----------------------------------------------------------------------------

struct KvDumpReader::Impl {
    std::string path;
    KvDumpLayout layout;
    AxisOrder axes;
    h5::File file;
    std::vector<DatasetInfo> selected;
    std::vector<std::string> others;
    mutable std::map<std::string, Opened> open;  // vector datasets opened so far
    mutable std::vector<std::uint16_t> halves;   // float16 read buffer, reused (serial reader)

    const Opened& opened(const std::string& ds) const {
        auto it = open.find(ds);
        if (it == open.end()) it = open.emplace(ds, open_vector_dataset(file.id(), path, ds)).first;
        return it->second;
    }
};

KvDumpReader::KvDumpReader(const std::string& path, const KvDumpLayout& layout)
    : m_impl(std::make_unique<Impl>()) {
    Impl& m = *m_impl;
    m.path = path;
    m.layout = layout;
    m.axes = AxisOrder(layout.axes);
    m.file = h5::open_input_file(path);
    std::vector<std::string> names;
    try {
        names = h5::list_datasets(m.file.id());
    } catch (const IoError& e) {
        throw CorruptError(std::string(e.what()) + ": damaged");
    }
    for (const std::string& ds : names) {
        bool sel = layout.select.empty() && default_selected(ds);
        for (const std::string& pattern : layout.select) sel = sel || glob_match(pattern, ds);
        if (sel)
            m.selected.push_back(info(ds));
        else
            m.others.push_back(ds);
    }
    if (m.selected.empty()) {
        std::string what = "layer_<L>/{q,k,v}";
        if (!layout.select.empty()) {
            what.clear();
            for (const std::string& p : layout.select) what += (what.empty() ? "" : ", ") + p;
        }
        throw IoError(path + ": no dataset matches " + what);
    }
}

KvDumpReader::~KvDumpReader() = default;
KvDumpReader::KvDumpReader(KvDumpReader&&) noexcept = default;
KvDumpReader& KvDumpReader::operator=(KvDumpReader&&) noexcept = default;

const std::string& KvDumpReader::path() const {
    return m_impl->path;
}
const KvDumpLayout& KvDumpReader::layout() const {
    return m_impl->layout;
}
const std::vector<DatasetInfo>& KvDumpReader::datasets() const {
    return m_impl->selected;
}
const std::vector<std::string>& KvDumpReader::other_datasets() const {
    return m_impl->others;
}
std::int64_t KvDumpReader::file_id() const {
    return m_impl->file.id();
}

DatasetInfo KvDumpReader::info(const std::string& dataset, const std::string& axes_str) const {
    const Impl& m = *m_impl;
    const AxisOrder given = axes_str.empty() ? m.axes : AxisOrder(axes_str);
    DatasetInfo info;
    info.path = std::string(strip_slash(dataset));
    if (!h5::is_dataset(m.file.id(), info.path))
        throw IoError(m.path + ": " + info.path + ": no such dataset");
    const Opened& o = m.opened(info.path);
    const std::string where = m.path + ": " + info.path;
    h5::check_extent(o.ds.id(), where);
    const std::vector<hsize_t> dims = h5::dataset_dims(o.ds.id());
    // A 4-D dataset under a 3-D order: a leading batch axis (bhtd for htd).
    const AxisOrder axes =
        dims.size() == 4 && given.rank() == 3 && !given.has_batch() ? given.with_batch() : given;
    if (static_cast<int>(dims.size()) != axes.rank())
        throw CorruptError(where + ": expected " + std::to_string(axes.rank()) + " dimensions (" +
                           axes.str() + "), found " + std::to_string(dims.size()));
    info.dims.assign(dims.begin(), dims.end());
    info.dtype = dtype_name(o.stored);
    info.axes = axes.str();
    const int ah = axes.axis_of('h');
    const hsize_t heads = ah < 0 ? 1 : dims[static_cast<std::size_t>(ah)];
    const hsize_t d = dims[static_cast<std::size_t>(axes.axis_of('d'))];
    if (heads > INT_MAX || d > k_max_head_dim || d == 0)
        throw CorruptError(where + ": unsupported shape (heads " + std::to_string(heads) + ", d " +
                           std::to_string(d) + ")");
    info.heads = static_cast<int>(heads);
    info.d = static_cast<int>(d);
    info.batch_tokens =
        static_cast<std::int64_t>(dims[static_cast<std::size_t>(axes.axis_of('t'))]);
    const hsize_t batch = axes.has_batch() ? dims[static_cast<std::size_t>(axes.axis_of('b'))] : 1;
    if (batch > INT_MAX || batch == 0 ||
        (info.batch_tokens > 0 &&
         batch >
             static_cast<hsize_t>(std::numeric_limits<std::int64_t>::max() / info.batch_tokens)))
        throw CorruptError(where + ": unsupported batch size " + std::to_string(batch));
    info.batch = static_cast<int>(batch);
    info.tokens = info.batch_tokens * info.batch;
    const KvRole role = classify_kv_path(info.path);
    info.kind = role.kind;
    info.layer = role.layer;
    const std::pair<const std::string*, KvKind> overrides[] = {{&m.layout.q_glob, KvKind::q},
                                                               {&m.layout.k_glob, KvKind::k},
                                                               {&m.layout.v_glob, KvKind::v}};
    for (const auto& [glob, kind] : overrides)
        if (!glob->empty() && glob_match(*glob, info.path)) {
            info.kind = kind;
            break;
        }
    return info;
}

void KvDumpReader::read(const DatasetInfo& info, const Slab& slab, float* out) const {
    const Impl& m = *m_impl;
    const std::string where = m.path + ": " + info.path;
    check_slab(where, slab, info.heads, info.tokens);
    if (slab.vectors() == 0) return;
    if (info.batch > 1) {  // one read per batch row touched, placed into out
        std::vector<float> piece;
        for_each_batch_piece(slab, info.batch, info.batch_tokens,
                             [&](std::int64_t row, const Slab& local, std::int64_t at) {
                                 if (local.vectors() == slab.vectors()) {
                                     read_row(info, row, local, out);
                                     return;
                                 }
                                 piece.resize(local.vectors() * static_cast<std::size_t>(info.d));
                                 read_row(info, row, local, piece.data());
                                 scatter_piece(out, piece.data(), slab.heads(), slab.tokens(),
                                               local.tokens(), at, info.d);
                             });
        return;
    }
    read_row(info, 0, slab, out);
}

void KvDumpReader::read_row(const DatasetInfo& info, std::int64_t row, const Slab& slab,
                            float* out) const {
    const Impl& m = *m_impl;
    const Opened& o = m.opened(info.path);
    const AxisOrder axes(info.axes);
    const FileSlab f = file_slab(axes, slab, info.d, row);
    const std::string plain = [&] {
        std::string s = axes.str();
        s.erase(std::remove(s.begin(), s.end(), 'b'), s.end());
        return s;
    }();
    const bool canonical = plain == "htd" || plain == "td";
    if (o.stored == Stored::f32 && canonical) {
        h5::read_slab(o.ds.id(), o.mem, f.start, f.count, out);
        return;
    }
    const std::size_t n = slab.vectors() * static_cast<std::size_t>(info.d);
    if (o.stored == Stored::f16 && canonical) {  // the common case: one batch conversion
        std::vector<std::uint16_t>& h = m.halves;
        h.resize(n);
        h5::read_slab(o.ds.id(), o.mem, f.start, f.count, h.data());
        core::halves_to_floats(h.data(), n, out);
        return;
    }
    std::vector<unsigned char> raw(n * o.elem);
    h5::read_slab(o.ds.id(), o.mem, f.start, f.count, raw.data());
    // Widen element j of the file-order buffer (memcpy: the buffer is untyped bytes).
    auto widen = [&](std::size_t j) -> float {
        const unsigned char* p = raw.data() + j * o.elem;
        if (o.stored == Stored::f32) {
            float v;
            std::memcpy(&v, p, 4);
            return v;
        }
        if (o.stored == Stored::f64) {
            double v;
            std::memcpy(&v, p, 8);
            return static_cast<float>(v);
        }
        std::uint16_t b;
        std::memcpy(&b, p, 2);
        return o.stored == Stored::f16 ? core::half_to_float(b) : core::bfloat16_to_float(b);
    };
    if (canonical) {
        for (std::size_t j = 0; j < n; ++j) out[j] = widen(j);
    } else {
        for_each_element(f, slab, info.d, [&](std::size_t c, std::size_t j) { out[c] = widen(j); });
    }
}

std::vector<float> KvDumpReader::read(const DatasetInfo& info, const Slab& slab) const {
    std::vector<float> out(slab.vectors() * static_cast<std::size_t>(std::max(info.d, 0)));
    read(info, slab, out.data());
    return out;
}

std::vector<float> KvDumpReader::read_all(const DatasetInfo& info) const {
    return read(info, full_slab(info));
}

bool KvDumpReader::has_dataset(const std::string& dataset) const {
    return h5::is_dataset(m_impl->file.id(), std::string(strip_slash(dataset)));
}

std::vector<std::int64_t> KvDumpReader::read_integers(const std::string& dataset,
                                                      std::uint64_t expected) const {
    const Impl& m = *m_impl;
    const std::string name(strip_slash(dataset));
    const std::string where = m.path + ": " + name;
    h5::Dataset ds = h5::open_dataset(m.file.id(), name);
    h5::check_extent(ds.id(), m.path + ": " + name);
    const h5::Datatype type = h5::dataset_type(ds.id());
    if (H5Tget_class(type.id()) != H5T_INTEGER)
        throw CorruptError(where + ": expected an integer dataset");
    std::uint64_t n = 1;
    std::vector<hsize_t> start, count;
    for (hsize_t x : h5::dataset_dims(ds.id())) {
        n = x == 0 || n <= std::numeric_limits<std::uint64_t>::max() / x ? n * x : 0;
        start.push_back(0);
        count.push_back(x);
    }
    if (n != expected)
        throw CorruptError(where + ": holds " + std::to_string(n) + " values, expected " +
                           std::to_string(expected));
    std::vector<std::int64_t> out(static_cast<std::size_t>(n));
    if (n > 0) h5::read_slab(ds.id(), H5T_NATIVE_INT64, start, count, out.data());
    return out;
}

}  // namespace fq::io
