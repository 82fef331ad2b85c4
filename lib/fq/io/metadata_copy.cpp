#include "fq/io/metadata_copy.hpp"

#include "fq/io/hdf5_attr.hpp"
#include "fq/io/hdf5_util.hpp"

namespace fq::io {

std::vector<std::string> parent_groups(const std::string& path) {
    std::vector<std::string> out;
    for (std::size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1))
        out.push_back(path.substr(0, i));
    return out;
}

// ---- dump -> container

void DumpToContainer::root() {
    m_dst.copy_attrs(m_src.file_id(), "", "");
}

void DumpToContainer::groups(const std::string& path) {
    const auto src = static_cast<hid_t>(m_src.file_id());
    for (const std::string& g : parent_groups(path)) {
        if (!m_done.insert(g).second) continue;
        if (!h5::list_attrs(h5::open_group(src, g).id()).empty()) m_dst.copy_attrs(src, g, g);
    }
}

void DumpToContainer::encoded(const std::string& path) {
    m_dst.copy_attrs(m_src.file_id(), path, path, /*onto_codes=*/true);
    groups(path);
}

void DumpToContainer::verbatim(const std::string& path) {
    m_dst.copy_dataset(m_src.file_id(), path);
    groups(path);
}

// ---- container -> dump

void ContainerToDump::root() {
    h5::copy_attrs(
        static_cast<hid_t>(m_src.file_id()), static_cast<hid_t>(m_dst.file_id()),
        {"fq_format", "fq_format_version", "fq_version", "fq_index", "fq_header_sha256"});
}

void ContainerToDump::groups(const std::string& path) {
    const auto src = static_cast<hid_t>(m_src.file_id());
    const auto dst = static_cast<hid_t>(m_dst.file_id());
    for (const std::string& g : parent_groups(path)) {
        if (!m_done.insert(g).second) continue;
        h5::Group sg = h5::open_group(src, g);
        if (h5::list_attrs(sg.id()).empty()) continue;
        h5::Group dg = h5::create_group(dst, g);
        h5::copy_attrs(sg.id(), dg.id());
    }
}

void ContainerToDump::decoded(const std::string& path, const std::string& slice) {
    {
        h5::Dataset from = h5::open_dataset(static_cast<hid_t>(m_src.file_id()), path + "/codes");
        h5::Dataset to = h5::open_dataset(static_cast<hid_t>(m_dst.file_id()), path);
        h5::copy_attrs(from.id(), to.id(), {"dtype", "fq_dtype"});
        if (!slice.empty()) h5::write_attr_string(to.id(), "fq_slice", slice);
    }
    groups(path);
}

void ContainerToDump::verbatim(const std::string& path) {
    h5::copy_dataset(static_cast<hid_t>(m_src.file_id()), path, static_cast<hid_t>(m_dst.file_id()),
                     path);
    groups(path);
}

}  // namespace fq::io
