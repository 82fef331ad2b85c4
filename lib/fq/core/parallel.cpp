#include "fq/core/parallel.hpp"

#include <omp.h>

namespace fq::core {

void set_threads(int n) {
    if (n > 0) omp_set_num_threads(n);
}

int max_threads() {
    return omp_get_max_threads();
}

}  // namespace fq::core
