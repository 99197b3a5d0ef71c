/* io_format.c -- format names, default read parameters, and the format guessed from a file
 * name (AUTO). */
#include "io_read.h"

#include <string.h>

static const char *const format_names[] = {
    [L2H_FORMAT_AUTO] = "auto", [L2H_FORMAT_FVECS] = "fvecs", [L2H_FORMAT_IVECS] = "ivecs",
    [L2H_FORMAT_BVECS] = "bvecs", [L2H_FORMAT_NPY] = "npy",     [L2H_FORMAT_IDX] = "idx",
    [L2H_FORMAT_F32] = "f32",     [L2H_FORMAT_F16] = "f16",     [L2H_FORMAT_U8] = "u8",
    [L2H_FORMAT_ARFF] = "arff",
};
/* sized by the initialiser and pinned, so a new format fails here until it has a name */
_Static_assert(sizeof format_names / sizeof format_names[0] == L2H_FORMAT_COUNT,
               "one name per format");
_Static_assert(L2H_FORMAT_COUNT == 10, "a format was added: give it a name above");

l2h_read_params l2h_read_default_params(void)
{
    const l2h_read_params p = {L2H_FORMAT_AUTO, 0, 0, 0};
    return p;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive equality of s[0..n) and the lower-case literal t (no locale). */
static int eq_nocase(const char *s, size_t n, const char *t)
{
    if (strlen(t) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != t[i]) return 0;
    return 1;
}

static int ends_with_nocase(const char *s, size_t n, const char *suffix)
{
    const size_t k = strlen(suffix);
    return n >= k && eq_nocase(s + n - k, k, suffix);
}

l2h_status l2h_format_parse(const char *name, l2h_format *out)
{
    L2H_FAIL_IF(name == NULL || out == NULL, L2H_ERR_ARG, "format: NULL argument");
    const size_t n = strlen(name);
    for (int f = 0; f < L2H_FORMAT_COUNT; f++)
        if (eq_nocase(name, n, format_names[f])) {
            *out = (l2h_format)f;
            return L2H_OK;
        }
    L2H_FAIL(L2H_ERR_ARG,
             "unknown format '%s' (known: auto fvecs ivecs bvecs npy idx f32 f16 u8 arff)", name);
}

const char *l2h_format_name(l2h_format f)
{
    if ((int)f < 0 || f >= L2H_FORMAT_COUNT) return "unknown";
    return format_names[f];
}

l2h_status l2h_format_from_name(const char *name, l2h_format *out)
{
    L2H_FAIL_IF(name == NULL, L2H_ERR_ARG, "format: NULL file name");
    size_t n = strlen(name);
    const int gz = ends_with_nocase(name, n, ".gz");
    if (gz) n -= 3;
    if (ends_with_nocase(name, n, "-ubyte") || ends_with_nocase(name, n, ".idx")) {
        *out = L2H_FORMAT_IDX;
        return L2H_OK;
    }
    static const struct {
        const char *ext;
        l2h_format f;
    } exts[] = {
        {".fvecs", L2H_FORMAT_FVECS}, {".ivecs", L2H_FORMAT_IVECS}, {".bvecs", L2H_FORMAT_BVECS},
        {".npy", L2H_FORMAT_NPY},     {".arff", L2H_FORMAT_ARFF},   {".f32", L2H_FORMAT_F32},
        {".f16", L2H_FORMAT_F16},     {".u8", L2H_FORMAT_U8},
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (ends_with_nocase(name, n, exts[i].ext)) {
            L2H_FAIL_IF(gz, L2H_ERR_UNSUPPORTED,
                        "%s: only IDX files (-ubyte.gz, .idx.gz) may be gzip-compressed; "
                        "decompress it first",
                        name);
            *out = exts[i].f;
            return L2H_OK;
        }
    L2H_FAIL(L2H_ERR_ARG,
             "%s: cannot tell the format from the name (known extensions: .fvecs .ivecs .bvecs "
             ".npy .arff .f32 .f16 .u8 -ubyte .idx, optionally .gz for IDX); give the format",
             name);
}
