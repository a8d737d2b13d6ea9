# Summarises result rows written by bench/lib.sh `record` into one table.
#
# Input (tab-separated): workload metric unit better server round value client_cpu_pct
#                        server_cpu_pct wall_s
# Output: per workload+metric, for "ours" and "go": the median and the min–max spread
# over the rounds, the ratio ours/go of the medians, which direction is better, and
# the median CPU (% of one core) of the bench client and of the server(s). Rows whose
# value is FAIL count as failed runs of that workload and server ("2xFAIL").
# Portable awk (mawk): no asort, so a small insertion sort.

BEGIN { FS = "\t" }

$7 == "FAIL" {
	failed[$1 SUBSEP $5]++
	if (!($1 in failwl)) { failwl[$1] = 1; forder[++nfail] = $1 }
	next
}

{
	key = $1 SUBSEP $2
	if (!(key in seen)) {
		seen[key] = 1
		order[++nkeys] = key
		wl[key] = $1; met[key] = $2; unit[key] = $3; better[key] = $4
	}
	k = key SUBSEP $5
	n = ++count[k]
	val[k, n] = $7 + 0
	ccpu[k, n] = $8 + 0
	scpu[k, n] = $9 + 0
}

function sort_into(src, k, n, dst,    i, j, t) {
	for (i = 1; i <= n; i++) dst[i] = src[k, i]
	for (i = 2; i <= n; i++) {
		t = dst[i]
		for (j = i - 1; j >= 1 && dst[j] > t; j--) dst[j + 1] = dst[j]
		dst[j + 1] = t
	}
}

function median(src, k, n,    s) {
	if (n == 0) return ""
	split("", s)
	sort_into(src, k, n, s)
	if (n % 2) return s[(n + 1) / 2]
	return (s[n / 2] + s[n / 2 + 1]) / 2
}

function lo(src, k, n,    s) { split("", s); sort_into(src, k, n, s); return s[1] }
function hi(src, k, n,    s) { split("", s); sort_into(src, k, n, s); return s[n] }

# 1234567 -> 1,234,567 for big numbers; three significant digits for small ones.
function fmt(x,    s, neg, out) {
	if (x == "") return "-"
	if (x >= 1000 || x <= -1000) {
		s = sprintf("%.0f", x)
		neg = (substr(s, 1, 1) == "-")
		if (neg) s = substr(s, 2)
		out = ""
		while (length(s) > 3) {
			out = "," substr(s, length(s) - 2) out
			s = substr(s, 1, length(s) - 3)
		}
		return (neg ? "-" : "") s out
	}
	if (x >= 100) return sprintf("%.1f", x)
	if (x >= 10) return sprintf("%.2f", x)
	return sprintf("%.3f", x)
}

function cell(k, n, fails,    c) {
	c = (n == 0) ? "-" : fmt(median(val, k, n)) " [" fmt(lo(val, k, n)) "-" fmt(hi(val, k, n)) "]"
	if (fails) c = c " " fails "xFAIL"
	return c
}

END {
	printf "%-24s %-9s %-8s %-7s %-36s %-36s %-8s %-9s %-9s\n", \
		"workload", "metric", "unit", "better", "ours median [min-max]", \
		"go median [min-max]", "ours/go", "client%", "server%"
	printf "%-24s %-9s %-8s %-7s %-36s %-36s %-8s %-9s %-9s\n", \
		"", "", "", "", "", "", "", "ours/go", "ours/go"
	for (i = 1; i <= nkeys; i++) {
		key = order[i]
		ko = key SUBSEP "ours"; no = count[ko] + 0
		kg = key SUBSEP "go"; ng = count[kg] + 0
		mo = median(val, ko, no); mg = median(val, kg, ng)
		ratio = (no && ng && mg != 0) ? sprintf("%.2f", mo / mg) : "-"
		cc = (no ? sprintf("%.0f", median(ccpu, ko, no)) : "-") "/" (ng ? sprintf("%.0f", median(ccpu, kg, ng)) : "-")
		sc = (no ? sprintf("%.0f", median(scpu, ko, no)) : "-") "/" (ng ? sprintf("%.0f", median(scpu, kg, ng)) : "-")
		printf "%-24s %-9s %-8s %-7s %-36s %-36s %-8s %-9s %-9s\n", \
			wl[key], met[key], unit[key], better[key], \
			cell(ko, no, failed[wl[key] SUBSEP "ours"]), cell(kg, ng, failed[wl[key] SUBSEP "go"]), \
			ratio, cc, sc
		shown[wl[key]] = 1
	}
	for (i = 1; i <= nfail; i++) {
		w = forder[i]
		if (w in shown) continue
		printf "%-24s %-9s %-8s %-7s %-36s %-36s\n", w, "-", "-", "-", \
			cell("", 0, failed[w SUBSEP "ours"]), cell("", 0, failed[w SUBSEP "go"])
	}
}
