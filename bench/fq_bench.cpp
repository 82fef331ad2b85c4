// fq-bench: encode / decode throughput of fq's BlockVqCodec (scalar and fib codebooks)
// against FAISS's ProductQuantizer::compute_codes with the identical shared codebook, in
// one process, interleaved, best of --repeats (bench/README.md).
//
// Per dataset (synthetic d = 128; the real sample's keys and values, d = 64) and codebook:
//   ours encode   BlockVqCodec::encode (norm, rotation, search, header + packing),
//                 parallel over vectors with core::parallel_chunks in fixed chunks;
//   ours search   NearestCodeword::assign on the rotated unit vectors z (search only);
//   FAISS encode  pq.compute_codes(z) with FAISS's OpenMP threads, default centroid layout
//                 and with transposed centroids; the faster one is the baseline;
//   ours decode   BlockVqCodec::decode; FAISS decode (pq.decode, no rotation) for reference.
// Timing: the vectors are cut into slices (--slice); every repeat runs every operation on
// every slice, ours and FAISS alternately; an operation's time is the sum over slices of
// the slice's best time over the repeats. Ratios are ours / FAISS throughput from the same
// loop, so a shared machine's interference largely cancels. The indices FAISS chooses are
// compared with ours (fraction identical; float ties may differ).
// A single-thread stage breakdown (norm, rotation, search, packing; unpack, inverse
// rotation, scaling) replicates BlockVqCodec's steps with the same public pieces.
#include <omp.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "faiss_pq.hpp"
#include "fq/codecs/bitpack.hpp"
#include "fq/codecs/block_vq.hpp"
#include "fq/codecs/nearest.hpp"
#include "fq/codecs/norm_header.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/core/parallel.hpp"
#include "fq/core/rng.hpp"
#include "fq/io/codebook_file.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/tasks/run_main.hpp"
#include "roofline.hpp"

namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
    std::size_t vectors = 1000000;                // synthetic d = 128 vectors (0 = none)
    std::size_t sample_vectors = 262144;          // real sample vectors (tiled) per timing
    int repeats = 3;                              // best of this many interleaved repeats
    std::vector<int> threads = {1, 2};            // thread counts to measure
    std::size_t chunk = 1024;                     // vectors per parallel chunk
    std::size_t slice = 65536;                    // vectors per timing unit
    std::uint64_t seed = 1;                       // synthetic data seed
    std::string codebooks = "codebooks";          // directory holding d128/ and d64/
    std::vector<std::string> codebook_overrides;  // NAME@D=PATH stand-ins
    std::vector<std::string> configs = {"scalar-b2", "fib-k4-N256", "fib-k8-N256", "fib-k16-N256",
                                        "fib-k2-N16"};
    std::string sample = "data/sample_kv_d64.h5";  // real dump ("" = skip)
    std::string out;                               // JSON results ("" = none)
    bool quick = false;                            // small smoke run
    bool no_faiss = false;                         // skip the FAISS rows
    bool breakdown = true;                         // single-thread stage timings
};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class F>
double time_once(F&& f) {
    const auto t0 = Clock::now();
    f();
    return seconds_since(t0);
}

long peak_rss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

void set_all_threads(int t) {
    fq::core::set_threads(t);
    omp_set_num_threads(t);
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto p = line.find(':');
            return p == std::string::npos ? line : line.substr(p + 2);
        }
    return "unknown";
}

// ---- data ---------------------------------------------------------------------------------

// (n, d) Gaussian vectors, a few channels scaled up (the outlier channels of real keys).
std::vector<float> synthetic(std::size_t n, int d, std::uint64_t seed) {
    std::vector<float> x(n * static_cast<std::size_t>(d));
    std::vector<float> scale(static_cast<std::size_t>(d), 1.0f);
    for (int j : {5, 37, 66, 101})
        if (j < d) scale[static_cast<std::size_t>(j)] = 8.0f;
    fq::core::parallel_chunks(n, 8192, [&](std::size_t c, std::size_t b, std::size_t e) {
        fq::core::Rng rng(seed, c);
        for (std::size_t i = b; i < e; ++i)
            for (int j = 0; j < d; ++j)
                x[i * d + j] =
                    static_cast<float>(rng.normal()) * scale[static_cast<std::size_t>(j)];
    });
    return x;
}

// Every key and value vector of a dump, concatenated, tiled to `target` vectors.
std::vector<float> sample_vectors(const std::string& path, std::size_t target, int& d,
                                  std::size_t& distinct) {
    fq::io::KvDumpReader reader(path);
    std::vector<float> all;
    d = 0;
    for (const auto& info : reader.datasets()) {
        if (info.kind != fq::io::KvKind::k && info.kind != fq::io::KvKind::v) continue;
        if (d == 0) d = info.d;
        if (info.d != d) continue;
        const std::vector<float> v = reader.read_all(info);
        all.insert(all.end(), v.begin(), v.end());
    }
    if (d == 0 || all.empty()) throw fq::IoError(path + ": no key or value datasets");
    distinct = all.size() / static_cast<std::size_t>(d);
    const std::size_t n = std::max(target, distinct);
    std::vector<float> x(n * static_cast<std::size_t>(d));
    for (std::size_t i = 0; i < n; ++i)
        std::memcpy(&x[i * d], &all[(i % distinct) * d],
                    sizeof(float) * static_cast<std::size_t>(d));
    return x;
}

// z = Pi (x / ||x||) exactly as BlockVqCodec::encode computes it (norm in double).
void rotated_units(const fq::codecs::BlockVqCodec& codec, const float* x, std::size_t n, float* z,
                   std::size_t chunk) {
    const int d = codec.dim();
    fq::core::parallel_chunks(n, chunk, [&](std::size_t, std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            const float* xi = x + i * d;
            double s = 0;
            for (int j = 0; j < d; ++j) s += static_cast<double>(xi[j]) * xi[j];
            const double nu = std::sqrt(s);
            const double inv = nu > 0 ? 1.0 / nu : 0.0;
            for (int j = 0; j < d; ++j) z[i * d + j] = static_cast<float>(xi[j] * inv);
        }
        codec.rotation().forward(z + b * d, e - b, z + b * d);
    });
}

// ---- one configuration ----------------------------------------------------------------------

struct Best {
    double ours_encode = std::numeric_limits<double>::infinity();
    double ours_search = std::numeric_limits<double>::infinity();
    double faiss_encode = std::numeric_limits<double>::infinity();
    double faiss_encode_t = std::numeric_limits<double>::infinity();
    double ours_decode = std::numeric_limits<double>::infinity();
    double faiss_decode = std::numeric_limits<double>::infinity();
    double faiss_rotate = std::numeric_limits<double>::infinity();  // on rot_n vectors
};

double rate(std::size_t n, double s) {
    return std::isfinite(s) && s > 0 ? n / s : 0.0;
}

struct Context {
    const BenchOptions& opt;
    Json rows = Json::array();
    Json breakdowns = Json::array();
    Json agreement = Json::array();
    long rss_before_faiss_kb = -1;
    bool faiss_used = false;
    std::map<int, fq::bench::Peaks> peaks;  // per thread count, measured before the runs
};

// Stage times of one single-threaded encode and decode of the first m vectors, following
// BlockVqCodec's steps in 256-vector batches with the same public components.
Json stage_breakdown(const fq::codecs::BlockVqCodec& codec,
                     const fq::codecs::NearestCodeword& search, const float* x, std::size_t m,
                     int repeats) {
    const int d = codec.dim(), k = codec.spec().main.k, blocks = codec.blocks();
    const std::size_t bytes = codec.code_bytes();
    const fq::codecs::IndexPacker packer(static_cast<std::uint32_t>(codec.spec().main.N),
                                         static_cast<std::size_t>(blocks));
    constexpr std::size_t batch = 256;
    std::vector<float> z(batch * d),
        cw(codec.spec().main.codewords.begin(), codec.spec().main.codewords.end());
    std::vector<double> nu(batch);
    std::vector<std::uint32_t> idx(batch * blocks);
    std::vector<std::uint8_t> codes(m * bytes);
    std::vector<float> out(batch * d);
    double t_norm = 1e30, t_rot = 1e30, t_search = 1e30, t_pack = 1e30;
    double t_unpack = 1e30, t_irot = 1e30, t_scale = 1e30;
    for (int r = 0; r < repeats; ++r) {
        double a = 0, b = 0, c = 0, e = 0, f = 0, g = 0, h = 0;
        for (std::size_t i0 = 0; i0 < m; i0 += batch) {
            const std::size_t n = std::min(batch, m - i0);
            const float* xb = x + i0 * d;
            a += time_once([&] { fq::codecs::unit_directions(xb, n, d, nu.data(), z.data()); });
            b += time_once([&] { codec.rotation().forward(z.data(), n, z.data()); });
            c += time_once([&] { search.assign(z.data(), n * blocks, idx.data()); });
            e += time_once([&] {
                for (std::size_t i = 0; i < n; ++i) {
                    std::uint8_t* code = codes.data() + (i0 + i) * bytes;
                    std::memset(code, 0, bytes);
                    const std::uint16_t hh = fq::core::float_to_half(static_cast<float>(nu[i]));
                    code[0] = static_cast<std::uint8_t>(hh & 0xFF);
                    code[1] = static_cast<std::uint8_t>(hh >> 8);
                    packer.pack(&idx[i * blocks], code, 16);
                }
            });
            // Decode stages on the same batch.
            std::vector<float> gain(n);
            f += time_once([&] {
                for (std::size_t i = 0; i < n; ++i) {
                    const std::uint8_t* code = codes.data() + (i0 + i) * bytes;
                    gain[i] = fq::core::half_to_float(
                        static_cast<std::uint16_t>(code[0] | (code[1] << 8)));
                    packer.unpack(code, 16, &idx[i * blocks]);
                    for (int bb = 0; bb < blocks; ++bb)
                        std::memcpy(&out[i * d + bb * k],
                                    &cw[static_cast<std::size_t>(idx[i * blocks + bb]) * k],
                                    sizeof(float) * static_cast<std::size_t>(k));
                }
            });
            g += time_once([&] { codec.rotation().inverse(out.data(), n, out.data()); });
            h += time_once([&] {
                for (std::size_t i = 0; i < n; ++i)
                    for (int j = 0; j < d; ++j) out[i * d + j] *= gain[i];
            });
        }
        t_norm = std::min(t_norm, a);
        t_rot = std::min(t_rot, b);
        t_search = std::min(t_search, c);
        t_pack = std::min(t_pack, e);
        t_unpack = std::min(t_unpack, f);
        t_irot = std::min(t_irot, g);
        t_scale = std::min(t_scale, h);
    }
    auto us = [&](double s) { return s / static_cast<double>(m) * 1e6; };
    return Json{{"vectors", m},
                {"encode_us_per_vector",
                 {{"norm", us(t_norm)},
                  {"rotation", us(t_rot)},
                  {"search", us(t_search)},
                  {"pack", us(t_pack)},
                  {"total", us(t_norm + t_rot + t_search + t_pack)}}},
                {"decode_us_per_vector",
                 {{"unpack_gather", us(t_unpack)},
                  {"inverse_rotation", us(t_irot)},
                  {"scale", us(t_scale)},
                  {"total", us(t_unpack + t_irot + t_scale)}}}};
}

void bench_config(Context& ctx, const std::string& dataset, const std::string& name,
                  const fq::io::UniversalCodebook& cb, const std::vector<float>& x, std::size_t n) {
    const BenchOptions& opt = ctx.opt;
    const fq::codecs::BlockVqCodec codec(cb.family, cb.spec);
    const int d = codec.dim(), k = cb.spec.main.k, N = cb.spec.main.N, blocks = codec.blocks();
    const bool divides = d % k == 0;
    const std::size_t bytes = codec.code_bytes();
    const fq::codecs::NearestCodeword search(cb.spec.main);

    std::vector<float> z(n * static_cast<std::size_t>(d));
    set_all_threads(static_cast<int>(opt.threads.back()));
    rotated_units(codec, x.data(), n, z.data(), opt.chunk);

    std::vector<std::uint8_t> codes(n * bytes);
    std::vector<std::uint32_t> idx(divides ? n * static_cast<std::size_t>(blocks) : 0);
    std::vector<float> xhat(n * static_cast<std::size_t>(d));

    const bool pow2 = N >= 2 && (N & (N - 1)) == 0;
    const bool with_faiss = !opt.no_faiss && fq::bench::faiss_available() && divides && pow2;
    std::vector<float> cwf(cb.spec.main.codewords.begin(), cb.spec.main.codewords.end());
    std::unique_ptr<fq::bench::FaissPq> pq, pqt;
    std::unique_ptr<fq::bench::FaissRotation> frot;
    std::vector<std::uint8_t> fcodes;
    std::vector<float> fhat;
    // FAISS's normalise + rotate is timed on the first rot_n vectors (it adds to its encode
    // time per vector; timing it on all n would double the run time).
    const std::size_t rot_n = std::min<std::size_t>(n, opt.slice);
    std::vector<float> fscratch, fz;
    if (with_faiss) {
        const std::vector<double> pi = codec.rotation().matrix();
        frot = std::make_unique<fq::bench::FaissRotation>(d, pi.data());
        fscratch.resize(rot_n * static_cast<std::size_t>(d));
        fz.resize(rot_n * static_cast<std::size_t>(d));
        pq = std::make_unique<fq::bench::FaissPq>(d, k, N, cwf.data(), false);
        pqt = std::make_unique<fq::bench::FaissPq>(d, k, N, cwf.data(), true);
        fcodes.resize(n * pq->code_bytes());
        fhat.resize(n * static_cast<std::size_t>(d));
    }

    // Each operation on vectors [b, e): the timing unit is a slice (see the repeat loop).
    auto ours_encode = [&](std::size_t b0, std::size_t e0) {
        fq::core::parallel_chunks(
            e0 - b0, opt.chunk, [&](std::size_t, std::size_t b, std::size_t e) {
                codec.encode(x.data() + (b0 + b) * d, e - b, codes.data() + (b0 + b) * bytes);
            });
    };
    auto ours_search = [&](std::size_t b0, std::size_t e0) {
        fq::core::parallel_chunks(e0 - b0, opt.chunk,
                                  [&](std::size_t, std::size_t b, std::size_t e) {
                                      search.assign(z.data() + (b0 + b) * d, (e - b) * blocks,
                                                    idx.data() + (b0 + b) * blocks);
                                  });
    };
    auto ours_decode = [&](std::size_t b0, std::size_t e0) {
        fq::core::parallel_chunks(
            e0 - b0, opt.chunk, [&](std::size_t, std::size_t b, std::size_t e) {
                codec.decode(codes.data() + (b0 + b) * bytes, e - b, xhat.data() + (b0 + b) * d);
            });
    };
    auto faiss_encode = [&](const fq::bench::FaissPq& p, std::size_t b, std::size_t e) {
        p.encode(z.data() + b * d, e - b, fcodes.data() + b * p.code_bytes());
    };
    auto faiss_decode = [&](std::size_t b, std::size_t e) {
        pq->decode(fcodes.data() + b * pq->code_bytes(), e - b, fhat.data() + b * d);
    };

    // Warm-up (page faults of the output buffers, lazy FAISS tables) outside the timings.
    set_all_threads(opt.threads.front());
    ours_encode(0, n);
    if (divides) ours_search(0, n);
    ours_decode(0, n);
    if (ctx.rss_before_faiss_kb < 0 || !ctx.faiss_used) ctx.rss_before_faiss_kb = peak_rss_kb();
    if (with_faiss) {
        pq->encode(z.data(), n, fcodes.data());
        pq->decode(fcodes.data(), n, fhat.data());
        ctx.faiss_used = true;
    }

    // Cross-checks: our packed codes vs our search on z (same z: must be identical), and
    // FAISS's indices vs ours (float ties aside).
    Json check{{"dataset", dataset}, {"config", name}};
    if (divides) {
        const fq::codecs::IndexPacker packer(static_cast<std::uint32_t>(N),
                                             static_cast<std::size_t>(blocks));
        std::vector<std::uint32_t> tmp(static_cast<std::size_t>(blocks));
        std::size_t same = 0, same_faiss = 0, same_faiss_t = 0;
        std::vector<std::uint8_t> tcodes(with_faiss ? n * pqt->code_bytes() : 0);
        if (with_faiss) pqt->encode(z.data(), n, tcodes.data());
        for (std::size_t i = 0; i < n; ++i) {
            packer.unpack(codes.data() + i * bytes, codec.header_bits(), tmp.data());
            for (int b = 0; b < blocks; ++b) {
                const std::uint32_t ours = idx[i * blocks + b];
                same += tmp[static_cast<std::size_t>(b)] == ours;
                if (with_faiss) {
                    same_faiss += pq->index(fcodes.data() + i * pq->code_bytes(), b) == ours;
                    same_faiss_t += pqt->index(tcodes.data() + i * pqt->code_bytes(), b) == ours;
                }
            }
        }
        const double total = static_cast<double>(n) * blocks;
        check["encode_vs_search_identical"] = same / total;
        if (with_faiss) {
            frot->apply(x.data(), rot_n, fscratch.data(), fz.data());
            double diff = 0;
            for (std::size_t i = 0; i < rot_n * static_cast<std::size_t>(d); ++i)
                diff = std::max(diff, static_cast<double>(std::fabs(fz[i] - z[i])));
            check["faiss_rotation_max_abs_diff"] = diff;
        }
        if (with_faiss) {
            check["faiss_vs_ours_identical"] = same_faiss / total;
            check["faiss_transposed_vs_ours_identical"] = same_faiss_t / total;
            check["faiss_vs_ours_differing"] = static_cast<std::size_t>(total) - same_faiss;
            check["faiss_transposed_vs_ours_differing"] =
                static_cast<std::size_t>(total) - same_faiss_t;
        }
        check["block_indices"] = static_cast<std::size_t>(total);
    }
    ctx.agreement.push_back(check);

    for (int t : opt.threads) {
        // Timing unit: a slice of opt.slice vectors. Every repeat runs every operation on
        // every slice, ours and FAISS alternately; a slice's time is its best over the
        // repeats, an operation's time the sum over slices. Short interleaved units with a
        // per-unit minimum filter out most of the interference of other jobs on a shared
        // machine. FAISS's normalise + rotate runs on the first slice only (rot_n vectors).
        set_all_threads(t);
        const std::size_t nslices = fq::core::chunk_count(n, opt.slice);
        constexpr int k_ops = 7;
        std::vector<double> slice_best(nslices * k_ops, std::numeric_limits<double>::infinity());
        for (int r = 0; r < opt.repeats; ++r) {
            for (std::size_t sl = 0; sl < nslices; ++sl) {
                const std::size_t b = sl * opt.slice, e = std::min(n, b + opt.slice);
                double* sb = &slice_best[sl * k_ops];
                auto keep = [](double& slot, double v) { slot = std::min(slot, v); };
                keep(sb[0], time_once([&] { ours_encode(b, e); }));
                if (with_faiss) keep(sb[1], time_once([&] { faiss_encode(*pq, b, e); }));
                if (divides) keep(sb[2], time_once([&] { ours_search(b, e); }));
                if (with_faiss) keep(sb[3], time_once([&] { faiss_encode(*pqt, b, e); }));
                keep(sb[4], time_once([&] { ours_decode(b, e); }));
                if (with_faiss) keep(sb[5], time_once([&] { faiss_decode(b, e); }));
                if (with_faiss && sl == 0)
                    keep(sb[6], time_once([&] {
                             frot->apply(x.data(), rot_n, fscratch.data(), fz.data());
                         }));
            }
        }
        auto total = [&](int op) {
            double sum = 0;
            for (std::size_t sl = 0; sl < nslices; ++sl) sum += slice_best[sl * k_ops + op];
            return sum;
        };
        Best best;
        best.ours_encode = total(0);
        best.faiss_encode = total(1);
        best.ours_search = total(2);
        best.faiss_encode_t = total(3);
        best.ours_decode = total(4);
        best.faiss_decode = total(5);
        best.faiss_rotate = slice_best[6];
        const double enc = rate(n, best.ours_encode), srch = rate(n, best.ours_search);
        const double fenc = rate(n, best.faiss_encode), fenct = rate(n, best.faiss_encode_t);
        const double fbest = std::max(fenc, fenct);
        const double dec = rate(n, best.ours_decode);
        const double dd = static_cast<double>(d);
        Json row{{"dataset", dataset},
                 {"config", name},
                 {"family", cb.family},
                 {"d", d},
                 {"k", k},
                 {"N", N},
                 {"code_bytes", bytes},
                 {"bits_per_coordinate", codec.rate()},
                 {"threads", t},
                 {"vectors", n},
                 {"repeats", opt.repeats},
                 {"ours_encode_vps", enc},
                 {"ours_encode_in_mbps_f16", enc * dd * 2 / 1e6},
                 {"ours_encode_in_mbps_f32", enc * dd * 4 / 1e6},
                 {"ours_encode_out_mbps", enc * static_cast<double>(bytes) / 1e6},
                 {"ours_search_vps", srch},
                 {"ours_decode_vps", dec},
                 {"ours_decode_out_mbps_f32", dec * dd * 4 / 1e6},
                 {"ours_decode_out_mbps_f16", dec * dd * 2 / 1e6},
                 {"ours_decode_in_mbps", dec * static_cast<double>(bytes) / 1e6}};
        {  // roofline: nominal flops and bytes per vector, achieved GFLOP/s, % of peak
            const double ef = fq::bench::block_vq_encode_flops(d, k, N, blocks);
            const double df = fq::bench::block_vq_decode_flops(d);
            const double peak = ctx.peaks.at(t).mul_add_gflops;
            row["encode_flops_per_vector"] = ef;
            row["encode_bytes_per_vector"] = 4.0 * dd + static_cast<double>(bytes);
            row["encode_gflops"] = enc * ef / 1e9;
            row["encode_pct_peak"] = 100.0 * enc * ef / 1e9 / peak;
            row["search_gflops"] = srch * static_cast<double>(blocks) * N * (2.0 * k + 1) / 1e9;
            row["search_pct_peak"] = 100.0 * row["search_gflops"].get<double>() / peak;
            row["decode_flops_per_vector"] = df;
            row["decode_gflops"] = dec * df / 1e9;
            row["decode_pct_peak"] = 100.0 * dec * df / 1e9 / peak;
        }
        if (with_faiss) {
            row["faiss_encode_vps"] = fenc;
            row["faiss_encode_transposed_vps"] = fenct;
            row["faiss_best_encode_vps"] = fbest;
            row["faiss_decode_vps"] = rate(n, best.faiss_decode);
            // FAISS full encode (normalise + rotate + compute_codes), per-vector times added.
            const double full =
                1.0 / (best.faiss_rotate / static_cast<double>(rot_n) + 1.0 / fbest);
            row["faiss_rotate_vps"] = rate(rot_n, best.faiss_rotate);
            row["faiss_full_encode_vps"] = full;
            row["full_encode_ratio"] = enc / full;
            row["encode_ratio"] = enc / fbest;
            row["search_ratio"] = srch / fbest;
        }
        ctx.rows.push_back(row);
        std::fprintf(stderr, "fq-bench: %s %s -j%d done\n", dataset.c_str(), name.c_str(), t);
    }

    if (opt.breakdown && divides) {  // the replica below has no tail block
        set_all_threads(1);
        Json b =
            stage_breakdown(codec, search, x.data(), std::min<std::size_t>(n, 65536), opt.repeats);
        b["dataset"] = dataset;
        b["config"] = name;
        ctx.breakdowns.push_back(b);
    }
}

// ---- output ---------------------------------------------------------------------------------

std::string fmt(double v, const char* f = "%.3g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string human(double v) {
    if (v >= 1e6) return fmt(v / 1e6, "%.2fM");
    if (v >= 1e3) return fmt(v / 1e3, "%.0fk");
    return fmt(v, "%.0f");
}

void print_table(const Json& rows, const Json& agreement, const Json& breakdowns) {
    std::printf("%-8s %-13s %3s %10s %10s %6s %10s %6s %10s %6s %8s %8s %10s %8s\n", "data",
                "config", "thr", "enc vec/s", "FAISS v/s", "ratio", "srch v/s", "ratio",
                "FAISSfull", "ratio", "encMB/s", "(f32)", "dec vec/s", "decMB/s");
    for (const auto& r : rows) {
        const bool f = r.contains("faiss_best_encode_vps");
        std::printf("%-8s %-13s %3d %10s %10s %6s %10s %6s %10s %6s %8.0f %8.0f %10s %8.0f\n",
                    r["dataset"].get<std::string>().c_str(), r["config"].get<std::string>().c_str(),
                    r["threads"].get<int>(), human(r["ours_encode_vps"].get<double>()).c_str(),
                    f ? human(r["faiss_best_encode_vps"].get<double>()).c_str() : "-",
                    f ? fmt(r["encode_ratio"].get<double>(), "%.2f").c_str() : "-",
                    human(r["ours_search_vps"].get<double>()).c_str(),
                    f ? fmt(r["search_ratio"].get<double>(), "%.2f").c_str() : "-",
                    f ? human(r["faiss_full_encode_vps"].get<double>()).c_str() : "-",
                    f ? fmt(r["full_encode_ratio"].get<double>(), "%.2f").c_str() : "-",
                    r["ours_encode_in_mbps_f16"].get<double>(),
                    r["ours_encode_in_mbps_f32"].get<double>(),
                    human(r["ours_decode_vps"].get<double>()).c_str(),
                    r["ours_decode_out_mbps_f32"].get<double>());
    }
    std::printf(
        "\nroofline: nominal flops per vector, achieved GFLOP/s and %% of this machine's "
        "measured peak (separate multiplies and adds: the build forbids contraction)\n");
    std::printf("%-8s %-13s %3s %10s %9s %7s %9s %7s %10s %9s %7s\n", "data", "config", "thr",
                "enc flop", "enc GF/s", "%peak", "srch GF/s", "%peak", "dec flop", "dec GF/s",
                "%peak");
    for (const auto& r : rows)
        std::printf("%-8s %-13s %3d %10.0f %9.2f %6.1f%% %9.2f %6.1f%% %10.0f %9.2f %6.1f%%\n",
                    r["dataset"].get<std::string>().c_str(), r["config"].get<std::string>().c_str(),
                    r["threads"].get<int>(), r["encode_flops_per_vector"].get<double>(),
                    r["encode_gflops"].get<double>(), r["encode_pct_peak"].get<double>(),
                    r["search_gflops"].get<double>(), r["search_pct_peak"].get<double>(),
                    r["decode_flops_per_vector"].get<double>(), r["decode_gflops"].get<double>(),
                    r["decode_pct_peak"].get<double>());
    std::printf("\nindex agreement (fraction of identical block indices)\n");
    for (const auto& a : agreement) {
        std::printf("%-8s %-13s", a["dataset"].get<std::string>().c_str(),
                    a["config"].get<std::string>().c_str());
        if (a.contains("encode_vs_search_identical"))
            std::printf("  ours encode vs search %.7f",
                        a["encode_vs_search_identical"].get<double>());
        if (a.contains("faiss_vs_ours_identical"))
            std::printf(
                "  FAISS vs ours %.7f (%zu differ)  FAISS(transposed) %.7f (%zu differ)  "
                "(rotation max|dz| %.1e)",
                a["faiss_vs_ours_identical"].get<double>(),
                a["faiss_vs_ours_differing"].get<std::size_t>(),
                a["faiss_transposed_vs_ours_identical"].get<double>(),
                a["faiss_transposed_vs_ours_differing"].get<std::size_t>(),
                a["faiss_rotation_max_abs_diff"].get<double>());
        std::printf("\n");
    }
    if (!breakdowns.empty()) {
        std::printf("\nsingle-thread stages, microseconds per vector\n");
        std::printf("%-8s %-13s %7s %7s %7s %7s %7s | %7s %7s %7s %7s\n", "data", "config", "norm",
                    "rotate", "search", "pack", "enc", "unpack", "irotate", "scale", "dec");
        for (const auto& b : breakdowns) {
            const auto& e = b["encode_us_per_vector"];
            const auto& dd = b["decode_us_per_vector"];
            std::printf("%-8s %-13s %7.3f %7.3f %7.3f %7.3f %7.3f | %7.3f %7.3f %7.3f %7.3f\n",
                        b["dataset"].get<std::string>().c_str(),
                        b["config"].get<std::string>().c_str(), e["norm"].get<double>(),
                        e["rotation"].get<double>(), e["search"].get<double>(),
                        e["pack"].get<double>(), e["total"].get<double>(),
                        dd["unpack_gather"].get<double>(), dd["inverse_rotation"].get<double>(),
                        dd["scale"].get<double>(), dd["total"].get<double>());
        }
    }
}

void write_json(const Json& j, const std::string& path) {
    const std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp);
        if (!out) throw fq::IoError("cannot write '" + tmp + "'");
        out << j.dump(2) << "\n";
        if (!out) throw fq::IoError("cannot write '" + tmp + "'");
    }
    std::filesystem::rename(tmp, path);
}

// ---- driver ---------------------------------------------------------------------------------

std::string codebook_path(const BenchOptions& opt, const std::string& name, int d) {
    const std::string key = name + "@" + std::to_string(d) + "=";
    for (const auto& o : opt.codebook_overrides)
        if (o.rfind(key, 0) == 0) return o.substr(key.size());
    return opt.codebooks + "/d" + std::to_string(d) + "/" + name + ".json";
}

void run(BenchOptions opt) {
    if (opt.quick) {
        opt.vectors = std::min<std::size_t>(opt.vectors, 20000);
        opt.sample_vectors = std::min<std::size_t>(opt.sample_vectors, 10240);
        opt.repeats = std::min(opt.repeats, 2);
    }
    Context ctx{opt, Json::array(), Json::array(), Json::array(), -1, false, {}};
    const auto t_start = Clock::now();
    for (int t : opt.threads) {
        ctx.peaks[t] = fq::bench::measure_peaks(t);
        const auto& p = ctx.peaks[t];
        std::printf(
            "peak (%s, %d thread%s): %.1f GFLOP/s fused multiply-add, %.1f GFLOP/s "
            "separate multiply and add, triad %.1f GB/s\n",
            p.isa.c_str(), t, t == 1 ? "" : "s", p.fma_gflops, p.mul_add_gflops, p.triad_gbps);
    }

    struct Dataset {
        std::string name;
        int d;
        std::vector<float> x;
        std::size_t n;
        Json info;
    };
    std::vector<Dataset> sets;
    set_all_threads(*std::max_element(opt.threads.begin(), opt.threads.end()));
    if (opt.vectors > 0) {
        Dataset s{"synth128", 128, synthetic(opt.vectors, 128, opt.seed), opt.vectors, {}};
        s.info = {{"name", s.name},
                  {"d", 128},
                  {"vectors", s.n},
                  {"source", "Gaussian N(0,1), channels 5, 37, 66, 101 scaled by 8"},
                  {"seed", opt.seed}};
        sets.push_back(std::move(s));
    }
    if (!opt.sample.empty()) {
        int d = 0;
        std::size_t distinct = 0;
        std::vector<float> x = sample_vectors(opt.sample, opt.sample_vectors, d, distinct);
        const std::size_t n = x.size() / static_cast<std::size_t>(d);
        Dataset s{"sample" + std::to_string(d), d, std::move(x), n, {}};
        s.info = {
            {"name", s.name},
            {"d", d},
            {"vectors", n},
            {"source", opt.sample + ": every layer's k and v vectors (" + std::to_string(distinct) +
                           " distinct), tiled to " + std::to_string(n)}};
        sets.push_back(std::move(s));
    }

    Json datasets = Json::array(), codebooks = Json::array(), skipped = Json::array();
    for (const auto& s : sets) {
        datasets.push_back(s.info);
        for (const auto& name : opt.configs) {
            const std::string path = codebook_path(opt, name, s.d);
            if (!std::filesystem::exists(path)) {
                std::fprintf(stderr, "fq-bench: warning: %s: missing, %s skipped\n", path.c_str(),
                             name.c_str());
                skipped.push_back({{"dataset", s.name}, {"config", name}, {"codebook", path}});
                continue;
            }
            const fq::io::UniversalCodebook cb = fq::io::load_codebook(path);
            codebooks.push_back({{"dataset", s.name},
                                 {"config", name},
                                 {"path", path},
                                 {"content_hash", cb.content_hash}});
            bench_config(ctx, s.name, name, cb, s.x, s.n);
        }
    }

    print_table(ctx.rows, ctx.agreement, ctx.breakdowns);
    const long rss = peak_rss_kb();
    if (ctx.faiss_used)
        std::printf("\npeak RSS %.1f MB (%.1f MB before the first FAISS call)\n", rss / 1024.0,
                    ctx.rss_before_faiss_kb / 1024.0);
    else
        std::printf("\npeak RSS %.1f MB\n", rss / 1024.0);

    if (!opt.out.empty()) {
        Json j;
        j["tool"] = "fq-bench";
        j["fq_version"] = FQ_VERSION;
        j["machine"] = {{"cpu", cpu_model()},
                        {"omp_procs", omp_get_num_procs()},
                        {"note", "shared machine: other jobs were running"}};
        j["faiss"] = fq::bench::faiss_available() && !opt.no_faiss
                         ? Json(fq::bench::faiss_version())
                         : Json(nullptr);
        j["options"] = {{"vectors", opt.vectors}, {"sample_vectors", opt.sample_vectors},
                        {"repeats", opt.repeats}, {"threads", opt.threads},
                        {"chunk", opt.chunk},     {"slice", opt.slice},
                        {"seed", opt.seed},       {"quick", opt.quick}};
        j["method"] =
            "time of an operation = sum over slices of --slice vectors of the best of "
            "--repeats runs of that slice, ours and FAISS interleaved slice by slice; ratio = ours "
            "/ "
            "max(FAISS default, FAISS transposed centroids) throughput; FAISS encodes "
            "the rotated unit vectors z, ours encode includes norm + rotation + packing";
        Json peaks = Json::array();
        for (const auto& [t, p] : ctx.peaks)
            peaks.push_back({{"threads", t},
                             {"isa", p.isa},
                             {"fma_gflops", p.fma_gflops},
                             {"mul_add_gflops", p.mul_add_gflops},
                             {"triad_gbps", p.triad_gbps}});
        j["peaks"] = peaks;
        j["datasets"] = datasets;
        j["codebooks"] = codebooks;
        j["skipped"] = skipped;
        j["rows"] = ctx.rows;
        j["agreement"] = ctx.agreement;
        j["stage_breakdown"] = ctx.breakdowns;
        j["peak_rss_kb"] = rss;
        j["peak_rss_before_faiss_kb"] = ctx.rss_before_faiss_kb;
        j["wall_seconds"] = seconds_since(t_start);
        write_json(j, opt.out);
        std::fprintf(stderr, "fq-bench: wrote %s\n", opt.out.c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    BenchOptions opt;
    CLI::App app{
        "fq-bench: encode/decode throughput of fq codecs vs FAISS ProductQuantizer with the "
        "identical shared codebook (same process, interleaved, best of repeats)."};
    app.option_defaults()->always_capture_default();
    app.add_option("--vectors", opt.vectors, "synthetic d = 128 vectors (0 = skip them)")
        ->check(CLI::Range(0.0, 1e9));
    app.add_option("--sample-vectors", opt.sample_vectors, "real-sample vectors per timing (tiled)")
        ->check(CLI::Range(1.0, 1e9));
    app.add_option("--repeats", opt.repeats, "best of this many interleaved repeats")
        ->check(CLI::Range(1, 1000));
    app.add_option("-j,--threads", opt.threads, "thread counts to measure")
        ->check(CLI::Range(1, 1024));
    app.add_option("--chunk", opt.chunk, "vectors per parallel chunk")
        ->check(CLI::Range(1, 1 << 24));
    app.add_option("--slice", opt.slice, "vectors per timing unit (best of repeats per slice)")
        ->check(CLI::Range(1, 1 << 30));
    app.add_option("--seed", opt.seed, "synthetic data seed");
    app.add_option("--codebooks", opt.codebooks, "directory with d128/ and d64/ codebook files");
    app.add_option("--codebook", opt.codebook_overrides,
                   "stand-in codebook NAME@D=PATH, e.g. fib-k4-N256@128=/tmp/cb.json");
    app.add_option("--configs", opt.configs, "codebook names to measure");
    app.add_option("--sample", opt.sample, "real KV dump (\"\" = skip)");
    app.add_option("-o,--out", opt.out, "JSON results file, e.g. bench/results/NAME.json");
    app.add_flag("--quick", opt.quick, "smoke run: 20000 vectors, 2 repeats");
    app.add_flag("--no-faiss", opt.no_faiss, "skip the FAISS baseline");
    app.add_flag("!--no-breakdown", opt.breakdown, "skip the single-thread stage breakdown");
    return fq::tasks::run_main("fq-bench", app, argc, argv, [&] { run(opt); });
}
