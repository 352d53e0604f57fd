#!/usr/bin/env bash
# Differential test of two builds of the pipe (wd-inventory | wd-render): every case runs with the
# OLD and the NEW binaries from the same directory into the same paths, and must give the same
# stdout, stderr, exit code and output files (the set in --out, read through its links). Each
# render case runs twice per build (a fresh --out, then again into the existing one).
# Usage: tools/wd-render/benches/pipe_diff.sh OLD_BIN_DIR NEW_BIN_DIR   (e.g. a copy of
# target/release from before a change, and target/release). Prints one line per differing case
# and a summary; exit 1 if any case differs. Not part of `make test` (it needs two builds).
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BIN_DIR NEW_BIN_DIR" >&2; exit 2; }
old=$(cd "$1" && pwd) new=$(cd "$2" && pwd)
for b in "$old" "$new"; do
  if [ ! -x "$b/wd-render" ] || [ ! -x "$b/wd-inventory" ]; then
    echo "$b: no wd-render/wd-inventory" >&2
    exit 2
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WD_CONFIG_DIR='' NO_COLOR=1

# --- config variants (copies of config/ with one change each) ---------------------------------
variant() { # NAME: a copy of config/ in $work/cfg-NAME; the caller edits it
  rm -rf "$work/cfg-$1"
  cp -r config "$work/cfg-$1"
}
edit_tpl() { # NAME TEMPLATE TEXT-TO-APPEND
  variant "$1"
  printf '%s' "$3" >> "$work/cfg-$1/templates/$2"
}
replace_tpl() { # NAME TEMPLATE CONTENT
  variant "$1"
  printf '%s' "$3" > "$work/cfg-$1/templates/$2"
}
edit_tpl unclosed app/backends.json.hbs '{{#if values.tls}}'
edit_tpl stray-close waltid/web.conf.hbs '{{/each}}'
edit_tpl mismatch waltid/db.conf.hbs '{{#if values.tls}}x{{/each}}'
edit_tpl stray-else waltid/auth.conf.hbs '{{else}}'
edit_tpl missing-var waltid/web.conf.hbs '{{values.nope.deeper}}'
edit_tpl missing-param waltid/web.conf.hbs '{{json values.nope}}'
edit_tpl unknown-helper waltid/web.conf.hbs '{{frobnicate values.domain}}'
edit_tpl no-param waltid/web.conf.hbs '{{json}}'
edit_tpl comment waltid/web.conf.hbs $'{{! a comment }}\n{{!-- another --}}\n'
edit_tpl partial waltid/web.conf.hbs '{{> nope}}'
edit_tpl escape waltid/web.conf.hbs '\{{not a tag}} \\{{values.domain}}'
edit_tpl triple waltid/web.conf.hbs '{{{values.domain}}} {{&values.domain}}'
edit_tpl spaces waltid/web.conf.hbs $'{{ values.domain }} {{json  values.domain}}\n{{# if values.tls }}t{{/ if }}\n'
edit_tpl hash waltid/web.conf.hbs '{{lookup values key="x"}}'
edit_tpl literals waltid/web.conf.hbs $'{{json 1}} {{json true}} {{json null}} {{json \'s\'}} {{json "a\\"b"}}\n'
edit_tpl else-chain waltid/web.conf.hbs $'{{#if values.tls}}a{{else if values.domain}}b{{else}}c{{/if}}\n'
edit_tpl block-param waltid/web.conf.hbs $'{{#each values.roles as |r|}}{{r}}{{/each}}\n'
edit_tpl standalone waltid/web.conf.hbs $'\n  {{#if values.domain}}  \n  x {{values.domain}}\n  {{else}}\n  y\n  {{/if}}  \n{{~#each values.roles~}}\n  [{{@index}}={{this}}{{#unless @first}},{{/unless}}]\n{{~/each}}\r\n'
edit_tpl parent waltid/web.conf.hbs $'{{#each values.roles}}{{../values.domain}}{{/each}}\n{{#with values}}{{domain}}{{/with}}'
edit_tpl unicode waltid/web.conf.hbs $'é\u00a0{{values.domain}}\t\r\n  ü {{json "ß{{}}"}}'
edit_tpl unterminated-tag waltid/web.conf.hbs '{{values.domain'
edit_tpl bad-json app/backends.json.hbs '{{values.domain}}'
edit_tpl bad-yaml helm/values.yaml.hbs $'\n: : {{values.domain}}\n  - ['
edit_tpl subexpr waltid/web.conf.hbs $'{{json (concat values.domain "/x" (lookup values "domain"))}}{{#if (eq values.domain "x")}}eq{{/if}}\n'
replace_tpl empty-tpl waltid/web.conf.hbs ''
replace_tpl ws-only-tpl waltid/web.conf.hbs $'  \n\t\n'
variant missing-tpl; rm "$work/cfg-missing-tpl/templates/waltid/db.conf.hbs"
variant bad-manifest; printf 'outputs:\n  - {template: x.hbs}\n' > "$work/cfg-bad-manifest/templates/manifest.yaml"
variant bad-scenario; printf 'components: [\n' >> "$work/cfg-bad-scenario/scenarios/waltid.yaml"
variant bad-default; printf 'domain: [unclosed\n' >> "$work/cfg-bad-default/values/default.yaml"
variant unknown-value; printf 'nonsense: 1\n' >> "$work/cfg-unknown-value/values/default.yaml"
variant bad-secrets; printf '  - {name: 1}\n' >> "$work/cfg-bad-secrets/secrets.yaml"
variant bad-schema; printf '{' > "$work/cfg-bad-schema/values.schema.json"
printf 'domain: example.org\npersistence:\n  redis:\n    enabled: true\n' > "$work/values-ok.yaml"
printf 'domain: [\n' > "$work/values-bad.yaml"
printf 'images:\n  issuer: 3\n' > "$work/values-wrong.yaml"

# --- inventories -------------------------------------------------------------------------------
fixtures=tests/fixtures/compose
printf '' > "$work/inv-empty.json"
printf '[]' > "$work/inv-array.json"
printf '{"apiVersion": "wd/v1", "kind": "Inventory"' > "$work/inv-truncated.json"
printf '{"apiVersion": "wd/v2", "kind": "Inventory"}' > "$work/inv-v2.json"
printf '\xff\xfe{' > "$work/inv-binary.json"
# Inventories that are valid JSON but not valid Inventories in a field the render does not use,
# one with a duplicate key (the typed parse refuses it, the JSON → Value one takes the last), and
# one whose image of a component's service is bad.
"$old/wd-inventory" -f "$fixtures/users-33/compose.yaml" --all -q > "$work/users33.json"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
inv = json.load(open(f"{w}/users33.json"))
def dump(name, doc, text=None):
    open(f"{w}/inv-{name}.json", "w").write(text if text is not None else json.dumps(doc, indent=2))
bad = json.loads(json.dumps(inv)); bad["redacted"] = "yes"; dump("bad-field", bad)
bad = json.loads(json.dumps(inv)); bad["services"][0]["env"] = {"A": 1}; dump("bad-env", bad)
bad = json.loads(json.dumps(inv)); bad["services"][0]["image"] = {"repository": 3}; dump("bad-image", bad)
bad = json.loads(json.dumps(inv)); del bad["variables"]; dump("no-variables", bad)
text = json.dumps(inv, indent=2)
dump("dup-project", None, text.replace('"project":', '"project": "x",\n  "project":', 1))
dump("dup-sources", None, text.replace('"sources":', '"sources": {"scenario": "nope"},\n  "sources":', 1))
bad = json.loads(json.dumps(inv)); bad["sources"]["scenario"] = None; dump("no-scenario", bad)
bad = json.loads(json.dumps(inv)); bad["extra"] = 1; dump("unknown-field", bad)
PY

total=0 failed=0 rcs=""
# One line per file: path, mode, checksum (expanded by the inner sh, once per file).
# shellcheck disable=SC2016
file_lines='for f; do printf "%s %s " "$f" "$(stat -L -c %a "$f")"; sha256sum < "$f"; done'
snap() { # OUT-DIR: the files of an output set (through its links), their modes and links
  local d=$1
  [ -d "$d" ] || { echo "(no $d)"; return; }
  (cd "$d" && find -L . -path ./.wd-render -prune -o -type f -print0 | sort -z |
    xargs -0r sh -c "$file_lines" sh
   find . -maxdepth 1 -type l -printf '%p -> %l\n' | sed 's/gen-[^/]*/gen-N/' | sort
   find . -name '*.tmp' -print)
}
run_case() { # NAME COMMAND…  ($B is the binary dir, $W a scratch dir; same path for both builds)
  local name=$1; shift
  local cmd="$*"
  total=$((total + 1))
  for side in old new; do
    local B W=$work/run
    if [ $side = old ]; then B=$old; else B=$new; fi
    rm -rf "$W"; mkdir -p "$W"
    for pass in 1 2; do
      set +e
      B=$B W=$W bash -c "$cmd" > "$work/$side.$pass.out" 2> "$work/$side.$pass.err"
      echo $? > "$work/$side.$pass.rc"
      set -e
      snap "$W/out" > "$work/$side.$pass.files"
    done
  done
  rcs+=" $(cat "$work/old.1.rc")"
  # PIPE_DIFF_VERBOSE=1: every case's exit code and first stderr line
  [ -z "${PIPE_DIFF_VERBOSE:-}" ] || echo "rc $(cat "$work/old.1.rc") $name: $(head -c 150 "$work/old.1.err" | head -1)"
  local pass what
  for pass in 1 2; do
    for what in out err rc files; do
      if ! cmp -s "$work/old.$pass.$what" "$work/new.$pass.$what"; then
        failed=$((failed + 1))
        echo "DIFFERS: $name (run $pass, $what): $cmd"
        { diff "$work/old.$pass.$what" "$work/new.$pass.$what" || true; } | head -8 | sed 's/^/    /'
        return
      fi
    done
  done
}

# The commands are expanded by run_case's bash, with $B set to each build's directory.
# shellcheck disable=SC2016
R='$B/wd-render' I='$B/wd-inventory'
# wd-inventory alone, on every fixture, in every format and mode.
for f in "$fixtures"/*/; do
  f=${f%/}
  for flags in "--all" "--all --check" "--all --format table" "--all --format csv" \
    "--all --format markdown" "--all --show-secrets" "--all -vv" "--all --configs" "-q"; do
    run_case "inventory $(basename "$f") $flags" "$I -f $f/compose.yaml $flags"
  done
done
run_case "inventory merge -f -f" "$I -f $fixtures/merge/compose.yaml -f $fixtures/merge/compose.override.yaml --all"
run_case "inventory scenario" "$I --scenario waltid"
run_case "inventory scenario table" "$I --scenario waltid --format table"
run_case "inventory no such file" "$I -f /nonexistent.yaml --all"
# The pipe: every fixture's Inventory into wd-render (each build's own wd-inventory).
for f in "$fixtures"/*/; do
  f=${f%/}
  run_case "pipe $(basename "$f")" "$I -f $f/compose.yaml --all -q | $R --scenario waltid --out \$W/out"
done
# Targets, flavors and --set on the reference and the users-33 Inventory.
for inv in "$I --scenario waltid -q" "$I -f $fixtures/users-33/compose.yaml --all -q"; do
  for target in local onprem aws; do
    for flavor in k8s compose; do
      run_case "pipe $target $flavor" "$inv | $R --scenario waltid --target $target --flavor $flavor --out \$W/out"
    done
  done
  run_case "compose secrets-from-env" "$inv | DEMO_ACCOUNT_PASSWORD=pw $R --scenario waltid --flavor compose --secrets-from-env --out \$W/out"
  for set in "--set domain=example.org" "--set persistence.redis.enabled=true" \
    "--set-string images.issuer.tag=1.10" "--set domain=" "--set 'domain=a b/c'" \
    "--set persistence.redis.enabled=maybe" "--set roles=[unclosed" "--set images.issuer=[1,2]" \
    "--set nonsense.key=1" "--set-string images..tag=1" "--set images=1" "--set tls=true" \
    "--set domain=x.org --set domain=y.org" "--values $work/values-ok.yaml" \
    "--values $work/values-bad.yaml" "--values $work/values-wrong.yaml" \
    "--values /nonexistent.yaml" "--format table" "--format markdown" "-v" "-q"; do
    run_case "pipe $set" "$inv | $R --scenario waltid $set --out \$W/out"
  done
done
# Broken config, each variant with the users-33 Inventory, both flavors.
for c in "$work"/cfg-*; do
  for flavor in k8s compose; do
    run_case "config $(basename "$c") $flavor" "$I -f $fixtures/users-33/compose.yaml --all -q | $R --scenario waltid --flavor $flavor --config-dir $c --out \$W/out"
  done
done
run_case "unknown scenario" "$I --scenario waltid -q | $R --scenario nope --out \$W/out"
for inv in "$work"/inv-*.json; do
  run_case "inventory file $(basename "$inv")" "$R --scenario waltid --inventory $inv --out \$W/out"
  run_case "inventory stdin $(basename "$inv")" "$R --scenario waltid --out \$W/out < $inv"
done
# A bad Inventory is the first error even when the values or a template are bad too.
for inv in "$work"/inv-bad-*.json "$work"/inv-v2.json "$work"/inv-no-*.json; do
  run_case "$(basename "$inv") + bad --set" "$R --inventory $inv --set images=1 --out \$W/out"
  run_case "$(basename "$inv") + bad template" "$R --inventory $inv --scenario waltid --config-dir $work/cfg-missing-var --out \$W/out"
  run_case "$(basename "$inv") + no scenario" "$R --inventory $inv --out \$W/out"
done
mkdir -p "$work/inv-dir"
printf '  \n\t ' > "$work/ws.json"
run_case "inventory is a directory" "$R --scenario waltid --inventory $work/inv-dir --out \$W/out"
run_case "inventory only white space" "$R --scenario waltid --out \$W/out < $work/ws.json"
# An Inventory of 300 services (about 2 MB, read in many chunks).
python3 - "$work/big.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("services:\n")
    for i in range(300):
        f.write(f"  s{i}:\n    image: reg.example.org/s{i}:1.{i}\n    environment:\n      A: x{i}\n      V: ${{PIPE_DIFF_UNSET:-y}}\n    ports: ['{8000 + i}:80']\n")
PY
run_case "pipe 300 services" "$I -f $work/big.yaml --all -q | $R --scenario waltid --out \$W/out"
run_case "out is a file" "touch \$W/out; $I --scenario waltid -q | $R --out \$W/out"

echo "pipe_diff: $total cases, $failed differ ($old vs $new); exit codes:" \
  "$(tr ' ' '\n' <<< "$rcs" | grep . | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
[ "$failed" -eq 0 ]
