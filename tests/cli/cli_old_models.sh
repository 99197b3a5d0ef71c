#!/bin/sh
# Model files written by an earlier build (main at 0e08916, before the batch registry and before
# linear networks became l2h_nn layers) keep loading and encode to the very codes that build
# wrote: LSH, ITQ, JMLH (with its classifier's extra tensors) and an MLP MIHash model on 60
# rows of 8 features (fixtures/, made with `l2h train` + `l2h encode` of that build).
# $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
F="$(dirname "$0")/fixtures"
for m in lsh itq jmlh mihash_mlp; do
  expect_code 0 "encode old $m model" "$L2H" encode -m "$F/old_$m.st" --data "$F/old_x.npy" \
    -o "$T/$m.npy"
  cmp -s "$T/$m.npy" "$F/old_${m}_codes.npy" && ok || bad "$m: codes differ from the old build's"
done
finish
