// Calibration vectors for data-trained codebooks (fq-train gsrq, faiss-pq, faiss-rq): the K
// or V vectors of a KV dump (io/kv_dump.hpp), every selected dataset of that kind whose
// layer is in a range, tokens [t0, t1) of every head, in natural path order, checked finite;
// optionally a positive weight per vector from a [heads, tokens] dataset beside each;
// optionally centred per head (the codebooks of codecs used with "center": "head").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fq::io {

struct CalibrationSelection {
    std::string input;                // the KV dump
    std::string tensor = "k";         // "k" | "v"
    std::vector<std::string> select;  // dataset globs (empty: layer_<L>/{q,k,v})
    std::string layers;               // "a:b" layer range ("" = all)
    std::string tokens;               // "a:b" token range of every dataset ("" = all)
    std::string weights;              // name of a [heads, tokens] weight dataset beside each
                                      // selected one, e.g. "w" for layer_3/w ("" = none)
    bool center = false;  // subtract each (dataset, head)'s float16 mean over the tokens read,
                          // as fq-encode does for "center": "head" (codecs/head_center.hpp)
};

struct CalibrationVectors {
    std::vector<float> x;   // (n, d) row-major
    std::vector<double> w;  // (n) weights, empty without `weights`
    int d = 0;
    std::size_t n = 0;
    std::vector<std::string> datasets;  // the dataset paths read, in order
    std::string token_range;            // "t0:t1" as resolved on the last dataset
};

// UsageError on a bad range, mixed d, a weight dataset of the wrong shape; NumericError on
// non-finite vectors or non-positive weights; IoError when nothing is selected.
CalibrationVectors read_calibration_vectors(const CalibrationSelection& s);

}  // namespace fq::io
