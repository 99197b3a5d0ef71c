/* rng.c -- xoshiro256** (Blackman & Vigna) seeded by splitmix64; every random choice in the
 * library draws from an explicitly seeded l2h_rng, so results are reproducible from a seed. */
#include "core.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void l2h_rng_seed(l2h_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0.0;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t l2h_rng_next(l2h_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double l2h_rng_uniform(l2h_rng *r)
{
    return (double)(l2h_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t l2h_rng_below(l2h_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* rejection sampling on the top of the range keeps the draw unbiased */
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = l2h_rng_next(r);
    } while (x >= limit);
    return x % n;
}

double l2h_rng_normal(l2h_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do { /* Marsaglia polar method */
        u = 2.0 * l2h_rng_uniform(r) - 1.0;
        v = 2.0 * l2h_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

void l2h_rng_shuffle(l2h_rng *r, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)l2h_rng_below(r, i);
        const size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
