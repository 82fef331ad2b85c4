// Report writers (CSV, JSON, text), the refusal check and the gnuplot script of fq-eval.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "fq/io/kv_dump.hpp"

#include "fq/core/error.hpp"
#include "fq/io/plot.hpp"
#include "fq/io/report.hpp"

using fq::io::Cell;
using fq::io::ResultClaim;
using fq::io::Table;

namespace {

Table small_table() {
    Table t;
    t.columns = {"codec", "tensor", "layer", "mse", "mse_se"};
    t.rows.push_back(
        {std::string("fib-k2-N16"), std::string("k"), std::string("all"), 0.125, 0.5e-3});
    t.rows.push_back({std::string("a,\"b\""), std::string("v"), std::int64_t{3},
                      std::numeric_limits<double>::quiet_NaN(), Cell{}});
    return t;
}

}  // namespace

TEST_SUITE("report") {
    TEST_CASE("CSV: exact header, shortest round-trip reals, empty NaN, quoting") {
        const std::string csv = fq::io::to_csv(small_table());
        CHECK(csv ==
              "codec,tensor,layer,mse,mse_se\n"
              "fib-k2-N16,k,all,0.125,0.0005\n"
              "\"a,\"\"b\"\"\",v,3,,\n");
        CHECK(fq::io::csv_field(Cell{0.1}) == "0.1");
        CHECK(fq::io::csv_field(Cell{1.0 / 3.0}) == "0.3333333333333333");
        CHECK(std::stod(fq::io::csv_field(Cell{1.0 / 3.0})) == 1.0 / 3.0);
    }

    TEST_CASE("JSON: one object per row, columns in order, NaN and empty as null") {
        const auto j = fq::io::to_json(small_table());
        REQUIRE(j.is_array());
        REQUIRE(j.size() == 2);
        CHECK(j[0]["mse"].get<double>() == 0.125);
        CHECK(j[0]["layer"] == "all");
        CHECK(j[1]["layer"].get<int>() == 3);
        CHECK(j[1]["mse"].is_null());
        CHECK(j[1]["mse_se"].is_null());
        CHECK(nlohmann::json::parse(j.dump())[0]["tensor"] == "k");  // valid JSON text
        std::vector<std::string> keys;
        for (auto it = j[0].begin(); it != j[0].end(); ++it) keys.push_back(it.key());
        CHECK(keys == small_table().columns);
    }

    TEST_CASE("text table: headers, value ± se, alignment") {
        std::ostringstream s;
        fq::io::write_text(small_table(),
                           {{"codec", "", 4, ""}, {"mse", "MSE per coordinate", 3, "mse_se"}}, s);
        const std::string out = s.str();
        CHECK(out.find("codec") == 0);
        CHECK(out.find("MSE per coordinate") != std::string::npos);
        CHECK(out.find("0.125 ± 0.0005") != std::string::npos);
        CHECK(out.find("nan") != std::string::npos);  // NaN real shown as nan
        CHECK(fq::io::format_with_se(0.98765, 0.001234, 3) == "0.988 ± 0.0012");
        CHECK(fq::io::format_with_se(2.0, std::nan(""), 3) == "2");
    }

    TEST_CASE("table accessors") {
        Table t = small_table();
        CHECK(t.column("mse") == 3);
        CHECK_THROWS_AS(t.column("nope"), fq::UsageError);
        CHECK(t.real(0, "mse") == 0.125);
        CHECK(t.real(1, "layer") == 3.0);
        CHECK(std::isnan(t.real(0, "codec")));
        CHECK(t.text(0, "layer") == "all");
    }

    TEST_CASE("refusal: zero distortion of a lossy codec") {
        ResultClaim c;
        c.total_sq_error = 0.0;
        c.nominal_bits = 2.25;
        c.achieved_bits = 2.25;
        CHECK(fq::io::refusal_reason(c).find("distortion is exactly zero") == 0);
        c.total_sq_error = 1e-30;
        CHECK(fq::io::refusal_reason(c).empty());
        c.total_sq_error = 0.0;
        c.lossy = false;
        CHECK(fq::io::refusal_reason(c).empty());
    }

    TEST_CASE("refusal: achieved rate outside [nominal, nominal + padding]") {
        ResultClaim c;
        c.total_sq_error = 1.0;
        c.nominal_bits = 2.25;  // e.g. code_bits 144 at d = 64
        c.padding_bits = 0.0;
        c.achieved_bits = 2.25;
        CHECK(fq::io::refusal_reason(c).empty());
        c.achieved_bits = 16.0;  // compression silently off
        CHECK(fq::io::rate_mismatch_reason(c).find("achieved rate 16") == 0);
        CHECK(!fq::io::refusal_reason(c).empty());
        // 143 information bits stored in 18 bytes: 1 bit of byte padding per code
        c.nominal_bits = (16 + 126 + 1.0) / 64;
        c.achieved_bits = 8.0 * 18 / 64;  // 18 bytes per code
        c.padding_bits = (8.0 * 18 - 143) / 64;
        CHECK(fq::io::refusal_reason(c).empty());
        c.padding_bits = 0;
        CHECK(!fq::io::refusal_reason(c).empty());
        c.achieved_bits = c.nominal_bits - 0.01;  // fewer bits than the codec needs
        c.padding_bits = 1;
        CHECK(!fq::io::refusal_reason(c).empty());
        c.achieved_bits = std::nan("");  // unknown rate: nothing to compare
        CHECK(fq::io::refusal_reason(c).empty());
    }

    TEST_CASE("gnuplot script: terminal, log axes, inline data, skipped points") {
        fq::io::Plot p;
        p.title = "t";
        p.xlabel = "bits per coordinate";
        p.ylabel = "MSE";
        p.logy = true;
        fq::io::Series s;
        s.title = "fib";
        s.x = {1, 2, 3};
        s.y = {0.1, 0.0, 0.01};  // 0 cannot be drawn on a log axis
        p.series.push_back(s);
        const std::string g = fq::io::gnuplot_script(p, "out.png");
        CHECK(g.find("set terminal pngcairo") != std::string::npos);
        CHECK(g.find("set logscale y") != std::string::npos);
        CHECK(g.find("$s0 << EOD\n1 0.1\n3 0.01\nEOD\n") != std::string::npos);
        CHECK(fq::io::gnuplot_script(p, "out.svg").find("set terminal svg") != std::string::npos);
        CHECK_THROWS_AS(fq::io::gnuplot_script(p, "out.pdf"), fq::UsageError);
        p.series[0].y = {0, 0, 0};
        CHECK_THROWS_AS(fq::io::gnuplot_script(p, "out.png"), fq::UsageError);
    }
}
