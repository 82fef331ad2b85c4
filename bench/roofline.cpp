#include "roofline.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace fq::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Each loop keeps 24 independent accumulators in registers so that latency does not bound
// the rate; the constants keep the values normal (no denormals, no overflow).
constexpr int k_acc = 24;
constexpr std::int64_t k_iters = 1 << 22;

// The sum of every lane (through memory: GCC 12 warns on _mm512_reduce_add_ps).
__attribute__((target("avx512f"))) double sum512(const __m512* v, int n) {
    alignas(64) float out[16];
    double s = 0;
    for (int i = 0; i < n; ++i) {
        _mm512_store_ps(out, v[i]);
        for (float x : out) s += x;
    }
    return s;
}

__attribute__((target("avx512f"))) double fma_loop_512(float seed) {
    __m512 acc[k_acc];
    for (int i = 0; i < k_acc; ++i) acc[i] = _mm512_set1_ps(seed * static_cast<float>(i + 1));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < k_iters; ++it)
#pragma GCC unroll 24
        for (int i = 0; i < k_acc; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    return sum512(acc, k_acc);
}
__attribute__((target("avx512f"))) double mul_add_loop_512(float seed) {
    __m512 m[k_acc / 2], p[k_acc / 2];
    for (int i = 0; i < k_acc / 2; ++i)
        m[i] = p[i] = _mm512_set1_ps(seed * static_cast<float>(i + 1));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < k_iters; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < k_acc / 2; ++i) {
            m[i] = _mm512_mul_ps(m[i], a);
            p[i] = _mm512_add_ps(p[i], b);
        }
    for (int i = 0; i < k_acc / 2; ++i) m[i] = _mm512_add_ps(m[i], p[i]);
    return sum512(m, k_acc / 2);
}
__attribute__((target("avx2,fma"))) double fma_loop_256(float seed) {
    __m256 acc[k_acc];
    for (int i = 0; i < k_acc; ++i) acc[i] = _mm256_set1_ps(seed * static_cast<float>(i + 1));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < k_iters; ++it)
#pragma GCC unroll 24
        for (int i = 0; i < k_acc; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    alignas(32) float out[8];
    float s = 0;
    for (int i = 0; i < k_acc; ++i) {
        _mm256_store_ps(out, acc[i]);
        for (float v : out) s += v;
    }
    return s;
}
__attribute__((target("avx2"))) double mul_add_loop_256(float seed) {
    __m256 m[k_acc / 2], p[k_acc / 2];
    for (int i = 0; i < k_acc / 2; ++i)
        m[i] = p[i] = _mm256_set1_ps(seed * static_cast<float>(i + 1));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < k_iters; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < k_acc / 2; ++i) {
            m[i] = _mm256_mul_ps(m[i], a);
            p[i] = _mm256_add_ps(p[i], b);
        }
    alignas(32) float out[8];
    float s = 0;
    for (int i = 0; i < k_acc / 2; ++i) {
        _mm256_store_ps(out, _mm256_add_ps(m[i], p[i]));
        for (float v : out) s += v;
    }
    return s;
}
double mul_add_loop_128(float seed) {  // SSE2, every x86-64 CPU
    __m128 m[k_acc / 2], p[k_acc / 2];
    for (int i = 0; i < k_acc / 2; ++i) m[i] = p[i] = _mm_set1_ps(seed * static_cast<float>(i + 1));
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < k_iters; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < k_acc / 2; ++i) {
            m[i] = _mm_mul_ps(m[i], a);
            p[i] = _mm_add_ps(p[i], b);
        }
    alignas(16) float out[4];
    float s = 0;
    for (int i = 0; i < k_acc / 2; ++i) {
        _mm_store_ps(out, _mm_add_ps(m[i], p[i]));
        for (float v : out) s += v;
    }
    return s;
}

// Seconds of fn run on `threads` threads at once (the slowest thread's time).
template <class F>
double parallel_seconds(int threads, F&& fn) {
    std::vector<double> sink(static_cast<std::size_t>(threads));
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads)
    { sink[static_cast<std::size_t>(omp_get_thread_num())] = fn(1.0f + omp_get_thread_num()); }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    volatile double keep = 0;
    for (double v : sink) keep = keep + v;
    return s;
}

}  // namespace

Peaks measure_peaks(int threads, int repeats) {
    __builtin_cpu_init();
    Peaks p;
    p.threads = threads;
    const bool avx512 = __builtin_cpu_supports("avx512f");
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    p.isa = avx512 ? "avx512" : avx2 ? "avx2" : "sse2";
    const double lanes = avx512 ? 16 : avx2 ? 8 : 4;
    const double ops = static_cast<double>(k_iters) * k_acc * lanes * threads;
    for (int r = 0; r < repeats; ++r) {
        double f = 0, m = 0;
        if (avx512) {
            f = parallel_seconds(threads, fma_loop_512);
            m = parallel_seconds(threads, mul_add_loop_512);
        } else if (avx2) {
            f = parallel_seconds(threads, fma_loop_256);
            m = parallel_seconds(threads, mul_add_loop_256);
        } else {
            m = parallel_seconds(threads, mul_add_loop_128);
        }
        if (f > 0) p.fma_gflops = std::max(p.fma_gflops, 2 * ops / f / 1e9);
        p.mul_add_gflops = std::max(p.mul_add_gflops, ops / m / 1e9);
    }
    // Triad over 3 x 64 MiB per thread (far beyond the caches), first touch by its thread.
    const std::size_t n = std::size_t{16} << 20;
    for (int r = 0; r < repeats; ++r) {
        std::vector<double> secs(static_cast<std::size_t>(threads));
        double total = 0;
#pragma omp parallel num_threads(threads)
        {
            std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
#pragma omp barrier
            const auto t0 = Clock::now();
            for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + 0.5f * c[i];
            secs[static_cast<std::size_t>(omp_get_thread_num())] =
                std::chrono::duration<double>(Clock::now() - t0).count();
            volatile float keep = a[n / 2];
            (void)keep;
        }
        total = *std::max_element(secs.begin(), secs.end());
        p.triad_gbps =
            std::max(p.triad_gbps, 12.0 * static_cast<double>(n) * threads / total / 1e9);
    }
    return p;
}

double block_vq_encode_flops(int d, int k, int N, int blocks) {
    const double dd = d;
    // norm (d mul + d add), dense rotation (d^2 mul + d^2 add), distances c.z - |c|^2 / 2
    // (k mul + k add + 1 add per codeword per block; the argmin compares are not flops).
    return 2 * dd + 2 * dd * dd + static_cast<double>(blocks) * N * (2.0 * k + 1);
}

double block_vq_decode_flops(int d) {
    const double dd = d;
    return 2 * dd * dd + dd;  // inverse rotation, scaling by the norm
}

}  // namespace fq::bench
