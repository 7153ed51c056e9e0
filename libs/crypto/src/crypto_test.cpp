#include "plumb/crypto/crypto.hpp"

#include <catch2/catch.hpp>

using namespace plumb::crypto;

TEST_CASE("sha256 matches the FIPS 180-2 test vector and concatenates parts") {
  CHECK(to_hex(sha256({"abc"})) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256({"a", "bc"}) == sha256({"abc"}));
}

TEST_CASE("random bytes have the requested length and differ") {
  const auto a = random_bytes(32);
  const auto b = random_bytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
}

TEST_CASE("argon2id password hashes verify only the right password") {
  const auto hash = hash_password("correct horse battery staple");
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(verify_password(hash, "correct horse battery staple"));
  CHECK_FALSE(verify_password(hash, "correct horse battery stapler"));
  CHECK_FALSE(verify_password("not a hash", "x"));
}

TEST_CASE("HMAC-SHA-256 matches RFC 4231 and equality is exact") {
  // RFC 4231 test case 2.
  CHECK(plumb::crypto::to_hex(plumb::crypto::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(plumb::crypto::constant_time_equal("abc", "abc"));
  CHECK_FALSE(plumb::crypto::constant_time_equal("abc", "abd"));
  CHECK_FALSE(plumb::crypto::constant_time_equal("abc", "abcd"));
  CHECK(plumb::crypto::constant_time_equal("", ""));
}
