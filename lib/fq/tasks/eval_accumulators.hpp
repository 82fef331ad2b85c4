// The statistics fq-eval's dump mode accumulates (tasks/eval_dump.cpp), and their MPI
// gather: per (layer, KV head) of K and V the moments of the per-vector values, the cosine
// p5 and minimum and the per-query inner-product errors; per (layer, query head) the
// per-query attention metrics; per layer and for the whole dump the cosine p5 and minimum
// (from the smallest cosines). Internal to the tasks.
#pragma once

#include <map>
#include <utility>

#include "fq/metrics/stats.hpp"
#include "fq/tasks/eval.hpp"

namespace fq::tasks::detail {

// The cosine quantile reported (cos_p5).
inline constexpr double k_p5 = 0.05;

// The cosine p5 and minimum of a group of vectors (exact: from a metrics::LowTail).
struct LowStats {
    double p5 = k_nan, min = k_nan;
    static LowStats of(const metrics::LowTail& t) { return {t.quantile(k_p5), t.min()}; }
};

// Per-vector statistics of one group (a head, a layer, everything) of one tensor: moments
// of the per-vector values (metrics::Moments), the cosine p5 and minimum, the per-query
// inner-product errors (k rows) and the total squared error.
struct VectorAcc {
    metrics::Moments mse, nmse, cos;
    LowStats cos_low;  // not merged: each group's own, from its smallest cosines
    metrics::Accumulator ip_mean, ip_mean_sq;
    double sq_error = 0;
    void merge(const VectorAcc& o) {
        mse.merge(o.mse);
        nmse.merge(o.nmse);
        cos.merge(o.cos);
        ip_mean.merge(o.ip_mean);
        ip_mean_sq.merge(o.ip_mean_sq);
        sq_error += o.sq_error;
    }
};

// Per-query values of one group of attention heads.
struct AttnAcc {
    metrics::Accumulator kl, top1, top5, score, prob, out;
    void merge(const AttnAcc& o) {
        kl.merge(o.kl);
        top1.merge(o.top1);
        top5.merge(o.top5);
        score.merge(o.score);
        prob.merge(o.prob);
        out.merge(o.out);
    }
};

using Key = std::pair<int, int>;

// The statistics a rank accumulates over the layers it evaluates.
struct Accumulators {
    std::map<Key, VectorAcc> k, v;             // (layer, kv head)
    std::map<Key, AttnAcc> attn;               // (layer, query head)
    std::map<int, LowStats> k_layer, v_layer;  // per layer: its cosine p5 and minimum
    metrics::LowTail k_all, v_all;             // the smallest cosines of every layer
};

// Under an MPI run: every rank's accumulators into the root's (the other ranks keep theirs,
// unused: only the root reports). Keys never collide (whole layers per rank); the tails
// merge (their result depends only on the values). Nothing with one rank.
void gather_accumulators(Accumulators& acc);

}  // namespace fq::tasks::detail
