#pragma once
// CSV: stats results of any view, and the raw export of a site's events (RFC 4180: fields with
// commas, quotes or line breaks quoted; lines end in CRLF). Fields starting with = + - @ are
// prefixed with ' so spreadsheets do not run them as formulas (values come from visitors' URLs).

#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/stats/engine.hpp"

namespace plumb::stats {

void append_csv_field(std::string& out, std::string_view value);

// The header line and rows of a result; `key_column` names the first column ("date", "page"...).
std::string csv_header(std::string_view key_column, const std::vector<metric>& metrics);
void append_csv_rows(std::string& out, const std::vector<result_row>& rows,
                     const std::vector<metric>& metrics);

// The raw export: a cursor over every stored event of the site, oldest first, with dictionary
// values as text (no visitor hashes: they are pseudonymous identifiers, not reporting data).
// Call in a transaction that stays open for every fetch.
void declare_export_cursor(pqxx::transaction_base& tx, std::int64_t site_id);
std::string export_header();
// Appends up to `rows` events to `out`; false once the cursor is exhausted.
bool fetch_export_rows(pqxx::transaction_base& tx, std::size_t rows, std::string& out);

}  // namespace plumb::stats
