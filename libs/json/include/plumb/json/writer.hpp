#pragma once
// A small streaming JSON writer: correct escaping, commas handled for you.
//
//   json::writer w;
//   w.begin_object().key("results").begin_object().key("n").value(3).end_object().end_object();
//   std::string body = std::move(w).str();

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::json {

class writer {
 public:
  writer& begin_object();
  writer& end_object();
  writer& begin_array();
  writer& end_array();
  writer& key(std::string_view k);
  writer& value(std::string_view s);
  writer& value(const char* s) { return value(std::string_view(s)); }
  writer& value(std::int64_t i);
  writer& value(int i) { return value(static_cast<std::int64_t>(i)); }
  writer& value(std::uint64_t u);
  writer& value(double d);  // non-finite values are written as null
  writer& value(bool b);
  writer& null();
  // Inserts an already-serialised JSON value verbatim (caller guarantees it is valid JSON).
  writer& raw(std::string_view json);

  const std::string& str() const& { return out_; }
  std::string str() && { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_in_scope_;
  bool after_key_ = false;
};

// `text` as a quoted JSON string. Invalid UTF-8 bytes are replaced with U+FFFD so the output is
// always valid JSON.
std::string quote(std::string_view text);

}  // namespace plumb::json
