/* SPDX-License-Identifier: MIT */
#include "http/token.h"

/* Each class as a predicate on the byte value c (0..255), so that the table
 * below is computed by the compiler and reads as the RFC grammar. */
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_HEX(c)                                                              \
    (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_VCHAR(c) ((c) >= 0x21 && (c) <= 0x7e)
/* RFC 9110 §5.6.2 */
#define IS_TCHAR(c)                                                            \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' ||   \
     (c) == '%' || (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' ||    \
     (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' || (c) == '`' ||     \
     (c) == '|' || (c) == '~')
/* RFC 9110 §5.5: field-vchar, SP, HTAB */
#define IS_VALUE(c) (IS_VCHAR(c) || (c) >= 0x80 || (c) == ' ' || (c) == '\t')
/* RFC 9112 §3.2 (RFC 3986 characters; '#' starts a fragment, never sent) */
#define IS_TARGET(c) (IS_VCHAR(c) && (c) != '#')
/* RFC 3986 §2.2-2.3: unreserved and sub-delims */
#define IS_HOST(c)                                                             \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' ||   \
     (c) == '~' || (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' ||    \
     (c) == '(' || (c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' ||     \
     (c) == ';' || (c) == '=')
#define IS_SCHEME(c)                                                           \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '+' || (c) == '-' || (c) == '.')

#define CLS(c)                                                                 \
    ((IS_TCHAR(c) ? CIO__TOK_TCHAR : 0) | (IS_VALUE(c) ? CIO__TOK_VALUE : 0) | \
     (IS_TARGET(c) ? CIO__TOK_TARGET : 0) | (IS_HOST(c) ? CIO__TOK_HOST : 0) | \
     (IS_DIGIT(c) ? CIO__TOK_DIGIT : 0) | (IS_HEX(c) ? CIO__TOK_HEX : 0) |     \
     (IS_SCHEME(c) ? CIO__TOK_SCHEME : 0))
#define R4(b) CLS((b)), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4((b)), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16((b)), R16((b) + 16), R16((b) + 32), R16((b) + 48)

const uint8_t cio__tok_cls[256] = {R64(0), R64(64), R64(128), R64(192)};
