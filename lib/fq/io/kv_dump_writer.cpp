#include "fq/io/kv_dump_writer.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/kv_dump_detail.hpp"

namespace fq::io {

using namespace detail;

namespace {

struct Created {
    h5::Dataset ds;
    Stored stored = Stored::f32;
    AxisOrder axes;
    int heads = 0;
    std::int64_t tokens = 0;
    int batch = 1;
    std::int64_t batch_tokens = 0;
    int d = 0;
};

}  // namespace

struct KvDumpWriter::Impl {
    explicit Impl(const std::string& p) : out(p) {}
    h5::PendingFile out;
    h5::Datatype f16 = h5::make_float16_type();  // file and memory type of float16 data
    std::map<std::string, Created> datasets;
    std::vector<std::uint16_t> halves;  // float16 / bfloat16 staging, reused across writes
};

KvDumpWriter::KvDumpWriter(const std::string& path) : m_impl(std::make_unique<Impl>(path)) {}
KvDumpWriter::~KvDumpWriter() = default;

std::int64_t KvDumpWriter::file_id() const {
    return m_impl->out.id();
}

void KvDumpWriter::create(const std::string& dataset, int heads, std::int64_t tokens, int d,
                          const std::string& dtype, const std::string& axes, int batch) {
    Impl& m = *m_impl;
    const std::string name(strip_slash(dataset));
    const std::string where = m.out.path() + ": " + name;
    Created c;
    c.stored = stored_from_name(where, dtype);
    c.axes = AxisOrder(axes);
    if (heads < 1 || tokens < 0 || d < 1 || (c.axes.axis_of('h') < 0 && heads != 1) || batch < 1 ||
        (!c.axes.has_batch() && batch != 1) || tokens % batch != 0)
        throw UsageError(where + ": invalid shape: " + std::to_string(heads) + " heads, " +
                         std::to_string(tokens) + " tokens, d " + std::to_string(d) + ", batch " +
                         std::to_string(batch) + " in axis order " + axes);
    c.batch = batch;
    c.batch_tokens = tokens / batch;
    if (m.datasets.count(name) != 0 || h5::exists(m.out.id(), name))
        throw UsageError(where + ": dataset already exists");
    std::vector<hsize_t> dims;
    for (char a : c.axes.str())
        dims.push_back(a == 'h'   ? static_cast<hsize_t>(heads)
                       : a == 't' ? static_cast<hsize_t>(c.batch_tokens)
                       : a == 'b' ? static_cast<hsize_t>(batch)
                                  : static_cast<hsize_t>(d));
    const hid_t ftype = c.stored == Stored::f32   ? H5T_IEEE_F32LE
                        : c.stored == Stored::f64 ? H5T_IEEE_F64LE
                        : c.stored == Stored::f16 ? m.f16.id()
                                                  : H5T_STD_U16LE;
    c.ds = h5::create_dataset(m.out.id(), name, ftype, dims);
    if (c.stored == Stored::bf16) h5::write_attr_string(c.ds.id(), "dtype", "bfloat16");
    c.heads = heads;
    c.tokens = tokens;
    c.d = d;
    m.datasets.emplace(name, std::move(c));
}

void KvDumpWriter::write(const std::string& dataset, const Slab& slab, const float* x) {
    Impl& m = *m_impl;
    const std::string name(strip_slash(dataset));
    const std::string where = m.out.path() + ": " + name;
    const auto it = m.datasets.find(name);
    if (it == m.datasets.end()) throw UsageError(where + ": dataset was not created by create()");
    const Created& c = it->second;
    check_slab(where, slab, c.heads, c.tokens);
    if (slab.vectors() == 0) return;
    if (c.batch > 1) {  // one write per batch row touched
        std::vector<float> piece;
        for_each_batch_piece(slab, c.batch, c.batch_tokens,
                             [&](std::int64_t row, const Slab& local, std::int64_t at) {
                                 piece.resize(local.vectors() * static_cast<std::size_t>(c.d));
                                 gather_piece(x, piece.data(), slab.heads(), slab.tokens(),
                                              local.tokens(), at, c.d);
                                 write_row(name, row, local, piece.data());
                             });
        return;
    }
    write_row(name, 0, slab, x);
}

void KvDumpWriter::write_row(const std::string& name, std::int64_t row, const Slab& slab,
                             const float* x) {
    Impl& m = *m_impl;
    const Created& c = m.datasets.at(name);
    const FileSlab f = file_slab(c.axes, slab, c.d, row);
    std::string plain = c.axes.str();
    plain.erase(std::remove(plain.begin(), plain.end(), 'b'), plain.end());
    const bool canonical = plain == "htd" || plain == "td";
    const std::size_t n = slab.vectors() * static_cast<std::size_t>(c.d);
    if (c.stored == Stored::f32 && canonical) {
        h5::write_slab(c.ds.id(), H5T_NATIVE_FLOAT, f.start, f.count, x);
        return;
    }
    // Narrow into a file-order buffer of the stored element type, then write it raw.
    auto fill = [&](auto* buf, auto narrow) {
        if (canonical)
            for (std::size_t j = 0; j < n; ++j) buf[j] = narrow(x[j]);
        else
            for_each_element(f, slab, c.d,
                             [&](std::size_t ci, std::size_t j) { buf[j] = narrow(x[ci]); });
    };
    if (c.stored == Stored::f32) {
        std::vector<float> buf(n);
        fill(buf.data(), [](float v) { return v; });
        h5::write_slab(c.ds.id(), H5T_NATIVE_FLOAT, f.start, f.count, buf.data());
    } else if (c.stored == Stored::f64) {
        std::vector<double> buf(n);
        fill(buf.data(), [](float v) { return static_cast<double>(v); });
        h5::write_slab(c.ds.id(), H5T_NATIVE_DOUBLE, f.start, f.count, buf.data());
    } else {
        std::vector<std::uint16_t>& buf = m.halves;
        buf.resize(n);
        if (c.stored == Stored::f16) {
            if (canonical)
                core::floats_to_halves(x, n, buf.data());  // vectorised, same bits
            else
                fill(buf.data(), [](float v) { return core::float_to_half(v); });
            h5::write_slab(c.ds.id(), m.f16.id(), f.start, f.count, buf.data());
        } else {
            fill(buf.data(), [](float v) { return core::float_to_bfloat16(v); });
            h5::write_slab(c.ds.id(), H5T_NATIVE_UINT16, f.start, f.count, buf.data());
        }
    }
}

void KvDumpWriter::copy_attributes(const KvDumpReader& src, const std::string& src_object,
                                   const std::string& dst_object) {
    Impl& m = *m_impl;
    const std::string s(strip_slash(src_object)), d(strip_slash(dst_object));
    const hid_t sfile = static_cast<hid_t>(src.file_id());
    if (!h5::exists(sfile, s)) throw IoError(src.path() + ": " + s + ": no such object");
    if (!h5::exists(m.out.id(), d))
        throw UsageError(m.out.path() + ": " + d + ": no such object (create it first)");
    h5::Handle from(H5Oopen(sfile, s.empty() ? "/" : s.c_str(), H5P_DEFAULT), H5Oclose);
    h5::Handle to(H5Oopen(m.out.id(), d.empty() ? "/" : d.c_str(), H5P_DEFAULT), H5Oclose);
    if (!from.valid()) h5::throw_io(src.path() + ": " + s, "cannot open object");
    if (!to.valid()) h5::throw_io(m.out.path() + ": " + d, "cannot open object");
    const bool to_dataset = H5Iget_type(to.id()) == H5I_DATASET;
    h5::copy_attrs(
        from.id(), to.id(),
        to_dataset ? std::vector<std::string>{"dtype", "fq_dtype"} : std::vector<std::string>{});
}

void KvDumpWriter::copy_dataset(const KvDumpReader& src, const std::string& dataset) {
    const std::string name(strip_slash(dataset));
    const hid_t sfile = static_cast<hid_t>(src.file_id());
    if (!h5::is_dataset(sfile, name)) throw IoError(src.path() + ": " + name + ": no such dataset");
    h5::copy_dataset(sfile, name, m_impl->out.id(), name);
}

void KvDumpWriter::commit() {
    m_impl->datasets.clear();  // close every dataset before the file
    m_impl->out.commit();
}

}  // namespace fq::io
