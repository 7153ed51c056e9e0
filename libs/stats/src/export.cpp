#include "plumb/stats/export.hpp"

#include <array>
#include <cmath>

#include "plumb/events/dimension.hpp"
#include "plumb/stats/parse.hpp"

namespace plumb::stats {
namespace {

// Text columns of the export, in order, joined from the dictionary: every dimension stored on an
// event (the columns of storage::stored_dimensions), so a new one is exported without a change.
constexpr auto export_dimensions = [] {
  std::array<std::string_view, 2 + events::attribution_dimensions.size()> names{"hostname", "page"};
  for (std::size_t i = 0; i < events::attribution_dimensions.size(); ++i) {
    names[2 + i] = events::name_of(events::attribution_dimensions[i]);
  }
  return names;
}();

void append_number(std::string& out, double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    out += std::to_string(static_cast<std::int64_t>(value));
  } else {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", value);
    out += text;
  }
}

}  // namespace

void append_csv_field(std::string& out, std::string_view value) {
  const bool formula =
      !value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@');
  const bool quote = formula || value.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out += value;
    return;
  }
  out += '"';
  if (formula) {
    out += '\'';
  }
  for (const char c : value) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
}

std::string csv_header(std::string_view key_column, const std::vector<metric>& metrics) {
  std::string out;
  append_csv_field(out, key_column);
  for (const auto m : metrics) {
    out += ',';
    out += name_of(m);
  }
  out += "\r\n";
  return out;
}

void append_csv_rows(std::string& out, const std::vector<result_row>& rows,
                     const std::vector<metric>& metrics) {
  for (const auto& row : rows) {
    append_csv_field(out, row.key);
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      out += ',';
      append_number(out, row.values[i]);
    }
    out += "\r\n";
  }
}

void declare_export_cursor(pqxx::transaction_base& tx, std::int64_t site_id) {
  std::string columns;
  std::string joins;
  for (const auto name : export_dimensions) {
    const std::string alias = "d_" + std::string(name);
    columns += ", " + alias + ".value";
    joins += " JOIN dimension_values " + alias + " ON " + alias + ".site_id = e.site_id AND " +
             alias + ".id = e." + std::string(name) + "_id";
  }
  tx.exec_params(
      "DECLARE site_export NO SCROLL CURSOR FOR"
      " SELECT to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "e.event_id::text,"
      "  e.visit_id::text, d_name.value" +
          columns +
          ", coalesce(e.props::text, ''),"
          "  coalesce(e.revenue_currency, ''), coalesce(e.revenue_amount::text, '')"
          " FROM events e JOIN dimension_values d_name ON d_name.site_id = e.site_id AND d_name.id "
          "= e.name_id" +
          joins + " WHERE e.site_id = $1 ORDER BY e.received_at, e.event_id",
      site_id);
}

std::string export_header() {
  std::string out = "received_at,event_id,visit_id,name";
  for (const auto name : export_dimensions) {
    out += ',';
    out += name;
  }
  return out + ",props,revenue_currency,revenue_amount\r\n";
}

bool fetch_export_rows(pqxx::transaction_base& tx, std::size_t rows, std::string& out) {
  const auto result = tx.exec("FETCH FORWARD " + std::to_string(rows) + " FROM site_export");
  for (const auto& row : result) {
    for (pqxx::row::size_type i = 0; i < row.size(); ++i) {
      if (i > 0) {
        out += ',';
      }
      append_csv_field(out, row[i].c_str());
    }
    out += "\r\n";
  }
  return result.size() == rows;
}

}  // namespace plumb::stats
