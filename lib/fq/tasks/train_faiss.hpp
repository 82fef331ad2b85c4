// fq-train faiss-pq | faiss-rq: a FAISS product / residual quantizer (M sub-quantizers or
// stages of nbits bits, codecs/faiss_codecs.hpp) trained on calibration vectors
// (io/calibration.hpp), saved as a FAISS codebook file (io/faiss_file.hpp), with a summary.
// Built from train_faiss.cpp with FAISS, from train_faiss_unavailable.cpp without it
// (UsageError); fq-train offers the subcommands only when the build has the families.
#pragma once

#include <string>

#include "fq/io/calibration.hpp"
#include "fq/tasks/train_run.hpp"

namespace fq::tasks {

struct TrainFaissOptions {
    std::string family = "faiss-pq";  // "faiss-pq" | "faiss-rq"
    io::CalibrationSelection data;    // input, tensor, select, tokens
    int M = 16;                       // sub-quantizers / stages
    int nbits = 8;                    // bits per sub-quantizer / stage
    TrainRun run;
};

void run_train_faiss(const TrainFaissOptions& opts);

}  // namespace fq::tasks
