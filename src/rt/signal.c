/* SPDX-License-Identifier: MIT */
/* PLACEHOLDER: signals are being written (issue 2). */
#include "rt/rt_int.h"

void cio__signal_dispatch(struct cio_loop *l)
{
    (void)l;
}

void cio__signal_loop_fini(struct cio_loop *l)
{
    (void)l;
}
