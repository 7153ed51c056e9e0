#include "plumb/storage/site_map_publisher.hpp"

#include <stdexcept>

#include "plumb/core/ip_address.hpp"
#include "plumb/crypto/crypto.hpp"
#include "plumb/events/site_map.hpp"
#include "plumb/storage/tenants.hpp"

namespace plumb::storage {
namespace {
// HSET arguments per command: bounded so a large map goes out in several round trips.
constexpr std::size_t sites_per_hset = 500;
// Advisory lock of site map publishing (migrations, partitions and retention use '01..'03).
constexpr long long site_map_lock = 0x706c756d62'04;

void check(const redis::reply& reply) {
  if (reply.is_error()) {
    throw redis::error("publishing the site map failed: " + reply.str);
  }
}
// Ranges were validated when stored; one that no longer parses is left out, not fatal.
events::site_descriptor descriptor_of(const site& s) {
  events::site_descriptor d{s.id, s.timezone, s.ignore_do_not_track, {}, s.allowed_hostnames};
  for (const auto& text : s.excluded_ip_ranges) {
    if (const auto range = core::cidr::parse(text)) {
      d.excluded_ip_ranges.push_back(*range);
    }
  }
  return d;
}

}  // namespace

std::size_t publish_site_map(pqxx::transaction_base& tx, redis::connection& redis,
                             const events::keys& keys) {
  // Publishers take turns, each reading after the previous one renamed its map: the last
  // RENAME always carries every change committed before it.
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(site_map_lock) + ")");
  const auto sites = all_sites(tx);
  const std::string target = keys.site_map();
  // A key of its own per call: concurrent publishers never write into each other's staging map.
  const std::string staging = target + ":staging:" + crypto::to_hex(crypto::random_bytes(8));
  check(redis.command({"DEL", staging}));
  std::vector<std::vector<std::string>> commands;
  for (std::size_t i = 0; i < sites.size(); i += sites_per_hset) {
    std::vector<std::string> hset{"HSET", staging};
    for (std::size_t j = i; j < std::min(sites.size(), i + sites_per_hset); ++j) {
      hset.push_back(sites[j].domain);
      hset.push_back(events::encode_site_descriptor(descriptor_of(sites[j])));
    }
    commands.push_back(std::move(hset));
  }
  for (const auto& reply : redis.pipeline(commands)) {
    check(reply);
  }
  check(sites.empty() ? redis.command({"DEL", target}) : redis.command({"RENAME", staging, target}));
  return sites.size();
}

}  // namespace plumb::storage
