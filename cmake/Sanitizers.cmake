# SPDX-License-Identifier: MIT
# CIO_SANITIZE="address;undefined" or "thread": applied to every target.
if(CIO_SANITIZE)
  string(REPLACE ";" "," _cio_san "${CIO_SANITIZE}")
  add_compile_options(-fsanitize=${_cio_san} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_cio_san})
endif()
