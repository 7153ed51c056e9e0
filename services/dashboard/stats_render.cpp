#include "stats_render.hpp"

#include <cmath>
#include <span>

#include "plumb/core/embedded_file.hpp"
#include "plumb/json/writer.hpp"
#include "plumb/stats/export.hpp"

namespace plumb::dashboard {

std::span<const core::embedded_file> api_documents();  // generated (CMakeLists.txt)

namespace {

bool is_count(stats::metric m) {
  using stats::metric;
  return m == metric::visitors || m == metric::visits || m == metric::pageviews ||
         m == metric::events || m == metric::conversions || m == metric::bounce_rate ||
         m == metric::visit_duration || m == metric::exit_rate;
}

void write_value(json::writer& w, stats::metric m, double value) {
  if (is_count(m)) {
    w.value(static_cast<std::int64_t>(value));
  } else {
    w.value(value);
  }
}

// Plausible's change: percent difference, except for bounce rate (difference in points).
double change(stats::metric m, double value, double previous) {
  if (m == stats::metric::bounce_rate) {
    return value - previous;
  }
  if (previous == 0) {
    return value > 0 ? 100 : 0;
  }
  return std::round((value - previous) / previous * 100.0);
}

void write_range(json::writer& w, const stats::date_range& r) {
  w.begin_object()
      .key("first_day")
      .value(r.first_day)
      .key("last_day")
      .value(r.last_day)
      .end_object();
}

std::string key_column(const stats::query& q, stats::view kind) {
  if (kind == stats::view::breakdown) {
    return stats::breakdown_key(*q.breakdown);
  }
  return kind == stats::view::timeseries ? "date" : "period";
}

// Metric i's "value", and with a comparison its "comparison_value" and "change".
void write_metric_fields(json::writer& w, const stats::query& q, std::size_t i,
                         const stats::result_row& totals, const stats::result_row& previous) {
  w.key("value");
  write_value(w, q.metrics[i], totals.values[i]);
  if (!previous.values.empty()) {
    w.key("comparison_value");
    write_value(w, q.metrics[i], previous.values[i]);
    w.key("change").value(change(q.metrics[i], totals.values[i], previous.values[i]));
  }
}

}  // namespace

std::string render_v1(pqxx::transaction_base& tx, const stats::query& q, stats::view kind) {
  json::writer w;
  w.begin_object().key("results");
  if (kind == stats::view::aggregate) {
    const auto totals = stats::aggregate(tx, q);
    const auto previous = q.compare == stats::comparison::none
                              ? stats::result_row{}
                              : stats::aggregate(tx, stats::compared(q));
    w.begin_object();
    for (std::size_t i = 0; i < q.metrics.size(); ++i) {
      w.key(stats::name_of(q.metrics[i])).begin_object();
      write_metric_fields(w, q, i, totals, previous);
      w.end_object();
    }
    w.end_object();
  } else {
    const auto rows =
        kind == stats::view::timeseries ? stats::timeseries(tx, q) : stats::breakdown(tx, q);
    const std::string key = key_column(q, kind);
    w.begin_array();
    for (const auto& row : rows) {
      w.begin_object().key(key).value(row.key);
      for (std::size_t i = 0; i < q.metrics.size(); ++i) {
        w.key(stats::name_of(q.metrics[i]));
        write_value(w, q.metrics[i], row.values[i]);
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return std::move(w).str();
}

std::string render_top_stats(pqxx::transaction_base& tx, const stats::query& q) {
  const auto totals = stats::aggregate(tx, q);
  json::writer w;
  w.begin_object().key("period");
  if (q.realtime) {
    w.null();
  } else {
    write_range(w, q.range);
  }
  w.key("comparison_period");
  stats::result_row previous;
  if (q.compare == stats::comparison::none) {
    w.null();
  } else {
    const auto other = stats::compared(q);
    write_range(w, other.range);
    previous = stats::aggregate(tx, other);
  }
  w.key("metrics").begin_array();
  for (std::size_t i = 0; i < q.metrics.size(); ++i) {
    w.begin_object().key("metric").value(stats::name_of(q.metrics[i]));
    write_metric_fields(w, q, i, totals, previous);
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

std::string with_current_visitors(const std::string& top_stats, std::int64_t current_visitors) {
  json::writer w;
  w.begin_object()
      .key("current_visitors")
      .value(current_visitors)
      .key("totals")
      .raw(top_stats)
      .end_object();
  return std::move(w).str();
}

std::string render_main_graph(pqxx::transaction_base& tx, const stats::query& q) {
  const auto series = stats::timeseries(tx, q);
  json::writer w;
  const auto write_series = [&](const std::vector<stats::result_row>& rows) {
    w.begin_object().key("labels").begin_array();
    for (const auto& row : rows) {
      w.value(row.key);
    }
    w.end_array();
    for (std::size_t i = 0; i < q.metrics.size(); ++i) {
      w.key(stats::name_of(q.metrics[i])).begin_array();
      for (const auto& row : rows) {
        write_value(w, q.metrics[i], row.values[i]);
      }
      w.end_array();
    }
    w.end_object();
  };
  static constexpr const char* interval_names[] = {"minute", "hour", "day", "week", "month"};
  w.begin_object().key("interval").value(interval_names[static_cast<int>(q.step)]).key("series");
  write_series(series);
  w.key("comparison");
  if (q.compare == stats::comparison::none) {
    w.null();
  } else {
    write_series(stats::timeseries(tx, stats::compared(q)));
  }
  w.end_object();
  return std::move(w).str();
}

std::string render_breakdown_box(pqxx::transaction_base& tx, const stats::query& q) {
  const auto [rows, more] = stats::breakdown_with_more(tx, q);
  json::writer w;
  w.begin_object()
      .key("property")
      .value(stats::property_name(*q.breakdown))
      .key("key")
      .value(stats::breakdown_key(*q.breakdown))
      .key("page")
      .value(static_cast<std::int64_t>(q.page))
      .key("more")
      .value(more)
      .key("results")
      .begin_array();
  for (const auto& row : rows) {
    w.begin_object().key("value").value(row.key);
    for (std::size_t i = 0; i < q.metrics.size(); ++i) {
      w.key(stats::name_of(q.metrics[i]));
      write_value(w, q.metrics[i], row.values[i]);
    }
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

std::string csv_aggregate(pqxx::transaction_base& tx, const stats::query& q) {
  std::string out = stats::csv_header("period", q.metrics);
  auto row = stats::aggregate(tx, q);
  row.key = q.realtime ? "realtime" : q.range.first_day + "/" + q.range.last_day;
  stats::append_csv_rows(out, {row}, q.metrics);
  return out;
}

std::string csv_timeseries(pqxx::transaction_base& tx, const stats::query& q) {
  std::string out = stats::csv_header("date", q.metrics);
  stats::append_csv_rows(out, stats::timeseries(tx, q), q.metrics);
  return out;
}

std::string csv_breakdown_rows(const stats::query& q, const std::vector<stats::result_row>& rows,
                               bool first) {
  std::string out =
      first ? stats::csv_header(stats::breakdown_key(*q.breakdown), q.metrics) : std::string();
  stats::append_csv_rows(out, rows, q.metrics);
  return out;
}

std::string_view openapi_document() {
  for (const auto& file : api_documents()) {
    if (file.name == "openapi.json") {
      return file.data;
    }
  }
  return "{}";
}

}  // namespace plumb::dashboard
