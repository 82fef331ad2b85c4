// The MPI run (issue 15, docs/MPI.md): fq-encode, fq-decode and fq-eval built with
// -DFQ_MPI=ON and started by mpirun / srun split their work across ranks and write one shared
// file through parallel HDF5 (MPI-IO). In every other build, and in a process that did not
// start a Session, there is one rank: rank() 0, size() 1, and every collective below is the
// identity, so callers are written once for both.
//
// Rules the callers follow (docs/MPI.md "How the work is split"):
//   - every rank runs the same sequence of HDF5 metadata operations (file, group, dataset and
//     attribute creation, attribute writes, closes) with the same arguments: they are
//     collective in parallel HDF5;
//   - raw data shared by all ranks (windows, centres, checksum tables, embedded codebooks,
//     copied datasets) is written by the root only (root_writes()); each rank writes the code
//     or vector slabs it computed, independently;
//   - a phase in which ranks may fail on their own ends with agree(), after which either all
//     ranks go on or all throw the same error (the lowest failing rank's), so the run exits
//     with the documented code on every rank and the temporary output is removed.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

namespace fq::io::mpi {

// Whether this build has MPI (FQ_MPI).
bool built_with_mpi();
// Whether a Session is running (MPI initialised by this process).
bool active();
int rank();
int size();
inline bool is_root() {
    return rank() == 0;
}
// Whether this rank writes shared raw data (the root).
inline bool root_writes() {
    return rank() == 0;
}

// MPI_Init / MPI_Finalize around an app's main (no-op without FQ_MPI).
class Session {
public:
    Session(int& argc, char**& argv);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
};

// Whether work item i (0-based, in a fixed global order) is this rank's: i mod size() = rank().
inline bool owns(std::int64_t i) {
    return i % size() == rank();
}

void barrier();
// Ends a phase in which ranks may fail independently: `failure` is what this rank caught
// (null: nothing). If any rank failed, every rank throws fq::Error with the exit code and
// message of the lowest failing rank (a non-fq exception counts as exit 2).
void agree(std::exception_ptr failure);
// Runs f on the root only, then agree(): the root's failure reaches every rank.
template <class F>
void root_only(F&& f) {
    std::exception_ptr failure;
    if (is_root()) {
        try {
            f();
        } catch (...) {
            failure = std::current_exception();
        }
    }
    agree(failure);
}
// s as the root holds it, on every rank.
std::string broadcast(const std::string& s);
// Element-wise bitwise OR across ranks, in place (tables whose entries each rank fills alone).
void or_bytes(std::vector<std::uint8_t>& bytes);
// Sums across ranks.
std::uint64_t sum(std::uint64_t v);
// Gathers every rank's bytes on the root, in rank order (empty on the other ranks).
std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes);
// Max across ranks.
double max(double v);

// For io/hdf5_util: sets MPI-IO (the world communicator) on a file-access property list
// (an hid_t) when a Session runs; false (nothing set) otherwise.
bool use_mpio(std::int64_t fapl);

}  // namespace fq::io::mpi
