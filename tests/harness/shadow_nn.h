/* shadow_nn.h -- a plain double-precision re-implementation of every l2h_nn layer, from the
 * network's layer records, for end-to-end finite-difference tests of an objective through a
 * network: the loss is recomputed in double (free of the float noise), and `pattern` hashes
 * every ReLU sign and max-pool choice so the gradient checks can skip steps that cross a kink. */
#ifndef L2H_SHADOW_NN_H
#define L2H_SHADOW_NN_H

#include "nn_internal.h"

#include <stdint.h>

/* One layer: y = layer(x) with parameters p (the network's arena layout) in double; *pat is
 * mixed with the layer's kink state. */
void shadow_layer(const l2h_layer *l, const double *p, const double *x, double *y, uint64_t *pat);

/* z[n, out_dim] (malloc'd; NULL when out of memory) = the network with parameters p applied to
 * the n rows of x; *pattern receives the kink hash of all rows. */
double *shadow_forward(const l2h_nn *net, const double *p, const float *x, size_t n,
                       uint64_t *pattern);

#endif
