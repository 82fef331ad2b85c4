// The metadata that travels with the vectors between a KV dump and a compressed container
// (docs/FORMAT.md §2): root attributes, the attributes of the groups above each dataset,
// each dataset's own attributes, and the datasets kept verbatim (queries when kept, token
// ids, segment ids, ...). One step object per direction, so the tasks never handle HDF5:
//   DumpToContainer  fq-encode: dump -> container (dataset attributes onto its codes dataset)
//   ContainerToDump  fq-decode: container -> decoded dump (back onto the decoded dataset)
// Group attributes are copied once per group, the first time a dataset below it is handled;
// groups without attributes are not created (HDF5 creates them as datasets are written).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "fq/io/encoded_file.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/kv_dump_writer.hpp"

namespace fq::io {

// The groups above a dataset path: "a/b/c" -> {"a", "a/b"}.
std::vector<std::string> parent_groups(const std::string& path);

class DumpToContainer {
public:
    DumpToContainer(const KvDumpReader& src, EncodedFileWriter& dst) : m_src(src), m_dst(dst) {}
    void root();                             // the dump's root attributes
    void encoded(const std::string& path);   // its attributes onto path/codes + groups
    void verbatim(const std::string& path);  // the dataset copied as it is + groups

private:
    void groups(const std::string& path);
    const KvDumpReader& m_src;
    EncodedFileWriter& m_dst;
    std::set<std::string> m_done;
};

class ContainerToDump {
public:
    ContainerToDump(const EncodedFileReader& src, KvDumpWriter& dst) : m_src(src), m_dst(dst) {}
    void root();  // the container's root attributes but its own (fq_format, fq_index, ...)
    // The attributes of path/codes (but dtype, fq_dtype) onto the decoded dataset path, which
    // must exist; `slice`: non-empty -> attribute fq_slice (what part was decoded). + groups.
    void decoded(const std::string& path, const std::string& slice);
    void verbatim(const std::string& path);  // the dataset copied as it is + groups

private:
    void groups(const std::string& path);
    const EncodedFileReader& m_src;
    KvDumpWriter& m_dst;
    std::set<std::string> m_done;
};

}  // namespace fq::io
