#!/usr/bin/env bash
# tests/integration/test_crawl_crash.sh BUILD — the short mode of the crawl's crash-equivalence
# campaign (tests/fault/crawl_campaign.sh): 3 kill -9 + restarts of `clipcrawl crawl` on a
# 2000-pair fixture web, checked after each kill and compared with a clean crawl at the end.
# About 30 s on 2 cores. The seed is fixed (1) unless CAMPAIGN_SEED is set, so that a failure
# replays with the same kill moments; `make fault` runs the full campaign (20 kills, random seed).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
export CAMPAIGN_SEED=${CAMPAIGN_SEED:-1}
exec bash "$ROOT/tests/fault/crawl_campaign.sh" "$BUILD" 3
