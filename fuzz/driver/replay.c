/* SPDX-License-Identifier: MIT */
/*
 * Runs saved inputs through a fuzz target without libFuzzer, so that any
 * compiler builds it and CTest replays fuzz/corpus/<t>/ and fuzz/regress/<t>/
 * under the build's sanitizers (fuzz/CMakeLists.txt).
 *
 * Usage: fuzz_<t>_replay PATH...
 * Each PATH is a file or a directory; a directory contributes its regular
 * files in name order, skipping dot files (.gitkeep). A PATH that does not
 * exist counts as empty: CMake passes both directories of every target.
 * The empty input runs first, so a target without saved inputs is still
 * exercised once. Each input sits in a buffer of exactly its size, so that
 * ASan catches a read past its end. Exits 0 when every input ran; a bug
 * found by a sanitizer aborts the program.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static size_t nrun;

static int run_buf(const uint8_t *data, size_t size)
{
    /* Copied so that the target never sees more bytes than size. */
    uint8_t *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) {
        fprintf(stderr, "replay: out of memory (%zu bytes)\n", size);
        return -1;
    }
    if (size > 0)
        memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    nrun++;
    return 0;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *n = realloc(data, ncap);
            if (n == NULL) {
                fprintf(stderr, "replay: %s: out of memory\n", path);
                rc = -1;
                goto close_file;
            }
            data = n;
            cap = ncap;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        rc = -1;
        goto close_file;
    }
    rc = run_buf(data, len);
close_file:
    free(data);
    fclose(f);
    return rc;
}

static int skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int run_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dot, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = run_file(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    if (run_buf((const uint8_t *)"", 0) < 0)
        return 1;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc;
        if (stat(argv[i], &st) < 0) {
            if (errno == ENOENT) {
                printf("replay: %s: absent, no inputs\n", argv[i]);
                continue;
            }
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        rc = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (rc < 0)
            return 1;
    }
    printf("replay: %zu inputs ran\n", nrun);
    return 0;
}
