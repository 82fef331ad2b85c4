#include "fq/io/mpi_run.hpp"

#include <algorithm>
#include <utility>

#include "fq/core/error.hpp"

#ifdef FQ_MPI
#include <hdf5.h>
#include <malloc.h>
#include <mpi.h>
#endif

namespace fq::io::mpi {

namespace {
bool g_active = false;
int g_rank = 0, g_size = 1;

#ifdef FQ_MPI
// (exit code, message) of a caught exception.
std::pair<int, std::string> describe(std::exception_ptr p) {
    try {
        std::rethrow_exception(p);
    } catch (const Error& e) {
        return {static_cast<int>(e.code()), e.what()};
    } catch (const std::exception& e) {
        return {static_cast<int>(ExitCode::io), std::string("unexpected failure: ") + e.what()};
    } catch (...) {
        return {static_cast<int>(ExitCode::io), "unexpected failure (unknown exception)"};
    }
}
#endif
}  // namespace

bool built_with_mpi() {
#ifdef FQ_MPI
    return true;
#else
    return false;
#endif
}
bool active() {
    return g_active;
}
int rank() {
    return g_rank;
}
int size() {
    return g_size;
}

#ifdef FQ_MPI

Session::Session(int& argc, char**& argv) {
    // HDF5 serialises metadata into buffers it does not clear: the unused bytes of an object
    // header's allocation reach the file as whatever the heap held (here other buffers'
    // floats, different from run to run once several ranks exchange messages). Memory from
    // malloc zero-filled and HDF5's free lists off make those bytes the
    // same in every run, so that the output is the same bytes for any rank count.
    mallopt(M_PERTURB, 0xff);  // new blocks filled with 0xff ^ 0xff = 0
    H5set_free_list_limits(0, 0, 0, 0, 0, 0);
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_active = true;
}
Session::~Session() {
    g_active = false;
    MPI_Finalize();
}

void barrier() {
    if (g_active) MPI_Barrier(MPI_COMM_WORLD);
}

void agree(std::exception_ptr failure) {
    if (!g_active) {
        if (failure) std::rethrow_exception(failure);
        return;
    }
    // The lowest failing rank (size() if none), then its code and message.
    int mine = failure ? g_rank : g_size, lowest = g_size;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (lowest == g_size) return;
    std::pair<int, std::string> what{0, ""};
    if (g_rank == lowest) what = describe(failure);
    int code = what.first, len = static_cast<int>(what.second.size());
    MPI_Bcast(&code, 1, MPI_INT, lowest, MPI_COMM_WORLD);
    MPI_Bcast(&len, 1, MPI_INT, lowest, MPI_COMM_WORLD);
    std::string msg(static_cast<std::size_t>(len), '\0');
    if (g_rank == lowest) msg = what.second;
    MPI_Bcast(msg.data(), len, MPI_CHAR, lowest, MPI_COMM_WORLD);
    throw Error(static_cast<ExitCode>(code), msg);
}

std::string broadcast(const std::string& s) {
    if (!g_active) return s;
    int len = static_cast<int>(s.size());
    MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::string out = g_rank == 0 ? s : std::string(static_cast<std::size_t>(len), '\0');
    MPI_Bcast(out.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
    return out;
}

void or_bytes(std::vector<std::uint8_t>& bytes) {
    if (!g_active || bytes.empty()) return;
    // In slices of at most 2^30 bytes (MPI counts are int).
    const std::size_t step = std::size_t{1} << 30;
    for (std::size_t a = 0; a < bytes.size(); a += step) {
        const int n = static_cast<int>(std::min(step, bytes.size() - a));
        MPI_Allreduce(MPI_IN_PLACE, bytes.data() + a, n, MPI_UNSIGNED_CHAR, MPI_BOR,
                      MPI_COMM_WORLD);
    }
}

std::uint64_t sum(std::uint64_t v) {
    if (!g_active) return v;
    unsigned long long in = v, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return out;
}

double max(double v) {
    if (!g_active) return v;
    double out = v;
    MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes) {
    if (!g_active) return {bytes};
    int len = static_cast<int>(bytes.size());
    std::vector<int> lens(static_cast<std::size_t>(g_size));
    MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> offsets(static_cast<std::size_t>(g_size), 0);
    int total = 0;
    for (int r = 0; r < g_size; ++r) {
        offsets[static_cast<std::size_t>(r)] = total;
        total += lens[static_cast<std::size_t>(r)];
    }
    std::vector<std::uint8_t> all(g_rank == 0 ? static_cast<std::size_t>(total) : 0);
    MPI_Gatherv(bytes.data(), len, MPI_UNSIGNED_CHAR, all.data(), lens.data(), offsets.data(),
                MPI_UNSIGNED_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::vector<std::uint8_t>> out;
    if (g_rank != 0) return out;
    for (int r = 0; r < g_size; ++r) {
        const auto a = all.begin() + offsets[static_cast<std::size_t>(r)];
        out.emplace_back(a, a + lens[static_cast<std::size_t>(r)]);
    }
    return out;
}

bool use_mpio(std::int64_t fapl) {
    if (!g_active) return false;
    const auto id = static_cast<hid_t>(fapl);
    // No data sieving on writes: ROMIO would read, patch and write back whole extents around
    // a rank's non-contiguous slabs, bytes between them included (unused file space then
    // holds whatever another rank's region held at that moment: different bytes per run).
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "romio_ds_write", "disable");
    const herr_t set = H5Pset_fapl_mpio(id, MPI_COMM_WORLD, info);
    MPI_Info_free(&info);
    if (set < 0) throw IoError("cannot set MPI-IO on the file access property list");
    // Metadata written by the root alone (HDF5's default spreads it over the ranks, whose
    // serialised images then differ in their unused bytes): the same bytes for any rank count.
    H5AC_cache_config_t cfg;
    cfg.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (H5Pget_mdc_config(id, &cfg) < 0) throw IoError("cannot read the metadata cache config");
    cfg.metadata_write_strategy = H5AC_METADATA_WRITE_STRATEGY__PROCESS_0_ONLY;
    if (H5Pset_mdc_config(id, &cfg) < 0) throw IoError("cannot set the metadata write strategy");
    return true;
}

#else  // one rank

Session::Session(int&, char**&) {}
Session::~Session() = default;
void barrier() {}
void agree(std::exception_ptr failure) {
    if (failure) std::rethrow_exception(failure);
}
std::string broadcast(const std::string& s) {
    return s;
}
void or_bytes(std::vector<std::uint8_t>&) {}
std::uint64_t sum(std::uint64_t v) {
    return v;
}
double max(double v) {
    return v;
}
std::vector<std::vector<std::uint8_t>> gather(const std::vector<std::uint8_t>& bytes) {
    return {bytes};
}
bool use_mpio(std::int64_t) {
    return false;
}

#endif

}  // namespace fq::io::mpi
