// Slabs through read -> code -> write with the I/O overlapping the compute (issue 14).
//
// fq-encode and fq-decode process a dataset slab by slab: read a slab (HDF5, conversion,
// finiteness and checksum checks), code it (the codec, on the calling thread and its
// OpenMP team), write the result (checksums, HDF5). Run one after another, the I/O is time
// the codec waits for. run_slab_pipeline overlaps them: while slab i is coded on the calling
// thread, one I/O thread writes slab i - 1 and then reads slab i + 1. The caller keeps two
// sets of buffers and each stage is told which one (`buffer` = i mod 2): code(i) uses set
// i mod 2, the I/O thread's write(i - 1) and read(i + 1) use the other one.
//
// Rules that keep this correct:
//   - HDF5 is called from one thread at a time: during the loop only the I/O thread calls
//     it (read and write stages), and the calling thread waits for it at every step;
//   - errors surface as a serial loop would meet them (read 0, code 0, write 0, read 1, ...):
//     when the read of slab i + 1 fails, slab i is still written first, so the message and
//     exit code do not depend on the overlap;
//   - the output is the same bytes either way (the stages do the same work in the same
//     order per slab; only when they run changes).
// With overlap off (an MPI run: MPI and parallel HDF5 are called from the main thread only)
// the stages run serially on the calling thread.
#pragma once

#include <cstddef>
#include <functional>

namespace fq::io {

struct SlabStages {
    std::function<void(std::size_t slab, int buffer)> read;   // I/O: fill buffer set
    std::function<void(std::size_t slab, int buffer)> code;   // compute: no HDF5 call
    std::function<void(std::size_t slab, int buffer)> write;  // I/O: drain buffer set
};

// Runs slabs 0..n-1 through the stages (see above); rethrows the first error in serial order.
void run_slab_pipeline(std::size_t n, const SlabStages& stages, bool overlap);

// Whether this process may overlap I/O with compute: not under an MPI run.
bool overlap_io();

}  // namespace fq::io
