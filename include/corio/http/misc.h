/* SPDX-License-Identifier: MIT */
/* Being written (issue 3). */
#include <corio/http/common.h>
