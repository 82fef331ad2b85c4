#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/container_header.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/encoded_file_detail.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/mpi_run.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

using detail::digest_of;
using detail::hash_hex;
using detail::k_max_block_tokens;
using detail::k_max_block_vectors;
using detail::strip;

namespace {

using Object = h5::TypedHandle<H5Oclose>;

// Attribute names the container owns at the root (skipped when copying the dump's).
const std::vector<std::string> k_root_attrs = {"fq_format", "fq_format_version", "fq_version",
                                               "fq_index", k_header_digest_attr};

const char* kind_name(KvKind k) {
    return to_string(k);
}

void write_attr_u64_array(hid_t obj, const std::string& name, const std::vector<std::uint64_t>& v) {
    const hsize_t n = v.size();
    h5::Dataspace space(H5Screate_simple(1, &n, nullptr), obj, "cannot create dataspace");
    if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
    h5::Attribute a(
        H5Acreate2(obj, name.c_str(), H5T_STD_U64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT), obj,
        ("cannot create attribute '" + name + "'").c_str());
    if (H5Awrite(a.id(), H5T_NATIVE_UINT64, v.data()) < 0)
        h5::throw_io(obj, "cannot write attribute '" + name + "'");
}

Object open_object(hid_t loc, const std::string& path) {
    const std::string p = strip(path);
    if (p.empty()) return Object(H5Oopen(loc, "/", H5P_DEFAULT), loc, "cannot open root group");
    return Object(H5Oopen(loc, p.c_str(), H5P_DEFAULT), loc, ("cannot open " + p).c_str());
}

// Objects are created without modification times (HDF5 tracks them by default), so that
// the same input gives the same bytes: -j 1 and -j 2, today and tomorrow.
h5::PropList untimed(hid_t cls) {
    h5::PropList p(H5Pcreate(cls), H5P_DEFAULT, "cannot create property list");
    if (H5Pset_obj_track_times(p.id(), false) < 0) h5::throw_io("", "cannot set track times");
    return p;
}

// Opens the group, else creates it and its missing parents (untimed).
h5::Group make_group(hid_t loc, const std::string& path) {
    const std::string p = strip(path);
    std::size_t i = 0;
    while (true) {
        const std::size_t slash = p.find('/', i);
        const std::string prefix = p.substr(0, slash);
        if (!h5::exists(loc, prefix)) {
            h5::PropList gcpl = untimed(H5P_GROUP_CREATE);
            h5::Group g(H5Gcreate2(loc, prefix.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT), loc,
                        ("cannot create group " + prefix).c_str());
        }
        if (slash == std::string::npos) break;
        i = slash + 1;
    }
    return h5::open_group(loc, p);
}

// An untimed dataset of file type `type` and shape dims (chunked if chunk is not empty),
// parents made.
h5::Dataset make_dataset(hid_t loc, const std::string& path, hid_t type,
                         const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk = {}) {
    const std::string p = strip(path);
    if (const auto slash = p.rfind('/'); slash != std::string::npos)
        make_group(loc, p.substr(0, slash));
    h5::Dataspace space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), loc,
                        "cannot create dataspace");
    h5::PropList dcpl = untimed(H5P_DATASET_CREATE);
    if (!chunk.empty() && H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()) < 0)
        h5::throw_io(loc, p + ": cannot set chunking");
    return h5::Dataset(
        H5Dcreate2(loc, p.c_str(), type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT), loc,
        (p + ": cannot create dataset").c_str());
}

h5::Dataset make_u8_dataset(hid_t loc, const std::string& path, const std::vector<hsize_t>& dims,
                            const std::vector<hsize_t>& chunk = {}) {
    return make_dataset(loc, path, H5T_STD_U8LE, dims, chunk);
}

}  // namespace

namespace {
struct PendingDataset {
    EncodedDataset info;
    h5::Dataset codes;
    std::vector<std::uint8_t> digests;  // (heads, blocks, 32)
    std::vector<std::uint8_t> written;  // per block
    bool window_written = false;
};
}  // namespace

struct EncodedFileWriter::Impl {
    explicit Impl(const std::string& p) : out(p, h5::FileLayout::checksummed) {}
    h5::PendingFile out;
    std::set<std::string> codebooks;
    std::map<std::string, PendingDataset> open;
    std::vector<std::string> encoded, copied;
    // The dataset being written at path p (created, not finished); UsageError otherwise.
    PendingDataset& pending(const std::string& p) {
        const auto it = open.find(p);
        require(it != open.end(), out.path() + ": " + p + ": not created");
        return it->second;
    }
    // Writes /codebooks/<hex> holding text (a codebook file), hash its content hash.
    // format: attribute "format" (nullptr: none, a universal codebook file).
    void embed(const std::string& hash, const std::string& text, const char* format = nullptr);
};

EncodedFileWriter::EncodedFileWriter(const std::string& path)
    : m_impl(std::make_unique<Impl>(path)) {}
EncodedFileWriter::~EncodedFileWriter() = default;

std::int64_t EncodedFileWriter::file_id() const {
    return m_impl->out.id();
}
const std::string& EncodedFileWriter::path() const {
    return m_impl->out.path();
}

void EncodedFileWriter::add_codebook(const StoredCodebook& cb) {
    Impl& m = *m_impl;
    if (m.codebooks.count(cb.content_hash)) return;
    m.embed(cb.content_hash, cb.text, cb.format == k_codebook_format ? nullptr : cb.format.c_str());
}

void EncodedFileWriter::add_codebook(const UniversalCodebook& cb) {
    Impl& m = *m_impl;
    if (m.codebooks.count(cb.content_hash)) return;
    m.embed(compute_content_hash(cb), serialize_codebook(cb));
}

void EncodedFileWriter::add_codebook(const GsrqCodebookFile& cb) {
    Impl& m = *m_impl;
    if (m.codebooks.count(cb.content_hash)) return;
    m.embed(gsrq_content_hash(cb.codebooks), serialize_gsrq(cb), k_gsrq_format);
}

void EncodedFileWriter::Impl::embed(const std::string& hash, const std::string& text,
                                    const char* format) {
    Impl& m = *this;
    const std::string name = "codebooks/" + hash_hex(hash);
    h5::Dataset ds = make_u8_dataset(m.out.id(), name, {text.size()});
    mpi::root_only([&] { h5::write_slab(ds.id(), H5T_NATIVE_UINT8, {}, {}, text.data()); });
    h5::write_attr_fixed_string(ds.id(), "content_hash", hash);
    h5::write_attr_fixed_string(ds.id(), "media_type", "application/json");
    if (format != nullptr) h5::write_attr_fixed_string(ds.id(), "format", format);
    m.codebooks.insert(hash);
}

void EncodedFileWriter::create(const EncodedDataset& info) {
    Impl& m = *m_impl;
    const std::string p = strip(info.path);
    const std::string where = m.out.path() + ": " + p;
    require(!p.empty() && p != "codebooks" && p.rfind("codebooks/", 0) != 0,
            where + ": dataset path collides with the container's codebooks group");
    require(m.open.count(p) == 0 && !h5::exists(m.out.id(), p), where + ": already written");
    require(info.heads >= 1 && info.tokens >= 0 && info.d >= 1 && info.code_bytes >= 1 &&
                info.block_tokens >= 1 && info.block_tokens <= k_max_block_tokens &&
                info.block_vectors >= 1 && info.block_vectors <= k_max_block_vectors &&
                info.block_tokens % info.block_vectors == 0,
            where + ": invalid sizes");
    // The reader refuses blocks larger than this (encoded_file_detail.hpp): never write one.
    require(static_cast<double>(info.heads) *
                    static_cast<double>(std::min(info.block_tokens / info.block_vectors,
                                                 std::max<std::int64_t>(info.rows(), 1))) *
                    static_cast<double>(info.code_bytes) <=
                static_cast<double>(detail::k_max_block_bytes),
            where + ": a checksum block of " + std::to_string(info.block_tokens) +
                " tokens would be too large: lower --chunk-tokens");
    for (std::size_t i = 0; i < info.window.size(); ++i)
        require(info.window[i] >= 0 && info.window[i] < info.tokens &&
                    (i == 0 || info.window[i] > info.window[i - 1]),
                where + ": window tokens must be increasing and within the tokens");
    require(info.codebook.empty() || m.codebooks.count(info.codebook) == 1,
            where + ": codebook " + info.codebook + " was not added");
    require(centers_heads(info.codec) == !info.center.empty() &&
                (info.center.empty() || info.center.size() == static_cast<std::size_t>(info.heads) *
                                                                  static_cast<std::size_t>(info.d)),
            where + ": a centred codec needs the (heads, d) centre, and only it");
    for (std::uint16_t c : info.center)
        require((c & 0x7C00u) != 0x7C00u, where + ": the centre is not finite");
    PendingDataset pd;
    pd.info = info;
    pd.info.path = p;
    h5::Group g = make_group(m.out.id(), p);
    h5::write_attr_fixed_string(g.id(), "kind", kind_name(info.kind));
    h5::write_attr_int(g.id(), "layer", info.layer);
    write_attr_u64_array(g.id(), "shape", info.shape);
    h5::write_attr_fixed_string(g.id(), "axes", info.axes);
    h5::write_attr_fixed_string(g.id(), "dtype", info.dtype);
    h5::write_attr_int(g.id(), "heads", info.heads);
    h5::write_attr_int(g.id(), "tokens", info.tokens);
    h5::write_attr_int(g.id(), "d", info.d);
    h5::write_attr_fixed_string(g.id(), "codec", info.codec.dump());
    h5::write_attr_fixed_string(g.id(), "codebook", info.codebook);
    h5::write_attr_int(g.id(), "code_bytes", static_cast<std::int64_t>(info.code_bytes));
    h5::write_attr_double(g.id(), "code_bits", info.code_bits);
    h5::write_attr_double(g.id(), "rate", info.rate());
    h5::write_attr_double(g.id(), "stored_rate", info.stored_rate());
    h5::write_attr_int(g.id(), "block_tokens", info.block_tokens);
    // Written only when > 1: files of per-vector codecs stay as version 1 always wrote them.
    if (info.block_vectors > 1) h5::write_attr_int(g.id(), "block_vectors", info.block_vectors);
    // Written only with a window (files without one stay as version 1 always wrote them).
    if (!info.window.empty()) {
        h5::write_attr_int(g.id(), "keep_first", info.keep_first);
        h5::write_attr_int(g.id(), "keep_last", info.keep_last);
    }

    if (!info.center.empty()) {
        const h5::Datatype f16 = h5::make_float16_type();
        h5::Dataset c =
            make_dataset(m.out.id(), p + "/center", f16.id(),
                         {static_cast<hsize_t>(info.heads), static_cast<hsize_t>(info.d)});
        mpi::root_only([&] { h5::write_slab(c.id(), f16.id(), {}, {}, info.center.data()); });
        h5::write_attr_fixed_string(g.id(), "center_sha256", detail::center_digest(info.center));
    }

    const std::int64_t rows = info.rows();
    const std::vector<hsize_t> dims = {static_cast<hsize_t>(info.heads), static_cast<hsize_t>(rows),
                                       info.code_bytes};
    std::vector<hsize_t> chunk;
    if (rows > 0)
        chunk = {1, static_cast<hsize_t>(std::min(info.block_tokens / info.block_vectors, rows)),
                 info.code_bytes};
    pd.codes = make_u8_dataset(m.out.id(), p + "/codes", dims, chunk);
    const std::size_t nb = static_cast<std::size_t>(pd.info.blocks());
    pd.digests.assign(static_cast<std::size_t>(info.heads) * nb * 32, 0);
    pd.written.assign(nb, 0);
    m.open.emplace(p, std::move(pd));
    m.encoded.push_back(p);
}

void EncodedFileWriter::write_block(const std::string& path, std::int64_t t0, std::int64_t t1,
                                    const std::uint8_t* codes) {
    Impl& m = *m_impl;
    const std::string p = strip(path);
    PendingDataset& pd = m.pending(p);
    const EncodedDataset& info = pd.info;
    const std::int64_t B = info.block_tokens;
    require(t0 >= 0 && t0 < info.coded() && t0 % B == 0 && t1 == std::min(t0 + B, info.coded()),
            m.out.path() + ": " + p + ": write_block needs a whole block");
    const auto b = static_cast<std::size_t>(t0 / B);
    const auto n = static_cast<std::size_t>(info.row_end(t1) - info.row_of(t0));
    if (!mpi::active()) {
        h5::write_slab(pd.codes.id(), H5T_NATIVE_UINT8,
                       {0, static_cast<hsize_t>(info.row_of(t0)), 0},
                       {static_cast<hsize_t>(info.heads), n, info.code_bytes}, codes);
    } else {  // one contiguous chunk per head: MPI-IO never patches the bytes between them
        for (int h = 0; h < info.heads; ++h)
            h5::write_slab(pd.codes.id(), H5T_NATIVE_UINT8,
                           {static_cast<hsize_t>(h), static_cast<hsize_t>(info.row_of(t0)), 0},
                           {1, n, info.code_bytes},
                           codes + static_cast<std::size_t>(h) * n * info.code_bytes);
    }
    const std::size_t nb = pd.written.size();
    for (int h = 0; h < info.heads; ++h) {
        const std::string dg = digest_of(codes + static_cast<std::size_t>(h) * n * info.code_bytes,
                                         n * info.code_bytes);
        std::memcpy(&pd.digests[(static_cast<std::size_t>(h) * nb + b) * 32], dg.data(), 32);
    }
    pd.written[b] = 1;
}

void EncodedFileWriter::write_window(const std::string& path, const std::uint16_t* values) {
    Impl& m = *m_impl;
    const std::string p = strip(path);
    PendingDataset& pd = m.pending(p);
    const EncodedDataset& info = pd.info;
    require(!info.window.empty() && !pd.window_written,
            m.out.path() + ": " + p + ": no window to write, or written twice");
    const auto W = static_cast<hsize_t>(info.window.size());
    h5::Dataset t = make_dataset(m.out.id(), p + "/window_tokens", H5T_STD_I64LE, {W});
    const h5::Datatype f16 = h5::make_float16_type();
    const std::vector<hsize_t> dims = {static_cast<hsize_t>(info.heads), W,
                                       static_cast<hsize_t>(info.d)};
    h5::Dataset v = make_dataset(m.out.id(), p + "/window", f16.id(), dims);
    mpi::root_only([&] {
        h5::write_slab(t.id(), H5T_NATIVE_INT64, {}, {}, info.window.data());
        h5::write_slab(v.id(), f16.id(), {}, {}, values);
    });
    const std::size_t count =
        static_cast<std::size_t>(info.heads) * W * static_cast<std::size_t>(info.d);
    h5::Group g = h5::open_group(m.out.id(), p);
    h5::write_attr_fixed_string(g.id(), "window_sha256",
                                detail::window_digest(info.window, values, count));
    pd.window_written = true;
}

void EncodedFileWriter::finish(const std::string& path) {
    Impl& m = *m_impl;
    const std::string p = strip(path);
    PendingDataset& pd = m.pending(p);
    // Under an MPI run each rank wrote its own blocks: every rank gets the whole table.
    mpi::or_bytes(pd.digests);
    mpi::or_bytes(pd.written);
    require(
        std::all_of(pd.written.begin(), pd.written.end(), [](std::uint8_t c) { return c != 0; }),
        m.out.path() + ": " + p + ": not every block was written");
    require(pd.info.window.empty() || pd.window_written,
            m.out.path() + ": " + p + ": the window was not written");
    const std::vector<hsize_t> dims = {static_cast<hsize_t>(pd.info.heads), pd.written.size(), 32};
    h5::Dataset t = make_u8_dataset(m.out.id(), p + "/block_sha256", dims);
    mpi::root_only([&] {
        if (!pd.digests.empty())
            h5::write_slab(t.id(), H5T_NATIVE_UINT8, {}, {}, pd.digests.data());
    });
    const std::string payload = "sha256:" + core::sha256_hex(pd.digests.data(), pd.digests.size());
    h5::Group g = h5::open_group(m.out.id(), p);
    h5::write_attr_fixed_string(g.id(), "payload_sha256", payload);
    m.open.erase(p);
}

void EncodedFileWriter::copy_attrs(std::int64_t src_file, const std::string& src_object,
                                   const std::string& dst_object, bool onto_codes) {
    Impl& m = *m_impl;
    Object src = open_object(src_file, src_object);
    const std::string dst_path = strip(dst_object);
    if (dst_path.empty()) {
        h5::copy_attrs(src.id(), m.out.id(), k_root_attrs, /*fixed_strings=*/true);
        return;
    }
    const std::string target = onto_codes ? dst_path + "/codes" : dst_path;
    if (!h5::exists(m.out.id(), target)) make_group(m.out.id(), target);
    Object dst = open_object(m.out.id(), target);
    h5::copy_attrs(src.id(), dst.id(), {}, /*fixed_strings=*/true);
}

void EncodedFileWriter::copy_dataset(std::int64_t src_file, const std::string& path) {
    Impl& m = *m_impl;
    const std::string p = strip(path);
    require(
        p != "codebooks" && p.rfind("codebooks/", 0) != 0,
        m.out.path() + ": " + p + ": dataset path collides with the container's codebooks group");
    if (const auto slash = p.rfind('/'); slash != std::string::npos)
        make_group(m.out.id(), p.substr(0, slash));
    h5::copy_dataset(src_file, p, m.out.id(), p, /*fixed_string_attrs=*/true);
    m.copied.push_back(p);
}

void EncodedFileWriter::commit() {
    Impl& m = *m_impl;
    require(m.open.empty(), m.out.path() + ": a dataset was not finished");
    const hid_t root = m.out.id();
    h5::write_attr_fixed_string(root, "fq_format", k_container_format);
    h5::write_attr_int(root, "fq_format_version", k_container_version);
    h5::write_attr_fixed_string(root, "fq_version", FQ_VERSION);
    Json index = Json::object();
    index["encoded"] = m.encoded;
    index["copied"] = m.copied;
    h5::write_attr_fixed_string(root, "fq_index", index.dump());
    // Last: the checksum over everything above (container_header.hpp).
    // (Under an MPI run the root reads the copied values it wrote and broadcasts the sum.)
    std::string digest;
    mpi::root_only([&] { digest = container_header_digest(root, m.copied); });
    h5::write_attr_fixed_string(root, k_header_digest_attr, mpi::broadcast(digest));
    m.out.commit();
}

}  // namespace fq::io
