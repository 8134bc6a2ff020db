# Sourced by .ci/run (and by tests/test_ci.py): run one CI step under its own time limit.
#
#   step NAME LIMIT_SECONDS COMMAND...
#
# prints "step NAME: N s (CPU M s, load L)" when the command succeeds: wall seconds, the user +
# system seconds of everything it ran (its finished processes), and the 1-minute load average
# at the end (wall seconds grow when other work shares the machine; CPU seconds hardly do).
# On a failure, or when the limit is reached, it prints the steps so far and
# "step NAME: TIMED OUT ..." or "step NAME: FAILED ..." and exits (124 for a time-out, else
# the command's exit code). CI_LIMIT_SCALE multiplies every limit (a runner known to be
# slower). `timeout` signals the command's whole process group (make, pytest, kernels,
# servers) and kills it 30 s later if it is still there.

ci_scale=${CI_LIMIT_SCALE:-1}
ci_started=$SECONDS
ci_summary=()
ci_times=$(mktemp)
trap 'rm -f "$ci_times"' EXIT

ci_cpu() {  # sets ci_cpu_now: user + system seconds of this shell's finished children so far
  times > "$ci_times"  # the builtin in this very shell: in a $(...) subshell it would see no children
  ci_cpu_now=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += 60 * p[1] + p[2] }
                              printf "%.1f", s }' "$ci_times")
}

ci_load() { cut -d ' ' -f 1 /proc/loadavg 2>/dev/null || echo "?"; }

print_summary() {
  echo "steps (wall s, CPU s, load at the end, limit):"
  if [ "${#ci_summary[@]}" -gt 0 ]; then printf '%s\n' "${ci_summary[@]}"; fi
  ci_cpu
  echo "step total: $(( SECONDS - ci_started )) s (CPU ${ci_cpu_now%.*} s)"
}

step() {
  local name=$1 limit=$(( $2 * ci_scale )) status=0 begin=$SECONDS cpu_before took cpu load
  shift 2
  echo "::: step $name (limit $limit s): $*"
  ci_cpu
  cpu_before=$ci_cpu_now
  timeout --kill-after=30 "$limit" "$@" || status=$?
  took=$(( SECONDS - begin ))
  ci_cpu
  cpu=$(awk -v a="$cpu_before" -v b="$ci_cpu_now" 'BEGIN { printf "%.0f", b - a }')
  load=$(ci_load)
  ci_summary+=("$(printf '  %-16s %5d s  %5d s  %6s  (limit %d s)' "$name" "$took" "$cpu" "$load" "$limit")")
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    print_summary
    echo "step $name: TIMED OUT after $took s (limit $limit s)" >&2
    exit 124
  elif [ "$status" -ne 0 ]; then
    print_summary
    echo "step $name: FAILED with exit code $status after $took s" >&2
    exit "$status"
  fi
  echo "step $name: $took s (CPU $cpu s, load $load)"
}
