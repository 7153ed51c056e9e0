# Build conventions shared by every target (see STYLE.md, "Layout and build").

add_library(plumb_warnings INTERFACE)
target_compile_options(plumb_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  # Not -Wnull-dereference: at -O3 it fires inside inlined Asio code (GCC 12 false positives).
  # -Wno-restrict: GCC 12 bug 105329, false positives on std::string concatenation at -O3.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
  $<$<BOOL:${PLUMB_WERROR}>:-Werror>)

add_library(plumb_sanitizers INTERFACE)
if(PLUMB_SANITIZE STREQUAL "address")
  target_compile_options(plumb_sanitizers INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(plumb_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(PLUMB_SANITIZE STREQUAL "thread")
  # GCC 12 warns (-Wtsan) about Asio's atomic_thread_fence even from system headers.
  target_compile_options(plumb_sanitizers INTERFACE -fsanitize=thread -Wno-tsan)
  target_link_options(plumb_sanitizers INTERFACE -fsanitize=thread)
elseif(PLUMB_SANITIZE)
  message(FATAL_ERROR "PLUMB_SANITIZE must be empty, address or thread")
endif()
if(PLUMB_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # Coverage feedback for libFuzzer in every library the targets link.
  target_compile_options(plumb_sanitizers INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(plumb_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# Service executables allocate with jemalloc: under glibc's malloc the worker spent ~30% of its CPU
# in malloc/free (consolidating the chunks of each batch's many small strings). Sanitizers bring
# their own allocator, so they keep it.
add_library(plumb_allocator INTERFACE)
if(NOT PLUMB_SANITIZE AND NOT PLUMB_FUZZ)
  target_link_libraries(plumb_allocator INTERFACE PkgConfig::JEMALLOC)
endif()

add_library(plumb_options INTERFACE)
target_link_libraries(plumb_options INTERFACE plumb_warnings plumb_sanitizers)
# Asio: no deprecated API, and Beast/Asio compile noticeably faster without it.
target_compile_definitions(plumb_options INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

# plumb_add_tests(<prefix> LABEL <label> SOURCES ... DEPS ...)
# One Catch2 executable per library/service and label; CTest learns each TEST_CASE.
function(plumb_add_tests prefix)
  cmake_parse_arguments(T "" "LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT T_SOURCES)
    return()
  endif()
  set(exe ${prefix}_${T_LABEL}_tests)
  add_executable(${exe} ${T_SOURCES} ${PROJECT_SOURCE_DIR}/tests/support/catch_main.cpp)
  target_link_libraries(${exe} PRIVATE plumb_options Catch2::Catch2 ${T_DEPS})
  # Discovery cuts a test name at ";" and Catch2 answers a name it does not know with "No tests
  # ran" and success: fail instead, so no test is silently skipped.
  catch_discover_tests(${exe}
    TEST_PREFIX "${prefix}: "
    PROPERTIES LABELS ${T_LABEL} FAIL_REGULAR_EXPRESSION "No tests ran"
    DISCOVERY_MODE PRE_TEST)
endfunction()

# plumb_add_library(<name> [HEADER_ONLY] DEPS ... PRIVATE_DEPS ...)
# Builds libs/<name> as target plumb_<name> (alias plumb::<name>) from src/*.cpp, with public
# headers in include/. Tests beside the sources are wired by label from their file name:
#   *_test.cpp -> unit, *_pg_test.cpp -> pg, *_redis_test.cpp -> redis.
function(plumb_add_library name)
  cmake_parse_arguments(L "" "" "DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/src/*.cpp)
  list(FILTER sources EXCLUDE REGEX "_test\\.cpp$")
  add_library(plumb_${name} STATIC ${sources})
  add_library(plumb::${name} ALIAS plumb_${name})
  target_include_directories(plumb_${name} PUBLIC ${dir}/include PRIVATE ${dir}/src)
  target_link_libraries(plumb_${name} PUBLIC ${L_DEPS} PRIVATE plumb_options ${L_PRIVATE_DEPS})
  plumb_wire_tests(${name} ${dir}/src plumb::${name} ${L_TEST_DEPS})
endfunction()

# plumb_wire_tests(<prefix> <dir> <deps...>): the label convention above, for a folder.
function(plumb_wire_tests prefix dir)
  file(GLOB all_tests CONFIGURE_DEPENDS ${dir}/*_test.cpp)
  set(unit ${all_tests})
  list(FILTER unit EXCLUDE REGEX "_(pg|redis)_test\\.cpp$")
  set(pg ${all_tests})
  list(FILTER pg INCLUDE REGEX "_pg_test\\.cpp$")
  set(redis ${all_tests})
  list(FILTER redis INCLUDE REGEX "_redis_test\\.cpp$")
  plumb_add_tests(${prefix} LABEL unit SOURCES ${unit} DEPS ${ARGN})
  plumb_add_tests(${prefix} LABEL pg SOURCES ${pg} DEPS ${ARGN} plumb::test_support)
  plumb_add_tests(${prefix} LABEL redis SOURCES ${redis} DEPS ${ARGN} plumb::test_support)
endfunction()

# plumb_add_service(<name> DEPS ... [TEST_DEPS ...])
# A service is an object library (every .cpp in its folder but main.cpp and tests) plus a thin
# executable from main.cpp; its tests link the same objects (and TEST_DEPS).
function(plumb_add_service name)
  cmake_parse_arguments(S "" "" "DEPS;TEST_DEPS" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  list(FILTER sources EXCLUDE REGEX "(_test|/main)\\.cpp$")
  add_library(${name}_objects OBJECT ${sources})
  target_include_directories(${name}_objects PUBLIC ${dir})
  target_link_libraries(${name}_objects PUBLIC ${S_DEPS} PRIVATE plumb_options)
  add_executable(${name} ${dir}/main.cpp)
  target_link_libraries(${name} PRIVATE ${name}_objects plumb_options plumb_allocator)
  plumb_wire_tests(${name} ${dir} ${name}_objects ${S_TEST_DEPS})
endfunction()

# plumb_embed_files(<target> NAMESPACE ns FUNCTION fn FILES ...)
# Compiles FILES into <target> as `std::span<const plumb::core::embedded_file> ns::fn()`.
function(plumb_embed_files target)
  cmake_parse_arguments(E "" "NAMESPACE;FUNCTION" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${E_FUNCTION}_embedded.cpp)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} "-DOUT=${out}" "-DFILES=${E_FILES}" -DNAMESPACE=${E_NAMESPACE}
            -DFUNCTION=${E_FUNCTION} -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "Embedding ${E_FUNCTION}" VERBATIM)
  target_sources(${target} PRIVATE ${out})
  target_link_libraries(${target} PRIVATE plumb::core)
endfunction()
