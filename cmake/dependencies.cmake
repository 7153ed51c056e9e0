# Every third-party dependency comes from Debian 12 packages.
# libpqxx 6.4 and hiredis 0.14 ship only pkg-config files (no usable CMake targets),
# so both go through pkg-config imported targets.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(simdjson REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(Catch2 2 REQUIRED)
find_package(Threads REQUIRED)
include(Catch)
pkg_check_modules(MAXMINDDB REQUIRED IMPORTED_TARGET libmaxminddb)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
