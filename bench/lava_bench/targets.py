"""What each scenario's samples are judged by, as data: one list of rows per
scenario, each naming the samples it reads (keys of `Report.samples`) and
its target. A row whose samples the run did not record is left out, so
`--scenarios` and `--repos` pick rows by picking what is measured.

The performance targets are the issues' (stated for N=100 where they
depend on N: smaller runs show them in parentheses, not judged)."""

from dataclasses import dataclass
from typing import Optional

from .proc import NET_REPOS
from .report import fmt_time, med

NAN = float("nan")


def last(samples, key):
    """The last value recorded under `key` (counts are recorded once)."""
    return samples.get(key, [None])[-1]


@dataclass
class Ratio:
    """lava-deploy's median against a peer's; judged when `max_ratio` is set."""

    title: str
    lava: str
    peer: str
    max_ratio: Optional[float] = None
    target: str = "—"
    # Only shown when the peer was measured too (not every transport has it).
    needs_peer: bool = False

    def row(self, samples):
        if self.lava not in samples or (self.needs_peer and self.peer not in samples):
            return None
        lava, peer = med(samples[self.lava]), med(samples.get(self.peer, []))
        ratio = lava / peer if peer == peer and peer > 0 else NAN
        ok = None if self.max_ratio is None or ratio != ratio else ratio <= self.max_ratio
        shown = "—" if ratio != ratio else f"{ratio:.2f}×"
        return (self.title, fmt_time(lava), fmt_time(peer), shown, self.target, ok)


@dataclass
class Faster:
    """A median under `seconds`; with `fetches`, a count that must be 0 too."""

    title: str
    key: str
    seconds: float
    target: str
    fetches: Optional[str] = None

    def row(self, samples):
        if self.key not in samples:
            return None
        median = med(samples[self.key])
        ok = median < self.seconds
        shown = fmt_time(median)
        if self.fetches:
            count = last(samples, self.fetches)
            ok = ok and count == 0
            shown = f"{shown}, {count} component fetches"
        return (self.title, shown, "—", "—", self.target, ok)


@dataclass
class Count:
    """A count that must be `equals`."""

    title: str
    key: str
    equals: int
    target: str

    def row(self, samples):
        if self.key not in samples:
            return None
        count = last(samples, self.key)
        return (self.title, str(count), "—", "—", self.target, count == self.equals)


@dataclass
class WithinBase:
    """lava's median at most `factor` × a base median plus an extra median
    (the one-component upgrade: twice the no-op upgrade plus its fetch)."""

    title: str
    lava: str
    base: str
    extra: str
    factor: float
    target: str

    def row(self, samples):
        if self.lava not in samples:
            return None
        lava, base = med(samples[self.lava]), med(samples.get(self.base, []))
        extra = med(samples.get(self.extra, []))
        limit = self.factor * base + extra
        target = f"{self.target} ({fmt_time(limit)})"
        return (self.title, fmt_time(lava), fmt_time(base), f"{lava / base:.2f}×", target, lava <= limit)


@dataclass
class PeakMemory:
    """The largest max RSS (KiB samples) under `mib`, beside the peer's."""

    title: str
    key: str
    peer: str
    mib: float
    target: str

    def row(self, samples):
        if self.key not in samples:
            return None
        peak = max(samples[self.key]) / 1024
        peer = max(samples.get(self.peer, [NAN])) / 1024
        known = peer == peer
        return (
            self.title,
            f"{peak:.1f} MiB",
            f"{peer:.1f} MiB" if known else "—",
            f"{peak / peer:.2f}×" if known else "—",
            self.target,
            peak < self.mib,
        )


TRANSPORTS = {"git": "git daemon", "http": "smart HTTP"}


def cold(args, bench):
    big, jobs = max(args.repos), args.jobs
    rows = []
    for n in args.repos:
        strict = n == big and n >= 100
        rows += [
            Ratio(f"cold install, {n} git components vs `vcs import -w {jobs}`",
                  f"cold_n{n}_lava", f"cold_n{n}_vcs",
                  1.0 if strict else None, "≤ 1.0×" if strict else "(N=100: ≤ 1.0×)"),
            Ratio(f"cold install, {n} git components vs `west update`",
                  f"cold_n{n}_lava", f"cold_n{n}_west_update",
                  0.5 if strict else None, "≤ 0.5×" if strict else "(N=100: ≤ 0.5×)"),
        ]
    return rows


def warm(args, bench):
    rows = []
    for n in args.repos:
        rows += [
            Ratio(f"warm install (cache full), {n} components vs `cp -r` of src/",
                  f"warm_n{n}_lava", f"warm_n{n}_cp_r", 3.0, "≤ 3×"),
            Ratio(f"warm install (cache full), {n} components vs `cp -al` of src/",
                  f"warm_n{n}_lava", f"warm_n{n}_cp_al"),
        ]
    return rows


def upgrade(args, bench):
    big = max(args.repos)
    return [
        Faster(f"no-op upgrade, {big} pinned components", f"upgrade_n{big}_noop", 0.3, "< 300 ms"),
        Count(f"no-op upgrade, {big} components: component fetches (`-v`)",
              f"upgrade_n{big}_noop_fetches", 0, "= 0"),
        WithinBase(f"one-component upgrade, {big} components vs the no-op upgrade",
                   f"upgrade_n{big}_one", f"upgrade_n{big}_noop", f"upgrade_n{big}_git_clone_one",
                   2, "≤ 2× no-op + its fetch"),
    ]


def python(args, bench):
    bare = {"uv": "`uv venv` + `uv pip install`", "pip": "`python3 -m venv` + `pip install`"}
    return [
        Ratio(f"python env, {args.wheels} wheels, {inst}, {cache} cache vs {bare[inst]}",
              f"python_{inst}_{cache}_lava", f"python_{inst}_{cache}_bare", 1.2, "≤ 1.2×")
        for inst in ("uv", "pip")
        for cache in ("cold", "warm")
    ]


def big_repo(args, bench):
    b = getattr(bench, "big", None) or {"new": "?", "prev": "?"}
    rows = []
    for t, name in TRANSPORTS.items():
        rows += [
            Ratio(f"cold install, 1 big repository ({b['new']}) over {name} vs `git clone --depth 1 --branch {b['new']}`",
                  f"big_{t}_lava", f"big_{t}_shallow", 1.3, "≤ 1.3×"),
            Ratio(f"cold install, 1 big repository over {name} vs `vcs import`",
                  f"big_{t}_lava", f"big_{t}_vcs", 0.3, "≤ 0.3×", needs_peer=True),
            Ratio(f"upgrade {b['prev']} → {b['new']} over {name} vs `git fetch --depth 1 origin tag {b['new']}`",
                  f"big_{t}_upgrade", f"big_{t}_git_fetch", 1.5, "≤ 1.5×"),
            Faster(f"no-op upgrade, big repository over {name} (manifest on its default branch)",
                   f"big_{t}_noop", 0.1, "< 100 ms, 0", fetches=f"big_{t}_noop_fetches"),
        ]
    return rows


def network(args, bench):
    jobs = args.jobs
    rows = []
    for t, name in TRANSPORTS.items():
        rows += [
            Ratio(f"cold install, {NET_REPOS} repos over {name} vs {NET_REPOS} × `git clone --depth 1`, {jobs} at once",
                  f"net_{t}_lava", f"net_{t}_shallow", 1.2, "≤ 1.2×"),
            Ratio(f"cold install, {NET_REPOS} repos over {name} vs `vcs import -w {jobs}`",
                  f"net_{t}_lava", f"net_{t}_vcs", 0.5, "≤ 0.5×"),
            Faster(f"no-op upgrade, {NET_REPOS} repos over {name} (manifest on its default branch)",
                   f"net_{t}_noop", 0.1, "< 100 ms, 0", fetches=f"net_{t}_noop_fetches"),
        ]
    return rows


def linkmode(args, bench):
    big = max(args.repos)
    files = getattr(bench, "lava_tree_files", "?")
    return [
        Ratio(f"one-component upgrade, {big} components, `LAVA_LINK_MODE=copy` vs `hardlink`",
              f"link_n{big}_copy", f"link_n{big}_hardlink"),
        Ratio(f"upgrade beside the unchanged LAVA tree ({files} files, url component), `copy` vs `cp -r` of the tree",
              "link_lava_copy", "link_lava_cp_r"),
        Ratio("upgrade beside the unchanged LAVA tree, `hardlink` vs `cp -al` of the tree",
              "link_lava_hardlink", "link_lava_cp_al"),
        Ratio("upgrade beside the unchanged LAVA tree, `copy` vs `hardlink`",
              "link_lava_copy", "link_lava_hardlink"),
    ]


def memory(args, bench):
    big = max(args.repos)
    return [
        PeakMemory(f"peak memory (max RSS), cold install of {big} components vs `vcs import`",
                   f"cold_n{big}_lava_rss_kib", f"cold_n{big}_vcs_rss_kib", 100, "< 100 MiB"),
    ]


# The table's order: each scenario's rows (memory is measured by the cold
# installs and shown last).
TABLE = (cold, warm, upgrade, python, big_repo, network, linkmode, memory)


def rows(args, bench):
    """Every row the recorded samples allow, as (scenario, lava, peer,
    ratio, target, ok) with ok None when there is no target."""
    samples = bench.report.samples
    out = []
    for scenario in TABLE:
        for target in scenario(args, bench):
            row = target.row(samples)
            if row is not None:
                out.append(row)
    return out


def notes(args, bench):
    """What the table needs said beside it."""
    samples = bench.report.samples
    big = max(args.repos)
    out = []
    if f"upgrade_n{big}_noop" in samples:
        check = last(samples, f"upgrade_n{big}_branch_plan_fetches")
        if check != 1:
            out.append(
                f"fetch counter self-check: `plan` with repo000 on a branch logged {check} "
                "`fetching <url>` lines instead of 1, so the fetch counts above may not be meaningful."
            )
        clone = med(samples.get(f"upgrade_n{big}_git_clone_one", []))
        one_fetches = last(samples, f"upgrade_n{big}_one_fetches")
        out.append(
            f"one-component upgrade: 'its fetch' = median `git clone --bare` of repo000 ({fmt_time(clone)}); "
            f"a `-v` one-component upgrade (tag already cached) logged {one_fetches} component fetch(es)."
        )
    if any(k.startswith("cold_") for k in samples):
        west_init = [v for k, vs in samples.items() if k.endswith("west_init") for v in vs]
        out.append(
            "cold install peer times are `vcs import` alone and `west update` alone; "
            f"`west init -l` (median {fmt_time(med(west_init))}) is not counted. "
            "lava-deploy's time includes cloning the manifest repository."
        )
    if big < 100:
        out.append("the targets are stated for N=100; this run's largest N is %d." % big)
    return out
