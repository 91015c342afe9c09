#!/usr/bin/env bash
# Idle cost of the daemon: RSS and CPU after MINUTES idle with 10 sources.
# Usage: benches/idle.sh [MINUTES] (default 10). Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
bin=target/release/flexysync
[ -x "$bin" ] || cargo build --release --bin flexysync
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" sandbox --listen 127.0.0.1:0 > "$work/sandbox.out" &
for _ in $(seq 50); do [ -s "$work/sandbox.out" ] && break; sleep 0.1; done
base=$(head -1 "$work/sandbox.out")
today=$(date -u +%Y%m%d)
{
cat <<TOML
[flexykey]
base_url = "$base"
username = "api-user"
password = "sandbox-password"
[ledger]
path = "$work/ledger.db"
[server]
listen = "127.0.0.1:0"
[log]
level = "warn"
TOML
for i in $(seq 1 10); do
    start=$(date -u -d "+$i days" +%Y%m%d); end=$(date -u -d "+$((i + 2)) days" +%Y%m%d)
    printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//idle//EN\r\nBEGIN:VEVENT\r\nUID:stay-%s@idle\r\nDTSTAMP:%sT000000Z\r\nDTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\nSUMMARY:Guest %s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$i" "$today" "$start" "$end" "$i" > "$work/feed$i.ics"
    cat <<TOML
[[sources]]
name = "feed-$i"
kind = "ical"
path = "$work/feed$i.ics"
booking_object_id = 123
timezone = "Europe/Stockholm"
TOML
done
} > "$work/config.toml"
"$bin" --config "$work/config.toml" run 2> "$work/daemon.log" &
pid=$!
sleep $((minutes * 60))
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(ticks); sleep 60; after=$(ticks)
hz=$(getconf CLK_TCK)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "after $minutes min idle with 10 sources: RSS $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB), CPU over the next 60 s: $(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN { printf "%.2f", (a - b) / hz / 60 * 100 }') %"
