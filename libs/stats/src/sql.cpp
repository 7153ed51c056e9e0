#include <map>

#include "sources.hpp"

namespace plumb::stats::detail {

std::string parameters::add_array(const std::vector<std::string>& values) {
  // PostgreSQL array literal: every element quoted, with " and \ escaped.
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    literal += i == 0 ? "\"" : ",\"";
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') {
        literal += '\\';
      }
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return add(std::move(literal)) + "::text[]";
}

pqxx::result parameters::exec(pqxx::transaction_base& tx, const std::string& sql) const {
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(values_));
}

pqxx::result parameters::exec_with(
    pqxx::transaction_base& tx, std::initializer_list<std::pair<const char*, const char*>> settings,
    const std::string& sql) const {
  for (const auto& [name, value] : settings) {
    tx.exec(std::string("SET LOCAL ") + name + " = " + value);
  }
  auto result = exec(tx, sql);
  for (const auto& setting : settings) {
    tx.exec(std::string("RESET ") + setting.first);
  }
  return result;
}

namespace {

// A LIKE pattern matching `text` literally.
std::string like_literal(const std::string& text) {
  std::string pattern;
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') {
      pattern += '\\';
    }
    pattern += c;
  }
  return pattern;
}

}  // namespace

std::string matching_ids(parameters& p, const std::string& site, const filter& f,
                         const std::string& prefix) {
  const bool exact = f.op == filter_op::is || f.op == filter_op::is_not;
  std::vector<std::string> texts;
  for (const auto& v : f.values) {
    // Substrings as LIKE patterns, which the dictionary's trigram index (migration 0010) answers.
    texts.push_back(exact ? prefix + v : like_literal(prefix) + "%" + like_literal(v) + "%");
  }
  return "(SELECT id FROM dimension_values WHERE site_id = " + site + " AND value " +
         (exact ? "= ANY(" : "LIKE ANY(") + p.add_array(texts) + "))";
}

std::string id_condition(parameters& p, const std::string& site, const std::string& column,
                         const filter& f) {
  const bool negated = f.op == filter_op::is_not || f.op == filter_op::does_not_contain;
  return column + (negated ? " NOT IN " : " IN ") + matching_ids(p, site, f, "");
}

group tallied_group(const pqxx::row& row) {
  group g;
  g.key = row[0].as<std::string>();
  g.counts.visitors = row[1].as<std::int64_t>();
  g.counts.pageviews = row[2].as<std::int64_t>();
  g.counts.events = row[3].as<std::int64_t>();
  g.counts.visits = row[4].as<std::int64_t>();
  g.counts.bounces = row[5].as<std::int64_t>();
  g.counts.duration_ms = row[6].as<std::int64_t>();
  g.counts.revenue = row[7].as<double>();
  g.counts.revenue_events = row[8].as<std::int64_t>();
  return g;
}

void label_ids(pqxx::transaction_base& tx, std::int64_t site_id, std::vector<group>& groups) {
  if (groups.empty()) {
    return;
  }
  std::vector<std::string> ids;
  for (const auto& g : groups) {
    ids.push_back(g.key);
  }
  parameters lookup;
  const std::string sql =
      "SELECT id::text, value FROM dimension_values WHERE site_id = " + lookup.add(site_id) +
      " AND id = ANY(" + lookup.add_array(ids) + "::bigint[])";
  std::map<std::string, std::string> values;
  for (const auto& row : lookup.exec(tx, sql)) {
    values.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  }
  for (auto& g : groups) {
    g.key = values.at(g.key);
  }
}

const char* label_format(interval step) {
  switch (step) {
    case interval::minute:
      return "YYYY-MM-DD HH24:MI:00";
    case interval::hour:
      return "YYYY-MM-DD HH24:00:00";
    case interval::day:
    case interval::week:
    case interval::month:
      return "YYYY-MM-DD";
  }
  return "YYYY-MM-DD";
}

const char* trunc_unit(interval step) {
  switch (step) {
    case interval::minute:
      return "minute";
    case interval::hour:
      return "hour";
    case interval::day:
      return "day";
    case interval::week:
      return "week";
    case interval::month:
      return "month";
  }
  return "day";
}

}  // namespace plumb::stats::detail
