#!/usr/bin/env bash
# Screenshot a collop report (or any local HTML page) as a headless browser
# renders it, to look at its layout without a display:
#
#   scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
#
# WIDTH x HEIGHT is the browser window in pixels (default 1400 x 4000);
# the page is cut at HEIGHT. Needs Chromium; this script installs nothing.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 4 ]]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH] [HEIGHT]" >&2
    exit 2
fi
report=$1
out=$2
width=${3:-1400}
height=${4:-4000}

if [[ ! -f $report ]]; then
    echo "$0: $report is not a file" >&2
    exit 1
fi
browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser=$b
        break
    fi
done
if [[ -z $browser ]]; then
    echo "$0: no Chromium found; on Debian or Ubuntu: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

# Absolute paths: the browser takes a file:// URL, and writes the
# screenshot relative to its own working directory otherwise.
report_abs=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT

# No sandbox: the page is a local file of our own, and the sandbox does not
# start as root in containers. Everything that would reach the network is off.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$out_abs" --window-size="$width,$height" "file://$report_abs" \
    >"$log" 2>&1 || true
if [[ ! -s $out_abs ]]; then
    echo "$0: $browser wrote no screenshot to $out; it said:" >&2
    cat "$log" >&2
    exit 1
fi
echo "wrote $out (${width} x ${height})"
