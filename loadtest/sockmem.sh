#!/usr/bin/env bash
# loadtest/sockmem.sh OUT INTERVAL NAME:PORT ...: where the kernel's TCP memory sits during a load test. Every INTERVAL
# seconds (e.g. 0.5) it sums `ss -tmni` over the established TCP sockets per group and appends one TSV row per group to
# OUT, with /proc/net/sockstat's TCP "mem" (pages, machine-wide) on every row. Groups: srv:NAME = sockets whose local
# port is PORT (the server's side of its clients' connections), cli:NAME = sockets whose peer port is PORT (wrk's
# sockets, or a proxy's origin connections). Columns: n sockets; r (rmem_alloc) sum and max; rb (receive buffer) max;
# t (wmem_alloc) sum; tb (send buffer) max; w (wmem_queued) sum and max; d (drops) sum; Recv-Q, Send-Q and notsent sums.
# Runs until killed; run it beside run.sh, knobs.sh or counts.sh (results/LARGE-2026-12-03f.md):
#
#   loadtest/sockmem.sh /tmp/ss.tsv 0.5 zc:18080 nginx:18082 origin:18081 & SP=$!; ...; kill $SP
out=$1 iv=$2; shift 2
ports="$*"
echo -e "time\tsockstat_mem\tgroup\tn\tr_sum\tr_max\trb_max\tt_sum\ttb_max\tw_sum\tw_max\td_sum\trecvq_sum\tsendq_sum\tnotsent_sum" >"$out"
while :; do
  ts=$(date +%H:%M:%S.%N | cut -c1-12)
  mem=$(awk '/^TCP:/ {for (i=1;i<=NF;i++) if ($i=="mem") print $(i+1)}' /proc/net/sockstat)
  # with one state given, ss prints no State column: Recv-Q Send-Q Local Peer, then skmem and tcp_info on the next line
  ss -tmniH state established 2>/dev/null | awk -v ts="$ts" -v mem="$mem" -v ports="$ports" '
    BEGIN { n = split(ports, pp, " "); for (i = 1; i <= n; i++) { split(pp[i], q, ":"); name[q[2]] = q[1] } }
    /^[^ \t]/ { rq = $1; sq = $2; lp = $3; sub(/.*:/, "", lp); rp = $4; sub(/.*:/, "", rp)
      g = ""; if (lp in name) g = "srv:" name[lp]; else if (rp in name) g = "cli:" name[rp]; next }
    /skmem/ { if (g == "") next
      match($0, /skmem:\([^)]*\)/); s = substr($0, RSTART + 7, RLENGTH - 8); m = split(s, f, ",")
      for (i = 1; i <= m; i++) { k = f[i]; gsub(/[0-9]/, "", k); v = f[i]; gsub(/[^0-9]/, "", v); sk[k] = v + 0 }
      ns = 0; if (match($0, /notsent:[0-9]+/)) ns = substr($0, RSTART + 8, RLENGTH - 8) + 0
      N[g]++; R[g] += sk["r"]; if (sk["r"] > RM[g]) RM[g] = sk["r"]; if (sk["rb"] > RB[g]) RB[g] = sk["rb"]
      T[g] += sk["t"]; if (sk["tb"] > TB[g]) TB[g] = sk["tb"]; W[g] += sk["w"]; if (sk["w"] > WM[g]) WM[g] = sk["w"]
      D[g] += sk["d"]; RQ[g] += rq; SQ[g] += sq; NS[g] += ns; g = "" }
    END { for (g in N) printf "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", ts, mem, g, N[g], R[g], RM[g], RB[g], T[g], TB[g], W[g], WM[g], D[g], RQ[g], SQ[g], NS[g]
      if (length(N) == 0) printf "%s\t%s\t-\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n", ts, mem }' >>"$out"
  sleep "$iv"
done
