#!/usr/bin/env bash
# A short tour of the tool on the example policy tree in policy.d-examples/.
# Run `npm run build` first (or `npm run demo`, which builds and runs this).
set -euo pipefail

cd "$(dirname "$0")/.."

EX=policy.d-examples
OPTS=(--path "$EX" --legacy-path "$EX/legacy" --system-info "$EX/system-info.json")
POLICY=(node dist/bin/qrexec-policy.js)
EXEC=(node dist/bin/qrexec-policy-exec.cjs)

if [[ ! -x dist/bin/qrexec-policy.js || ! -x dist/bin/qrexec-policy-exec.cjs ]]; then
  echo "demo: dist/bin is missing; run 'npm run build' first" >&2
  exit 2
fi

# eval exits 0 for allow, 1 for deny, 3 for ask and 2 for a usage error.
# Show the status next to the decision; anything else is a real failure.
show() {
  local source=$1 target=$2 service=$3 what=$4 out status
  printf '\n# %s\n$ qrexec-policy eval %s %s %s\n' "$what" "$source" "$target" "$service"
  status=0
  out=$("${POLICY[@]}" eval "${OPTS[@]}" "$source" "$target" "$service") || status=$?
  case $status in
    0) meaning=allow ;;
    1) meaning=deny ;;
    3) meaning=ask ;;
    *)
      echo "demo: eval failed with exit status $status" >&2
      exit "$status"
      ;;
  esac
  printf '%s\n(exit status %d: %s)\n' "$out" "$status" "$meaning"
}

echo "== qrexec policy decisions on $EX/ =="

show work       @default  qubes.Gpg              "split GPG: work is tagged gpg-client, the call is redirected to vault"
show personal   untrusted qubes.OpenURL          "allow with autostart=no: untrusted is already running"
show work       @default  qubes.Filecopy         "ask: the dialog offers these targets, personal preselected"
show vault      work      qubes.Filecopy         "deny notify=yes: nothing leaves the vault"
show untrusted  @default  qubes.OpenInVM         "attachments from untrusted open in a new disposable"
show work       @dispvm   qubes.StartApp+firefox "decided by an R4.0 file in legacy/ (via !compat-4.0)"
show fedora-42  @default  qubes.UpdatesProxy     "R4.0 generic file with 'allow,target=sys-net'"
show work       @dispvm   qubes.OpenURL          "decided by the service file include/openurl (!include-service)"

printf '\n== explain: why may work not start firefox in sys-net? ==\n'
printf '$ qrexec-policy explain work sys-net qubes.StartApp+firefox\n'
# explain exits like eval (1 here: the call is denied)
status=0
"${POLICY[@]}" explain "${OPTS[@]}" work sys-net qubes.StartApp+firefox || status=$?
[[ $status -eq 1 ]] || { echo "unexpected explain exit status $status" >&2; exit 1; }

printf '\n== what qrexec-daemon reads back from qrexec-policy-exec ==\n'
printf '$ qrexec-policy-exec untrusted @default qubes.OpenInVM\n'
status=0
"${EXEC[@]}" "${OPTS[@]}" untrusted @default qubes.OpenInVM || status=$?
printf '(exit status %d)\n' "$status"
