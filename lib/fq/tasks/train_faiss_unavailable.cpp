// run_train_faiss in builds without FAISS (lib/CMakeLists.txt picks this file or
// train_faiss.cpp).
#include "fq/core/error.hpp"
#include "fq/tasks/train_faiss.hpp"

namespace fq::tasks {

void run_train_faiss(const TrainFaissOptions& o) {
    throw UsageError("fq-train " + o.family + ": this build has no FAISS (FQ_WITH_FAISS)");
}

}  // namespace fq::tasks
