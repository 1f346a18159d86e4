"""Medians, the markdown table and its samples."""

import statistics


# --------------------------------------------------------------------------
# statistics and the report


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt_time(s):
    if s != s:
        return "—"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


class Report:
    def __init__(self):
        self.rows = []  # (scenario, lava, peer, ratio, target, result)
        self.samples = {}  # name -> list of values
        self.notes = []

    def add_samples(self, name, value):
        self.samples.setdefault(name, []).append(value)

    def row(self, scenario, lava, peer, ratio, target, ok):
        result = "—" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((scenario, lava, peer, ratio, target, result))

    def error(self, scenario, err):
        msg = str(err).strip().splitlines()
        self.rows.append((scenario, "ERROR", "—", "—", "—", "FAIL"))
        self.notes.append(f"**{scenario}** failed: " + " / ".join(m for m in msg if m.strip())[:1200])

    def markdown(self, header):
        lines = list(header)
        lines += [
            "",
            "| scenario | lava median | peer median | ratio lava/peer | target | result |",
            "|---|---:|---:|---:|---|---|",
        ]
        for r in self.rows:
            lines.append("| " + " | ".join(r) + " |")
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        lines += ["", "Samples (median / min / max, n):", ""]
        for name, vals in self.samples.items():
            if name.endswith("rss_kib"):
                lines.append(
                    f"- `{name}`: {med(vals) / 1024:.1f} / {min(vals) / 1024:.1f} / "
                    f"{max(vals) / 1024:.1f} MiB, n={len(vals)}"
                )
            elif name.endswith("fetches"):
                lines.append(f"- `{name}`: {vals}")
            else:
                lines.append(
                    f"- `{name}`: {fmt_time(med(vals))} / {fmt_time(min(vals))} / "
                    f"{fmt_time(max(vals))}, n={len(vals)}"
                )
        return "\n".join(lines) + "\n"
