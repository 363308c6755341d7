/* SPDX-License-Identifier: MIT */
/*
 * A program that uses an installed corio the way a user would: only
 * <corio/corio.h>, built by scripts/test-install through find_package and
 * through pkg-config. It runs one task that sleeps 1 ms, then prints the
 * version of the library it actually linked.
 */
#include <corio/corio.h>
#include <stdio.h>

static int amain(void *arg)
{
    (void)arg;
    int rc = cio_sleep(cio_after(1));
    if (rc < 0)
        return rc;
    printf("corio %s\n", cio_version());
    return 0;
}

int main(void)
{
    int rc = cio_run(amain, NULL);
    if (rc < 0) {
        fprintf(stderr, "consumer: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
