#include "fq/io/slab_pipeline.hpp"

#include <exception>
#include <future>

#include "fq/io/hdf5_util.hpp"
#include "fq/io/mpi_run.hpp"

namespace fq::io {

namespace {

int buffer_of(std::size_t i) {
    return static_cast<int>(i % 2);
}

}  // namespace

bool overlap_io() {
    return !mpi::active();
}

void run_slab_pipeline(std::size_t n, const SlabStages& s, bool overlap) {
    if (!overlap || n <= 1) {
        for (std::size_t i = 0; i < n; ++i) {
            s.read(i, buffer_of(i));
            s.code(i, buffer_of(i));
            s.write(i, buffer_of(i));
        }
        return;
    }
    s.read(0, buffer_of(0));
    for (std::size_t i = 0; i < n; ++i) {
        std::exception_ptr write_error, read_error, code_error;
        std::future<void> io = std::async(std::launch::async, [&] {
            h5::silence_errors();  // per thread: HDF5 keeps one error stack per thread
            if (i > 0) {
                try {
                    s.write(i - 1, buffer_of(i - 1));
                } catch (...) {
                    write_error = std::current_exception();
                    return;
                }
            }
            if (i + 1 < n) {
                try {
                    s.read(i + 1, buffer_of(i + 1));
                } catch (...) {
                    read_error = std::current_exception();
                }
            }
        });
        try {
            s.code(i, buffer_of(i));
        } catch (...) {
            code_error = std::current_exception();
        }
        io.get();  // the task catches everything it runs
        // Serial order: write(i - 1), code(i), write(i), read(i + 1).
        if (write_error) std::rethrow_exception(write_error);
        if (code_error) std::rethrow_exception(code_error);
        if (read_error) {
            s.write(i, buffer_of(i));
            std::rethrow_exception(read_error);
        }
    }
    s.write(n - 1, buffer_of(n - 1));
}

}  // namespace fq::io
