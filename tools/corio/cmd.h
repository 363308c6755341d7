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

#endif
