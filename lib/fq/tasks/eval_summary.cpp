// summary_text: the human summary of a dump evaluation (fq-eval dump mode), metric x
// {K, V, attention}, from the evaluation table's overall rows (tasks/eval.hpp).
#include <cmath>
#include <sstream>

#include "fq/io/report.hpp"
#include "fq/tasks/eval.hpp"

namespace fq::tasks {

std::string summary_text(const DumpEvaluation& ev, const CodecLabel& codec) {
    const io::Table& t = ev.table;
    // Rows 0, 1, 2 are the overall K, V and attention rows.
    const auto cell = [&](std::size_t row, const char* col, const char* se, int digits) {
        const double x = t.real(row, col);
        if (std::isnan(x)) return std::string("-");
        return io::format_with_se(x, se ? t.real(row, se) : k_nan, digits);
    };
    std::ostringstream s;
    s << "codec: " << codec.name;
    const RateInfo& rk = codec.k;
    const RateInfo& rv = codec.v;
    if (!std::isnan(rk.nominal_bits) || !std::isnan(rk.achieved_bits)) {
        s << "   rate K " << io::format_real(rk.nominal_bits, 5) << " nominal / "
          << io::format_real(rk.achieved_bits, 5) << " achieved, V "
          << io::format_real(rv.nominal_bits, 5) << " / " << io::format_real(rv.achieved_bits, 5)
          << " bits per coordinate (headers included"
          << (rk.window_bits > 0 || rv.window_bits > 0
                  ? "; float16 window K " + io::format_real(rk.window_bits, 4) + ", V " +
                        io::format_real(rv.window_bits, 4)
                  : std::string())
          << "); " << io::format_real(t.real(2, "compression_ratio"), 4) << "x vs float16";
    } else {
        s << "   rate unknown (decoded dump: give -c to measure it)";
    }
    s << "\n";
    s << "data: " << ev.layers << " layers, " << ev.n_heads << " query heads / " << ev.n_kv_heads
      << " KV heads, " << ev.tokens << " tokens, d = " << ev.d << "; queries "
      << (ev.queries_in_dump
              ? "from the dump (GQA: query head h -> KV head h / " +
                    std::to_string(ev.n_kv_heads ? ev.n_heads / ev.n_kv_heads : 1) + ")"
              : std::string("NOT in the dump: fallback q_t = k_t (keys as queries)"))
      << "; attention within " << ev.sequences
      << (ev.sequences == 1 ? " sequence (" : " sequences (") << ev.sequence_source << "), "
      << ev.positions << " query positions per head\n\n";

    io::Table view;
    view.columns = {"metric", "K", "V"};
    const auto row2 = [&](const char* name, const char* col, const char* se, int digits) {
        auto& r = view.add_row();
        r[0] = std::string(name);
        r[1] = cell(0, col, se, digits);
        r[2] = cell(1, col, se, digits);
    };
    row2("MSE per coordinate", "mse", "mse_se", 4);
    row2("normalised MSE", "nmse", "nmse_se", 4);
    row2("dB above Shannon bound", "db_above_shannon", nullptr, 3);
    row2("cosine (mean)", "cos_mean", "cos_se", 5);
    row2("cosine (p5)", "cos_p5", nullptr, 5);
    row2("cosine (min)", "cos_min", nullptr, 5);
    {
        auto& r = view.add_row();
        r[0] = std::string("inner-product bias (estimate - exact)");
        r[1] = cell(0, "ip_bias", "ip_bias_se", 4);
        r[2] = std::string("");
        auto& r2 = view.add_row();
        r2[0] = std::string("inner-product RMSE");
        r2[1] = cell(0, "ip_rmse", "ip_rmse_se", 4);
        r2[2] = std::string("");
    }
    io::write_text(view, {{"metric", "", 4, ""}, {"K", "K", 4, ""}, {"V", "V", 4, ""}}, s);
    s << "\n";
    io::Table att;
    att.columns = {"metric", "value"};
    const auto row1 = [&](const char* name, const char* col, const char* se, int digits) {
        auto& r = att.add_row();
        r[0] = std::string(name);
        r[1] = cell(2, col, se, digits);
    };
    row1("attention KL(p || p_hat), nats", "kl", "kl_se", 4);
    row1("top-1 agreement", "top1", "top1_se", 4);
    row1("top-5 agreement", "top5", "top5_se", 4);
    row1("attention-score cosine", "score_cos", "score_cos_se", 5);
    row1("attention-probability cosine", "prob_cos", "prob_cos_se", 5);
    row1("attention-output cosine (mean)", "out_cos", "out_cos_se", 5);
    row1("attention-output cosine (p5)", "out_cos_p5", nullptr, 5);
    row1("attention-output cosine (min)", "out_cos_min", nullptr, 5);
    s << "attention (K and V decoded; causal; " << t.text(2, "queries") << " queries"
      << (ev.estimated_scores ? "; scores from the codec's inner-product estimator" : "") << ")\n";
    io::write_text(att, {{"metric", "", 4, ""}, {"value", "", 4, ""}}, s);
    return s.str();
}

}  // namespace fq::tasks
