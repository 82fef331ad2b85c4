#include "fq/io/calibration.hpp"

#include <algorithm>
#include <cmath>

#include "fq/codecs/head_center.hpp"
#include "fq/core/error.hpp"
#include "fq/io/encoded_file.hpp"
#include "fq/io/kv_dump.hpp"

namespace fq::io {

namespace {

// The weights of tokens [t0, t1) of every head of `info`, from the dataset `name` beside it.
void read_weights(const KvDumpReader& reader, const DatasetInfo& info, const std::string& name,
                  const std::string& input, std::int64_t t0, std::int64_t t1,
                  std::vector<double>& w) {
    const auto slash = info.path.rfind('/');
    const std::string wpath =
        (slash == std::string::npos ? "" : info.path.substr(0, slash + 1)) + name;
    // A [heads, tokens] array read as a single-head "td" dataset: rows = heads.
    const DatasetInfo wi = reader.info(wpath, "td");
    if (wi.tokens != info.heads || wi.d != info.tokens)
        throw UsageError(input + ": " + wpath + " must have shape [heads, tokens] = [" +
                         std::to_string(info.heads) + ", " + std::to_string(info.tokens) + "]");
    const std::vector<float> all = reader.read_all(wi);
    for (int h = 0; h < info.heads; ++h)
        for (std::int64_t tk = t0; tk < t1; ++tk) {
            const double wv = all[static_cast<std::size_t>(h * info.tokens + tk)];
            if (!(wv > 0) || !std::isfinite(wv))
                throw NumericError(input + ": " + wpath +
                                   ": weights must be positive and finite, got " +
                                   std::to_string(wv));
            w.push_back(wv);
        }
}

}  // namespace

CalibrationVectors read_calibration_vectors(const CalibrationSelection& s) {
    require(!s.input.empty(), "no input: give -i/--input");
    require(s.tensor == "k" || s.tensor == "v", "--tensor must be k or v");
    KvDumpLayout layout;
    layout.select = s.select;
    const KvDumpReader reader(s.input, layout);
    const KvKind kind = s.tensor == "k" ? KvKind::k : KvKind::v;
    int max_layer = -1;
    for (const DatasetInfo& info : reader.datasets())
        if (info.kind == kind) max_layer = std::max(max_layer, info.layer);
    std::int64_t l0 = 0, l1 = max_layer + 1;
    if (!s.layers.empty()) {
        require(max_layer >= 0, "--layers: the selected datasets have no layer numbers");
        std::tie(l0, l1) = parse_range(s.layers, max_layer + 1, "--layers");
    }
    CalibrationVectors out;
    for (const DatasetInfo& info : reader.datasets()) {
        if (info.kind != kind || info.tokens == 0) continue;
        if (info.layer >= 0 ? (info.layer < l0 || info.layer >= l1) : !s.layers.empty()) continue;
        if (out.d == 0) out.d = info.d;
        if (info.d != out.d)
            throw UsageError(s.input + ": " + info.path + " has d = " + std::to_string(info.d) +
                             ", the first selected dataset d = " + std::to_string(out.d));
        const auto [t0, t1] = s.tokens.empty()
                                  ? std::pair<std::int64_t, std::int64_t>{0, info.tokens}
                                  : parse_range(s.tokens, info.tokens, "--tokens");
        out.token_range = std::to_string(t0) + ":" + std::to_string(t1);
        const Slab slab{0, info.heads, t0, t1};
        std::vector<float> v = reader.read(info, slab);
        check_finite(v.data(), slab, info.d, s.input, info.path);
        if (s.center) {
            const auto heads = static_cast<std::size_t>(info.heads), n = slab.vectors() / heads,
                       d = static_cast<std::size_t>(info.d);
            codecs::HeadMeans means(heads, d);
            means.add(v.data(), n);
            std::vector<std::uint16_t> c;
            try {
                c = means.float16();
            } catch (const NumericError& e) {
                throw NumericError(s.input + ": " + info.path + ": " + e.what());
            }
            codecs::subtract_center(v.data(), heads, n, d, c.data());
        }
        out.x.insert(out.x.end(), v.begin(), v.end());
        if (!s.weights.empty()) read_weights(reader, info, s.weights, s.input, t0, t1, out.w);
        out.datasets.push_back(info.path);
    }
    if (out.datasets.empty())
        throw IoError(s.input + ": no " + s.tensor +
                      " dataset selected (check --select, --layers)");
    out.n = out.x.size() / static_cast<std::size_t>(out.d);
    return out;
}

}  // namespace fq::io
