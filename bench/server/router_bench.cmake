# SPDX-License-Identifier: MIT
# The router micro-benchmark (included by bench/server/CMakeLists.txt).
# Measure with the release preset only:
#   cmake --preset release && cmake --build --preset release --target router_bench
#   bench/server/run-router     (pinned; RESULTS-router.md holds one run)
# It times internals (src/server/router.h), so it links the static library.
add_executable(router_bench ${CMAKE_CURRENT_LIST_DIR}/router_bench.c)
target_include_directories(router_bench PRIVATE ${PROJECT_SOURCE_DIR}/src
  ${PROJECT_BINARY_DIR}/gen)
target_compile_definitions(router_bench PRIVATE _GNU_SOURCE)
target_compile_options(router_bench PRIVATE ${CIO_WARNINGS})
target_link_libraries(router_bench PRIVATE corio_static)
