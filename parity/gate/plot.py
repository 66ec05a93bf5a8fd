"""``numpy-rnn parity --plot PATH``: a PNG of the error against the timestep for every sequence
output, one panel per compared dtype, the absolute tolerance drawn as a dashed line.

matplotlib is optional (the ``numpy-rnn[plot]`` extra); it is imported only here, inside
functions, and only its object-oriented API is used (no pyplot, no global backend switch).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .outcome import GateError, Outcome, install_hint

PLOT_EXTRA = "numpy-rnn[plot]"


def require_matplotlib() -> None:
    """Raise ``GateError`` naming the extra when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise GateError(f"--plot: needs matplotlib, which is not installed ({exc}); install it "
                        f"with {install_hint('plot')}") from None


def sequence_curves(outcomes: Sequence[Outcome]) -> list[dict]:
    """One curve per sequence output: case, output, dtype, atol, status, per-timestep max error."""
    curves = []
    for o in outcomes:
        if o.report is None:
            continue
        for d in o.report.sequence_outputs:
            curves.append({"case": o.case, "output": d.name, "dtype": d.dtype, "atol": d.atol,
                           "status": o.status, "errors": list(d.error_by_timestep or []),
                           "first_bad": d.first_bad_timestep, "growth": d.error_growth,
                           "refereed": bool(getattr(d, "refereed", False))})
    return curves


def curve_label(c: dict) -> str:
    """A curve's legend entry: case [output], its status when it failed, and a refereed curve
    marked (dashed in the plot), since it may lie above atol and still pass."""
    failed = c["status"] in ("FAIL", "ERROR", "REGRESSED")
    return (f"{c['case']} [{c['output']}]" + (f"  {c['status']}" if failed else "")
            + ("  (refereed by float64 Keras)" if c.get("refereed") else ""))


#: Curves drawn in colour and named in the legend per panel (the worst ones, and every failing
#: one); the others are drawn thin and grey under one legend entry, so a full sweep stays readable.
MAX_LABELLED = 12


def plot_error_by_timestep(outcomes: Sequence[Outcome], path: str, *, title: str = "") -> int:
    """Write the PNG to ``path``; returns the number of curves drawn (0: a note says why)."""
    require_matplotlib()
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = sequence_curves(outcomes)
    cmap = (matplotlib.colormaps["tab20"] if hasattr(matplotlib, "colormaps")
            else matplotlib.cm.get_cmap("tab20"))
    dtypes = sorted({c["dtype"] for c in curves}) or ["-"]
    fig = Figure(figsize=(14, 4.6 * len(dtypes)), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.07, right=0.62, top=0.9 if title else 0.95, bottom=0.08,
                        hspace=0.35)
    axes = fig.subplots(len(dtypes), 1, squeeze=False)[:, 0]
    for ax, dtype in zip(axes, dtypes):
        mine = [c for c in curves if c["dtype"] == dtype]
        if not mine:
            ax.text(0.5, 0.5, "no sequence outputs in this run (nothing to plot)",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        positive = [e for c in mine for e in c["errors"] if e > 0 and np.isfinite(e)]
        atol = max(c["atol"] for c in mine)
        zero_at = min(positive + [atol]) / 10.0 if (positive or atol) else 1e-12

        def peak(c: dict) -> float:
            finite = [e for e in c["errors"] if np.isfinite(e)]
            return max(finite, default=float("inf"))

        ranked = sorted(mine, key=peak, reverse=True)
        failing = [c for c in ranked if c["status"] in ("FAIL", "ERROR", "REGRESSED")]
        # a refereed curve may lie above atol and still pass: always named, marked as such
        refereed = [c for c in ranked if c["refereed"] and c not in failing]
        named = failing + refereed
        labelled = named + [c for c in ranked if c not in named][:max(0, MAX_LABELLED
                                                                        - len(named))]
        others = [c for c in mine if c not in labelled]
        for c in others:
            y = np.asarray(c["errors"], dtype=np.float64)
            ax.plot(np.arange(y.size), np.where(y > 0, y, zero_at), color="0.75", linewidth=0.8,
                    zorder=1)
        if others:
            ax.plot([], [], color="0.75", linewidth=0.8,
                    label=f"{len(others)} other curve(s), all passing")
        for i, c in enumerate(labelled):
            y = np.asarray(c["errors"], dtype=np.float64)
            y = np.where(np.isfinite(y), y, np.nan)
            y = np.where(y > 0, y, zero_at)
            failed = c["status"] in ("FAIL", "ERROR", "REGRESSED")
            label = curve_label(c)
            color = "red" if failed and len(failing) == 1 else cmap(i % 20)
            ax.plot(np.arange(y.size), y, marker="o" if y.size <= 40 else None, markersize=3,
                    linewidth=2.6 if failed else 1.3, color=color, label=label, zorder=3,
                    linestyle="--" if c["refereed"] else "-")
            if c["first_bad"] is not None:
                ax.axvline(c["first_bad"], color=color, linestyle=":", linewidth=1)
        ax.axhline(atol, color="black", linestyle="--", linewidth=1.2,
                   label=f"atol {atol:.0e} (tolerance)")
        if not all(e > 0 for c in mine for e in c["errors"]):
            ax.axhline(zero_at, color="grey", linestyle=":", linewidth=0.8,
                       label=f"exact 0 drawn at {zero_at:.0e}")
        ax.set_yscale("log")
        ax.set_xlabel("timestep (processing order)")
        ax.set_ylabel("max |numpy - keras| at the timestep")
        ax.set_title(f"{dtype} sequence outputs: {len(mine)} curve(s), "
                     f"{len(failing)} failing"
                     + (f", {len(refereed)} refereed by float64 Keras (dashed)" if refereed else ""),
                     fontsize=11)
        ax.grid(True, which="major", alpha=0.4)
        ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        fig.suptitle(title)
    fig.savefig(path, format="png")
    return len(curves)
