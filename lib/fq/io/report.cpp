#include "fq/io/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fq/core/error.hpp"

namespace fq::io {

namespace {

// Shortest %.*g form that reads back to the same double.
std::string shortest_real(double x) {
    if (std::isnan(x)) return "";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    for (int p = 6; p <= 17; ++p) {
        std::snprintf(buf, sizeof buf, "%.*g", p, x);
        if (std::strtod(buf, nullptr) == x) break;
    }
    return buf;
}

// Display width in characters (UTF-8 continuation bytes do not count: "±" is one).
std::size_t display_width(const std::string& s) {
    std::size_t w = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++w;
    return w;
}

}  // namespace

std::size_t Table::column(const std::string& name) const {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) throw UsageError("report: no column '" + name + "'");
    return static_cast<std::size_t>(it - columns.begin());
}

std::vector<Cell>& Table::add_row() {
    rows.emplace_back(columns.size());
    return rows.back();
}

void Table::set(std::size_t row, const std::string& name, Cell value) {
    rows.at(row).at(column(name)) = std::move(value);
}

double Table::real(std::size_t row, const std::string& name) const {
    const Cell& c = rows.at(row).at(column(name));
    if (const auto* d = std::get_if<double>(&c)) return *d;
    if (const auto* i = std::get_if<std::int64_t>(&c)) return static_cast<double>(*i);
    return std::nan("");
}

std::string Table::text(std::size_t row, const std::string& name) const {
    return csv_field(rows.at(row).at(column(name)));
}

std::string csv_field(const Cell& cell) {
    if (const auto* d = std::get_if<double>(&cell)) return shortest_real(*d);
    if (const auto* i = std::get_if<std::int64_t>(&cell)) return std::to_string(*i);
    if (const auto* s = std::get_if<std::string>(&cell)) return *s;
    return "";
}

nlohmann::ordered_json json_value(const Cell& cell) {
    if (const auto* d = std::get_if<double>(&cell)) {
        if (std::isnan(*d)) return nullptr;
        if (std::isinf(*d)) return *d > 0 ? "inf" : "-inf";
        return *d;
    }
    if (const auto* i = std::get_if<std::int64_t>(&cell)) return *i;
    if (const auto* s = std::get_if<std::string>(&cell)) return *s;
    return nullptr;
}

void write_csv(const Table& table, std::ostream& out) {
    const auto quoted = [](const std::string& s) {
        if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) {
            if (c == '"') q += '"';
            q += c;
        }
        return q + "\"";
    };
    for (std::size_t j = 0; j < table.columns.size(); ++j)
        out << (j ? "," : "") << quoted(table.columns[j]);
    out << "\n";
    for (const auto& row : table.rows) {
        for (std::size_t j = 0; j < row.size(); ++j)
            out << (j ? "," : "") << quoted(csv_field(row[j]));
        out << "\n";
    }
}

std::string to_csv(const Table& table) {
    std::ostringstream s;
    write_csv(table, s);
    return s.str();
}

nlohmann::ordered_json to_json(const Table& table) {
    auto rows = nlohmann::ordered_json::array();
    for (const auto& row : table.rows) {
        nlohmann::ordered_json obj = nlohmann::ordered_json::object();
        for (std::size_t j = 0; j < row.size(); ++j) obj[table.columns[j]] = json_value(row[j]);
        rows.push_back(std::move(obj));
    }
    return rows;
}

std::string format_real(double x, int digits) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", std::max(1, digits), x);
    return buf;
}

std::string format_with_se(double value, double se, int digits) {
    if (std::isnan(se)) return format_real(value, digits);
    return format_real(value, digits) + " ± " + format_real(se, 2);
}

void write_text(const Table& table, const std::vector<TextColumn>& columns, std::ostream& out,
                const std::vector<std::size_t>& rows) {
    std::vector<std::size_t> which = rows;
    if (which.empty())
        for (std::size_t i = 0; i < table.rows.size(); ++i) which.push_back(i);
    std::vector<std::vector<std::string>> cells(which.size() + 1);
    for (const auto& c : columns) cells[0].push_back(c.header.empty() ? c.column : c.header);
    for (std::size_t r = 0; r < which.size(); ++r) {
        for (const auto& c : columns) {
            const Cell& cell = table.rows.at(which[r]).at(table.column(c.column));
            std::string s;
            if (const auto* d = std::get_if<double>(&cell))
                s = c.se_column.empty()
                        ? format_real(*d, c.digits)
                        : format_with_se(*d, table.real(which[r], c.se_column), c.digits);
            else
                s = csv_field(cell);
            cells[r + 1].push_back(s.empty() ? "-" : s);
        }
    }
    std::vector<std::size_t> width(columns.size(), 0);
    for (const auto& line : cells)
        for (std::size_t j = 0; j < line.size(); ++j)
            width[j] = std::max(width[j], display_width(line[j]));
    const auto print = [&](const std::vector<std::string>& line) {
        for (std::size_t j = 0; j < line.size(); ++j) {
            out << line[j];
            if (j + 1 < line.size()) out << std::string(width[j] - display_width(line[j]) + 2, ' ');
        }
        out << "\n";
    };
    print(cells[0]);
    std::size_t total = 0;
    for (std::size_t j = 0; j < width.size(); ++j)
        total += width[j] + (j + 1 < width.size() ? 2 : 0);
    out << std::string(total, '-') << "\n";
    for (std::size_t r = 1; r < cells.size(); ++r) print(cells[r]);
}

void write_output(const std::string& path, const std::string& text) {
    if (path == "-") {
        std::cout << text;
        std::cout.flush();
        return;
    }
    namespace fs = std::filesystem;
    const fs::path target(path);
    fs::path tmp = target;
    tmp += ".tmp-fq";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw IoError(path + ": cannot write");
        f << text;
        f.close();
        if (!f) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw IoError(path + ": write failed");
        }
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw IoError(path + ": cannot rename into place");
    }
}

std::string zero_distortion_reason(const ResultClaim& claim) {
    if (claim.lossy && claim.total_sq_error == 0.0)
        return "distortion is exactly zero: the data was not compressed (or the decoded file "
               "is a copy of the original)";
    return "";
}

std::string rate_mismatch_reason(const ResultClaim& claim) {
    if (std::isnan(claim.nominal_bits) || std::isnan(claim.achieved_bits)) return "";
    const double eps = 1e-9;
    if (claim.achieved_bits < claim.nominal_bits - eps ||
        claim.achieved_bits > claim.nominal_bits + std::max(0.0, claim.padding_bits) + eps)
        return "achieved rate " + format_real(claim.achieved_bits, 6) +
               " bits per coordinate disagrees with the nominal " +
               format_real(claim.nominal_bits, 6) + " (allowed byte padding " +
               format_real(claim.padding_bits, 4) + ")";
    return "";
}

std::string refusal_reason(const ResultClaim& claim) {
    std::string r = zero_distortion_reason(claim);
    return r.empty() ? rate_mismatch_reason(claim) : r;
}

}  // namespace fq::io
