# Script mode (run by services/collector/CMakeLists.txt at build time): minifies the tracker with
# terser, gzips the result with `gzip -9 -n` and fails the build when the gzipped script is over
# its budget. Writes OUT_DIR/script.js and OUT_DIR/script.js.gz only when every step succeeded, so
# a failed check leaves no output behind and the next build tries again.
#
# Inputs: NODE, GZIP (programs), SOURCE (tracker/script.js), TERSER (terser's bin/terser in
# tracker/node_modules), OUT_DIR, MAX_GZIP_BYTES.

foreach(var NODE GZIP SOURCE TERSER OUT_DIR MAX_GZIP_BYTES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "tracker/build.cmake: ${var} is not set")
  endif()
endforeach()

if(NOT EXISTS "${TERSER}")
  get_filename_component(tracker_dir "${SOURCE}" DIRECTORY)
  message(FATAL_ERROR
    "terser is not installed (${TERSER} is missing).\n"
    "Install the tracker's pinned build tools first: npm ci --prefix ${tracker_dir}\n"
    "(scripts/plumb up and scripts/plumb test do this before they build).")
endif()

file(MAKE_DIRECTORY "${OUT_DIR}")
set(min_tmp "${OUT_DIR}/script.js.tmp")
set(gz_tmp "${OUT_DIR}/script.js.gz.tmp")

# A classic script wrapped in its own arrow IIFE: names inside it are safe to mangle. --ecma 2020
# matches the source's language floor (script.js header); `comments false` drops every comment
# (there is no license banner to keep: the script is ours).
execute_process(
  COMMAND "${NODE}" "${TERSER}" "${SOURCE}"
          --compress passes=2 --mangle --comments false --ecma 2020 --output "${min_tmp}"
  RESULT_VARIABLE terser_result
  ERROR_VARIABLE terser_error)
if(NOT terser_result EQUAL 0)
  message(FATAL_ERROR "terser failed on ${SOURCE}:\n${terser_error}")
endif()

# -n: no file name or time stamp in the header, so the output is reproducible.
execute_process(
  COMMAND "${GZIP}" -9 -n -c "${min_tmp}"
  OUTPUT_FILE "${gz_tmp}"
  RESULT_VARIABLE gzip_result
  ERROR_VARIABLE gzip_error)
if(NOT gzip_result EQUAL 0)
  message(FATAL_ERROR "gzip failed on the minified tracker:\n${gzip_error}")
endif()

file(SIZE "${min_tmp}" min_bytes)
file(SIZE "${gz_tmp}" gz_bytes)
if(gz_bytes GREATER MAX_GZIP_BYTES)
  file(REMOVE "${min_tmp}" "${gz_tmp}")
  message(FATAL_ERROR
    "Tracker script over its size budget: ${gz_bytes} bytes gzipped (gzip -9 -n of the terser "
    "output), the budget is ${MAX_GZIP_BYTES} bytes. Make ${SOURCE} smaller.")
endif()

file(RENAME "${min_tmp}" "${OUT_DIR}/script.js")
file(RENAME "${gz_tmp}" "${OUT_DIR}/script.js.gz")
message(STATUS "Tracker script: ${min_bytes} bytes minified, ${gz_bytes} bytes gzipped "
               "(budget ${MAX_GZIP_BYTES})")
