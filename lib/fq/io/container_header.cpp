#include "fq/io/container_header.hpp"

#include <algorithm>
#include <cstring>

#include "fq/core/error.hpp"
#include "fq/core/sha256.hpp"
#include "fq/io/canonical_bytes.hpp"
#include "fq/io/hdf5_util.hpp"

namespace fq::io {

namespace {

using detail::put_string;
using detail::put_u64;
using Object = h5::TypedHandle<H5Oclose>;

constexpr std::size_t k_slab_bytes = std::size_t{64} << 20;

struct Links {
    std::vector<std::pair<std::string, char>> items;  // path, 'h' hard / 's' soft / 'e' external
    bool too_many = false;
};

herr_t collect_link(hid_t /*group*/, const char* name, const H5L_info_t* info, void* data) {
    auto* links = static_cast<Links*>(data);
    if (links->items.size() >= k_max_header_objects) {
        links->too_many = true;
        return 1;  // stop
    }
    const char t = info->type == H5L_TYPE_HARD ? 'h' : info->type == H5L_TYPE_SOFT ? 's' : 'e';
    links->items.emplace_back(name, t);
    return 0;
}

// A datatype as class, size, byte order and sign: enough to tell any two types fq writes
// apart; variable-length ones are flagged.
bool put_type(core::Sha256& h, hid_t type) {
    const bool vlen = h5::contains_vlen(type);
    put_u64(h, static_cast<std::uint64_t>(H5Tget_class(type)));
    put_u64(h, H5Tget_size(type));
    put_u64(h, static_cast<std::uint64_t>(H5Tget_order(type)));
    put_u64(h, vlen ? 1 : 0);
    return vlen;
}

std::vector<hsize_t> put_space(core::Sha256& h, hid_t space, hid_t where) {
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0 || rank > H5S_MAX_RANK) h5::throw_io(where, "invalid dataspace");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0)
        h5::throw_io(where, "cannot read dataspace");
    put_u64(h, static_cast<std::uint64_t>(rank));
    for (hsize_t d : dims) put_u64(h, d);
    return dims;
}

void put_attributes(core::Sha256& h, hid_t obj, const std::string& path, bool root) {
    const std::vector<std::string> names = h5::list_attrs(obj);
    if (names.size() > k_max_header_objects) throw CorruptError(path + ": too many attributes");
    for (const std::string& name : names) {
        if (root && name == k_header_digest_attr) continue;
        h5::Attribute a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), obj,
                        ("cannot open attribute '" + name + "'").c_str());
        h5::Datatype type(H5Aget_type(a.id()), obj, "cannot get attribute type");
        h5::Dataspace space(H5Aget_space(a.id()), obj, "cannot get attribute dataspace");
        put_string(h, name);
        if (put_type(h, type.id()))
            throw CorruptError(path + ": attribute '" + name +
                               "' is variable-length, which no version 2 container holds");
        put_space(h, space.id(), obj);
        const hssize_t n = H5Sget_simple_extent_npoints(space.id());
        const std::size_t size = H5Tget_size(type.id());
        if (n < 0 || size == 0 ||
            static_cast<double>(n) * static_cast<double>(size) >
                static_cast<double>(h5::k_max_attr_string))
            throw CorruptError(path + ": attribute '" + name + "' has an invalid size");
        std::vector<unsigned char> bytes(static_cast<std::size_t>(n) * size);
        if (!bytes.empty() && H5Aread(a.id(), type.id(), bytes.data()) < 0)
            h5::throw_io(obj, "cannot read attribute '" + name + "'");
        h.update(bytes.data(), bytes.size());
    }
}

// A copied dataset's stored bytes, slab by slab along its first axis.
void put_contents(core::Sha256& h, hid_t ds, hid_t type, const std::vector<hsize_t>& dims) {
    const std::size_t size = H5Tget_size(type);
    if (dims.empty()) {
        std::vector<unsigned char> b(size);
        if (H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, b.data()) < 0)
            h5::throw_io(ds, "cannot read");
        h.update(b.data(), b.size());
        return;
    }
    double row = static_cast<double>(size);
    for (std::size_t i = 1; i < dims.size(); ++i) row *= static_cast<double>(dims[i]);
    if (row > static_cast<double>(k_slab_bytes))
        throw CorruptError(h5::describe(ds) + ": rows too large for a copied dataset");
    const auto row_bytes = static_cast<std::size_t>(row);
    if (row_bytes == 0) return;
    if (row * static_cast<double>(dims[0]) > h5::max_plausible_bytes(ds))
        throw CorruptError(h5::describe(ds) +
                           ": a copied dataset declares more data than the "
                           "file can hold");
    const hsize_t step = std::max<hsize_t>(1, k_slab_bytes / row_bytes);
    std::vector<unsigned char> buf;
    for (hsize_t r = 0; r < dims[0]; r += step) {
        const hsize_t n = std::min(step, dims[0] - r);
        std::vector<hsize_t> start(dims.size(), 0), count = dims;
        start[0] = r;
        count[0] = n;
        buf.resize(static_cast<std::size_t>(n) * row_bytes);
        h5::Dataspace fs(H5Dget_space(ds), ds, "cannot get dataspace");
        if (H5Sselect_hyperslab(fs.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                                nullptr) < 0)
            h5::throw_io(ds, "cannot select");
        h5::Dataspace ms(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                         ds, "cannot create dataspace");
        if (H5Dread(ds, type, ms.id(), fs.id(), H5P_DEFAULT, buf.data()) < 0)
            h5::throw_io(ds, "cannot read");
        h.update(buf.data(), buf.size());
    }
}

}  // namespace

std::string container_header_digest(std::int64_t file_id, const std::vector<std::string>& copied) {
    h5::silence_errors();
    const auto file = static_cast<hid_t>(file_id);
    core::Sha256 h;
    h.update(std::string_view("fq-compressed header v2"));
    put_attributes(h, file, "/", /*root=*/true);

    Links links;
    if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, collect_link, &links) < 0)
        h5::throw_io(file, "cannot list objects");
    if (links.too_many) throw CorruptError(h5::describe(file) + ": too many objects");
    std::sort(links.items.begin(), links.items.end());
    for (const auto& [path, type] : links.items) {
        put_string(h, path);
        h.update(&type, 1);
        if (type != 'h') continue;
        Object obj(H5Oopen(file, path.c_str(), H5P_DEFAULT), file,
                   (path + ": cannot open").c_str());
        const H5I_type_t kind = H5Iget_type(obj.id());
        const char k = kind == H5I_DATASET ? 'd' : kind == H5I_GROUP ? 'g' : 't';
        h.update(&k, 1);
        if (kind == H5I_DATASET) {
            h5::Datatype dt(H5Dget_type(obj.id()), obj.id(), "cannot get type");
            const bool vlen = put_type(h, dt.id());
            h5::Dataspace sp(H5Dget_space(obj.id()), obj.id(), "cannot get dataspace");
            const std::vector<hsize_t> dims = put_space(h, sp.id(), obj.id());
            // Variable-length contents (copied as they were) are not covered: docs/FORMAT.md.
            h5::Dataspace kind_sp(H5Dget_space(obj.id()), obj.id(), "cannot get dataspace");
            const bool null_space = H5Sget_simple_extent_type(kind_sp.id()) == H5S_NULL;
            if (!vlen && !null_space &&
                std::find(copied.begin(), copied.end(), path) != copied.end())
                put_contents(h, obj.id(), dt.id(), dims);
        }
        put_attributes(h, obj.id(), path, false);
    }
    return "sha256:" + h.finish_hex();
}

}  // namespace fq::io
