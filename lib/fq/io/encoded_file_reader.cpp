#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "fq/codecs/head_center.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/codec_factory.hpp"
#include "fq/io/container_header.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/encoded_file_detail.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/json_util.hpp"

using Json = nlohmann::ordered_json;

namespace fq::io {

using namespace detail;  // the limits and helpers shared with the writer

namespace {

// false if s names no kind.
bool kind_from(const std::string& s, KvKind* kind) {
    for (KvKind k : {KvKind::q, KvKind::k, KvKind::v, KvKind::other})
        if (s == to_string(k)) {
            *kind = k;
            return true;
        }
    return false;
}

std::vector<std::uint64_t> read_attr_u64_array(hid_t obj, const std::string& name) {
    h5::Attribute a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), obj,
                    ("no attribute '" + name + "'").c_str());
    h5::Dataspace space(H5Aget_space(a.id()), obj, "cannot get attribute dataspace");
    const hssize_t n = H5Sget_simple_extent_npoints(space.id());
    if (n < 1 || n > 8)
        throw CorruptError("attribute '" + name + "' has " + std::to_string(n) + " elements");
    std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
    if (H5Aread(a.id(), H5T_NATIVE_UINT64, v.data()) < 0)
        h5::throw_io(obj, "cannot read attribute '" + name + "'");
    return v;
}

}  // namespace

struct EncodedFileReader::Impl {
    std::string path;
    h5::File file;
    int version = 0;
    std::string writer_version;
    std::vector<EncodedDataset> datasets;
    std::vector<std::string> copied;
    std::map<std::string, std::size_t> by_path;
    mutable std::map<std::string, std::vector<std::uint8_t>> tables;    // verified block tables
    mutable std::map<std::string, std::vector<std::uint16_t>> windows;  // verified windows
    std::uint64_t file_size = 0;

    [[noreturn]] void corrupt(const std::string& what) const {
        throw CorruptError(path + ": " + what);
    }
    EncodedDataset read_info(const std::string& p) const;
    // The text of /codebooks/<hex of hash>, sizes checked (CorruptError).
    std::string embedded_text(const std::string& hash) const;
};

EncodedDataset EncodedFileReader::Impl::read_info(const std::string& p) const {
    const Impl& m = *this;
    const std::string where = p + ": ";
    if (!h5::exists(m.file.id(), p)) m.corrupt(where + "listed in fq_index but missing");
    EncodedDataset e;
    e.path = p;
    try {
        h5::Group g = h5::open_group(m.file.id(), p);
        const hid_t gid = g.id();
        const std::string kind = h5::read_attr_string(gid, "kind");
        if (!kind_from(kind, &e.kind)) m.corrupt(where + "unknown kind '" + kind + "'");
        e.layer = static_cast<int>(h5::read_attr_int(gid, "layer"));
        e.shape = read_attr_u64_array(gid, "shape");
        e.axes = h5::read_attr_string(gid, "axes");
        e.dtype = h5::read_attr_string(gid, "dtype");
        const std::int64_t heads = h5::read_attr_int(gid, "heads");
        e.tokens = h5::read_attr_int(gid, "tokens");
        const std::int64_t d = h5::read_attr_int(gid, "d");
        const std::int64_t cb = h5::read_attr_int(gid, "code_bytes");
        e.block_tokens = h5::read_attr_int(gid, "block_tokens");
        e.block_vectors =
            h5::has_attr(gid, "block_vectors") ? h5::read_attr_int(gid, "block_vectors") : 1;
        if (e.block_vectors < 1 || e.block_vectors > k_max_block_vectors ||
            e.block_tokens % e.block_vectors != 0)
            m.corrupt(where + "block_vectors " + std::to_string(e.block_vectors) +
                      " out of range or not dividing block_tokens");
        if (heads < 1 || heads > k_max_heads || e.tokens < 0 || e.tokens > k_max_tokens || d < 1 ||
            d > k_max_d || cb < 1 || cb > k_max_code_bytes || e.block_tokens < 1 ||
            e.block_tokens > k_max_block_tokens)
            m.corrupt(where + "sizes out of range (heads " + std::to_string(heads) + ", tokens " +
                      std::to_string(e.tokens) + ", d " + std::to_string(d) + ", code_bytes " +
                      std::to_string(cb) + ", block_tokens " + std::to_string(e.block_tokens) +
                      ")");
        e.heads = static_cast<int>(heads);
        e.d = static_cast<int>(d);
        e.code_bytes = static_cast<std::size_t>(cb);
        e.code_bits = h5::read_attr_double(gid, "code_bits");
        // (the exact value is checked against the codec when decoding)
        if (!(e.code_bits > 0 && e.code_bits <= 8.0 * cb))
            m.corrupt(where + "code_bits " + std::to_string(e.code_bits) +
                      " does not fit code_bytes " + std::to_string(cb));
        {
            AxisOrder ax(e.axes);  // UsageError on nonsense: reported as corrupt below
            // Axis by axis (no product that could wrap): h = heads, d = d, b x t = tokens.
            bool ok = static_cast<int>(e.shape.size()) == ax.rank();
            const auto axis = [&](char c) {
                const int a = ax.axis_of(c);
                return a < 0 ? std::uint64_t{1} : e.shape[static_cast<std::size_t>(a)];
            };
            ok = ok && axis('h') == static_cast<std::uint64_t>(heads) &&
                 axis('d') == static_cast<std::uint64_t>(d) && axis('b') >= 1 &&
                 axis('b') <= static_cast<std::uint64_t>(std::max<std::int64_t>(e.tokens, 1)) &&
                 axis('b') * axis('t') == static_cast<std::uint64_t>(e.tokens);
            if (!ok) m.corrupt(where + "shape does not match heads x tokens x d");
        }
        const std::string codec_text = h5::read_attr_string(gid, "codec");
        const JsonReader rd(m.path + ": " + p + ": codec", ExitCode::corrupt);
        e.codec = normalize_description(rd.parse(codec_text), m.path + ": " + p + ": codec",
                                        ExitCode::corrupt);
        e.codebook = h5::read_attr_string(gid, "codebook");
        if (!valid_hash(e.codebook) && !(e.codebook.empty() && !e.codec.contains("codebook")))
            m.corrupt(where + "invalid codebook hash '" + e.codebook + "'");
        if (e.codec.value("codebook", std::string()) != e.codebook)
            m.corrupt(where + "codec description names another codebook than attribute codebook");
        e.payload_sha256 = h5::read_attr_string(gid, "payload_sha256");
        if (!valid_hash(e.payload_sha256)) m.corrupt(where + "invalid payload_sha256");

        // The window (absent: none): its size bounded by the tokens before reading.
        if (h5::has_attr(gid, "keep_first") || h5::is_dataset(m.file.id(), p + "/window_tokens")) {
            e.keep_first = h5::read_attr_int(gid, "keep_first");
            e.keep_last = h5::read_attr_int(gid, "keep_last");
            e.window_sha256 = h5::read_attr_string(gid, "window_sha256");
            if (e.keep_first < 0 || e.keep_last < 0 || !valid_hash(e.window_sha256))
                m.corrupt(where + "invalid keep_first, keep_last or window_sha256");
            h5::Dataset wt = h5::open_dataset(m.file.id(), p + "/window_tokens");
            const auto wd = h5::dataset_dims(wt.id());
            if (wd.size() != 1 || wd[0] == 0 || wd[0] > static_cast<hsize_t>(e.tokens))
                m.corrupt(where + "window_tokens shape does not match the tokens");
            e.window.resize(static_cast<std::size_t>(wd[0]));
            h5::read_slab(wt.id(), H5T_NATIVE_INT64, {0}, {wd[0]}, e.window.data());
            for (std::size_t i = 0; i < e.window.size(); ++i)
                if (e.window[i] < 0 || e.window[i] >= e.tokens ||
                    (i > 0 && e.window[i] <= e.window[i - 1]))
                    m.corrupt(where + "window_tokens not increasing within the tokens");
            h5::Dataset wv = h5::open_dataset(m.file.id(), p + "/window");
            if (h5::dataset_dims(wv.id()) !=
                std::vector<hsize_t>{static_cast<hsize_t>(heads), wd[0], static_cast<hsize_t>(d)})
                m.corrupt(where + "window shape does not match the attributes");
            if (2.0 * static_cast<double>(heads) * static_cast<double>(wd[0]) *
                    static_cast<double>(d) >
                static_cast<double>(m.file_size))
                m.corrupt(where + "window larger than the file: truncated");
        }
        // The centre: present exactly when the description asks for it; verified here (small).
        const bool has_center = h5::is_dataset(m.file.id(), p + "/center");
        if (has_center != centers_heads(e.codec))
            m.corrupt(where + (has_center ? "a centre without \"center\": \"head\" in the codec"
                                          : "the codec is centred but the centre is missing"));
        if (has_center) {
            e.center_sha256 = h5::read_attr_string(gid, "center_sha256");
            if (!valid_hash(e.center_sha256)) m.corrupt(where + "invalid center_sha256");
            h5::Dataset c = h5::open_dataset(m.file.id(), p + "/center");
            if (h5::dataset_dims(c.id()) !=
                std::vector<hsize_t>{static_cast<hsize_t>(heads), static_cast<hsize_t>(d)})
                m.corrupt(where + "center shape does not match the attributes");
            if (2.0 * static_cast<double>(heads) * static_cast<double>(d) >
                static_cast<double>(m.file_size))
                m.corrupt(where + "center larger than the file: truncated");
            e.center.resize(static_cast<std::size_t>(heads) * static_cast<std::size_t>(d));
            const h5::Datatype f16 = h5::make_float16_type();
            h5::read_slab(c.id(), f16.id(), {}, {}, e.center.data());
            if (detail::center_digest(e.center) != e.center_sha256)
                m.corrupt(where + "center checksum mismatch");
            for (std::uint16_t v : e.center)
                if ((v & 0x7C00u) == 0x7C00u) m.corrupt(where + "the centre is not finite");
        }
        h5::Dataset codes = h5::open_dataset(m.file.id(), p + "/codes");
        const auto dims = h5::dataset_dims(codes.id());
        if (dims != std::vector<hsize_t>{static_cast<hsize_t>(heads),
                                         static_cast<hsize_t>(e.rows()), static_cast<hsize_t>(cb)})
            m.corrupt(where + "codes dataset shape does not match the attributes");
        h5::Dataset table = h5::open_dataset(m.file.id(), p + "/block_sha256");
        if (h5::dataset_dims(table.id()) !=
            std::vector<hsize_t>{static_cast<hsize_t>(heads), static_cast<hsize_t>(e.blocks()), 32})
            m.corrupt(where + "block_sha256 shape does not match the attributes");
        const double bytes =
            static_cast<double>(heads) * static_cast<double>(e.rows()) * static_cast<double>(cb);
        if (bytes > static_cast<double>(m.file_size))
            m.corrupt(where + "codes (" + std::to_string(static_cast<std::uint64_t>(bytes)) +
                      " bytes) larger than the file: truncated");
    } catch (const IoError& err) {
        m.corrupt(where + "malformed encoded dataset: " + err.what());
    } catch (const UsageError& err) {
        m.corrupt(where + "malformed encoded dataset: " + err.what());
    }
    return e;
}

EncodedFileReader::EncodedFileReader(const std::string& path) : m_impl(std::make_unique<Impl>()) {
    Impl& m = *m_impl;
    m.path = path;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw IoError(path + ": no such file");
    if (std::filesystem::is_directory(path, ec)) throw IoError(path + ": is a directory");
    try {
        m.file = h5::open_input_file(path);
    } catch (const IoError&) {
        throw CorruptError(path + ": not an fq compressed file (not HDF5)");
    }
    hsize_t size = 0;
    if (H5Fget_filesize(m.file.id(), &size) < 0) h5::throw_io(path, "cannot get file size");
    m.file_size = size;
    const hid_t root = m.file.id();
    try {
        if (!h5::has_attr(root, "fq_format") ||
            h5::read_attr_string(root, "fq_format") != k_container_format)
            m.corrupt(
                "not an fq compressed file (root attribute fq_format is not \"fq-compressed\")");
        if (!h5::has_attr(root, "fq_format_version")) m.corrupt("missing fq_format_version");
        const std::int64_t v = h5::read_attr_int(root, "fq_format_version");
        if (v < k_container_min_version || v > k_container_version)
            m.corrupt("unsupported fq_format_version " + std::to_string(v) +
                      " (this build reads versions " + std::to_string(k_container_min_version) +
                      " to " + std::to_string(k_container_version) + ")");
        m.version = static_cast<int>(v);
        const JsonReader rd(path + ": fq_index", ExitCode::corrupt);
        const Json index = rd.parse(h5::read_attr_string(root, "fq_index"));
        rd.expect_keys(index, {"encoded", "copied"}, "fq_index");
        for (const char* key : {"encoded", "copied"})
            if (!index[key].is_array()) rd.fail(std::string(key) + " is not an array");
        if (m.version >= 2) {
            // Version 2: nothing else is used before the header checksum matches.
            std::vector<std::string> copied;
            for (const Json& p : index["copied"])
                if (p.is_string()) copied.push_back(strip(p.get<std::string>()));
            if (!h5::has_attr(root, k_header_digest_attr))
                m.corrupt(std::string("missing ") + k_header_digest_attr);
            const std::string want = h5::read_attr_string(root, k_header_digest_attr);
            if (container_header_digest(root, copied) != want)
                m.corrupt("header checksum mismatch (" + std::string(k_header_digest_attr) +
                          "): the container's metadata is damaged");
        }
        m.writer_version =
            h5::has_attr(root, "fq_version") ? h5::read_attr_string(root, "fq_version") : "";
        for (const Json& p : index["encoded"]) {
            if (!p.is_string()) rd.fail("encoded: not a string");
            const std::string s = strip(p.get<std::string>());
            if (m.by_path.count(s)) rd.fail("encoded: duplicate " + s);
            m.by_path[s] = m.datasets.size();
            m.datasets.push_back(m.read_info(s));
        }
        for (const Json& p : index["copied"]) {
            if (!p.is_string()) rd.fail("copied: not a string");
            const std::string s = strip(p.get<std::string>());
            if (!h5::is_dataset(root, s)) m.corrupt(s + ": listed in fq_index but missing");
            m.copied.push_back(s);
        }
    } catch (const IoError& e) {
        m.corrupt(std::string("malformed container: ") + e.what());
    }
}

EncodedFileReader::~EncodedFileReader() = default;
EncodedFileReader::EncodedFileReader(EncodedFileReader&&) noexcept = default;
EncodedFileReader& EncodedFileReader::operator=(EncodedFileReader&&) noexcept = default;

const std::string& EncodedFileReader::path() const {
    return m_impl->path;
}
int EncodedFileReader::format_version() const {
    return m_impl->version;
}
const std::string& EncodedFileReader::writer_version() const {
    return m_impl->writer_version;
}
const std::vector<EncodedDataset>& EncodedFileReader::datasets() const {
    return m_impl->datasets;
}
const std::vector<std::string>& EncodedFileReader::copied_datasets() const {
    return m_impl->copied;
}
std::int64_t EncodedFileReader::file_id() const {
    return m_impl->file.id();
}

const EncodedDataset& EncodedFileReader::dataset(const std::string& path) const {
    const auto it = m_impl->by_path.find(strip(path));
    if (it == m_impl->by_path.end())
        throw IoError(m_impl->path + ": " + strip(path) + ": no such encoded dataset");
    return m_impl->datasets[it->second];
}

namespace {
// Embedded codebooks whose attribute "format" is `format` ("" = absent: universal ones).
std::vector<std::string> embedded_hashes(hid_t file, const std::string& format) {
    std::vector<std::string> out;
    if (!h5::exists(file, "codebooks")) return out;
    for (const std::string& p : h5::list_datasets(file)) {
        if (p.rfind("codebooks/", 0) != 0) continue;
        h5::Dataset ds = h5::open_dataset(file, p);
        const std::string f =
            h5::has_attr(ds.id(), "format") ? h5::read_attr_string(ds.id(), "format") : "";
        if (f == format) out.push_back("sha256:" + p.substr(10));
    }
    return out;
}
}  // namespace

std::vector<std::string> EncodedFileReader::codebook_hashes() const {
    return embedded_hashes(m_impl->file.id(), "");
}

std::vector<std::string> EncodedFileReader::gsrq_codebook_hashes() const {
    return embedded_hashes(m_impl->file.id(), k_gsrq_format);
}

bool EncodedFileReader::has_codebook(const std::string& hash) const {
    return valid_hash(hash) && h5::is_dataset(m_impl->file.id(), "codebooks/" + hash_hex(hash));
}

StoredCodebook EncodedFileReader::stored_codebook(const std::string& hash) const {
    const Impl& m = *m_impl;
    const std::string name = "codebooks/" + (valid_hash(hash) ? hash_hex(hash) : std::string());
    StoredCodebook cb;
    try {
        cb = parse_stored_codebook(m.embedded_text(hash), m.path + ": " + name);
    } catch (const CorruptError&) {
        throw;
    } catch (const Error& e) {
        m.corrupt(name + ": " + e.what());
    }
    if (cb.content_hash != hash)
        m.corrupt(name + ": embedded codebook hashes to " + cb.content_hash + ", not " + hash);
    return cb;
}

UniversalCodebook EncodedFileReader::codebook(const std::string& hash) const {
    const Impl& m = *m_impl;
    const std::string name = "codebooks/" + (valid_hash(hash) ? hash_hex(hash) : std::string());
    UniversalCodebook cb = parse_codebook(m.embedded_text(hash), m.path + ": " + name);
    if (cb.content_hash != hash)
        m.corrupt(name + ": embedded codebook hashes to " + cb.content_hash + ", not " + hash);
    return cb;
}

GsrqCodebookFile EncodedFileReader::gsrq_codebook(const std::string& hash) const {
    const Impl& m = *m_impl;
    const std::string name = "codebooks/" + (valid_hash(hash) ? hash_hex(hash) : std::string());
    GsrqCodebookFile cb = parse_gsrq(m.embedded_text(hash), m.path + ": " + name);
    if (cb.content_hash != hash)
        m.corrupt(name + ": embedded codebook hashes to " + cb.content_hash + ", not " + hash);
    return cb;
}

std::string EncodedFileReader::Impl::embedded_text(const std::string& hash) const {
    const Impl& m = *this;
    if (!valid_hash(hash)) m.corrupt("invalid codebook hash '" + hash + "'");
    const std::string name = "codebooks/" + hash_hex(hash);
    if (!h5::is_dataset(m.file.id(), name))
        m.corrupt("codebook " + hash + " is not embedded (give it with -c)");
    std::string text;
    try {
        h5::Dataset ds = h5::open_dataset(m.file.id(), name);
        const auto dims = h5::dataset_dims(ds.id());
        if (dims.size() != 1 || dims[0] == 0 || dims[0] > k_max_codebook_bytes ||
            dims[0] > m.file_size)
            m.corrupt(name + ": invalid size");
        text.resize(dims[0]);
        h5::read_slab(ds.id(), H5T_NATIVE_UINT8, {}, {}, text.data());
    } catch (const IoError& e) {
        m.corrupt(name + ": unreadable: " + e.what());
    }
    return text;
}

void EncodedFileReader::read_codes(const EncodedDataset& info, const Slab& slab,
                                   std::uint8_t* out) const {
    const Impl& m = *m_impl;
    const std::string where = info.path + ": ";
    const std::int64_t rows = info.rows();
    require(slab.h0 >= 0 && slab.h0 < slab.h1 && slab.h1 <= info.heads && slab.t0 >= 0 &&
                slab.t0 < slab.t1 && slab.t1 <= rows,
            m.path + ": " + where + "slab outside the dataset");
    const std::size_t cb = info.code_bytes;
    const auto nb = static_cast<std::size_t>(info.blocks());
    const std::int64_t B = info.block_tokens / info.block_vectors;  // rows per checksum block
    const std::size_t hn = static_cast<std::size_t>(slab.heads());
    // What one block read holds (a block never has more rows than the dataset).
    if (static_cast<double>(hn) * static_cast<double>(std::min(B, rows)) * static_cast<double>(cb) >
        static_cast<double>(k_max_block_bytes))
        m.corrupt(where + "checksum block too large to read");

    // Block table, verified once against payload_sha256.
    auto it = m.tables.find(info.path);
    if (it == m.tables.end()) {
        std::vector<std::uint8_t> table(static_cast<std::size_t>(info.heads) * nb * 32);
        try {
            h5::Dataset t = h5::open_dataset(m.file.id(), info.path + "/block_sha256");
            if (!table.empty()) h5::read_slab(t.id(), H5T_NATIVE_UINT8, {}, {}, table.data());
        } catch (const IoError& e) {
            m.corrupt(where + "block_sha256 unreadable: " + e.what());
        }
        if ("sha256:" + core::sha256_hex(table.data(), table.size()) != info.payload_sha256)
            m.corrupt(where + "payload checksum mismatch (block table damaged)");
        it = m.tables.emplace(info.path, std::move(table)).first;
    }
    const std::vector<std::uint8_t>& table = it->second;

    h5::Dataset codes;
    try {
        codes = h5::open_dataset(m.file.id(), info.path + "/codes");
    } catch (const IoError& e) {
        m.corrupt(where + "codes unreadable: " + e.what());
    }
    std::vector<std::uint8_t> buf;
    const std::size_t out_tokens = static_cast<std::size_t>(slab.tokens());
    for (std::int64_t b = slab.t0 / B; b * B < slab.t1; ++b) {
        const std::int64_t bs = b * B, be = std::min(bs + B, rows);
        const auto n = static_cast<std::size_t>(be - bs);
        buf.resize(hn * n * cb);
        try {
            h5::read_slab(codes.id(), H5T_NATIVE_UINT8,
                          {static_cast<hsize_t>(slab.h0), static_cast<hsize_t>(bs), 0}, {hn, n, cb},
                          buf.data());
        } catch (const IoError& e) {
            m.corrupt(where + "codes unreadable (truncated?): " + e.what());
        }
        for (std::size_t hi = 0; hi < hn; ++hi) {
            const std::size_t h = static_cast<std::size_t>(slab.h0) + hi;
            const std::string dg = digest_of(&buf[hi * n * cb], n * cb);
            if (std::memcmp(dg.data(), &table[(h * nb + static_cast<std::size_t>(b)) * 32], 32) !=
                0)
                m.corrupt(where + "checksum mismatch in head " + std::to_string(h) + ", tokens [" +
                          std::to_string(bs * info.block_vectors) + ", " +
                          std::to_string(std::min(be * info.block_vectors, info.tokens)) + ")");
            const std::int64_t lo = std::max(bs, slab.t0), hi_t = std::min(be, slab.t1);
            std::memcpy(out + (hi * out_tokens + static_cast<std::size_t>(lo - slab.t0)) * cb,
                        &buf[(hi * n + static_cast<std::size_t>(lo - bs)) * cb],
                        static_cast<std::size_t>(hi_t - lo) * cb);
        }
    }
}

std::vector<std::uint16_t> EncodedFileReader::read_window(const EncodedDataset& info) const {
    const Impl& m = *m_impl;
    if (info.window.empty()) return {};
    if (auto it = m.windows.find(info.path); it != m.windows.end()) return it->second;
    const std::size_t count = static_cast<std::size_t>(info.heads) * info.window.size() *
                              static_cast<std::size_t>(info.d);
    std::vector<std::uint16_t> v(count);
    try {
        h5::Dataset ds = h5::open_dataset(m.file.id(), info.path + "/window");
        const h5::Datatype f16 = h5::make_float16_type();
        h5::read_slab(ds.id(), f16.id(), {}, {}, v.data());
    } catch (const IoError& e) {
        m.corrupt(info.path + ": window unreadable: " + e.what());
    }
    if (detail::window_digest(info.window, v.data(), v.size()) != info.window_sha256)
        m.corrupt(info.path + ": window checksum mismatch");
    return m.windows.emplace(info.path, std::move(v)).first->second;
}

void EncodedFileReader::decode(const EncodedDataset& info, const codecs::Codec& codec,
                               const Slab& slab, float* out) const {
    FetchedSlab f;
    fetch(info, slab, f);
    decode_fetched(info, codec, f, out);
}

void EncodedFileReader::fetch(const EncodedDataset& info, const Slab& slab, FetchedSlab& f) const {
    const Impl& m = *m_impl;
    require(slab.h0 >= 0 && slab.h0 < slab.h1 && slab.h1 <= info.heads && slab.t0 >= 0 &&
                slab.t0 < slab.t1 && slab.t1 <= info.tokens,
            m.path + ": " + info.path + ": slab outside the dataset");
    f.slab = slab;
    // Coded tokens of the slab: [c0, c1) (token t - the window tokens before it).
    const auto& w = info.window;
    f.w0 = static_cast<std::int64_t>(std::lower_bound(w.begin(), w.end(), slab.t0) - w.begin());
    f.w1 = static_cast<std::int64_t>(std::lower_bound(w.begin(), w.end(), slab.t1) - w.begin());
    f.c0 = slab.t0 - f.w0;
    f.c1 = slab.t1 - f.w1;
    const auto hn = static_cast<std::size_t>(slab.heads());
    if (f.c1 > f.c0) {
        const std::int64_t r0 = info.row_of(f.c0), r1 = info.row_end(f.c1);
        f.codes.resize(hn * static_cast<std::size_t>(r1 - r0) * info.code_bytes);
        read_codes(info, Slab{slab.h0, slab.h1, r0, r1}, f.codes.data());
    } else {
        f.codes.clear();
    }
    if (f.w1 > f.w0)
        f.window = read_window(info);
    else
        f.window.clear();
}

void EncodedFileReader::decode_fetched(const EncodedDataset& info, const codecs::Codec& codec,
                                       FetchedSlab& f, float* out) const {
    const Slab& slab = f.slab;
    if (f.w1 == f.w0) {  // no window token inside: the slab is coded tokens only
        decode_coded(info, codec, f, out);
        return;
    }
    const auto d = static_cast<std::size_t>(info.d);
    const auto nt = static_cast<std::size_t>(slab.tokens());
    const auto nc = static_cast<std::size_t>(f.c1 - f.c0);
    f.coded.resize(static_cast<std::size_t>(slab.heads()) * nc * d);
    if (nc > 0) decode_coded(info, codec, f, f.coded.data());
    const auto& w = info.window;
    const std::size_t W = w.size();
    for (int h = slab.h0; h < slab.h1; ++h) {
        const std::size_t hh = static_cast<std::size_t>(h - slab.h0);
        std::size_t ci = 0, wi = static_cast<std::size_t>(f.w0);
        for (std::size_t i = 0; i < nt; ++i) {
            float* dst = out + (hh * nt + i) * d;
            if (wi < static_cast<std::size_t>(f.w1) &&
                w[wi] == slab.t0 + static_cast<std::int64_t>(i)) {
                const std::uint16_t* src =
                    f.window.data() + (static_cast<std::size_t>(h) * W + wi) * d;
                for (std::size_t j = 0; j < d; ++j) dst[j] = core::half_to_float(src[j]);
                ++wi;
            } else {
                std::memcpy(dst, f.coded.data() + (hh * nc + ci) * d, d * sizeof(float));
                ++ci;
            }
        }
    }
}

void EncodedFileReader::decode_coded(const EncodedDataset& info, const codecs::Codec& codec,
                                     FetchedSlab& f, float* out) const {
    const Impl& m = *m_impl;
    const auto G = static_cast<std::size_t>(info.block_vectors);
    if (codec.block_vectors() != G || codec.code_bytes() != info.code_bytes ||
        codec.dim() != info.d)
        m.corrupt(info.path + ": the codec does not match the dataset (block_vectors, " +
                  "code_bytes or d)");
    const std::int64_t r0 = info.row_of(f.c0), r1 = info.row_end(f.c1);
    const auto hn = static_cast<std::size_t>(f.slab.heads());
    const auto nr = static_cast<std::size_t>(r1 - r0);
    const auto d = static_cast<std::size_t>(info.d);
    const std::size_t cb = info.code_bytes;
    // Decoded rows: (hn, nr G, d); copied to out unless the coded tokens are exactly that.
    const std::size_t span = nr * G;  // tokens decoded per head
    const std::size_t first = static_cast<std::size_t>(f.c0 - r0 * info.block_vectors);
    const auto nt = static_cast<std::size_t>(f.c1 - f.c0);
    const bool direct = first == 0 && span == nt;
    if (!direct) f.rows.resize(hn * span * d);
    float* x = direct ? out : f.rows.data();
    // Fixed work items of about 512 vectors (output independent of the thread count).
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, 512 / G);
    core::parallel_chunks(hn * nr, rows_per_chunk,
                          [&](std::size_t, std::size_t a, std::size_t end) {
                              codec.decode(f.codes.data() + a * cb, (end - a) * G, x + a * G * d);
                          });
    if (!direct)
        for (std::size_t h = 0; h < hn; ++h)
            std::memcpy(out + h * nt * d, f.rows.data() + (h * span + first) * d,
                        nt * d * sizeof(float));
    if (!info.center.empty())
        codecs::add_center(out, hn, nt, d,
                           info.center.data() + static_cast<std::size_t>(f.slab.h0) * d);
}

}  // namespace fq::io
