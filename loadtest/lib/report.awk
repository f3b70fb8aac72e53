# report.awk: raw.tsv (one row per wrk run) -> markdown summary with medians over rounds.
# mawk-compatible (no asort). Usage:
#   awk -f report.awk -v env_file=env.txt -v status_file=targets.txt raw.tsv > summary.md
BEGIN { FS = "\t"; ng = 0 }

function median(list,    a, n, i, j, x) {
  n = split(list, a, " ")
  if (n == 0) return 0
  for (i = 2; i <= n; i++) {
    x = a[i] + 0; j = i - 1
    while (j >= 1 && a[j] + 0 > x) { a[j + 1] = a[j]; j-- }
    a[j + 1] = x
  }
  return (n % 2) ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
# size_bytes("16m") = 16777216; 0 for a parameter that is not a size
function size_bytes(p,    n, u) {
  n = p + 0; u = tolower(substr(p, length(p)))
  if (u == "k") n *= 1024; else if (u == "m") n *= 1048576; else if (u == "g") n *= 1073741824
  return n
}
function add(k, v) { vals[k] = (k in vals) ? vals[k] " " v : v }
function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : (x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x)) }

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
  g = $col["scenario"] SUBSEP $col["param"] SUBSEP $col["conns"]
  if (!(g in seen)) { seen[g] = 1; groups[++ng] = g }
  t = $col["target"]
  if (!((g, t) in has)) { has[g, t] = 1; tl[g] = (g in tl) ? tl[g] " " t : t }
  k = g SUBSEP t
  add(k SUBSEP "rps", $col["rps"]); add(k SUBSEP "mbps", $col["mbps"])
  add(k SUBSEP "p50", $col["p50_ms"]); add(k SUBSEP "p99", $col["p99_ms"])
  add(k SUBSEP "opr", $col["origin_per_req"]); add(k SUBSEP "c10k", $col["cpu_s_per_10k"])
  add(k SUBSEP "cgb", $col["cpu_s_per_gb"]); add(k SUBSEP "opk", $col["origin_per_key"])
  err[k] += $col["err_connect"] + $col["err_read"] + $col["err_write"] + $col["err_status"] + $col["err_timeout"]
  if ($col["rss_peak_mb"] + 0 > rss[k] + 0) rss[k] = $col["rss_peak_mb"]
}

END {
  print "# zcproxy load test"
  print ""
  if (env_file != "") {
    print "```"
    while ((getline line < env_file) > 0) print line
    print "```"
    print ""
  }
  if (status_file != "") {
    print "| target | status | detail |"
    print "|---|---|---|"
    while ((getline line < status_file) > 0) { split(line, s, "\t"); printf "| %s | %s | %s |\n", s[1], s[2], s[3] }
    print ""
  }
  print "Medians over rounds; errors are summed. *origin req/req*: origin requests per client request"
  print "(0: every request answered from the cache; 1: every request forwarded). *CPU*: utime+stime of"
  print "the target's process tree (for *direct*, the origin itself). *peak RSS*: VmHWM summed over the"
  print "tree. *vs best other*: req/s over the best other proxy of the same run (higher is better) and"
  print "CPU per GB over the lowest other proxy (lower is better); *direct* and *floor* are reference rows and"
  print "take no part in the ratios. For hit and pass bodies of 16 MiB and more the throughput ratio is"
  print "MB/s, not req/s (*MB/s vs best other*): wrk counts the bytes of bodies still under way when the"
  print "run ends, while 128 connections sharing about 1 GB/s finish no 100 MB body in 5 s (0 req/s)."
  for (gi = 1; gi <= ng; gi++) {
    g = groups[gi]
    split(g, gp, SUBSEP)
    split(gp[3], tc, "x")
    storm = (gp[1] == "storm")
    perkey = (storm || gp[1] == "zipf") # origin requests per key: storm's 16 keys, zipf's storable keys asked
    # large bodies: compare MB/s (partial bodies count), see the note above
    bytewise = ((gp[1] == "hit" || gp[1] == "pass") && size_bytes(gp[2]) >= 16777216)
    if (gp[1] == "hit" || gp[1] == "pass") title = gp[1] " " gp[2]
    else if (gp[1] == "keys") title = "keys (" gp[2] " distinct URLs, warmed)"
    else if (gp[1] == "zipf") title = "zipf (" gp[2] " keys, cold at start of each run)"
    else title = "storm (" gp[2] " cold keys, slow origin)"
    print ""
    printf "### %s, wrk -t%s -c%s\n\n", title, tc[1], tc[2]
    printf "| target | req/s | MB/s | p50 ms | p99 ms | errors | origin req/req |%s CPU s/10k req | CPU s/GB | peak RSS MB | %s vs best other | CPU/GB vs best other |\n", (perkey ? " origin req/key |" : ""), (bytewise ? "MB/s" : "req/s")
    printf "|---|--:|--:|--:|--:|--:|--:|%s--:|--:|--:|--:|--:|\n", (perkey ? "--:|" : "")
    nt = split(tl[g], ts, " ")
    for (i = 1; i <= nt; i++) {
      k = g SUBSEP ts[i]
      mr[i] = median(vals[k SUBSEP "rps"])
      mt[i] = bytewise ? median(vals[k SUBSEP "mbps"]) : mr[i]
      mc[i] = median(vals[k SUBSEP "cgb"])
    }
    for (i = 1; i <= nt; i++) {
      k = g SUBSEP ts[i]
      best = -1; lowc = -1
      for (j = 1; j <= nt; j++) {
        if (j == i || ts[j] == "direct" || ts[j] ~ /^floor/) continue
        if (mt[j] > best) best = mt[j]
        if (mc[j] > 0 && (lowc < 0 || mc[j] < lowc)) lowc = mc[j]
      }
      if (ts[i] == "direct" || ts[i] ~ /^floor/) { rr = "ref"; rc = "ref" }
      else {
        rr = (best > 0) ? sprintf("%.2fx", mt[i] / best) : "-"
        rc = (lowc > 0 && mc[i] > 0) ? sprintf("%.2fx", mc[i] / lowc) : "-"
      }
      printf "| %s | %s | %s | %s | %s | %d | %.3f |%s %s | %s | %.0f | %s | %s |\n", ts[i], \
        fmt(mr[i]), fmt(median(vals[k SUBSEP "mbps"])), fmt(median(vals[k SUBSEP "p50"])), \
        fmt(median(vals[k SUBSEP "p99"])), err[k], median(vals[k SUBSEP "opr"]), \
        (perkey ? " " sprintf(storm ? "%.2f" : "%.3f", median(vals[k SUBSEP "opk"])) " |" : ""), \
        fmt(median(vals[k SUBSEP "c10k"])), fmt(mc[i]), rss[k], rr, rc
    }
  }
}
