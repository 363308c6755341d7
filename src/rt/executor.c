/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: the executor is being written (issue 2). */
#include "rt/rt_int.h"

void cio__executor_loop_fini(struct cio_loop *l)
{
    (void)l;
}
