// fq-eval plan: the codec of every (layer, tensor) of a dump for a bit budget.
//
// 1. Measure: for every K or V dataset i and every candidate codec c (default: every shipped
//    fib and scalar codebook for the dump's d, and float16), code dataset i alone with c (all
//    else exact) and measure the degradation D_ic of the objective on the calibration dump:
//      out    1 - attention-output cosine of that layer, mean over queries (default; keys and
//             values both matter)
//      kl     attention KL of that layer
//      model  logit KL of the model (--model, fq-eval model) with that tensor coded
//    and its exact rate R_ic (bits per coordinate of dataset i, windows included).
// 2. Allocate: minimize sum_i D_ic(i) subject to sum_i w_i R_ic(i) <= budget (w_i = dataset i's
//    share of all K and V coordinates): greedy on the lower convex hull of each dataset's
//    (R, D) points by steepest decrease of D per bit that fits (the Lagrangian solution),
//    then single-dataset swaps to any candidate that lower the sum and still fit.
// 3. Check: the whole plan is measured jointly (every dataset coded), and so is every uniform
//    codec within the budget; if the best uniform one measures better, it is the plan (so the
//    plan is never worse than uniform on the calibration data).
// Output: an fq-encode config (the per-dataset "layers" rules, windows) and a report (the
// choice per dataset, its rate and predicted contribution, the totals, the uniform baseline).
// Deterministic: same inputs, same bytes. The report says to evaluate on other tokens.
#pragma once

#include <cstdint>
#include <string>

#include "fq/tasks/eval.hpp"

namespace fq::tasks {

struct PlanOptions {
    std::string input;              // calibration KV dump
    double budget = 0;              // bits per coordinate over all K and V coordinates
    std::string candidates;         // JSON array of SPECs / descriptions ("" = default)
    std::string objective = "out";  // out | kl | model
    std::string model;              // the model, for objective "model"
    std::string output;             // the plan: an fq-encode config
    std::string json;               // the report ("-" = stdout, "" = summary on stdout)
    std::int64_t keep_first = 0, keep_last = 0;  // windows, counted in every rate
    EvalSettings settings;  // query positions and sequences of the attention metrics
    std::string codebooks;  // codebook directory
    bool force = false;     // overwrite an existing plan
    int threads = 0;
    int verbosity = 0;
};

void run_plan(const PlanOptions& opts);

}  // namespace fq::tasks
