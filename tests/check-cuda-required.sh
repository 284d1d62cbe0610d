#!/bin/bash
# The GPU suites' skip rule, checked on any machine (ctest: cuda_required_rule). Where a
# suite skips (no NVIDIA driver, or no GPU), GPULAB_REQUIRE_CUDA=1 must turn every skip into
# a failure that says why: exit 1, one failure per test that skipped, no SKIP line. Where
# nothing skips (CUDA usable), the suite must run the same with or without it.
# Usage: check-cuda-required.sh SUITE_PROGRAM...
set -u
status=0
for suite in "$@"; do
  name=$(basename "$suite")
  plain=$(env -u GPULAB_REQUIRE_CUDA "$suite" 2>&1)
  plain_rc=$?
  required=$(GPULAB_REQUIRE_CUDA=1 "$suite" 2>&1)
  required_rc=$?
  plain_skips=$(grep -c "^SKIP .*no CUDA device" <<<"$plain")
  if [ "$plain_rc" -ne 0 ] && [ "$plain_rc" -ne 77 ]; then
    echo "FAIL $name: exited $plain_rc on its own (a GPU that is present but unusable fails):"
    echo "$plain" | sed 's/^/    /'
    status=1
  elif [ "$plain_skips" -gt 0 ]; then
    fails=$(grep -c "^FAIL!  : .*GPULAB_REQUIRE_CUDA=1 but CUDA is not usable" <<<"$required")
    skips=$(grep -c "^SKIP" <<<"$required")
    if [ "$required_rc" -ne 1 ] || [ "$fails" -ne "$plain_skips" ] || [ "$skips" -ne 0 ]; then
      echo "FAIL $name: $plain_skips tests skip here, but with GPULAB_REQUIRE_CUDA=1 it exited $required_rc" \
        "with $fails failures saying why and $skips skips (expected exit 1, $plain_skips failures, no skip):"
      echo "$required" | sed 's/^/    /'
      status=1
    else
      echo "OK   $name: $plain_skips tests skip here; with GPULAB_REQUIRE_CUDA=1 each fails and says why"
    fi
  elif [ "$required_rc" -ne "$plain_rc" ]; then
    echo "FAIL $name: nothing skips here (CUDA usable), but GPULAB_REQUIRE_CUDA=1 changed its exit to $required_rc:"
    echo "$required" | sed 's/^/    /'
    status=1
  else
    echo "OK   $name: nothing skips here (CUDA usable); the same with GPULAB_REQUIRE_CUDA=1"
  fi
done
exit $status
