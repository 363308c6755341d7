/* SPDX-License-Identifier: MIT */
#ifndef CORIO_VERSION_H
#define CORIO_VERSION_H

#define CIO_VERSION_MAJOR 0
#define CIO_VERSION_MINOR 1
#define CIO_VERSION_PATCH 0
#define CIO_VERSION_STRING "0.1.0"

#if defined(_WIN32)
#define CIO_API
#else
#define CIO_API __attribute__((visibility("default")))
#endif

#define CIO_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* Returns CIO_VERSION_STRING of the library actually linked. */
CIO_API const char *cio_version(void);

#endif
