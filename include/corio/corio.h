/* SPDX-License-Identifier: MIT */
#ifndef CORIO_H
#define CORIO_H

#include <corio/version.h>
#include <corio/error.h>
#include <corio/rt.h>
#include <corio/net.h>
#include <corio/tls.h>
#include <corio/http.h>
#include <corio/client.h>
#include <corio/bench.h>
#include <corio/server.h>

#endif
