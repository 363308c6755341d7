# SPDX-License-Identifier: MIT
# CIO_SANITIZE="address;undefined" or "thread": applied to every target.
if(CIO_SANITIZE)
  string(REPLACE ";" "," _cio_san "${CIO_SANITIZE}")
  add_compile_options(-fsanitize=${_cio_san} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_cio_san})
endif()

# CIO_BUILD_FUZZ: every target gets libFuzzer's coverage instrumentation;
# fuzz/CMakeLists.txt links the libFuzzer runtime (-fsanitize=fuzzer) into
# the fuzz programs only.
if(CIO_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CIO_BUILD_FUZZ needs clang (use the fuzz preset), not ${CMAKE_C_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
