/* SPDX-License-Identifier: MIT */
#ifndef CORIO_TOOL_CMD_H
#define CORIO_TOOL_CMD_H

/*
 * The commands of the corio program. Each gets the arguments after the
 * program name (argv[0] is the command's own name, e.g. "get") and returns
 * the process exit status. main.c maps names to these functions.
 */

int cmd_http(int argc, char **argv); /* get post put patch delete head */
int cmd_serve(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv); /* tools/corio/bench*.c */

/*
 * Reads the value s of a numeric option as a plain decimal integer in
 * lo..hi: no sign, spaces or trailing text, no overflow ("-1" is not read
 * as 2^64 - 1, "abc" not as 0). On failure prints "corio CMD: OPT wants an
 * integer LO..HI, not \"S\"" on stderr and returns -1; the caller exits
 * with its command's usage status. *out is written only on success.
 */
int cli_uint(const char *cmd, const char *opt, const char *s,
             unsigned long long lo, unsigned long long hi,
             unsigned long long *out);

/* The same for a number of seconds (fractions allowed, no exponent, hex,
 * "nan" or "inf") in lo..hi. */
int cli_seconds(const char *cmd, const char *opt, const char *s, double lo,
                double hi, double *out);

#endif
