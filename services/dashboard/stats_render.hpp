#pragma once
// Stats results as the API's JSON (Plausible v1 shapes, and the web dashboard's) and as CSV.

#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/stats/engine.hpp"
#include "plumb/stats/parse.hpp"

namespace plumb::dashboard {

// Plausible v1 bodies: aggregate {"results":{"visitors":{"value":N[,"comparison_value":M,
// "change":P]}}}, timeseries {"results":[{"date":"…","visitors":N}…]}, breakdown
// {"results":[{"page":"/","visitors":N}…]}.
std::string render_v1(pqxx::transaction_base& tx, const stats::query& q, stats::view kind);

// Web dashboard bodies (proto/openapi.json: TopStats, MainGraph, BreakdownBox).
std::string render_top_stats(pqxx::transaction_base& tx, const stats::query& q);
std::string with_current_visitors(const std::string& top_stats, std::int64_t current_visitors);
std::string render_main_graph(pqxx::transaction_base& tx, const stats::query& q);
std::string render_breakdown_box(pqxx::transaction_base& tx, const stats::query& q);

std::string csv_aggregate(pqxx::transaction_base& tx, const stats::query& q);
std::string csv_timeseries(pqxx::transaction_base& tx, const stats::query& q);
// One page of breakdown rows, with the header line when `first`.
std::string csv_breakdown_rows(const stats::query& q, const std::vector<stats::result_row>& rows,
                               bool first);

// proto/openapi.json, embedded at build time.
std::string_view openapi_document();

}  // namespace plumb::dashboard
