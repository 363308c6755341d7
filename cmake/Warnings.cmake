# SPDX-License-Identifier: MIT
set(CIO_WARNINGS -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes
  -Wmissing-prototypes -Wno-unused-parameter -Wvla)
if(CIO_WERROR)
  list(APPEND CIO_WARNINGS -Werror)
endif()
