#include "fq/core/error.hpp"

namespace fq {

void require(bool cond, const std::string& message) {
    if (!cond) throw UsageError(message);
}

}  // namespace fq
