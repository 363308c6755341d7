/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <corio/http/misc.h>

#include "base/errmsg.h"
#include "http/headers_int.h"
#include "http/misc_int.h"

/* ------------------------------------------------------------ status */

const char *cio_http_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 207:
        return "Multi-Status";
    case 208:
        return "Already Reported";
    case 226:
        return "IM Used";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 418:
        return "I'm a teapot";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 423:
        return "Locked";
    case 424:
        return "Failed Dependency";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 506:
        return "Variant Also Negotiates";
    case 507:
        return "Insufficient Storage";
    case 508:
        return "Loop Detected";
    case 510:
        return "Not Extended";
    case 511:
        return "Network Authentication Required";
    default:
        return "";
    }
}

/* ------------------------------------------------------------ dates */

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                 "Thu", "Fri", "Sat"};
static const char *const wdays_long[7] = {"Sunday",    "Monday",   "Tuesday",
                                          "Wednesday", "Thursday", "Friday",
                                          "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). The era
 * arithmetic keeps it exact for negative years too. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

int cio_http_date_format(time_t t, char *buf)
{
    /* Done by hand rather than with gmtime_r + strftime: no locale, no
     * time zone database, and the same result on every libc. */
    int64_t secs = (int64_t)t;
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return CIO_EINVAL;
    int wd = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    memcpy(buf, wdays[wd], 3);
    memcpy(buf + 3, ", ", 2);
    put2(buf + 5, d);
    buf[7] = ' ';
    memcpy(buf + 8, months[m - 1], 3);
    buf[11] = ' ';
    put2(buf + 12, (int)(y / 100));
    put2(buf + 14, (int)(y % 100));
    buf[16] = ' ';
    put2(buf + 17, (int)(rem / 3600));
    buf[19] = ':';
    put2(buf + 20, (int)(rem / 60 % 60));
    buf[22] = ':';
    put2(buf + 23, (int)(rem % 60));
    memcpy(buf + 25, " GMT", 5); /* with the NUL */
    return CIO_HTTP_DATE_LEN;
}

/* A cursor over the date text: each matcher consumes or fails. */
struct rd {
    const char *p, *end;
};

static bool lit(struct rd *r, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n) != 0)
        return false;
    r->p += n;
    return true;
}

static bool digits(struct rd *r, int n, int *out)
{
    int v = 0;
    if (r->end - r->p < n)
        return false;
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->p[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    r->p += n;
    *out = v;
    return true;
}

static bool month(struct rd *r, int *m)
{
    for (int i = 0; i < 12; i++) {
        if (lit(r, months[i])) {
            *m = i + 1;
            return true;
        }
    }
    return false;
}

static bool time_of_day(struct rd *r, int *h, int *mi, int *s)
{
    return digits(r, 2, h) && lit(r, ":") && digits(r, 2, mi) && lit(r, ":") &&
           digits(r, 2, s);
}

/* RFC 9110 §5.6.7: a two-digit year more than 50 years in the future
 * means the most recent past year with the same last two digits. */
static int64_t full_year(int yy)
{
    time_t now = time(NULL);
    int64_t cy, y;
    int m, d;
    civil_from_days((int64_t)now / 86400, &cy, &m, &d);
    y = cy - cy % 100 + yy;
    if (y > cy + 50)
        y -= 100;
    return y;
}

static int bad_date(const char *s, size_t len, const char *why)
{
    char q[64];
    return cio__err(CIO_EPROTO, "HTTP date \"%s\": %s",
                    cio__headers_quote(q, sizeof(q), s, len), why);
}

int cio_http_date_parse(const char *s, size_t len, time_t *out)
{
    struct rd r = {s, s + len};
    int wd = -1, d = 0, m = 0, h = 0, mi = 0, sec = 0, yv = 0;
    int64_t y = 0;

    if (s == NULL)
        return bad_date("", 0, "missing");
    for (int i = 0; i < 7 && wd < 0; i++) {
        struct rd save = r;
        if (lit(&r, wdays_long[i]) && lit(&r, ", ")) {
            /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            wd = i;
            if (!digits(&r, 2, &d) || !lit(&r, "-") || !month(&r, &m) ||
                !lit(&r, "-") || !digits(&r, 2, &yv) || !lit(&r, " ") ||
                !time_of_day(&r, &h, &mi, &sec) || !lit(&r, " GMT"))
                return bad_date(s, len, "malformed RFC 850 date");
            y = full_year(yv);
            break;
        }
        r = save;
        if (!lit(&r, wdays[i]))
            continue;
        wd = i;
        if (lit(&r, ", ")) {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            if (!digits(&r, 2, &d) || !lit(&r, " ") || !month(&r, &m) ||
                !lit(&r, " ") || !digits(&r, 4, &yv) || !lit(&r, " ") ||
                !time_of_day(&r, &h, &mi, &sec) || !lit(&r, " GMT"))
                return bad_date(s, len, "malformed IMF-fixdate");
        } else if (lit(&r, " ")) {
            /* asctime: Sun Nov  6 08:49:37 1994 (day " 6" or "06") */
            if (!month(&r, &m) || !lit(&r, " "))
                return bad_date(s, len, "malformed asctime date");
            if (!lit(&r, " ") || !digits(&r, 1, &d)) {
                if (!digits(&r, 2, &d))
                    return bad_date(s, len, "malformed asctime date");
            }
            if (!lit(&r, " ") || !time_of_day(&r, &h, &mi, &sec) ||
                !lit(&r, " ") || !digits(&r, 4, &yv))
                return bad_date(s, len, "malformed asctime date");
        } else {
            return bad_date(s, len, "unknown format");
        }
        y = yv;
        break;
    }
    if (wd < 0)
        return bad_date(s, len, "no day name");
    if (r.p != r.end)
        return bad_date(s, len, "trailing bytes");
    if (y < 1)
        return bad_date(s, len, "year 0");
    if (d < 1 || d > days_in_month(y, m))
        return bad_date(s, len, "no such day");
    if (h > 23 || mi > 59 || sec > 60)
        return bad_date(s, len, "no such time");
    *out =
        (time_t)(days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + sec);
    return 0;
}

/* ------------------------------------------------------------ MIME */

/* Sorted by extension (bytewise, lowercase), for binary search. */
const struct cio__mime_entry cio__mime_table[] = {
    {"3g2", "video/3gpp2"},
    {"3gp", "video/3gpp"},
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"abw", "application/x-abiword"},
    {"ac3", "audio/ac3"},
    {"adoc", "text/asciidoc; charset=utf-8"},
    {"ai", "application/postscript"},
    {"aif", "audio/aiff"},
    {"aifc", "audio/aiff"},
    {"aiff", "audio/aiff"},
    {"amr", "audio/amr"},
    {"apk", "application/vnd.android.package-archive"},
    {"apng", "image/apng"},
    {"appcache", "text/cache-manifest; charset=utf-8"},
    {"arc", "application/x-freearc"},
    {"arj", "application/x-arj"},
    {"asc", "text/plain; charset=utf-8"},
    {"asf", "video/x-ms-asf"},
    {"asm", "text/x-asm; charset=utf-8"},
    {"atom", "application/atom+xml"},
    {"au", "audio/basic"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"azw", "application/vnd.amazon.ebook"},
    {"bash", "text/x-shellscript; charset=utf-8"},
    {"bat", "application/x-msdownload"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"bz", "application/x-bzip"},
    {"bz2", "application/x-bzip2"},
    {"c", "text/x-c; charset=utf-8"},
    {"cab", "application/vnd.ms-cab-compressed"},
    {"caf", "audio/x-caf"},
    {"cbor", "application/cbor"},
    {"cc", "text/x-c; charset=utf-8"},
    {"cda", "application/x-cdf"},
    {"cer", "application/pkix-cert"},
    {"cfg", "text/plain; charset=utf-8"},
    {"class", "application/java-vm"},
    {"cmake", "text/x-cmake; charset=utf-8"},
    {"conf", "text/plain; charset=utf-8"},
    {"cpio", "application/x-cpio"},
    {"cpp", "text/x-c; charset=utf-8"},
    {"crl", "application/pkix-crl"},
    {"crt", "application/x-x509-ca-cert"},
    {"csh", "application/x-csh"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"cxx", "text/x-c; charset=utf-8"},
    {"dart", "application/vnd.dart"},
    {"deb", "application/vnd.debian.binary-package"},
    {"der", "application/x-x509-ca-cert"},
    {"diff", "text/x-diff; charset=utf-8"},
    {"djvu", "image/vnd.djvu"},
    {"dll", "application/x-msdownload"},
    {"dmg", "application/x-apple-diskimage"},
    {"doc", "application/msword"},
    {"docm", "application/vnd.ms-word.document.macroenabled.12"},
    {"docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"dot", "application/msword"},
    {"dotx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.template"},
    {"dtd", "application/xml-dtd"},
    {"dvi", "application/x-dvi"},
    {"dwg", "image/vnd.dwg"},
    {"dxf", "image/vnd.dxf"},
    {"ear", "application/java-archive"},
    {"eml", "message/rfc822"},
    {"eot", "application/vnd.ms-fontobject"},
    {"eps", "application/postscript"},
    {"epub", "application/epub+zip"},
    {"es", "application/ecmascript"},
    {"exe", "application/x-msdownload"},
    {"exr", "image/x-exr"},
    {"f", "text/x-fortran; charset=utf-8"},
    {"f90", "text/x-fortran; charset=utf-8"},
    {"fits", "image/fits"},
    {"flac", "audio/flac"},
    {"flv", "video/x-flv"},
    {"gemspec", "text/x-ruby; charset=utf-8"},
    {"geojson", "application/geo+json"},
    {"gif", "image/gif"},
    {"glb", "model/gltf-binary"},
    {"gltf", "model/gltf+json"},
    {"go", "text/x-go; charset=utf-8"},
    {"gpx", "application/gpx+xml"},
    {"gql", "application/graphql"},
    {"graphql", "application/graphql"},
    {"gz", "application/gzip"},
    {"gzip", "application/gzip"},
    {"h", "text/x-c; charset=utf-8"},
    {"hdr", "image/vnd.radiance"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"hh", "text/x-c; charset=utf-8"},
    {"hpp", "text/x-c; charset=utf-8"},
    {"hqx", "application/mac-binhex40"},
    {"htc", "text/x-component; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"hxx", "text/x-c; charset=utf-8"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar; charset=utf-8"},
    {"ifb", "text/calendar; charset=utf-8"},
    {"img", "application/octet-stream"},
    {"ini", "text/plain; charset=utf-8"},
    {"iso", "application/x-iso9660-image"},
    {"jad", "text/vnd.sun.j2me.app-descriptor; charset=utf-8"},
    {"jar", "application/java-archive"},
    {"java", "text/x-java-source; charset=utf-8"},
    {"jfif", "image/jpeg"},
    {"jng", "image/x-jng"},
    {"jp2", "image/jp2"},
    {"jpe", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"jpm", "image/jpm"},
    {"jpx", "image/jpx"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"jsx", "text/jsx; charset=utf-8"},
    {"jxl", "image/jxl"},
    {"key", "application/vnd.apple.keynote"},
    {"kml", "application/vnd.google-earth.kml+xml"},
    {"kmz", "application/vnd.google-earth.kmz"},
    {"kt", "text/x-kotlin; charset=utf-8"},
    {"ktx", "image/ktx"},
    {"ktx2", "image/ktx2"},
    {"latex", "application/x-latex"},
    {"less", "text/less; charset=utf-8"},
    {"lha", "application/x-lzh-compressed"},
    {"lisp", "text/x-lisp; charset=utf-8"},
    {"log", "text/plain; charset=utf-8"},
    {"lua", "text/x-lua; charset=utf-8"},
    {"lz", "application/x-lzip"},
    {"lz4", "application/x-lz4"},
    {"lzh", "application/x-lzh-compressed"},
    {"lzma", "application/x-lzma"},
    {"m", "text/x-objcsrc; charset=utf-8"},
    {"m1v", "video/mpeg"},
    {"m2v", "video/mpeg"},
    {"m3u", "audio/x-mpegurl"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/x-m4v"},
    {"man", "text/troff; charset=utf-8"},
    {"manifest", "text/cache-manifest; charset=utf-8"},
    {"map", "application/json"},
    {"markdown", "text/markdown; charset=utf-8"},
    {"mbox", "application/mbox"},
    {"md", "text/markdown; charset=utf-8"},
    {"mdb", "application/x-msaccess"},
    {"me", "text/troff; charset=utf-8"},
    {"mid", "audio/midi"},
    {"midi", "audio/midi"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mk", "text/x-makefile; charset=utf-8"},
    {"mkv", "video/x-matroska"},
    {"mml", "application/mathml+xml"},
    {"mng", "video/x-mng"},
    {"mobi", "application/x-mobipocket-ebook"},
    {"mov", "video/quicktime"},
    {"mp2", "audio/mpeg"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mp4a", "audio/mp4"},
    {"mpd", "application/dash+xml"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"mpga", "audio/mpeg"},
    {"mpkg", "application/vnd.apple.installer+xml"},
    {"ms", "text/troff; charset=utf-8"},
    {"msg", "application/vnd.ms-outlook"},
    {"msi", "application/x-msdownload"},
    {"mts", "video/mp2t"},
    {"mvt", "application/vnd.mapbox-vector-tile"},
    {"n3", "text/n3; charset=utf-8"},
    {"nb", "application/mathematica"},
    {"nc", "application/x-netcdf"},
    {"numbers", "application/vnd.apple.numbers"},
    {"oda", "application/oda"},
    {"odb", "application/vnd.oasis.opendocument.database"},
    {"odc", "application/vnd.oasis.opendocument.chart"},
    {"odf", "application/vnd.oasis.opendocument.formula"},
    {"odg", "application/vnd.oasis.opendocument.graphics"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"ogx", "application/ogg"},
    {"opus", "audio/opus"},
    {"otf", "font/otf"},
    {"otp", "application/vnd.oasis.opendocument.presentation-template"},
    {"ots", "application/vnd.oasis.opendocument.spreadsheet-template"},
    {"ott", "application/vnd.oasis.opendocument.text-template"},
    {"oxps", "application/oxps"},
    {"p10", "application/pkcs10"},
    {"p12", "application/x-pkcs12"},
    {"p7b", "application/x-pkcs7-certificates"},
    {"p7c", "application/pkcs7-mime"},
    {"p7m", "application/pkcs7-mime"},
    {"p7s", "application/pkcs7-signature"},
    {"p8", "application/pkcs8"},
    {"pages", "application/vnd.apple.pages"},
    {"pas", "text/x-pascal; charset=utf-8"},
    {"patch", "text/x-diff; charset=utf-8"},
    {"pbm", "image/x-portable-bitmap"},
    {"pdb", "application/x-pilot"},
    {"pdf", "application/pdf"},
    {"pem", "application/x-pem-file"},
    {"pfx", "application/x-pkcs12"},
    {"pgm", "image/x-portable-graymap"},
    {"pgp", "application/pgp-encrypted"},
    {"php", "application/x-httpd-php"},
    {"pkg", "application/octet-stream"},
    {"pl", "text/x-perl; charset=utf-8"},
    {"pm", "text/x-perl; charset=utf-8"},
    {"png", "image/png"},
    {"pnm", "image/x-portable-anymap"},
    {"po", "text/x-gettext-translation; charset=utf-8"},
    {"pot", "application/vnd.ms-powerpoint"},
    {"potx",
     "application/vnd.openxmlformats-officedocument.presentationml.template"},
    {"ppm", "image/x-portable-pixmap"},
    {"pps", "application/vnd.ms-powerpoint"},
    {"ppsx",
     "application/vnd.openxmlformats-officedocument.presentationml.slideshow"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptm", "application/vnd.ms-powerpoint.presentation.macroenabled.12"},
    {"pptx", "application/"
             "vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"prc", "application/x-pilot"},
    {"properties", "text/plain; charset=utf-8"},
    {"proto", "text/plain; charset=utf-8"},
    {"ps", "application/postscript"},
    {"psd", "image/vnd.adobe.photoshop"},
    {"py", "text/x-python; charset=utf-8"},
    {"pyc", "application/x-python-code"},
    {"qt", "video/quicktime"},
    {"ra", "audio/x-realaudio"},
    {"ram", "audio/x-pn-realaudio"},
    {"rar", "application/vnd.rar"},
    {"rb", "text/x-ruby; charset=utf-8"},
    {"rdf", "application/rdf+xml"},
    {"rm", "application/vnd.rn-realmedia"},
    {"roff", "text/troff; charset=utf-8"},
    {"rpm", "application/x-redhat-package-manager"},
    {"rs", "text/x-rust; charset=utf-8"},
    {"rss", "application/rss+xml"},
    {"rst", "text/x-rst; charset=utf-8"},
    {"rtf", "application/rtf"},
    {"run", "application/x-makeself"},
    {"s", "text/x-asm; charset=utf-8"},
    {"sass", "text/x-sass; charset=utf-8"},
    {"scala", "text/x-scala; charset=utf-8"},
    {"scss", "text/x-scss; charset=utf-8"},
    {"sea", "application/x-sea"},
    {"sgm", "text/sgml; charset=utf-8"},
    {"sgml", "text/sgml; charset=utf-8"},
    {"sh", "application/x-sh"},
    {"shtml", "text/html; charset=utf-8"},
    {"sig", "application/pgp-signature"},
    {"sit", "application/x-stuffit"},
    {"sitx", "application/x-stuffitx"},
    {"sql", "application/sql"},
    {"srt", "application/x-subrip"},
    {"svg", "image/svg+xml"},
    {"svgz", "image/svg+xml"},
    {"swf", "application/x-shockwave-flash"},
    {"swift", "text/x-swift; charset=utf-8"},
    {"t", "text/troff; charset=utf-8"},
    {"tar", "application/x-tar"},
    {"tcl", "application/x-tcl"},
    {"tex", "application/x-tex"},
    {"texi", "application/x-texinfo"},
    {"texinfo", "application/x-texinfo"},
    {"text", "text/plain; charset=utf-8"},
    {"tga", "image/x-tga"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"tk", "application/x-tcl"},
    {"toml", "application/toml"},
    {"torrent", "application/x-bittorrent"},
    {"tr", "text/troff; charset=utf-8"},
    {"ts", "video/mp2t"},
    {"tsv", "text/tab-separated-values; charset=utf-8"},
    {"ttc", "font/collection"},
    {"ttf", "font/ttf"},
    {"ttl", "text/turtle; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"udeb", "application/vnd.debian.binary-package"},
    {"vcard", "text/vcard; charset=utf-8"},
    {"vcf", "text/vcard; charset=utf-8"},
    {"vcs", "text/x-vcalendar; charset=utf-8"},
    {"vsd", "application/vnd.visio"},
    {"vsdx", "application/vnd.ms-visio.drawing"},
    {"vtt", "text/vtt; charset=utf-8"},
    {"war", "application/java-archive"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"wbmp", "image/vnd.wap.wbmp"},
    {"weba", "audio/webm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"wma", "audio/x-ms-wma"},
    {"wmf", "image/wmf"},
    {"wml", "text/vnd.wap.wml; charset=utf-8"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wsdl", "application/wsdl+xml"},
    {"xbm", "image/x-xbitmap"},
    {"xcf", "image/x-xcf"},
    {"xht", "application/xhtml+xml"},
    {"xhtml", "application/xhtml+xml"},
    {"xlam", "application/vnd.ms-excel.addin.macroenabled.12"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsb", "application/vnd.ms-excel.sheet.binary.macroenabled.12"},
    {"xlsm", "application/vnd.ms-excel.sheet.macroenabled.12"},
    {"xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xlt", "application/vnd.ms-excel"},
    {"xltx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.template"},
    {"xml", "application/xml"},
    {"xpi", "application/x-xpinstall"},
    {"xpm", "image/x-xpixmap"},
    {"xsd", "application/xml"},
    {"xsl", "application/xslt+xml"},
    {"xslt", "application/xslt+xml"},
    {"xspf", "application/xspf+xml"},
    {"xul", "application/vnd.mozilla.xul+xml"},
    {"xwd", "image/x-xwindowdump"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"z", "application/x-compress"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};
const size_t cio__mime_count =
    sizeof(cio__mime_table) / sizeof(cio__mime_table[0]);

static int ext_cmp(const char *ext, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)ext[i], b = (unsigned char)key[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a + 32);
        if (b == '\0' || a != b)
            return b == '\0' ? 1 : (int)a - (int)b;
    }
    return key[n] == '\0' ? 0 : -1;
}

const char *cio_mime_lookup(const char *name)
{
    if (name == NULL)
        return NULL;
    const char *seg = strrchr(name, '/');
    seg = seg != NULL ? seg + 1 : name;
    const char *dot = strrchr(seg, '.');
    const char *ext;
    if (dot != NULL)
        ext = dot + 1;
    else if (seg == name)
        ext = name; /* a bare extension */
    else
        return NULL;
    size_t n = strlen(ext);
    if (n == 0 || n > 16)
        return NULL;
    size_t lo = 0, hi = cio__mime_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ext_cmp(ext, n, cio__mime_table[mid].ext);
        if (c == 0)
            return cio__mime_table[mid].type;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *cio_mime_type(const char *name)
{
    const char *t = cio_mime_lookup(name);
    return t != NULL ? t : "application/octet-stream";
}
