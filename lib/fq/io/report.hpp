// Reports of fq-eval: a plain table of results (one row per item, named columns) and its
// writers (CSV, JSON, aligned text), plus the sanity check that refuses to present a lossy
// result that cannot be right (docs/EVAL.md).
//
// Table: columns are fixed names (the stable column names of docs/EVAL.md); a cell is empty
// (not applicable), an integer, a real or a text. Writers never reorder columns or rows.
//   CSV   RFC 4180: header line of column names, then one line per row; empty and NaN cells
//         are empty fields; reals in the shortest "%.*g" form that round-trips (up to 17
//         significant digits); text quoted only when it holds ',', '"' or a line break.
//   JSON  an array of objects {column: value} in column order; empty and NaN cells are null.
//   text  aligned columns for people: a chosen subset of columns, reals with a chosen
//         number of significant digits, optionally "value ± standard error".
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace fq::io {

// One cell: empty (not applicable), integer, real, text.
using Cell = std::variant<std::monostate, std::int64_t, double, std::string>;

struct Table {
    std::vector<std::string> columns;     // column names, unique
    std::vector<std::vector<Cell>> rows;  // each row has columns.size() cells

    // Index of column `name`; UsageError if there is none.
    std::size_t column(const std::string& name) const;
    // Appends an empty row and returns it.
    std::vector<Cell>& add_row();
    // Sets cell (row, column name).
    void set(std::size_t row, const std::string& name, Cell value);
    // The cell as a real (NaN when empty or text).
    double real(std::size_t row, const std::string& name) const;
    // The cell as text ("" when empty; numbers formatted as in CSV).
    std::string text(std::size_t row, const std::string& name) const;
};

// The CSV / JSON text of one cell (format above).
std::string csv_field(const Cell& cell);
nlohmann::ordered_json json_value(const Cell& cell);

void write_csv(const Table& table, std::ostream& out);
std::string to_csv(const Table& table);
nlohmann::ordered_json to_json(const Table& table);

// A column of a text table.
struct TextColumn {
    std::string column;     // table column shown
    std::string header;     // heading ("" = the column name)
    int digits = 4;         // significant digits of reals
    std::string se_column;  // if set: shown as "value ± se" (se with 2 significant digits)
};
// Aligned text table of the given rows (empty = all), a header line and a rule.
void write_text(const Table& table, const std::vector<TextColumn>& columns, std::ostream& out,
                const std::vector<std::size_t>& rows = {});

// A real with `digits` significant digits ("%.{digits}g"; "nan", "inf" as such), and
// "value ± se" with the standard error to 2 significant digits ("value" alone if se is NaN).
std::string format_real(double x, int digits);
std::string format_with_se(double value, double se, int digits);

// Writes text to path, or to stdout when path is "-"; files go to a temporary name in the
// same directory and are renamed into place. IoError on failure.
void write_output(const std::string& path, const std::string& text);

// ---- refusing impossible results ---------------------------------------------------------

// What a lossy result claims, for refusal_reason.
struct ResultClaim {
    bool lossy = true;          // the evaluated codec is lossy (all fq codecs are)
    double total_sq_error = 0;  // sum of ||x - x_hat||^2 over every evaluated vector
    double nominal_bits = 0;    // bits per coordinate from the codec description (NaN = unknown)
    double achieved_bits = 0;   // bits per coordinate from the bytes stored (NaN = unknown)
    double padding_bits = 0;    // allowed excess: byte padding per coordinate, >= 0
};

// Why the result must not be presented ("" if it may be):
//  - lossy and total_sq_error == 0 exactly: "distortion is exactly zero: the data was not
//    compressed (or the decoded file is a copy of the original)";
//  - both rates known and achieved_bits outside [nominal_bits - 1e-9,
//    nominal_bits + padding_bits + 1e-9]: "achieved rate X bits per coordinate disagrees
//    with the nominal Y".
// Callers turn a non-empty reason into CorruptError (exit 3) unless the user overrides it.
std::string refusal_reason(const ResultClaim& claim);
// Only the distortion half, and only the rate half, of refusal_reason.
std::string zero_distortion_reason(const ResultClaim& claim);
std::string rate_mismatch_reason(const ResultClaim& claim);

}  // namespace fq::io
